"""The example apps (Flask, FastAPI, Django) in a real Chromium, against SimpleSAMLphp.

Each app is started once per module as its README says, ``python examples/<name>/app.py``
from the repository root, with ``PORT``, ``IDP_METADATA_URL`` (the SimpleSAMLphp IdP's
metadata, which the app fetches to configure account ``acme``), ``ADMIN_PASSWORD`` and
``DATABASE`` (a new SQLite file). SimpleSAMLphp then learns the app as an IdP administrator
would: from the SP metadata the app serves at ``/sso/acme/metadata``. One more process per
app, started without ``IDP_METADATA_URL``, is connected to SimpleSAMLphp on its admin pages.

The contract every example app follows (the pages these tests read):

- SP entity ID ``http://127.0.0.1:PORT/sso/acme/metadata`` (serving the SP metadata), ACS
  ``/sso/acme/acs``, SLO ``/sso/acme/slo``; NameID (emailAddress) is the email,
  ``full_name`` and ``role`` attributes (six accepted roles), ``imagekit_id`` must be
  ``acme``; IdP-initiated logins allowed; users of ``@acme.test`` belong to ``acme``.
- ``/``: ``Signed in as <span id="email">`` with ``span#full-name`` and ``span#role`` and a
  logout form (``button#logout``, POST ``/sso/logout``), or ``Not signed in`` with a link to
  ``/sso/``.
- ``/sso/``: a form with ``input#email`` (name ``email``) and ``button#sso-submit``; it sends
  the browser to the account's IdP, whose response comes back to the ACS and then ``/``.
- A refused login: a generic page whose ``<h1>`` is ``Single sign-on failed``, HTTP 403.
- ``/users``: one ``<tr data-email="...">`` per user with ``td.full-name`` and ``td.role``.
- Logout ends the app's session and logs out at the IdP (SAML Single Logout), which comes
  back to the SLO endpoint; the browser lands on ``/`` showing ``Not signed in``.
- ``/login``: the app's own password sign-in (``input#username``, ``input#password``,
  ``button#login``) for the local administrator ``admin@acme.test`` (role
  ``account_administrator``, password ``ADMIN_PASSWORD``); then ``/`` as above, with
  ``a#sso-admin`` to ``/sso/admin/acme/``, the account's SSO admin pages (a 403 for anyone but
  the account's administrators).

Each test uses a user of its own, so that the tests do not depend on one another's order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from ..e2e.ssp import SimpleSAMLphp, free_port, http_get
from .conftest import ROOT, AppServer, Browser, run_app

pytestmark = pytest.mark.browser

EXAMPLES = ("flask_app", "fastapi_app", "django_project")
ACCOUNT = "acme"
DOMAIN = "acme.test"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"
STARTUP_TIMEOUT = 60.0  # Django and uvicorn import a lot on 2 slow cores
ADMIN_EMAIL = "admin@acme.test"
ADMIN_PASSWORD = "acme-admin-password"  # the apps are started with it
ADMIN_PAGES = f"/sso/admin/{ACCOUNT}/"


@dataclass(frozen=True)
class Example:
    """A running example app, registered at the IdP."""

    name: str
    server: AppServer

    @property
    def entity_id(self) -> str:
        return self.server.url(f"/sso/{ACCOUNT}/metadata")

    def url(self, path: str = "/") -> str:
        return self.server.url(path)


@dataclass(frozen=True)
class User:
    """A user of the IdP's login form."""

    username: str
    password: str
    email: str
    full_name: str
    role: str


@contextmanager
def start_example(name: str, database: Path, **env: str) -> Iterator[Example]:
    """Run ``python examples/<name>/app.py`` with a new database and the local administrator's
    password, until the block ends."""
    script = Path("examples") / name / "app.py"
    if not (ROOT / script).is_file():
        pytest.fail(
            f"{script} does not exist: the {name} example is not written yet", pytrace=False
        )
    port = free_port()
    env.update(PORT=str(port), ADMIN_PASSWORD=ADMIN_PASSWORD, DATABASE=str(database))
    log_name = name if "IDP_METADATA_URL" in env else f"{name}-unconnected"
    with run_app(log_name, [str(script)], port=port, env=env, timeout=STARTUP_TIMEOUT) as server:
        yield Example(name=name, server=server)


