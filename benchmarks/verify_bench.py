"""Side-by-side benchmark: verify a signed SAML Response and extract NameID + attributes.

Libraries compared in one run, on the same freshly signed responses:

* samljit       ``samljit.verify_response`` (full SAML checks, replay cache included)
* floor         the unavoidable work, written here with lxml and ``cryptography``: base64
                decode, parse, exclusive c14n of SignedInfo + one signature check per
                signature, enveloped transform + exclusive c14n + SHA-256 compare, (d) RSA-OAEP
                + AES decryption, then NameID and attributes. No SAML checks at all.
* signxml       bare ``signxml.XMLVerifier().verify`` of each signature, no SAML checks
* python3-saml  ``OneLogin_Saml2_Response(...).is_valid`` + ``get_nameid``/``get_attributes``
* pysaml2       ``Saml2Client.parse_authn_request_response`` (shells out to ``xmlsec1``)
* minisaml      ``minisaml.response.validate_response``

Every library is first checked to accept the response and extract the expected NameID and
attributes; only then is it timed. Timing interleaves the libraries in rounds (so load from
other processes on the machine hits every column alike), times each call on its own with
``time.perf_counter_ns`` and reports the median per-call time in microseconds.

Run through ``benchmarks/run.sh``, which builds the venv holding all the peers.
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import importlib.metadata
import json
import logging
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

SP_ENTITY_ID = "https://app.example.com/saml/metadata"
ACS_URL = "https://app.example.com/saml/acs"
IDP_ENTITY_ID = "https://idp.example.com/metadata"
IDP_SSO_URL = "https://idp.example.com/app/sso/saml"
NAME_ID = "ada.lovelace@example.com"

VALIDITY = timedelta(minutes=5)
# Re-issue the responses when less than this is left of their validity window, so that
# peers reading the wall clock never see them expire mid-run.
REISSUE_MARGIN = timedelta(seconds=90)

NS_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS_SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"

NS_XENC = "http://www.w3.org/2001/04/xmlenc#"
NS_XENC11 = "http://www.w3.org/2009/xmlenc11#"

TARGETS = {  # ratio samljit / peer on shape (a) that the table is read against (issue 16)
    "floor": 2.0,
    "signxml": 1.15,
    "python3-saml": 0.15,
    "pysaml2": 0.02,
    "minisaml": 1.0,  # below minisaml, which checks less
}

PEER_ORDER = ("samljit", "floor", "signxml", "python3-saml", "pysaml2", "minisaml")


# --------------------------------------------------------------------------------------
# Response shapes
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    key: str
    label: str
    sign_response: bool
    sign_assertion: bool
    attributes: Mapping[str, Sequence[str]]
    encrypted: bool = False  # the signed assertion then encrypted for the SP (shape d)


OKTA_ATTRIBUTES: dict[str, list[str]] = {
    "firstName": ["Ada"],
    "lastName": ["Lovelace"],
    "email": [NAME_ID],
    "login": [NAME_ID],
    "department": ["Analytical Engines R&D"],
    "groups": ["Everyone", "engineering"],
}

MANY_ATTRIBUTES: dict[str, list[str]] = {
    f"attribute{i:02d}": [f"value {i:02d} of the fifty-attribute assertion"] for i in range(1, 51)
}
MANY_ATTRIBUTES["email"] = [NAME_ID]
del MANY_ATTRIBUTES["attribute50"]

SHAPES = (
    Shape("a", "Okta-like, assertion signed", False, True, OKTA_ATTRIBUTES),
    Shape("b", "response + assertion signed", True, True, OKTA_ATTRIBUTES),
    Shape("c", "assertion signed, 50 attributes", False, True, MANY_ATTRIBUTES),
    Shape("d", "(a) with its assertion encrypted", False, True, OKTA_ATTRIBUTES, encrypted=True),
)

# The encrypted forms shape (d) can take: (decrypt_bench.Variant data, key transport, label).
ENCRYPTED_FORMS = {
    "cbc": ("cbc", "mgf1p", "AES-256-CBC + RSA-OAEP-MGF1P"),
    "gcm": ("gcm", "mgf1p", "AES-256-GCM + RSA-OAEP-MGF1P"),
}


@dataclass(frozen=True)
class Issued:
    shape: Shape
    xml: bytes
    form_value: str
    issued_at: datetime
    # For an encrypted shape: the form whose NameID was changed after signing and before
    # encrypting (the NameID cannot be changed in the ciphertext).
    tampered: Issued | None = None


# --------------------------------------------------------------------------------------
# Identity providers that sign the responses
# --------------------------------------------------------------------------------------


class SamljitIdP:
    """Responses from ``samljit.testing.TestIdP``, the project's own test IdP."""

    name = "samljit.testing.TestIdP"

    def __init__(self) -> None:
        from samljit.testing import TestIdP

        self._idp = TestIdP(entity_id=IDP_ENTITY_ID)
        self.metadata_xml: bytes = self._idp.metadata_xml
        self.certificate_pem: str = self._idp.certificate_pem

    def issue(self, shape: Shape, now: datetime) -> Issued:
        resp = self._idp.issue_response(
            sp_entity_id=SP_ENTITY_ID,
            acs_url=ACS_URL,
            name_id=NAME_ID,
            attributes={k: list(v) for k, v in shape.attributes.items()},
            sign_response=shape.sign_response,
            sign_assertion=shape.sign_assertion,
            now=now,
            in_response_to=None,
        )
        return Issued(shape, resp.xml, resp.form_value, now)


