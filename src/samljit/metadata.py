"""IdP metadata, as an administrator pastes it, into a frozen :class:`IdentityProvider`."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from ._certificates import fingerprint, load_certificate
from ._config import METADATA_LIMITS
from ._expiry import EXPIRY_WARNING, expiry_notices, horizon
from ._metadata_document import entity_alone as _entity_alone
from ._metadata_document import idp_descriptor as _idp_descriptor
from ._metadata_document import pick_entity as _pick_entity
from ._metadata_document import verify_metadata_signature as _verify_signature
from ._time import parse_datetime, require_aware
from ._xml import NSMAP, XmlLimits, parse_xml, text_of
from .errors import (
    InputError,
    MetadataBadCertificate,
    MetadataInvalid,
    MetadataNoSigningKey,
    SamlWarning,
)

__all__ = [
    "Endpoint",
    "IdentityProvider",
    "MetadataWarning",
    "ParsedMetadata",
    "extract_idp_entity",
    "parse_idp_metadata",
]

PROTOCOL_SAML2 = "urn:oasis:names:tc:SAML:2.0:protocol"


class MetadataWarning(SamlWarning):
    """Something in accepted metadata that an administrator should act on soon.

    Attributes:
        code: ``certificate_expired``, ``certificate_expiring``, ``certificate_sha1``,
            ``certificate_weak_key`` or ``metadata_expired``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MetadataWarning) and (self.code, self.message) == (
            other.code,
            other.message,
        )

    def __hash__(self) -> int:
        return hash((self.code, self.message))

    def __repr__(self) -> str:
        return f"MetadataWarning({self.code!r}, {self.message!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """One SSO or SLO service of the IdP: binding, location, response location."""

    binding: str
    location: str
    response_location: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityProvider:
    """What samljit trusts about one IdP. Build it once per account and reuse it."""

    entity_id: str
    signing_certificates: tuple[x509.Certificate, ...]
    """Every signing certificate the metadata lists, all trusted (key rollover)."""
    sso_services: tuple[Endpoint, ...] = ()
    slo_services: tuple[Endpoint, ...] = ()
    name_id_formats: tuple[str, ...] = ()
    want_authn_requests_signed: bool = False
    valid_until: datetime | None = None
    cache_duration: str | None = None

    def sso_service(self, binding: str) -> Endpoint | None:
        """The first SingleSignOnService with ``binding``, or None."""
        return next((e for e in self.sso_services if e.binding == binding), None)

    def slo_service(self, binding: str) -> Endpoint | None:
        """The first SingleLogoutService with ``binding``, or None."""
        return next((e for e in self.slo_services if e.binding == binding), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedMetadata:
    """What :func:`~samljit.parse_idp_metadata` returns: the IdP and the warnings to show."""

    idp: IdentityProvider
    warnings: tuple[MetadataWarning, ...] = ()


def certificate_sha256(cert: x509.Certificate) -> str:
    """Colon-free lowercase hex SHA-256 fingerprint, as admins compare them."""
    return fingerprint(cert)


_UTF8_BOM = b"\xef\xbb\xbf"


def _without_leading_space(raw: bytes) -> bytes:
    """``raw`` without the blank lines and spaces a textarea leaves before the markup.

    An XML declaration is allowed only at the very first byte (XML 1.0 section 2.8), so
    libxml2 refuses ``"\\n\\n  <?xml ...?>"``. Only ASCII whitespace (and a UTF-8 byte
    order mark before it is kept) is dropped, and only when markup follows: a UTF-16 or
    UTF-32 document is left as it is. Nothing a signature covers changes.
    """
    body = raw.removeprefix(_UTF8_BOM)
    stripped = body.lstrip(b" \t\r\n")
    if len(stripped) == len(body) or not stripped.startswith(b"<"):
        return raw
    return raw[: len(raw) - len(body)] + stripped


def parse_idp_metadata(
    data: bytes | str,
    *,
    entity_id: str | None = None,
    now: datetime | None = None,
    limits: XmlLimits = METADATA_LIMITS,
    signing_certificates: Sequence[x509.Certificate] = (),
) -> ParsedMetadata:
    """Read IdP metadata into a trusted :class:`IdentityProvider` plus warnings.

    Args:
        data: the metadata XML (an ``EntityDescriptor`` or an ``EntitiesDescriptor``).
        entity_id: which IdP to take from an ``EntitiesDescriptor`` holding several.
        now: the instant for expiry warnings; the current time when omitted.
        limits: size bounds for the document.
        signing_certificates: pinned certificates of whoever signs the metadata (the IdP, or
            a federation operator for an aggregate). When given, the document's root element
            must carry an enveloped signature that verifies with one of them, and only what
            that signature covers is read.

    Returns:
        The IdP and any warnings (expired or expiring certificates, SHA-1 certificates,
        weak keys, a past ``validUntil``).

    Raises:
        MetadataInvalid: ``metadata_invalid``, not XML or not SAML metadata.
        MetadataIsSP: ``metadata_is_sp``, SP metadata pasted instead of the IdP's.
        MetadataNoIdP: ``metadata_no_idp``, no SAML 2.0 IDPSSODescriptor.
        MetadataAmbiguous: ``metadata_ambiguous``, several IdPs and no ``entity_id`` chosen.
        MetadataEntityNotFound: ``metadata_entity_not_found``, ``entity_id`` is not there.
        MetadataNoSigningKey: ``metadata_no_signing_key``, no signing certificate.
        MetadataBadCertificate: ``metadata_bad_certificate``, a certificate cannot be read.
        MetadataSignatureInvalid: ``metadata_signature_invalid``, ``signing_certificates``
            were given and the metadata is unsigned or its signature does not verify.
    """
    moment = datetime.now(UTC) if now is None else require_aware(now)
    raw = _without_leading_space(metadata_bytes(data))
    try:
        root = parse_xml(raw, limits, what="IdP metadata")
    except InputError as exc:
        raise MetadataInvalid(f"this is not usable IdP metadata: {exc.message}") from exc
    if signing_certificates:
        root = _verify_signature(root, tuple(signing_certificates))

    entity = _pick_entity(root, entity_id)
    descriptor = _idp_descriptor(entity)
    # validUntil on an enclosing EntitiesDescriptor bounds the entity's too (metadata 2.3.1).
    bounds = [_read_time(e, "validUntil") for e in (descriptor, entity, *entity.iterancestors())]
    valid_until = min(filter(None, bounds), default=None)

    certificates = _signing_certificates(descriptor)
    idp = IdentityProvider(
        entity_id=entity.get("entityID", ""),
        signing_certificates=certificates,
        sso_services=_endpoints(descriptor, "SingleSignOnService"),
        slo_services=_endpoints(descriptor, "SingleLogoutService"),
        name_id_formats=tuple(
            (text_of(e) or "").strip() for e in descriptor.iterfind("md:NameIDFormat", NSMAP)
        ),
        want_authn_requests_signed=descriptor.get("WantAuthnRequestsSigned", "false").strip()
        in ("true", "1"),
        valid_until=valid_until,
        cache_duration=entity.get("cacheDuration") or root.get("cacheDuration"),
    )
    return ParsedMetadata(idp=idp, warnings=_warnings(idp, moment))


def extract_idp_entity(
    data: bytes | str,
    *,
    entity_id: str | None = None,
    limits: XmlLimits = METADATA_LIMITS,
) -> bytes:
    """The IdP that :func:`parse_idp_metadata` picks from ``data``, as a document of its own:
    what to store for an account configured from a federation aggregate, so that each login's
    configuration holds one entity, not the whole aggregate.

    A document that is one ``EntityDescriptor`` already is returned as it is, byte for byte.
    From an ``EntitiesDescriptor``, the chosen ``EntityDescriptor`` alone, with the namespaces
    in scope declared on it, the earliest ``validUntil`` of the elements enclosing it when
    earlier than its own (they bound it, metadata 2.3.1), and the aggregate's
    ``cacheDuration`` when it has none; the rest of the aggregate is left out.

    The aggregate's signature covers the whole aggregate, not the entity taken out of it: the
    result carries no signature that verifies (an entity's own ``ds:Signature`` stays, and
    no longer verifies if a bound had to be copied onto it). Verify the aggregate first
    (``parse_idp_metadata(data, signing_certificates=...)``), and keep fetching the aggregate
    from its URL with a :class:`~samljit.MetadataSource` that verifies it.

    Args:
        data: the metadata XML (an ``EntityDescriptor`` or an ``EntitiesDescriptor``).
        entity_id: which IdP to take from an ``EntitiesDescriptor`` holding several.
        limits: size bounds for the document.

    Returns:
        The document, UTF-8 with an XML declaration when taken out of an aggregate.

    Raises:
        MetadataInvalid: ``metadata_invalid``, not XML or not SAML metadata.
        MetadataIsSP: ``metadata_is_sp``, SP metadata.
        MetadataNoIdP: ``metadata_no_idp``, no SAML 2.0 IDPSSODescriptor.
        MetadataAmbiguous: ``metadata_ambiguous``, several IdPs and no ``entity_id`` chosen.
        MetadataEntityNotFound: ``metadata_entity_not_found``, ``entity_id`` is not there.
    """
    raw = _without_leading_space(metadata_bytes(data))
    try:
        root = parse_xml(raw, limits, what="IdP metadata")
    except InputError as exc:
        raise MetadataInvalid(f"this is not usable IdP metadata: {exc.message}") from exc
    entity = _pick_entity(root, entity_id)
    if entity is root:
        return metadata_bytes(data)
    alone = _entity_alone(entity, _read_time)
    return etree.tostring(alone, xml_declaration=True, encoding="UTF-8")


def metadata_bytes(data: bytes | str) -> bytes:
    """``data`` as the bytes to parse: text is encoded as UTF-8, and what a surrogateescape
    decoding made of undecodable bytes becomes those bytes again.

    Raises:
        MetadataInvalid: ``metadata_invalid``, text holding other lone surrogates, which no
            document can contain.
    """
    if isinstance(data, bytes):
        return data
    try:
        return data.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise MetadataInvalid(
            "this is not usable IdP metadata: the text holds a lone surrogate, which is not a "
            f"character (at position {exc.start})",
            found=exc.start,
        ) from exc


def _signing_certificates(descriptor: etree._Element) -> tuple[x509.Certificate, ...]:
    found: dict[bytes, x509.Certificate] = {}
    for index, key in enumerate(descriptor.iterfind("md:KeyDescriptor", NSMAP), start=1):
        if key.get("use", "signing") != "signing":
            continue
        for element in key.iterfind("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NSMAP):
            text = "".join((text_of(element) or "").split())
            if not text:
                continue  # an empty placeholder certificate carries no key
            try:
                cert = load_certificate(base64.b64decode(text, validate=True))
            except (binascii.Error, ValueError) as exc:
                raise MetadataBadCertificate(
                    f"KeyDescriptor #{index} holds an X509Certificate that cannot be read: "
                    "it must be the base64 of one DER certificate",
                ) from exc
            found.setdefault(cert.public_bytes(serialization.Encoding.DER), cert)
    if not found:
        raise MetadataNoSigningKey(
            'the IdP metadata has no signing certificate (KeyDescriptor use="signing" or '
            "without use, holding an X509Certificate): no response could be verified"
        )
    return tuple(found.values())


def _endpoints(descriptor: etree._Element, name: str) -> tuple[Endpoint, ...]:
    return tuple(
        Endpoint(
            binding=e.get("Binding", ""),
            location=e.get("Location", ""),
            response_location=e.get("ResponseLocation"),
        )
        for e in descriptor.iterfind(f"md:{name}", NSMAP)
        if e.get("Location")
    )


def _read_time(element: etree._Element, attribute: str) -> datetime | None:
    value = element.get(attribute)
    if value is None:
        return None
    moment = parse_datetime(value)
    if moment is None:
        raise MetadataInvalid(f"{attribute}={value!r} is not an xs:dateTime", found=value)
    return moment


def _warnings(idp: IdentityProvider, now: datetime) -> tuple[MetadataWarning, ...]:
    notices = expiry_notices(idp, now=now, until=horizon(now, EXPIRY_WARNING))
    by_certificate = {n.certificate_sha256: n for n in notices}
    out = [MetadataWarning(n.code, n.message) for n in notices if n.certificate_sha256 is None]
    for cert in idp.signing_certificates:
        name = f"signing certificate {certificate_sha256(cert)[:16]}…"
        notice = by_certificate.get(certificate_sha256(cert))
        if notice is not None:
            out.append(MetadataWarning(notice.code, notice.message))
        algorithm = cert.signature_hash_algorithm
        if algorithm is not None and algorithm.name in ("sha1", "md5"):
            out.append(
                MetadataWarning(
                    "certificate_sha1", f"{name} is signed with {algorithm.name.upper()}"
                )
            )
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
            out.append(
                MetadataWarning("certificate_weak_key", f"{name} has a {key.key_size}-bit RSA key")
            )
    return tuple(out)