@pytest.fixture(scope="module", params=EXAMPLES)
def example(
    request: pytest.FixtureRequest,
    simplesamlphp: SimpleSAMLphp,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Example]:
    """The app, its account ``acme`` connected to SimpleSAMLphp at start (IDP_METADATA_URL)."""
    name: str = request.param
    database = tmp_path_factory.mktemp(name) / "app.sqlite"
    with start_example(name, database, IDP_METADATA_URL=simplesamlphp.metadata_url) as example:
        server = example.server
        status, metadata = http_get(example.entity_id, timeout=10)
        assert status == 200, f"GET {example.entity_id}: HTTP {status}\n{server.log()}"
        check_sp_metadata(example, metadata)
        simplesamlphp.register_sp(name, metadata)
        yield example


def check_sp_metadata(example: Example, metadata: bytes) -> None:
    """The SP metadata names the contract's entity ID, ACS, SLO and NameID format."""
    root = etree.fromstring(metadata, parser=etree.XMLParser(resolve_entities=False))
    assert root.tag == f"{MD}EntityDescriptor"
    assert root.get("entityID") == example.entity_id
    sp = root.find(f"{MD}SPSSODescriptor")
    assert sp is not None
    acs = [e.get("Location") for e in sp.iter(f"{MD}AssertionConsumerService")]
    assert example.url(f"/sso/{ACCOUNT}/acs") in acs
    slo = {e.get("Location") for e in sp.iter(f"{MD}SingleLogoutService")}
    assert slo == {example.url(f"/sso/{ACCOUNT}/slo")}
    assert [e.text for e in sp.iter(f"{MD}NameIDFormat")] == [EMAIL_FORMAT]


def idp_user(
    simplesamlphp: SimpleSAMLphp, example: Example, name: str, *, full_name: str, role: str
) -> User:
    """Add (or change) a user at the IdP, as its administrator would."""
    user = User(
        username=f"{name}-{example.name}",
        password=f"{name}-password",
        email=f"{name}@{DOMAIN}",
        full_name=full_name,
        role=role,
    )
    simplesamlphp.set_user(
        user.username,
        password=user.password,
        uid=user.username,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        imagekit_id=ACCOUNT,
    )
    return user


def change_at_idp(simplesamlphp: SimpleSAMLphp, user: User, **changes: str) -> User:
    """An IdP administrator edits the user (their next login at the IdP sees it)."""
    changed = User(
        username=user.username,
        password=user.password,
        email=user.email,
        full_name=changes.get("full_name", user.full_name),
        role=changes.get("role", user.role),
    )
    simplesamlphp.set_user(
        changed.username,
        password=changed.password,
        uid=changed.username,
        email=changed.email,
        full_name=changed.full_name,
        role=changed.role,
        imagekit_id=ACCOUNT,
    )
    return changed


def sign_in_at_idp(browser: Browser, simplesamlphp: SimpleSAMLphp, user: User, step: str) -> None:
    """SimpleSAMLphp's login form: username, password, Login."""
    browser.wait_for("form input#username")
    assert browser.driver.current_url.startswith(simplesamlphp.base_url)
    browser.find("input#username").send_keys(user.username)
    browser.find("input#password").send_keys(user.password)
    browser.shot(f"{step}: IdP login form")
    browser.click("#submit_button")


def start_sp_initiated_login(browser: Browser, example: Example, user: User, step: str) -> None:
    """Type the email on the app's SSO page and submit it: the browser goes to the IdP."""
    browser.open(example.url("/sso/"))
    field = browser.wait_for("form input#email")
    assert field.get_attribute("name") == "email"
    field.send_keys(user.email)
    browser.shot(f"{step}: SSO page")
    browser.click("#sso-submit")


def sp_initiated_login(
    browser: Browser, simplesamlphp: SimpleSAMLphp, example: Example, user: User, step: str
) -> None:
    start_sp_initiated_login(browser, example, user, step)
    sign_in_at_idp(browser, simplesamlphp, user, step)


