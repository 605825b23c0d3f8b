"""LoginService: one ACS request in, a provisioned user and the app's session out."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

from ._xml import NS_SAML, parse_xml, text_of
from .accounts import AccountConfig
from .claims import Identity, normalize_email
from .config import RESPONSE_LIMITS
from .errors import (
    AccountMismatch,
    AuthnContextNotAccepted,
    MalformedResponse,
    Replayed,
    SamlError,
    SsoDisabled,
)
from .metadata import IdentityProvider, parse_idp_metadata
from .models import Assertion
from .protocols import (
    AccountStore,
    DuplicateUser,
    LoginContext,
    ReplayCache,
    SessionIssuer,
    UserRecord,
    UserStore,
)
from .provisioning import ProvisioningOutcome, plan_provisioning, stale_users
from .response import decode_post_response, verify_response_xml

__all__ = ["AuditEvent", "LoginResult", "LoginService"]

audit_log = logging.getLogger("samljit.audit")

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginResult:
    """A completed login: who, what changed, and the session the app issued."""

    user: UserRecord
    outcome: ProvisioningOutcome
    session: object
    identity: Identity
    assertion: Assertion
    account_id: str
    relay_state: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEvent:
    """One structured audit record. ``name`` is ``login_succeeded``, ``login_rejected``,
    ``user_created`` or ``user_updated``. On a rejection, ``email`` is set once the response
    was verified (it is then the IdP's signed word), never from unverified input."""

    name: str
    at: datetime
    account_id: str | None
    email: str | None = None
    code: str | None = None
    message: str | None = None
    changes: Mapping[str, tuple[str | None, str | None]] = field(
        default_factory=lambda: MappingProxyType({})
    )


class _Deferred:
    """Collects the replay key so that it is written only after every other check passed."""

    def __init__(self) -> None:
        self.key: str | None = None
        self.expires_at: datetime | None = None

    def add(self, key: str, *, expires_at: datetime, now: datetime) -> bool:
        self.key, self.expires_at = key, expires_at
        return True


class _IdPCache:
    """Parsed metadata by content hash: each distinct document is parsed once per process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[bytes, str | None], IdentityProvider] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, config: AccountConfig, now: datetime) -> IdentityProvider:
        key = (hashlib.sha256(config.idp_metadata).digest(), config.idp_entity_id)
        with self._lock:
            idp = self._items.get(key)
            if idp is not None:
                self._items.move_to_end(key)
                return idp
        idp = parse_idp_metadata(config.idp_metadata, entity_id=config.idp_entity_id, now=now).idp
        with self._lock:
            self._items[key] = idp
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return idp


class LoginService:
    """Completes SAML logins with Just-In-Time provisioning.

    Args:
        accounts: where each account's SSO configuration lives.
        users: the app's users.
        sessions: turns a user into the app's session.
        replay_cache: shared by every process that serves the ACS.
        clock: the current time; ``datetime.now(UTC)`` unless given (tests pass a fixed one).
        audit: called with every :class:`AuditEvent`; events also go to the
            ``samljit.audit`` logger.
        metadata_cache_size: parsed IdP metadata kept per process.
    """

    def __init__(
        self,
        *,
        accounts: AccountStore,
        users: UserStore,
        sessions: SessionIssuer,
        replay_cache: ReplayCache,
        clock: Clock | None = None,
        audit: Callable[[AuditEvent], None] | None = None,
        metadata_cache_size: int = 20_000,
    ) -> None:
        self.accounts = accounts
        self.users = users
        self.sessions = sessions
        self.replay_cache = replay_cache
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.audit = audit
        self._idps = _IdPCache(metadata_cache_size)

    def identity_provider(self, config: AccountConfig) -> IdentityProvider:
        """The parsed IdP of ``config`` (cached by metadata content)."""
        return self._idps.get(config, self.clock())

    def complete_login(
        self,
        form: Mapping[str, str],
        *,
        account_id: str | None,
        in_response_to: str | None = None,
    ) -> LoginResult:
        """Verify the POSTed response, provision the user and issue the app's session.

        Args:
            form: the POSTed form fields (``SAMLResponse``, optionally ``RelayState``).
            account_id: the account named by the ACS URL (one ACS per account). None to
                find the account by the response's Issuer (one shared ACS URL).
            in_response_to: the AuthnRequest ID of an SP-initiated login; None for an
                IdP-initiated one.

        Raises:
            SamlError: any verification, claim or provisioning rule; nothing was written.
        """
        now = self.clock()
        seen: dict[str, str] = {}
        try:
            result = self._complete(form, account_id, in_response_to, now, seen)
        except SamlError as exc:
            self._emit(
                AuditEvent(
                    name="login_rejected",
                    at=now,
                    account_id=seen.get("account_id", account_id),
                    email=seen.get("email"),
                    code=exc.code,
                    message=exc.message,
                )
            )
            raise
        if result.outcome.action != "unchanged":
            self._emit(
                AuditEvent(
                    name=f"user_{result.outcome.action}",
                    at=now,
                    account_id=result.account_id,
                    email=result.user.email,
                    changes=result.outcome.changes,
                )
            )
        self._emit(
            AuditEvent(
                name="login_succeeded",
                at=now,
                account_id=result.account_id,
                email=result.user.email,
            )
        )
        return result

    def _complete(
        self,
        form: Mapping[str, str],
        account_id: str | None,
        in_response_to: str | None,
        now: datetime,
        seen: dict[str, str],
    ) -> LoginResult:
        """The login itself; ``seen`` collects what is known (verified only) for the audit."""
        saml_response = form.get("SAMLResponse")
        if not saml_response:
            raise MalformedResponse("the POST carries no SAMLResponse field")
        relay_state = form.get("RelayState")
        config = self._account(account_id, saml_response)
        seen["account_id"] = config.account_id
        xml = decode_post_response(saml_response, max_bytes=config.sp.limits.max_bytes)
        deferred = _Deferred()
        assertion = verify_response_xml(
            xml,
            idp=self.identity_provider(config),
            sp=config.sp,
            now=now,
            replay_cache=deferred,
            in_response_to=in_response_to,
            allow_unsolicited=config.policy.allow_idp_initiated,
        )
        email = normalize_email(assertion.name_id.value)
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
        required = config.policy.required_authn_contexts
        if required and assertion.authn_context_class not in required:
            raise AuthnContextNotAccepted(
                f"the IdP authenticated the user with {assertion.authn_context_class!r}; this "
                f"account requires one of {list(required)}",
                expected=list(required),
                found=assertion.authn_context_class,
            )
        idp_initiated = in_response_to is None
        existing = self.users.get_by_email(identity.email)
        plan = plan_provisioning(
            existing,
            identity,
            account_id=config.account_id,
            policy=config.policy,
            idp_initiated=idp_initiated,
        )
        # Every check has passed: record the assertion, atomically, and only then write.
        assert deferred.key is not None
        assert deferred.expires_at is not None
        if not self.replay_cache.add(deferred.key, expires_at=deferred.expires_at, now=now):
            raise Replayed(
                f"assertion {assertion.assertion_id} was already used to log in",
                found=assertion.assertion_id,
            )
        outcome = plan.outcome
        if plan.new_user is not None:
            try:
                user = self.users.create(plan.new_user, now=now)
            except DuplicateUser:
                # A concurrent login created the same email first: this one updates it.
                existing = self.users.get_by_email(identity.email)
                plan = plan_provisioning(
                    existing,
                    identity,
                    account_id=config.account_id,
                    policy=config.policy,
                    idp_initiated=idp_initiated,
                )
                assert plan.existing is not None
                outcome = plan.outcome
                user = self._update(plan.existing, outcome, now)
        else:
            assert plan.existing is not None
            user = self._update(plan.existing, outcome, now)
        context = LoginContext(
            account_id=config.account_id,
            assertion=assertion,
            identity=identity,
            idp_initiated=idp_initiated,
        )
        return LoginResult(
            user=user,
            outcome=outcome,
            session=self.sessions.issue(user, context),
            identity=identity,
            assertion=assertion,
            account_id=config.account_id,
            relay_state=relay_state,
        )

    def _update(self, user: UserRecord, outcome: ProvisioningOutcome, now: datetime) -> UserRecord:
        changes = {name: new for name, (_, new) in outcome.changes.items()}
        return self.users.update(user.user_id, changes=changes, last_sso_login=now)

    def _account(self, account_id: str | None, saml_response: str) -> AccountConfig:
        if account_id is not None:
            config = self.accounts.get(account_id)
            if config is None:
                raise SsoDisabled(
                    f"single sign-on is not configured for account {account_id!r} (no IdP "
                    "metadata): an administrator must add it in the SSO settings",
                    found=account_id,
                )
            return config
        issuer = _issuer_hint(saml_response)
        configs = self.accounts.find_by_idp_entity_id(issuer) if issuer else []
        if len(configs) != 1:
            raise SsoDisabled(
                f"no single account has SSO configured for the IdP {issuer!r}"
                + (" (several share it: give each its own ACS URL)" if configs else ""),
                found=issuer,
            )
        return configs[0]

    def stale_users(self, account_id: str, *, days: int) -> list[UserRecord]:
        """Users of ``account_id`` without an SSO login in ``days`` days (see
        :func:`samljit.provisioning.stale_users`)."""
        return stale_users(self.users.users_of(account_id), now=self.clock(), days=days)

    def _emit(self, event: AuditEvent) -> None:
        level = logging.WARNING if event.name == "login_rejected" else logging.INFO
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
        if self.audit is not None:
            self.audit(event)


def _issuer_hint(saml_response: str) -> str | None:
    """The Issuer the response claims, to choose which account's keys verify it. Unsigned at
    this point, so it only selects; verification against that account's IdP decides."""
    try:
        document = parse_xml(
            decode_post_response(saml_response, max_bytes=RESPONSE_LIMITS.max_bytes),
            limits=RESPONSE_LIMITS,
            what="SAML response",
        )
    except SamlError:
        return None
    issuer = document.find(f"{{{NS_SAML}}}Issuer")
    if issuer is None:
        issuer = document.find(f"{{{NS_SAML}}}Assertion/{{{NS_SAML}}}Issuer")
    value = text_of(issuer)
    return value.strip() if value else None