class BuiltinIdP:
    """Okta-shaped responses signed here with signxml's XMLSigner.

    RSA-2048 key, self-signed certificate, RSA-SHA256 / SHA-256, exclusive c14n, enveloped
    signature placed right after the Issuer and referencing the signed element's ID. For a
    double-signed response the assertion is signed first, then the response around it.
    """

    name = "built-in signxml generator (benchmarks/verify_bench.py)"

    def __init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example IdP"),
                x509.NameAttribute(NameOID.COMMON_NAME, "idp.example.com"),
            ]
        )
        start = datetime.now(UTC) - timedelta(days=1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=3650))
            .sign(key, hashes.SHA256())
        )
        self._key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.certificate_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        self.metadata_xml = self._metadata(cert.public_bytes(serialization.Encoding.DER))

    @staticmethod
    def _metadata(cert_der: bytes) -> bytes:
        b64 = base64.b64encode(cert_der).decode()
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<md:EntityDescriptor xmlns:md="{NS_MD}" entityID="{IDP_ENTITY_ID}">'
            f'<md:IDPSSODescriptor WantAuthnRequestsSigned="false" '
            f'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f'<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="{NS_DS}"><ds:X509Data>'
            f"<ds:X509Certificate>{b64}</ds:X509Certificate>"
            f"</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
            f"<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
            f"</md:NameIDFormat>"
            f'<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
            f'Location="{IDP_SSO_URL}"/>'
            f"<md:SingleSignOnService "
            f'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
            f'Location="{IDP_SSO_URL}"/>'
            f"</md:IDPSSODescriptor></md:EntityDescriptor>"
        ).encode()

    def _sign(self, element: Any) -> Any:
        from lxml import etree
        from signxml import XMLSigner, methods
        from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

        issuer = element.find(f"{{{NS_SAML}}}Issuer")
        placeholder = etree.Element(
            f"{{{NS_DS}}}Signature", {"Id": "placeholder"}, nsmap={"ds": NS_DS}
        )
        issuer.addnext(placeholder)
        signer = XMLSigner(
            method=methods.enveloped,
            signature_algorithm=SignatureMethod.RSA_SHA256,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        return signer.sign(element, key=self._key_pem, cert=self.certificate_pem)

    def issue(self, shape: Shape, now: datetime) -> Issued:
        from lxml import etree

        def ts(moment: datetime) -> str:
            return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

        instant = ts(now)
        later = ts(now + VALIDITY)
        response_id = "id" + secrets.token_hex(16)
        assertion_id = "id" + secrets.token_hex(16)
        xs = "http://www.w3.org/2001/XMLSchema"
        xsi = "http://www.w3.org/2001/XMLSchema-instance"
        attrs = "".join(
            f'<saml2:Attribute Name="{name}" '
            f'NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">'
            + "".join(
                f'<saml2:AttributeValue xmlns:xs="{xs}" xmlns:xsi="{xsi}" xsi:type="xs:string">'
                f"{_xml_text(value)}</saml2:AttributeValue>"
                for value in values
            )
            + "</saml2:Attribute>"
            for name, values in shape.attributes.items()
        )
        assertion_xml = (
            f'<saml2:Assertion xmlns:saml2="{NS_SAML}" ID="{assertion_id}" '
            f'IssueInstant="{instant}" Version="2.0">'
            f'<saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">'
            f"{IDP_ENTITY_ID}</saml2:Issuer>"
            f"<saml2:Subject>"
            f'<saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">'
            f"{NAME_ID}</saml2:NameID>"
            f'<saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
            f'<saml2:SubjectConfirmationData NotOnOrAfter="{later}" Recipient="{ACS_URL}"/>'
            f"</saml2:SubjectConfirmation></saml2:Subject>"
            f'<saml2:Conditions NotBefore="{instant}" NotOnOrAfter="{later}">'
            f"<saml2:AudienceRestriction><saml2:Audience>{SP_ENTITY_ID}</saml2:Audience>"
            f"</saml2:AudienceRestriction></saml2:Conditions>"
            f'<saml2:AuthnStatement AuthnInstant="{instant}" SessionIndex="{assertion_id}">'
            f"<saml2:AuthnContext><saml2:AuthnContextClassRef>"
            f"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
            f"</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>"
            f"<saml2:AttributeStatement>{attrs}</saml2:AttributeStatement>"
            f"</saml2:Assertion>"
        )
        response_xml = (
            f'<saml2p:Response xmlns:saml2p="{NS_SAMLP}" Destination="{ACS_URL}" '
            f'ID="{response_id}" IssueInstant="{instant}" Version="2.0">'
            f'<saml2:Issuer xmlns:saml2="{NS_SAML}" '
            f'Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">'
            f"{IDP_ENTITY_ID}</saml2:Issuer>"
            f"<saml2p:Status>"
            f'<saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
            f"</saml2p:Status></saml2p:Response>"
        )
        assertion = etree.fromstring(assertion_xml.encode())
        if shape.sign_assertion:
            assertion = self._sign(assertion)
        response = etree.fromstring(response_xml.encode())
        response.append(assertion)
        if shape.sign_response:
            response = self._sign(response)
        xml = etree.tostring(response, xml_declaration=True, encoding="UTF-8")
        return Issued(shape, xml, base64.b64encode(xml).decode("ascii"), now)


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def make_idp(choice: str) -> tuple[Any, str | None]:
    """The IdP to sign with, and why the preferred one was not used (or None)."""
    if choice == "builtin":
        return BuiltinIdP(), None
    try:
        return SamljitIdP(), None
    except Exception as exc:
        if choice == "samljit":
            raise
        return BuiltinIdP(), f"samljit.testing.TestIdP unavailable ({_short(exc)})"


# --------------------------------------------------------------------------------------
# The libraries under test
# --------------------------------------------------------------------------------------


@dataclass
class Context:
    metadata_xml: bytes
    certificate_pem: str
    # The SP's decryption key pair, for shape (d) only; workdir holds its files for pysaml2.
    sp_key_pem: bytes | None = None
    sp_certificate_pem: bytes | None = None
    workdir: str | None = None


class Encrypting:
    """Issues shape (d): the IdP's signed response, its assertion then encrypted for the SP."""

    def __init__(self, form: str) -> None:
        from decrypt_bench import Encryptor, Variant, make_sp_keypair

        self.key_pem, self.certificate_pem = make_sp_keypair()
        self.encryptor = Encryptor(self.certificate_pem, key_hint=True)
        data, transport, self.label = ENCRYPTED_FORMS[form]
        self.variant = Variant(form, data, transport)

    def encrypt(self, plain: Issued, shape: Shape) -> Issued:
        def sealed(source: Issued) -> Issued:
            xml = self.encryptor.encrypt_response(source.xml, self.variant)
            return Issued(shape, xml, base64.b64encode(xml).decode("ascii"), source.issued_at)

        return replace(sealed(plain), tampered=sealed(tamper(plain)))


def issue(idp: Any, shape: Shape, now: datetime, encrypting: Encrypting | None) -> Issued:
    if not shape.encrypted:
        return idp.issue(shape, now)  # type: ignore[no-any-return]
    if encrypting is None:
        raise RuntimeError("shape (d) needs the SP key pair")
    return encrypting.encrypt(idp.issue(replace(shape, encrypted=False), now), shape)


class Unavailable(Exception):
    """A library could not be imported, configured, or did not accept the response."""


class Peer:
    """One library: ``setup`` once, then ``bind`` returns the zero-argument call to time.

    The call returns ``(name_id, attributes)`` so that the same callable is used for the
    correctness check and for timing. ``attributes`` maps name -> list of values, or is
    None for bare signxml (which has no notion of attributes).
    """

    name = ""
    note = ""

    def setup(self, ctx: Context) -> None:
        raise NotImplementedError

    def bind(self, issued: Issued) -> Callable[[], tuple[str, Mapping[str, Sequence[str]] | None]]:
        raise NotImplementedError

    def version(self) -> str:
        return _dist_version(self.name)


class _NoopReplayCache:
    """ReplayCache that accepts every key (``add`` always returns True)."""

    def add(self, key: str, *, expires_at: datetime, now: datetime) -> bool:
        return True


class SamljitPeer(Peer):
    name = "samljit"

    def __init__(self, replay_cache: str) -> None:
        self.replay_cache = replay_cache
        if replay_cache == "fresh":
            self.note = "replay cache: a fresh samljit.MemoryReplayCache() per call (timed)"
        else:
            self.note = "replay cache: no-op object whose add() returns True"

    def setup(self, ctx: Context) -> None:
        import samljit

        self.samljit = samljit
        self.provider = samljit.parse_idp_metadata(ctx.metadata_xml).idp
        self.sp = samljit.SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL)
        noop = _NoopReplayCache()
        if self.replay_cache == "fresh":
            self.new_cache: Callable[[], Any] = samljit.MemoryReplayCache
        else:
            self.new_cache = lambda: noop
        self.keys: list[Any] = []
        if ctx.sp_key_pem is not None:
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            self.keys = [load_pem_private_key(ctx.sp_key_pem, password=None)]

    def bind(self, issued: Issued) -> Callable[[], tuple[str, Mapping[str, Sequence[str]] | None]]:
        verify = self.samljit.verify_response
        form_value, provider, sp = issued.form_value, self.provider, self.sp
        new_cache = self.new_cache
        extra = {"decryption_keys": self.keys} if issued.shape.encrypted else {}

        def call() -> tuple[str, Mapping[str, Sequence[str]] | None]:
            assertion = verify(
                form_value,
                idp=provider,
                sp=sp,
                now=datetime.now(UTC),
                replay_cache=new_cache(),
                allow_unsolicited=True,
                **extra,
            )
            return assertion.name_id.value, assertion.attributes

        return call


