"""The JIT demo (examples/jit_demo): the story runs to exit 0, and the app escapes what it
echoes and refuses SP metadata."""

from __future__ import annotations

import importlib.util
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPRedirectHandler, Request, build_opener, urlopen

import pytest

from samljit.integrations.sessions import MemorySessionStore

DEMO = Path(__file__).resolve().parents[1] / "examples" / "jit_demo"
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
SP_METADATA = f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    entityID="https://sp.example.test"><!-- </textarea>{HOSTILE} -->
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="https://sp.example.test/acs" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>"""


def test_story_runs_to_exit_0() -> None:
    done = subprocess.run(
        [sys.executable, str(DEMO / "story.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for expected in (
        "CREATED ada@acme.test",
        "UPDATED ada@acme.test: full_name: Ada Lovelace -> Ada King; role: developer -> finance",
        "REJECTED role_not_accepted",
        "REJECTED account_mismatch",
        "REJECTED replayed",
        "REJECTED sso_disabled",
        "Ada logs out: the server ends her session",
        "OK:",
    ):
        assert expected in done.stdout


def _load_app_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("jit_demo_app", DEMO / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with _load_app_module().running(tmp_path_factory.mktemp("jit") / "demo.sqlite") as app:
        yield app


def _request(url: str, form: dict[str, str] | None = None) -> tuple[int, str]:
    data = None if form is None else urlencode(form).encode("ascii")
    try:
        with urlopen(url, data=data, timeout=10) as response:  # noqa: S310 - http://127.0.0.1
            return response.status, response.read().decode("utf-8")
    except HTTPError as error:
        with error:
            return error.code, error.read().decode("utf-8")


def _enable_sso(app: Any, account: str) -> None:
    metadata = app.test_idp.metadata_xml.decode("utf-8")
    status, body = _request(
        f"{app.base_url}/admin/{account}/sso", {"action": "save", "metadata": metadata}
    )
    assert status == 200
    assert "SSO is <b>enabled</b>" in body


def _login_form(app: Any, account: str, relay_state: str, **attributes: str) -> dict[str, str]:
    sp = app.sp_config(account)
    issued = app.test_idp.issue_response(
        sp_entity_id=sp.entity_id,
        acs_url=sp.acs_url,
        now=datetime.now(UTC),
        name_id="mallory@initech.test",
        attributes={"role": ["developer"], "imagekit_id": [account]}
        | {name: [value] for name, value in attributes.items()},
    )
    return {"SAMLResponse": issued.form_value, "RelayState": relay_state}


@pytest.mark.parametrize(
    ("relay_state", "is_link"),
    [
        (HOSTILE, False),
        ("javascript:alert(1)", False),
        ("//evil.example/phish", False),
        ("/\\evil.example/phish", False),
        ("/ evil", False),
        ("/dashboard?q=<b>&x=1", True),
    ],
)
def test_acs_page_escapes_relay_state_and_claims(app: Any, relay_state: str, is_link: bool) -> None:
    _enable_sso(app, "initech")
    form = _login_form(app, "initech", relay_state, full_name=HOSTILE)
    status, body = _request(f"{app.base_url}/saml/initech/acs", form)
    assert status == 200
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    assert escape(HOSTILE) in body  # the full name, shown as text
    assert escape(relay_state) in body
    assert ('<a id="relay-state"' in body) is is_link
    status, users = _request(f"{app.base_url}/users?account=initech")
    assert status == 200
    assert "<script>alert" not in users
    assert escape(HOSTILE) in users


def test_acs_error_page_shows_only_the_code(app: Any) -> None:
    form = {"SAMLResponse": "bm90IFhNTA==", "RelayState": HOSTILE}
    status, body = _request(f"{app.base_url}/saml/acme/acs", form)
    assert status == 403
    assert '<code id="error-code">sso_disabled</code>' in body
    assert "alert" not in body
    assert "not configured" not in body  # the message is for the log, not the browser


def test_test_idp_escapes_what_it_posts(app: Any) -> None:
    fields = {
        "email": HOSTILE,
        "full_name": HOSTILE,
        "role": "developer",
        "imagekit_id": HOSTILE,
        "relay_state": HOSTILE,
    }
    status, body = _request(f"{app.base_url}/test-idp", fields)
    assert status == 200
    assert "<script>alert" not in body
    assert f'name="RelayState" value="{escape(HOSTILE)}"' in body


def test_settings_refuse_sp_metadata(app: Any) -> None:
    url = f"{app.base_url}/admin/globex/sso"
    status, body = _request(url, {"action": "save", "metadata": SP_METADATA})
    assert status == 400
    assert '<li class="error" id="metadata-error"><code>metadata_is_sp</code>' in body
    assert "</textarea><script>" not in body
    assert escape(SP_METADATA) in body  # kept in the textarea for the admin to fix
    status, body = _request(url)
    assert status == 200
    assert "SSO is <b>disabled</b>" in body


def test_settings_delete_disables_sso(app: Any) -> None:
    _enable_sso(app, "hooli")
    url = f"{app.base_url}/admin/hooli/sso"
    status, body = _request(url, {"action": "delete"})
    assert status == 200
    assert "SSO is <b>disabled</b>" in body
    status, body = _request(f"{app.base_url}/saml/hooli/acs", _login_form(app, "hooli", ""))
    assert status == 403
    assert '<code id="error-code">sso_disabled</code>' in body


def test_unknown_pages_and_accounts(app: Any) -> None:
    assert _request(f"{app.base_url}/nope")[0] == 404
    assert _request(f"{app.base_url}/admin/%3Cscript%3E/sso")[0] == 404
    assert _request(f"{app.base_url}/users?account=<script>")[0] == 404
    assert _request(f"{app.base_url}/saml/acme/acs")[0] == 405


# --- sessions: server-side, ended by logout, expiring -----------------------------------------


class _NoRedirects(HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 303 itself is the answer (HTTPError)


_BROWSER = build_opener(_NoRedirects)


def _exchange(
    url: str, form: dict[str, str] | None = None, *, cookie: str | None = None
) -> tuple[int, str, str | None]:
    """One request with the session cookie given, if any, redirects not followed: status,
    body, Set-Cookie."""
    data = None if form is None else urlencode(form).encode("ascii")
    headers = {"Cookie": cookie} if cookie else {}
    request = Request(url, data=data, headers=headers)  # noqa: S310 - http://127.0.0.1
    try:
        with _BROWSER.open(request, timeout=10) as response:
            return response.status, response.read().decode(), response.headers["Set-Cookie"]
    except HTTPError as error:
        with error:
            return error.code, error.read().decode(), error.headers["Set-Cookie"]


def _sign_in(app: Any) -> str:
    """Mallory's IdP-initiated login to initech; the session cookie (``name=value``)."""
    _enable_sso(app, "initech")
    status, _, set_cookie = _exchange(
        f"{app.base_url}/saml/initech/acs", _login_form(app, "initech", "/")
    )
    assert status == 200
    assert set_cookie is not None
    return set_cookie.split(";")[0]


