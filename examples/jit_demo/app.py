"""PixelCDN: a small image-CDN-like web app with SAML single sign-on and Just-In-Time provisioning.

Standard library only (wsgiref), on top of samljit's LoginService and SQLite stores. Pages, where
``{account}`` is a customer account such as ``acme``:

- ``/admin/{account}/sso``: the account administrator's SSO settings: the SP entity ID and ACS
  URL to copy into the IdP, the IdP metadata to paste (or delete, which disables SSO).
- ``/saml/{account}/acs``: the Assertion Consumer Service the IdP posts to.
- ``/test-idp`` and ``/test-idp/metadata.xml``: a built-in IdP (``samljit.testing.TestIdP``)
  whose app is set up for account ``acme``: pick a user, name and role, and it signs in.
- ``/users``: the users of an account, their last SSO login and its outcome.
- ``/logout``: ends the session (POST, with the session's logout token).

Sessions live on the server (``samljit.integrations.sessions.MemorySessionStore``): the cookie
holds a random ID only, logout deletes the session, and it expires after 30 idle minutes or 8
hours. The server answers each connection on a thread of its own and gives up on a client
that stops sending for ``read_timeout`` seconds, so that no client can hold up another.

``make demo`` drives it with story.py; ``make demo-serve`` keeps it running for a browser.

This is a demo: the admin pages have no authentication and no CSRF protection. A real app puts
them behind its own admin login, and reads its public base URL from configuration.
"""

from __future__ import annotations

import html
import logging
import re
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.types import StartResponse, WSGIEnvironment

import samljit
from samljit.integrations.sessions import SESSION_KEY, MemorySessionStore
from samljit.stores.sqlite import SQLiteAccountStore, SQLiteReplayCache, SQLiteUserStore
from samljit.testing import TestIdP

__all__ = ["HOST", "ROLES", "JitDemoApp", "create_server", "running"]

log = logging.getLogger("jit_demo")

HOST = "127.0.0.1"
DEMO_ACCOUNT = "acme"
"""The account the test IdP's app signs users into."""
ROLES = (
    "account_administrator",
    "developer",
    "media_library_full_access",
    "media_library_view_only_access",
    "media_library_restricted_access",
    "finance",
)
MAPPING: Mapping[str, Any] = {
    "preset": "generic",  # email from the NameID; full_name, role attributes
    "accepted_roles": ROLES,
    "account_attributes": ["imagekit_id"],  # the claim naming the customer account
}
SESSION_COOKIE = "pixelcdn_session"
CSRF_FIELD = "csrf"
READ_TIMEOUT = 10.0
"""Seconds the server waits for a client that has stopped sending before it hangs up."""
MAX_BODY = 8 * 1024 * 1024  # pasted metadata can be large; a SAMLResponse is < 1 MB
_ACCOUNT = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\\\s\x00-\x1f\x7f]*")  # not //host, not /\host

esc = html.escape  # every value that goes into HTML goes through this


class Sessions:
    """The app's own sessions, as a :class:`samljit.SessionIssuer` and
    :class:`samljit.SessionRevoker`: the cookie holds the random ID :meth:`issue` returns; the
    user's email, the login (for Single Logout) and the logout token stay in ``store``."""

    def __init__(self, store: MemorySessionStore) -> None:
        self.store = store

    def issue(self, user: samljit.UserRecord, context: samljit.LoginContext) -> str:
        login = {
            "account_id": user.account_id,
            "email": user.email,
            "session_index": context.assertion.session_index,
        }
        return self.store.create({SESSION_KEY: login, CSRF_FIELD: secrets.token_urlsafe(32)})

    def revoke(self, *, account_id: str, email: str, session_indexes: tuple[str, ...]) -> int:
        return self.store.revoke(
            account_id=account_id, email=email, session_indexes=session_indexes
        )

    def get(self, session_id: str | None) -> dict[str, Any] | None:
        """The live session's data, or None (no cookie, logged out, expired)."""
        return self.store.load(session_id) if session_id else None


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    account: str
    query: Mapping[str, str]
    form: Mapping[str, str]
    cookies: Mapping[str, str]


