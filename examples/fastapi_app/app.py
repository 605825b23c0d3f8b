"""An existing FastAPI app that adds SAML single sign-on with Just-In-Time provisioning, and the
pages on which its customers' administrators set single sign-on up themselves.

Run it with one command from the repository root (``make example-fastapi`` also starts a
SimpleSAMLphp IdP for it)::

    ADMIN_PASSWORD=change-me PORT=8000 python examples/fastapi_app/app.py

then sign in at /login as ``admin@acme.test`` and connect the IdP at /sso/admin/acme/.

Environment: ``PORT`` (127.0.0.1:PORT), ``DATABASE`` (the SQLite file; the SP key pair is kept
beside it), ``ADMIN_PASSWORD`` (of the local administrator ``admin@acme.test``; when unset, a
random one is printed on stderr), ``IDP_METADATA_URL`` (optional: account ``acme`` is
connected to this IdP at start), ``ALLOW_LOCAL_METADATA_URLS=1`` (the admin pages also fetch
http and private-address metadata URLs, such as a SimpleSAMLphp on 127.0.0.1). Everything
between the "samljit glue" markers is what SSO and the admin pages cost the app. Stores that
block (SQLite, SQLAlchemy) run on worker threads through ``in_thread``; verification runs off
the event loop too, and so do the admin pages.
"""

import dataclasses
import hmac
import html
import os
import secrets
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import create_engine

# --- samljit glue (imports) ------------------------------------------------------------
import samljit
from samljit.history import record_logins
from samljit.integrations import fastapi as sso
from samljit.integrations.admin import AdminPages
from samljit.stores.sqlalchemy import SQLAlchemyUserStore

# --- end of samljit glue (imports) -----------------------------------------------------

PORT = int(os.environ.get("PORT", "8000"))
BASE_URL = f"http://127.0.0.1:{PORT}"
DATABASE = Path(os.environ.get("DATABASE", "fastapi_app.sqlite")).resolve()
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@acme.test", os.environ.get("ADMIN_PASSWORD", "")
if not ADMIN_PASSWORD:
    ADMIN_PASSWORD = secrets.token_urlsafe(12)
    print(f"{ADMIN_EMAIL}'s password: {ADMIN_PASSWORD}", file=sys.stderr, flush=True)
LOCAL_URLS = os.environ.get("ALLOW_LOCAL_METADATA_URLS") == "1"

app = FastAPI()
# The app's own sessions, server-side: the cookie holds a random ID only, and logout (here or
# at the IdP) or 2 idle hours end the session for good. Any server-side session library does.
sessions = sso.MemorySessionStore()
app.add_middleware(sso.ServerSessionMiddleware, store=sessions)
engine = create_engine(f"sqlite:///{DATABASE}")
ADMIN_ROLE = "account_administrator"
ROLES = [
    ADMIN_ROLE,
    "developer",
    "media_library_full_access",
    "media_library_view_only_access",
    "media_library_restricted_access",
    "finance",
]
# Configuration, not code: which claims carry the email, name, role and account.
MAPPING = {"preset": "generic", "accepted_roles": ROLES, "account_attributes": ["imagekit_id"]}


def current_user(request: Request) -> samljit.UserRecord | None:
    email = request.session.get("email")
    return users.get_by_email(email) if email else None


def can_administer(request: Request, account_id: str) -> bool:  # the app's own rule
    user = current_user(request)
    return user is not None and (user.account_id, user.role) == (account_id, ADMIN_ROLE)


def password_ok(username: str, password: str) -> bool:  # compared in constant time
    return username == ADMIN_EMAIL and hmac.compare_digest(
        password.encode(), ADMIN_PASSWORD.encode()
    )


# --- samljit glue -------------------------------------------------------------------------


class Sessions:  # logs the provisioned user in to the app's own session
    def issue(self, user: samljit.UserRecord, context: samljit.LoginContext) -> str:
        sso.current_request().session["email"] = user.email
        return user.email


