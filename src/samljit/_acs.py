"""The ACS: one POSTed response in, a provisioned user and the app's session out
(``complete_login``), each attempt audited; and the stale-user report.

Nothing is written before every check has passed: the response is verified (pure), mapped,
bound to its account and provisioned on paper first; then the request and the assertion are
used up (atomically, in the shared stores), and only then is the user written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ._acs_steps import apply_rules, emit, map_identity, use_up, verify_posted
from ._context import Context, redirect_target
from ._flow import Flow
from ._ports import create_user, get_user, issue_session, update_user, users_of
from ._results import AuditEvent, LoginResult
from .errors import SamlError
from .protocols import DuplicateUser, LoginContext, UserRecord
from .provisioning import ProvisioningOutcome, plan_provisioning, stale_users

__all__ = ["complete_login", "stale_users_of"]


def complete_login(
    ctx: Context, form: Mapping[str, str], account_id: str | None, in_response_to: str | None
) -> Flow[LoginResult]:
    """The login, with its audit events: ``login_rejected`` (with the code), else
    ``user_created``/``user_updated`` when the user changed, and ``login_succeeded``."""
    now = ctx.clock()
    seen: dict[str, str] = {}
    try:
        result = yield from _complete(ctx, form, account_id, in_response_to, now, seen)
    except SamlError as exc:
        yield from emit(
            ctx,
            AuditEvent(
                name="login_rejected",
                at=now,
                account_id=seen.get("account_id", account_id),
                email=seen.get("email"),
                code=exc.code,
                message=exc.message,
            ),
        )
        raise
    if result.outcome.action != "unchanged":
        yield from emit(
            ctx,
            AuditEvent(
                name=f"user_{result.outcome.action}",
                at=now,
                account_id=result.account_id,
                email=result.user.email,
                changes=result.outcome.changes,
            ),
        )
    yield from emit(
        ctx,
        AuditEvent(
            name="login_succeeded", at=now, account_id=result.account_id, email=result.user.email
        ),
    )
    return result


def _complete(
    ctx: Context,
    form: Mapping[str, str],
    account_id: str | None,
    in_response_to: str | None,
    now: datetime,
    seen: dict[str, str],
) -> Flow[LoginResult]:
    """The login itself; ``seen`` collects what is known (verified only) for the audit."""
    relay_state = form.get("RelayState")
    checked = yield from verify_posted(ctx, form, account_id, in_response_to, now, seen, None)
    config, pending, assertion = checked.config, checked.pending, checked.verified.assertion
    idp_initiated = checked.in_response_to is None
    identity = map_identity(config, assertion, seen)
    plan = yield from apply_rules(ctx, config, assertion, identity, idp_initiated)
    # Every check has passed: use up the request and the assertion, atomically, and only
    # then write.
    yield from use_up(ctx, checked, now)
    outcome = plan.outcome
    if plan.new_user is not None:
        try:
            user = yield from create_user(ctx.users, plan.new_user, now=now)
        except DuplicateUser:
            # A concurrent login created the same email first: this one updates it.
            existing = yield from get_user(ctx.users, identity.email)
            plan = plan_provisioning(
                existing,
                identity,
                account_id=config.account_id,
                policy=config.policy,
                idp_initiated=idp_initiated,
            )
            assert plan.existing is not None
            outcome = plan.outcome
            user = yield from _update(ctx, plan.existing, outcome, now)
    else:
        assert plan.existing is not None
        user = yield from _update(ctx, plan.existing, outcome, now)
    context = LoginContext(
        account_id=config.account_id,
        assertion=assertion,
        identity=identity,
        idp_initiated=idp_initiated,
    )
    session = yield from issue_session(ctx.sessions, user, context)
    return LoginResult(
        user=user,
        outcome=outcome,
        session=session,
        identity=identity,
        assertion=assertion,
        account_id=config.account_id,
        relay_state=relay_state,
        redirect_to=(pending.relay_state or "/")
        if pending is not None
        else redirect_target(ctx, relay_state),
    )


def _update(
    ctx: Context, user: UserRecord, outcome: ProvisioningOutcome, now: datetime
) -> Flow[UserRecord]:
    changes = {name: new for name, (_, new) in outcome.changes.items()}
    return (yield from update_user(ctx.users, user.user_id, changes=changes, last_sso_login=now))


def stale_users_of(ctx: Context, account_id: str, days: int) -> Flow[list[UserRecord]]:
    """Users of ``account_id`` without an SSO login in ``days`` days."""
    users = yield from users_of(ctx.users, account_id)
    return stale_users(users, now=ctx.clock(), days=days)
