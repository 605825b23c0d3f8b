"""The JIT demo (examples/jit_demo): the story runs to exit 0; the app escapes what it echoes;
samljit's admin pages are its SSO settings, open only to the account's local administrator,
every POST with the session's token and a bounded body; its SCIM endpoint takes the tokens
generated there, and deactivating a user ends their session and their logins."""

from __future__ import annotations

import base64
import dataclasses
import importlib.util
import json
import re
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote, urlencode
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
        "SSO is off. The setup guide: SP entity ID http://127.0.0.1:",
        "Preview (nothing saved yet): IdP entity ID http://127.0.0.1:",
        "Saved: The IdP is saved: the next sign-in uses it. SSO is on.",
        "Ada, a developer, may not open the SSO admin pages: HTTP 403.",
        "TEST CONNECTION: A real sign-in would update this user. (full_name: Ada Lovelace -> "
        "Ada King; role: developer -> finance)",
        "Nothing was written: the users page is unchanged, and no session was issued.",
        "replayed: This assertion was already used to sign in",
        "The IdP settings are deleted. Users stay",
        "(shown once)",
        'IdP: GET /Users?filter=userName eq "ada@acme.test" -> id 1',
        "IdP: PATCH /Users/1 active=false -> HTTP 200, active False",
        "Ada's open session has ended (revoked on deactivation)",
        "REJECTED user_deactivated: Ada's next login",
        "| unchanged | deactivated. Active users (what the plan counts): 0 of 1.",
        "The admin's status page: user_deactivated: The IdP deactivated the user (SCIM)",
        "OK:",
    ):
        assert expected in done.stdout


def _load_app_module() -> ModuleType:
    if str(DEMO) not in sys.path:  # app.py imports its plumbing, serving.py, as a script does
        sys.path.insert(0, str(DEMO))
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
    """The account's SSO set up with the test IdP directly in the store (the admin pages
    are for acme's administrator only; they have tests of their own below)."""
    config = app.new_account(account)
    app.accounts.save(dataclasses.replace(config, idp_metadata=app.test_idp.metadata_xml))


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


def test_unknown_pages_and_accounts(app: Any) -> None:
    assert _request(f"{app.base_url}/nope")[0] == 404
    assert _request(f"{app.base_url}/sso/admin/%3Cscript%3E/")[0] == 404
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


# --- the admin pages: samljit's, for acme's local administrator only ---------------------------

ADMIN = "/sso/admin/acme/"


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Any]:
    """An app of its own, whose account acme starts with SSO off."""
    with _load_app_module().running(tmp_path / "demo.sqlite") as app:
        yield app


def _admin_cookie(app: Any) -> str:
    """The home page's button: the local administrator's session cookie (``name=value``)."""
    status, _, set_cookie = _exchange(f"{app.base_url}/admin-sign-in", {})
    assert status == 303
    assert set_cookie is not None
    return set_cookie.split(";")[0]


def _admin_token(page: str) -> str:
    found = re.search(r'<input type="hidden" name="csrf" value="([^"]+)">', page)
    assert found is not None, page
    return found.group(1)


def _redirected_to(url: str, form: dict[str, str], *, cookie: str) -> tuple[int, str]:
    """The status and Location of a POST answered with a redirect."""
    data = urlencode(form).encode("ascii")
    request = Request(url, data=data, headers={"Cookie": cookie})  # noqa: S310 - 127.0.0.1
    with pytest.raises(HTTPError) as redirect:
        _BROWSER.open(request, timeout=10)  # redirects are not followed: raised
    with redirect.value as answer:
        return answer.code, answer.headers["Location"]


def _multipart(fields: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    boundary = "samljit-demo-test-boundary"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in fields.items()
    ) + b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="m.xml"\r\n'
        "Content-Type: text/xml\r\n\r\n".encode()
        + content
        + b"\r\n"
        for name, content in files.items()
    )
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _post_multipart(
    url: str, fields: dict[str, str], files: dict[str, bytes], *, cookie: str
) -> tuple[int, str]:
    body, content_type = _multipart(fields, files)
    headers = {"Cookie": cookie, "Content-Type": content_type}
    request = Request(url, data=body, headers=headers)  # noqa: S310 - http://127.0.0.1
    try:
        with _BROWSER.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except HTTPError as error:
        with error:
            return error.code, error.read().decode()