def _logout_token(home: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', home)
    assert found is not None
    return found.group(1)


def test_the_session_cookie_holds_only_a_random_id(app: Any) -> None:
    cookie = _sign_in(app)
    name, _, value = cookie.partition("=")
    assert name == "pixelcdn_session"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value)
    status, home, _ = _exchange(f"{app.base_url}/", cookie=cookie)
    assert status == 200
    assert "Signed in as mallory@initech.test" in home


def test_logout_ends_the_session_and_a_copy_of_the_cookie_with_it(app: Any) -> None:
    cookie = _sign_in(app)
    _, home, _ = _exchange(f"{app.base_url}/", cookie=cookie)
    form = {"csrf": _logout_token(home)}
    status, _, set_cookie = _exchange(f"{app.base_url}/logout", form, cookie=cookie)
    assert status == 303
    assert set_cookie is not None
    assert "Max-Age=0" in set_cookie
    _, home, _ = _exchange(f"{app.base_url}/", cookie=cookie)
    assert "Not signed in" in home


@pytest.mark.parametrize("form", [{}, {"csrf": "forged"}], ids=["no token", "forged"])
def test_a_cross_site_logout_post_is_refused_and_ends_nothing(
    app: Any, form: dict[str, str]
) -> None:
    cookie = _sign_in(app)
    status, _, set_cookie = _exchange(f"{app.base_url}/logout", form, cookie=cookie)
    assert (status, set_cookie) == (403, None)
    _, home, _ = _exchange(f"{app.base_url}/", cookie=cookie)
    assert "Signed in as mallory@initech.test" in home


def test_sessions_expire_on_the_server(tmp_path: Path) -> None:
    now = [datetime.now(UTC)]
    store = MemorySessionStore(idle_timeout=timedelta(minutes=30), clock=lambda: now[0])
    with _load_app_module().running(tmp_path / "demo.sqlite", sessions=store) as app:
        cookie = _sign_in(app)
        now[0] += timedelta(minutes=29)
        assert "Signed in as" in _exchange(f"{app.base_url}/", cookie=cookie)[1]
        now[0] += timedelta(minutes=30)
        assert "Not signed in" in _exchange(f"{app.base_url}/", cookie=cookie)[1]


def test_the_default_sessions_expire_after_30_idle_minutes(app: Any) -> None:
    store = app.sessions.store
    assert (store.idle_timeout, store.lifetime) == (timedelta(minutes=30), timedelta(hours=8))


# --- a slow client holds up no one -----------------------------------------------------------

HALF_REQUESTS = {
    "half the headers": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    "half the body": (
        b"POST /test-idp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail="
    ),
}


@pytest.mark.parametrize("half", HALF_REQUESTS.values(), ids=HALF_REQUESTS.keys())
def test_a_client_holding_half_a_request_does_not_block_another(app: Any, half: bytes) -> None:
    with socket.create_connection(("127.0.0.1", _port(app)), timeout=5) as slow:
        slow.sendall(half)
        time.sleep(0.05)  # the server has accepted it and is waiting for the rest
        started = time.monotonic()
        with urlopen(f"{app.base_url}/", timeout=3) as response:  # noqa: S310 - 127.0.0.1
            assert response.status == 200
        assert time.monotonic() - started < 3


@pytest.mark.parametrize("half", HALF_REQUESTS.values(), ids=HALF_REQUESTS.keys())
def test_the_server_hangs_up_on_a_client_that_stops_sending(tmp_path: Path, half: bytes) -> None:
    with _load_app_module().running(tmp_path / "demo.sqlite", read_timeout=0.3) as app:
        with socket.create_connection(("127.0.0.1", _port(app)), timeout=5) as slow:
            slow.sendall(half)
            started = time.monotonic()
            answer = b""
            while chunk := slow.recv(4096):  # until the server closes the connection
                answer += chunk
            waited = time.monotonic() - started
        assert 0.2 < waited < 4
        assert answer == b"" or answer.startswith(b"HTTP/1.0 400")


def _port(app: Any) -> int:
    return int(app.base_url.rsplit(":", 1)[1])