def expect_signed_in(browser: Browser, example: Example, user: User, step: str) -> None:
    """The browser is back on the app's home page, signed in as ``user``."""
    browser.wait_for("span#email", url=example.url("/"))
    browser.shot(f"{step}: signed in")
    assert browser.status() == 200
    assert browser.text("span#email") == user.email
    assert browser.text("span#full-name") == user.full_name
    assert browser.text("span#role") == user.role
    assert "Signed in as" in browser.text("body")
    assert browser.find("button#logout").is_displayed()


def expect_refused(browser: Browser, step: str) -> None:
    heading = browser.wait_for("h1", text="Single sign-on failed")
    browser.shot(f"{step}: refused")
    assert heading.text == "Single sign-on failed"
    assert browser.status() == 403


def expect_signed_out(browser: Browser, example: Example, step: str) -> None:
    browser.open(example.url("/"))
    browser.wait_for("body", text="Not signed in")
    browser.shot(f"{step}: not signed in")
    assert browser.find_all("span#email") == []
    assert browser.find("a[href='/sso/']").is_displayed()


def users_page(browser: Browser, example: Example) -> dict[str, list[tuple[str, str]]]:
    """The app's users page: email -> [(full name, role)], one entry per table row."""
    browser.open(example.url("/users"))
    browser.wait_for("table")
    browser.shot("users page")
    assert browser.status() == 200
    rows: dict[str, list[tuple[str, str]]] = {}
    for row in browser.find_all("tr[data-email]"):
        email = row.get_attribute("data-email") or ""
        full_name = row.find_element("css selector", "td.full-name").text
        role = row.find_element("css selector", "td.role").text
        rows.setdefault(email, []).append((full_name, role))
    return rows


def test_sp_initiated_login_creates_the_user(
    browser: Browser, simplesamlphp: SimpleSAMLphp, example: Example
) -> None:
    """Type the email, sign in at the IdP, land in the app as a Just-In-Time created user."""
    user = idp_user(simplesamlphp, example, "ada", full_name="Ada Lovelace", role="developer")
    expect_signed_out(browser, example, "before")
    assert user.email not in users_page(browser, example)

    sp_initiated_login(browser, simplesamlphp, example, user, "login")

    expect_signed_in(browser, example, user, "login")
    assert users_page(browser, example)[user.email] == [(user.full_name, user.role)]


def test_a_role_changed_at_the_idp_updates_the_user_at_the_next_login(
    browser: Browser, simplesamlphp: SimpleSAMLphp, example: Example
) -> None:
    user = idp_user(simplesamlphp, example, "grace", full_name="Grace Hopper", role="developer")
    sp_initiated_login(browser, simplesamlphp, example, user, "first login")
    expect_signed_in(browser, example, user, "first login")

    promoted = change_at_idp(
        simplesamlphp,
        user,
        role="account_administrator",
        full_name="Grace Brewster Hopper",
    )
    browser.new_session()  # another day: no session at the app or the IdP
    sp_initiated_login(browser, simplesamlphp, example, promoted, "login after the change")

    expect_signed_in(browser, example, promoted, "login after the change")
    assert users_page(browser, example)[user.email] == [
        ("Grace Brewster Hopper", "account_administrator")
    ]


def test_an_unaccepted_role_shows_the_error_page_and_writes_nothing(
    browser: Browser, simplesamlphp: SimpleSAMLphp, example: Example
) -> None:
    user = idp_user(simplesamlphp, example, "mary", full_name="Mary Somerville", role="finance")
    sp_initiated_login(browser, simplesamlphp, example, user, "first login")
    expect_signed_in(browser, example, user, "first login")
    before = users_page(browser, example)
    assert before[user.email] == [("Mary Somerville", "finance")]

    change_at_idp(simplesamlphp, user, role="guest", full_name="Mary Fairfax")
    browser.new_session()
    sp_initiated_login(browser, simplesamlphp, example, user, "login as guest")

    expect_refused(browser, "login as guest")
    expect_signed_out(browser, example, "after the refusal")
    assert users_page(browser, example) == before


