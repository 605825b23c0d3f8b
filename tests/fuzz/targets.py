"""What the fuzzer feeds, and to what: fixed keys, seed documents, and one entry point per input.

The keys are files (``keys/*.pem``), not generated per run, so that a saved crasher replays the
same way: a response that reached code past its signature check reaches it again. Every target
takes the input's bytes and either returns or raises; only a ``SamlError`` may be raised.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

import samljit
from samljit.bindings import PrivateKey
from samljit.messages import serialize_signed
from samljit.testing import TestIdP

from ..conftest import INTEROP

HERE = Path(__file__).resolve().parent
KEYS = HERE / "keys"
CRASHERS = HERE / "crashers"
INTEROP_METADATA = INTEROP / "metadata"

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
SP_ENTITY_ID = "https://app.example.com/saml/acme"
ACS_URL = "https://app.example.com/saml/acme/acs"
SLO_URL = "https://app.example.com/saml/acme/slo"
IDP_ENTITY_ID = "https://idp.fuzz.test/metadata"
IDP_SLO_URL = "https://idp.fuzz.test/slo"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"


def _pair(name: str) -> tuple[Any, x509.Certificate]:
    pem = (KEYS / f"{name}.pem").read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    return key, x509.load_pem_x509_certificate(pem)


@dataclass(frozen=True)
class World:
    """The fixed cast: an IdP with an RSA key and a second (EC) key in its metadata, and an SP
    with an RSA decryption key."""

    idp: TestIdP
    next_certificate: x509.Certificate
    sp_key: rsa.RSAPrivateKey
    sp_certificate: x509.Certificate
    sp: samljit.SPConfig
    provider: samljit.IdentityProvider
    metadata: bytes


@cache
def world() -> World:
    idp_key, idp_certificate = _pair("idp")
    _, next_certificate = _pair("idp-next")
    sp_key, sp_certificate = _pair("sp")
    idp = TestIdP(IDP_ENTITY_ID, key=idp_key, certificate=idp_certificate, slo_url=IDP_SLO_URL)
    metadata = idp.metadata(extra_certificates=[next_certificate])
    provider = samljit.parse_idp_metadata(metadata, now=NOW).idp
    sp = samljit.SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL, slo_url=SLO_URL)
    return World(
        idp=idp,
        next_certificate=next_certificate,
        sp_key=cast(rsa.RSAPrivateKey, sp_key),
        sp_certificate=sp_certificate,
        sp=sp,
        provider=provider,
        metadata=metadata,
    )


# --- seeds -------------------------------------------------------------------------------

RESPONSE_KINDS = ("plain", "double_signed", "response_signed", "encrypted", "encrypted_signed")


def issue_response(kind: str, **knobs: Any) -> bytes:
    """A response that verifies for the fixed SP at NOW; ``knobs`` go to ``issue_response``."""
    w = world()
    options: dict[str, Any] = {
        "sp_entity_id": SP_ENTITY_ID,
        "acs_url": ACS_URL,
        "now": NOW,
        "name_id": "ada@acme.test",
        "attributes": {"full_name": ["Ada Lovelace"], "role": ["developer", "admin"]},
        "response_id": "_r0fuzz",
        "assertion_id": "_a0fuzz",
        "session_index": "_s0fuzz",
        "sign_response": kind in ("double_signed", "response_signed", "encrypted_signed"),
        "sign_assertion": kind != "response_signed",
    }
    if kind.startswith("encrypted"):
        options["encrypt_for"] = w.sp_certificate
    options.update(knobs)
    return w.idp.issue_response(**options).xml


def logout_xml(kind: str, *, signed: bool) -> bytes:
    """A LogoutRequest or LogoutResponse from the fixed IdP to the SP, signed for POST."""
    w = world()
    sender = samljit.SPConfig(entity_id=IDP_ENTITY_ID, acs_url="https://idp.fuzz.test/unused")
    key = w.idp.key if signed else None
    certificate = w.idp.certificate if signed else None
    if kind == "request":
        return samljit.logout.build_logout_request(
            sp=sender,
            destination=SLO_URL,
            name_id=samljit.NameID(
                value="ada@acme.test",
                format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            ),
            session_index="_s0fuzz",
            now=NOW,
            request_id="_l0fuzz",
            signing_key=key,
            signing_certificate=certificate,
        )[1]
    return samljit.logout.build_logout_response(
        sp=sender,
        destination=SLO_URL,
        in_response_to="_q0fuzz",
        now=NOW,
        response_id="_l1fuzz",
        signing_key=key,
        signing_certificate=certificate,
    )


def sign_enveloped(root: etree._Element, key: PrivateKey, certificate: x509.Certificate) -> bytes:
    """``root`` (a message or metadata) signed as samljit's builders sign: a placeholder goes
    after the Issuer (or first), then an enveloped signature over the root's ID."""
    placeholder = etree.Element(f"{{{NS_DS}}}Signature", Id="placeholder", nsmap={"ds": NS_DS})
    first = root[0] if len(root) else None
    at = 1 if first is not None and etree.QName(first).localname == "Issuer" else 0
    root.insert(at, placeholder)
    return serialize_signed(root, root.get("ID") or "", key, certificate)


def redirect_query(xml: bytes, parameter: str, *, relay_state: str | None = "/home") -> str:
    """The query string (after ``?``) carrying ``xml`` by the Redirect binding, signed with the
    fixed IdP key."""
    url = samljit.bindings.encode_redirect(
        xml,
        destination=SLO_URL,
        parameter=parameter,
        relay_state=relay_state,
        key=world().idp.key,
    )
    return url.partition("?")[2]