users, accounts = SQLAlchemyUserStore(engine), samljit.stores.SQLiteAccountStore(DATABASE)
history = samljit.stores.SQLiteLoginHistory(DATABASE)  # recent sign-ins, for the admin pages
key, cert = samljit.load_or_create_key_pair(f"{DATABASE}.key", f"{DATABASE}.crt", common_name="sp")
service = samljit.AsyncLoginService(
    accounts=samljit.in_thread(accounts),
    users=samljit.in_thread(users),
    sessions=Sessions(),
    replay_cache=samljit.in_thread(samljit.stores.SQLiteReplayCache(DATABASE)),
    request_store=samljit.in_thread(samljit.stores.SQLiteRequestStore(DATABASE)),
    sp_key=key,
    sp_certificate=cert,
    session_revoker=sessions,  # the IdP's Single Logout ends the user's sessions
    account_for_domain={"acme.test": "acme"}.get,  # the account's verified email domains
    audit=record_logins(history),
    metadata_allow_http=LOCAL_URLS,  # for the metadata URLs given on the admin pages
    metadata_allow_private_addresses=LOCAL_URLS,
)
# --- end of samljit glue ------------------------------------------------------------------

# --- samljit glue (admin pages) -----------------------------------------------------------


def new_account(account_id: str) -> samljit.AccountConfig:  # before its IdP is connected
    return samljit.AccountConfig(
        account_id=account_id,
        idp_metadata=b"",  # the account's administrator connects the IdP on the admin pages
        sp=sso.sp_config(BASE_URL, account_id),
        mapping=samljit.ClaimMapping.from_dict(MAPPING),
        policy=samljit.ProvisioningPolicy(create_users="always"),  # first logins from /sso/
    )


admin = AdminPages(  # at /sso/admin/{account}/, on worker threads
    accounts=accounts,
    can_administer=can_administer,
    new_account=new_account,
    history=history,
    service=sso.blocking(service),  # Test connection, the SP metadata, the URL's refresh state
    allow_http=LOCAL_URLS,
    allow_private_addresses=LOCAL_URLS,
)
saml = sso.SamlSso(service, app=app, admin=admin, admin_id=lambda r: r.session.get("email", ""))
# --- end of samljit glue (admin pages) ----------------------------------------------------

if users.get_by_email(ADMIN_EMAIL) is None:  # the administrator who was there before SSO
    admin_user = samljit.NewUser(
        email=ADMIN_EMAIL, account_id="acme", full_name="Acme Admin", role=ADMIN_ROLE
    )
    users.create(admin_user, now=datetime.now(UTC))
if "IDP_METADATA_URL" in os.environ:  # a shortcut for demos and tests: what /connect does
    metadata = urllib.request.urlopen(os.environ["IDP_METADATA_URL"]).read()  # noqa: S310
    accounts.save(dataclasses.replace(new_account("acme"), idp_metadata=metadata))


@app.get("/", response_class=HTMLResponse)
def home(request: Request) -> str:
    user = current_user(request)
    if user is None:
        return (
            '<h1>PixelCDN</h1><p>Not signed in. <a href="/sso/">Sign in with SSO</a> or '
            '<a href="/login">with a password</a></p>'
        )
    page = (
        f'<h1>PixelCDN</h1><p>Signed in as <span id="email">{html.escape(user.email)}</span> '
        f'(<span id="full-name">{html.escape(user.full_name or "")}</span>, '
        f'<span id="role">{html.escape(user.role)}</span>)</p>'
        f"{saml.logout_form(request)}"  # the logout button, with this session's logout token
        '<p><a href="/users">Users</a></p>'
    )
    if can_administer(request, user.account_id):
        page += f'<p><a id="sso-admin" href="/sso/admin/{user.account_id}/">Single sign-on</a></p>'
    return page


@app.get("/login", response_class=HTMLResponse)
def login_form() -> str:
    return (
        '<h1>Sign in</h1><form method="post"><label>Email <input id="username" '
        'name="username" autocomplete="username"></label> <label>Password <input '
        'id="password" name="password" type="password" autocomplete="current-password">'
        '</label> <button id="login" type="submit">Sign in</button></form>'
    )


@app.post("/login")
def login(
    request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = ""
) -> Response:
    """The app's own password sign-in (here for its one local administrator)."""
    if not password_ok(username, password):
        return HTMLResponse('<h1>Sign-in failed</h1><p><a href="/login">Try again</a></p>', 403)
    request.session.rotate()  # a new session ID for the signed-in user (no session fixation)
    request.session["email"] = ADMIN_EMAIL
    return RedirectResponse("/", 303)


@app.get("/users", response_class=HTMLResponse)
def user_list() -> str:
    rows = "".join(
        f'<tr data-email="{html.escape(u.email)}"><td>{html.escape(u.email)}</td>'
        f'<td class="full-name">{html.escape(u.full_name or "")}</td>'
        f'<td class="role">{html.escape(u.role)}</td></tr>'
        for u in users.users_of("acme")
    )
    return f"<h1>Users of acme</h1><table>{rows}</table>"


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning")
