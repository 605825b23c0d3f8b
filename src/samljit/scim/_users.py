"""What the IdP's SCIM requests do to a user: create (or adopt the user a SAML login made),
replace, patch, deactivate and delete, through the account's claim mapping and rules."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scim2_models import Context, SCIMException

from .._claims import Identity, normalize_email
from .._results import AuditEvent
from ..directory import directory_identity
from ..errors import (
    ClaimError,
    DomainNotOwned,
    ProvisioningError,
    ScimConflict,
    ScimInvalid,
    ScimNotFound,
    ScimNotSupported,
    SsoDisabled,
)
from ..protocols import (
    DirectoryGroup,
    DirectoryStore,
    DirectoryUser,
    DuplicateUser,
    NewUser,
    SessionRevoker,
    StaleWrite,
)
from ._documents import (
    UserModel,
    stored_resource,
    user_model,
    validated_user,
    with_references,
)
from ._patch import changes_password, invalid, patch_op

if TYPE_CHECKING:
    from ._service import _Call

__all__ = ["DELETED", "UserWrites"]

DELETED = "_samljitDeleted"
"""The resource of a user that a SCIM DELETE deactivated (policy ``deactivate``): the user
stays in the app, inactive, and SCIM answers 404 for it (RFC 7644 §3.6)."""

_RETRIES = 5
_EQ = re.compile(r'^\s*(userName|externalId)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$', re.IGNORECASE)


class UserWrites:
    """The user operations of :class:`~samljit.scim.ScimService`."""

    def __init__(
        self,
        directory: DirectoryStore,
        revoker: SessionRevoker | None,
        owner: Callable[[str], str | None],
        emit: Callable[[AuditEvent], None],
        clock: Callable[[], datetime],
    ) -> None:
        self._directory = directory
        self._revoker = revoker
        self._owner = owner
        self._emit = emit
        self._clock = clock

    # --- reading --------------------------------------------------------------------------

    def get(self, call: _Call, user_id: str) -> DirectoryUser:
        """The account's user, or 404 (also for another account's and a deleted one)."""
        entry = self._directory.get_user(call.account_id, user_id)
        if entry is None or DELETED in entry.resource:
            raise ScimNotFound(f"no user {user_id!r} in this account")
        return entry

    def groups_of(self, account_id: str, user_id: str) -> list[DirectoryGroup]:
        """The groups the user is a member of."""
        return [g for g in self._directory.groups(account_id) if user_id in g.members]

    def candidates(self, call: _Call, text: str | None) -> list[DirectoryUser]:
        """The users a filter may match: the one user of ``userName eq`` or ``externalId eq``
        (the lookups IdPs make before every create), else every user of the account."""
        found = _EQ.match(text or "")
        if found is not None:
            value = found.group(2).replace('\\"', '"').replace("\\\\", "\\")
            if found.group(1).lower() == "username":
                email = normalize_email(value)
                one = self._directory.find_user(call.account_id, email) if email else None
            else:
                one = self._directory.find_external(call.account_id, value)
            entries = [one] if one is not None else []
        else:
            entries = list(self._directory.users(call.account_id))
        return [e for e in entries if DELETED not in e.resource]

    # --- writing --------------------------------------------------------------------------

    def create(self, call: _Call, data: Mapping[str, Any]) -> DirectoryUser:
        """POST /Users: a new user, or the account's user of that email that only SAML
        logins (or a SCIM DELETE) wrote, adopted. 409 for a user the directory already has,
        and for an email of another account."""
        model = validated_user(with_references(data, call.base), Context.RESOURCE_CREATION_REQUEST)
        if not model.user_name:
            raise ScimInvalid("userName is required", scim_type="invalidValue")
        identity = self._identity(call, model, [], None)
        for _ in range(_RETRIES):
            existing = self._directory.find_user(call.account_id, identity.email)
            if existing is not None:
                if existing.resource and DELETED not in existing.resource:
                    raise ScimConflict(f"the directory already has {identity.email}")
                try:
                    return self._write(
                        call,
                        existing,
                        model,
                        self.groups_of(call.account_id, existing.user.user_id),
                    )
                except StaleWrite:
                    continue  # another request wrote the user meanwhile: look again
            try:
                entry = self._directory.create_user(
                    NewUser(
                        email=identity.email,
                        account_id=call.account_id,
                        full_name=identity.full_name,
                        role=identity.role,
                    ),
                    active=model.active is not False,
                    external_id=model.external_id,
                    resource=stored_resource(model),
                    now=self._clock(),
                )
            except DuplicateUser:
                if self._directory.find_user(call.account_id, identity.email) is None:
                    raise ScimConflict(f"{identity.email} is taken") from None
                continue  # a SAML login created it meanwhile: adopt it
            self._event(
                call,
                "scim_user_created",
                entry,
                {
                    "email": (None, identity.email),
                    "full_name": (None, identity.full_name),
                    "role": (None, identity.role),
                    "active": (None, str(entry.user.active).lower()),
                },
            )
            return entry
        raise ScimConflict(f"{identity.email} kept changing: try again")

    def replace(self, call: _Call, user_id: str, data: Mapping[str, Any]) -> DirectoryUser:
        """PUT /Users/{id}."""
        model = validated_user(
            with_references(data, call.base), Context.RESOURCE_REPLACEMENT_REQUEST
        )
        for _ in range(_RETRIES):
            current = self.get(call, user_id)
            try:
                return self._write(call, current, model, self.groups_of(call.account_id, user_id))
            except StaleWrite:
                continue
        raise ScimConflict(f"user {user_id!r} kept changing: try again")

    def patch(self, call: _Call, user_id: str, data: Mapping[str, Any]) -> DirectoryUser:
        """PATCH /Users/{id}: the operations applied to the user as it is now."""
        if changes_password(data):
            raise ScimNotSupported(
                "changing a password is not supported (ServiceProviderConfig changePassword): "
                "users sign in at their IdP"
            )
        patch = patch_op(UserModel, data, call.base)
        for _ in range(_RETRIES):
            current = self.get(call, user_id)
            groups = self.groups_of(call.account_id, user_id)
            model = user_model(current, groups, call.base)
            try:
                patch.patch(model)
            except (SCIMException, ValueError) as exc:
                raise invalid(exc) from exc
            try:
                return self._write(call, current, model, groups)
            except StaleWrite:
                continue
        raise ScimConflict(f"user {user_id!r} kept changing: try again")

    def delete(self, call: _Call, user_id: str) -> None:
        """DELETE /Users/{id}: per the account's policy, deactivate (the default) or delete."""
        policy = call.config.policy.scim_delete if call.config is not None else "deactivate"
        for _ in range(_RETRIES):
            current = self.get(call, user_id)
            record = current.user
            if policy == "delete":
                self._directory.delete_user(call.account_id, user_id)
            else:
                try:
                    self._directory.write_user(
                        call.account_id,
                        user_id,
                        version=current.version,
                        email=record.email,
                        full_name=record.full_name,
                        role=record.role,
                        active=False,
                        external_id=None,
                        resource={DELETED: True},
                        now=self._clock(),
                    )
                except StaleWrite:
                    continue
            self._revoke(call, record.email)
            self._event(call, "scim_user_deleted", current, {"deleted": (None, policy)})
            return
        raise ScimConflict(f"user {user_id!r} kept changing: try again")

    def rerole(self, call: _Call, user_id: str) -> None:
        """Apply the role the user's group memberships now give (after a group changed)."""
        for _ in range(_RETRIES):
            current = self._directory.get_user(call.account_id, user_id)
            if current is None or DELETED in current.resource:
                return
            groups = self.groups_of(call.account_id, user_id)
            model = user_model(current, groups, call.base)
            try:
                self._write(call, current, model, groups)
                return
            except StaleWrite:
                continue
            except (ClaimError, ProvisioningError):
                return  # the memberships map to no accepted role: the role stays as it was

    def _write(
        self, call: _Call, current: DirectoryUser, model: Any, groups: list[DirectoryGroup]
    ) -> DirectoryUser:
        record = current.user
        active = model.active is not False
        try:
            identity = self._identity(call, model, groups, current)
        except (ClaimError, ProvisioningError):
            if active:
                raise
            # Deactivation always goes through: the other fields stay as they were.
            identity = Identity(
                email=record.email, full_name=record.full_name, role=record.role, account_id=None
            )
        try:
            entry = self._directory.write_user(
                call.account_id,
                record.user_id,
                version=current.version,
                email=identity.email,
                full_name=identity.full_name,
                role=identity.role,
                active=active,
                external_id=model.external_id,
                resource=stored_resource(model),
                now=self._clock(),
            )
        except DuplicateUser:
            raise ScimConflict(f"{identity.email} is another user's") from None
        changes = {
            k: (str(old), str(new))
            for k, old, new in (
                ("email", record.email, identity.email),
                ("full_name", record.full_name, identity.full_name),
                ("role", record.role, identity.role),
                ("active", str(record.active).lower(), str(active).lower()),
            )
            if old != new
        }
        if record.active and not active:
            self._revoke(call, record.email)
            name = "scim_user_deactivated"
        elif not record.active and active:
            name = "scim_user_reactivated"
        else:
            name = "scim_user_updated"
        self._event(call, name, entry, changes)
        return entry

    def _identity(
        self,
        call: _Call,
        model: Any,
        groups: list[DirectoryGroup],
        current: DirectoryUser | None,
    ) -> Identity:
        if call.config is None:
            raise SsoDisabled(
                f"account {call.account_id!r} has no SSO configuration (claim mapping): "
                "connect its IdP first",
                found=call.account_id,
            )
        roles = sorted(model.roles or [], key=lambda r: r.primary is not True)
        name = model.name
        identity = directory_identity(
            call.config.mapping,
            user_name=model.user_name or "",
            full_name=model.display_name or (name.formatted if name else None),
            given_name=name.given_name if name else None,
            family_name=name.family_name if name else None,
            roles=[r.value for r in roles if isinstance(r.value, str)],
            groups=[g.display_name for g in groups],
        )
        owner = self._owner(identity.email)
        if owner is not None and owner != call.account_id:
            raise DomainNotOwned(
                f"{identity.email} is at a domain owned by another account",
                expected=owner,
                found=call.account_id,
            )
        return identity

    def _revoke(self, call: _Call, email: str) -> None:
        if self._revoker is not None:
            self._revoker.revoke(account_id=call.account_id, email=email, session_indexes=())

    def _event(
        self,
        call: _Call,
        name: str,
        entry: DirectoryUser,
        changes: Mapping[str, tuple[str | None, str | None]],
    ) -> None:
        self._emit(
            AuditEvent(
                name=name,
                at=self._clock(),
                account_id=call.account_id,
                email=entry.user.email,
                changes=dict(changes),
                admin_id=f"scim-token:{call.token.token_id}",
                source="scim",
            )
        )
