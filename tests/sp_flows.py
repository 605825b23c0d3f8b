"""Helpers for the SP-initiated login and Single Logout tests: a host app around the login
service under test, and independent readers of what the SP sends to the IdP.

The readers here do not call samljit: they split, inflate and verify Redirect-binding URLs
with the standard library and ``cryptography`` (SAML bindings 3.4.4.1), so a test of the SP's
output does not trust the code it tests.
"""

from __future__ import annotations

import base64
import contextlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from lxml import etree

from samljit import AccountConfig, ClaimMapping, LoginService, SPConfig, UserRecord
from samljit._xml import NS_MD
from samljit.logout import build_logout_response
from samljit.stores.memory import MemoryAccountStore, MemoryReplayCache, MemoryUserStore
from samljit.testing import FixedClock, RecordingSessionIssuer

from .conftest import ACS_URL, NOW, SP_ENTITY_ID

SLO_URL = "https://app.example.com/saml/acme/slo"
SP = SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL, slo_url=SLO_URL)
MAPPING = ClaimMapping.from_dict({"accepted_roles": ["developer", "finance"]})
NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "md": NS_MD,
}
SIGALG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SIGALG_ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"


class RecordingRevoker:
    """A SessionRevoker that remembers each call and says it ended ``ended`` sessions."""

    def __init__(self, ended: int = 1) -> None:
        self.calls: list[dict[str, Any]] = []
        self.ended = ended

    def revoke(self, *, account_id: str, email: str, session_indexes: tuple[str, ...]) -> int:
        self.calls.append(
            {"account_id": account_id, "email": email, "session_indexes": session_indexes}
        )
        return self.ended


def ada(account_id: str = "acme", email: str = "ada@acme.test", user_id: str = "1") -> UserRecord:
    """An existing user (by default Ada, a developer of acme)."""
    return UserRecord(
        user_id=user_id,
        email=email,
        account_id=account_id,
        full_name="Ada Lovelace",
        role="developer",
    )


def account(account_id: str, metadata: bytes, **changes: Any) -> AccountConfig:
    changes.setdefault("sp", SP)
    changes.setdefault("mapping", MAPPING)
    return AccountConfig(account_id=account_id, idp_metadata=metadata, **changes)


@dataclass
class App:
    """A host app: in-memory users and accounts, the request store under test, a service."""

    request_store: Any
    accounts: MemoryAccountStore
    users: MemoryUserStore = field(default_factory=lambda: MemoryUserStore([ada()]))
    replay_cache: MemoryReplayCache = field(default_factory=MemoryReplayCache)
    sessions: RecordingSessionIssuer = field(default_factory=RecordingSessionIssuer)
    revoker: RecordingRevoker = field(default_factory=RecordingRevoker)
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    options: dict[str, Any] = field(default_factory=dict)
    login_service: Callable[..., LoginService] = LoginService
    """The service under test (the ``login_service`` fixture): sync or async."""
    service: LoginService = field(init=False)

    def __post_init__(self) -> None:
        self.rebuild()

    def rebuild(self, **options: Any) -> LoginService:
        """(Re)create the service with ``options`` added to the constructor arguments."""
        self.options.update(options)
        arguments: dict[str, Any] = {
            "accounts": self.accounts,
            "users": self.users,
            "sessions": self.sessions,
            "replay_cache": self.replay_cache,
            "clock": self.clock,
            "request_store": self.request_store,
            "session_revoker": self.revoker,
            **self.options,
        }
        self.service = self.login_service(**arguments)
        return self.service

    def snapshot(self) -> tuple[object, ...]:
        users = sorted(
            [*self.users.users_of("acme"), *self.users.users_of("globex")],
            key=lambda u: u.email,
        )
        return (users, len(self.replay_cache), len(self.sessions.issued))

    @contextlib.contextmanager
    def writes_nothing(self) -> Iterator[None]:
        """No user created or changed, no assertion recorded, no session issued."""
        before = self.snapshot()
        yield
        assert self.snapshot() == before


