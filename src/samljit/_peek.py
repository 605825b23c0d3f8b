"""peek_response(): decode and parse a POSTed Response once, and say which IdP sent it and which
request it answers, before anything is verified.

What the peek reads is unauthenticated: it only selects (the account whose keys verify the
response, the pending request it is checked against), and verification decides. The parsed
document is handed on to :func:`~samljit._response.verify_response_xml`, so a login parses the
response once. The cost is the hardened parser's (``_xml.parse_xml``): linear in the size of
the input and bounded by its limits, whatever the bytes are (benchmarks/hostile_bench.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from ._xml import NS_SAML, NS_SAMLP, XmlLimits, parse_xml, qname, text_of
from .bindings import decode_post_response
from .errors import SamlError

__all__ = ["PeekedResponse", "peek_response"]

_RESPONSE = qname(NS_SAMLP, "Response")
_A = f"{{{NS_SAML}}}"
_CONFIRMATION_DATA = (
    f"{_A}Assertion/{_A}Subject/{_A}SubjectConfirmation/{_A}SubjectConfirmationData"
)
_MAX_REQUEST_ID = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class PeekedResponse:
    """A decoded Response and what it claims, unverified. Verify it once."""

    xml: bytes
    """The decoded XML."""
    issuer: str | None
    """The Issuer the Response (else its Assertion) names: which IdP claims to have sent it."""
    in_response_to: str | None
    """The request it claims to answer (the Response's ``InResponseTo``, else its bearer
    SubjectConfirmationData's); None for none, an empty one, or one no request ID can be."""
    limits: XmlLimits
    # The document the peek parsed, until verification takes it (verification may take the
    # signatures out of the document it verifies; a second verification parses again).
    _documents: list[etree._Element] = field(default_factory=list, repr=False, compare=False)
    _error: SamlError | None = field(default=None, repr=False, compare=False)

    def document(self, limits: XmlLimits) -> etree._Element:
        """The parsed document, as parsing :attr:`xml` under ``limits`` gives it: the one the
        peek parsed the first time, which the caller then owns; a fresh parse after that.

        Raises:
            SamlError: the parser's error (``xml_malformed``, a limit...).
        """
        if limits != self.limits:
            return parse_xml(self.xml, limits, what="SAML response")
        if self._error is not None:
            raise self._error
        try:
            return self._documents.pop()
        except IndexError:
            return parse_xml(self.xml, limits, what="SAML response")

    def raise_for_parse_error(self) -> None:
        """Raise the parser's error, if the document did not parse."""
        if self._error is not None:
            raise self._error


def peek_response(saml_response: str | bytes, *, limits: XmlLimits) -> PeekedResponse:
    """Decode the ``SAMLResponse`` form value and parse it once, to read who sent it and which
    request it answers.

    A value that does not decode is refused here; a document that does not parse claims
    nothing, and its parser error is raised by :meth:`PeekedResponse.document` (verification),
    so that the checks made before verification keep their order.

    Raises:
        ResponseTooLarge: ``response_too_large``.
        InvalidBase64: ``invalid_base64``.
        CompressedPayload: ``compressed_payload``.
    """
    xml = decode_post_response(saml_response, max_bytes=limits.max_bytes)
    try:
        document = parse_xml(xml, limits, what="SAML response")
    except SamlError as exc:
        return PeekedResponse(xml=xml, issuer=None, in_response_to=None, limits=limits, _error=exc)
    return PeekedResponse(
        xml=xml,
        issuer=_issuer(document),
        in_response_to=_in_response_to(document),
        limits=limits,
        _documents=[document],
    )


def _issuer(document: etree._Element) -> str | None:
    issuer = document.find(f"{_A}Issuer")
    if issuer is None:
        issuer = document.find(f"{_A}Assertion/{_A}Issuer")
    value = text_of(issuer)
    return value.strip() if value else None


def _in_response_to(document: etree._Element) -> str | None:
    if document.tag != _RESPONSE:
        return None
    for element in (document, *document.iterfind(_CONFIRMATION_DATA)):
        value = element.get("InResponseTo")
        # InResponseTo="" (some IdPs send it on IdP-initiated responses) answers no request.
        if value and len(value) <= _MAX_REQUEST_ID and value.isascii() and "<" not in value:
            return value
    return None
