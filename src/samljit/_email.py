"""One identity per person: the rule that makes an email address samljit's user key.

Only ASCII whitespace is trimmed and only ASCII letters are lower-cased; an address RFC 5321
and 6531 do not allow, or whose non-ASCII characters Unicode folding would change, is refused
(docs/security.md, "One identity per person"). Pure; used by claims, discovery and stores.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import EmailInvalid

__all__ = [
    "ADDRESS_NAME_ID_FORMATS",
    "ASCII_WHITESPACE",
    "ascii_lower",
    "ascii_trim",
    "normalize_email",
    "parse_email",
]

ASCII_WHITESPACE = " \t\r\n\f\v"
"""The only characters trimmed from claims: Unicode spaces (U+00A0, U+3000...) are kept, so
that a value padded with them stays a different value (docs/security.md, one identity)."""

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# RFC 5322 3.2.3 atext (ASCII, already lower-cased) or any non-ASCII character (RFC 6531
# 3.3 UTF8-non-ascii, checked further by _fold_stable); a dot-atom: no leading, trailing or
# doubled dot. Quoted local parts and comments are refused: no IdP sends them.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~\x80-\U0010ffff-]+"
_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
# RFC 5321 4.1.2 Domain: LDH labels (RFC 1035; an IDN as its ASCII A-label, xn--...), at
# least two of them; no address literal, no trailing dot.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
ADDRESS_NAME_ID_FORMATS = frozenset(
    {
        None,
        "",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:emailAddress",
        "urn:oasis:names:tc:SAML:2.0:nameid-format:unspecified",
    }
)
"""NameID Formats whose value may be an email address (SAML core 8.3). Any other Format
(persistent, transient, Kerberos, X.509 subject...) names an opaque identifier."""


def ascii_trim(value: str) -> str:
    """``value`` without surrounding ASCII whitespace (and only that)."""
    return value.strip(ASCII_WHITESPACE)


def ascii_lower(value: str) -> str:
    """``value`` with the ASCII letters A-Z lower-cased and every other character as is."""
    return value.translate(_ASCII_LOWER)


def normalize_email(value: str) -> str | None:
    """``value`` as samljit's user key, or None when it is not an address samljit accepts.

    Surrounding ASCII whitespace is trimmed and ASCII letters are lower-cased; nothing else
    is changed. The rule (docs/security.md, "One identity per person") refuses what RFC 5321
    and 6531 do not allow and any non-ASCII character that Unicode case folding or NFKC
    would turn into another address's.
    """
    try:
        return parse_email(value)
    except EmailInvalid:
        return None


def parse_email(value: str, *, source: str = "the address") -> str | None:
    """``value`` normalized as :func:`normalize_email` does; None when it holds no ``@`` (it
    does not claim to be an address at all).

    Raises:
        EmailInvalid: ``email_invalid``, it claims to be an address (it holds an ``@``) but
            is not one samljit accepts.
    """
    candidate = ascii_lower(ascii_trim(value))
    if "@" not in candidate:
        return None
    reason = _address_problem(candidate)
    if reason is not None:
        raise EmailInvalid(
            f"{source} {quoted(value)!r} is not an email address samljit accepts: {reason}. "
            "Send the user's plain address (user@example.com) at the IdP",
            found=quoted(value),
        )
    return candidate


def _address_problem(address: str) -> str | None:
    """Why ``address`` (trimmed, ASCII-lower-cased) is refused, or None."""
    if len(address.encode("utf-8", "surrogatepass")) > 254:
        return "longer than 254 octets (RFC 5321 4.5.3.1.3)"
    local, _, domain = address.rpartition("@")
    if "@" in local:
        return "more than one @"
    if not _LOCAL.fullmatch(local):
        return "its local part (before the @) is not a dot-atom of allowed characters"
    if len(local.encode("utf-8", "surrogatepass")) > 64:
        return "its local part is longer than 64 octets (RFC 5321 4.5.3.1.1)"
    if not _DOMAIN.fullmatch(domain):
        return (
            "its domain is not a host name of two or more labels of ASCII letters, digits and "
            "hyphens (send an internationalized domain as its xn-- A-label)"
        )
    if not _fold_stable(local):
        return (
            "its local part has characters that Unicode case folding or compatibility "
            "normalization changes (spaces, controls, compatibility or upper-case forms)"
        )
    return None


def _fold_stable(local: str) -> bool:
    """Whether no Unicode folding changes ``local``: every such folding a database collation
    or a later ``lower()`` might apply maps it to itself, so two accepted addresses are
    never the same address under any of them."""
    if local.isascii():
        return True
    for character in local:
        # Controls, format characters (ZWJ, bidi), surrogates, private use, unassigned, and
        # separators (U+00A0, U+2007, U+3000) are never part of a mailbox name.
        if not character.isascii() and unicodedata.category(character)[0] in "CZ":
            return False
    return (
        unicodedata.normalize("NFKC", local) == local
        and local.casefold() == local
        and local.lower() == local
        and local.upper().lower() == local
        and local.upper().casefold() == local
    )


def quoted(value: str) -> str:
    """``value`` trimmed and cut to 80 characters, to quote in a message."""
    return ascii_trim(value)[:80]
