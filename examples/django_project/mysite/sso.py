"""samljit glue: everything this project adds for SAML single sign-on with Just-In-Time
provisioning, with two lines in settings.py and one in urls.py (marked ``# samljit``).

The IdP's users land as ``django.contrib.auth`` users: email as username, the IdP's role
as a Group, its full name on ``user.sso_profile``.
"""

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.conf import settings

import samljit
from samljit.integrations.django import DjangoAccountStore, login_service, sp_config

DATA = settings.DATABASES["default"]["NAME"].parent  # next to the database
ROLES = ["account_administrator", "developer", "finance", "media_library_full_access"]
ROLES += ["media_library_view_only_access", "media_library_restricted_access"]
# The demo's IdP runs on this host: allow loopback (a customer's metadata URL may not).
FETCH = samljit.urllib_fetcher(allow_http=True, allow_private_addresses=True)


def service() -> samljit.LoginService:
    """The login service (``SAMLJIT_SERVICE`` in settings.py), built on first use."""
    return login_service(
        replay_cache=samljit.stores.SQLiteReplayCache(DATA / "samljit.sqlite3"),
        request_store=samljit.stores.SQLiteRequestStore(DATA / "samljit.sqlite3"),
        sp_key=load_pem_private_key((DATA / "sp-key.pem").read_bytes(), None),
        sp_certificate=x509.load_pem_x509_certificate((DATA / "sp-cert.pem").read_bytes()),
        account_for_domain=lambda domain: "acme",  # one customer: every email goes to acme
    )


def configure_acme(url: str) -> None:
    """Trust the IdP whose metadata is at ``url`` for account ``acme`` (in a multi-customer
    app, each account's administrator does this on a settings page)."""
    mapping = {"preset": "generic", "accepted_roles": ROLES, "account_attributes": ["imagekit_id"]}
    config = samljit.AccountConfig(
        account_id="acme",
        idp_metadata=FETCH(url, timeout=10, max_bytes=10**6),
        sp=sp_config(settings.BASE_URL, "acme"),
        mapping=samljit.ClaimMapping.from_dict(mapping),  # email = NameID; full_name, role
        policy=samljit.ProvisioningPolicy(create_users="always"),  # also on SP-initiated login
    )
    DjangoAccountStore().save(config)
