"""The Just-In-Time provisioning story, end to end over HTTP: what ``make demo`` runs.

Starts PixelCDN (app.py) on 127.0.0.1 with a fresh SQLite file and drives it as a browser
would: GET pages, fill in and POST their forms, follow the test IdP's auto-submitting form to
the ACS, keep the session cookie. For the SCIM chapter it also plays the IdP's provisioning
client, calling the app's SCIM endpoint with the token the administrator generated. Each
step prints what happened; the script exits 0 only when every outcome was the expected one.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import quote, urlencode, urljoin, urlsplit
from urllib.request import HTTPCookieProcessor, Request, build_opener

from app import running

ACCOUNT = "acme"
ADMIN = f"/sso/admin/{ACCOUNT}/"


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
    enctype: str
    fields: dict[str, str] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)  # select name -> its values
    checkboxes: dict[str, str] = field(default_factory=dict)  # name -> value when checked
    files: list[str] = field(default_factory=list)  # file inputs (the story uploads none)


@dataclass
class Page:
    url: str
    status: int
    html: str
    forms: dict[str, Form]  # by form id, else by action
    texts: dict[str, str]  # element id, ".class", "h1" or "main" -> its text
    values: dict[str, str]  # input id -> its value
    tables: dict[str, list[list[str]]]  # table id ("" for those without) -> rows of cells

    def text(self, key: str) -> str:
        expect(key in self.texts, f"{self.url} ({self.status}) has no {key}")
        return self.texts[key]


class _PageParser(HTMLParser):
    """Collects what the story reads: forms with their fields, texts by id, class, h1, main,
    input values by id, table cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, Form] = {}
        self.texts: dict[str, str] = {}
        self.values: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self._open: list[tuple[str, list[str]]] = []  # (tag, text keys) of open elements
        self._form: Form | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {name: value or "" for name, value in attrs}
        keys = [a["id"]] if "id" in a else []
        keys += [f".{name}" for name in a.get("class", "").split()]
        keys += [tag] if tag in ("h1", "main") else []
        if keys and tag not in ("input", "br", "img", "meta", "link"):
            self._open.append((tag, keys))
            for key in keys:
                self.texts.setdefault(key, "")
        if tag == "input" and "id" in a:
            self.values[a["id"]] = a.get("value", "")
        if tag == "form":
            self._form = Form(
                action=a.get("action", ""),
                method=a.get("method", "get").lower(),
                enctype=a.get("enctype", "application/x-www-form-urlencoded"),
            )
            self.forms[a.get("id") or self._form.action] = self._form
        elif tag == "table":
            self._table = self.tables.setdefault(a.get("id", ""), [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif self._form is not None and "name" in a:
            self._form_field(tag, a)
        if tag == "option" and self._form is not None and self._select is not None:
            self._form.options[self._select].append(a.get("value", ""))
            if "selected" in a or self._select not in self._form.fields:
                self._form.fields[self._select] = a.get("value", "")

    def _form_field(self, tag: str, a: dict[str, str]) -> None:
        assert self._form is not None
        name, kind = a["name"], a.get("type", "text")
        if tag == "input" and kind == "checkbox":
            self._form.checkboxes[name] = a.get("value", "on")
            if "checked" in a:
                self._form.fields[name] = self._form.checkboxes[name]
        elif tag == "input" and kind == "file":
            self._form.files.append(name)
        elif tag == "input" and kind not in ("submit", "button", "reset"):
            self._form.fields[name] = a.get("value", "")
        elif tag == "textarea":
            self._textarea, self._form.fields[name] = name, ""
        elif tag == "select":
            self._select, self._form.options[name] = name, []

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            self._open.pop()
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
        for _, keys in self._open:
            for key in keys:
                self.texts[key] += data
        if self._textarea is not None and self._form is not None:
            self._form.fields[self._textarea] += data
        if self._cell is not None:
            self._cell.append(data)


class Browser:
    """GETs pages and submits their forms (urlencoded or multipart, as each form says),
    keeping its own cookies; follows redirects."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> Page:
        return self._open(urljoin(self.base_url, path))

    def submit(self, page: Page, form_key: str, **values: str) -> Page:
        """Submit the form of ``page`` with that id (or action): only its own fields, select
        options and checkboxes (a checkbox is sent when given its value, as when ticked)."""
        expect(form_key in page.forms, f"{page.url} has no form {form_key}")
        form = page.forms[form_key]
        fields = dict(form.fields)
        for name, value in values.items():
            known = name in fields or form.checkboxes.get(name) == value
            expect(known, f"form {form_key} has no field {name!r} (or box with {value!r})")
            options = form.options.get(name)
            expect(options is None or value in options, f"{name!r} has no option {value!r}")
            fields[name] = value
        expect(form.method == "post", f"form {form_key} is not a POST form")
        if form.enctype == "multipart/form-data":
            data, content_type = _multipart(fields, form.files)
        else:
            data = urlencode(fields).encode("ascii")
            content_type = "application/x-www-form-urlencoded"
        return self._open(urljoin(page.url, form.action), data, content_type)

    def _open(self, url: str, data: bytes | None = None, content_type: str = "") -> Page:
        expect(urlsplit(url).scheme == "http", f"refusing to open {url}")
        headers = {"Content-Type": content_type} if content_type else {}
        request = Request(url, data=data, headers=headers)  # noqa: S310 - http only, checked above
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
        return Page(url, status, text, parser.forms, texts, parser.values, parser.tables)


def _multipart(fields: dict[str, str], files: list[str]) -> tuple[bytes, str]:
    """The body a browser posts for a multipart form: each field, and each file input with
    no file chosen."""
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n"
        for name in files
    ]
    body = "".join(parts) + f"--{boundary}--\r\n"
    return body.encode("utf-8"), f"multipart/form-data; boundary={boundary}"


class LogCapture(logging.Handler):
    """Keeps the app's log lines, to show what the administrator would read."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "jit_demo":
            self.messages.append(record.getMessage())


# --- the story -----------------------------------------------------------------------------


def sign_in_at_idp(
    browser: Browser, idp_form: Page | None = None, **claims: str
) -> tuple[Page, Page]:
    """At the test IdP, pick a user and sign in; the browser submits the auto-post form.

    ``idp_form``: the IdP's page when the app sent the browser there (SP-initiated), else it
    is opened (IdP-initiated). Returns the IdP's auto-submitting page (to replay it) and the
    app's ACS page.
    """
    idp_form = idp_form or browser.get("/test-idp")
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


def recent_logins(admin: Browser) -> list[list[str]]:
    """The status page's recent sign-ins, newest first: when, outcome, user, code, reason."""
    rows = admin.get(ADMIN).tables.get("", [])
    return [row for row in rows if len(row) == 5 and row[1] in ("succeeded", "refused")]


def said(page: Page) -> str:
    """What an admin page says under its title."""
    return page.text("main").removeprefix(page.text("h1")).strip()


def sso_state(page: Page) -> str:
    """``on`` or ``off``, as the admin status page says."""
    expect(page.text("h1") == "Single sign-on", f"{page.url} is not the status page")
    states = [s for s in ("on", "off") if f"Single sign-on is {s}." in page.text("main")]
    expect(len(states) == 1, f"{page.url} does not say whether SSO is on")
    return states[0]


def test_connection(admin: Browser, status: Page) -> None:
    """Test connection: the admin signs in at the IdP as Ada with her new name and role; the
    result page says what a real sign-in would do, and nothing is written."""
    before = user_rows(admin)
    expect("test-connection" in status.forms, "the status page offers no Test connection")
    idp_page = admin.submit(status, "test-connection")
    expect("authn-request" in idp_page.texts, f"the test did not reach the IdP: {idp_page.url}")
    answering = idp_page.text("authn-request").split(" (")[0]
    print(f"   Test connection sends the admin's browser to the IdP. {answering}.")
    _, acs = sign_in_at_idp(
        admin, idp_page, email="ada@acme.test", full_name="Ada King", role="finance"
    )
    result = admin.submit(acs, "test-result-post")  # the ACS hands the answer to the result page
    expect(result.text("h1") == "Test connection result", f"no result page: {result.text('h1')}")
    expect('data-action="update"' in result.html, f"unexpected: {result.text('test-action')}")
    rows = result.tables.get("test-changes", [])[1:]
    changes = "; ".join(f"{name}: {old} -> {new}" for name, old, new in rows)
    print("   The ACS refuses the answer as a login (test_login) and hands it to the result page:")
    print(f"   TEST CONNECTION: {result.text('test-action')} ({changes})")
    expect(user_rows(admin) == before, "a Test connection changed the users")
    print("   Nothing was written: the users page is unchanged, and no session was issued.")


def scim_call(
    method: str, url: str, token: str | None, document: object = None
) -> tuple[int, dict[str, object]]:
    """One request of the IdP's SCIM client: (HTTP status, the JSON answer or {})."""
    expect(urlsplit(url).scheme == "http", f"refusing to open {url}")
    headers = {"Accept": "application/scim+json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if document is not None:
        data = json.dumps(document).encode("utf-8")
        headers["Content-Type"] = "application/scim+json"
    request = Request(url, data=data, headers=headers, method=method)  # noqa: S310 - http only
    try:
        with build_opener().open(request, timeout=10) as response:
            status, body = response.status, response.read()
    except HTTPError as error:
        with error:
            status, body = error.code, error.read()
    return status, json.loads(body) if body else {}


def scim_deactivation(admin: Browser, ada: Browser, logs: LogCapture) -> None:
    """The admin generates a SCIM token; the IdP, told Ada has left, finds her by userName and
    deactivates her (as Okta and Entra ID do on unassignment); then her session has ended, her
    next login is refused, and the users page says she is deactivated."""
    status = admin.get(ADMIN)
    expect("scim-base-url" in status.values, "the status page shows no SCIM base URL")
    issued = admin.submit(status, f"{ADMIN}scim/tokens", label="Test IdP provisioning")
    expect(issued.text("h1") == "SCIM token generated", f"no token: {issued.text('h1')}")
    token, base = issued.values["scim-secret"], issued.values["scim-base-url"]
    print(f"   The admin generates a SCIM token on the status page: {token[:17]}... (shown once)")
    print(f"   and enters it in the IdP with the SCIM base URL {base}")
    expect(token not in admin.get(ADMIN).html, "the status page shows the secret again")
    unauthenticated, _ = scim_call("GET", f"{base}/Users", None)
    expect(unauthenticated == 401, f"SCIM without a token answered {unauthenticated}")
    query = quote('userName eq "ada@acme.test"')
    found_status, found = scim_call("GET", f"{base}/Users?filter={query}", token)
    expect(found_status == 200 and found.get("totalResults") == 1, f"Ada not found: {found}")
    resources = found["Resources"]
    assert isinstance(resources, list)
    user_id = resources[0]["id"]
    print(f'   IdP: GET /Users?filter=userName eq "ada@acme.test" -> id {user_id}')
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    patched_status, patched = scim_call("PATCH", f"{base}/Users/{user_id}", token, patch)
    expect(patched_status == 200, f"the PATCH answered {patched_status}: {patched}")
    expect(patched.get("active") is False, f"Ada is still active: {patched}")
    print(f"   IdP: PATCH /Users/{user_id} active=false -> HTTP 200, active {patched['active']}")
    signed_in = ada.get("/").text("signed-in")
    expect(signed_in.startswith("Not signed in"), f"Ada's session survived: {signed_in}")
    print("   Ada's open session has ended (revoked on deactivation): the home page says")
    print(f"      {signed_in[:40]}...")
    _, page = sign_in_at_idp(ada, email="ada@acme.test", full_name="Ada King", role="finance")
    expect_rejected(page, "user_deactivated", "Ada's next login", logs)
    rows = user_rows(admin)
    expect(rows[0][0] == "ada@acme.test" and rows[0][-1] == "deactivated", f"users: {rows}")
    active = admin.get("/users").text("active")
    print(f"   The users page: {' | '.join(rows[0])}. {active}")
    recent = recent_logins(admin)[0]
    expect(recent[3] == "user_deactivated", f"the status page lists {recent}")
    print(f"   The admin's status page: {recent[3]}: {recent[4]}")


def story(admin: Browser, ada: Browser, logs: LogCapture) -> None:
    numbers = iter(range(1, 20))

    def step(text: str) -> None:
        print(f"{next(numbers)}. {text}")

    step(f'The administrator of account "{ACCOUNT}" signs in and opens the SSO admin pages.')
    status = admin.submit(admin.get("/"), "admin-sign-in")
    expect(sso_state(status) == "off", "SSO should start off")
    guide = admin.get(f"{ADMIN}setup/generic")
    print(f"   SSO is off. The setup guide: SP entity ID {guide.values.get('field-0')}")
    print(f"                                ACS URL      {guide.values.get('field-1')}")

    step("The admin connects the test IdP: pastes its metadata, checks the preview, saves.")
    metadata = admin.get("/test-idp/metadata.xml").html
    preview = admin.submit(admin.get(f"{ADMIN}connect"), f"{ADMIN}connect", metadata=metadata)
    expect(preview.text("h1") == "Check your IdP", f"no preview: HTTP {preview.status}")
    read = {row[0]: row[1] for row in preview.tables[""] if len(row) == 2}
    print(f"   Preview (nothing saved yet): IdP entity ID {read.get('IdP entity ID')}")
    expect(sso_state(admin.get(ADMIN)) == "off", "the preview saved the metadata")
    saved = admin.submit(preview, f"{ADMIN}connect/confirm")
    expect(saved.text("h1") == "IdP connected", f"not saved: {saved.text('h1')}")
    status = admin.get(ADMIN)
    expect(sso_state(status) == "on", "SSO should be on after saving")
    print(f"   Saved: {said(saved)} SSO is on.")

    step("Ada clicks PixelCDN's tile in her IdP portal: her first, IdP-initiated login.")
    _, page = sign_in_at_idp(ada, email="ada@acme.test", full_name="Ada Lovelace", role="developer")
    expect(page.status == 200, f"the first login answered HTTP {page.status}")
    outcome = page.text("outcome")
    expect(outcome == "created", f"expected the user to be created: {outcome}")
    print(
        f"   CREATED {page.text('user-email')}: name {page.text('user-name')!r}, "
        f"role {page.text('user-role')}"
    )
    signed_in = ada.get("/").text("signed-in")
    expect("ada@acme.test" in signed_in, f"the session cookie does not work: {signed_in}")
    print(f"   The app's session cookie is set. Home page: {signed_in}")
    forbidden = ada.get(ADMIN)
    expect(forbidden.status == 403, f"Ada opened the admin pages: HTTP {forbidden.status}")
    print("   Ada, a developer, may not open the SSO admin pages: HTTP 403.")

    step("At the IdP, Ada is renamed Ada King and moved to finance; the admin tests it.")
    test_connection(admin, admin.get(ADMIN))

    step("Ada (now Ada King, in finance at the IdP) logs in again.")
    update_post, page = sign_in_at_idp(
        ada, email="ada@acme.test", full_name="Ada King", role="finance"
    )
    outcome, changes = page.text("outcome"), page.text("changes")
    expect(outcome == "updated", f"expected the user to be updated: {outcome}")
    expected = "full_name: Ada Lovelace -> Ada King; role: developer -> finance"
    expect(changes == expected, f"expected the changes {expected!r}, got {changes!r}")
    print(f"   UPDATED {page.text('user-email')}: {changes}")
    home = ada.submit(ada.get("/"), "logout")
    signed_in = home.text("signed-in")
    expect(signed_in.startswith("Not signed in"), f"logout left the session: {signed_in}")
    print("   Ada logs out: the server ends her session (the cookie was only its random ID).")

    step("Three logins the app must refuse, writing nothing:")
    before = user_rows(ada)
    _, page = sign_in_at_idp(ada, email="grace@acme.test", full_name="Grace", role="guest")
    expect_rejected(page, "role_not_accepted", 'grace@acme.test with the role "guest"', logs)
    _, page = sign_in_at_idp(
        ada, email="eve@globex.test", full_name="Eve", role="developer", imagekit_id="globex"
    )
    expect_rejected(page, "account_mismatch", 'eve@globex.test with imagekit_id "globex"', logs)
    page = ada.submit(update_post, "saml-post")
    expect_rejected(page, "replayed", "Ada's previous response posted again", logs)
    after = user_rows(ada)
    expect(after == before, f"a rejected login changed the users:\n{before}\n{after}")
    emails = [row[0] for row in after]
    expect(emails == ["ada@acme.test"], f"unexpected users: {emails}")
    print(f"   The users page is unchanged: {' | '.join(after[0])}")
    codes = [row[3] for row in recent_logins(admin)[:3]]
    expected_codes = ["replayed", "account_mismatch", "role_not_accepted"]
    expect(codes == expected_codes, f"the status page lists the recent refusals as {codes}")
    print("   The admin's status page lists them with their reasons:")
    for _, _, user, code, reason in recent_logins(admin)[:3]:
        print(f"      {code}: {reason} ({user or 'user not known'})")

    step("Ada signs in again; then she leaves, and the IdP deactivates her through SCIM.")
    _, page = sign_in_at_idp(ada, email="ada@acme.test", full_name="Ada King", role="finance")
    expect(page.text("outcome") == "unchanged", f"unexpected: {page.text('outcome')}")
    expect("ada@acme.test" in ada.get("/").text("signed-in"), "Ada is not signed in")
    print("   Ada is signed in (unchanged).")
    scim_deactivation(admin, ada, logs)

    step("The admin disables SSO (the IdP settings are deleted).")
    disable = admin.get(f"{ADMIN}disable")
    done = admin.submit(disable, f"{ADMIN}disable", confirm="yes")
    expect(done.text("h1") == "Single sign-on disabled", f"not disabled: {done.text('h1')}")
    expect(sso_state(admin.get(ADMIN)) == "off", "SSO should be off")
    print(f"   {said(done)}")
    _, page = sign_in_at_idp(ada, email="ada@acme.test", full_name="Ada King", role="finance")
    expect_rejected(page, "sso_disabled", "Ada's next login", logs)
    emails = [row[0] for row in user_rows(ada)]
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
                story(Browser(app.base_url), Browser(app.base_url), logs)
            except StoryFailed as failure:
                print(f"\nFAILED: {failure}", file=sys.stderr)
                return 1
    print("\nOK: the Just-In-Time provisioning story went as expected.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
