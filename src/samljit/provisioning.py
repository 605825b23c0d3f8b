"""Just-In-Time provisioning rules: create, update or refuse. Pure decisions; the login
service applies them to the stores only after every check has passed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import ClassVar, Literal

from ._accounts import ProvisioningPolicy
from ._claims import Identity
from ._models import Assertion
from .errors import AccountMismatch, UserDeactivated, UserNotProvisioned
from .protocols import NewUser, UserRecord

__all__ = [
    "ProvisioningOutcome",
    "ProvisioningPlan",
    "TestLoginResult",
    "plan_provisioning",
    "stale_users",
]

Action = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisioningOutcome:
    """What a login did to the user: ``changes`` maps each field to ``(old, new)``."""

    action: Action
    changes: Mapping[str, tuple[str | None, str | None]] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisioningPlan:
    """What :func:`~samljit.provisioning.plan_provisioning` decided: the outcome, the user found,
    the user to
    create."""

    outcome: ProvisioningOutcome
    existing: UserRecord | None
    new_user: NewUser | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TestLoginResult:
    """What an administrator's Test connection found (``complete_test_login``): the verified
    response and what a real SP-initiated login with it would do. Nothing was written: no
    user created or changed, no session issued; the test request and the assertion are
    used up.

    ``action`` is ``"create"`` (a new user, ``changes`` its fields), ``"update"``
    (``changes`` maps each field to ``(old, new)``), ``"unchanged"``, or ``"refuse"``: the
    claim mapping or a provisioning rule would refuse the login, ``code`` and ``message``
    say which and why (as the real login's error would).
    """

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    account_id: str
    admin_id: str
    """The administrator who started the test (the only one who may see this result)."""
    request_id: str
    """The ID of the test AuthnRequest the response answers."""
    assertion: Assertion
    """The verified assertion: NameID, attributes, authentication context, as signed."""
    identity: Identity | None
    """The mapped identity; None when the mapping refused the claims."""
    action: Literal["create", "update", "unchanged", "refuse"]
    changes: Mapping[str, tuple[str | None, str | None]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    code: str | None = None
    """For ``"refuse"``: the error code a real login would fail with."""
    message: str | None = None
    """For ``"refuse"``: the real login's error message, for the administrator."""
    redirect_to: str = "/"
    """The target saved with the test request (``relay_state`` of ``begin_test_login``)."""


def plan_provisioning(
    existing: UserRecord | None,
    identity: Identity,
    *,
    account_id: str,
    policy: ProvisioningPolicy,
    idp_initiated: bool,
) -> ProvisioningPlan:
    """Decide what a login for ``identity`` does, given the user found by its email.

    Raises:
        AccountMismatch: ``account_mismatch``, the email belongs to a user of another account
            (users are never moved between accounts).
        UserNotProvisioned: ``user_not_provisioned``, no such user and the policy does not
            allow creating one on this kind of login.
        UserDeactivated: ``user_deactivated``, the directory (SCIM) deactivated the user.
    """
    if existing is None:
        allowed = policy.create_users == "always" or (
            policy.create_users == "idp_initiated" and idp_initiated
        )
        if not allowed:
            when = "" if policy.create_users == "never" else " on an SP-initiated login"
            raise UserNotProvisioned(
                f"{identity.email} has no user in this account and users are not created{when}: "
                "log in once from the IdP's portal, or ask an administrator to add the user",
                found=identity.email,
            )
        return ProvisioningPlan(
            outcome=ProvisioningOutcome(
                action="created",
                changes=MappingProxyType(
                    {"full_name": (None, identity.full_name), "role": (None, identity.role)}
                ),
            ),
            existing=None,
            new_user=NewUser(
                email=identity.email,
                account_id=account_id,
                full_name=identity.full_name,
                role=identity.role,
            ),
        )
    if existing.account_id != account_id:
        raise AccountMismatch(
            f"{identity.email} is a user of another account; this account's IdP cannot log "
            "them in (users are never moved between accounts)",
            expected=account_id,
            found=existing.account_id,
        )
    if not existing.active:
        raise UserDeactivated(
            f"{identity.email} was deactivated by the account's directory (SCIM): the user may "
            "not log in until the IdP reactivates them",
            found=identity.email,
        )
    changes: dict[str, tuple[str | None, str | None]] = {}
    if policy.update_users:
        if identity.full_name is not None and identity.full_name != existing.full_name:
            changes["full_name"] = (existing.full_name, identity.full_name)
        if identity.role != existing.role:
            changes["role"] = (existing.role, identity.role)
    return ProvisioningPlan(
        outcome=ProvisioningOutcome(
            action="updated" if changes else "unchanged", changes=MappingProxyType(changes)
        ),
        existing=existing,
        new_user=None,
    )


def stale_users(users: Iterable[UserRecord], *, now: datetime, days: int) -> list[UserRecord]:
    """Users with no SSO login in the last ``days`` days, oldest first.

    The IdP never tells the app that a user was removed: such users simply stop logging in.
    This report is how an administrator finds the accounts to delete in the app.
    """
    cutoff = now - timedelta(days=days)
    stale = [u for u in users if u.last_sso_login is None or u.last_sso_login < cutoff]
    return sorted(stale, key=lambda u: (u.last_sso_login is not None, u.last_sso_login or now))
