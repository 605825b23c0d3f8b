"""Single Logout (SAML profiles 4.4): LogoutRequest and LogoutResponse, both directions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from lxml import etree

from ._config import SPConfig
from ._models import NameID
from ._signature import signature_child, verify_enveloped
from ._time import format_datetime, parse_datetime
from ._xml import NS_DS, NS_SAML, NS_SAMLP, parse_xml, qname, text_of
from .bindings import PrivateKey, decode_post_response, decode_redirect
from .errors import (
    DestinationMismatch,
    Expired,
    InResponseToMismatch,
    IssuerMismatch,
    MalformedResponse,
    NotYetValid,
    SignatureMissing,
    StatusNotSuccess,
    SubjectInvalid,
)
from .messages import new_request_id, serialize_signed
from .metadata import IdentityProvider

__all__ = [
    "LOGOUT_REQUEST_LIFETIME",
    "LogoutMessage",
    "build_logout_request",
    "build_logout_response",
    "check_logout_response",
    "read_logout_message",
]

STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
_LOGOUT_REQUEST = qname(NS_SAMLP, "LogoutRequest")
_LOGOUT_RESPONSE = qname(NS_SAMLP, "LogoutResponse")

LOGOUT_REQUEST_LIFETIME = timedelta(minutes=10)
"""How long after its ``IssueInstant`` an IdP's LogoutRequest without ``NotOnOrAfter`` is
accepted (plus ``SPConfig.clock_skew``): the same as ``LoginService``'s default
``request_lifetime``, which the service passes instead."""


def build_logout_request(
    *,
    sp: SPConfig,
    destination: str,
    name_id: NameID,
    session_index: str | None,
    now: datetime,
    request_id: str | None = None,
    signing_key: PrivateKey | None = None,
    signing_certificate: x509.Certificate | None = None,
) -> tuple[str, bytes]:
    """A LogoutRequest for ``name_id`` (and its session); returns ``(request_id, xml)``.

    Sign the XML (``signing_key``) for the POST binding; for Redirect, leave it unsigned and
    let :func:`~samljit.bindings.encode_redirect` sign the query.
    """
    request_id = request_id or new_request_id()
    root = _message("LogoutRequest", request_id, sp, destination, now)
    if signing_key is not None:
        _placeholder(root)
    element = etree.SubElement(root, qname(NS_SAML, "NameID"))
    element.text = name_id.value
    for attribute, value in (
        ("Format", name_id.format),
        ("NameQualifier", name_id.name_qualifier),
        ("SPNameQualifier", name_id.sp_name_qualifier),
    ):
        if value is not None:
            element.set(attribute, value)
    if session_index is not None:
        etree.SubElement(root, qname(NS_SAMLP, "SessionIndex")).text = session_index
    return request_id, serialize_signed(root, request_id, signing_key, signing_certificate)


def build_logout_response(
    *,
    sp: SPConfig,
    destination: str,
    in_response_to: str,
    now: datetime,
    status: str = STATUS_SUCCESS,
    signing_key: PrivateKey | None = None,
    signing_certificate: x509.Certificate | None = None,
    response_id: str | None = None,
) -> bytes:
    """A LogoutResponse answering the IdP's LogoutRequest ``in_response_to``."""
    response_id = response_id or new_request_id()
    root = _message("LogoutResponse", response_id, sp, destination, now)
    root.set("InResponseTo", in_response_to)
    if signing_key is not None:
        _placeholder(root)
    etree.SubElement(
        etree.SubElement(root, qname(NS_SAMLP, "Status")),
        qname(NS_SAMLP, "StatusCode"),
        Value=status,
    )
    return serialize_signed(root, response_id, signing_key, signing_certificate)


def _message(
    name: str, message_id: str, sp: SPConfig, destination: str, now: datetime
) -> etree._Element:
    root = etree.Element(qname(NS_SAMLP, name), nsmap={"samlp": NS_SAMLP, "saml": NS_SAML})
    root.set("ID", message_id)
    root.set("Version", "2.0")
    root.set("IssueInstant", format_datetime(now))
    root.set("Destination", destination)
    etree.SubElement(root, qname(NS_SAML, "Issuer")).text = sp.entity_id
    return root


def _placeholder(root: etree._Element) -> None:
    etree.SubElement(root, qname(NS_DS, "Signature"), Id="placeholder", nsmap={"ds": NS_DS})


@dataclass(frozen=True, slots=True, kw_only=True)
class LogoutMessage:
    """A verified logout message from the IdP: a request to end sessions, or the answer to
    the SP's own LogoutRequest."""

    kind: str
    """``"request"`` or ``"response"``."""
    message_id: str
    issuer: str
    relay_state: str | None
    name_id: NameID | None = None
    session_indexes: tuple[str, ...] = ()
    in_response_to: str | None = None
    status: str | None = None
    not_on_or_after: datetime | None = None
    issue_instant: datetime | None = None
    """When the IdP issued a LogoutRequest (always set for a request)."""