class FloorPeer(Peer):
    """The unavoidable work of one verification, with lxml and ``cryptography`` directly.

    What any SP must do to get a NameID and attributes it can trust out of the form value,
    and nothing else: base64 decode; parse; for shape (d) unwrap the session key (RSA-OAEP)
    and decrypt the assertion (AES), then parse it; for each signature, exclusive c14n of
    SignedInfo and one signature check with the pinned IdP key, then the enveloped transform
    (the Signature removed), exclusive c14n of the signed element and a SHA-256 compare with
    the DigestValue; then the NameID and the attributes of the signed assertion. No SAML
    check (issuer, audience, time, replay, status), no algorithm policy beyond the expected
    URIs, no model building: samljit's ratio to this is its whole overhead.
    """

    name = "floor"
    note = (
        "lxml parse + exc-c14n(SignedInfo) + 1 RSA/ECDSA verify + enveloped exc-c14n + "
        "SHA-256 per signature [+ RSA-OAEP + AES], NameID + attributes; no SAML checks"
    )

    def setup(self, ctx: Context) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        from lxml import etree

        public_key = x509.load_pem_x509_certificate(ctx.certificate_pem.encode()).public_key()
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            size = (public_key.curve.key_size + 7) // 8
            ecdsa = ec.ECDSA(hashes.SHA256())

            def check_signature(value: bytes, data: bytes) -> None:
                # XML-DSig carries r || s; cryptography wants DER.
                r, s = int.from_bytes(value[:size]), int.from_bytes(value[size:])
                public_key.verify(utils.encode_dss_signature(r, s), data, ecdsa)

            self.signature_method = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
        else:
            pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()

            def check_signature(value: bytes, data: bytes) -> None:
                public_key.verify(value, data, pkcs1, sha256)  # type: ignore[union-attr,call-arg]

            self.signature_method = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        self.check_signature = check_signature
        self.sp_key = (
            load_pem_private_key(ctx.sp_key_pem, password=None) if ctx.sp_key_pem else None
        )
        self.oaep_sha1 = padding.OAEP(
            mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None
        )
        self.Cipher, self.AES, self.CBC, self.AESGCM = Cipher, algorithms.AES, modes.CBC, AESGCM
        self.etree = etree
        self.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, remove_comments=False
        )

    def _verify(self, element: Any) -> None:
        """One enveloped signature, a direct child of ``element``, over ``element``."""
        etree = self.etree
        signature = element.find(f"{{{NS_DS}}}Signature")
        signed_info = signature.find(f"{{{NS_DS}}}SignedInfo")
        method = signed_info.find(f"{{{NS_DS}}}SignatureMethod").get("Algorithm")
        reference = signed_info.find(f"{{{NS_DS}}}Reference")
        if method != self.signature_method or reference.get("URI") != "#" + element.get("ID"):
            raise ValueError("not the expected signature")
        value = base64.b64decode(signature.findtext(f"{{{NS_DS}}}SignatureValue"))
        self.check_signature(value, etree.tostring(signed_info, method="c14n", exclusive=True))
        # Enveloped transform: the element without its Signature (the tail stays in place).
        if signature.tail:
            previous = signature.getprevious()
            if previous is None:
                element.text = (element.text or "") + signature.tail
            else:
                previous.tail = (previous.tail or "") + signature.tail
        element.remove(signature)
        prefixes = None
        for transform in reference.iterfind(f"{{{NS_DS}}}Transforms/{{{NS_DS}}}Transform"):
            inclusive = transform.find(
                "{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces"
            )
            if inclusive is not None:
                prefixes = inclusive.get("PrefixList", "").split()
        canonical = etree.tostring(
            element, method="c14n", exclusive=True, inclusive_ns_prefixes=prefixes
        )
        expected = base64.b64decode(reference.findtext(f"{{{NS_DS}}}DigestValue"))
        if hashlib.sha256(canonical).digest() != expected:
            raise ValueError("digest mismatch")

    def _decrypt(self, encrypted_assertion: Any) -> Any:
        data = encrypted_assertion.find(f"{{{NS_XENC}}}EncryptedData")
        key = data.find(f"{{{NS_DS}}}KeyInfo/{{{NS_XENC}}}EncryptedKey")
        if key.find(f"{{{NS_XENC}}}EncryptionMethod").get("Algorithm") != (
            f"{NS_XENC}rsa-oaep-mgf1p"
        ):
            raise ValueError("not the expected key transport")
        wrapped = base64.b64decode(
            key.findtext(f"{{{NS_XENC}}}CipherData/{{{NS_XENC}}}CipherValue")
        )
        session_key = self.sp_key.decrypt(wrapped, self.oaep_sha1)  # type: ignore[union-attr]
        cipher_value = base64.b64decode(
            data.findtext(f"{{{NS_XENC}}}CipherData/{{{NS_XENC}}}CipherValue")
        )
        algorithm = data.find(f"{{{NS_XENC}}}EncryptionMethod").get("Algorithm")
        if algorithm == f"{NS_XENC11}aes256-gcm":
            plaintext = self.AESGCM(session_key).decrypt(cipher_value[:12], cipher_value[12:], None)
        elif algorithm == f"{NS_XENC}aes256-cbc":
            decryptor = self.Cipher(self.AES(session_key), self.CBC(cipher_value[:16])).decryptor()
            padded = decryptor.update(cipher_value[16:]) + decryptor.finalize()
            plaintext = padded[: -padded[-1]]
        else:
            raise ValueError("not the expected data encryption")
        return self.etree.fromstring(plaintext, self.parser)

    def bind(self, issued: Issued) -> Callable[[], tuple[str, Mapping[str, Sequence[str]] | None]]:
        if issued.shape.encrypted and self.sp_key is None:
            raise Unavailable("no SP decryption key")
        form_value, parser, fromstring = issued.form_value, self.parser, self.etree.fromstring
        sign_response, encrypted = issued.shape.sign_response, issued.shape.encrypted
        verify, decrypt = self._verify, self._decrypt
        saml = f"{{{NS_SAML}}}"

        def call() -> tuple[str, Mapping[str, Sequence[str]] | None]:
            response = fromstring(base64.b64decode(form_value), parser)
            if sign_response:
                verify(response)
            if encrypted:
                assertion = decrypt(response.find(f"{saml}EncryptedAssertion"))
            else:
                assertion = response.find(f"{saml}Assertion")
            verify(assertion)
            name_id = assertion.findtext(f"{saml}Subject/{saml}NameID")
            attributes = {
                attribute.get("Name"): [
                    value.text or "" for value in attribute.iterfind(f"{saml}AttributeValue")
                ]
                for attribute in assertion.iterfind(f"{saml}AttributeStatement/{saml}Attribute")
            }
            return name_id, attributes

        return call

    def version(self) -> str:
        return f"lxml {_dist_version('lxml')}, cryptography {_dist_version('cryptography')}"


