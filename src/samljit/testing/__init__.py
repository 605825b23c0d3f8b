"""A test identity provider for host apps' unit tests: keys, metadata, and signed (and encrypted)
responses.

Example::

    from datetime import UTC, datetime
    import samljit
    from samljit.testing import TestIdP

    idp = TestIdP()
    now = datetime.now(UTC)
    issued = idp.issue_response(
        sp_entity_id="https://app.example.com/saml/acme",
        acs_url="https://app.example.com/saml/acme/acs",
        name_id="ada@acme.test",
        attributes={"role": ["developer"]},
        now=now,
    )
    assertion = samljit.verify_response(
        issued.form_value,
        idp=samljit.parse_idp_metadata(idp.metadata_xml).idp,
        sp=samljit.SPConfig(entity_id="https://app.example.com/saml/acme",
                            acs_url="https://app.example.com/saml/acme/acs"),
        now=now,
        replay_cache=samljit.MemoryReplayCache(),
        allow_unsolicited=True,
    )
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from .._time import format_datetime, require_aware
from .._xml import NS_DS, NS_MD, qname
from ..bindings import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from ._fakes import FixedClock, RecordingSessionIssuer
from ._keys import PrivateKey, default_algorithm, make_certificate
from ._keys import sign as _sign
from ._knobs import Encryption, Signing
from ._response_xml import _Omit
from ._response_xml import new_id as _new_id
from ._response_xml import response_and_assertion as _response_and_assertion
from ._xmlenc import (
    DataEncryption,
    EncryptedKeyPlacement,
    KeyTransport,
    OaepDigest,
    encrypt_assertion,
)

__all__ = [
    "EMAIL_ADDRESS",
    "OMIT",
    "DataEncryption",
    "EncryptedKeyPlacement",
    "Encryption",
    "FixedClock",
    "IssuedResponse",
    "KeyTransport",
    "OaepDigest",
    "RecordingSessionIssuer",
    "Signing",
    "TestIdP",
    "encrypt_assertion",
    "make_certificate",
]

EMAIL_ADDRESS: Final = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
_PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"  # noqa: S105 - an AuthnContext class name
_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"


OMIT: Final = _Omit()
"""Pass as a knob's value to leave that attribute or element out of the response."""


@dataclass(frozen=True, slots=True)
class IssuedResponse:
    """A response as the IdP would POST it."""

    xml: bytes
    form_value: str
    """The ``SAMLResponse`` form field: base64 of :attr:`xml`."""
    response_id: str
    assertion_id: str