def test_a_new_user_with_an_unaccepted_role_is_not_created(
    browser: Browser, simplesamlphp: SimpleSAMLphp, example: Example
) -> None:
    user = idp_user(simplesamlphp, example, "eve", full_name="Eve Guest", role="guest")

    sp_initiated_login(browser, simplesamlphp, example, user, "login as guest")

    expect_refused(browser, "login as guest")
    expect_signed_out(browser, example, "after the refusal")
    assert user.email not in users_page(browser, example)


def test_idp_initiated_login_from_the_idp_page(
    browser: Browser, simplesamlphp: SimpleSAMLphp, example: Example
) -> None:
    """The user starts at SimpleSAMLphp's own page for the app (the "app tile")."""
    user = idp_user(
        simplesamlphp, example, "katherine", full_name="Katherine Johnson", role="finance"
    )
    browser.open(simplesamlphp.idp_initiated_url(example.entity_id))

    sign_in_at_idp(browser, simplesamlphp, user, "IdP-initiated login")

    expect_signed_in(browser, example, user, "IdP-initiated login")
    assert users_page(browser, example)[user.email] == [(user.full_name, user.role)]


def test_logout_ends_the_app_session_and_the_idp_session(
    browser: Browser, simplesamlphp: SimpleSAMLphp, example: Example
) -> None:
    user = idp_user(
        simplesamlphp, example, "hedy", full_name="Hedy Lamarr", role="media_library_full_access"
    )
    sp_initiated_login(browser, simplesamlphp, example, user, "login")
    expect_signed_in(browser, example, user, "login")

    browser.click("button#logout")

    # Through the IdP's Single Logout and back to the app's SLO endpoint, then home.
    browser.wait_for("body", url=example.url("/"), text="Not signed in")
    browser.shot("logged out")
    assert browser.find_all("span#email") == []
    # The IdP's session is over too: signing in again asks for the password.
    start_sp_initiated_login(browser, example, user, "login again")
    browser.wait_for("form input#username")
    browser.shot("login again: the IdP asks for the password")
    assert browser.driver.current_url.startswith(simplesamlphp.base_url)


# --- the account administrators' pages ----------------------------------------------------


def sign_in_with_password(browser: Browser, example: Example, step: str) -> None:
    """The local administrator signs in on the app's own password form."""
    browser.open(example.url("/login"))
    browser.wait_for("form input#username")
    assert browser.find("input#username").get_attribute("name") == "username"
    assert browser.find("input#password").get_attribute("name") == "password"
    browser.find("input#username").send_keys(ADMIN_EMAIL)
    browser.find("input#password").send_keys(ADMIN_PASSWORD)
    browser.shot(f"{step}: password sign-in")
    browser.click("button#login")
    browser.wait_for("span#email", url=example.url("/"))
    assert browser.text("span#email") == ADMIN_EMAIL
    assert browser.text("span#role") == "account_administrator"


def open_admin_pages(browser: Browser, example: Example, step: str) -> None:
    """Follow the home page's link to the account's SSO admin pages (their status page)."""
    link = browser.find("a#sso-admin")
    assert link.get_attribute("href") == example.url(ADMIN_PAGES)
    browser.click(link)
    browser.wait_for("main h1", url=example.url(ADMIN_PAGES), text="Single sign-on")
    browser.shot(f"{step}: SSO status page")
    assert browser.status() == 200


def test_the_local_administrator_signs_in_and_sees_the_sso_status_page(
    browser: Browser, simplesamlphp: SimpleSAMLphp, example: Example
) -> None:
    sign_in_with_password(browser, example, "admin")

    open_admin_pages(browser, example, "admin")

    main = browser.text("main")
    assert "Single sign-on is on" in main
    assert simplesamlphp.entity_id in [cell.text for cell in browser.find_all("main td code")]


def test_a_wrong_password_is_refused(browser: Browser, example: Example) -> None:
    browser.open(example.url("/login"))
    browser.wait_for("form input#username")
    browser.find("input#username").send_keys(ADMIN_EMAIL)
    browser.find("input#password").send_keys(ADMIN_PASSWORD + "-not")
    browser.click("button#login")
    browser.wait_for("h1", text="Sign-in failed")
    browser.shot("refused")
    assert browser.status() == 403
    expect_signed_out(browser, example, "after the refusal")