class SignxmlPeer(Peer):
    name = "signxml"
    note = (
        "bare XMLVerifier().verify(xml_bytes, x509_cert=PEM) per signature, pinned location, "
        "RSA-SHA256/SHA-256 only; no SAML checks, no base64 decode; NameID read outside timing"
    )

    def setup(self, ctx: Context) -> None:
        from signxml import SignatureConfiguration, XMLVerifier
        from signxml.algorithms import DigestAlgorithm, SignatureMethod

        self.XMLVerifier = XMLVerifier
        self.cert_pem = ctx.certificate_pem
        common = {
            "expect_references": 1,
            "signature_methods": frozenset({SignatureMethod.RSA_SHA256}),
            "digest_algorithms": frozenset({DigestAlgorithm.SHA256}),
        }
        self.on_response = SignatureConfiguration(location="./", **common)
        self.on_assertion = SignatureConfiguration(location=f"./{{{NS_SAML}}}Assertion/", **common)

    def bind(self, issued: Issued) -> Callable[[], tuple[str, Mapping[str, Sequence[str]] | None]]:
        if issued.shape.encrypted:
            raise Unavailable("no XML Encryption support")
        configs = []
        if issued.shape.sign_response:
            configs.append(self.on_response)
        if issued.shape.sign_assertion:
            configs.append(self.on_assertion)
        xml, cert, verifier_cls = issued.xml, self.cert_pem, self.XMLVerifier

        def timed() -> list[Any]:
            return [
                verifier_cls().verify(xml, x509_cert=cert, expect_config=config)
                for config in configs
            ]

        def checked() -> tuple[str, Mapping[str, Sequence[str]] | None]:
            results = timed()
            signed = results[-1].signed_xml
            if signed.tag != f"{{{NS_SAML}}}Assertion":
                signed = signed.find(f"{{{NS_SAML}}}Assertion")
            return signed.findtext(f"{{{NS_SAML}}}Subject/{{{NS_SAML}}}NameID"), None

        checked.timed = timed  # type: ignore[attr-defined]
        return checked


