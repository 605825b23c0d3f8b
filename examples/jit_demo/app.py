"""PixelCDN: a small image-CDN-like web app with SAML single sign-on and Just-In-Time provisioning.

Standard library only (wsgiref), on top of samljit's LoginService, SQLite stores and admin
pages. Pages, where ``{account}`` is a customer account such as ``acme``:

- ``/``: who is signed in; a button that signs in the local administrator of ``acme``
  (``admin@acme.test``), who may administer that account's SSO and no other.
- ``/sso/admin/{account}/...``: samljit's admin pages (``samljit.integrations.admin``):
  status and recent logins, setup guide, connect the IdP (paste, upload; preview, confirm),
  claim mapping, disable; only for the account's administrator, every POST with the
  session's token.
- ``/saml/{account}/acs``: the Assertion Consumer Service the IdP posts to.
- ``/test-idp`` and ``/test-idp/metadata.xml``: a built-in IdP (``samljit.testing.TestIdP``)
  whose app is set up for account ``acme``: pick a user, name and role, and it signs in
  (IdP-initiated, or answering the AuthnRequest of an administrator's Test connection).
- ``/scim/v2/{account}/...``: the account's SCIM 2.0 endpoint (``samljit.scim``), through
  which its IdP creates, updates and deactivates users, with a bearer token the account's
  administrator generates on the admin status page.
- ``/users``: the users of an account, active or deactivated, their last SSO login and its
  outcome.
- ``/logout``: ends the session (POST, with the session's logout token).

Sessions live on the server (``samljit.integrations.sessions.MemorySessionStore``): the cookie
holds a random ID only, logout deletes the session, and it expires after 30 idle minutes or 8
hours. The server answers each connection on a thread of its own and gives up on a client
that stops sending for ``read_timeout`` seconds, so that no client can hold up another.

``make demo`` drives it with story.py; ``make demo-serve`` keeps it running for a browser.

This is a demo: the administrator signs in with a button, not a password, and the users page
is open to anyone. A real app signs its administrators in with its own login, and reads its
public base URL from configuration.
"""

from __future__ import annotations

import html
import json
import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment
from xml.etree import ElementTree

from serving import (
    READ_TIMEOUT,
    QuietRequestHandler,
    Request,
    RequestHandler,
    Response,
    Server,
    TooLarge,
    first_values,
    read_body,
    read_raw,
    send,
)
from serving import cookies as read_cookies

import samljit
from samljit.bindings import decode_redirect
from samljit.directory import ScimTokens
from samljit.history import record_logins
from samljit.integrations.admin import AdminPages, AdminRequest, WebResponse
from samljit.integrations.sessions import SESSION_KEY, MemorySessionStore
from samljit.scim import ScimRequest, ScimService
from samljit.stores.sqlite import (
    SQLiteAccountStore,
    SQLiteDirectoryStore,
    SQLiteLoginHistory,
    SQLiteReplayCache,
    SQLiteRequestStore,
    SQLiteScimTokenStore,
    SQLiteUserStore,
)
from samljit.testing import TestIdP

__all__ = ["ADMIN_EMAIL", "HOST", "ROLES", "JitDemoApp", "create_server", "running"]

log = logging.getLogger("jit_demo")