def test_an_sso_user_who_is_no_administrator_may_not_open_the_admin_pages(
    browser: Browser, simplesamlphp: SimpleSAMLphp, example: Example
) -> None:
    user = idp_user(simplesamlphp, example, "linus", full_name="Linus Pauling", role="developer")
    sp_initiated_login(browser, simplesamlphp, example, user, "login")
    expect_signed_in(browser, example, user, "login")
    assert browser.find_all("a#sso-admin") == []

    browser.open(example.url(ADMIN_PAGES))

    browser.wait_for("body")
    browser.shot("admin pages refused")
    assert browser.status() == 403
    assert simplesamlphp.entity_id not in browser.text("body")


def test_the_administrators_test_connection_signs_nobody_in(
    browser: Browser, simplesamlphp: SimpleSAMLphp, example: Example
) -> None:
    """Test connection: a real round trip to SimpleSAMLphp, shown as what a sign-in would do."""
    user = idp_user(simplesamlphp, example, "barbara", full_name="Barbara Liskov", role="finance")
    sign_in_with_password(browser, example, "admin")
    open_admin_pages(browser, example, "admin")

    browser.click("button#test-connection-start")
    sign_in_at_idp(browser, simplesamlphp, user, "test connection")

    action = browser.wait_for("p#test-action", url=example.url(ADMIN_PAGES + "test/result"))
    browser.shot("test connection result")
    assert browser.text("main h1") == "Test connection result"
    assert action.get_attribute("data-action") == "create"
    assert browser.text("code#test-name-id") == user.email
    assert user.email not in users_page(browser, example)  # a dry run: nobody was created
    browser.open(example.url("/"))
    assert browser.wait_for("span#email").text == ADMIN_EMAIL  # still the administrator


@pytest.fixture(params=EXAMPLES)
def unconnected_example(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Example]:
    """The app started without IDP_METADATA_URL: account ``acme`` has no SSO yet."""
    name: str = request.param
    database = tmp_path_factory.mktemp(f"{name}-unconnected") / "app.sqlite"
    with start_example(name, database) as example:
        yield example


def test_the_administrator_connects_the_idp_by_pasting_its_metadata(
    browser: Browser, simplesamlphp: SimpleSAMLphp, unconnected_example: Example
) -> None:
    """No settings page of the app's own: the admin pages connect SimpleSAMLphp, and its
    users then sign in."""
    example = unconnected_example
    sign_in_with_password(browser, example, "admin")
    open_admin_pages(browser, example, "before")
    assert "Single sign-on is off" in browser.text("main")

    browser.open(example.url(ADMIN_PAGES + "connect"))
    textarea = browser.wait_for("form textarea#metadata")
    browser.paste(textarea, simplesamlphp.metadata_xml.decode("utf-8"))
    browser.shot("metadata pasted")
    browser.click(f"form[action='{ADMIN_PAGES}connect'] button[type=submit]")
    confirm = browser.wait_for("button#confirm")
    browser.shot("preview")
    assert simplesamlphp.entity_id in [cell.text for cell in browser.find_all("main td code")]
    browser.click(confirm)
    browser.wait_for("main h1", text="IdP connected")
    browser.shot("connected")
    browser.open(example.url(ADMIN_PAGES))
    browser.wait_for("main h1", text="Single sign-on")
    assert "Single sign-on is on" in browser.text("main")

    # The IdP's administrator adds the app from the SP metadata it now serves.
    status, metadata = http_get(example.entity_id, timeout=10)
    assert status == 200, example.server.log()
    check_sp_metadata(example, metadata)
    simplesamlphp.register_sp(f"{example.name}-connected", metadata)
    user = idp_user(
        simplesamlphp, example, "rosalind", full_name="Rosalind Franklin", role="finance"
    )
    browser.new_session()
    sp_initiated_login(browser, simplesamlphp, example, user, "SSO login")

    expect_signed_in(browser, example, user, "SSO login")
    assert users_page(browser, example)[user.email] == [(user.full_name, user.role)]