def _pem_body(pem: bytes | str) -> str:
    text = pem.decode() if isinstance(pem, bytes) else pem
    return "".join(line for line in text.splitlines() if line and "-----" not in line)


class Python3SamlPeer(Peer):
    name = "python3-saml"
    note = (
        "OneLogin_Saml2_Response(settings, b64).is_valid(request_data), strict=True; "
        "(d): sp.privateKey set, decrypts with the xmlsec binding"
    )

    def setup(self, ctx: Context) -> None:
        import xmlsec  # noqa: F401  (fail early and clearly if the binding is broken)
        from onelogin.saml2.response import OneLogin_Saml2_Response

        self.settings = self._settings(ctx, decrypting=False)
        self.decrypting = self._settings(ctx, decrypting=True) if ctx.sp_key_pem else None
        self.Response = OneLogin_Saml2_Response
        acs = urlsplit(ACS_URL)
        self.request_base = {
            "https": "on" if acs.scheme == "https" else "off",
            "http_host": acs.netloc,
            "script_name": acs.path,
            "get_data": {},
        }

    @staticmethod
    def _settings(ctx: Context, *, decrypting: bool) -> Any:
        from onelogin.saml2.settings import OneLogin_Saml2_Settings

        return OneLogin_Saml2_Settings(
            {
                "strict": True,
                "debug": False,
                "sp": {
                    "entityId": SP_ENTITY_ID,
                    "assertionConsumerService": {
                        "url": ACS_URL,
                        "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                    },
                    "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                    "x509cert": _pem_body(ctx.sp_certificate_pem or "") if decrypting else "",
                    "privateKey": _pem_body(ctx.sp_key_pem or "") if decrypting else "",
                },
                "idp": {
                    "entityId": IDP_ENTITY_ID,
                    "singleSignOnService": {
                        "url": IDP_SSO_URL,
                        "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
                    },
                    "x509cert": _pem_body(ctx.certificate_pem),
                },
                "security": {
                    "wantAssertionsSigned": True,
                    "wantAssertionsEncrypted": decrypting,
                    "wantMessagesSigned": False,
                    "wantNameId": True,
                    "rejectDeprecatedAlgorithm": True,
                },
            },
            sp_validation_only=True,
        )

    def bind(self, issued: Issued) -> Callable[[], tuple[str, Mapping[str, Sequence[str]] | None]]:
        settings = self.decrypting if issued.shape.encrypted else self.settings
        if settings is None:
            raise Unavailable("no SP decryption key")
        response_cls, b64 = self.Response, issued.form_value
        request_data = dict(self.request_base, post_data={"SAMLResponse": b64})

        def call() -> tuple[str, Mapping[str, Sequence[str]] | None]:
            response = response_cls(settings, b64)
            response.is_valid(request_data, raise_exceptions=True)
            return response.get_nameid(), response.get_attributes()

        return call


class Pysaml2Peer(Peer):
    name = "pysaml2"
    note = (
        "Saml2Client.parse_authn_request_response, allow_unsolicited, xmlsec1 subprocess; "
        "(d): encryption_keypairs, xmlsec1 --decrypt first"
    )

    def setup(self, ctx: Context) -> None:
        xmlsec1 = shutil.which("xmlsec1")
        if xmlsec1 is None:
            raise Unavailable("xmlsec1 binary not found (apt-get install xmlsec1)")
        from saml2 import BINDING_HTTP_POST
        from saml2.client import Saml2Client
        from saml2.config import SPConfig

        for name in ("saml2", "saml2.response", "saml2.client_base", "saml2.sigver"):
            logging.getLogger(name).setLevel(logging.CRITICAL)

        def client(keys: dict[str, Any]) -> Any:
            config = SPConfig()
            config.load(
                {
                    "entityid": SP_ENTITY_ID,
                    "xmlsec_binary": xmlsec1,
                    "metadata": {"inline": [ctx.metadata_xml.decode()]},
                    "allow_unknown_attributes": True,
                    **keys,
                    "service": {
                        "sp": {
                            "endpoints": {
                                "assertion_consumer_service": [(ACS_URL, BINDING_HTTP_POST)],
                            },
                            "allow_unsolicited": True,
                            "want_assertions_signed": True,
                            "want_response_signed": False,
                            "authn_requests_signed": False,
                        }
                    },
                }
            )
            return Saml2Client(config)

        self.client = client({})
        self.decrypting = None
        if ctx.sp_key_pem and ctx.sp_certificate_pem and ctx.workdir:
            key_file = os.path.join(ctx.workdir, "sp-key.pem")
            cert_file = os.path.join(ctx.workdir, "sp-cert.pem")
            with open(key_file, "wb") as fh:
                fh.write(ctx.sp_key_pem)
            with open(cert_file, "wb") as fh:
                fh.write(ctx.sp_certificate_pem)
            pair = {"key_file": key_file, "cert_file": cert_file}
            self.decrypting = client({**pair, "encryption_keypairs": [pair]})
        self.binding = BINDING_HTTP_POST

    def bind(self, issued: Issued) -> Callable[[], tuple[str, Mapping[str, Sequence[str]] | None]]:
        client = self.decrypting if issued.shape.encrypted else self.client
        if client is None:
            raise Unavailable("no SP decryption key")
        binding, b64 = self.binding, issued.form_value

        def call() -> tuple[str, Mapping[str, Sequence[str]] | None]:
            response = client.parse_authn_request_response(b64, binding)
            if response is None:
                raise Unavailable("parse_authn_request_response returned None")
            return response.name_id.text, response.ava

        return call


class MinisamlPeer(Peer):
    name = "minisaml"
    note = "validate_response(data=b64, certificate, expected_audience, idp_issuer)"

    def setup(self, ctx: Context) -> None:
        from cryptography import x509
        from minisaml.response import validate_response
        from minisignxml.errors import MultipleElementsFound

        self.validate = validate_response
        self.MultipleElementsFound = MultipleElementsFound
        self.certificate = x509.load_pem_x509_certificate(ctx.certificate_pem.encode())

    def bind(self, issued: Issued) -> Callable[[], tuple[str, Mapping[str, Sequence[str]] | None]]:
        if issued.shape.encrypted:
            raise Unavailable("no XML Encryption support")
        validate, certificate, b64 = self.validate, self.certificate, issued.form_value
        multiple_found = self.MultipleElementsFound

        def call() -> tuple[str, Mapping[str, Sequence[str]] | None]:
            try:
                response = validate(
                    data=b64,
                    certificate=certificate,
                    expected_audience=SP_ENTITY_ID,
                    idp_issuer=IDP_ENTITY_ID,
                )
            except multiple_found as exc:
                # minisignxml looks for exactly one ds:Signature anywhere in the document.
                raise Unavailable(
                    "one ds:Signature per document only (minisignxml MultipleElementsFound)"
                ) from exc
            return response.name_id, {a.name: a.values for a in response.attributes}

        return call


# --------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------


@dataclass
class Cell:
    samples_ns: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def median_us(self) -> float:
        return statistics.median(self.samples_ns) / 1000

    def quantile_us(self, q: float) -> float:
        ordered = sorted(self.samples_ns)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000


def check(peer: Peer, call: Callable[[], Any], shape: Shape) -> None:
    """Run once and insist that the library accepted and extracted the right data."""
    try:
        name_id, attributes = call()
    except Unavailable:
        raise
    except Exception as exc:
        raise Unavailable(f"rejected the response: {_short(exc)}") from exc
    if name_id != NAME_ID:
        raise Unavailable(f"extracted NameID {name_id!r}, expected {NAME_ID!r}")
    if attributes is None:
        return
    got = {name: sorted(values) for name, values in attributes.items()}
    want = {name: sorted(values) for name, values in shape.attributes.items()}
    if got != want:
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        wrong = sorted(k for k in set(want) & set(got) if got[k] != want[k])
        raise Unavailable(
            f"attributes differ: missing={missing[:5]} extra={extra[:5]} wrong={wrong[:5]}"
        )


def tamper(issued: Issued) -> Issued:
    """The same response with the signed NameID changed: every library must refuse it."""
    xml, count = re.subn(
        rb"(NameID\b[^>]*>)" + re.escape(NAME_ID.encode()) + rb"<",
        rb"\g<1>eve@example.com<",
        issued.xml,
    )
    if count != 1:
        raise RuntimeError("could not find the NameID to tamper with")
    return Issued(issued.shape, xml, base64.b64encode(xml).decode("ascii"), issued.issued_at)


def check_rejects_tampered(peer: Peer, issued: Issued) -> None:
    call = peer.bind(issued.tampered or tamper(issued))
    try:
        name_id, _ = call()
    except Exception:
        return
    raise Unavailable(f"accepted a tampered response (NameID {name_id!r}): not verifying")


def timed_callable(call: Callable[[], Any]) -> Callable[[], Any]:
    return getattr(call, "timed", call)


def estimate_ns(fn: Callable[[], Any], budget_s: float = 0.3) -> float:
    times = []
    deadline = time.perf_counter() + budget_s
    while True:
        start = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - start)
        if len(times) >= 3 and time.perf_counter() > deadline:
            break
        if len(times) >= 200:
            break
    return statistics.median(times)


