"""SP-side protocol messages: AuthnRequest (SAML core 3.4)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml.algorithms import CanonicalizationMethod
from signxml.signer import XMLSigner

from ._config import SPConfig
from ._time import format_datetime, require_aware
from ._xml import NS_DS, NS_MD, NS_SAML, NS_SAMLP, qname
from .bindings import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from .metadata import PROTOCOL_SAML2

__all__ = [
    "EMAIL_ADDRESS",
    "AuthnRequest",
    "build_authn_request",
    "build_sp_metadata",
    "new_request_id",
]

EMAIL_ADDRESS = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def new_request_id() -> str:
    """A fresh xs:ID with 128 bits of randomness (IDs must not start with a digit)."""
    return "_" + secrets.token_hex(16)


def serialize_signed(
    root: etree._Element,
    reference: str,
    key: PrivateKey | None,
    certificate: x509.Certificate | None,
) -> bytes:
    """``root`` as XML bytes, with an enveloped signature (RSA or ECDSA with SHA-256,
    exclusive c14n, at the ``ds:Signature`` placeholder) when ``key`` is given."""
    if key is not None:
        signer = XMLSigner(
            signature_algorithm="ecdsa-sha256"
            if isinstance(key, ec.EllipticCurvePrivateKey)
            else "rsa-sha256",
            digest_algorithm="sha256",
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        root = signer.sign(
            root, key=key, cert=[certificate] if certificate else None, reference_uri=reference
        )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthnRequest:
    """What :func:`~samljit.messages.build_authn_request` returns: request ID, XML and issue
    instant."""

    request_id: str
    xml: bytes
    issue_instant: datetime


def build_authn_request(
    *,
    sp: SPConfig,
    destination: str,
    now: datetime,
    request_id: str | None = None,
    name_id_format: str | None = EMAIL_ADDRESS,
    force_authn: bool = False,
    requested_authn_contexts: Sequence[str] = (),
    signing_key: PrivateKey | None = None,
    signing_certificate: x509.Certificate | None = None,
) -> AuthnRequest:
    """An AuthnRequest asking ``destination`` to send its response by POST to ``sp.acs_url``.

    With ``signing_key`` the XML itself is signed (enveloped, RSA/ECDSA-SHA256), as the
    HTTP-POST binding needs; the Redirect binding signs the query string instead
    (:func:`samljit.bindings.encode_redirect`), so build the request unsigned for it.
    """
    require_aware(now)
    request_id = request_id or new_request_id()
    request = etree.Element(
        qname(NS_SAMLP, "AuthnRequest"), nsmap={"samlp": NS_SAMLP, "saml": NS_SAML}
    )
    request.set("ID", request_id)
    request.set("Version", "2.0")
    request.set("IssueInstant", format_datetime(now))
    request.set("Destination", destination)
    request.set("AssertionConsumerServiceURL", sp.acs_url)
    request.set("ProtocolBinding", BINDING_HTTP_POST)
    if force_authn:
        request.set("ForceAuthn", "true")
    etree.SubElement(request, qname(NS_SAML, "Issuer")).text = sp.entity_id
    if signing_key is not None:
        etree.SubElement(request, qname(NS_DS, "Signature"), Id="placeholder", nsmap={"ds": NS_DS})
    if name_id_format is not None:
        etree.SubElement(
            request, qname(NS_SAMLP, "NameIDPolicy"), Format=name_id_format, AllowCreate="true"
        )
    if requested_authn_contexts:
        context = etree.SubElement(
            request, qname(NS_SAMLP, "RequestedAuthnContext"), Comparison="exact"
        )
        for reference in requested_authn_contexts:
            etree.SubElement(context, qname(NS_SAML, "AuthnContextClassRef")).text = reference
    return AuthnRequest(
        request_id=request_id,
        xml=serialize_signed(request, request_id, signing_key, signing_certificate),
        issue_instant=now,
    )


def build_sp_metadata(
    *,
    entity_id: str,
    acs_url: str,
    slo_url: str | None = None,
    signing_certificate: x509.Certificate | None = None,
    encryption_certificate: x509.Certificate | None = None,
    name_id_format: str | None = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    want_assertions_signed: bool = True,
    authn_requests_signed: bool | None = None,
) -> bytes:
    """This SP's metadata (an EntityDescriptor with one SPSSODescriptor), for an IdP admin.

    The ACS is the HTTP-POST endpoint with index 0 (the default); ``slo_url`` adds
    SingleLogoutService endpoints for both the Redirect and POST bindings.
    ``authn_requests_signed`` defaults to whether a signing certificate is given.
    """
    md = f"{{{NS_MD}}}"
    root = etree.Element(f"{md}EntityDescriptor", nsmap={"md": NS_MD, "ds": NS_DS})
    root.set("entityID", entity_id)
    descriptor = etree.SubElement(root, f"{md}SPSSODescriptor")
    signed = (
        signing_certificate is not None if authn_requests_signed is None else authn_requests_signed
    )
    descriptor.set("AuthnRequestsSigned", "true" if signed else "false")
    descriptor.set("WantAssertionsSigned", "true" if want_assertions_signed else "false")
    descriptor.set("protocolSupportEnumeration", PROTOCOL_SAML2)
    for use, certificate in (
        ("signing", signing_certificate),
        ("encryption", encryption_certificate),
    ):
        if certificate is None:
            continue
        key = etree.SubElement(descriptor, f"{md}KeyDescriptor", use=use)
        data = etree.SubElement(
            etree.SubElement(key, f"{{{NS_DS}}}KeyInfo"), f"{{{NS_DS}}}X509Data"
        )
        etree.SubElement(data, f"{{{NS_DS}}}X509Certificate").text = base64.b64encode(
            certificate.public_bytes(serialization.Encoding.DER)
        ).decode("ascii")
    if slo_url is not None:
        for binding in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
            etree.SubElement(
                descriptor, f"{md}SingleLogoutService", Binding=binding, Location=slo_url
            )
    if name_id_format is not None:
        etree.SubElement(descriptor, f"{md}NameIDFormat").text = name_id_format
    etree.SubElement(
        descriptor,
        f"{md}AssertionConsumerService",
        Binding=BINDING_HTTP_POST,
        Location=acs_url,
        index="0",
        isDefault="true",
    )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