class TestIdP:
    """An identity provider in a box: its key, certificate, metadata, and signed responses.

    Args:
        entity_id: the IdP's entity ID.
        key_type: ``"rsa"`` (2048-bit) or ``"ec"`` (P-256).
        key: bring your own private key instead of generating one.
        certificate: the certificate of ``key``, when you bring one.
        sso_url: the SSO endpoint written into the metadata.
        slo_url: the SLO endpoint written into the metadata.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        entity_id: str = "https://idp.example.test/metadata",
        *,
        key_type: Literal["rsa", "ec"] = "rsa",
        key: PrivateKey | None = None,
        certificate: x509.Certificate | None = None,
        sso_url: str = "https://idp.example.test/sso",
        slo_url: str = "https://idp.example.test/slo",
    ) -> None:
        if (key is None) != (certificate is None):
            raise ValueError("pass both key and certificate, or neither")
        if key is None or certificate is None:
            key, certificate = make_certificate(key_type=key_type)
        self.entity_id = entity_id
        self.key = key
        self.certificate = certificate
        self.sso_url = sso_url
        self.slo_url = slo_url

    @property
    def certificate_pem(self) -> str:
        """The IdP's certificate, PEM-encoded, as an administrator would paste it."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @property
    def metadata_xml(self) -> bytes:
        """IdP metadata (an EntityDescriptor) listing this IdP's signing certificate."""
        return self.metadata()

    def metadata(
        self,
        *,
        extra_certificates: Sequence[x509.Certificate] = (),
        want_authn_requests_signed: bool = False,
        valid_until: datetime | None = None,
    ) -> bytes:
        """Metadata with optional extra signing certificates (to test key rollover)."""
        root = etree.Element(_md("EntityDescriptor"), nsmap={"md": NS_MD, "ds": NS_DS})
        root.set("entityID", self.entity_id)
        if valid_until is not None:
            root.set("validUntil", format_datetime(valid_until))
        descriptor = etree.SubElement(root, _md("IDPSSODescriptor"))
        descriptor.set("WantAuthnRequestsSigned", "true" if want_authn_requests_signed else "false")
        descriptor.set("protocolSupportEnumeration", "urn:oasis:names:tc:SAML:2.0:protocol")
        for certificate in (self.certificate, *extra_certificates):
            key_descriptor = etree.SubElement(descriptor, _md("KeyDescriptor"), use="signing")
            key_info = etree.SubElement(key_descriptor, qname(NS_DS, "KeyInfo"))
            data = etree.SubElement(key_info, qname(NS_DS, "X509Data"))
            etree.SubElement(data, qname(NS_DS, "X509Certificate")).text = base64.b64encode(
                certificate.public_bytes(serialization.Encoding.DER)
            ).decode("ascii")
        for binding in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
            etree.SubElement(
                descriptor, _md("SingleLogoutService"), Binding=binding, Location=self.slo_url
            )
        etree.SubElement(descriptor, _md("NameIDFormat")).text = EMAIL_ADDRESS
        for binding in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
            etree.SubElement(
                descriptor, _md("SingleSignOnService"), Binding=binding, Location=self.sso_url
            )
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def issue_response(
        self,
        *,
        sp_entity_id: str,
        acs_url: str,
        now: datetime,
        name_id: str = "user@example.test",
        name_id_format: str | _Omit = EMAIL_ADDRESS,
        attributes: Mapping[str, Sequence[str]] | None = None,
        in_response_to: str | None = None,
        sign_response: bool = False,
        sign_assertion: bool = True,
        signature_algorithm: str | None = None,
        digest_algorithm: str = "sha256",
        lifetime: timedelta = timedelta(minutes=5),
        not_before: datetime | _Omit | None = None,
        not_on_or_after: datetime | None = None,
        status: str = _SUCCESS,
        audience: str | _Omit | None = None,
        destination: str | _Omit | None = None,
        recipient: str | _Omit | None = None,
        issuer: str | None = None,
        assertion_issuer: str | None = None,
        response_id: str | None = None,
        assertion_id: str | None = None,
        session_index: str | None = None,
        authn_context_class: str = _PASSWORD_PROTECTED,
        include_authn_statement: bool = True,
        signing_key: PrivateKey | None = None,
        signing_certificate: x509.Certificate | None = None,
        edit_assertion: Callable[[etree._Element], None] | None = None,
        edit_response: Callable[[etree._Element], None] | None = None,
        encrypt_for: x509.Certificate | None = None,
        data_encryption: DataEncryption = "aes256-gcm",
        key_transport: KeyTransport = "rsa-oaep-mgf1p",
        oaep_digest: OaepDigest = "sha1",
        mgf: OaepDigest = "sha1",
        encrypted_key_placement: EncryptedKeyPlacement = "inline",
        include_key_hint: bool = True,
        signing: Signing | None = None,
        encryption: Encryption | None = None,
    ) -> IssuedResponse:
        """A signed SAML 2.0 Response; every field can be changed to test a rule.

        Defaults produce a response that verifies for ``sp_entity_id``/``acs_url`` at ``now``:
        Destination, Recipient and Audience from the SP, a 5-minute window, the assertion
        signed (RSA-SHA256, or ECDSA-SHA256 for an EC key; exclusive c14n). Pass :data:`OMIT`
        to leave a part out.
        ``edit_assertion`` and ``edit_response`` change the XML in place before it is signed,
        for shapes no knob covers.

        With ``encrypt_for`` (the SP's encryption certificate) the assertion is signed (if
        ``sign_assertion``), then encrypted, and the ``EncryptedAssertion`` takes its place
        before the Response is signed (if ``sign_response``), as SAML core 6.2 orders it.
        ``data_encryption``, ``key_transport``, ``oaep_digest``, ``mgf``,
        ``encrypted_key_placement`` and ``include_key_hint`` are passed to
        :func:`encrypt_assertion`.

        ``signing`` (a :class:`Signing`) and ``encryption`` (an :class:`Encryption`) group
        those knobs; each replaces its flat keywords (``sign_response``, ``sign_assertion``,
        ``signature_algorithm``, ``digest_algorithm``, ``signing_key``,
        ``signing_certificate``; ``encrypt_for`` and the encryption ones), which stay as
        shorthands. Passing a group with one of its flat keywords raises :class:`TypeError`.
        """
        now = require_aware(now)
        flat_signing = Signing(
            key=signing_key,
            certificate=signing_certificate,
            algorithm=signature_algorithm,
            digest=digest_algorithm,
            response=sign_response,
            assertion=sign_assertion,
        )
        if signing is None:
            signing = flat_signing
        elif flat_signing != Signing():
            raise TypeError("pass signing= or the flat signing keywords, not both")
        flat_encryption = (
            None
            if encrypt_for is None
            else Encryption(
                certificate=encrypt_for,
                data=data_encryption,
                key_transport=key_transport,
                oaep_digest=oaep_digest,
                mgf=mgf,
                key_placement=encrypted_key_placement,
                key_hint=include_key_hint,
            )
        )
        if encryption is None:
            encryption = flat_encryption
        elif flat_encryption is not None or (
            data_encryption,
            key_transport,
            oaep_digest,
            mgf,
            encrypted_key_placement,
            include_key_hint,
        ) != ("aes256-gcm", "rsa-oaep-mgf1p", "sha1", "sha1", "inline", True):
            raise TypeError("pass encryption= or the flat encryption keywords, not both")
        response_id = response_id or _new_id()
        assertion_id = assertion_id or _new_id()
        end = not_on_or_after or now + lifetime

        response, assertion = _response_and_assertion(
            idp_entity_id=self.entity_id,
            sp_entity_id=sp_entity_id,
            acs_url=acs_url,
            now=now,
            end=end,
            response_id=response_id,
            assertion_id=assertion_id,
            name_id=name_id,
            name_id_format=name_id_format,
            attributes=attributes,
            in_response_to=in_response_to,
            not_before=not_before,
            status=status,
            audience=audience,
            destination=destination,
            recipient=recipient,
            issuer=issuer,
            assertion_issuer=assertion_issuer,
            session_index=session_index,
            authn_context_class=authn_context_class,
            include_authn_statement=include_authn_statement,
            signature_placeholder=signing.assertion,
        )

        if edit_assertion is not None:
            edit_assertion(assertion)
        key = signing.key or self.key
        sign = functools.partial(
            _sign,
            key=key,
            cert=[signing.certificate or self.certificate],
            alg=signing.algorithm or default_algorithm(key),
            digest=signing.digest,
        )
        if signing.assertion:
            assertion = sign(assertion, assertion_id)
        if encryption is not None:
            assertion = encrypt_assertion(
                assertion,
                certificate=encryption.certificate,
                data_encryption=encryption.data,
                key_transport=encryption.key_transport,
                oaep_digest=encryption.oaep_digest,
                mgf=encryption.mgf,
                encrypted_key_placement=encryption.key_placement,
                include_key_hint=encryption.key_hint,
                recipient=sp_entity_id,
            )
        response.insert(2, assertion)
        if edit_response is not None:
            edit_response(response)
        if signing.response:
            response.insert(
                1, etree.Element(qname(NS_DS, "Signature"), Id="placeholder", nsmap={"ds": NS_DS})
            )
            response = sign(response, response_id)
        xml = etree.tostring(response, xml_declaration=True, encoding="UTF-8")
        return IssuedResponse(
            xml=xml,
            form_value=base64.b64encode(xml).decode("ascii"),
            response_id=response_id,
            assertion_id=assertion_id,
        )


def _md(local: str) -> str:
    return qname(NS_MD, local)
