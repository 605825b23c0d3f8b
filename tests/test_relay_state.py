"""RelayState is untrusted (SAML bindings 3.4.3, 3.5.3): it only ever becomes a redirect to a
path on this site or to an allow-listed origin.

An open-redirect corpus runs through :func:`samljit.bindings.safe_redirect`; then the login
service is
shown to use it: an IdP-initiated login never redirects to a hostile RelayState, and an
SP-initiated login redirects to the target saved with the request, whatever comes back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from samljit._relay_state import DEFAULT_MAX_RELAY_STATE
from samljit.bindings import safe_redirect
from samljit.stores.memory import MemoryAccountStore, MemoryRequestStore
from samljit.stores.sqlite import SQLiteRequestStore
from samljit.testing import TestIdP

from .conftest import ACS_URL, SP_ENTITY_ID
from .sp_flows import App, account, params

ALLOWED = ("https://docs.example.com", "HTTPS://Help.Example.COM:8443/")

SAFE_PATHS = [
    "/",
    "/dashboard",
    "/dashboard?tab=usage&range=7d",
    "/dashboard#billing",
    "/a/b/../c",
    "/media/library/folder-1/image.png",
    "/search?next=//not-a-host",
]

OPEN_REDIRECTS = [
    # protocol-relative and backslash spellings of another host
    "//evil.example",
    "//evil.example/path",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    # schemes that run code or carry content
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    "javascript://%0Aalert(1)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://evil.example/",
    # percent-encoded spellings
    "%2F%2Fevil.example",
    "/%2Fevil.example",
    "/%2F%2Fevil.example",
    "%5C%5Cevil.example",
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "%2f%2fevil.example",
    "javascript%3Aalert(1)",
    # double-encoded spellings
    "/%252F%252Fevil.example",
    "/%255Cevil.example",
    "%252F%252Fevil.example",
    # whitespace and control characters inside
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\x00/evil.example",
    "/\x0b/evil.example",
    "/\x7f/evil.example",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "/%09/evil.example",
    "/%0d%0aSet-Cookie:%20x=1",
    "/%00/evil.example",
    " //evil.example",
    "\t//evil.example",
    # absolute URLs that are not an allow-listed origin
    "https://evil.example",
    "https://evil.example/docs.example.com",
    "https://docs.example.com@evil.example",
    "https://docs.example.com:443@evil.example",
    "https://user:pass@docs.example.com/",
    "https://docs.example.com.evil.example/",
    "https://evil.example#https://docs.example.com",
    "https://evil.example?https://docs.example.com",
    "http://docs.example.com/",
    "https://docs.example.com:8443/",
    "https://docs.example.com:notaport/",
    "https://docs.example.com:99999/",
    "https://help.example.com/",
    "http://help.example.com:8443/",
    "https:evil.example",
    "https:/evil.example",
    "https:\\\\evil.example",
    # not a rooted path
    "dashboard",
    "evil.example",
    "?next=/",
]


@pytest.mark.parametrize("target", SAFE_PATHS)
def test_a_path_on_this_site_is_kept(target: str) -> None:
    assert safe_redirect(target) == target


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_an_open_redirect_becomes_the_default(target: str) -> None:
    assert safe_redirect(target, allowed_origins=ALLOWED) == "/"


@pytest.mark.parametrize("target", ["//evil.example", "javascript:alert(1)", "/%5Cevil"])
def test_an_open_redirect_becomes_the_caller_default(target: str) -> None:
    assert safe_redirect(target, allowed_origins=ALLOWED, default="/home") == "/home"


@pytest.mark.parametrize("target", [None, ""])
def test_no_relay_state_gives_the_default(target: str | None) -> None:
    assert safe_redirect(target) == "/"
    assert safe_redirect(target, default="/start") == "/start"


@pytest.mark.parametrize(
    "target",
    [
        "https://docs.example.com",
        "https://docs.example.com/",
        "https://docs.example.com/guides/sso?x=1#y",
        "https://DOCS.Example.com/guides",
        "HTTPS://docs.example.com/guides",
        "https://docs.example.com:443/guides",
        "https://help.example.com:8443/",
        "https://HELP.example.com:8443/a",
    ],
)
def test_an_allow_listed_origin_is_kept_case_insensitive_and_with_default_ports(
    target: str,
) -> None:
    assert safe_redirect(target, allowed_origins=ALLOWED) == target


def test_an_absolute_url_is_refused_when_no_origin_is_allowed() -> None:
    assert safe_redirect("https://docs.example.com/") == "/"


def test_an_http_origin_can_be_allowed_with_its_default_port() -> None:
    allowed = ["http://intranet.example"]
    assert safe_redirect("http://intranet.example:80/x", allowed_origins=allowed) == (
        "http://intranet.example:80/x"
    )
    assert safe_redirect("https://intranet.example/x", allowed_origins=allowed) == "/"


def test_relay_state_over_the_default_limit_is_refused() -> None:
    at_limit = "/" + "a" * (DEFAULT_MAX_RELAY_STATE - 1)
    assert safe_redirect(at_limit) == at_limit
    assert safe_redirect(at_limit + "a") == "/"


def test_the_length_limit_is_configurable() -> None:
    """Bindings 3.4.3 says 80 bytes; apps may keep to that, or allow longer default URLs."""
    path = "/" + "a" * 100
    assert safe_redirect(path, max_length=80) == "/"
    assert safe_redirect(path, max_length=101) == path
    long_url = "https://docs.example.com/" + "b" * 1000
    assert safe_redirect(long_url, allowed_origins=ALLOWED) == "/"
    assert safe_redirect(long_url, allowed_origins=ALLOWED, max_length=2048) == long_url


def test_the_default_limit_is_at_least_what_bindings_allow() -> None:
    assert DEFAULT_MAX_RELAY_STATE >= 80


# --- the login service uses it ---------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def app(request: pytest.FixtureRequest, tmp_path: Path, test_idp: TestIdP) -> Iterator[App]:
    store = (
        MemoryRequestStore()
        if request.param == "memory"
        else SQLiteRequestStore(tmp_path / "requests.sqlite3")
    )
    made = App(
        request_store=store,
        accounts=MemoryAccountStore([account("acme", test_idp.metadata_xml)]),
        options={"allowed_redirect_origins": ["https://docs.example.com"]},
    )
    yield made
    if isinstance(store, SQLiteRequestStore):
        store.close()


def _complete(app: App, test_idp: TestIdP, *, relay_state: str | None, **knobs: object) -> str:
    issued = test_idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=app.clock.now,
        name_id="ada@acme.test",
        attributes={"full_name": ["Ada Lovelace"], "role": ["developer"]},
        **knobs,
    )
    form = {"SAMLResponse": issued.form_value}
    if relay_state is not None:
        form["RelayState"] = relay_state
    result = app.service.complete_login(form, account_id="acme")
    assert result.relay_state == relay_state, "the posted RelayState is reported as posted"
    return result.redirect_to


@pytest.mark.parametrize(
    "relay_state",
    ["//evil.example", "https://evil.example/", "javascript:alert(1)", "/%2F%2Fevil.example"],
)
def test_an_idp_initiated_login_with_a_hostile_relay_state_redirects_home(
    app: App, test_idp: TestIdP, relay_state: str
) -> None:
    assert _complete(app, test_idp, relay_state=relay_state) == "/"


@pytest.mark.parametrize(
    "relay_state", ["/reports?range=7d", "https://docs.example.com/guides/sso"]
)
def test_an_idp_initiated_login_redirects_to_a_safe_relay_state(
    app: App, test_idp: TestIdP, relay_state: str
) -> None:
    assert _complete(app, test_idp, relay_state=relay_state) == relay_state


def test_an_idp_initiated_login_without_relay_state_redirects_home(
    app: App, test_idp: TestIdP
) -> None:
    assert _complete(app, test_idp, relay_state=None) == "/"


@pytest.mark.parametrize("posted", [None, "/admin", "https://evil.example/", "//evil.example"])
def test_an_sp_initiated_login_redirects_to_the_target_saved_at_begin_login(
    app: App, test_idp: TestIdP, posted: str | None
) -> None:
    request = app.service.begin_login("acme", relay_state="/reports?range=7d")
    redirect_to = _complete(app, test_idp, relay_state=posted, in_response_to=request.message_id)
    assert redirect_to == "/reports?range=7d"


def test_the_saved_target_is_checked_when_the_login_begins(app: App, test_idp: TestIdP) -> None:
    request = app.service.begin_login("acme", relay_state="https://evil.example/")
    saved = app.request_store.get(request.message_id)
    assert saved is not None
    assert saved.relay_state == "/"
    assert _complete(app, test_idp, relay_state=None, in_response_to=request.message_id) == "/"


def test_an_over_long_target_is_not_saved(app: App) -> None:
    request = app.service.begin_login("acme", relay_state="/" + "a" * 5000)
    saved = app.request_store.get(request.message_id)
    assert saved is not None
    assert saved.relay_state == "/"


def test_the_saved_target_stays_server_side_and_is_not_sent_to_the_idp(app: App) -> None:
    request = app.service.begin_login("acme", relay_state="/reports")
    assert request.url is not None
    assert "RelayState" not in params(request.url)
    post = app.service.begin_login("acme", relay_state="/reports", binding="post")
    assert "RelayState" not in post.form_fields


@pytest.mark.parametrize(
    "target",
    [
        "/a b",
        "/dashboard ",
        "/dashboard\x7f",
        "/dashboard%7F",
        "/dashboard%257F",
        "https://user@docs.example.com/",
        "https://user:pw@docs.example.com/",
        "http://[docs.example.com/",
        "https://[::1/",
    ],
)
def test_spaces_control_characters_userinfo_and_unparsable_urls_become_the_default(
    target: str,
) -> None:
    assert safe_redirect(target, allowed_origins=ALLOWED) == "/"
