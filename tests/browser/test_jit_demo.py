"""The JIT demo's browser mode (``examples/jit_demo/serve.py``) in a real Chromium.

The account's local administrator signs in, downloads the built-in test IdP's metadata and
connects it on samljit's admin pages (paste or upload, preview, save); users then sign in from
the test IdP page, which posts a signed response to the app's ACS, the users page shows what
Just-In-Time provisioning did, and the admin status page lists the recent logins. Each test
signs in its own user, so that the tests do not depend on one another.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from selenium.webdriver.support.ui import Select

from ..e2e.ssp import free_port
from .conftest import AppServer, Browser, run_app

pytestmark = pytest.mark.browser

ACCOUNT = "acme"
ADMIN = f"/sso/admin/{ACCOUNT}/"


@pytest.fixture(scope="module")
def demo() -> Iterator[AppServer]:
    port = free_port()
    with run_app("jit_demo", ["examples/jit_demo/serve.py", "--port", str(port)], port=port) as app:
        yield app


def sign_in_as_admin(browser: Browser, demo: AppServer) -> None:
    """The home page's button: the browser's session becomes the local administrator's, and
    it lands on the admin pages' status page."""
    browser.open(demo.url("/"))
    browser.click(browser.wait_for("form#admin-sign-in button"))
    browser.wait_for("h1", url=demo.url(ADMIN), text="Single sign-on")


def paste_test_idp_metadata(browser: Browser, demo: AppServer) -> bytes:
    """What the administrator does: download the test IdP's metadata from its page, sign in,
    paste it on the admin pages' connect page, check the preview, save. Returns the metadata."""
    browser.open(demo.url("/test-idp"))
    browser.wait_for("h1", text="Test IdP")
    browser.shot("test IdP page")
    metadata = browser.download(browser.find("a[href='/test-idp/metadata.xml']"))
    assert b"IDPSSODescriptor" in metadata
    sign_in_as_admin(browser, demo)
    browser.open(demo.url(f"{ADMIN}connect"))
    browser.paste(browser.wait_for("textarea#metadata"), metadata.decode("utf-8"))
    browser.shot("connect page with the pasted metadata")
    browser.click("form.card button[type=submit]")
    browser.wait_for("h1", text="Check your IdP")
    browser.shot("preview of the IdP")
    browser.click("button#confirm")
    browser.wait_for("h1", text="IdP connected")
    browser.shot("IdP connected")
    return metadata


def sign_in_at_test_idp(
    browser: Browser, demo: AppServer, *, email: str, full_name: str, role: str, step: str
) -> None:
    """Fill the test IdP's form and press its button; the browser ends at the ACS's page."""
    browser.open(demo.url("/test-idp"))
    form = browser.wait_for("form#login")
    for name, value in (("email", email), ("full_name", full_name)):
        field = form.find_element("name", name)
        field.clear()
        field.send_keys(value)
    Select(form.find_element("name", "role")).select_by_value(role)
    browser.shot(f"test IdP form: {step}")
    browser.click(form.find_element("css selector", "button"))
    # The test IdP answers with a form that posts the SAMLResponse to the ACS by itself.
    browser.wait_for("h1", url=demo.url(f"/saml/{ACCOUNT}/acs"))
    browser.shot(step)


def users_table(browser: Browser, demo: AppServer) -> dict[str, tuple[str, ...]]:
    """The users page, as {email: (full name, role, last SSO login, its outcome)}."""
    browser.open(demo.url("/users"))
    browser.wait_for("table#users")
    browser.shot("users page")
    users = {}
    for row in browser.find_all("table#users tr"):
        cells = [cell.text for cell in row.find_elements("tag name", "td")]
        if cells:
            users[cells[0]] = tuple(cells[1:])
    return users


