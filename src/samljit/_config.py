"""Configuration of a service provider: frozen, validated, safe by default."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from ._xml import XmlLimits
from .errors import ConfigError

__all__ = ["METADATA_LIMITS", "RESPONSE_LIMITS", "Limits", "SPConfig"]

Limits = XmlLimits

RESPONSE_LIMITS = Limits(max_bytes=512 * 1024, max_depth=32, max_nodes=20_000)
"""Default bounds on a decoded SAMLResponse: 512 KiB, 32 levels, 20,000 elements + attributes.

Real responses are 3-20 KB; Entra ID with 150 group claims stays under 40 KB."""

METADATA_LIMITS = Limits(
    max_bytes=64 * 1024 * 1024,
    max_depth=64,
    max_nodes=5_000_000,
    max_namespace_declarations=1_000_000,
)
"""Default bounds on IdP metadata; federation aggregates run to tens of megabytes."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SPConfig:
    """What this service provider (one account's SAML app) expects of every response.

    Vary it per account with :func:`dataclasses.replace`.
    """

    entity_id: str
    """The SP entity ID: the Audience every assertion must name."""
    acs_url: str
    """The Assertion Consumer Service URL as the IdP knows it: Destination and Recipient must
    equal it exactly. Configure it; never derive it from the incoming request, which a proxy
    may have rewritten (http vs https, host, port)."""
    clock_skew: timedelta = timedelta(seconds=180)
    """Tolerance applied to every NotBefore / NotOnOrAfter comparison."""
    allow_sha1: bool = False
    """Accept RSA-SHA1 signatures and SHA-1 digests. Only for IdPs that cannot do better."""
    limits: Limits = field(default=RESPONSE_LIMITS)
    """Bounds on the size, depth and node count of a response."""
    allow_legacy_encryption: bool = False
    """Accept assertions encrypted with RSA PKCS#1 v1.5 key transport or 3DES."""
    require_encryption: bool = False
    """Refuse assertions that arrive unencrypted (``encryption_required``)."""
    slo_url: str | None = None
    """The Single Logout endpoint (both bindings); logout messages must be addressed to it."""

    def __post_init__(self) -> None:
        if not self.entity_id or self.entity_id != self.entity_id.strip():
            raise ConfigError(
                "SPConfig.entity_id must be a non-empty string without surrounding space"
            )
        parts = urlsplit(self.acs_url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ConfigError(
                f"SPConfig.acs_url must be an absolute http(s) URL, got {self.acs_url!r}"
            )
        if self.slo_url is not None:
            slo = urlsplit(self.slo_url)
            if slo.scheme not in ("https", "http") or not slo.netloc:
                raise ConfigError(
                    f"SPConfig.slo_url must be an absolute http(s) URL, got {self.slo_url!r}"
                )
        if self.clock_skew < timedelta(0) or self.clock_skew > timedelta(minutes=15):
            raise ConfigError(
                f"SPConfig.clock_skew must be between 0 and 15 minutes, got {self.clock_skew}"
            )
