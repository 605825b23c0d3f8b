"""The SCIM directory and token stores over Django's ORM (exported by
:mod:`samljit.integrations.django.stores`): the directory's users are the Django users with
an :class:`~samljit.integrations.django.models.SsoProfile`, the same rows SAML logins write."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from ..._claims import ascii_lower
from ...protocols import (
    DirectoryGroup,
    DirectoryUser,
    DuplicateUser,
    NewUser,
    ScimToken,
    StaleWrite,
)
from ...stores._records import row_id
from .models import ScimBearerToken, ScimGroup, ScimGroupMember, SsoProfile
from .stores import DjangoUserStore, _from_db, _has_field, _record, _to_db

__all__ = ["DjangoDirectoryStore", "DjangoScimTokenStore"]


def _entry(profile: SsoProfile) -> DirectoryUser:
    return DirectoryUser(
        user=_record(profile),
        external_id=profile.external_id,
        resource=json.loads(profile.scim_resource) if profile.scim_resource else {},
        created_at=_from_db(profile.created_at),
        updated_at=_from_db(profile.updated_at),
        version=profile.version,
    )


class DjangoDirectoryStore:
    """A :class:`~samljit.protocols.DirectoryStore` over the users of a
    :class:`~samljit.integrations.django.DjangoUserStore`, with the IdP's groups in
    :class:`~samljit.integrations.django.models.ScimGroup` rows.

    A user the IdP creates is a Django user as an SSO login would make it (in the group of
    its role), not yet logged in. Deactivating a user sets ``is_active`` to False on the
    Django user too (when the user model has the field), so Django's own authentication
    refuses it as well; a role change moves it to the new role's group. Deleting a user
    deletes the Django user.

    Each method is one transaction; ``write_user`` and ``write_group`` lock the row and
    apply only at the version read (:class:`~samljit.protocols.StaleWrite` otherwise).

    Args:
        users: the user store (its ``group_prefix`` and database); a default one if None.
    """

    def __init__(self, users: DjangoUserStore | None = None) -> None:
        self.users_store = users if users is not None else DjangoUserStore()
        self.using = self.users_store.using

    def _profiles(self) -> Any:
        return SsoProfile.objects.using(self.using).select_related("user")

    def _first(self, **lookup: Any) -> DirectoryUser | None:
        profile = self._profiles().filter(**lookup).first()
        return None if profile is None else _entry(profile)

    def get_user(self, account_id: str, user_id: str) -> DirectoryUser | None:
        """The account's user with this ID, or None."""
        key = row_id(user_id)
        return None if key is None else self._first(user_id=key, account_id=account_id)

    def find_user(self, account_id: str, email: str) -> DirectoryUser | None:
        """The account's user with this email, or None."""
        return self._first(email=ascii_lower(email), account_id=account_id)

    def find_external(self, account_id: str, external_id: str) -> DirectoryUser | None:
        """The account's user with this ``externalId``, or None."""
        return self._first(account_id=account_id, external_id=external_id)

    def users(self, account_id: str) -> list[DirectoryUser]:
        """Every user of the account, by ID."""
        profiles = self._profiles().filter(account_id=account_id).order_by("user_id")
        return [_entry(profile) for profile in profiles]

    def create_user(
        self,
        user: NewUser,
        *,
        active: bool,
        external_id: str | None,
        resource: Mapping[str, Any],
        now: datetime,
    ) -> DirectoryUser:
        """Insert a user (version 1); DuplicateUser if the email exists."""
        profile = self.users_store._insert(
            user,
            active=active,
            created_at=now,
            last_sso_login=None,
            external_id=external_id,
            scim_resource=json.dumps(dict(resource)),
            version=1,
            updated_at=now,
        )
        return _entry(profile)

    def write_user(
        self,
        account_id: str,
        user_id: str,
        *,
        version: int,
        email: str,
        full_name: str | None,
        role: str,
        active: bool,
        external_id: str | None,
        resource: Mapping[str, Any],
        now: datetime,
    ) -> DirectoryUser:
        """Replace the user's fields; StaleWrite if its version is not ``version``,
        DuplicateUser if ``email`` is another user's."""
        key = row_id(user_id)
        users = self.users_store
        email = ascii_lower(email)
        try:
            with transaction.atomic(using=users._write_db()):
                profile = (
                    self._profiles()
                    .select_for_update()
                    .filter(user_id=key, account_id=account_id, version=version)
                    .first()
                )
                if profile is None:
                    raise StaleWrite(user_id)
                if email != profile.email and users._local_user(email) is not None:
                    raise DuplicateUser(email)
                django_user = profile.user
                if role != profile.role:
                    users._move_role_group(django_user, profile.role, role)
                _sync_user(django_user, profile.email, email, full_name, active, users)
                django_user.save(using=self.using)
                SsoProfile.objects.using(self.using).filter(pk=profile.pk).update(
                    email=email,
                    full_name=full_name,
                    role=role,
                    active=active,
                    external_id=external_id,
                    scim_resource=json.dumps(dict(resource)),
                    version=F("version") + 1,
                    updated_at=_to_db(now),
                )
                profile.refresh_from_db(using=self.using)
        except IntegrityError as exc:
            raise DuplicateUser(email) from exc
        return _entry(profile)

    def delete_user(self, account_id: str, user_id: str) -> bool:
        """Delete the Django user (with its profile and group memberships); True if it
        existed."""
        key = row_id(user_id)
        with transaction.atomic(using=self.users_store._write_db()):
            profile = self._profiles().filter(user_id=key, account_id=account_id).first()
            if profile is None:
                return False
            profile.user.delete(using=self.using)
        return True

    def _groups(self, rows: Iterable[ScimGroup]) -> list[DirectoryGroup]:
        found = list(rows)
        members: dict[int, list[str]] = {group.pk: [] for group in found}
        memberships = (
            ScimGroupMember.objects.using(self.using)
            .filter(group_id__in=list(members))
            .order_by("group_id", "position")
            .values_list("group_id", "user_id")
        )
        for group_id, member in memberships:
            members[group_id].append(str(member))
        return [
            DirectoryGroup(
                group_id=str(group.pk),
                account_id=group.account_id,
                display_name=group.display_name,
                external_id=group.external_id,
                members=tuple(members[group.pk]),
                created_at=_from_db(group.created_at),
                updated_at=_from_db(group.updated_at),
                version=group.version,
            )
            for group in found
        ]

    def get_group(self, account_id: str, group_id: str) -> DirectoryGroup | None:
        """The account's group with this ID, or None."""
        key = row_id(group_id)
        if key is None:
            return None
        found = self._groups(
            ScimGroup.objects.using(self.using).filter(pk=key, account_id=account_id)
        )
        return found[0] if found else None

    def groups(self, account_id: str) -> list[DirectoryGroup]:
        """Every group of the account, by ID."""
        return self._groups(
            ScimGroup.objects.using(self.using).filter(account_id=account_id).order_by("pk")
        )

    def _set_members(self, group: ScimGroup, members: tuple[str, ...]) -> None:
        ScimGroupMember.objects.using(self.using).filter(group=group).delete()
        ScimGroupMember.objects.using(self.using).bulk_create(
            ScimGroupMember(group=group, user_id=int(user_id), position=position)
            for position, user_id in enumerate(members)
        )

    def create_group(
        self,
        account_id: str,
        *,
        display_name: str,
        external_id: str | None,
        members: tuple[str, ...],
        now: datetime,
    ) -> DirectoryGroup:
        """Insert a group (version 1)."""
        with transaction.atomic(using=self.users_store._write_db()):
            group = ScimGroup(
                account_id=account_id,
                display_name=display_name,
                external_id=external_id,
                created_at=_to_db(now),
                updated_at=_to_db(now),
                version=1,
            )
            group.save(using=self.using)
            self._set_members(group, members)
        return self._groups([group])[0]

    def write_group(
        self,
        account_id: str,
        group_id: str,
        *,
        version: int,
        display_name: str,
        external_id: str | None,
        members: tuple[str, ...],
        now: datetime,
    ) -> DirectoryGroup:
        """Replace the group's fields; StaleWrite if its version is not ``version``."""
        key = row_id(group_id)
        with transaction.atomic(using=self.users_store._write_db()):
            updated = (
                ScimGroup.objects.using(self.using)
                .filter(pk=key, account_id=account_id, version=version)
                .update(
                    display_name=display_name,
                    external_id=external_id,
                    updated_at=_to_db(now),
                    version=F("version") + 1,
                )
            )
            if key is None or updated != 1:
                raise StaleWrite(group_id)
            group = ScimGroup.objects.using(self.using).get(pk=key)
            self._set_members(group, members)
            return self._groups([group])[0]

    def delete_group(self, account_id: str, group_id: str) -> bool:
        """Delete the group (and its memberships); True if it existed."""
        key = row_id(group_id)
        deleted: int = (
            ScimGroup.objects.using(self.using).filter(pk=key, account_id=account_id).delete()[0]
        )
        return deleted > 0