class LosingRaceStore:
    """A RequestStore whose every request is used up by another worker between the
    service's ``get`` and its ``consume`` (``consume`` returns False)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def save(self, request: Any) -> None:
        self.inner.save(request)

    def get(self, request_id: str) -> Any:
        return self.inner.get(request_id)

    def consume(self, request_id: str, *, now: datetime) -> bool:
        self.inner.consume(request_id, now=now)
        return False


# --- reading what the SP sends -----------------------------------------------------------


def raw_params(url_or_query: str) -> list[tuple[str, str]]:
    """The query's parameters in order, values still URL-encoded as sent."""
    query = (
        urlsplit(url_or_query).query
        if url_or_query.startswith(("https://", "http://"))
        else url_or_query
    )
    pairs = []
    for piece in query.split("&"):
        name, _, value = piece.partition("=")
        pairs.append((name, value))
    return pairs


def params(url_or_query: str) -> dict[str, str]:
    """The query's parameters, decoded; each must occur once."""
    pairs = raw_params(url_or_query)
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"a parameter occurs twice: {names}"
    return {unquote(name): unquote_plus(value) for name, value in pairs}


def inflate(value: str) -> bytes:
    """Base64-decode and raw-INFLATE a Redirect-binding message (bindings 3.4.4.1)."""
    return zlib.decompress(base64.b64decode(value, validate=True), -zlib.MAX_WBITS)


def deflate(xml: bytes) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode("ascii")


def redirect_message(url: str, parameter: str = "SAMLRequest") -> etree._Element:
    return etree.fromstring(inflate(params(url)[parameter]))


def verify_query_signature(url_or_query: str, certificate: x509.Certificate) -> str:
    """Check the Redirect-binding query signature with ``certificate``; return the SigAlg.

    The signed octets are ``SAMLRequest|SAMLResponse=…[&RelayState=…]&SigAlg=…`` exactly as
    URL-encoded in the query (bindings 3.4.4.1). Raises InvalidSignature when it fails.
    """
    raw = dict(raw_params(url_or_query))
    message = "SAMLRequest" if "SAMLRequest" in raw else "SAMLResponse"
    signed = "&".join(
        f"{name}={raw[name]}" for name in (message, "RelayState", "SigAlg") if name in raw
    ).encode("ascii")
    algorithm = unquote(raw["SigAlg"])
    signature = base64.b64decode(unquote(raw["Signature"]), validate=True)
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        assert algorithm == SIGALG_RSA_SHA256
        key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert isinstance(key, ec.EllipticCurvePublicKey)
        assert algorithm == SIGALG_ECDSA_SHA256
        key.verify(signature, signed, ec.ECDSA(hashes.SHA256()))
    return algorithm


def logout_response_xml(**options: Any) -> bytes:
    """The XML of :func:`samljit.logout.build_logout_response`."""
    return build_logout_response(**options)


def form_message(form_fields: Any, parameter: str = "SAMLRequest") -> etree._Element:
    return etree.fromstring(base64.b64decode(form_fields[parameter], validate=True))


# --- IdP metadata variants -----------------------------------------------------------------


def metadata_without(metadata: bytes, *, element: str, binding: str) -> bytes:
    """``metadata`` with every ``md:<element>`` of ``binding`` removed."""
    root = etree.fromstring(metadata)
    for found in root.iter(f"{{{NS_MD}}}{element}"):
        if found.get("Binding") == binding:
            found.getparent().remove(found)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def metadata_with_response_location(metadata: bytes, location: str) -> bytes:
    """``metadata`` whose SingleLogoutService endpoints take responses at ``location``."""
    root = etree.fromstring(metadata)
    for found in root.iter(f"{{{NS_MD}}}SingleLogoutService"):
        found.set("ResponseLocation", location)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