HOST = "127.0.0.1"
DEMO_ACCOUNT = "acme"
"""The account the test IdP's app signs users into."""
ADMIN_EMAIL = "admin@acme.test"
"""The local administrator of DEMO_ACCOUNT: the one who sets up its SSO."""
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
ADMIN_KEY = "local_admin"
"""The session key of a local administrator's sign-in: {account_id, email}."""
MAX_AUTHN_REQUEST = 64 * 1024  # bytes, inflated: the test IdP reads no larger one
_ACCOUNT = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_SCIM = re.compile(r"/scim/v2/(?P<account>[a-z0-9][a-z0-9_-]{0,62})(?:/(?P<rest>.*))?")
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\\\s\x00-\x1f\x7f]*")  # not //host, not /\host
_AUTHN_REQUEST = "{urn:oasis:names:tc:SAML:2.0:protocol}AuthnRequest"

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
        self.history = SQLiteLoginHistory(database)
        self.service = samljit.LoginService(
            accounts=self.accounts,
            users=self.users,
            sessions=self.sessions,
            replay_cache=SQLiteReplayCache(database),
            request_store=SQLiteRequestStore(database),  # the Test connection's AuthnRequest
            session_revoker=self.sessions,
            audit=record_logins(self.history),
        )
        # SCIM writes the same users (SQLiteDirectoryStore is over SQLiteUserStore's rows) and
        # ends a deactivated user's sessions through the same revoker as Single Logout.
        self.scim_tokens = ScimTokens(SQLiteScimTokenStore(database))
        self.scim = ScimService(
            accounts=self.accounts,
            directory=SQLiteDirectoryStore(database),
            tokens=self.scim_tokens,
            session_revoker=self.sessions,
        )
        self.admin = AdminPages(
            accounts=self.accounts,
            can_administer=self.can_administer,
            new_account=self.new_account,
            history=self.history,
            service=self.service,  # Test connection; the metadata source and SP metadata
            scim_tokens=self.scim_tokens,  # the status page's SCIM base URL and tokens
            scim_url=self.scim_url,
        )
        self.test_idp = TestIdP(entity_id=f"{base_url}/test-idp", sso_url=f"{base_url}/test-idp")
        # For the users page; a real app would keep it in its own tables.
        self.last_login: dict[str, str] = {}  # email -> outcome of the last login
        admin = r"/sso/admin/(?P<account>[^/]+)/(?P<rest>.*)"
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/"), self.home),
            ("POST", re.compile(r"/admin-sign-in"), self.admin_sign_in),
            ("GET", re.compile(admin), self.admin_page),
            ("POST", re.compile(admin), self.admin_page),
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

    def scim_url(self, account: str) -> str:
        """The account's SCIM base URL, for its IdP's provisioning settings."""
        return f"{self.base_url}/scim/v2/{account}"

    def new_account(self, account: str) -> samljit.AccountConfig:
        """What an account without SSO starts from on the admin pages (no IdP yet)."""
        return samljit.AccountConfig(
            account_id=account,
            idp_metadata=b"",
            sp=self.sp_config(account),
            mapping=samljit.ClaimMapping.from_dict(MAPPING),
        )

    def can_administer(self, native: object, account_id: str) -> bool:
        """The admin pages' authorization: a live session of the local administrator of
        ``account_id``; SSO users, other accounts and nobody get a 403."""
        signed_in = self._admin_of(native) if isinstance(native, Request) else None
        return signed_in is not None and signed_in[1]["account_id"] == account_id

    # --- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return send(self.handle(environ), start_response)

    def handle(self, environ: WSGIEnvironment) -> Response:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/"
        if (scim := _SCIM.fullmatch(path)) is not None:
            return self.scim_endpoint(environ, scim["account"], scim["rest"] or "")
        allowed = False
        for route_method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            allowed = True
            if route_method != method:
                continue
            raw_query = environ.get("QUERY_STRING", "")
            try:
                query = first_values(raw_query)
                form, files = read_body(environ, self.admin.max_body_bytes)
            except TooLarge:
                return _message(
                    "Request too large", "Nothing was changed.", "413 Content Too Large"
                )
            except ValueError:
                return _message("Bad request", "The form could not be read.", "400 Bad Request")
            params = match.groupdict()
            account = params.get("account") or query.get("account", DEMO_ACCOUNT)
            if not _ACCOUNT.fullmatch(account):
                return _message("Not found", "No such account.", "404 Not Found")
            cookies = read_cookies(environ)
            rest = params.get("rest") or ""
            return handler(
                Request(method, path, account, query, form, cookies, files, raw_query, rest)
            )
        if allowed:
            return _message("Method not allowed", "", "405 Method Not Allowed")
        return _message("Not found", "No such page.", "404 Not Found")

    def scim_endpoint(self, environ: WSGIEnvironment, account: str, rest: str) -> Response:
        """The account's SCIM endpoint: the IdP's request in plain values to samljit's
        ScimService, which checks the bearer token first. No cookies, no CSRF token: an API."""
        try:
            body = read_raw(environ, self.scim.max_body_bytes)
        except TooLarge:
            return _scim_error(413, f"the body is over {self.scim.max_body_bytes} bytes")
        except ValueError:
            return _scim_error(400, "the body could not be read")
        answer = self.scim.handle(
            ScimRequest(
                method=environ["REQUEST_METHOD"],
                account_id=account,
                path=rest,
                base_url=self.scim_url(account),
                query=first_values(environ.get("QUERY_STRING", "")),
                authorization=environ.get("HTTP_AUTHORIZATION"),
                body=body,
            )
        )
        status = f"{answer.status} {HTTPStatus(answer.status).phrase}"
        content_type = answer.content_type or "application/scim+json"
        return Response(answer.body, status, list(answer.headers.items()), content_type)

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

    def _admin_of(self, request: Request) -> tuple[dict[str, Any], dict[str, str]] | None:
        """The session and {account_id, email} of a signed-in local administrator."""
        session = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        admin = session.get(ADMIN_KEY) if session else None
        return (session, admin) if session is not None and isinstance(admin, dict) else None

    def home(self, request: Request) -> Response:
        signed_in, admin = self._signed_in(request), self._admin_of(request)
        session = admin[0] if admin else signed_in[0] if signed_in else None
        if admin is not None:
            who = (
                f'<p id="signed-in">Signed in as {esc(ADMIN_EMAIL)} (Acme Admin, the local '
                f"administrator of account {esc(DEMO_ACCOUNT)}).</p>"
                f'<p><a id="sso-admin" href="/sso/admin/{DEMO_ACCOUNT}/">Single sign-on '
                "administration</a>: connect the IdP, test it, see the recent logins.</p>"
            )
        elif signed_in is not None:
            user = signed_in[1]
            who = (
                f'<p id="signed-in">Signed in as {esc(user.email)} ({esc(user.full_name or "")}, '
                f"{esc(user.role)}) in account {esc(user.account_id)}.</p>"
            )
        else:
            who = (
                '<p id="signed-in">Not signed in. Sign in from the <a href="/test-idp">test '
                "IdP</a>, or as the administrator who sets up single sign-on.</p>"
            )
        if session is not None:
            who += (
                '<form id="logout" method="post" action="/logout">'
                f'<input type="hidden" name="{CSRF_FIELD}" value="{esc(session[CSRF_FIELD])}">'
                "<button>Log out</button></form>"
            )
        if admin is None:
            who += (
                '<form id="admin-sign-in" method="post" action="/admin-sign-in"><button>'
                f"Sign in as the account administrator ({esc(ADMIN_EMAIL)})</button></form>"
            )
        return Response(_page("PixelCDN", who))

    def admin_sign_in(self, request: Request) -> Response:
        """The local administrator's sign-in (a demo's button; a real app asks a password)."""
        old = request.cookies.get(SESSION_COOKIE)
        if old:
            self.sessions.store.delete(old)
        admin = {"account_id": DEMO_ACCOUNT, "email": ADMIN_EMAIL}
        session_id = self.sessions.store.create(
            {ADMIN_KEY: admin, CSRF_FIELD: secrets.token_urlsafe(32)}
        )
        cookie = ("Set-Cookie", self._cookie(session_id))
        return _redirect(f"/sso/admin/{DEMO_ACCOUNT}/", headers=[cookie])

    def admin_page(self, request: Request) -> Response:
        """samljit's admin pages: the request in plain values, the session's token as CSRF
        check (the body was read up to ``AdminPages.max_body_bytes``)."""
        admin = self._admin_of(request)
        token = admin[0].get(CSRF_FIELD, "") if admin else ""
        answer = self.admin.handle(
            AdminRequest(
                method=request.method,
                account_id=request.account,
                path=request.rest,
                form=request.form,
                files=request.files,
                admin_id=admin[1]["email"] if admin else "",
                csrf_ok=request.method == "POST" and _token_ok(token, request.form),
                csrf_field=(
                    f'<input type="hidden" name="{CSRF_FIELD}" value="{esc(token)}">'
                    if token
                    else ""
                ),
                native=request,
                base=f"/sso/admin/{request.account}/",
            )
        )
        return _from_web(answer)

    def logout(self, request: Request) -> Response:
        """End the session, only when the POST carries the session's token: a page of
        another site can make the browser post here, but cannot read the token."""
        session_id = request.cookies.get(SESSION_COOKIE)
        session = self.sessions.get(session_id)
        if session is None or session_id is None:
            return _redirect("/")  # nothing to end
        if not _token_ok(session.get(CSRF_FIELD, ""), request.form):
            return _message(
                "Logout refused", "The logout form's token is missing.", "403 Forbidden"
            )
        self.sessions.store.delete(session_id)
        expired = f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"
        if self.base_url.startswith("https://"):
            expired += "; Secure"
        return _redirect("/", headers=[("Set-Cookie", expired)])

    def _cookie(self, session_id: str) -> str:
        cookie = f"{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax"
        return cookie + "; Secure" if self.base_url.startswith("https://") else cookie

    def acs(self, request: Request) -> Response:
        try:
            result = self.service.complete_login(request.form, account_id=request.account)
        except samljit.SamlError as exc:
            if exc.code == "test_login":
                # The answer to an administrator's Test connection: the admin pages' result
                # page reads it (same site, so the admin's SameSite=Lax cookie goes along).
                fields = {
                    k: v for k, v in request.form.items() if k in ("SAMLResponse", "RelayState")
                }
                action = f"/sso/admin/{request.account}/test/result"
                return _auto_post("test-result-post", action, fields, "Showing the test result")
            # The browser gets the code only; the log gets what an administrator needs.
            log.warning("SSO login to %s rejected: %s: %s", request.account, exc.code, exc.message)
            body = (
                f'<p>Single sign-on failed. Error code: <code id="error-code">{esc(exc.code)}'
                "</code>. Ask your account administrator.</p>"
            )
            return Response(_page("Sign-in failed", body), "403 Forbidden")
        user, outcome = result.user, _describe(result.outcome)
        self.last_login[user.email] = outcome
        body = f"""<p>Logged in as <b id="user-email">{esc(user.email)}</b>
(<span id="user-name">{esc(user.full_name or "")}</span>,
role <span id="user-role">{esc(user.role)}</span>) in account {esc(user.account_id)}.</p>
<p>Provisioning: <span id="outcome">{esc(result.outcome.action)}</span>
<span id="changes">{esc(_changes(result.outcome))}</span></p>
{_relay_state(result.relay_state)}"""
        cookie = ("Set-Cookie", self._cookie(str(result.session)))
        return Response(_page("Signed in", body), headers=[cookie])

    def test_idp_page(self, request: Request) -> Response:
        """The sign-in form; with a SAMLRequest (HTTP-Redirect), it answers that request."""
        in_response_to, relay_state = "", "/"
        if "SAMLRequest" in request.query:
            try:
                message = decode_redirect(request.query_string, max_bytes=MAX_AUTHN_REQUEST)
                in_response_to = _authn_request_id(message.xml)
            except (samljit.SamlError, ValueError, ElementTree.ParseError):
                return _message("Bad request", "Not an AuthnRequest.", "400 Bad Request")
            relay_state = message.relay_state or ""
        role_options = "".join(
            f'<option value="{esc(role)}"{" selected" if role == "developer" else ""}>'
            f"{esc(role)}</option>"
            for role in (*ROLES, "guest")
        )
        sp = self.sp_config(DEMO_ACCOUNT)
        answering = (
            f'<p id="authn-request">Answering the app\'s AuthnRequest <code>{esc(in_response_to)}'
            "</code> (SP-initiated, e.g. an administrator's Test connection).</p>"
            if in_response_to
            else ""
        )
        body = f"""<p>IdP entity ID <code>{esc(self.test_idp.entity_id)}</code>;
<a href="/test-idp/metadata.xml">metadata</a> to give the
<a href="/sso/admin/{esc(DEMO_ACCOUNT)}/connect">SSO admin pages</a>. Its app signs users in at
<code>{esc(sp.acs_url)}</code> (IdP-initiated). <code>guest</code> is a role the app does not
accept.</p>{answering}
<form id="login" method="post" action="/test-idp">
<input type="hidden" name="in_response_to" value="{esc(in_response_to)}">
<p><label>Email <input name="email" value="ada@acme.test"></label></p>
<p><label>Full name <input name="full_name" value="Ada Lovelace"></label></p>
<p><label>Role <select name="role">{role_options}</select></label></p>
<p><label>Account id (imagekit_id) <input name="imagekit_id" value="{esc(DEMO_ACCOUNT)}">
</label></p>
<p><label>RelayState <input name="relay_state" value="{esc(relay_state)}"></label></p>
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
            in_response_to=form.get("in_response_to") or None,
        )
        fields = {"SAMLResponse": issued.form_value}
        if relay_state := form.get("relay_state", ""):
            fields["RelayState"] = relay_state
        # What every IdP does for the HTTP-POST binding: a form the browser submits at once.
        return _auto_post("saml-post", sp.acs_url, fields, "Signing you in to PixelCDN")

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
            f"<td>{esc(self.last_login.get(u.email, ''))}</td>"
            f"<td>{'active' if u.active else 'deactivated'}</td></tr>"
            for u in self.users.users_of(account)
        )
        users = self.users.users_of(account)
        active = sum(1 for u in users if u.active)
        stale = len(self.service.stale_users(account, days=90))
        body = f"""<table id="users"><tr><th>Email</th><th>Name</th><th>Role</th>
