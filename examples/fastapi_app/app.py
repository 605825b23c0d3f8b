"""An existing FastAPI app that adds SAML single sign-on with Just-In-Time provisioning.

Run it with one command from the repository root (``make example-fastapi`` also starts a
SimpleSAMLphp IdP for it)::

    IDP_METADATA_URL=https://idp.example.com/metadata PORT=8000 python examples/fastapi_app/app.py

Environment: ``PORT`` (127.0.0.1:PORT), ``IDP_METADATA_URL`` (the IdP of account ``acme``),
``DATABASE`` (the SQLite file; the SP key pair is kept beside it). Everything between the
"samljit glue" markers is what SSO costs the app. Stores that block (SQLite, SQLAlchemy) run
on worker threads through ``in_thread``; verification runs off the event loop too.
"""

import html
import os
import urllib.request
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import create_engine

# --- samljit glue (imports) ------------------------------------------------------------
import samljit
from samljit.integrations import fastapi as sso
from samljit.stores.sqlalchemy import SQLAlchemyUserStore
from samljit.stores.sqlite import SQLiteAccountStore, SQLiteReplayCache, SQLiteRequestStore

# --- end of samljit glue (imports) -----------------------------------------------------

PORT = int(os.environ.get("PORT", "8000"))
BASE_URL = f"http://127.0.0.1:{PORT}"
DATABASE = Path(os.environ.get("DATABASE", "fastapi_app.sqlite")).resolve()

app = FastAPI()
# The app's own sessions, server-side: the cookie holds a random ID only, and logout (here or
# at the IdP) or 2 idle hours end the session for good. Any server-side session library does.
sessions = sso.MemorySessionStore()
app.add_middleware(sso.ServerSessionMiddleware, store=sessions)
engine = create_engine(f"sqlite:///{DATABASE}")
ROLES = [
    "account_administrator",
    "developer",
    "media_library_full_access",
    "media_library_view_only_access",
    "media_library_restricted_access",
    "finance",
]
# Configuration, not code: which claims carry the email, name, role and account.
MAPPING = {"preset": "generic", "accepted_roles": ROLES, "account_attributes": ["imagekit_id"]}

# --- samljit glue -------------------------------------------------------------------------


class Sessions:  # logs the provisioned user in to the app's own session
    def issue(self, user: samljit.UserRecord, context: samljit.LoginContext) -> str:
        sso.current_request().session["email"] = user.email
        return user.email


users, accounts = SQLAlchemyUserStore(engine), SQLiteAccountStore(DATABASE)
key, cert = samljit.load_or_create_key_pair(f"{DATABASE}.key", f"{DATABASE}.crt", common_name="sp")
service = samljit.AsyncLoginService(
    accounts=samljit.in_thread(accounts),
    users=samljit.in_thread(users),
    sessions=Sessions(),
    replay_cache=samljit.in_thread(SQLiteReplayCache(DATABASE)),
    request_store=samljit.in_thread(SQLiteRequestStore(DATABASE)),
    sp_key=key,
    sp_certificate=cert,
    session_revoker=sessions,  # the IdP's Single Logout ends the user's sessions
    account_for_domain={"acme.test": "acme"}.get,  # the account's verified email domains
)
saml = sso.SamlSso(service, app=app)
acme = samljit.AccountConfig(  # in a real app, the account administrator's settings page
    account_id="acme",
    sp=sso.sp_config(BASE_URL, "acme"),
    idp_metadata=urllib.request.urlopen(os.environ["IDP_METADATA_URL"]).read(),  # noqa: S310
    mapping=samljit.ClaimMapping.from_dict(MAPPING),
    policy=samljit.ProvisioningPolicy(create_users="always"),  # first logins from the SSO page
)
accounts.save(acme)
# --- end of samljit glue ------------------------------------------------------------------


@app.get("/", response_class=HTMLResponse)
def home(request: Request) -> str:
    email = request.session.get("email")
    user = users.get_by_email(email) if email else None
    if user is None:
        return '<h1>PixelCDN</h1><p>Not signed in. <a href="/sso/">Sign in with SSO</a></p>'
    return (
        f'<h1>PixelCDN</h1><p>Signed in as <span id="email">{html.escape(user.email)}</span> '
        f'(<span id="full-name">{html.escape(user.full_name or "")}</span>, '
        f'<span id="role">{html.escape(user.role)}</span>)</p>'
        f"{saml.logout_form(request)}"  # the logout button, with this session's logout token
        '<p><a href="/users">Users</a></p>'
    )


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
