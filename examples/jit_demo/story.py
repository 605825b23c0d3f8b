"""The Just-In-Time provisioning story, end to end over HTTP: what ``make demo`` runs.

Starts PixelCDN (app.py) on 127.0.0.1 with a fresh SQLite file and drives it as a browser
would: GET pages, fill in and POST their forms, follow the test IdP's auto-submitting form to
the ACS, keep the session cookie. Each step prints what happened; the script exits 0 only
when every outcome was the expected one.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.request import HTTPCookieProcessor, Request, build_opener

from app import running

ACCOUNT = "acme"


class StoryFailed(Exception):
    """An outcome was not the expected one."""


def expect(condition: bool, failure: str) -> None:
    if not condition:
        raise StoryFailed(failure)


# --- a small browser -----------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)  # select name -> its values


@dataclass
class Page:
    url: str
    status: int
    html: str
    forms: dict[str, Form]  # by form id
    texts: dict[str, str]  # element id -> its text
    tables: dict[str, list[list[str]]]  # table id -> rows of cell texts

    def text(self, element_id: str) -> str:
        expect(element_id in self.texts, f"{self.url} ({self.status}) has no #{element_id}")
        return self.texts[element_id]


class _PageParser(HTMLParser):
    """Collects what the story reads: forms with their fields, texts by id, table cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, Form] = {}
        self.texts: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self._open_ids: list[tuple[str, str]] = []  # (tag, id) of open elements with an id
        self._form: Form | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        if "id" in a and tag not in ("input", "br", "img", "meta"):
            self._open_ids.append((tag, a["id"]))
            self.texts[a["id"]] = ""
        if tag == "form":
            self._form = Form(action=a.get("action", ""), method=a.get("method", "get").lower())
            self.forms[a.get("id", "")] = self._form
        elif tag == "table":
            self._table = self.tables.setdefault(a.get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif self._form is not None and "name" in a:
            name = a["name"]
            if tag == "input" and a.get("type", "text") not in ("submit", "button", "reset"):
                self._form.fields[name] = a.get("value", "")
            elif tag == "textarea":
                self._textarea, self._form.fields[name] = name, ""
            elif tag == "select":
                self._select, self._form.options[name] = name, []
        if tag == "option" and self._form is not None and self._select is not None:
            self._form.options[self._select].append(a.get("value", ""))
            if "selected" in a or self._select not in self._form.fields:
                self._form.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if self._open_ids and self._open_ids[-1][0] == tag:
            self._open_ids.pop()
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and self._table:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        for _, element_id in self._open_ids:
            self.texts[element_id] += data
        if self._textarea is not None and self._form is not None:
            self._form.fields[self._textarea] += data
        if self._cell is not None:
            self._cell.append(data)


class Browser:
    """GETs pages and submits their forms, keeping cookies; follows redirects."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> Page:
        return self._open(urljoin(self.base_url, path))

    def submit(self, page: Page, form_id: str, **values: str) -> Page:
        """Submit form ``form_id`` of ``page``; only its own fields and select options."""
        expect(form_id in page.forms, f"{page.url} has no form #{form_id}")
        form = page.forms[form_id]
        fields = dict(form.fields)
        for name, value in values.items():
            expect(name in fields, f"form #{form_id} has no field {name!r}")
            options = form.options.get(name)
            expect(options is None or value in options, f"{name!r} has no option {value!r}")
            fields[name] = value
        expect(form.method == "post", f"form #{form_id} is not a POST form")
        data = urlencode(fields).encode("ascii")
        return self._open(urljoin(page.url, form.action), data)

    def _open(self, url: str, data: bytes | None = None) -> Page:
        expect(urlsplit(url).scheme == "http", f"refusing to open {url}")
        request = Request(url, data=data)  # noqa: S310 - http only, checked above
        try:
            with self.opener.open(request, timeout=10) as response:
                status, url, body = response.status, response.url, response.read()
        except HTTPError as error:
            with error:
                status, url, body = error.code, error.url, error.read()
        parser = _PageParser()
        text = body.decode("utf-8")
        parser.feed(text)
        parser.close()
        texts = {key: " ".join(value.split()) for key, value in parser.texts.items()}
        return Page(url, status, text, parser.forms, texts, parser.tables)


class LogCapture(logging.Handler):
    """Keeps the app's log lines, to show what the administrator would read."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "jit_demo":
            self.messages.append(record.getMessage())


# --- the story -----------------------------------------------------------------------------


def sign_in_at_idp(browser: Browser, **claims: str) -> tuple[Page, Page]:
    """At the test IdP, pick a user and sign in; the browser submits the auto-post form.

    Returns the IdP's auto-submitting page (to replay it) and the app's ACS page.
    """
    idp_form = browser.get("/test-idp")
    auto_post = browser.submit(idp_form, "login", **claims)
    expect(auto_post.status == 200, f"the test IdP answered {auto_post.status}")
    return auto_post, browser.submit(auto_post, "saml-post")


def expect_rejected(page: Page, code: str, what: str, logs: LogCapture) -> None:
    expect(page.status == 403, f"{what}: expected a rejection, got HTTP {page.status}")
    found = page.text("error-code")
    expect(found == code, f"{what}: expected {code}, got {found}")
    print(f"   REJECTED {code}: {what}")
    line = f"the browser sees only the code; the app logs: {logs.messages[-1]}"
    print(textwrap.fill(line, 100, initial_indent=" " * 6, subsequent_indent=" " * 8))


def user_rows(browser: Browser) -> list[list[str]]:
    """The users table (header row dropped): email, name, role, last login, its outcome."""
    return browser.get("/users").tables["users"][1:]


def story(browser: Browser, logs: LogCapture) -> None:
    print(f'1. The admin of account "{ACCOUNT}" pastes the test IdP\'s metadata into SSO settings.')
    metadata = browser.get("/test-idp/metadata.xml").html
    settings = browser.get(f"/admin/{ACCOUNT}/sso")
    expect("disabled" in settings.text("sso-status"), "SSO should start disabled")
    print(f"   To copy into the IdP: SP entity ID {settings.text('sp-entity-id')}")
    print(f"                         ACS URL      {settings.text('acs-url')}")
    settings = browser.submit(settings, "save", metadata=metadata)
    expect(settings.status == 200, f"saving the metadata answered {settings.status}")
    expect("enabled" in settings.text("sso-status"), "SSO should be enabled after saving")
    notes = settings.text("metadata-notes") or "no warnings"
    print(f"   Saved. {settings.text('sso-status')} ({notes})")

    print("2. Ada clicks PixelCDN's tile in her IdP portal: her first, IdP-initiated login.")
    _, page = sign_in_at_idp(
        browser, email="ada@acme.test", full_name="Ada Lovelace", role="developer"
    )
    expect(page.status == 200, f"the first login answered HTTP {page.status}")
    outcome = page.text("outcome")
    expect(outcome == "created", f"expected the user to be created: {outcome}")
    print(
        f"   CREATED {page.text('user-email')}: name {page.text('user-name')!r}, "
        f"role {page.text('user-role')}"
    )
    signed_in = browser.get("/").text("signed-in")
    expect("ada@acme.test" in signed_in, f"the session cookie does not work: {signed_in}")
    print(f"   The app's session cookie is set. Home page: {signed_in}")

    print("3. At the IdP, Ada is renamed Ada King and moved to finance; she logs in again.")
    update_post, page = sign_in_at_idp(
        browser, email="ada@acme.test", full_name="Ada King", role="finance"
    )
    outcome, changes = page.text("outcome"), page.text("changes")
    expect(outcome == "updated", f"expected the user to be updated: {outcome}")
    expected = "full_name: Ada Lovelace -> Ada King; role: developer -> finance"
    expect(changes == expected, f"expected the changes {expected!r}, got {changes!r}")
    print(f"   UPDATED {page.text('user-email')}: {changes}")
    home = browser.submit(browser.get("/"), "logout")
    signed_in = home.text("signed-in")
    expect(signed_in.startswith("Not signed in"), f"logout left the session: {signed_in}")
    print("   Ada logs out: the server ends her session (the cookie was only its random ID).")

    print("4. Three logins the app must refuse, writing nothing:")
    before = user_rows(browser)
    _, page = sign_in_at_idp(browser, email="grace@acme.test", full_name="Grace", role="guest")
    expect_rejected(page, "role_not_accepted", 'grace@acme.test with the role "guest"', logs)
    _, page = sign_in_at_idp(
        browser, email="eve@globex.test", full_name="Eve", role="developer", imagekit_id="globex"
    )
    expect_rejected(page, "account_mismatch", 'eve@globex.test with imagekit_id "globex"', logs)
    page = browser.submit(update_post, "saml-post")
    expect_rejected(page, "replayed", "Ada's previous response posted again", logs)
    after = user_rows(browser)
    expect(after == before, f"a rejected login changed the users:\n{before}\n{after}")
    emails = [row[0] for row in after]
    expect(emails == ["ada@acme.test"], f"unexpected users: {emails}")
    print(f"   The users page is unchanged: {' | '.join(after[0])}")
    results = [row[2] for row in browser.get("/users").tables["attempts"][1:4]]
    codes = ["rejected: replayed", "rejected: account_mismatch", "rejected: role_not_accepted"]
    expect(results == codes, f"the users page lists the recent logins as {results}")
    print(f"   Its recent SSO logins: {', '.join(results)}")

    print("5. The admin deletes the IdP metadata, which disables SSO for the account.")
    settings = browser.submit(browser.get(f"/admin/{ACCOUNT}/sso"), "delete")
    expect("disabled" in settings.text("sso-status"), "SSO should be disabled")
    print(f"   {settings.text('sso-status')}")
    _, page = sign_in_at_idp(browser, email="ada@acme.test", full_name="Ada King", role="finance")
    expect_rejected(page, "sso_disabled", "Ada's next login", logs)
    emails = [row[0] for row in user_rows(browser)]
    expect(emails == ["ada@acme.test"], f"users after disabling SSO: {emails}")
    print("   Ada is still a user of the account: SSO never deletes users.")


def main() -> int:
    logs = LogCapture()
    logging.getLogger().addHandler(logs)  # the app's log lines, and quiet samljit's audit log
    with tempfile.TemporaryDirectory(prefix="jit-demo-") as tmp:
        database = Path(tmp) / "pixelcdn.sqlite"
        with running(database) as app:
            print(f"PixelCDN at {app.base_url}, users in a fresh SQLite file {database}\n")
            try:
                story(Browser(app.base_url), logs)
            except StoryFailed as failure:
                print(f"\nFAILED: {failure}", file=sys.stderr)
                return 1
    print("\nOK: the Just-In-Time provisioning story went as expected.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