def signed_metadata(xml: bytes) -> bytes:
    """``xml`` (an EntityDescriptor without signature) signed by the fixed IdP key."""
    root = etree.fromstring(xml)
    root.set("ID", "_m0fuzz")
    return sign_enveloped(root, world().idp.key, world().idp.certificate)


def interop_metadata_files() -> list[Path]:
    """The real IdP metadata documents the fuzzer starts from."""
    return sorted(INTEROP_METADATA.glob("*.xml"))


# --- targets: bytes in, a result or a SamlError out ---------------------------------------


def run_response(data: bytes) -> None:
    w = world()
    samljit.verify_response_xml(
        data,
        idp=w.provider,
        sp=w.sp,
        now=NOW,
        allow_unsolicited=True,
        decryption_keys=[(w.sp_key, w.sp_certificate)],
    )


def run_response_form(data: bytes) -> None:
    """The SAMLResponse form value as a web framework hands it over: text, possibly with
    undecodable bytes escaped as lone surrogates."""
    w = world()
    samljit.verify_response(
        data.decode("utf-8", "surrogateescape"),
        idp=w.provider,
        sp=w.sp,
        now=NOW,
        replay_cache=samljit.MemoryReplayCache(),
        allow_unsolicited=True,
        decryption_keys=[(w.sp_key, w.sp_certificate)],
    )


def run_logout_post(data: bytes) -> None:
    """A logout message (XML) by the POST binding."""
    w = world()
    samljit.logout.read_logout_message(
        idp=w.provider,
        sp=w.sp,
        now=NOW,
        form_value=base64.b64encode(data).decode("ascii"),
        relay_state="/home",
    )


def run_logout_redirect(data: bytes) -> None:
    """A logout message by the Redirect binding: ``data`` is the whole query string."""
    w = world()
    samljit.logout.read_logout_message(
        idp=w.provider, sp=w.sp, now=NOW, query=data.decode("utf-8", "surrogateescape")
    )


def run_metadata(data: bytes) -> None:
    samljit.parse_idp_metadata(data, now=NOW)


def run_metadata_signed(data: bytes) -> None:
    """Metadata that must be signed by the pinned (fixed IdP) certificate."""
    samljit.parse_idp_metadata(data, now=NOW, signing_certificates=[world().idp.certificate])


class _Fetcher:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> bytes:
        return self.body


def run_metadata_source(data: bytes) -> None:
    """A refresh that fetches ``data`` after a good copy: never raises, keeps the good copy."""
    fetcher = _Fetcher(world().metadata)
    source = samljit.MetadataSource("https://idp.fuzz.test/metadata.xml", fetcher=fetcher)
    source.refresh(now=NOW)
    fetcher.body = data
    result = source.refresh(now=NOW)
    assert result.serving, "a refresh lost the good copy"
    assert source.current(now=NOW) is not None
    if not result.ok:
        raise result.error or samljit.errors.MetadataInvalid(result.message)


class _Revoker:
    def revoke(self, *, account_id: str, email: str, session_indexes: tuple[str, ...]) -> int:
        return 1


class _Sessions:
    def issue(self, user: samljit.UserRecord, context: samljit.LoginContext) -> str:
        return "session"


def service() -> samljit.LoginService:
    """A login service for account ``acme`` of the fixed IdP, with fresh in-memory stores, so
    that each input is judged on its own (no replay from the previous one)."""
    w = world()
    config = samljit.AccountConfig(
        account_id="acme",
        idp_metadata=w.metadata,
        sp=w.sp,
        mapping=samljit.ClaimMapping.from_dict({"accepted_roles": ["developer", "admin"]}),
    )
    return samljit.LoginService(
        accounts=samljit.MemoryAccountStore([config]),
        users=samljit.MemoryUserStore(),
        sessions=_Sessions(),
        replay_cache=samljit.MemoryReplayCache(),
        clock=lambda: NOW,
        request_store=samljit.MemoryRequestStore(),
        session_revoker=_Revoker(),
        sp_key=w.sp_key,
        sp_certificate=w.sp_certificate,
        decryption_keys=[(w.sp_key, w.sp_certificate)],
    )


def run_login(data: bytes) -> None:
    """A response (XML) POSTed to the ACS: ``complete_login``, claims and provisioning."""
    service().complete_login(
        {"SAMLResponse": base64.b64encode(data).decode("ascii"), "RelayState": "/home"},
        account_id="acme",
    )


def run_login_shared(data: bytes) -> None:
    """The same at a shared ACS (``account_id=None``): the account is found by the Issuer."""
    service().complete_login(
        {"SAMLResponse": base64.b64encode(data).decode("ascii")}, account_id=None
    )


def run_slo_post(data: bytes) -> None:
    """A logout message (XML) POSTed to the SLO endpoint: ``handle_logout``."""
    form = {"SAMLRequest": base64.b64encode(data).decode("ascii"), "RelayState": "/home"}
    if b"LogoutResponse" in data:
        form["SAMLResponse"] = form.pop("SAMLRequest")
    service().handle_logout("acme", form=form)


def run_slo_redirect(data: bytes) -> None:
    """A query string sent to the SLO endpoint: ``handle_logout``."""
    service().handle_logout("acme", query=data.decode("utf-8", "surrogateescape"))


TARGETS: dict[str, Callable[[bytes], None]] = {
    "login": run_login,
    "login_shared": run_login_shared,
    "slo_post": run_slo_post,
    "slo_redirect": run_slo_redirect,
    "response": run_response,
    "response_form": run_response_form,
    "logout_post": run_logout_post,
    "logout_redirect": run_logout_redirect,
    "metadata": run_metadata,
    "metadata_signed": run_metadata_signed,
    "metadata_source": run_metadata_source,
}
