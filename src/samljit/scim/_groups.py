"""What the IdP's SCIM requests do to a group: its members are users of the same account, and
a change of membership re-applies the account's group-to-role rules to the members."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scim2_models import Context, Group, SCIMException

from .._results import AuditEvent
from ..errors import ScimConflict, ScimInvalid, ScimNotFound
from ..protocols import DirectoryGroup, DirectoryStore, StaleWrite
from ._documents import group_model, validated_group
from ._patch import invalid, patch_op
from ._users import DELETED, UserWrites

if TYPE_CHECKING:
    from ._service import _Call

__all__ = ["GroupWrites"]

_RETRIES = 5


class GroupWrites:
    """The group operations of :class:`~samljit.scim.ScimService`."""

    def __init__(
        self,
        directory: DirectoryStore,
        users: UserWrites,
        emit: Callable[[AuditEvent], None],
        clock: Callable[[], datetime],
    ) -> None:
        self._directory = directory
        self._users = users
        self._emit = emit
        self._clock = clock

    def get(self, call: _Call, group_id: str) -> DirectoryGroup:
        """The account's group, or 404."""
        group = self._directory.get_group(call.account_id, group_id)
        if group is None:
            raise ScimNotFound(f"no group {group_id!r} in this account")
        return group

    def create(self, call: _Call, model: Group) -> DirectoryGroup:
        """POST /Groups."""
        if not model.display_name:
            raise ScimInvalid("displayName is required", scim_type="invalidValue")
        members = self._members(call, model)
        group = self._directory.create_group(
            call.account_id,
            display_name=model.display_name,
            external_id=model.external_id,
            members=members,
            now=self._clock(),
        )
        self._changed(call, "scim_group_created", group, (), members)
        return group

    def replace(self, call: _Call, group_id: str, data: Mapping[str, Any]) -> DirectoryGroup:
        """PUT /Groups/{id}."""
        model = validated_group(data, Context.RESOURCE_REPLACEMENT_REQUEST)
        return self._retry(call, group_id, lambda current: model)

    def patch(self, call: _Call, group_id: str, data: Mapping[str, Any]) -> DirectoryGroup:
        """PATCH /Groups/{id}: e.g. members added or removed."""
        patch = patch_op(Group, data)

        def patched(current: DirectoryGroup) -> Group:
            model = group_model(current, call.base)
            try:
                patch.patch(model)
            except (SCIMException, ValueError) as exc:
                raise invalid(exc) from exc
            return model

        return self._retry(call, group_id, patched)

    def delete(self, call: _Call, group_id: str) -> None:
        """DELETE /Groups/{id}: the former members' roles are worked out again."""
        group = self.get(call, group_id)
        self._directory.delete_group(call.account_id, group_id)
        self._changed(call, "scim_group_deleted", group, group.members, ())

    def _retry(
        self, call: _Call, group_id: str, change: Callable[[DirectoryGroup], Group]
    ) -> DirectoryGroup:
        for _ in range(_RETRIES):
            current = self.get(call, group_id)
            model = change(current)
            if not model.display_name:
                raise ScimInvalid("displayName is required", scim_type="invalidValue")
            members = self._members(call, model)
            try:
                group = self._directory.write_group(
                    call.account_id,
                    group_id,
                    version=current.version,
                    display_name=model.display_name,
                    external_id=model.external_id,
                    members=members,
                    now=self._clock(),
                )
            except StaleWrite:
                continue
            self._changed(call, "scim_group_updated", group, current.members, members)
            return group
        raise ScimConflict(f"group {group_id!r} kept changing: try again")

    def _members(self, call: _Call, model: Group) -> tuple[str, ...]:
        """The member user IDs, each a user of this account."""
        members: list[str] = []
        for member in model.members or []:
            user_id = member.value
            if not user_id:
                raise ScimInvalid("a member has no value", scim_type="invalidValue")
            entry = self._directory.get_user(call.account_id, user_id)
            if entry is None or DELETED in entry.resource:
                raise ScimInvalid(f"member {user_id!r} is not a user of this account")
            if user_id not in members:
                members.append(user_id)
        return tuple(members)

    def _changed(
        self,
        call: _Call,
        name: str,
        group: DirectoryGroup,
        before: tuple[str, ...],
        after: tuple[str, ...],
    ) -> None:
        for user_id in sorted(set(before) ^ set(after)) or sorted(set(after)):
            self._users.rerole(call, user_id)
        self._emit(
            AuditEvent(
                name=name,
                at=self._clock(),
                account_id=call.account_id,
                changes={
                    "group": (None, group.display_name),
                    "members": (str(len(before)), str(len(after))),
                },
                admin_id=f"scim-token:{call.token.token_id}",
                source="scim",
            )
        )
