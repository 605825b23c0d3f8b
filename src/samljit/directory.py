"""SCIM provisioning without HTTP: the identity a directory user maps to, by the same claim
mapping and role rules as a SAML login, and the accounts' SCIM bearer tokens.

The SCIM endpoint itself is :mod:`samljit.scim` (the ``[scim]`` extra); these parts need no
extra, so a mapping can be unit-tested with plain values::

    mapping = ClaimMapping.from_dict({"accepted_roles": ["developer"]})
    directory_identity(mapping, user_name="Ada@Acme.test", roles=["developer"])
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from ._claims import ClaimMapping, Claims, Identity
from .protocols import ScimToken, ScimTokenStore

__all__ = ["TOKEN_PREFIX", "ScimTokens", "directory_identity", "token_digest"]

TOKEN_PREFIX = "samljit_scim_"  # noqa: S105 - a prefix, not a secret
"""How every SCIM token begins, so that secret scanners can recognise a leaked one."""

_EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"


def directory_identity(
    mapping: ClaimMapping,
    *,
    user_name: str,
    full_name: str | None = None,
    given_name: str | None = None,
    family_name: str | None = None,
    roles: Sequence[str] = (),
    groups: Sequence[str] = (),
) -> Identity:
    """The identity of a user the IdP pushed by SCIM, by the account's claim mapping: the
    ``userName`` is the email (normalized and checked by the rule SAML NameIDs follow), the
    ``roles`` values go through ``role_values`` and ``accepted_roles``, and the names of the
    groups the user is a member of through ``group_roles``, as SAML claims would.

    Raises:
        EmailInvalid: ``email_invalid``, ``user_name`` is not an address samljit accepts.
        RoleNotAccepted: ``role_not_accepted``, no accepted role and no default.
    """
    scim = mapping.with_changes(
        email_attributes=(),
        email_from_name_id=True,
        name_id_is_email=True,
        full_name_attributes=("displayName",),
        first_name_attributes=("givenName",),
        last_name_attributes=("familyName",),
        role_attributes=("roles",),
        group_attributes=("groups",),
        account_attributes=(),
        extra_attributes={},
    )
    attributes = {
        "displayName": [full_name or ""],
        "givenName": [given_name or ""],
        "familyName": [family_name or ""],
        "roles": list(roles),
        "groups": list(groups),
    }
    return scim.map(Claims(name_id=user_name, name_id_format=_EMAIL_FORMAT, attributes=attributes))


def token_digest(secret: str) -> str:
    """The SHA-256 (hex) of a token's secret: what is stored instead of the secret."""
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


class ScimTokens:
    """Issues, checks, lists and revokes the accounts' SCIM bearer tokens.

    A token is 256 random bits (``secrets``), shown once when issued and stored only as its
    SHA-256. An account may have several active tokens, so an administrator rotates one by
    issuing the next and revoking the old once the IdP uses the new.

    Args:
        store: where the tokens are kept.
        clock: the current time.
    """

    def __init__(
        self, store: ScimTokenStore, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.store = store
        self._clock = clock or (lambda: datetime.now(UTC))

    def issue(self, account_id: str, *, label: str = "") -> tuple[str, ScimToken]:
        """A new token of ``account_id``: its secret (give it to the IdP now; it is not
        kept) and what is stored."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ScimToken(
            token_id=secrets.token_hex(8),
            account_id=account_id,
            digest=token_digest(secret),
            label=label,
            created_at=self._clock(),
        )
        self.store.add(token)
        return secret, token

    def authenticate(self, account_id: str, secret: str) -> ScimToken | None:
        """The active token of ``account_id`` whose secret is ``secret`` (its last use
        recorded), or None. A token of another account authenticates nothing here."""
        digest = token_digest(secret)
        token = self.store.find(digest)
        if token is None or not hmac.compare_digest(token.digest, digest):
            return None
        if token.account_id != account_id or not token.active:
            return None
        self.store.touch(token.token_id, now=self._clock())
        return token

    def tokens_of(self, account_id: str) -> list[ScimToken]:
        """The account's tokens, revoked ones included, oldest first."""
        return self.store.tokens_of(account_id)

    def revoke(self, account_id: str, token_id: str) -> bool:
        """Revoke one of the account's tokens; True if it was active."""
        return self.store.revoke(account_id, token_id, now=self._clock())
