"""Test connection: an administrator's SP-initiated login, verified as a real one and then
judged as a dry run. Nothing is written to the user store and no session is issued."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Literal

from ._acs_steps import apply_rules, emit, map_identity, use_up, verify_posted
from ._claims import Identity
from ._context import (
    Context,
)
from ._flow import Flow
from ._results import AuditEvent
from .errors import (
    ClaimError,
    ProvisioningError,
    SamlError,
)
from .provisioning import (
    ProvisioningPlan,
    TestLoginResult,
)

__all__ = ["complete_test_login"]

_WOULD: dict[str, Literal["create", "update", "unchanged"]] = {
    "created": "create",
    "updated": "update",
    "unchanged": "unchanged",
}


def complete_test_login(
    ctx: Context, form: Mapping[str, str], account_id: str | None, admin_id: str
) -> Flow[TestLoginResult]:
    """An administrator's Test connection, as a dry run, with its audit event:
    ``test_login_completed`` (with the refusal's code, if any), or ``test_login_rejected``
    when the response does not verify. Never ``login_succeeded`` or ``user_*``."""
    now = ctx.clock()
    seen: dict[str, str] = {}
    try:
        result = yield from _test(ctx, form, account_id, admin_id, now, seen)
    except SamlError as exc:
        yield from emit(
            ctx,
            AuditEvent(
                name="test_login_rejected",
                at=now,
                account_id=seen.get("account_id", account_id),
                email=seen.get("email"),
                code=exc.code,
                message=exc.message,
                admin_id=admin_id,
            ),
        )
        raise
    yield from emit(
        ctx,
        AuditEvent(
            name="test_login_completed",
            at=now,
            account_id=result.account_id,
            email=result.identity.email if result.identity else seen.get("email"),
            code=result.code,
            message=result.message,
            changes=result.changes,
            admin_id=admin_id,
        ),
    )
    return result


def _test(
    ctx: Context,
    form: Mapping[str, str],
    account_id: str | None,
    admin_id: str,
    now: datetime,
    seen: dict[str, str],
) -> Flow[TestLoginResult]:
    """Every check of a login; the mapping's and the rules' refusal is the result, and
    nothing is written but the used-up request and assertion."""
    checked = yield from verify_posted(ctx, form, account_id, None, now, seen, admin_id)
    assertion = checked.verified.assertion
    identity: Identity | None = None
    plan: ProvisioningPlan | None = None
    refusal: SamlError | None = None
    try:
        identity = map_identity(checked.config, assertion, seen)
        # As a real login answering this request would (SP-initiated).
        plan = yield from apply_rules(ctx, checked.config, assertion, identity, False)
    except (ClaimError, ProvisioningError) as exc:
        refusal = exc
    # Used up like a login's: the test response can never be posted again, to either path.
    yield from use_up(ctx, checked, now)
    assert checked.pending is not None
    result = TestLoginResult(
        account_id=checked.config.account_id,
        admin_id=admin_id,
        request_id=checked.pending.request_id,
        assertion=assertion,
        identity=identity,
        action="refuse",
        redirect_to=checked.pending.relay_state or "/",
    )
    if plan is None:
        assert refusal is not None
        return replace(result, code=refusal.code, message=refusal.message)
    return replace(result, action=_WOULD[plan.outcome.action], changes=plan.outcome.changes)
