"""Issue 14's acceptance test: an administrator sets up SSO from scratch using only the pages.

The Flask example app starts with no IdP (no ``IDP_METADATA_URL``): account ``acme`` has
single sign-on off and one local administrator, ``admin@acme.test``, who signs in with a
password at ``/login``. SimpleSAMLphp is the IdP the administrator connects. In a real
Chromium, the administrator

1. signs in and finds the SSO administration (status: off);
2. reads the SP entity ID, ACS URL, SLO URL and NameID format off the setup guide, which the
   test types into SimpleSAMLphp (``register_sp_values``) as the IdP's administrator would;
3. connects the IdP by pasting its metadata XML, then again by its metadata URL, checking
   the preview (entity ID, certificate) before saving each time;
4. runs Test connection as a developer: the claims and "would create", and no user created;
5. runs Test connection as a user whose IdP role is "Finance Team": refused with
   ``role_not_accepted``; adds a group-to-role rule on the claim mapping page, previews it,
   saves it, and tests again: "would create" with role ``finance``;

then that user signs in for real from the app's SSO page (6) and, once the administrator has
disabled SSO (7), can no longer.

Every step leaves a screenshot, ``artifacts/screenshots/admin-story/<NN>-<step>.png``.
"""

from __future__ import annotations

import dataclasses
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from samljit.metadata import certificate_sha256

from ..e2e.ssp import SimpleSAMLphp, free_port
from .conftest import ROOT, Browser, run_app
from .test_examples import (
    STARTUP_TIMEOUT,
    Example,
    User,
    expect_refused,
    expect_signed_in,
    idp_user,
    sign_in_at_idp,
    start_sp_initiated_login,
    users_page,
)

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "artifacts" / "screenshots" / "admin-story"
ADMIN = "admin@acme.test"
ADMIN_ROOT = "/sso/admin/acme/"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


@pytest.fixture(scope="module")
def app(
    simplesamlphp: SimpleSAMLphp, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Example, str]]:
    """The Flask example with no IdP, and its administrator's password. At the end the IdP
    forgets the app (in case a later app gets the same port)."""
    password = secrets.token_urlsafe(12)
    port = free_port()
    env = {
        "PORT": str(port),
        "DATABASE": str(tmp_path_factory.mktemp("admin-story") / "app.sqlite"),
        "ADMIN_PASSWORD": password,
        "ALLOW_LOCAL_METADATA_URLS": "1",  # SimpleSAMLphp's metadata URL is http://127.0.0.1
    }
    script = str(Path("examples") / "flask_app" / "app.py")
    with run_app("admin-story", [script], port=port, env=env, timeout=STARTUP_TIMEOUT) as server:
        example = Example(name="admin-story", server=server)
        try:
            yield example, password
        finally:
            simplesamlphp.unregister_sp_values(example.entity_id)