def test_the_administrator_connects_the_test_idp_on_the_admin_pages_and_garbage_is_refused(
    browser: Browser, demo: AppServer
) -> None:
    browser.open(demo.url("/test-idp"))
    browser.wait_for("h1", text="Test IdP")
    metadata = browser.download(browser.find("a[href='/test-idp/metadata.xml']"))
    sign_in_as_admin(browser, demo)
    browser.shot("admin status page")
    browser.open(demo.url("/"))
    assert browser.wait_for("#sso-admin").get_attribute("href") == demo.url(ADMIN)
    browser.open(demo.url(f"{ADMIN}setup/generic"))
    browser.wait_for("#field-0")
    browser.shot("setup guide")
    assert browser.find("#field-0").get_attribute("value") == demo.url(f"/saml/{ACCOUNT}")
    assert browser.find("#field-1").get_attribute("value") == demo.url(f"/saml/{ACCOUNT}/acs")

    browser.open(demo.url(f"{ADMIN}connect"))
    browser.paste(browser.wait_for("textarea#metadata"), "<not metadata")
    browser.click("form.card button[type=submit]")
    browser.wait_for("div.problem")
    browser.shot("garbage refused")
    assert browser.status() == 400
    assert browser.text("div.problem code") == "metadata_invalid"

    path = browser.downloads / "upload-me.xml"  # a real multipart upload of the file
    path.write_bytes(metadata)
    browser.find("input#metadata_file").send_keys(str(path))
    browser.click("form.card button[type=submit]")
    browser.wait_for("h1", text="Check your IdP")
    browser.shot("preview of the uploaded metadata")
    assert demo.url("/test-idp") in browser.text("main table")
    browser.click("button#confirm")
    browser.wait_for("h1", text="IdP connected")
    browser.open(demo.url(ADMIN))
    browser.wait_for("span.ok", text="on")
    browser.shot("SSO on")
    assert demo.url("/test-idp") in browser.text("main section table")


def test_the_admin_pages_refuse_anyone_but_the_administrator(
    browser: Browser, demo: AppServer
) -> None:
    browser.open(demo.url(ADMIN))
    browser.wait_for("h1", text="Not allowed")
    browser.shot("nobody signed in")
    assert browser.status() == 403
    paste_test_idp_metadata(browser, demo)
    sign_in_at_test_idp(
        browser,
        demo,
        email="ida@acme.test",
        full_name="Ida Rhodes",
        role="account_administrator",
        step="an SSO user with the administrator role",
    )
    assert browser.text("#outcome") in ("created", "unchanged")
    browser.open(demo.url(ADMIN))
    browser.wait_for("h1", text="Not allowed")
    browser.shot("SSO user refused")
    assert browser.status() == 403


def test_a_first_login_from_the_test_idp_creates_the_user(
    browser: Browser, demo: AppServer
) -> None:
    paste_test_idp_metadata(browser, demo)
    sign_in_at_test_idp(
        browser,
        demo,
        email="ada@acme.test",
        full_name="Ada Lovelace",
        role="developer",
        step="signed in",
    )

    assert browser.status() == 200
    assert browser.text("h1") == "Signed in"
    assert browser.text("#user-email") == "ada@acme.test"
    assert browser.text("#user-name") == "Ada Lovelace"
    assert browser.text("#user-role") == "developer"
    assert browser.text("#outcome") == "created"
    assert users_table(browser, demo)["ada@acme.test"][:2] == ("Ada Lovelace", "developer")

    browser.open(demo.url("/"))
    browser.wait_for("#signed-in")
    browser.shot("home page")
    assert browser.text("#signed-in").startswith("Signed in as ada@acme.test (Ada Lovelace,")


def test_a_login_with_another_role_and_name_updates_the_user(
    browser: Browser, demo: AppServer
) -> None:
    paste_test_idp_metadata(browser, demo)
    sign_in_at_test_idp(
        browser,
        demo,
        email="grace@acme.test",
        full_name="Grace Hopper",
        role="developer",
        step="first login",
    )
    assert browser.text("#outcome") == "created"
    assert users_table(browser, demo)["grace@acme.test"][:2] == ("Grace Hopper", "developer")

    sign_in_at_test_idp(
        browser,
        demo,
        email="grace@acme.test",
        full_name="Grace Brewster Hopper",
        role="account_administrator",
        step="login with the new role",
    )

    assert browser.text("#outcome") == "updated"
    assert browser.text("#user-role") == "account_administrator"
    assert browser.text("#user-name") == "Grace Brewster Hopper"
    changes = browser.text("#changes")
    assert "role: developer -> account_administrator" in changes
    assert "full_name: Grace Hopper -> Grace Brewster Hopper" in changes
    users = users_table(browser, demo)
    assert users["grace@acme.test"][:2] == ("Grace Brewster Hopper", "account_administrator")
    assert users["grace@acme.test"][3].startswith("updated (")


