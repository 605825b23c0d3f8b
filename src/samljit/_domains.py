"""The rule that makes a domain an account may verify: the same care as the email rule.

Only surrounding ASCII whitespace and one trailing dot are removed and only ASCII letters are
lower-cased. An internationalized domain is accepted only as its ``xn--`` A-labels (as the
email rule requires), and only when each decodes to a U-label that Unicode folding leaves
as is; anything else (a URL, an address, an IP address, a single label) is refused. Pure.
"""

from __future__ import annotations

import re
import unicodedata

from ._email import ascii_lower, ascii_trim, quoted
from .errors import DomainInvalid

__all__ = ["parse_domain"]

# RFC 1035 2.3.1 LDH labels, as the email rule's domain (RFC 5321 4.1.2).
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def parse_domain(value: str) -> str:
    """``value`` as a normalized domain: ASCII lower case, no trailing dot.

    Raises:
        DomainInvalid: ``domain_invalid``, not a host name of two or more LDH labels, an
            all-numeric last label (an IP address), a label with ``--`` at positions 3-4
            other than a valid ``xn--`` A-label, longer than 253 characters, or non-ASCII
            (enter an internationalized domain as its A-label).
    """
    domain = ascii_lower(ascii_trim(value))
    if domain.endswith("."):
        domain = domain[:-1]
    problem = _domain_problem(domain)
    if problem is not None:
        raise DomainInvalid(
            f"{quoted(value)!r} is not a domain samljit accepts: {problem}. Enter the bare "
            "domain of the users' addresses (example.com)",
            found=quoted(value),
        )
    return domain


def _domain_problem(domain: str) -> str | None:
    """Why ``domain`` (trimmed, ASCII-lower-cased) is refused, or None."""
    if not domain.isascii():
        return "it has non-ASCII characters (enter an internationalized domain as its xn-- A-label)"
    if len(domain) > 253:
        return "longer than 253 characters (RFC 1035 2.3.4)"
    labels = domain.split(".")
    if len(labels) < 2:
        return "it needs two or more labels separated by dots"
    for label in labels:
        if not _LABEL.fullmatch(label):
            return (
                f"the label {label[:63]!r} is not 1 to 63 ASCII letters, digits and hyphens, "
                "without a hyphen at either end"
            )
        if label[2:4] == "--" and not _valid_a_label(label):
            return f"the label {label!r} is not a valid internationalized (xn--) label"
    if labels[-1].isdigit():
        return "it is an IP address, not a domain"
    return None


def _valid_a_label(label: str) -> bool:
    """Whether ``label`` is an ``xn--`` A-label (RFC 5890 2.3.2.1) of a U-label that is
    non-ASCII, encodes back to the same label, and that no Unicode folding changes: so two
    accepted domains never display as the same name by normalization alone."""
    if not label.startswith("xn--"):
        return False  # RFC 5891 4.2.3.1: "--" at positions 3-4 is reserved
    try:
        u_label = label[4:].encode("ascii").decode("punycode")
        round_trip = "xn--" + u_label.encode("punycode").decode("ascii")
    except UnicodeError:
        return False
    if u_label.isascii() or round_trip != label:
        return False
    if any(unicodedata.category(character)[0] in "CZ" for character in u_label):
        return False
    return (
        unicodedata.normalize("NFKC", u_label) == u_label
        and u_label.casefold() == u_label
        and u_label.lower() == u_label
    )