def _sync_user(
    django_user: Any,
    old_email: str,
    email: str,
    full_name: str | None,
    active: bool,
    users: DjangoUserStore,
) -> None:
    """The Django user's own fields after a directory write: the email (and the username
    when it was the email), the split name, and ``is_active``."""
    model = type(django_user)
    email_field = model.get_email_field_name()
    if email != old_email:
        if getattr(django_user, model.USERNAME_FIELD, None) == old_email:
            setattr(django_user, model.USERNAME_FIELD, email)
        setattr(django_user, email_field, email)
    users._set_names(django_user, full_name)
    if _has_field(django_user, "is_active"):
        django_user.is_active = active


def _token(row: ScimBearerToken) -> ScimToken:
    created_at = _from_db(row.created_at)
    assert created_at is not None  # the column is NOT NULL
    return ScimToken(
        token_id=row.token_id,
        account_id=row.account_id,
        digest=row.digest,
        label=row.label,
        created_at=created_at,
        last_used_at=_from_db(row.last_used_at),
        revoked_at=_from_db(row.revoked_at),
    )


class DjangoScimTokenStore:
    """A :class:`~samljit.protocols.ScimTokenStore` over
    :class:`~samljit.integrations.django.models.ScimBearerToken` rows.

    Args:
        using: the database alias (default: the router's choice).
    """

    def __init__(self, *, using: str | None = None) -> None:
        self.using = using

    def _rows(self) -> Any:
        return ScimBearerToken.objects.using(self.using)

    def add(self, token: ScimToken) -> None:
        """Keep a new token."""
        self._rows().create(
            token_id=token.token_id,
            account_id=token.account_id,
            digest=token.digest,
            label=token.label,
            created_at=_to_db(token.created_at),
            last_used_at=token.last_used_at and _to_db(token.last_used_at),
            revoked_at=token.revoked_at and _to_db(token.revoked_at),
        )

    def find(self, digest: str) -> ScimToken | None:
        """The token whose secret has this SHA-256, revoked or not, or None."""
        row = self._rows().filter(digest=digest).first()
        return None if row is None else _token(row)

    def tokens_of(self, account_id: str) -> list[ScimToken]:
        """The account's tokens, oldest first."""
        rows = self._rows().filter(account_id=account_id).order_by("created_at", "pk")
        return [_token(row) for row in rows]

    def revoke(self, account_id: str, token_id: str, *, now: datetime) -> bool:
        """Revoke the account's token; True if it was active."""
        updated: int = (
            self._rows()
            .filter(token_id=token_id, account_id=account_id, revoked_at__isnull=True)
            .update(revoked_at=_to_db(now))
        )
        return updated == 1

    def touch(self, token_id: str, *, now: datetime) -> None:
        """Record that the token was just used."""
        self._rows().filter(token_id=token_id).update(last_used_at=_to_db(now))
