"""SAML HTTP bindings (SAML bindings 3.4, 3.5): Redirect (DEFLATE + query signature) and POST."""

from __future__ import annotations

import base64
import binascii
import html
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from ._relay_state import safe_redirect
from .errors import (
    AlgorithmForbidden,
    CompressedPayload,
    InvalidBase64,
    QueryInvalid,
    ResponseTooLarge,
    SignatureInvalid,
    SignatureMissing,
)

__all__ = [
    "BINDING_HTTP_POST",
    "BINDING_HTTP_REDIRECT",
    "RedirectMessage",
    "decode_post_response",
    "decode_redirect",
    "encode_redirect",
    "post_form",
    "safe_redirect",
]

BINDING_HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
BINDING_HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"

SIGALG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SIGALG_RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SIGALG_ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"

_HASHES: Mapping[str, type[hashes.HashAlgorithm]] = {
    SIGALG_RSA_SHA256: hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": hashes.SHA512,
    SIGALG_ECDSA_SHA256: hashes.SHA256,
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": hashes.SHA384,
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": hashes.SHA512,
}

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_SAML_PARAMETERS = frozenset({"SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature"})


def encode_redirect(
    message: bytes,
    *,
    destination: str,
    parameter: str = "SAMLRequest",
    relay_state: str | None = None,
    key: PrivateKey | None = None,
) -> str:
    """The URL that carries ``message`` to ``destination`` by the HTTP-Redirect binding.

    The message is raw-DEFLATEd and base64-encoded; with ``key`` the query is signed
    (bindings 3.4.4.1: ``SigAlg`` and ``Signature`` over the URL-encoded parameters in order).
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    encoded = base64.b64encode(compressor.compress(message) + compressor.flush()).decode()
    parts = [(parameter, encoded)]
    if relay_state is not None:
        parts.append(("RelayState", relay_state))
    if key is not None:
        algorithm = (
            SIGALG_ECDSA_SHA256
            if isinstance(key, ec.EllipticCurvePrivateKey)
            else SIGALG_RSA_SHA256
        )
        parts.append(("SigAlg", algorithm))
        signed = urlencode(parts, quote_via=quote).encode("ascii")
        parts.append(("Signature", base64.b64encode(_sign(key, signed)).decode()))
    separator = "&" if urlsplit(destination).query else "?"
    return destination + separator + urlencode(parts, quote_via=quote)


def _sign(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


@dataclass(frozen=True, slots=True, kw_only=True)
class RedirectMessage:
    """A message received by the HTTP-Redirect binding, inflated but not yet parsed."""

    xml: bytes
    parameter: str
    relay_state: str | None
    signed: bool
    """True when the query carried a signature and it verified with a trusted key."""


def decode_redirect(
    query: str,
    *,
    max_bytes: int,
    certificates: Sequence[x509.Certificate] = (),
    require_signature: bool = False,
    allow_sha1: bool = False,
) -> RedirectMessage:
    """Decode (and verify, when ``certificates`` are given) a Redirect-binding query string.

    ``query`` must be the raw query string as received: the signature covers the parameters
    exactly as the sender URL-encoded them.

    Raises:
        QueryInvalid: ``query_invalid``, a character outside ASCII, or a SAML parameter whose
            percent-escapes are not UTF-8.
        InvalidBase64: ``invalid_base64``, no message, not base64, or not DEFLATE.
        ResponseTooLarge: ``response_too_large``, the inflated message is over ``max_bytes``
            (no decompression bomb).
        SignatureMissing: ``signature_missing``, unsigned while a signature is required.
        SignatureInvalid: ``signature_invalid``, the signature does not verify, a SAML
            parameter is repeated or its name encoded, or there are no certificates.
        AlgorithmForbidden: ``algorithm_forbidden``, a ``SigAlg`` not on the allow-list.
    """
    # A query string on the wire is ASCII (RFC 3986 3.4: anything else is percent-encoded),
    # and the signature covers its exact bytes. A character outside ASCII can only come from
    # a sender that did not encode it or from tampering; repairing it (say, to "?") would let
    # a signature over one query verify another, so it is refused.
    if not query.isascii():
        position = next(i for i, char in enumerate(query) if not char.isascii())
        raise QueryInvalid(
            f"the query string has a character outside ASCII at position {position}: a "
            "Redirect-binding query must be passed exactly as received, percent-encoded",
            found=position,
        )
    # One pass over the query as received: the signature covers the raw pieces, the message
    # is read from the same pieces decoded, and a SAML parameter may appear only once, so no
    # second copy can carry content that the signature did not cover.
    raw: dict[str, str] = {}
    values: dict[str, str] = {}
    for piece in query.lstrip("?").split("&"):
        if not piece:
            continue
        raw_name, _, raw_value = piece.partition("=")
        try:
            decoded = parse_qsl(piece, keep_blank_values=True, errors="strict")
        except UnicodeDecodeError as exc:
            if raw_name not in _SAML_PARAMETERS:
                continue  # not ours: the app's own parameters are none of our business
            # Decoded leniently, two different signed values would read the same (U+FFFD).
            raise QueryInvalid(
                f"the {raw_name} parameter percent-encodes bytes that are not UTF-8",
                found=raw_name,
            ) from exc
        if not decoded:
            continue
        name, value = decoded[0]
        if name in values and name in _SAML_PARAMETERS:
            raise SignatureInvalid(f"the query carries {name} more than once")
        values.setdefault(name, value)
        if raw_name == name:
            raw.setdefault(name, raw_value)
        elif name in _SAML_PARAMETERS:
            raise SignatureInvalid(f"the query spells the parameter name {name} in an encoded form")
    parameter = "SAMLRequest" if "SAMLRequest" in values else "SAMLResponse"
    encoded = values.get(parameter)
    if not encoded:
        raise InvalidBase64("the query carries no SAMLRequest or SAMLResponse")
    try:
        deflated = base64.b64decode(encoded.replace("\n", "").replace("\r", ""), validate=True)
    except ValueError as exc:  # binascii.Error, or a percent-encoded character outside ASCII
        raise InvalidBase64(f"the {parameter} parameter is not base64") from exc
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        xml = inflater.decompress(deflated, max_bytes + 1)
    except zlib.error as exc:
        raise InvalidBase64(f"the {parameter} parameter is not DEFLATE-compressed") from exc
    if len(xml) > max_bytes or inflater.unconsumed_tail:
        raise ResponseTooLarge(
            f"the {parameter} inflates to more than {max_bytes} bytes", expected=max_bytes
        )
    signed = False
    if "Signature" in values:
        if not certificates:
            raise SignatureInvalid("a signed message arrived but no key is trusted to verify it")
        _verify_query(raw, values, parameter, certificates, allow_sha1)
        signed = True
    elif require_signature:
        raise SignatureMissing(f"the {parameter} must be signed (SigAlg and Signature)")
    return RedirectMessage(
        xml=xml, parameter=parameter, relay_state=values.get("RelayState"), signed=signed
    )


def _verify_query(
    raw: Mapping[str, str],
    values: Mapping[str, str],
    parameter: str,
    certificates: Sequence[x509.Certificate],
    allow_sha1: bool,
) -> None:
    algorithm = values.get("SigAlg", "")
    digest = _HASHES.get(algorithm)
    if digest is None and allow_sha1 and algorithm == SIGALG_RSA_SHA1:
        digest = hashes.SHA1
    if digest is None:
        raise AlgorithmForbidden(
            f"the query is signed with {algorithm or 'no algorithm'}, which is not allowed",
            expected=sorted(_HASHES),
            found=algorithm or None,
        )
    signed = "&".join(
        f"{name}={raw[name]}" for name in (parameter, "RelayState", "SigAlg") if name in raw
    ).encode("ascii")  # decode_redirect refused anything else: these are the bytes received
    try:
        signature = base64.b64decode(values["Signature"], validate=True)
    except ValueError as exc:  # binascii.Error, or a percent-encoded character outside ASCII
        raise SignatureInvalid("the query Signature is not base64") from exc
    for certificate in certificates:
        try:
            key = certificate.public_key()
        except Exception:  # noqa: S112 - a key cryptography cannot read verifies nothing
            continue
        try:
            if isinstance(key, rsa.RSAPublicKey) and "rsa" in algorithm:
                key.verify(signature, signed, padding.PKCS1v15(), digest())
            elif isinstance(key, ec.EllipticCurvePublicKey) and "ecdsa" in algorithm:
                key.verify(signature, signed, ec.ECDSA(digest()))
            else:
                continue
        except InvalidSignature:
            continue
        return
    raise SignatureInvalid("the query signature does not verify with any trusted key")


def post_form(
    action: str, fields: Mapping[str, str], *, nonce: str | None = None, title: str = "Signing in"
) -> str:
    """An HTML page that POSTs ``fields`` to ``action`` (the HTTP-POST binding).

    Every value is HTML-escaped. The page submits itself with a small script carrying
    ``nonce`` (pass your CSP nonce; under ``script-src 'nonce-…'`` nothing else runs), and
    shows a Continue button when scripts are off or blocked.
    """
    inputs = "\n".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in fields.items()
    )
    nonce_attribute = f' nonce="{html.escape(nonce)}"' if nonce else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>\n'
        f'<body><form method="post" action="{html.escape(action)}">\n{inputs}\n'
        "<noscript><p>Script is off: press Continue.</p></noscript>\n"
        '<button type="submit">Continue</button></form>\n'
        f"<script{nonce_attribute}>document.forms[0].submit();</script>\n"
        "</body></html>\n"
    )


def decode_post_response(value: str | bytes, *, max_bytes: int) -> bytes:
    """Decode the ``SAMLResponse`` form value of the HTTP-POST binding into XML bytes.

    The value is strict base64: line breaks are tolerated (some IdPs wrap at 76 columns),
    nothing else. The POST binding never deflates (SAML bindings 3.5.4), so a compressed
    payload is refused rather than inflated.

    Raises:
        ResponseTooLarge: ``response_too_large``.
        InvalidBase64: ``invalid_base64``.
        CompressedPayload: ``compressed_payload``.
    """
    encoded_limit = -(-max_bytes // 3) * 4  # base64 of max_bytes, without line breaks
    # Line breaks are free, but not unbounded: even CRLF after every character stays under 3x.
    # Measured before anything is copied or encoded.
    if len(value) > 3 * encoded_limit + 4:
        raise ResponseTooLarge(
            f"the SAMLResponse value is {len(value)} characters, too large for the limit of "
            f"{max_bytes} decoded bytes",
            expected=max_bytes,
            found=len(value),
        )
    if isinstance(value, str):
        if not value.isascii():
            raise InvalidBase64("the SAMLResponse value is not base64 (it holds non-ASCII text)")
        raw = value.encode("ascii")
    else:
        raw = bytes(value)
    compact = raw.replace(b"\r", b"").replace(b"\n", b"")
    if len(compact) > encoded_limit:
        raise ResponseTooLarge(
            f"the SAMLResponse value decodes to more than the limit of {max_bytes} bytes",
            expected=max_bytes,
            found=len(compact) * 3 // 4 - compact[-2:].count(b"="),
        )
    if not compact:
        raise InvalidBase64("the SAMLResponse value is empty")
    try:
        # strict_mode refuses characters outside the alphabet, bad padding and data after it.
        data = binascii.a2b_base64(compact, strict_mode=True)
    except binascii.Error as exc:
        raise InvalidBase64(
            "the SAMLResponse value is not base64 (it holds other characters, or was truncated)"
        ) from exc
    if len(data) > max_bytes:
        raise ResponseTooLarge(
            f"the decoded SAMLResponse is {len(data)} bytes, over the limit of {max_bytes}",
            expected=max_bytes,
            found=len(data),
        )
    if _looks_compressed(data):
        raise CompressedPayload(
            "the SAMLResponse is compressed; the HTTP-POST binding sends plain base64 XML"
        )
    return data


def _looks_compressed(data: bytes) -> bool:
    head = data.lstrip()[:1]
    if head in (b"<", b"\xef", b"\xfe", b"\xff"):  # XML, or a byte-order mark
        return False
    if data[:2] == b"\x1f\x8b":
        return True
    for wbits in (-zlib.MAX_WBITS, zlib.MAX_WBITS):
        try:
            out = zlib.decompressobj(wbits).decompress(data[:256], 64)
        except zlib.error:
            continue
        if out.lstrip()[:1] == b"<":
            return True
    return False
