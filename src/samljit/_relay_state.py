"""RelayState is untrusted: it only ever becomes a same-site path or an allow-listed origin."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import unquote, urlsplit

__all__ = ["DEFAULT_MAX_RELAY_STATE", "safe_redirect"]

DEFAULT_MAX_RELAY_STATE = 512
"""SAML bindings 3.4.3 caps RelayState at 80 bytes, but IdP-initiated "default RelayState"
URLs are often longer; 512 keeps those and still bounds what is stored and echoed."""


def safe_redirect(
    target: str | None,
    *,
    allowed_origins: Collection[str] = (),
    default: str = "/",
    max_length: int = DEFAULT_MAX_RELAY_STATE,
) -> str:
    """``target`` if it is safe to redirect a browser to, else ``default``.

    Safe is a path on this site (``/dashboard?x=1``) or an absolute ``http(s)`` URL whose
    origin (``https://host[:port]``) is in ``allowed_origins``. Protocol-relative URLs
    (``//evil``), backslashes (``/\\evil``), schemes such as ``javascript:``, control
    characters, and their percent-encoded or mixed-case spellings are refused.
    """
    if not target or len(target) > max_length:
        return default
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        return default
    decoded = (target, unquote(target), unquote(unquote(target)))
    for candidate in decoded:
        # An encoded space is fine in a path or query; control characters and backslashes
        # (which browsers read as "/") are not, however deeply they are encoded.
        if any(ord(c) < 0x20 or c == "\\" or ord(c) == 0x7F for c in candidate):
            return default
    if target.startswith("/"):
        if any(candidate.startswith("//") for candidate in decoded):
            return default
        return target
    try:
        parts = urlsplit(target)
    except ValueError:
        return default
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return default
    if parts.username is not None or parts.password is not None:
        return default
    try:
        origin = _origin(parts.scheme, parts.hostname, parts.port)
    except ValueError:  # a port that is not a number
        return default
    allowed = {_origin_of(o) for o in allowed_origins}
    return target if origin in allowed else default


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, host: str, port: int | None) -> str:
    scheme = scheme.lower()
    shown = "" if port in (None, _DEFAULT_PORTS.get(scheme)) else f":{port}"
    return f"{scheme}://{host.lower()}{shown}"


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return _origin(parts.scheme, parts.hostname or "", parts.port)