def run_batch(fn: Callable[[], Any], count: int, out: list[int]) -> None:
    clock = time.perf_counter_ns
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(count):
            start = clock()
            fn()
            out.append(clock() - start)
    finally:
        if gc_was_enabled:
            gc.enable()


def measure_shape(
    peers: Sequence[Peer],
    calls: Mapping[str, Callable[[], Any]],
    rounds: int,
    batch_ms: float,
    min_batch: int,
) -> dict[str, Cell]:
    cells = {peer.name: Cell() for peer in peers if peer.name in calls}
    sizes: dict[str, int] = {}
    for name, call in calls.items():
        per_call_ns = estimate_ns(timed_callable(call))
        sizes[name] = max(min_batch, round(batch_ms * 1e6 / per_call_ns))
    names = list(calls)
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:  # rotate the order every round
            run_batch(timed_callable(calls[name]), sizes[name], cells[name].samples_ns)
            gc.collect()
    return cells


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def _short(exc: BaseException | str, limit: int = 160) -> str:
    text = str(exc) if isinstance(exc, str | Unavailable) else f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _fmt_us(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def render_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            str(cell).ljust(widths[i]) if i == 0 else str(cell).rjust(widths[i])
            for i, cell in enumerate(row)
        )
        for row in [header, ["-" * w for w in widths], *rows]
    ]
    return "\n".join(lines)


def cell_text(cell: Cell | None, setup_error: str | None) -> str:
    if setup_error is not None:
        return f"unavailable: {_short(setup_error, 36)}"
    if cell is None:
        return "-"
    if cell.error is not None:
        return f"unavailable: {_short(cell.error, 36)}"
    return _fmt_us(cell.median_us)