def _connect(app: Any, cookie: str) -> None:
    """Connect the test IdP as the administrator: paste, preview, confirm."""
    url = f"{app.base_url}{ADMIN}connect"
    _, page, _ = _exchange(url, cookie=cookie)
    metadata = app.test_idp.metadata_xml.decode()
    status, preview = _post_multipart(
        url, {"csrf": _admin_token(page), "metadata": metadata}, {}, cookie=cookie
    )
    assert status == 200
    assert "<h1>Check your IdP</h1>" in preview
    confirm = {
        name: re.search(rf'name="{name}" value="([^"]*)"', preview).group(1)  # type: ignore[union-attr]
        for name in ("csrf", "metadata_b64", "metadata_url", "entity_id")
    }
    status, saved, _ = _exchange(f"{url}/confirm", confirm, cookie=cookie)
    assert status == 200
    assert "<h1>IdP connected</h1>" in saved


def test_nobody_signed_in_may_not_open_the_admin_pages(fresh: Any) -> None:
    status, body = _request(f"{fresh.base_url}{ADMIN}")
    assert status == 403
    assert "You may not administer single sign-on for this account." in body


def test_an_sso_user_may_not_open_the_admin_pages_even_with_the_administrator_role(
    fresh: Any,
) -> None:
    _enable_sso(fresh, "acme")
    form = _login_form(fresh, "acme", "/", role="account_administrator")
    status, _, set_cookie = _exchange(f"{fresh.base_url}/saml/acme/acs", form)
    assert status == 200
    assert set_cookie is not None
    cookie = set_cookie.split(";")[0]
    assert "Signed in as mallory@initech.test" in _exchange(f"{fresh.base_url}/", cookie=cookie)[1]
    assert _exchange(f"{fresh.base_url}{ADMIN}", cookie=cookie)[0] == 403


def test_the_local_administrator_administers_acme_and_no_other_account(fresh: Any) -> None:
    cookie = _admin_cookie(fresh)
    status, home, _ = _exchange(f"{fresh.base_url}/", cookie=cookie)
    assert status == 200
    assert 'id="signed-in">Signed in as admin@acme.test' in home
    assert f'<a id="sso-admin" href="{ADMIN}">' in home
    status, page, _ = _exchange(f"{fresh.base_url}{ADMIN}", cookie=cookie)
    assert status == 200
    assert 'Single sign-on is <span class="off">off</span>' in page
    assert _exchange(f"{fresh.base_url}/sso/admin/initech/", cookie=cookie)[0] == 403
    assert _exchange(f"{fresh.base_url}/sso/admin/initech/connect", cookie=cookie)[0] == 403


def test_the_administrator_connects_the_test_idp_and_users_sign_in(fresh: Any) -> None:
    cookie = _admin_cookie(fresh)
    _connect(fresh, cookie)
    _, page, _ = _exchange(f"{fresh.base_url}{ADMIN}", cookie=cookie)
    assert 'Single sign-on is <span class="ok">on</span>' in page
    assert f"<code>{fresh.base_url}/test-idp</code>" in page  # the IdP's entity ID
    status, body = _request(f"{fresh.base_url}/saml/acme/acs", _login_form(fresh, "acme", "/"))
    assert status == 200
    assert '<span id="outcome">created</span>' in body
    _, page, _ = _exchange(f"{fresh.base_url}{ADMIN}", cookie=cookie)
    assert "<td>succeeded</td><td>mallory@initech.test</td>" in page  # recent sign-ins