def read_logout_message(
    *,
    idp: IdentityProvider,
    sp: SPConfig,
    now: datetime,
    query: str | None = None,
    form_value: str | None = None,
    relay_state: str | None = None,
    request_lifetime: timedelta = LOGOUT_REQUEST_LIFETIME,
) -> LogoutMessage:
    """Verify a LogoutRequest or LogoutResponse from ``idp`` and read it.

    Give the raw ``query`` string for the Redirect binding (the query signature is checked
    with the IdP's metadata keys), or the ``SAMLRequest``/``SAMLResponse`` ``form_value`` for
    the POST binding (the XML signature is checked). Either way the message must be signed,
    come from the IdP, be addressed to ``sp.slo_url`` and, for a request, be current: not
    issued in the future, and not past its ``NotOnOrAfter`` or, without one, past its
    ``IssueInstant`` plus ``request_lifetime`` (each with ``sp.clock_skew``).

    Raises:
        SamlError: ``signature_missing``, ``signature_invalid``, ``issuer_mismatch``,
            ``destination_mismatch``, ``not_yet_valid``, ``expired``, ``malformed_response``,
            ...
    """
    limits = sp.limits
    if query is not None:
        message = decode_redirect(
            query,
            max_bytes=limits.max_bytes,
            certificates=idp.signing_certificates,
            require_signature=True,
            allow_sha1=sp.allow_sha1,
        )
        root = parse_xml(message.xml, limits, what="logout message")
        relay_state = message.relay_state
        signed_root = root
    elif form_value is not None:
        xml = decode_post_response(form_value, max_bytes=limits.max_bytes)
        root = parse_xml(xml, limits, what="logout message")
        signature = signature_child(root, "logout message")
        if signature is None:
            raise SignatureMissing("the logout message is not signed")
        signed_root = verify_enveloped(
            root,
            signature,
            certificates=idp.signing_certificates,
            allow_sha1=sp.allow_sha1,
            what="logout message",
        ).element
    else:
        raise MalformedResponse("no logout message: give the query string or the form value")
    if signed_root.tag not in (_LOGOUT_REQUEST, _LOGOUT_RESPONSE):
        found = etree.QName(signed_root).localname
        raise MalformedResponse(f"expected a LogoutRequest or LogoutResponse, got <{found}>")
    issuer = (text_of(signed_root.find(qname(NS_SAML, "Issuer"))) or "").strip()
    if issuer != idp.entity_id:
        raise IssuerMismatch(
            f"the logout message comes from {issuer or 'nobody'!r}, not from {idp.entity_id!r}",
            expected=idp.entity_id,
            found=issuer or None,
        )
    # Bindings 3.4.5.2 / 3.5.5.2: a signed message must say where it goes, so that one
    # signed for another SP cannot be replayed here.
    destination = signed_root.get("Destination")
    if destination != sp.slo_url:
        raise DestinationMismatch(
            f"the logout message was sent to {destination!r}, not to {sp.slo_url!r}",
            expected=sp.slo_url,
            found=destination,
        )
    message_id = signed_root.get("ID") or ""
    if signed_root.tag == _LOGOUT_RESPONSE:
        status = signed_root.find(f"{{{NS_SAMLP}}}Status/{{{NS_SAMLP}}}StatusCode")
        return LogoutMessage(
            kind="response",
            message_id=message_id,
            issuer=issuer,
            relay_state=relay_state,
            in_response_to=signed_root.get("InResponseTo"),
            status=None if status is None else status.get("Value"),
        )
    issued = _issue_instant(signed_root)
    if issued - sp.clock_skew > now:
        raise NotYetValid(
            f"the logout request was issued at {issued.isoformat()}, in the future (now "
            f"{now.isoformat()}, skew {sp.clock_skew}): check the clocks",
            expected=issued.isoformat(),
            found=now.isoformat(),
        )
    end = signed_root.get("NotOnOrAfter")
    moment = None
    if end is not None:
        moment = parse_datetime(end)
        if moment is None:
            raise MalformedResponse(f"NotOnOrAfter={end!r} is not an xs:dateTime", found=end)
        if now - sp.clock_skew >= moment:
            raise Expired(f"the logout request expired at {moment.isoformat()}")
    elif now - sp.clock_skew >= issued + request_lifetime:
        # Without NotOnOrAfter a request would stay valid for ever, and once the replay cache
        # forgot it, the same signed request could end the user's sessions again.
        raise Expired(
            f"the logout request was issued at {issued.isoformat()} and has no NotOnOrAfter; "
            f"it was valid for {request_lifetime} (now {now.isoformat()}, skew {sp.clock_skew})",
            expected=(issued + request_lifetime).isoformat(),
            found=now.isoformat(),
        )
    element = signed_root.find(qname(NS_SAML, "NameID"))
    # XML whitespace only, as for a login's NameID (response.py): no Unicode trimming.
    if element is None or not (text_of(element) or "").strip(" \t\r\n"):
        raise SubjectInvalid("the logout request names no user (NameID)")
    return LogoutMessage(
        kind="request",
        message_id=message_id,
        issuer=issuer,
        relay_state=relay_state,
        name_id=NameID(
            value=(text_of(element) or "").strip(" \t\r\n"),
            format=element.get("Format"),
            name_qualifier=element.get("NameQualifier"),
            sp_name_qualifier=element.get("SPNameQualifier"),
        ),
        session_indexes=tuple(
            (text_of(e) or "").strip() for e in signed_root.iterfind(f"{{{NS_SAMLP}}}SessionIndex")
        ),
        not_on_or_after=moment,
        issue_instant=issued,
    )


def _issue_instant(root: etree._Element) -> datetime:
    value = root.get("IssueInstant")
    moment = None if value is None else parse_datetime(value)
    if moment is None:
        raise MalformedResponse(
            f"the logout request's IssueInstant {value!r} is not an xs:dateTime", found=value
        )
    return moment


def check_logout_response(message: LogoutMessage, *, request_id: str) -> None:
    """The SP's own logout finished: ``message`` answers ``request_id`` with Success."""
    if message.kind != "response" or message.in_response_to != request_id:
        raise InResponseToMismatch(
            f"the logout response answers {message.in_response_to!r}, not {request_id!r}",
            expected=request_id,
            found=message.in_response_to,
        )
    if message.status != STATUS_SUCCESS:
        raise StatusNotSuccess(
            f"the IdP answered the logout with status {message.status!r}",
            expected=STATUS_SUCCESS,
            found=message.status,
        )
