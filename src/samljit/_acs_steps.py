"""The checks of a posted response, shared by the ACS (``_acs``) and Test connection
(``_test_login``): find the account and the request answered, verify, map the identity, apply
the account's rules and plan the provisioning (all without writing), then use the request and
the assertion up; and the audit events both emit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ._accounts import AccountConfig
from ._claims import ADDRESS_NAME_ID_FORMATS, Identity, normalize_email
from ._config import RESPONSE_LIMITS, Limits
from ._context import Context, account, awaited, domain_owner, identity_provider
from ._flow import Call, Flow, compute
from ._models import Assertion
from ._peek import PeekedResponse, peek_response
from ._ports import Requests, add_replay_key, consume_request, get_request, get_user
from ._response import DecryptionKey, VerifiedResponse, replayed, verify_response_xml
from ._results import AuditEvent
from .errors import (
    AccountMismatch,
    AuthnContextNotAccepted,
    DomainNotOwned,
    InResponseToMismatch,
    MalformedResponse,
    TestLoginForbidden,
    TestLoginResponse,
)
from .metadata import IdentityProvider
from .protocols import PendingRequest
from .provisioning import ProvisioningPlan, plan_provisioning

__all__ = ["Verified", "apply_rules", "emit", "map_identity", "use_up", "verify_posted"]

audit_log = logging.getLogger("samljit.audit")


@dataclass(frozen=True, slots=True)
class Verified:
    """A response verified for an account, with the request it answers."""

    config: AccountConfig
    pending: PendingRequest | None
    verified: VerifiedResponse
    in_response_to: str | None


def _saml_response(form: Mapping[str, str]) -> str:
    saml_response = form.get("SAMLResponse")
    if not saml_response:
        raise MalformedResponse("the POST carries no SAMLResponse field")
    return saml_response


def verify_posted(
    ctx: Context,
    form: Mapping[str, str],
    account_id: str | None,
    in_response_to: str | None,
    now: datetime,
    seen: dict[str, str],
    test_admin: str | None,
) -> Flow[Verified]:
    """Decode, find the account and the request answered, verify. ``test_admin`` None: a
    login, which refuses the answer to a test; else the administrator completing a test,
    whose answer must be to their own test request."""
    peeked: PeekedResponse | None = None
    if account_id is None:
        # One shared ACS: the Issuer the response claims selects the account (verification
        # with that account's IdP decides); a value that does not decode or parse is refused
        # with its own code, not reported as naming no account.
        peeked = yield from compute(_peek, _saml_response(form), RESPONSE_LIMITS)
        peeked.raise_for_parse_error()
    # The account first: a refusal names an account (in the audit, in the login history)
    # only once it is known to exist, whatever else the POST lacks.
    config = yield from account(ctx, account_id, peeked.issuer if peeked else None)
    seen["account_id"] = config.account_id
    saml_response = _saml_response(form)
    if peeked is None or peeked.limits != config.sp.limits:
        peeked = yield from compute(_peek, saml_response, config.sp.limits)
    pending = None
    hint = peeked.in_response_to
    if test_admin is not None:
        if ctx.request_store is None or hint is None:
            raise InResponseToMismatch(
                "a Test connection response must answer a test request of this SP's request_store",
                found=hint,
            )
        pending = yield from _pending_test(ctx.request_store, hint, config, now, test_admin)
        in_response_to = pending.request_id
    elif in_response_to is None and ctx.request_store is not None and hint is not None:
        pending = yield from _pending_request(ctx.request_store, hint, config, now)
        in_response_to = pending.request_id
    idp = yield from identity_provider(ctx, config)
    verified = yield from compute(
        _verify, peeked, idp, config, now, in_response_to, ctx.decryption_keys
    )
    return Verified(config, pending, verified, in_response_to)


def map_identity(config: AccountConfig, assertion: Assertion, seen: dict[str, str]) -> Identity:
    """Map the verified assertion to the identity, bound to the account whose IdP signed.

    Raises:
        ClaimError, AccountMismatch: the claims make no identity of this account.
    """
    # Before mapping, the audit names the NameID only when it may be an address: a
    # persistent ID shaped like one is not this user's email.
    email = (
        normalize_email(assertion.name_id.value)
        if assertion.name_id.format in ADDRESS_NAME_ID_FORMATS
        else None
    )
    if email is not None:
        seen["email"] = email
    identity = config.mapping.map_assertion(assertion)
    seen["email"] = identity.email
    if identity.account_id is not None and identity.account_id != config.account_id:
        raise AccountMismatch(
            f"the response says the user belongs to account {identity.account_id!r}, but "
            f"it was signed by the IdP of account {config.account_id!r}",
            expected=config.account_id,
            found=identity.account_id,
        )
    return identity


def apply_rules(
    ctx: Context,
    config: AccountConfig,
    assertion: Assertion,
    identity: Identity,
    idp_initiated: bool,
) -> Flow[ProvisioningPlan]:
    """Every rule past the mapping, and the provisioning plan. Reads the user store, writes
    nothing.

    Raises:
        ProvisioningError: a rule refuses the login.
    """
    owner = yield from domain_owner(ctx, identity.email)
    if owner is not None and owner != config.account_id:
        raise DomainNotOwned(
            f"{identity.email} is at a domain owned by account {owner!r}: only that "
            f"account's IdP may log it in, not the IdP of account {config.account_id!r}",
            expected=owner,
            found=config.account_id,
        )
    required = config.policy.required_authn_contexts
    if required and assertion.authn_context_class not in required:
        raise AuthnContextNotAccepted(
            f"the IdP authenticated the user with {assertion.authn_context_class!r}; this "
            f"account requires one of {list(required)}",
            expected=list(required),
            found=assertion.authn_context_class,
        )
    existing = yield from get_user(ctx.users, identity.email)
    return plan_provisioning(
        existing,
        identity,
        account_id=config.account_id,
        policy=config.policy,
        idp_initiated=idp_initiated,
    )


def use_up(ctx: Context, checked: Verified, now: datetime) -> Flow[None]:
    """Use up the request and the assertion, atomically in the shared stores.

    Raises:
        InResponseToMismatch, Replayed: another response got there first.
    """
    pending = checked.pending
    if pending is not None:
        assert ctx.request_store is not None
        if not (yield from consume_request(ctx.request_store, pending.request_id, now=now)):
            raise InResponseToMismatch(
                f"request {pending.request_id} was already answered or has expired",
                found=pending.request_id,
            )
    verified = checked.verified
    replay_key, expires_at = verified.replay_key, verified.replay_expires_at
    if not (
        yield from add_replay_key(ctx.replay_cache, replay_key, expires_at=expires_at, now=now)
    ):
        raise replayed(verified.assertion)


def _pending_test(
    requests: Requests, request_id: str, config: AccountConfig, now: datetime, admin_id: str
) -> Flow[PendingRequest]:
    """The outstanding test request the response says it answers, started by ``admin_id``."""
    pending = yield from get_request(requests, request_id)
    if pending is None or not awaited(
        pending, kind="test_login", account_id=config.account_id, now=now
    ):
        raise InResponseToMismatch(
            f"the response answers request {request_id!r}, which is not a pending Test "
            "connection of this account (expired, already answered, or a login)",
            found=request_id,
        )
    if pending.test_admin != admin_id:
        raise TestLoginForbidden(
            f"the Test connection {request_id!r} was started by another administrator; only "
            "they can see its result",
            found=admin_id,
        )
    return pending


def _pending_request(
    requests: Requests, request_id: str, config: AccountConfig, now: datetime
) -> Flow[PendingRequest]:
    """The outstanding request the response says it answers.

    The InResponseTo read here is not yet verified: it only selects the request, and the
    verification then requires the signed SubjectConfirmationData to name that request.
    """
    pending = yield from get_request(requests, request_id)
    if pending is not None and pending.kind == "test_login":
        # Never a login, whoever posts it: the test's result is for its administrator only.
        raise TestLoginResponse(
            f"the response answers request {request_id!r}, an administrator's Test connection: "
            "complete it with complete_test_login, it never logs anyone in",
            found=request_id,
        )
    if pending is None or not awaited(pending, kind="login", account_id=config.account_id, now=now):
        raise InResponseToMismatch(
            f"the response answers request {request_id!r}, which this SP is not waiting for "
            "(expired, already answered, or sent for another account)",
            found=request_id,
        )
    return pending


def emit(ctx: Context, event: AuditEvent) -> Flow[None]:
    """Log ``event`` on the ``samljit.audit`` logger and hand it to the app's audit hook (a
    port like the stores: called on the event loop's thread in the async service)."""
    level = logging.WARNING if event.name.endswith("_rejected") else logging.INFO
    audit_log.log(
        level,
        "%s account=%s email=%s code=%s changes=%s message=%s",
        event.name,
        event.account_id,
        event.email,
        event.code,
        dict(event.changes) or None,
        event.message,
        extra={"samljit_event": event},
    )
    if ctx.audit is not None:
        yield Call("audit", ctx.audit, (event,))


# The CPU-bound steps, run through these module-level names (so that a test can watch on
# which thread they run).


def _peek(saml_response: str, limits: Limits) -> PeekedResponse:
    return peek_response(saml_response, limits=limits)


def _verify(
    peeked: PeekedResponse,
    idp: IdentityProvider,
    config: AccountConfig,
    now: datetime,
    in_response_to: str | None,
    decryption_keys: Sequence[DecryptionKey],
) -> VerifiedResponse:
    return verify_response_xml(
        peeked,
        idp=idp,
        sp=config.sp,
        now=now,
        in_response_to=in_response_to,
        allow_unsolicited=config.policy.allow_idp_initiated,
        decryption_keys=decryption_keys,
    )