def test_an_uploaded_metadata_file_is_previewed_and_nothing_is_saved(fresh: Any) -> None:
    cookie = _admin_cookie(fresh)
    url = f"{fresh.base_url}{ADMIN}connect"
    token = _admin_token(_exchange(url, cookie=cookie)[1])
    files = {"metadata_file": fresh.test_idp.metadata_xml}
    status, preview = _post_multipart(url, {"csrf": token}, files, cookie=cookie)
    assert status == 200
    assert f"<code>{fresh.base_url}/test-idp</code>" in preview
    assert fresh.accounts.get("acme") is None


def test_pasted_sp_metadata_is_refused_and_escaped(fresh: Any) -> None:
    cookie = _admin_cookie(fresh)
    url = f"{fresh.base_url}{ADMIN}connect"
    token = _admin_token(_exchange(url, cookie=cookie)[1])
    status, page = _post_multipart(url, {"csrf": token, "metadata": SP_METADATA}, {}, cookie=cookie)
    assert status == 400
    assert "<code>metadata_is_sp</code>" in page
    status, page = _post_multipart(
        url, {"csrf": token, "metadata_url": HOSTILE, "entity_id": HOSTILE}, {}, cookie=cookie
    )
    assert status == 400
    assert "<code>metadata_fetch_failed</code>" in page
    assert f'name="entity_id" value="{escape(HOSTILE)}"' in page
    assert "<script>alert" not in page
    assert fresh.accounts.get("acme") is None


@pytest.mark.parametrize("form", [{}, {"csrf": "forged"}], ids=["no token", "forged"])
def test_an_admin_post_without_the_session_token_changes_nothing(
    fresh: Any, form: dict[str, str]
) -> None:
    cookie = _admin_cookie(fresh)
    _connect(fresh, cookie)
    status, page, _ = _exchange(
        f"{fresh.base_url}{ADMIN}disable", {**form, "confirm": "yes"}, cookie=cookie
    )
    assert status == 403
    assert "nothing was changed" in page
    assert fresh.accounts.get("acme") is not None


def test_disabling_sso_on_the_admin_pages_refuses_the_next_login(fresh: Any) -> None:
    cookie = _admin_cookie(fresh)
    _connect(fresh, cookie)
    url = f"{fresh.base_url}{ADMIN}disable"
    token = _admin_token(_exchange(url, cookie=cookie)[1])
    status, page, _ = _exchange(url, {"csrf": token, "confirm": "yes"}, cookie=cookie)
    assert status == 200
    assert "<h1>Single sign-on disabled</h1>" in page
    status, body = _request(f"{fresh.base_url}/saml/acme/acs", _login_form(fresh, "acme", "/"))
    assert status == 403
    assert '<code id="error-code">sso_disabled</code>' in body


def test_a_body_over_the_admin_pages_bound_is_refused_unread(fresh: Any) -> None:
    cookie = _admin_cookie(fresh)
    limit = fresh.admin.max_body_bytes
    request = (
        f"POST {ADMIN}connect HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {limit + 1}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", _port(fresh)), timeout=5) as client:
        client.sendall(request.encode())  # the headers only: the server must not wait
        answer = client.recv(4096)
    assert answer.startswith(b"HTTP/1.0 413 ")


def test_the_admin_logs_out_with_the_session_token(fresh: Any) -> None:
    cookie = _admin_cookie(fresh)
    _, home, _ = _exchange(f"{fresh.base_url}/", cookie=cookie)
    status, _, _ = _exchange(
        f"{fresh.base_url}/logout", {"csrf": _logout_token(home)}, cookie=cookie
    )
    assert status == 303
    assert _exchange(f"{fresh.base_url}{ADMIN}", cookie=cookie)[0] == 403


# --- the test IdP answers an AuthnRequest (the Test connection's) ----------------------------


def _deflated(xml: bytes) -> str:
    """``xml`` as the HTTP-Redirect binding's SAMLRequest value (raw DEFLATE, base64)."""
    compressor = zlib.compressobj(wbits=-15)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()


