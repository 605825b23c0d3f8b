"""Reference stores over Django's ORM: users are ``django.contrib.auth`` users, accounts are
:class:`~samljit.integrations.django.models.SsoAccount` rows.

::

    users = DjangoUserStore()                   # samljit.UserStore
    accounts = DjangoAccountStore()             # samljit.AccountStore
    directory = DjangoDirectoryStore(users)     # SCIM: the same users
    tokens = DjangoScimTokenStore()             # SCIM bearer tokens (digests)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, router, transaction

from ..._accounts import AccountConfig
from ..._claims import ascii_lower
from ...metadata import parse_idp_metadata
from ...protocols import DuplicateUser, NewUser, UserRecord
from ...stores._records import checked_changes
from .models import SsoAccount, SsoProfile

__all__ = [
    "DjangoAccountStore",
    "DjangoDirectoryStore",
    "DjangoScimTokenStore",
    "DjangoUserStore",
    "split_full_name",
]


def split_full_name(full_name: str | None) -> tuple[str, str]:
    """Django's ``(first_name, last_name)`` for display: the last word is the last name
    (``"Ada King Lovelace"`` -> ``("Ada King", "Lovelace")``). Lossy, which is why the
    IdP's full name itself is kept on the SsoProfile."""
    words = (full_name or "").split()
    if len(words) < 2:
        return (" ".join(words)[:150], "")
    return (" ".join(words[:-1])[:150], words[-1][:150])


class DjangoUserStore:
    """A :class:`~samljit.UserStore` over the project's user model (``AUTH_USER_MODEL``).

    A created user has the email as username and email, an unusable password, first and
    last name split from the IdP's full name, and one :class:`SsoProfile` (account, full
    name, role, last SSO login). The role is also a :class:`~django.contrib.auth.models.Group`
    (``group_prefix + role``, created when first needed): the user is in the group of their
    current role, and a role change moves them to the new role's group. Other groups the
    app gives the user are left alone.

    A user that exists without an SsoProfile (created by the app, not by SSO) is reported
    as a user of no account: an SSO login for that email is refused (``account_mismatch``)
    instead of taking the account over, until an administrator links it by adding an
    SsoProfile.

    Each method is one transaction. On SQLite, give the database
    ``"OPTIONS": {"transaction_mode": "IMMEDIATE"}`` (Django 5.1+) so that concurrent
    first logins wait for each other instead of failing with "database is locked".

    Args:
        group_prefix: prepended to a role to name its group (e.g. ``"sso:"``).
        using: the database alias (default: the router's choice).
    """

    def __init__(self, *, group_prefix: str = "", using: str | None = None) -> None:
        self.group_prefix = group_prefix
        self.using = using

    def group_name(self, role: str) -> str:
        """The name of the Django group that stands for ``role``."""
        return f"{self.group_prefix}{role}"

    def get_by_email(self, email: str) -> UserRecord | None:
        """The user with this (normalized) email, or ``None`` (see :class:`~samljit.UserStore`)."""
        profile = (
            SsoProfile.objects.using(self.using)
            .select_related("user")
            .filter(email=ascii_lower(email))
            .first()
        )
        if profile is not None:
            return _record(profile)
        local = self._local_user(email)
        if local is None:
            return None
        return UserRecord(
            user_id=str(local.pk),
            email=email,
            account_id="",
            full_name=None,
            role="",
            last_sso_login=None,
        )

    def create(self, user: NewUser, *, now: datetime) -> UserRecord:
        """Insert the new user; :class:`~samljit.protocols.DuplicateUser` if the email exists (see
        :class:`~samljit.UserStore`)."""
        return _record(self._insert(user, created_at=now, last_sso_login=now))

    def _insert(self, user: NewUser, *, active: bool = True, **profile: Any) -> SsoProfile:
        """A new Django user with its SsoProfile (``profile``: its other fields), in one
        transaction; DuplicateUser if the email is taken, by SSO or by a local user."""
        model = get_user_model()
        try:
            with transaction.atomic(using=self._write_db()):
                if self._local_user(user.email) is not None:
                    raise DuplicateUser(user.email)
                fields: dict[str, Any] = {
                    model.USERNAME_FIELD: user.email,
                    model.get_email_field_name(): user.email,
                }
                django_user = model(**fields)
                self._set_names(django_user, user.full_name)
                if not active and _has_field(django_user, "is_active"):
                    django_user.is_active = False
                django_user.set_unusable_password()
                django_user.save(using=self.using)
                created = SsoProfile(
                    user=django_user,
                    email=ascii_lower(user.email),
                    account_id=user.account_id,
                    full_name=user.full_name,
                    role=user.role,
                    active=active,
                    **{name: _to_db(value) if isinstance(value, datetime) else value
                       for name, value in profile.items()},
                )  # fmt: skip
                created.save(using=self.using)
                self._join_role_group(django_user, user.role)
        except IntegrityError as exc:
            raise DuplicateUser(user.email) from exc
        return created

    def _set_names(self, django_user: Any, full_name: str | None) -> None:
        """Set the user's first and last name (where the user model has them) from the IdP's
        full name."""
        first_name, last_name = split_full_name(full_name)
        for name, value in (("first_name", first_name), ("last_name", last_name)):
            if _has_field(django_user, name):
                setattr(django_user, name, value)

    def update(
        self, user_id: str, *, changes: Mapping[str, str | None], last_sso_login: datetime
    ) -> UserRecord:
        """Apply ``changes`` and record the SSO login (see :class:`~samljit.UserStore`)."""
        changes = checked_changes(changes)
        with transaction.atomic(using=self._write_db()):
            profile = (
                SsoProfile.objects.using(self.using)
                .select_for_update()
                .select_related("user")
                .get(user_id=int(user_id))
            )
            django_user = profile.user
            if "full_name" in changes:
                profile.full_name = changes["full_name"]
                self._set_names(django_user, profile.full_name)
                django_user.save(using=self.using)
            role = changes.get("role")
            if role is not None and role != profile.role:
                self._move_role_group(django_user, profile.role, role)
                profile.role = role
            profile.last_sso_login = _to_db(last_sso_login)
            profile.save(using=self.using, update_fields=[*changes, "last_sso_login"])
        return _record(profile)

    def users_of(self, account_id: str) -> list[UserRecord]:
        """Every user of the account, for the stale-user report."""
        profiles = (
            SsoProfile.objects.using(self.using)
            .select_related("user")
            .filter(account_id=account_id)
            .order_by("user_id")
        )
        return [_record(profile) for profile in profiles]

    def _write_db(self) -> str:
        """The database whose transaction holds a create or update: ``using``, else where the
        router sends SsoProfile writes. ``transaction.atomic(using=None)`` would open it on
        the ``default`` database whatever the router says, leaving the writes to a routed
        database outside any transaction (and ``select_for_update`` refused there)."""
        alias: str = self.using or router.db_for_write(SsoProfile)
        return alias

    def _local_user(self, email: str) -> Any:
        """The user with this email (or username) that has no SsoProfile, if any."""
        model = get_user_model()
        users = model._default_manager.db_manager(self.using).filter(sso_profile__isnull=True)
        by_email = users.filter(**{f"{model.get_email_field_name()}__iexact": email})
        by_name = users.filter(**{f"{model.USERNAME_FIELD}__iexact": email})
        return by_email.first() or by_name.first()

    def _join_role_group(self, django_user: Any, role: str) -> None:
        """Put the user in the group of ``role`` (created when first needed)."""
        group, _ = Group.objects.using(self.using).get_or_create(name=self.group_name(role))
        django_user.groups.add(group)

    def _move_role_group(self, django_user: Any, old_role: str, role: str) -> None:
        """Move the user from the group of ``old_role`` to that of ``role``."""
        old = Group.objects.using(self.using).filter(name=self.group_name(old_role))
        django_user.groups.remove(*old)
        self._join_role_group(django_user, role)