def test_an_unaccepted_role_shows_the_error_page_and_changes_nothing(
    browser: Browser, demo: AppServer
) -> None:
    paste_test_idp_metadata(browser, demo)
    sign_in_at_test_idp(
        browser,
        demo,
        email="mary@acme.test",
        full_name="Mary Somerville",
        role="finance",
        step="first login",
    )
    assert browser.text("#outcome") == "created"
    before = users_table(browser, demo)
    assert before["mary@acme.test"][:2] == ("Mary Somerville", "finance")

    sign_in_at_test_idp(
        browser,
        demo,
        email="mary@acme.test",
        full_name="Mary Fairfax",
        role="guest",
        step="login with an unaccepted role",
    )

    assert browser.status() == 403
    assert browser.text("h1") == "Sign-in failed"
    assert browser.text("#error-code") == "role_not_accepted"
    assert users_table(browser, demo) == before  # name, role, last login and its outcome
    sign_in_as_admin(browser, demo)
    browser.shot("recent sign-ins")
    recent = browser.find_all("#recent-sign-ins tr")[1].text
    assert "refused mary@acme.test role_not_accepted" in recent
    assert "The user has none of the roles the account accepts." in recent


def test_test_connection_shows_what_a_sign_in_would_change_and_changes_nothing(
    browser: Browser, demo: AppServer
) -> None:
    paste_test_idp_metadata(browser, demo)
    sign_in_at_test_idp(
        browser,
        demo,
        email="emmy@acme.test",
        full_name="Emmy Noether",
        role="developer",
        step="first login",
    )
    assert browser.text("#outcome") in ("created", "unchanged")
    before = users_table(browser, demo)

    sign_in_as_admin(browser, demo)
    browser.find("input#force-authn").click()
    browser.shot("status page with Test connection")
    browser.click("button#test-connection-start")
    form = browser.wait_for("form#login")  # the test IdP, answering the AuthnRequest
    assert browser.text("#authn-request").startswith("Answering the app's AuthnRequest _")
    for name, value in (("email", "emmy@acme.test"), ("full_name", "Emmy Noether")):
        field = form.find_element("name", name)
        field.clear()
        field.send_keys(value)
    Select(form.find_element("name", "role")).select_by_value("finance")
    browser.shot("test IdP answering the Test connection")
    browser.click(form.find_element("css selector", "button"))
    # The IdP's form posts to the ACS, whose form posts on to the result page.
    browser.wait_for("h1", url=demo.url(f"{ADMIN}test/result"), text="Test connection result")
    browser.shot("Test connection result")

    assert browser.status() == 200
    action = browser.find("#test-action")
    assert action.get_attribute("data-action") == "update"
    assert action.text == "A real sign-in would update this user."
    assert browser.text("code#test-name-id") == "emmy@acme.test"
    assert browser.text("#test-changes tr[data-field=role]").split() == [
        "role",
        "developer",
        "finance",
    ]
    assert browser.text("#test-identity tr[data-field=email] td") == "emmy@acme.test"
    assert users_table(browser, demo) == before  # nothing written


def _scim_status(demo: AppServer, token: str) -> int:
    request = Request(  # noqa: S310 - the demo on 127.0.0.1
        demo.url(f"/scim/v2/{ACCOUNT}/Users"), headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urlopen(request, timeout=10) as response:  # noqa: S310 - the demo on 127.0.0.1
            assert json.loads(response.read())["schemas"]
            return int(response.status)
    except HTTPError as error:
        with error:
            return error.code


def test_the_administrator_generates_a_scim_token_shown_once_and_revokes_it(
    browser: Browser, demo: AppServer
) -> None:
    sign_in_as_admin(browser, demo)
    base_url = browser.wait_for("input#scim-base-url").get_attribute("value")
    assert base_url == demo.url(f"/scim/v2/{ACCOUNT}")
    browser.find("input#scim-label").send_keys("Test IdP provisioning")
    browser.shot("status page with the SCIM section")
    browser.click("button#scim-issue")
    browser.wait_for("h1", text="SCIM token generated")
    browser.shot("SCIM token shown once")
    secret = browser.find("input#scim-secret").get_attribute("value") or ""
    assert secret.startswith("samljit_scim_")
    assert _scim_status(demo, secret) == 200

    browser.open(demo.url(ADMIN))
    row = browser.wait_for("#scim-tokens tr", text="Test IdP provisioning")
    assert "active" in row.text
    assert secret not in browser.driver.page_source
    browser.click(row.find_element("css selector", "button.danger"))
    browser.wait_for("h1", text="SCIM token revoked")
    browser.shot("SCIM token revoked")
    assert _scim_status(demo, secret) == 401