<th>Last SSO login</th><th>Last login's outcome</th><th>Status</th></tr>{rows}</table>
<p id="active">Active users (what the plan counts): {active} of {len(users)}.</p>
<p id="stale">No SSO login for 90 days: {stale} user(s). An IdP that provisions by SCIM
deactivates the users it removes; without SCIM, delete such users here.</p>
<p>The recent logins and refusals, with their reasons, are on the
<a href="/sso/admin/{esc(account)}/">SSO status page</a> (for the account's administrator).</p>"""
        return Response(_page(f"Users of account {account}", body))


# --- helpers ------------------------------------------------------------------------------

_CSS = (
    "body{font:15px/1.4 system-ui,sans-serif;margin:2em;max-width:60em}"
    "td,th{padding:.2em .6em;text-align:left}code{background:#eee}"
)


def _page(title: str, body: str) -> str:
    """The layout; ``body`` is HTML whose every value the caller escaped."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>{_CSS}</style></head><body>
<nav><a href="/">PixelCDN</a> | <a href="/sso/admin/{DEMO_ACCOUNT}/">SSO admin</a> |
<a href="/test-idp">Test IdP</a> | <a href="/users">Users</a></nav>
<h1>{esc(title)}</h1>
{body}
</body></html>
"""


def _message(title: str, text: str, status: str) -> Response:
    return Response(_page(title, f"<p>{esc(text)}</p>"), status)


def _scim_error(status: int, detail: str) -> Response:
    """An RFC 7644 error document, for what is refused before the SCIM service sees it."""
    document = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(status),
        "detail": detail,
    }
    phrase = HTTPStatus(status).phrase
    return Response(json.dumps(document), f"{status} {phrase}", [], "application/scim+json")