class DjangoAccountStore:
    """A :class:`~samljit.AccountStore` over :class:`SsoAccount` rows.

    Args:
        using: the database alias (default: the router's choice).
    """

    def __init__(self, *, using: str | None = None) -> None:
        self.using = using

    def get(self, account_id: str) -> AccountConfig | None:
        """The account's SSO configuration, or ``None``."""
        row = SsoAccount.objects.using(self.using).filter(account_id=account_id).first()
        return None if row is None else _config(row)

    def config_version(self, account_id: str) -> datetime | None:
        """When the account's row was last saved (``updated_at``), or ``None`` when it has
        none: a login whose version is unchanged reads nothing else."""
        rows = SsoAccount.objects.using(self.using).filter(account_id=account_id)
        version: datetime | None = rows.values_list("updated_at", flat=True).first()
        return version

    def find_by_idp_entity_id(self, entity_id: str) -> list[AccountConfig]:
        """The accounts whose IdP has this entity ID."""
        rows = (
            SsoAccount.objects.using(self.using)
            .filter(idp_entity_id=entity_id)
            .order_by("account_id")
        )
        return [_config(row) for row in rows]

    def save(self, config: AccountConfig) -> None:
        """Store ``config``; its metadata is parsed now, so a bad document is refused here.

        Raises:
            MetadataError: ``metadata_*``, the metadata does not give one usable IdP.
        """
        idp = parse_idp_metadata(config.idp_metadata, entity_id=config.idp_entity_id).idp
        SsoAccount.objects.using(self.using).update_or_create(
            account_id=config.account_id,
            defaults={"idp_entity_id": idp.entity_id, "config": json.dumps(config.to_dict())},
        )

    def delete(self, account_id: str) -> None:
        """Remove the account's configuration: SSO is disabled for it."""
        SsoAccount.objects.using(self.using).filter(account_id=account_id).delete()


def _config(row: SsoAccount) -> AccountConfig:
    return AccountConfig.from_dict(json.loads(row.config))


def _record(profile: SsoProfile) -> UserRecord:
    return UserRecord(
        user_id=str(profile.user_id),
        email=profile.email,
        account_id=profile.account_id,
        full_name=profile.full_name,
        role=profile.role,
        last_sso_login=_from_db(profile.last_sso_login),
        active=profile.active,
    )


def _has_field(django_user: Any, name: str) -> bool:
    return any(field.name == name for field in type(django_user)._meta.get_fields())


def _to_db(value: datetime) -> datetime:
    """Aware datetimes with ``USE_TZ``; naive UTC without it (as Django expects)."""
    if settings.USE_TZ:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _from_db(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


# The SCIM stores build on the helpers above, hence imported last.
from ._directory_stores import DjangoDirectoryStore, DjangoScimTokenStore  # noqa: E402
