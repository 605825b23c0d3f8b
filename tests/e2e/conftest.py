"""A real SAML IdP for the end-to-end tests: SimpleSAMLphp from Debian's packages.

The ``simplesamlphp`` fixture (one per test session) runs it with :func:`tests.e2e.ssp.start`
from a temporary directory, with the users in :data:`USERS`, the hand-written SP entries of
``simplesamlphp/saml20-sp-remote.php``, one SP known only from the metadata XML samljit
generates and one known only from the values typed into its console; the server is stopped
by its process ID at the end. Install the packages with ``.ci/simplesamlphp.sh``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields

import pytest

import samljit

from .ssp import IdPUser, KeyPair, make_key_pair, start
from .ssp import SimpleSAMLphp as RunningSimpleSAMLphp

__all__ = ["SimpleSAMLphp", "make_key_pair"]

EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
# The SP entries of simplesamlphp/saml20-sp-remote.php (keep in step with that file).
SP_ASSERTION_SIGNED = "https://sp.samljit.test/acme"
SP_RESPONSE_SIGNED = "https://sp.samljit.test/acme-signed-response"
SP_RESPONSE_ONLY = "https://sp.samljit.test/acme-response-only"
# The SP that SimpleSAMLphp knows only from samljit.messages.build_sp_metadata's XML
# (metadata/sp/samljit-sp.xml): AuthnRequestsSigned, so SimpleSAMLphp verifies the signature
# of every request from it.
SP_GENERATED_METADATA = "https://sp.samljit.test/acme-sp-initiated"
# Single Logout entries (hand-written, with the SP's certificate sp.crt): one whose SLO
# endpoint takes only HTTP-POST, one to which SimpleSAMLphp sends unsigned logout messages.
SP_POST_LOGOUT = "https://sp.samljit.test/acme-post-logout"
SP_UNSIGNED_LOGOUT = "https://sp.samljit.test/acme-unsigned-logout"
# The SP that SimpleSAMLphp knows only from the values an administrator types into its console
# (register_sp_values: entity ID, ACS URL, SLO URL, NameID format; no certificate).
SP_CONSOLE = "https://sp.samljit.test/acme-console"
ACS_URLS = {
    SP_ASSERTION_SIGNED: "http://127.0.0.1:9/sso/acme/acs",
    SP_RESPONSE_SIGNED: "http://127.0.0.1:9/sso/acme-signed-response/acs",
    SP_RESPONSE_ONLY: "http://127.0.0.1:9/sso/acme-response-only/acs",
    SP_GENERATED_METADATA: "http://127.0.0.1:9/sso/acme-sp-initiated/acs",
    SP_POST_LOGOUT: "http://127.0.0.1:9/sso/acme-post-logout/acs",
    SP_UNSIGNED_LOGOUT: "http://127.0.0.1:9/sso/acme-unsigned-logout/acs",
    SP_CONSOLE: "http://127.0.0.1:9/sso/acme-console/acs",
}
SLO_URL = "http://127.0.0.1:9/sso/acme-sp-initiated/slo"
SLO_URLS = {
    SP_GENERATED_METADATA: SLO_URL,
    SP_POST_LOGOUT: "http://127.0.0.1:9/sso/acme-post-logout/slo",
    SP_UNSIGNED_LOGOUT: "http://127.0.0.1:9/sso/acme-unsigned-logout/slo",
    SP_CONSOLE: "http://127.0.0.1:9/sso/acme-console/slo",
}
SP_ORIGIN = "http://127.0.0.1:9"
"""Where the SP would be: nothing listens there, the browser never goes there."""


# The users of the IdP's login form, with the attributes the image-CDN product's SAML app
# receives (see DEVELOPERS.md / issue 5). ada and ada-promoted are the same person (same
# email) as the IdP sees her before and after an administrator changes her role and name:
# logging in as one, then the other, is a role change for samljit.
USERS = (
    IdPUser(
        username="ada",
        password="ada-password",
        attributes={
            "uid": ["ada"],
            "email": ["ada@acme.test"],
            "full_name": ["Ada Lovelace"],
            "role": ["developer"],
            "imagekit_id": ["acme"],
        },
    ),
    IdPUser(
        username="ada-promoted",
        password="ada-password",
        attributes={
            "uid": ["ada"],
            "email": ["ada@acme.test"],
            "full_name": ["Ada King, Countess of Lovelace"],
            "role": ["account_administrator"],
            "imagekit_id": ["acme"],
        },
    ),
    IdPUser(
        username="grace",
        password="grace-password",
        attributes={
            "uid": ["grace"],
            "email": ["Grace.Hopper@Acme.test"],
            "full_name": ["Grace Hopper"],
            "role": ["account_administrator"],
            "imagekit_id": ["acme"],
        },
    ),
    IdPUser(
        username="mallory",
        password="mallory-password",
        attributes={
            "uid": ["mallory"],
            "email": ["mallory@globex.test"],
            "full_name": ["Mallory Globex"],
            "role": ["developer"],
            "imagekit_id": ["globex"],
        },
    ),
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "e2e: end-to-end test against a real IdP (SimpleSAMLphp; install it with "
        ".ci/simplesamlphp.sh)",
    )


@dataclass(frozen=True, slots=True)
class SimpleSAMLphp(RunningSimpleSAMLphp):
    """The running IdP, and the key pair of the SP it knows from samljit's metadata XML."""

    sp_key: KeyPair = field(kw_only=True)
    """The signing key pair of SP_GENERATED_METADATA (its certificate is in that metadata)."""
    sp_metadata_xml: bytes = field(kw_only=True)
    """samljit's SP metadata for SP_GENERATED_METADATA, as SimpleSAMLphp reads it."""


@pytest.fixture(scope="session")
def simplesamlphp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleSAMLphp]:
    idp_key = make_key_pair("SimpleSAMLphp e2e IdP")
    sp_key = make_key_pair("samljit e2e SP")
    sp_metadata_xml = samljit.messages.build_sp_metadata(
        entity_id=SP_GENERATED_METADATA,
        acs_url=ACS_URLS[SP_GENERATED_METADATA],
        slo_url=SLO_URL,
        signing_certificate=sp_key.certificate,
    )
    with start(
        tmp_path_factory.mktemp("simplesamlphp"),
        idp_key=idp_key,
        users=USERS,
        # The SP's certificate for the hand-written SP entries ('certificate' => 'sp.crt').
        certificates={"sp.crt": sp_key.cert_pem},
        sp_metadata={"samljit-sp": sp_metadata_xml},
    ) as server:
        server.register_sp_values(
            SP_CONSOLE,
            acs_url=ACS_URLS[SP_CONSOLE],
            slo_url=SLO_URLS[SP_CONSOLE],
            name_id_format=EMAIL_FORMAT,
        )
        running = {f.name: getattr(server, f.name) for f in fields(RunningSimpleSAMLphp)}
        yield SimpleSAMLphp(**running, sp_key=sp_key, sp_metadata_xml=sp_metadata_xml)
