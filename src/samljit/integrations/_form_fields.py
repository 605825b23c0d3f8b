"""The few fields an SSO endpoint reads from a urlencoded POST body, decoded without building
the whole form (shared by the adapters).

Each value is what :func:`urllib.parse.parse_qsl` gives for it (``+`` a space,
percent-escapes decoded as UTF-8), the first of its name; the other fields are skipped
without being decoded, so padding a POST with fields costs a split, not a decode of each.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from urllib.parse import unquote_plus

__all__ = ["SAML_FIELDS", "form_fields", "saml_post", "utf8_or_latin1"]

SAML_FIELDS = ("SAMLResponse", "SAMLRequest", "RelayState")
"""What the ACS and the Single Logout endpoint read from a POST (SAML bindings 3.5.4)."""


def form_fields(body: str, names: Collection[str] = SAML_FIELDS) -> dict[str, str]:
    """The first value of each of ``names`` present in the urlencoded ``body``."""
    found: dict[str, str] = {}
    for part in body.split("&"):
        name, _, value = part.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if name in names and name not in found:
            found[name] = unquote_plus(value)
    return found


def utf8_or_latin1(body: bytes) -> str:
    """``body`` as Flask and Django read a form's bytes: UTF-8, else Latin-1."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def saml_post(
    content_type: str, body: Callable[[], bytes], form: Callable[[], Mapping[str, str]]
) -> dict[str, str]:
    """The SAML fields of a Flask or Django POST: from its ``body()`` when it is urlencoded (as
    an IdP's form posts it), else (multipart, as test clients post) from the framework's
    parsed ``form()``."""
    if content_type == "application/x-www-form-urlencoded":
        return form_fields(utf8_or_latin1(body()))
    return {name: value for name, value in form().items() if name in SAML_FIELDS}