def test_test_connection_runs_through_the_test_idp_and_writes_nothing(fresh: Any) -> None:
    """The admin pages' Test connection: the test IdP answers its AuthnRequest, the ACS hands
    the answer on to the result page, which says what a real sign-in would do: update
    Mallory. Nothing is written, and no session is issued."""
    _enable_sso(fresh, "acme")
    first = _login_form(fresh, "acme", "/")  # Mallory's first, IdP-initiated login: a developer
    assert _request(f"{fresh.base_url}/saml/acme/acs", first)[0] == 200
    cookie = _admin_cookie(fresh)
    _, status_page, _ = _exchange(f"{fresh.base_url}{ADMIN}", cookie=cookie)
    assert f'<form class="card" id="test-connection" method="post" action="{ADMIN}test">' in (
        status_page
    )
    token = {"csrf": _admin_token(status_page)}
    status, location = _redirected_to(f"{fresh.base_url}{ADMIN}test", token, cookie=cookie)
    assert status in (302, 303)
    assert location.startswith(f"{fresh.base_url}/test-idp?SAMLRequest=")
    status, idp_page = _request(location)
    assert status == 200
    request_id = re.search(r'name="in_response_to" value="([^"]+)"', idp_page)
    assert request_id is not None
    assert f"AuthnRequest <code>{request_id.group(1)}</code>" in idp_page
    # The app keeps where to go next itself (with the pending request): no RelayState to echo.
    assert 'name="relay_state" value=""' in idp_page
    fields = {
        "in_response_to": request_id.group(1),
        "email": "mallory@initech.test",
        "full_name": "Mallory",
        "role": "finance",
        "imagekit_id": "acme",
        "relay_state": "",
    }
    _, auto_post = _request(f"{fresh.base_url}/test-idp", fields)
    response = re.search(r'name="SAMLResponse" value="([^"]+)"', auto_post)
    assert response is not None
    form = {"SAMLResponse": response.group(1)}
    status, body, set_cookie = _exchange(f"{fresh.base_url}/saml/acme/acs", form)
    assert (status, set_cookie) == (200, None)
    assert f'<form id="test-result-post" method="post" action="{ADMIN}test/result">' in body
    assert f'name="SAMLResponse" value="{response.group(1)}"' in body
    # Only the administrator who started the test sees its result.
    assert _exchange(f"{fresh.base_url}{ADMIN}test/result", form)[0] == 403
    status, result, _ = _exchange(f"{fresh.base_url}{ADMIN}test/result", form, cookie=cookie)
    assert status == 200
    assert '<p id="test-action" data-action="update"' in result
    assert '<tr data-field="role"><th>role</th><td>developer</td><td>finance</td></tr>' in result
    assert [u.role for u in fresh.users.users_of("acme")] == ["developer"]


