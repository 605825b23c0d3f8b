"""samljit glue: everything this project adds for SAML single sign-on with Just-In-Time
provisioning, and (below the marker) for its account administrators' SSO pages, with three
lines in settings.py and one in urls.py (marked ``# samljit``, ``# samljit admin pages``).

The IdP's users land as ``django.contrib.auth`` users: email as username, the IdP's role
as a Group, its account, role and full name on ``user.sso_profile``.
"""

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.conf import settings

import samljit
from samljit.history import record_logins
from samljit.integrations.django import admin_pages, login_service, sp_config

from .views import can_administer

DATA = settings.DATABASES["default"]["NAME"].parent  # next to the database
ROLES = ["account_administrator", "developer", "finance", "media_library_full_access"]
ROLES += ["media_library_view_only_access", "media_library_restricted_access"]
LOCAL_URLS = settings.ALLOW_LOCAL_METADATA_URLS  # e.g. a SimpleSAMLphp on 127.0.0.1
HISTORY = samljit.stores.SQLiteLoginHistory(DATA / "samljit.sqlite3")  # for the status page


def service() -> samljit.LoginService:
    """The login service (``SAMLJIT_SERVICE`` in settings.py), built on first use."""
    return login_service(
        replay_cache=samljit.stores.SQLiteReplayCache(DATA / "samljit.sqlite3"),
        request_store=samljit.stores.SQLiteRequestStore(DATA / "samljit.sqlite3"),
        sp_key=load_pem_private_key((DATA / "sp-key.pem").read_bytes(), None),
        sp_certificate=x509.load_pem_x509_certificate((DATA / "sp-cert.pem").read_bytes()),
        account_for_domain=lambda domain: "acme",  # one customer: every email goes to acme
        audit=record_logins(HISTORY),
        metadata_allow_http=LOCAL_URLS,  # for the metadata URLs given on the admin pages
        metadata_allow_private_addresses=LOCAL_URLS,
    )


# --- samljit glue (admin pages) ------------------------------------------------------------


def new_account(account_id: str) -> samljit.AccountConfig:
    """What an account starts from, until its administrator connects the IdP."""
    mapping = {"preset": "generic", "accepted_roles": ROLES, "account_attributes": ["imagekit_id"]}
    return samljit.AccountConfig(
        account_id=account_id,
        idp_metadata=b"",  # set when the administrator connects the IdP
        sp=sp_config(settings.BASE_URL, account_id),
        mapping=samljit.ClaimMapping.from_dict(mapping),  # email = NameID; full_name, role
        policy=samljit.ProvisioningPolicy(create_users="always"),  # also on SP-initiated login
    )


admin = admin_pages(  # the administrators' pages (SAMLJIT_ADMIN), at /sso/admin/<account>/
    can_administer=can_administer,
    new_account=new_account,
    history=HISTORY,
    allow_http=LOCAL_URLS,
    allow_private_addresses=LOCAL_URLS,
)