@dataclass
class Response:
    body: str
    status: str = "200 OK"
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "text/html; charset=utf-8"


@dataclass(frozen=True)
class Attempt:
    """One SSO login, as the users page lists it."""

    at: datetime
    account: str
    email: str | None
    result: str


Handler = Callable[[Request], Response]


class JitDemoApp:
    """The WSGI application. ``base_url`` is the public URL (configured, never guessed)."""

    def __init__(
        self, *, base_url: str, database: Path, sessions: MemorySessionStore | None = None
    ) -> None:
        self.base_url = base_url
        self.accounts = SQLiteAccountStore(database)
        self.users = SQLiteUserStore(database)
        if sessions is None:
            sessions = MemorySessionStore(
                idle_timeout=timedelta(minutes=30), lifetime=timedelta(hours=8)
            )
        self.sessions = Sessions(sessions)
        self.service = samljit.LoginService(
            accounts=self.accounts,
            users=self.users,
            sessions=self.sessions,
            replay_cache=SQLiteReplayCache(database),
            session_revoker=self.sessions,
        )
        self.test_idp = TestIdP(entity_id=f"{base_url}/test-idp", sso_url=f"{base_url}/test-idp")
        # For the users page; a real app would keep these in its own tables.
        self.last_login: dict[str, str] = {}  # email -> outcome of the last login
        self.attempts: deque[Attempt] = deque(maxlen=50)
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/"), self.home),
            ("GET", re.compile(r"/admin/(?P<account>[^/]+)/sso"), self.settings_page),
            ("POST", re.compile(r"/admin/(?P<account>[^/]+)/sso"), self.settings_save),
            ("POST", re.compile(r"/saml/(?P<account>[^/]+)/acs"), self.acs),
            ("GET", re.compile(r"/test-idp"), self.test_idp_page),
            ("POST", re.compile(r"/test-idp"), self.test_idp_sign_in),
            ("GET", re.compile(r"/test-idp/metadata\.xml"), self.test_idp_metadata),
            ("GET", re.compile(r"/users"), self.users_page),
            ("POST", re.compile(r"/logout"), self.logout),
        ]

    def sp_config(self, account: str) -> samljit.SPConfig:
        """The SP as the account's IdP knows it: one entity ID and ACS URL per account."""
        return samljit.SPConfig(
            entity_id=f"{self.base_url}/saml/{account}",
            acs_url=f"{self.base_url}/saml/{account}/acs",
        )

    # --- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.handle(environ)
        body = response.body.encode("utf-8")
        headers = [
            ("Content-Type", response.content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            *response.headers,
        ]
        start_response(response.status, headers)
        return [body]

    def handle(self, environ: WSGIEnvironment) -> Response:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/"
        allowed = False
        for route_method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            allowed = True
            if route_method != method:
                continue
            try:
                query = _first_values(environ.get("QUERY_STRING", ""))
                form = _read_form(environ) if method == "POST" else {}
            except ValueError:
                return _message("Bad request", "The form could not be read.", "400 Bad Request")
            account = match.groupdict().get("account") or query.get("account", DEMO_ACCOUNT)
            if not _ACCOUNT.fullmatch(account):
                return _message("Not found", "No such account.", "404 Not Found")
            return handler(Request(method, path, account, query, form, _cookies(environ)))
        if allowed:
            return _message("Method not allowed", "", "405 Method Not Allowed")
        return _message("Not found", "No such page.", "404 Not Found")

    # --- pages ----------------------------------------------------------------------------

    def _signed_in(self, request: Request) -> tuple[dict[str, Any], samljit.UserRecord] | None:
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        login = session.get(SESSION_KEY) if session else None
        if session is None or not isinstance(login, dict):
            return None
        user = self.users.get_by_email(login["email"])
        if user is None or user.account_id != login["account_id"]:
            return None
        return session, user

    def home(self, request: Request) -> Response:
        signed_in = self._signed_in(request)
        if signed_in is None:
            who = (
                '<p id="signed-in">Not signed in. Sign in from the <a href="/test-idp">test '
                "IdP</a>.</p>"
            )
            return Response(_page("PixelCDN", who))
        session, user = signed_in
        who = (
            f'<p id="signed-in">Signed in as {esc(user.email)} ({esc(user.full_name or "")}, '
            f"{esc(user.role)}) in account {esc(user.account_id)}.</p>"
            '<form id="logout" method="post" action="/logout">'
            f'<input type="hidden" name="{CSRF_FIELD}" value="{esc(session[CSRF_FIELD])}">'
            "<button>Log out</button></form>"
        )
        return Response(_page("PixelCDN", who))

    def logout(self, request: Request) -> Response:
        """End the session, only when the POST carries the session's token: a page of
        another site can make the browser post here, but cannot read the token."""
        session_id = request.cookies.get(SESSION_COOKIE)
        session = self.sessions.get(session_id)
        if session is None or session_id is None:
            return _redirect("/")  # nothing to end
        token, sent = session.get(CSRF_FIELD, ""), request.form.get(CSRF_FIELD, "")
        if not token or not secrets.compare_digest(token.encode(), sent.encode()):
            return _message(
                "Logout refused", "The logout form's token is missing.", "403 Forbidden"
            )
        self.sessions.store.delete(session_id)
        expired = f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        if self.base_url.startswith("https://"):
            expired += "; Secure"
        return _redirect("/", headers=[("Set-Cookie", expired)])

    def settings_page(self, request: Request) -> Response:
        return self._settings(request.account)

    def settings_save(self, request: Request) -> Response:
        account = request.account
        if request.form.get("action") == "delete":
            self.accounts.delete(account)
            log.info("SSO disabled for account %s: IdP metadata deleted", account)
            return _redirect(f"/admin/{account}/sso")
        pasted = request.form.get("metadata", "")
        try:
            self.accounts.save(
                samljit.AccountConfig(
                    account_id=account,
                    idp_metadata=pasted.encode("utf-8"),
                    sp=self.sp_config(account),
                    mapping=samljit.ClaimMapping.from_dict(MAPPING),
                )
            )
        except samljit.SamlError as exc:
            return self._settings(account, pasted=pasted, error=exc)
        log.info("SSO enabled for account %s", account)
        return _redirect(f"/admin/{account}/sso")

    def _settings(
        self, account: str, *, pasted: str | None = None, error: samljit.SamlError | None = None
    ) -> Response:
        sp = self.sp_config(account)
        config = self.accounts.get(account)
        if config is None:
            status = '<p id="sso-status">SSO is <b>disabled</b>: no IdP metadata saved.</p>'
            warnings: tuple[samljit.metadata.MetadataWarning, ...] = ()
        else:
            parsed = samljit.parse_idp_metadata(config.idp_metadata, entity_id=config.idp_entity_id)
            warnings = parsed.warnings
            status = (
                f'<p id="sso-status">SSO is <b>enabled</b> with the IdP '
                f"<code>{esc(parsed.idp.entity_id)}</code>.</p>"
            )
        notes = "".join(
            f'<li class="warning"><code>{esc(w.code)}</code>: {esc(w.message)}</li>'
            for w in warnings
        )
        if error is not None:  # written for the administrator: show the message too
            notes += (
                f'<li class="error" id="metadata-error"><code>{esc(error.code)}</code>: '
                f"{esc(error.message)}</li>"
            )
        if pasted is None:
            pasted = config.idp_metadata.decode("utf-8", "replace") if config else ""
        action = esc(f"/admin/{account}/sso")
        delete = (
            f'<form id="delete" method="post" action="{action}">'
            '<input type="hidden" name="action" value="delete">'
            "<button>Delete the metadata (disables SSO)</button></form>"
            if config
            else ""
        )
        body = f"""{status}
<h2>1. In your IdP, create a SAML app with</h2>
<dl><dt>SP entity ID (Audience URI, Identifier)</dt>
<dd><code id="sp-entity-id">{esc(sp.entity_id)}</code></dd>
<dt>ACS URL (Single sign-on URL, Reply URL)</dt>
<dd><code id="acs-url">{esc(sp.acs_url)}</code></dd>
<dt>Claims</dt><dd>NameID: the user's email; <code>full_name</code>; <code>role</code>, one of
<code>{esc(", ".join(ROLES))}</code>; <code>imagekit_id</code>: <code>{esc(account)}</code></dd>
</dl>
<h2>2. Paste the IdP metadata XML</h2>
<ul id="metadata-notes">{notes}</ul>
<form id="save" method="post" action="{action}">
<input type="hidden" name="action" value="save">
<textarea name="metadata" rows="12" cols="100">{esc(pasted)}</textarea>
<p><button>Save</button></p></form>
{delete}"""
        status_code = "200 OK" if error is None else "400 Bad Request"
        return Response(_page(f"SSO settings of account {account}", body), status_code)

    def acs(self, request: Request) -> Response:
        try:
            result = self.service.complete_login(request.form, account_id=request.account)
        except samljit.SamlError as exc:
            # The browser gets the code only; the log gets what an administrator needs.
            log.warning("SSO login to %s rejected: %s: %s", request.account, exc.code, exc.message)
            self._record(request.account, None, f"rejected: {exc.code}")
            body = (
                f'<p>Single sign-on failed. Error code: <code id="error-code">{esc(exc.code)}'
                "</code>. Ask your account administrator.</p>"
            )
            return Response(_page("Sign-in failed", body), "403 Forbidden")
        user, outcome = result.user, _describe(result.outcome)
        self._record(result.account_id, user.email, outcome)
        cookie = f"{SESSION_COOKIE}={result.session}; Path=/; HttpOnly; SameSite=Lax"
        if self.base_url.startswith("https://"):
            cookie += "; Secure"
        body = f"""<p>Logged in as <b id="user-email">{esc(user.email)}</b>
(<span id="user-name">{esc(user.full_name or "")}</span>,
role <span id="user-role">{esc(user.role)}</span>) in account {esc(user.account_id)}.</p>
<p>Provisioning: <span id="outcome">{esc(result.outcome.action)}</span>
<span id="changes">{esc(_changes(result.outcome))}</span></p>
{_relay_state(result.relay_state)}"""
        return Response(_page("Signed in", body), headers=[("Set-Cookie", cookie)])

    def test_idp_page(self, request: Request) -> Response:
        role_options = "".join(
            f'<option value="{esc(role)}"{" selected" if role == "developer" else ""}>'
            f"{esc(role)}</option>"
            for role in (*ROLES, "guest")
        )
        sp = self.sp_config(DEMO_ACCOUNT)
        body = f"""<p>IdP entity ID <code>{esc(self.test_idp.entity_id)}</code>;
<a href="/test-idp/metadata.xml">metadata</a> to paste into the
<a href="/admin/{esc(DEMO_ACCOUNT)}/sso">SSO settings</a>. Its app signs users in at
<code>{esc(sp.acs_url)}</code> (IdP-initiated). <code>guest</code> is a role the app does not
accept.</p>
<form id="login" method="post" action="/test-idp">
<p><label>Email <input name="email" value="ada@acme.test"></label></p>
<p><label>Full name <input name="full_name" value="Ada Lovelace"></label></p>
<p><label>Role <select name="role">{role_options}</select></label></p>
<p><label>Account id (imagekit_id) <input name="imagekit_id" value="{esc(DEMO_ACCOUNT)}">
</label></p>
<p><label>RelayState <input name="relay_state" value="/"></label></p>
<p><button>Sign in to PixelCDN</button></p></form>"""
        return Response(_page("Test IdP", body))

    def test_idp_sign_in(self, request: Request) -> Response:
        form, sp = request.form, self.sp_config(DEMO_ACCOUNT)
        claims = {name: form.get(name, "") for name in ("full_name", "role", "imagekit_id")}
        issued = self.test_idp.issue_response(
            sp_entity_id=sp.entity_id,
            acs_url=sp.acs_url,
            now=datetime.now(UTC),
            name_id=form.get("email", ""),
            attributes={name: [value] for name, value in claims.items() if value},
        )
        relay_state = form.get("relay_state", "")
        relay = (
            f'<input type="hidden" name="RelayState" value="{esc(relay_state)}">'
            if relay_state
            else ""
        )
        # What every IdP does for the HTTP-POST binding: a form the browser submits at once.
        body = f"""<form id="saml-post" method="post" action="{esc(sp.acs_url)}">
<input type="hidden" name="SAMLResponse" value="{esc(issued.form_value)}">{relay}
<p>Signing you in to PixelCDN... <button>Continue</button></p></form>
<script>document.getElementById("saml-post").submit();</script>"""
        return Response(_page("Test IdP: signing in", body))

    def test_idp_metadata(self, request: Request) -> Response:
        return Response(
            self.test_idp.metadata_xml.decode("utf-8"),
            content_type="application/samlmetadata+xml; charset=utf-8",
            headers=[("Content-Disposition", 'inline; filename="test-idp-metadata.xml"')],
        )

    def users_page(self, request: Request) -> Response:
        account = request.account
        rows = "".join(
            f"<tr><td>{esc(u.email)}</td><td>{esc(u.full_name or '')}</td><td>{esc(u.role)}</td>"
            f"<td>{esc(_time(u.last_sso_login))}</td>"
            f"<td>{esc(self.last_login.get(u.email, ''))}</td></tr>"
            for u in self.users.users_of(account)
        )
        stale = len(self.service.stale_users(account, days=90))
        attempts = "".join(
            f"<tr><td>{esc(_time(a.at))}</td><td>{esc(a.email or '(not known)')}</td>"
            f"<td>{esc(a.result)}</td></tr>"
            for a in reversed(self.attempts)
            if a.account == account
        )
        body = f"""<table id="users"><tr><th>Email</th><th>Name</th><th>Role</th>
<th>Last SSO login</th><th>Last login's outcome</th></tr>{rows}</table>
<p id="stale">No SSO login for 90 days: {stale} user(s). The IdP never says when a user was
removed; delete such users here.</p>
<h2>Recent SSO logins</h2>
<table id="attempts"><tr><th>When</th><th>User</th><th>Result</th></tr>{attempts}</table>"""
        return Response(_page(f"Users of account {account}", body))

    def _record(self, account: str, email: str | None, result: str) -> None:
        if email is not None:
            self.last_login[email] = result
        self.attempts.append(Attempt(datetime.now(UTC), account, email, result))


# --- helpers ------------------------------------------------------------------------------

_CSS = (
    "body{font:15px/1.4 system-ui,sans-serif;margin:2em;max-width:60em}"
    "td,th{padding:.2em .6em;text-align:left}code{background:#eee}"
    ".error{color:#a00}.warning{color:#a60}"
)


def _page(title: str, body: str) -> str:
    """The layout; ``body`` is HTML whose every value the caller escaped."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>{_CSS}</style></head><body>
<nav><a href="/">PixelCDN</a> | <a href="/admin/{DEMO_ACCOUNT}/sso">SSO settings</a> |
<a href="/test-idp">Test IdP</a> | <a href="/users">Users</a></nav>
<h1>{esc(title)}</h1>
{body}
</body></html>
"""


def _message(title: str, text: str, status: str) -> Response:
    return Response(_page(title, f"<p>{esc(text)}</p>"), status)


def _redirect(location: str, *, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response("", "303 See Other", [("Location", location), *(headers or [])])


def _describe(outcome: samljit.provisioning.ProvisioningOutcome) -> str:
    """``created (full_name: Ada; role: developer)``, ``updated (role: a -> b)``, ``unchanged``."""
    changes = _changes(outcome)
    return f"{outcome.action} ({changes})" if changes else outcome.action


def _changes(outcome: samljit.provisioning.ProvisioningOutcome) -> str:
    if outcome.action == "created":
        return "; ".join(f"{name}: {new}" for name, (_, new) in outcome.changes.items())
    return "; ".join(f"{name}: {old} -> {new}" for name, (old, new) in outcome.changes.items())


def _relay_state(relay_state: str | None) -> str:
    """A link for a path on this site; anything else is shown, never followed."""
    if not relay_state:
        return ""
    shown = esc(relay_state)
    if _LOCAL_PATH.fullmatch(relay_state):
        return f'<p>Continue to <a id="relay-state" href="{shown}">{shown}</a></p>'
    return f'<p>RelayState <code id="relay-state">{shown}</code> ignored: not a path here.</p>'


def _time(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat(sep=" ", timespec="milliseconds") if value else ""


def _first_values(encoded: str) -> dict[str, str]:
    parsed = parse_qs(encoded, keep_blank_values=True, max_num_fields=100)
    return {name: values[0] for name, values in parsed.items()}


def _read_form(environ: WSGIEnvironment) -> dict[str, str]:
    """The urlencoded POST body, first value of each field. ValueError if unusable."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return {}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not 0 <= length <= MAX_BODY:
        raise ValueError("body too large")
    try:
        body = environ["wsgi.input"].read(length)
    except OSError as exc:  # TimeoutError: the client stopped sending (read_timeout)
        raise ValueError("the body did not arrive") from exc
    if len(body) != length:
        raise ValueError("the body ended early")
    return _first_values(body.decode("utf-8", "replace"))


def _cookies(environ: WSGIEnvironment) -> dict[str, str]:
    try:
        jar = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


# --- serving ------------------------------------------------------------------------------


class Server(ThreadingMixIn, WSGIServer):
    """wsgiref's server with a thread per connection (a slow client holds up only its own)
    and a read timeout per connection."""

    daemon_threads = True  # a connection still open does not keep the process alive
    read_timeout = READ_TIMEOUT


class _Handler(WSGIRequestHandler):
    def setup(self) -> None:
        assert isinstance(self.server, Server)
        self.timeout = self.server.read_timeout  # StreamRequestHandler applies it to the socket
        super().setup()

    def handle(self) -> None:
        try:
            super().handle()
        except TimeoutError:  # the request line or headers never arrived whole: hang up
            self.close_connection = True


class _QuietHandler(_Handler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def create_server(
    database: Path,
    *,
    port: int = 0,
    quiet: bool = False,
    read_timeout: float = READ_TIMEOUT,
    sessions: MemorySessionStore | None = None,
) -> tuple[Server, JitDemoApp]:
    """Bind 127.0.0.1:``port`` (0: any free port) and build the app for that address.

    ``read_timeout``: seconds to wait for a client that has stopped sending; ``sessions``:
    where the sessions live (default: in memory, 30 idle minutes, 8 hours at most).
    """
    server = Server((HOST, port), _QuietHandler if quiet else _Handler)
    server.read_timeout = read_timeout
    base_url = f"http://{HOST}:{server.server_port}"
    app = JitDemoApp(base_url=base_url, database=database, sessions=sessions)
    server.set_app(app)
    return server, app


@contextmanager
def running(database: Path, *, port: int = 0, **options: Any) -> Iterator[JitDemoApp]:
    """The app served from a background thread, stopped on exit; ``options`` go to
    :func:`create_server`."""
    server, app = create_server(database, port=port, quiet=True, **options)
    thread = threading.Thread(target=server.serve_forever, name="jit-demo-server", daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