def _redirect(location: str, *, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response("", "303 See Other", [("Location", location), *(headers or [])])


def _auto_post(form_id: str, action: str, fields: Mapping[str, str], text: str) -> Response:
    """A form the browser posts at once (the HTTP-POST binding's way of moving a message)."""
    hidden = "".join(
        f'<input type="hidden" name="{esc(name)}" value="{esc(value)}">'
        for name, value in fields.items()
    )
    body = f"""<form id="{form_id}" method="post" action="{esc(action)}">{hidden}
<p>{esc(text)}... <button>Continue</button></p></form>
<script>document.getElementById("{form_id}").submit();</script>"""
    return Response(_page(text, body))


def _from_web(answer: WebResponse) -> Response:
    """A response of samljit's admin pages as this app's."""
    headers = list(answer.headers.items())
    if answer.location is not None:
        headers.append(("Location", answer.location))
    status = f"{answer.status} {HTTPStatus(answer.status).phrase}"
    return Response(answer.body, status, headers, answer.content_type)


def _token_ok(token: object, form: Mapping[str, str]) -> bool:
    """Whether the POST carries the session's token: a page of another site can make the
    browser post, but cannot read the token (compared in constant time)."""
    sent = form.get(CSRF_FIELD, "")
    return isinstance(token, str) and bool(token) and secrets.compare_digest(token, sent)


def _authn_request_id(xml: bytes) -> str:
    """The ID of an AuthnRequest (at most MAX_AUTHN_REQUEST bytes, inflated)."""
    if b"<!DOCTYPE" in xml:  # no DTD, so no entity can be declared, let alone expanded
        raise ValueError("a DTD in an AuthnRequest")
    root = ElementTree.fromstring(xml)  # noqa: S314 - bounded, and refused with a DTD above
    request_id = root.get("ID")
    if root.tag != _AUTHN_REQUEST or not request_id:
        raise ValueError("not an AuthnRequest")
    return request_id


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


# --- serving ------------------------------------------------------------------------------


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
    server = Server((HOST, port), QuietRequestHandler if quiet else RequestHandler)
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