@pytest.mark.parametrize(
    "query",
    [
        "SAMLRequest=bm90IGRlZmxhdGVk",
        "SAMLRequest=" + quote(_deflated(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>")),
        "SAMLRequest=" + quote(_deflated(b'<LogoutRequest ID="x"/>')),
    ],
    ids=["not deflated", "a DTD", "not an AuthnRequest"],
)
def test_the_test_idp_refuses_what_is_not_an_authn_request(app: Any, query: str) -> None:
    status, body = _request(f"{app.base_url}/test-idp?{query}")
    assert status == 400
    assert "Not an AuthnRequest." in body


# --- SCIM: the IdP provisions with a token from the admin status page ------------------------

SCIM = "/scim/v2/acme"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _scim(
    app: Any, method: str, path: str, token: str | None, document: object = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if document is not None:
        data = json.dumps(document).encode()
        headers["Content-Type"] = "application/scim+json"
    url = f"{app.base_url}{SCIM}{path}"
    request = Request(url, data=data, headers=headers, method=method)  # noqa: S310 - 127.0.0.1
    try:
        with _BROWSER.open(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"{}")


def _generate_token(app: Any, cookie: str) -> tuple[str, str]:
    """Generate a token on the status page: (its ID, its secret)."""
    token = _admin_token(_exchange(f"{app.base_url}{ADMIN}", cookie=cookie)[1])
    status, page, _ = _exchange(
        f"{app.base_url}{ADMIN}scim/tokens", {"csrf": token, "label": "IdP"}, cookie=cookie
    )
    assert status == 200
    secret = re.search(r'id="scim-secret" value="([^"]+)"', page)
    token_id = re.search(r"Token <code>([0-9a-f]+)</code>", page)
    assert secret is not None
    assert token_id is not None
    return token_id.group(1), secret.group(1)


def test_the_scim_endpoint_needs_a_token_of_the_account(fresh: Any) -> None:
    assert _scim(fresh, "GET", "/Users", None)[0] == 401
    other = fresh.scim_tokens.issue("globex")[0]
    assert _scim(fresh, "GET", "/Users", other)[0] == 401


def test_a_token_from_the_status_page_works_until_it_is_revoked(fresh: Any) -> None:
    cookie = _admin_cookie(fresh)
    token_id, secret = _generate_token(fresh, cookie)
    status, page, _ = _exchange(f"{fresh.base_url}{ADMIN}", cookie=cookie)
    assert status == 200
    assert f'value="{fresh.base_url}{SCIM}"' in page
    assert secret not in page
    assert _scim(fresh, "GET", "/ServiceProviderConfig", secret)[0] == 200
    form = {"csrf": _admin_token(page), "token_id": token_id}
    revoked = _exchange(f"{fresh.base_url}{ADMIN}scim/tokens/revoke", form, cookie=cookie)
    assert revoked[0] == 200
    assert _scim(fresh, "GET", "/ServiceProviderConfig", secret)[0] == 401


def test_a_scim_body_over_the_bound_is_refused_unread(fresh: Any) -> None:
    request = (
        f"POST {SCIM}/Users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/scim+json\r\n"
        f"Content-Length: {fresh.scim.max_body_bytes + 1}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", _port(fresh)), timeout=5) as client:
        client.sendall(request.encode())  # the headers only: the server must not wait
        answer = client.recv(4096)
    assert answer.startswith(b"HTTP/1.0 413 ")


def test_a_user_deactivated_by_scim_loses_session_and_logins(fresh: Any) -> None:
    """Pre-provisioned by SCIM, signed in by SAML (the same user), deactivated by SCIM: the
    session ends, the next login is refused, the users page says so."""
    _enable_sso(fresh, "acme")
    secret = fresh.scim_tokens.issue("acme")[0]
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "grace@acme.example",
        "displayName": "Grace Hopper",
        "roles": [{"value": "developer"}],
    }
    status, created = _scim(fresh, "POST", "/Users", secret, user)
    assert status == 201
    form = _login_form(fresh, "acme", "/")
    form["SAMLResponse"] = fresh.test_idp.issue_response(
        sp_entity_id=fresh.sp_config("acme").entity_id,
        acs_url=fresh.sp_config("acme").acs_url,
        now=datetime.now(UTC),
        name_id="grace@acme.example",
        attributes={"role": ["developer"], "imagekit_id": ["acme"], "full_name": ["Grace Hopper"]},
    ).form_value
    status, page, set_cookie = _exchange(f"{fresh.base_url}/saml/acme/acs", form)
    assert status == 200
    assert '<span id="outcome">unchanged</span>' in page
    assert set_cookie is not None
    cookie = set_cookie.split(";")[0]
    assert "grace@acme.example" in _exchange(f"{fresh.base_url}/", cookie=cookie)[1]
    patch = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    status, patched = _scim(fresh, "PATCH", f"/Users/{created['id']}", secret, patch)
    assert (status, patched["active"]) == (200, False)
    assert "Not signed in" in _exchange(f"{fresh.base_url}/", cookie=cookie)[1]
    status, body = _request(f"{fresh.base_url}/saml/acme/acs", form)
    assert status == 403
    assert '<code id="error-code">user_deactivated</code>' in body
    _, users = _request(f"{fresh.base_url}/users")
    assert "<td>grace@acme.example</td>" in users
    assert "<td>deactivated</td>" in users
    assert "Active users (what the plan counts): 0 of 1." in users
