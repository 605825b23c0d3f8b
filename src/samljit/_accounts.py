"""One customer account's SSO configuration: the IdP it trusts and what its logins may do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from ._claims import ClaimMapping
from ._config import Limits, SPConfig
from ._fetch import _display, _scheme_allowed
from .errors import ConfigError

__all__ = ["AccountConfig", "ProvisioningPolicy"]

CreateUsers = Literal["idp_initiated", "always", "never"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisioningPolicy:
    """What a login may do to the app's users. Defaults follow the image-CDN product: users
    are created on their first, IdP-initiated login and updated on every login."""

    create_users: CreateUsers = "idp_initiated"
    """When an unknown email may be created: only on IdP-initiated logins, always, or never
    (``user_not_provisioned``)."""
    update_users: bool = True
    """Apply name and role changes from the IdP to existing users."""
    allow_idp_initiated: bool = True
    """Accept unsolicited responses (the user clicked the app tile in the IdP portal)."""
    required_authn_contexts: tuple[str, ...] = ()
    """When set, the assertion's AuthnContextClassRef must be one of these (e.g. MFA)."""
    scim_delete: Literal["deactivate", "delete"] = "deactivate"
    """What the IdP's SCIM ``DELETE`` of a user does: deactivate it (it stays in the app,
    uncounted, and may be reactivated) or delete its row."""

    def __post_init__(self) -> None:
        if self.create_users not in ("idp_initiated", "always", "never"):
            raise ConfigError("create_users must be idp_initiated, always or never")
        if self.scim_delete not in ("deactivate", "delete"):
            raise ConfigError("scim_delete must be deactivate or delete")


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountConfig:
    """Everything samljit needs to log users into one account.

    ``idp_metadata`` is the XML exactly as the administrator pasted it; samljit parses it once
    per process and caches the result by content, so a change of metadata takes effect on the
    next login and unchanged metadata is never parsed twice.
    """

    account_id: str
    idp_metadata: bytes
    sp: SPConfig
    mapping: ClaimMapping
    policy: ProvisioningPolicy = field(default_factory=ProvisioningPolicy)
    idp_entity_id: str | None = None
    """Which IdP to take when the metadata is an aggregate of several."""
    name_id_format: str | None = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    """The NameIDPolicy of SP-initiated requests (None: let the IdP choose)."""
    idp_metadata_url: str | None = None
    """Where the IdP publishes its metadata. When set, the login service keeps the account's
    metadata fresh from this URL (``idp_metadata`` is the first copy, and the fallback while
    the URL cannot be fetched), so a key rollover at the IdP needs no one's action. Only
    https URLs at public addresses are fetched unless the service allows otherwise."""

    def __post_init__(self) -> None:
        if not self.account_id:
            raise ConfigError("AccountConfig.account_id must not be empty")
        if self.idp_metadata_url is not None and not _scheme_allowed(
            self.idp_metadata_url, allow_http=True
        ):
            raise ConfigError(
                "AccountConfig.idp_metadata_url must be an https URL with a host",
                expected="https",
                found=_display(self.idp_metadata_url),
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (one database row); :meth:`from_dict` reads it back."""
        return {
            "account_id": self.account_id,
            "idp_metadata": self.idp_metadata.decode("utf-8", "surrogateescape"),
            "idp_entity_id": self.idp_entity_id,
            "name_id_format": self.name_id_format,
            "idp_metadata_url": self.idp_metadata_url,
            "sp": {
                "entity_id": self.sp.entity_id,
                "acs_url": self.sp.acs_url,
                "clock_skew": self.sp.clock_skew.total_seconds(),
                "allow_sha1": self.sp.allow_sha1,
                "allow_legacy_encryption": self.sp.allow_legacy_encryption,
                "require_encryption": self.sp.require_encryption,
                "slo_url": self.sp.slo_url,
                "limits": {
                    "max_bytes": self.sp.limits.max_bytes,
                    "max_depth": self.sp.limits.max_depth,
                    "max_nodes": self.sp.limits.max_nodes,
                },
            },
            "mapping": self.mapping.to_dict(),
            "policy": {
                "create_users": self.policy.create_users,
                "update_users": self.policy.update_users,
                "allow_idp_initiated": self.policy.allow_idp_initiated,
                "required_authn_contexts": list(self.policy.required_authn_contexts),
                "scim_delete": self.policy.scim_delete,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AccountConfig:
        """Build an account configuration from plain data, as :meth:`to_dict` writes it.

        Raises:
            ConfigError: ``configuration_invalid`` when a part is missing or wrong.
        """
        try:
            sp: dict[str, Any] = dict(data["sp"])
            if sp.get("limits") is not None:
                sp["limits"] = Limits(**sp["limits"])
            if "clock_skew" in sp:
                sp["clock_skew"] = timedelta(seconds=float(sp["clock_skew"]))
            policy = dict(data.get("policy") or {})
            if "required_authn_contexts" in policy:
                policy["required_authn_contexts"] = tuple(policy["required_authn_contexts"])
            metadata = data["idp_metadata"]
            return cls(
                account_id=str(data["account_id"]),
                idp_metadata=metadata.encode("utf-8", "surrogateescape")
                if isinstance(metadata, str)
                else bytes(metadata),
                idp_entity_id=data.get("idp_entity_id"),
                idp_metadata_url=data.get("idp_metadata_url"),  # absent from older rows
                **({"name_id_format": data["name_id_format"]} if "name_id_format" in data else {}),
                sp=SPConfig(**sp),
                mapping=ClaimMapping.from_dict(data["mapping"]),
                policy=ProvisioningPolicy(**policy),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"invalid account configuration: {exc!r}") from exc