def xmlsec1_version() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        return "not found"
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or out.stderr.strip()
    except Exception as exc:
        return _short(exc)


def libxml2_versions() -> str:
    parts = []
    try:
        from lxml import etree

        parts.append(
            f"lxml {'.'.join(map(str, etree.LXML_VERSION[:3]))} "
            f"on libxml2 {'.'.join(map(str, etree.LIBXML_VERSION))}"
        )
    except Exception as exc:
        parts.append(f"lxml: {_short(exc)}")
    try:
        import xmlsec

        parts.append(f"xmlsec binding on libxml2 {'.'.join(map(str, xmlsec.get_libxml_version()))}")
    except Exception as exc:
        parts.append(f"xmlsec binding: {_short(exc, 60)}")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=20, help="interleaved rounds per shape (default 20)"
    )
    parser.add_argument(
        "--batch-ms",
        type=float,
        default=100.0,
        help="target wall time of one library's batch in a round (default 100)",
    )
    parser.add_argument(
        "--min-batch",
        type=int,
        default=3,
        help="fewest calls in one batch, however slow the library (default 3)",
    )
    parser.add_argument(
        "--peers",
        default=",".join(PEER_ORDER),
        help=f"comma-separated subset of {','.join(PEER_ORDER)}",
    )
    parser.add_argument("--shapes", default="abcd", help="subset of the shapes a, b, c, d")
    parser.add_argument(
        "--encrypted-form",
        choices=sorted(ENCRYPTED_FORMS),
        default="cbc",
        help="shape (d)'s encryption: AES-256-CBC (what most IdPs send, the default) or "
        "AES-256-GCM, the key wrapped with RSA-OAEP-MGF1P for the SP's RSA-2048 certificate",
    )
    parser.add_argument(
        "--generator",
        choices=("auto", "samljit", "builtin"),
        default="auto",
        help="who signs the responses: samljit.testing.TestIdP (auto: when "
        "importable) or the built-in signxml generator",
    )
    parser.add_argument(
        "--replay-cache",
        choices=("fresh", "noop"),
        default="fresh",
        help="samljit replay cache: a fresh MemoryReplayCache per call, or a "
        "no-op whose add() returns True (default fresh)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write raw results as JSON")
    parser.add_argument("--quick", action="store_true", help="short run: 3 rounds of 20 ms batches")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI smoke run (make bench-smoke): samljit and the floor only, one tiny round; "
        "exit 1 if either fails",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.quick:
        args.rounds, args.batch_ms = 3, 20.0
    if args.smoke:
        args.rounds, args.batch_ms, args.min_batch, args.peers = 1, 5.0, 1, "samljit,floor"
    warnings.simplefilter("ignore")  # peers' deprecation chatter is not what is measured
    wanted = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = sorted(set(wanted) - set(PEER_ORDER))
    if unknown:
        print(f"unknown peers: {unknown}", file=sys.stderr)
        return 2
    shapes = [s for s in SHAPES if s.key in args.shapes]

    idp, idp_note = make_idp(args.generator)
    ctx = Context(idp.metadata_xml, idp.certificate_pem)
    encrypting: Encrypting | None = None
    workdir = None
    if any(shape.encrypted for shape in shapes):
        encrypting = Encrypting(args.encrypted_form)
        workdir = tempfile.TemporaryDirectory(prefix="verify-bench-")
        ctx.sp_key_pem, ctx.sp_certificate_pem = encrypting.key_pem, encrypting.certificate_pem
        ctx.workdir = workdir.name
    try:
        return run(args, shapes, idp, idp_note, ctx, encrypting)
    finally:
        if workdir is not None:
            workdir.cleanup()


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def run(
    args: argparse.Namespace,
    shapes: list[Shape],
    idp: Any,
    idp_note: str | None,
    ctx: Context,
    encrypting: Encrypting | None,
) -> int:
    wanted = [p.strip() for p in args.peers.split(",") if p.strip()]
    load_before = _load()
    factories: dict[str, Callable[[], Peer]] = {
        "samljit": lambda: SamljitPeer(args.replay_cache),
        "floor": FloorPeer,
        "signxml": SignxmlPeer,
        "python3-saml": Python3SamlPeer,
        "pysaml2": Pysaml2Peer,
        "minisaml": MinisamlPeer,
    }
    peers: list[Peer] = []
    setup_errors: dict[str, str] = {}
    for name in wanted:
        peer = factories[name]()
        peers.append(peer)
        try:
            peer.setup(ctx)
        except Exception as exc:
            setup_errors[name] = _short(exc)
            if os.environ.get("BENCH_DEBUG"):
                traceback.print_exc()

    print("samljit verify benchmark: median µs per call to verify a signed SAML Response")
    print("and extract its NameID and attributes (lower is better)")
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs; {libxml2_versions()}; {xmlsec1_version()}"
    )
    print(f"responses signed by: {idp.name}" + (f"  [{idp_note}]" if idp_note else ""))
    print(
        f"timing: {args.rounds} interleaved rounds x ~{args.batch_ms:g} ms batch per "
        f"library, each call timed alone, gc off inside a batch"
    )
    if encrypting is not None:
        print(
            f"shape (d) encrypted by {encrypting.encryptor.name}: {encrypting.label}, "
            f"for the SP's RSA-2048 certificate"
        )
    print(f"load average (1, 5, 15 min) at start: {load_before}   (uptime; 2 CPUs)")
    print()

    issued: dict[str, Issued] = {}
    results: dict[str, dict[str, Cell]] = {}
    for shape in shapes:
        now = datetime.now(UTC)
        issued[shape.key] = current = issue(idp, shape, now, encrypting)
        calls: dict[str, Callable[[], Any]] = {}
        cells: dict[str, Cell] = {}
        for peer in peers:
            if peer.name in setup_errors:
                continue
            try:
                call = peer.bind(current)
                check(peer, call, shape)
                check_rejects_tampered(peer, current)
                calls[peer.name] = call
            except Exception as exc:
                cells[peer.name] = Cell(error=_short(exc))
                if os.environ.get("BENCH_DEBUG"):
                    traceback.print_exc()
        started = time.monotonic()
        print(
            f"shape ({shape.key}) {shape.label}: {len(current.xml):,} bytes, "
            f"{sum(len(v) for v in shape.attributes.values())} attribute values over "
            f"{len(shape.attributes)} attributes; timing {', '.join(calls) or 'nothing'} ...",
            flush=True,
        )
        cells.update(measure_shape(peers, calls, args.rounds, args.batch_ms, args.min_batch))
        elapsed = time.monotonic() - started
        if timedelta(seconds=elapsed) > VALIDITY - REISSUE_MARGIN:
            print(
                f"  warning: shape ({shape.key}) took {elapsed:.0f}s, close to the "
                f"{VALIDITY} validity window; later calls may have been refused",
                file=sys.stderr,
            )
        for name, call in calls.items():  # still accepted after the whole timing run?
            try:
                check(next(p for p in peers if p.name == name), call, shape)
            except Exception as exc:
                cells[name] = Cell(error=f"stopped accepting during timing: {_short(exc)}")
        results[shape.key] = cells

    load_after = _load()
    names = [p.name for p in peers]
    print()
    print(f"load average (1, 5, 15 min) at end: {load_after}")
    print()
    header = ["shape", *names]
    rows = []
    for shape in shapes:
        label = (
            f"({shape.key}) {shape.label} "
            f"[{len(issued[shape.key].xml) / 1024:.1f} KB, {len(shape.attributes)} attrs]"
        )
        rows.append(
            [label, *(cell_text(results[shape.key].get(n), setup_errors.get(n)) for n in names)]
        )
    print("Median µs per call")
    print(render_table(rows, header))

    others = [n for n in names if n != "samljit"]
    if "samljit" in names:
        print()
        print("Ratios samljit / peer (targets apply to shape (a))")
        header = ["shape"] + [
            f"samljit/{n}" + (f" (≤{TARGETS[n]:g})" if n in TARGETS else "") for n in others
        ]
        rows = []
        for shape in shapes:
            row = [f"({shape.key})"]
            mine = results[shape.key].get("samljit")
            for other in others:
                theirs = results[shape.key].get(other)
                if mine is None or not mine.samples_ns:
                    row.append("samljit unavailable")
                    continue
                if theirs is None or not theirs.samples_ns:
                    row.append("peer unavailable")
                    continue
                ratio = mine.median_us / theirs.median_us
                verdict = ""
                if shape.key == "a" and other in TARGETS:
                    verdict = " ok" if ratio <= TARGETS[other] else " MISS"
                row.append(f"{ratio:.3f}{verdict}")
            rows.append(row)
        print(render_table(rows, header))

    if "floor" in names:
        print()
        print("Ratios library / floor, same run (the floor: the unavoidable work, no SAML checks)")
        header = ["shape"] + [f"{n}/floor" for n in names if n != "floor"]
        rows = []
        for shape in shapes:
            row = [f"({shape.key})"]
            base = results[shape.key].get("floor")
            for n in names:
                if n == "floor":
                    continue
                cell = results[shape.key].get(n)
                if base is None or not base.samples_ns:
                    row.append("floor unavailable")
                elif cell is None or not cell.samples_ns:
                    row.append("unavailable")
                else:
                    row.append(f"{cell.median_us / base.median_us:.2f}")
            rows.append(row)
        print(render_table(rows, header))

    print()
    print("Spread: p25 / p75 µs and samples per cell")
    header = ["shape", *names]
    rows = []
    for shape in shapes:
        row = [f"({shape.key})"]
        for n in names:
            cell = results[shape.key].get(n)
            if cell is None or not cell.samples_ns:
                row.append("-")
            else:
                row.append(
                    f"{_fmt_us(cell.quantile_us(0.25))} / {_fmt_us(cell.quantile_us(0.75))}"
                    f" n={len(cell.samples_ns)}"
                )
        rows.append(row)
    print(render_table(rows, header))

    print()
    print("Libraries:")
    for peer in peers:
        status = f"unavailable: {setup_errors[peer.name]}" if peer.name in setup_errors else "ok"
        print(f"  {peer.name:<13} {peer.version():<14} {status}")
        if peer.note:
            print(f"  {'':<13} {peer.note}")
    for shape in shapes:
        for name, cell in results[shape.key].items():
            if cell.error:
                print(f"  ({shape.key}) {name}: unavailable: {cell.error}")

    if args.smoke:
        broken = [f"{name}: {error}" for name, error in setup_errors.items()] + [
            f"({key}) {name}: {cell.error or 'no samples'}"
            for key, cells in results.items()
            for name, cell in cells.items()
            if cell.error or not cell.samples_ns
        ]
        if broken:
            print(f"smoke run failed: {'; '.join(broken)}", file=sys.stderr)
            return 1

    if args.json:
        payload = {
            "generator": idp.name,
            "replay_cache": args.replay_cache,
            "rounds": args.rounds,
            "batch_ms": args.batch_ms,
            "load_average": {"start": load_before, "end": load_after},
            "setup_errors": setup_errors,
            "shapes": {
                shape.key: {
                    "label": shape.label,
                    "bytes": len(issued[shape.key].xml),
                    "results": {
                        name: (
                            {"error": cell.error}
                            if cell.error or not cell.samples_ns
                            else {
                                "median_us": cell.median_us,
                                "p25_us": cell.quantile_us(0.25),
                                "p75_us": cell.quantile_us(0.75),
                                "samples": len(cell.samples_ns),
                            }
                        )
                        for name, cell in results[shape.key].items()
                    },
                }
                for shape in shapes
            },
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
        print(f"\nraw results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