def test_an_administrator_sets_up_sso_from_scratch_with_the_pages_alone(
    browser: Browser, simplesamlphp: SimpleSAMLphp, app: tuple[Example, str]
) -> None:
    example, password = app
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    browser.artifacts = SCREENSHOTS  # so is the failure screenshot, if any
    browser.full_page = True
    developer = idp_user(simplesamlphp, example, "joan", full_name="Joan Clarke", role="developer")
    finance = idp_user(
        simplesamlphp, example, "dorothy", full_name="Dorothy Vaughan", role="Finance Team"
    )

    # 1-2. Sign in, see SSO off, read the values to give the IdP off the setup guide.
    admin_signs_in(browser, example, password)
    browser.click("a#sso-admin")
    browser.wait_for("main", url=example.url(ADMIN_ROOT), text="Single sign-on is off")
    browser.shot("status: SSO off")
    values = read_the_setup_guide(browser, example)
    simplesamlphp.register_sp_values(
        values["SP entity ID (Audience)"],
        acs_url=values["Assertion Consumer Service URL (HTTP-POST)"],
        slo_url=values["Single Logout URL"],
        name_id_format=values["NameID format"],
    )

    # 3. Connect the IdP: its metadata pasted, then its metadata URL.
    connect_the_idp(browser, simplesamlphp, paste=simplesamlphp.metadata_xml.decode())
    status = open_status(browser, example, "status: SSO on, pasted metadata")
    assert "Pasted or uploaded by an administrator" in status
    connect_the_idp(browser, simplesamlphp, url=simplesamlphp.metadata_url)
    status = open_status(browser, example, "status: SSO on, metadata URL")
    assert f"Fetched from {simplesamlphp.metadata_url}" in status

    # 4. Test connection as the developer: what a sign-in would do, and nothing written.
    start_test_connection(browser, force_authn=False)
    sign_in_at_idp(browser, simplesamlphp, developer, "test connection as developer")
    action = read_test_result(browser, "test connection as developer: would create")
    assert action == "create"
    assert browser.text("code#test-name-id") == developer.email
    assert attribute(browser, "role") == ["developer"]
    assert attribute(browser, "imagekit_id") == ["acme"]
    assert attribute(browser, "full_name") == [developer.full_name]
    assert identity(browser, "role") == "developer"
    assert identity(browser, "email") == developer.email
    assert developer.email not in users_page(browser, example)

    # 5. Test connection as "Finance Team": refused; fix the mapping; test again.
    open_status(browser, example, "status: before testing the Finance Team user")
    start_test_connection(browser, force_authn=True)  # the IdP asks who, despite its session
    sign_in_at_idp(browser, simplesamlphp, finance, "test connection as Finance Team")
    action = read_test_result(browser, "test connection as Finance Team: refused")
    assert action == "refuse"
    assert browser.text("code#test-code") == "role_not_accepted"
    assert "Finance Team" in browser.text("#test-reason")
    assert attribute(browser, "role") == ["Finance Team"]

    browser.click(browser.find(f"main a[href='{ADMIN_ROOT}mapping']"))  # "Fix the mapping"
    map_finance_team_to_finance(browser, example, finance)

    open_status(browser, example, "status: after the mapping change")
    start_test_connection(browser, force_authn=False)  # the IdP session is Dorothy's
    action = read_test_result(browser, "test connection as Finance Team: would create")
    assert action == "create"
    assert identity(browser, "role") == "finance"
    assert identity(browser, "role", table="test-changes") == "finance"
    assert finance.email not in users_page(browser, example)

    # 6. The user signs in for real, from the app's SSO page.
    browser.new_session()
    start_sp_initiated_login(browser, example, finance, "Finance Team user signs in")
    sign_in_at_idp(browser, simplesamlphp, finance, "Finance Team user signs in")
    expect_signed_in(
        browser, example, dataclasses.replace(finance, role="finance"), "Finance Team user signs in"
    )
    assert users_page(browser, example)[finance.email] == [(finance.full_name, "finance")]

    # 7. The administrator disables SSO; the next SSO sign-in is refused.
    browser.new_session()
    admin_signs_in(browser, example, password)
    browser.click("a#sso-admin")
    browser.wait_for("header nav", url=example.url(ADMIN_ROOT))
    browser.click(browser.find(f"header a[href='{ADMIN_ROOT}disable']"))
    browser.wait_for("button#disable", url=example.url(ADMIN_ROOT + "disable"))
    browser.find("input[name=confirm]").click()
    browser.shot("disable SSO: confirm")
    browser.click("button#disable")
    browser.wait_for("h1", text="Single sign-on disabled")
    browser.shot("SSO disabled")
    status = open_status(browser, example, "status: SSO off again")
    assert "Single sign-on is off" in status
    assert f"succeeded {finance.email}" in status  # the recent sign-ins: only the real one
    assert developer.email not in status

    browser.new_session()
    start_sp_initiated_login(browser, example, finance, "sign-in after SSO was disabled")
    expect_refused(browser, "sign-in after SSO was disabled")
    assert users_page(browser, example)[finance.email] == [(finance.full_name, "finance")]
    print(f"admin story screenshots: {SCREENSHOTS}")


# --- the steps ---------------------------------------------------------------------------


def admin_signs_in(browser: Browser, example: Example, password: str) -> None:
    """The app's own password sign-in, as the local account administrator."""
    browser.open(example.url("/login"))
    browser.wait_for("input#username")
    browser.find("input#username").send_keys(ADMIN)
    browser.find("input#password").send_keys(password)
    browser.shot("admin sign-in")
    browser.click("button#login")
    browser.wait_for("span#email", url=example.url("/"))
    browser.shot("admin signed in")
    assert browser.text("span#email") == ADMIN
    assert browser.text("span#role") == "account_administrator"
    assert browser.find("a#sso-admin").get_attribute("href") == example.url(ADMIN_ROOT)


def read_the_setup_guide(browser: Browser, example: Example) -> dict[str, str]:
    """Open the generic guide from the status page; the values of its read-only fields, by
    label: what the administrator copies into the IdP's console."""
    browser.click(browser.driver.find_element(By.LINK_TEXT, "setup guide"))
    browser.wait_for("h1", text="Set up single sign-on")
    browser.shot("setup guide: which IdP")
    browser.click(browser.find("a[href$='/setup/generic']"))
    browser.wait_for("h1", text="Set up Other SAML 2.0 IdP")
    browser.shot("setup guide: generic SAML 2.0 IdP")
    values: dict[str, str] = {}
    for label in browser.find_all("label[for^='field-']"):
        field = browser.find(f"input#{label.get_attribute('for')}")
        assert field.get_attribute("readonly") is not None, label.text
        values[label.text] = field.get_attribute("value") or ""
    sso = example.url("/sso/acme")
    assert values["SP entity ID (Audience)"] == f"{sso}/metadata"
    assert values["Assertion Consumer Service URL (HTTP-POST)"] == f"{sso}/acs"
    assert values["Single Logout URL"] == f"{sso}/slo"
    assert values["NameID format"] == EMAIL_FORMAT
    # The attributes to release: SimpleSAMLphp sends email, role and imagekit_id (= acme).
    attributes = {
        field.get_attribute("value")
        for field in browser.find_all("input[id^='attr-']")
        if field.get_attribute("readonly") is not None
    }
    assert {"email", "role", "imagekit_id"} <= attributes
    return values


def connect_the_idp(
    browser: Browser, simplesamlphp: SimpleSAMLphp, *, paste: str = "", url: str = ""
) -> None:
    """The connect page: paste the metadata or give its URL, check the preview, save."""
    browser.click(browser.find(f"header a[href$='{ADMIN_ROOT}connect']"))
    browser.wait_for("textarea#metadata")
    if paste:
        browser.paste(browser.find("textarea#metadata"), paste)
        how = "pasted metadata"
    else:
        browser.find("input#metadata_url").send_keys(url)
        how = "metadata URL"
    browser.shot(f"connect: {how}")
    browser.click("form.card button[type=submit]")
    preview = browser.wait_for("main", text="Nothing is saved yet")
    browser.shot(f"connect: preview of the {how}")
    assert browser.status() == 200
    assert simplesamlphp.entity_id in preview.text
    assert certificate_sha256(simplesamlphp.idp_key.certificate) in preview.text
    assert simplesamlphp.sso_url in preview.text
    browser.click("button#confirm")
    browser.wait_for("h1", text="IdP connected")
    browser.shot(f"connect: {how} saved")


def open_status(browser: Browser, example: Example, step: str) -> str:
    """The status page's text."""
    browser.open(example.url(ADMIN_ROOT))
    main = browser.wait_for("main", text="Single sign-on is")
    browser.shot(step)
    return str(main.text)


def start_test_connection(browser: Browser, *, force_authn: bool) -> None:
    """Test connection on the status page: the browser goes to the IdP."""
    form = browser.find("form#test-connection")
    box = form.find_element(By.CSS_SELECTOR, "input#force-authn")
    if box.is_selected() != force_authn:
        box.click()
    browser.click("button#test-connection-start")


def read_test_result(browser: Browser, step: str) -> str:
    """Wait for the Test connection result page; what a real sign-in would do."""
    action = browser.wait_for("p#test-action")
    browser.shot(step)
    assert browser.text("h1") == "Test connection result"
    return action.get_attribute("data-action") or ""


def attribute(browser: Browser, name: str) -> list[str]:
    """The values of one attribute of the result page's table of claims."""
    row = browser.find(f"table#test-attributes tr[data-name='{name}']")
    return [cell.text for cell in row.find_elements(By.CSS_SELECTOR, "td")]


def identity(browser: Browser, field: str, *, table: str = "test-identity") -> str:
    """One field of the identity the claims map to, on the result page (or, with
    ``table="test-changes"``, its value after the sign-in)."""
    row = browser.find(f"table#{table} tr[data-field='{field}']")
    return str(row.find_elements(By.CSS_SELECTOR, "td")[-1].text)


def map_finance_team_to_finance(browser: Browser, example: Example, finance: User) -> None:
    """The claim mapping page: a group-to-role rule read from the role attribute, previewed
    on the Finance Team user's claims, then saved."""
    browser.wait_for("textarea#group_roles", url=example.url(ADMIN_ROOT + "mapping"))
    browser.find("input#group_attribute").clear()
    browser.find("input#group_attribute").send_keys("role")
    browser.find("textarea#group_roles").send_keys("Finance Team = finance")
    browser.find("input#sample_name_id").send_keys(finance.email)
    browser.find("textarea#sample_attributes").send_keys(
        f"email = {finance.email}\nfull_name = {finance.full_name}\n"
        "role = Finance Team\nimagekit_id = acme"
    )
    browser.shot("claim mapping: Finance Team = finance")
    browser.click("button[name=action][value=preview]")
    result = browser.wait_for("table#result")
    browser.shot("claim mapping: preview")
    rows = {
        row.find_element(By.CSS_SELECTOR, "th").text: row.find_element(By.CSS_SELECTOR, "td").text
        for row in result.find_elements(By.CSS_SELECTOR, "tr")
    }
    assert rows["role"] == "finance"
    assert rows["email"] == finance.email
    browser.click("button[name=action][value=save]")
    browser.wait_for("h1", text="Mapping saved")
    browser.shot("claim mapping: saved")
