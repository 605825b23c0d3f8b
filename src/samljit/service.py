"""LoginService: one ACS request in, a provisioned user and the app's session out."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import logging
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from cryptography import x509

from ._peek import PeekedResponse, peek_response
from .accounts import AccountConfig
from .bindings import PrivateKey, encode_redirect, post_form
from .claims import ADDRESS_NAME_ID_FORMATS, Identity, normalize_email, parse_email
from .config import RESPONSE_LIMITS, Limits
from .errors import (
    AccountMismatch,
    AccountNotFound,
    AuthnContextNotAccepted,
    ConfigError,
    DomainNotOwned,
    InResponseToMismatch,
    MalformedResponse,
    Replayed,
    SamlError,
    SsoDisabled,
)
from .logout import (
    LogoutMessage,
    build_logout_request,
    build_logout_response,
    check_logout_response,
    read_logout_message,
)
from .messages import build_authn_request, new_request_id
from .metadata import (
    BINDING_HTTP_POST,
    BINDING_HTTP_REDIRECT,
    Endpoint,
    IdentityProvider,
    build_sp_metadata,
    parse_idp_metadata,
)
from .models import Assertion, NameID
from .protocols import (
    AccountStore,
    AsyncAccountStore,
    AsyncReplayCache,
    AsyncRequestStore,
    AsyncSessionIssuer,
    AsyncSessionRevoker,
    AsyncUserStore,
    DuplicateUser,
    LoginContext,
    PendingRequest,
    ReplayCache,
    RequestStore,
    SessionIssuer,
    SessionRevoker,
    UserRecord,
    UserStore,
)
from .provisioning import ProvisioningOutcome, plan_provisioning, stale_users
from .relay_state import DEFAULT_MAX_RELAY_STATE, safe_redirect
from .response import DecryptionKey, VerifiedResponse, replayed, verify_response_xml

__all__ = [
    "AsyncLoginService",
    "AuditEvent",
    "LoginRequest",
    "LoginResult",
    "LoginService",
    "LogoutResult",
    "OutboundMessage",
]

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
    """The RelayState as posted (untrusted; never redirect to it as such)."""
    redirect_to: str
    """Where to send the browser now: the target saved with the SP-initiated request, or a
    posted RelayState that :func:`~samljit.safe_redirect` accepts, else ``/``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundMessage:
    """A SAML message ready to send the browser to the IdP with.

    For the Redirect binding, send a 302 to :attr:`url`. For the POST binding, serve
    :attr:`form_html` (or build your own page from :attr:`destination` and
    :attr:`form_fields`).
    """

    message_id: str
    account_id: str
    binding: Literal["redirect", "post"]
    destination: str
    url: str | None = None
    form_fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    form_html: str | None = None

    @property
    def request_id(self) -> str:
        return self.message_id


LoginRequest = OutboundMessage
"""What :meth:`LoginService.begin_login` returns."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LogoutResult:
    """What :meth:`LoginService.handle_logout` did.

    For an IdP's LogoutRequest: the sessions it ended and the signed ``reply`` to send the
    browser back to the IdP with. For the answer to the SP's own LogoutRequest: where to send
    the browser now.
    """

    message: LogoutMessage
    revoked: int = 0
    reply: OutboundMessage | None = None
    redirect_to: str = "/"


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


class _IdPCache:
    """Parsed metadata by content hash: each distinct document is parsed once per process."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple[bytes, str | None], IdentityProvider] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(config: AccountConfig) -> tuple[bytes, str | None]:
        return hashlib.sha256(config.idp_metadata).digest(), config.idp_entity_id

    def cached(self, config: AccountConfig) -> IdentityProvider | None:
        key = self._key(config)
        with self._lock:
            idp = self._items.get(key)
            if idp is not None:
                self._items.move_to_end(key)
            return idp

    def get(self, config: AccountConfig, now: datetime) -> IdentityProvider:
        idp = self.cached(config)
        if idp is not None:
            return idp
        idp = parse_idp_metadata(config.idp_metadata, entity_id=config.idp_entity_id, now=now).idp
        with self._lock:
            self._items[self._key(config)] = idp
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return idp


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Call:
    """A call to something the host app plugged in (a store, the session issuer, a hook):
    awaited when it is a coroutine, so one flow serves sync and async stores alike."""

    target: str
    method: str | None
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def start(self, service: _LoginFlows) -> Any:
        target = getattr(service, self.target)
        function = target if self.method is None else getattr(target, self.method)
        return function(*self.args, **self.kwargs)


@dataclass(frozen=True, slots=True)
class _Compute:
    """CPU-bound work (verification, metadata parsing): inline in :class:`LoginService`, on
    a worker thread in :class:`AsyncLoginService` so the event loop keeps serving."""

    function: Callable[..., Any]
    args: tuple[Any, ...]


_Step = _Call | _Compute
Flow = Generator[_Step, Any, T]
"""The one implementation of each operation: it yields the I/O and CPU steps it needs and
receives their results; LoginService and AsyncLoginService only differ in how they run steps."""


def _call(target: str, method: str | None, *args: Any, **kwargs: Any) -> _Call:
    return _Call(target, method, args, kwargs)


_CALLED: Mapping[str, tuple[str | None, ...]] = MappingProxyType(
    {
        "accounts": ("get", "find_by_idp_entity_id"),
        "users": ("get_by_email", "create", "update", "users_of"),
        "sessions": ("issue",),
        "replay_cache": ("add",),
        "request_store": ("save", "get", "consume"),
        "session_revoker": ("revoke",),
        "account_for_domain": (None,),
    }
)
"""What the flows call of each plugged-in store (None: the hook itself)."""


class _LoginFlows:
    """What LoginService and AsyncLoginService share: configuration and every rule."""

    def __init__(
        self,
        *,
        accounts: AccountStore | AsyncAccountStore,
        users: UserStore | AsyncUserStore,
        sessions: SessionIssuer | AsyncSessionIssuer,
        replay_cache: ReplayCache | AsyncReplayCache,
        clock: Clock | None = None,
        audit: Callable[[AuditEvent], None] | None = None,
        metadata_cache_size: int = 20_000,
        request_store: RequestStore | AsyncRequestStore | None = None,
        sp_key: PrivateKey | None = None,
        sp_certificate: x509.Certificate | None = None,
        allowed_redirect_origins: Collection[str] = (),
        account_for_domain: Callable[[str], str | Awaitable[str | None] | None] | None = None,
        request_lifetime: timedelta = timedelta(minutes=10),
        session_revoker: SessionRevoker | AsyncSessionRevoker | None = None,
        max_relay_state: int = DEFAULT_MAX_RELAY_STATE,
        decryption_keys: Sequence[DecryptionKey] = (),
        domain_owner_covers_subdomains: bool = True,
    ) -> None:
        self.accounts = accounts
        self.users = users
        self.sessions = sessions
        self.replay_cache = replay_cache
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self.audit = audit
        self._idps = _IdPCache(metadata_cache_size)
        self.request_store = request_store
        self.sp_key = sp_key
        self.sp_certificate = sp_certificate
        self.allowed_redirect_origins = tuple(allowed_redirect_origins)
        self.account_for_domain = account_for_domain
        self.request_lifetime = request_lifetime
        self.session_revoker = session_revoker
        self.max_relay_state = max_relay_state
        self.decryption_keys = tuple(decryption_keys)
        self.domain_owner_covers_subdomains = domain_owner_covers_subdomains
        self._check_plugged()

    def _check_plugged(self) -> None:
        """Refuse stores and hooks the driver cannot call (LoginService: async ones)."""

    def identity_provider(self, config: AccountConfig) -> IdentityProvider:
        """The parsed IdP of ``config`` (cached by metadata content)."""
        return self._idps.get(config, self.clock())

    def _identity_provider(self, config: AccountConfig) -> Flow[IdentityProvider]:
        idp = self._idps.cached(config)
        if idp is None:
            idp = yield _Compute(self._idps.get, (config, self.clock()))
        return idp

    # --- SP-initiated login -------------------------------------------------------------

    def _begin_login(
        self,
        account_id: str,
        relay_state: str | None,
        binding: Literal["redirect", "post"],
        force_authn: bool,
        form_nonce: str | None,
    ) -> Flow[LoginRequest]:
        if self.request_store is None:
            raise ConfigError("SP-initiated login needs a request_store on the LoginService")
        config = yield from self._account(account_id, None)
        idp = yield from self._identity_provider(config)
        if idp.want_authn_requests_signed and self.sp_key is None:
            raise ConfigError(
                f"the IdP of account {account_id!r} wants signed AuthnRequests: give the "
                "LoginService an sp_key"
            )
        wanted = BINDING_HTTP_REDIRECT if binding == "redirect" else BINDING_HTTP_POST
        endpoint = idp.sso_service(wanted) or idp.sso_service(
            BINDING_HTTP_POST if binding == "redirect" else BINDING_HTTP_REDIRECT
        )
        if endpoint is None:
            raise SsoDisabled(
                f"the IdP metadata of account {account_id!r} has no HTTP-Redirect or HTTP-POST "
                "SingleSignOnService",
                found=account_id,
            )
        now = self.clock()
        use_post = endpoint.binding == BINDING_HTTP_POST
        request = build_authn_request(
            sp=config.sp,
            destination=endpoint.location,
            now=now,
            force_authn=force_authn,
            name_id_format=config.name_id_format,
            requested_authn_contexts=config.policy.required_authn_contexts,
            signing_key=self.sp_key if use_post else None,
            signing_certificate=self.sp_certificate,
        )
        yield self._remember(request.request_id, config.account_id, relay_state, now, "login")
        return self._outbound(request.request_id, config.account_id, endpoint.location,
                              request.xml, use_post, self.sp_key, "SAMLRequest",
                              nonce=form_nonce)  # fmt: skip

    def _begin_login_for_email(
        self,
        email: str,
        relay_state: str | None,
        binding: Literal["redirect", "post"],
        form_nonce: str | None,
    ) -> Flow[LoginRequest]:
        normalized = parse_email(email, source="the email address typed")
        account_id = None
        if normalized is not None:
            # The owner of the domain first: a user another account's IdP created at that
            # domain (before it was owned) must not send its real person to that IdP.
            account_id = yield from self._domain_owner(normalized)
            if account_id is None:
                user = yield _call("users", "get_by_email", normalized)
                if user is not None:
                    account_id = user.account_id
        if account_id is None:
            raise AccountNotFound(
                "no account is known for this email address, and its domain is not verified by "
                "any account",
                found=normalized,
            )
        return (yield from self._begin_login(account_id, relay_state, binding, False, form_nonce))

    def _domain_owner(self, email: str) -> Flow[str | None]:
        """The account that owns the domain of ``email`` (a normalized address), or None:
        ``account_for_domain`` asked for the domain, then (when owners cover subdomains) for
        each parent domain of two or more labels; the nearest owner wins."""
        if self.account_for_domain is None:
            return None
        labels = email.rpartition("@")[2].split(".")
        last = len(labels) - 1 if self.domain_owner_covers_subdomains else 1
        for start in range(last):
            owner = yield _call("account_for_domain", None, ".".join(labels[start:]))
            if owner is not None:
                return owner  # type: ignore[no-any-return]
        return None

    # --- Single Logout ----------------------------------------------------------------------

    def _begin_logout(
        self,
        account_id: str,
        name_id: NameID,
        session_index: str | None,
        relay_state: str | None,
        binding: Literal["redirect", "post"],
        form_nonce: str | None,
    ) -> Flow[OutboundMessage]:
        key = self._slo_key()
        config = yield from self._account(account_id, None)
        endpoint = yield from self._slo_endpoint(config, binding)
        now = self.clock()
        post = endpoint.binding == BINDING_HTTP_POST
        request_id, xml = build_logout_request(
            sp=config.sp,
            destination=endpoint.location,
            name_id=name_id,
            session_index=session_index,
            now=now,
            signing_key=key if post else None,
            signing_certificate=self.sp_certificate,
        )
        yield self._remember(request_id, config.account_id, relay_state, now, "logout")
        return self._outbound(request_id, config.account_id, endpoint.location, xml, post, key,
                              "SAMLRequest", nonce=form_nonce)  # fmt: skip

    def _handle_logout(
        self,
        account_id: str,
        query: str | None,
        form: Mapping[str, str] | None,
        form_nonce: str | None,
    ) -> Flow[LogoutResult]:
        key = self._slo_key()
        config = yield from self._account(account_id, None)
        if config.sp.slo_url is None:
            raise ConfigError(f"account {account_id!r} has no SPConfig.slo_url")
        now = self.clock()
        fields = form or {}
        idp = yield from self._identity_provider(config)
        message = read_logout_message(
            idp=idp,
            sp=config.sp,
            now=now,
            query=query,
            form_value=fields.get("SAMLRequest") or fields.get("SAMLResponse"),
            relay_state=fields.get("RelayState"),
            request_lifetime=self.request_lifetime,
        )
        if message.kind == "response":
            pending = yield _call("request_store", "get", message.in_response_to or "")
            if not _awaited(pending, kind="logout", account_id=config.account_id, now=now):
                raise InResponseToMismatch(
                    "the logout response answers no pending logout of this SP (expired, already "
                    "answered, or never started)",
                    found=message.in_response_to,
                )
            check_logout_response(message, request_id=pending.request_id)
            if not (yield _call("request_store", "consume", pending.request_id, now=now)):
                raise InResponseToMismatch(
                    f"logout {pending.request_id} was already answered", found=pending.request_id
                )
            return LogoutResult(message=message, redirect_to=pending.relay_state or "/")
        assert message.name_id is not None
        if self.session_revoker is None:
            # Answering Success without ending anything would tell the IdP a lie.
            raise ConfigError("IdP-initiated logout needs a session_revoker on the LoginService")
        # Like an assertion, a LogoutRequest is acted on once (until it expires).
        assert message.issue_instant is not None
        expires_at = message.not_on_or_after or message.issue_instant + self.request_lifetime
        replay_key = f"{message.issuer} logout {message.message_id}"
        expires_at += config.sp.clock_skew
        if not (yield _call("replay_cache", "add", replay_key, expires_at=expires_at, now=now)):
            raise Replayed(
                f"logout request {message.message_id} was already handled",
                found=message.message_id,
            )
        revoked = yield _call(
            "session_revoker",
            "revoke",
            account_id=config.account_id,
            email=normalize_email(message.name_id.value) or message.name_id.value,
            session_indexes=message.session_indexes,
        )
        binding: Literal["redirect", "post"] = "redirect" if query is not None else "post"
        endpoint = yield from self._slo_endpoint(config, binding)
        post = endpoint.binding == BINDING_HTTP_POST
        destination = endpoint.response_location or endpoint.location
        response_id = new_request_id()
        xml = build_logout_response(
            response_id=response_id,
            sp=config.sp,
            destination=destination,
            in_response_to=message.message_id,
            now=now,
            signing_key=key if post else None,
            signing_certificate=self.sp_certificate,
        )
        reply = self._outbound(response_id, config.account_id, destination, xml, post,
                               key, "SAMLResponse", message.relay_state,
                               nonce=form_nonce)  # fmt: skip
        return LogoutResult(message=message, revoked=revoked, reply=reply)

    def _remember(
        self, request_id: str, account_id: str, relay_state: str | None, now: datetime, kind: str
    ) -> _Call:
        """Keep an outgoing request server-side, with the checked target to return to."""
        return _call(
            "request_store",
            "save",
            PendingRequest(
                request_id=request_id,
                account_id=account_id,
                relay_state=safe_redirect(
                    relay_state,
                    allowed_origins=self.allowed_redirect_origins,
                    max_length=self.max_relay_state,
                ),
                expires_at=now + self.request_lifetime,
                kind=kind,
            ),
        )

    def _slo_key(self) -> PrivateKey:
        if self.request_store is None or self.sp_key is None:
            raise ConfigError("Single Logout needs a request_store and an sp_key")
        return self.sp_key

    def _slo_endpoint(self, config: AccountConfig, binding: str) -> Flow[Endpoint]:
        idp = yield from self._identity_provider(config)
        wanted = BINDING_HTTP_POST if binding == "post" else BINDING_HTTP_REDIRECT
        other = BINDING_HTTP_REDIRECT if binding == "post" else BINDING_HTTP_POST
        endpoint = idp.slo_service(wanted) or idp.slo_service(other)
        if endpoint is None:
            raise ConfigError(f"the IdP of account {config.account_id!r} has no SLO endpoint")
        return endpoint

    def _outbound(
        self,
        message_id: str,
        account_id: str,
        destination: str,
        xml: bytes,
        post: bool,
        key: PrivateKey | None,
        parameter: str,
        relay_state: str | None = None,
        *,
        nonce: str | None = None,
    ) -> OutboundMessage:
        if post:
            fields = {parameter: base64.b64encode(xml).decode("ascii")}
            if relay_state is not None:
                fields["RelayState"] = relay_state
            return OutboundMessage(
                message_id=message_id,
                account_id=account_id,
                binding="post",
                destination=destination,
                form_fields=MappingProxyType(fields),
                form_html=post_form(destination, fields, nonce=nonce),
            )
        return OutboundMessage(
            message_id=message_id,
            account_id=account_id,
            binding="redirect",
            destination=destination,
            url=encode_redirect(
                xml, destination=destination, parameter=parameter, relay_state=relay_state, key=key
            ),
        )

    # --- The ACS ----------------------------------------------------------------------------

    def _complete_login(
        self, form: Mapping[str, str], account_id: str | None, in_response_to: str | None
    ) -> Flow[LoginResult]:
        now = self.clock()
        seen: dict[str, str] = {}
        try:
            result = yield from self._complete(form, account_id, in_response_to, now, seen)
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
    ) -> Flow[LoginResult]:
        """The login itself; ``seen`` collects what is known (verified only) for the audit."""
        saml_response = form.get("SAMLResponse")
        if not saml_response:
            raise MalformedResponse("the POST carries no SAMLResponse field")
        relay_state = form.get("RelayState")
        peeked: PeekedResponse | None = None
        if account_id is None:
            # One shared ACS: the Issuer the response claims selects the account; a value
            # that does not decode or parse is refused with its own code.
            peeked = yield _Compute(_peek, (saml_response, RESPONSE_LIMITS))
            peeked.raise_for_parse_error()
        config = yield from self._account(account_id, peeked)
        seen["account_id"] = config.account_id
        if peeked is None or peeked.limits != config.sp.limits:
            peeked = yield _Compute(_peek, (saml_response, config.sp.limits))
        pending = None
        hint = peeked.in_response_to
        if in_response_to is None and self.request_store is not None and hint is not None:
            pending = yield from self._pending_request(hint, config, now)
            in_response_to = pending.request_id
        idp = yield from self._identity_provider(config)
        verified: VerifiedResponse = yield _Compute(
            _verify,
            (peeked, idp, config, now, in_response_to, self.decryption_keys),
        )
        assertion = verified.assertion
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
        owner = yield from self._domain_owner(identity.email)
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
        idp_initiated = in_response_to is None
        existing = yield _call("users", "get_by_email", identity.email)
        plan = plan_provisioning(
            existing,
            identity,
            account_id=config.account_id,
            policy=config.policy,
            idp_initiated=idp_initiated,
        )
        # Every check has passed: use up the request and the assertion, atomically, and only
        # then write.
        if pending is not None and not (
            yield _call("request_store", "consume", pending.request_id, now=now)
        ):
            raise InResponseToMismatch(
                f"request {pending.request_id} was already answered or has expired",
                found=pending.request_id,
            )
        if not (
            yield _call(
                "replay_cache",
                "add",
                verified.replay_key,
                expires_at=verified.replay_expires_at,
                now=now,
            )
        ):
            raise replayed(assertion)
        outcome = plan.outcome
        if plan.new_user is not None:
            try:
                user = yield _call("users", "create", plan.new_user, now=now)
            except DuplicateUser:
                # A concurrent login created the same email first: this one updates it.
                existing = yield _call("users", "get_by_email", identity.email)
                plan = plan_provisioning(
                    existing,
                    identity,
                    account_id=config.account_id,
                    policy=config.policy,
                    idp_initiated=idp_initiated,
                )
                assert plan.existing is not None
                outcome = plan.outcome
                user = yield self._update(plan.existing, outcome, now)
        else:
            assert plan.existing is not None
            user = yield self._update(plan.existing, outcome, now)
        context = LoginContext(
            account_id=config.account_id,
            assertion=assertion,
            identity=identity,
            idp_initiated=idp_initiated,
        )
        session = yield _call("sessions", "issue", user, context)
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
            else safe_redirect(
                relay_state,
                allowed_origins=self.allowed_redirect_origins,
                max_length=self.max_relay_state,
            ),
        )

    def _pending_request(
        self, request_id: str, config: AccountConfig, now: datetime
    ) -> Flow[PendingRequest]:
        """The outstanding request the response says it answers.

        The InResponseTo read here is not yet verified: it only selects the request, and the
        verification then requires the signed SubjectConfirmationData to name that request.
        """
        pending = yield _call("request_store", "get", request_id)
        if not _awaited(pending, kind="login", account_id=config.account_id, now=now):
            raise InResponseToMismatch(
                f"the response answers request {request_id!r}, which this SP is not waiting for "
                "(expired, already answered, or sent for another account)",
                found=request_id,
            )
        return pending  # type: ignore[no-any-return]

    def _update(self, user: UserRecord, outcome: ProvisioningOutcome, now: datetime) -> _Call:
        changes = {name: new for name, (_, new) in outcome.changes.items()}
        return _call("users", "update", user.user_id, changes=changes, last_sso_login=now)

    def _account(
        self, account_id: str | None, peeked: PeekedResponse | None
    ) -> Flow[AccountConfig]:
        if account_id is not None:
            config = yield _call("accounts", "get", account_id)
            if config is None:
                raise SsoDisabled(
                    f"single sign-on is not configured for account {account_id!r} (no IdP "
                    "metadata): an administrator must add it in the SSO settings",
                    found=account_id,
                )
            return config  # type: ignore[no-any-return]
        issuer = peeked.issuer if peeked is not None else None
        configs = (yield _call("accounts", "find_by_idp_entity_id", issuer)) if issuer else []
        if len(configs) != 1:
            raise SsoDisabled(
                f"no single account has SSO configured for the IdP {issuer!r}"
                + (" (several share it: give each its own ACS URL)" if configs else ""),
                found=issuer,
            )
        return configs[0]  # type: ignore[no-any-return]

    def _sp_metadata(self, account_id: str) -> Flow[bytes]:
        config = yield from self._account(account_id, None)
        encryption = next((key[1] for key in self.decryption_keys if isinstance(key, tuple)), None)
        return build_sp_metadata(
            entity_id=config.sp.entity_id,
            acs_url=config.sp.acs_url,
            slo_url=config.sp.slo_url if self.sp_key is not None else None,
            signing_certificate=self.sp_certificate,
            encryption_certificate=encryption,
            name_id_format=config.name_id_format,
        )

    def _stale_users(self, account_id: str, days: int) -> Flow[list[UserRecord]]:
        users = yield _call("users", "users_of", account_id)
        return stale_users(users, now=self.clock(), days=days)

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


_SERVICE_DOC = """
    Args:
        accounts: where each account's SSO configuration lives.
        users: the app's users.
        sessions: turns a user into the app's session.
        replay_cache: shared by every process that serves the ACS.
        clock: the current time; ``datetime.now(UTC)`` unless given (tests pass a fixed one).
        audit: called with every :class:`AuditEvent`; events also go to the
            ``samljit.audit`` logger.
        metadata_cache_size: parsed IdP metadata kept per process.
        request_store: outstanding AuthnRequests, shared by every worker; needed for
            SP-initiated logins.
        sp_key, sp_certificate: the SP's signing key pair, to sign AuthnRequests (required
            when the IdP's metadata says WantAuthnRequestsSigned).
        allowed_redirect_origins: origins (``https://host``) a posted RelayState may send the
            browser to, besides paths on this site.
        account_for_domain: who owns an email domain: the account that has verified it, or
            None. Only the owner's IdP may log in addresses at an owned domain (others get
            ``domain_not_owned``), and discovery sends such addresses to the owner.
        request_lifetime: how long an SP-initiated login may take at the IdP.
        session_revoker: ends the app's sessions on an IdP-initiated Single Logout.
        max_relay_state: the longest RelayState turned into a redirect (bindings 3.4.3 says
            80 bytes; IdP-initiated "default RelayState" URLs are often longer).
        decryption_keys: the SP's RSA keys for encrypted assertions (or ``(key,
            certificate)`` pairs), tried in order: keep the old one during a rollover.
        domain_owner_covers_subdomains: True: the owner of ``acme.test`` also owns
            ``eu.acme.test`` (``account_for_domain`` is asked for each parent domain; the
            nearest owner wins). False: only the exact domain asked is owned.
"""


class LoginService(_LoginFlows):
    """Completes SAML logins with Just-In-Time provisioning.

    Every store and hook is called synchronously (one whose methods are ``async def`` is
    refused with :class:`~samljit.ConfigError`, ``configuration_invalid``, when the service
    is built); for asyncio apps see :class:`AsyncLoginService`, which runs the same rules.
    """

    __doc__ = (__doc__ or "") + _SERVICE_DOC

    def _check_plugged(self) -> None:
        # Found only when first called, an async store could fail a login after it wrote
        # (a user created, then an async session issuer): refuse it before any login.
        for target, methods in _CALLED.items():
            plugged = getattr(self, target)
            for method in methods:
                function = plugged if method is None else getattr(plugged, method, None)
                if inspect.iscoroutinefunction(function):
                    raise ConfigError(
                        f"{target}.{method or '__call__'} is async: use AsyncLoginService "
                        "with async stores"
                    )

    def _run(self, flow: Flow[T]) -> T:
        value: Any = None
        error: Exception | None = None
        while True:
            try:
                step = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                if isinstance(step, _Compute):
                    value = step.function(*step.args)
                else:
                    value = step.start(self)
                    if inspect.isawaitable(value):
                        _close(value)
                        raise ConfigError(
                            f"{step.target}.{step.method or '__call__'} is async: use "
                            "AsyncLoginService with async stores"
                        )
            except Exception as exc:
                error = exc  # the flow decides: DuplicateUser is handled, the rest propagates

    def begin_login(
        self,
        account_id: str,
        *,
        relay_state: str | None = None,
        binding: Literal["redirect", "post"] = "redirect",
        force_authn: bool = False,
        form_nonce: str | None = None,
    ) -> LoginRequest:
        """Start an SP-initiated login for ``account_id``: build the AuthnRequest, remember it
        server-side, and say how to send the browser to the account's IdP.

        ``relay_state`` is where the app wants the user afterwards; it is checked with
        :func:`~samljit.safe_redirect` and kept with the request, never sent to the IdP.
        The binding falls back to the other one when the IdP offers only that.

        Raises:
            SsoDisabled: ``sso_disabled``, the account has no SSO configuration.
            ConfigError: ``configuration_invalid``, no request store, or the IdP wants
                signed requests and the service has no SP key.
        """
        return self._run(
            self._begin_login(account_id, relay_state, binding, force_authn, form_nonce)
        )

    def begin_login_for_email(
        self,
        email: str,
        *,
        relay_state: str | None = None,
        binding: Literal["redirect", "post"] = "redirect",
        form_nonce: str | None = None,
    ) -> LoginRequest:
        """Home-realm discovery: start the login at the IdP of the account ``email`` belongs
        to: the owner of its domain (``account_for_domain``), else its existing user's
        account.

        Show the same page for every failure: telling ``account_not_found`` apart from
        ``sso_disabled`` to the user would reveal which emails have accounts.

        Raises:
            EmailInvalid: ``email_invalid``, the text has an ``@`` but is not an address
                samljit accepts (docs/security.md).
            AccountNotFound: ``account_not_found``, no domain owner and no user.
            SsoDisabled: ``sso_disabled``, the account has no SSO configuration.
        """
        return self._run(self._begin_login_for_email(email, relay_state, binding, form_nonce))

    def begin_logout(
        self,
        account_id: str,
        *,
        name_id: NameID,
        session_index: str | None,
        relay_state: str | None = None,
        binding: Literal["redirect", "post"] = "redirect",
        form_nonce: str | None = None,
    ) -> OutboundMessage:
        """Start an SP-initiated Single Logout at the account's IdP.

        Pass the ``name_id`` and ``session_index`` of the login being ended (from
        ``LoginResult.assertion``). End the app's own session first; this asks the IdP to end
        its session (and the other SPs'). The request is signed, as the SAML profile requires.

        Raises:
            SsoDisabled, ConfigError (no request store, no SP key, no IdP SLO endpoint).
        """
        return self._run(
            self._begin_logout(account_id, name_id, session_index, relay_state, binding, form_nonce)
        )

    def handle_logout(
        self,
        account_id: str,
        *,
        query: str | None = None,
        form: Mapping[str, str] | None = None,
        form_nonce: str | None = None,
    ) -> LogoutResult:
        """Handle what the IdP sent to the SLO endpoint: its LogoutRequest (end the user's
        sessions, answer with a signed LogoutResponse) or its answer to the SP's own.

        Give the raw ``query`` string (Redirect binding) or the POSTed ``form``.

        Raises:
            SamlError: the message is unsigned, not from the account's IdP, not for this SP,
                expired, or answers no pending logout.
        """
        return self._run(self._handle_logout(account_id, query, form, form_nonce))

    def complete_login(
        self,
        form: Mapping[str, str],
        *,
        account_id: str | None,
        in_response_to: str | None = None,
    ) -> LoginResult:
        """Verify the POSTed response, provision the user and issue the app's session.

        A response that answers a request made by :meth:`begin_login` is matched to it
        through the ``request_store`` (and the request used up); an unsolicited one is
        accepted only where the account's policy allows IdP-initiated logins.

        Args:
            form: the POSTed form fields (``SAMLResponse``, optionally ``RelayState``).
            account_id: the account named by the ACS URL (one ACS per account). None to
                find the account by the response's Issuer (one shared ACS URL).
            in_response_to: only for apps that track their own AuthnRequests: the ID the
                response must answer (the request store is then not consulted).

        Raises:
            SamlError: any verification, claim or provisioning rule; nothing was written
                (one exception: when a concurrent login created the same email in another
                account first, the refused assertion stays used up in the replay cache).
        """
        return self._run(self._complete_login(form, account_id, in_response_to))

    def sp_metadata(self, account_id: str) -> bytes:
        """The SP metadata of ``account_id``, for its IdP administrator: entity ID, ACS and
        (with an ``sp_key``) SLO URL, the signing certificate, and the encryption certificate
        of the first ``(key, certificate)`` pair in ``decryption_keys``.

        Raises:
            SsoDisabled: ``sso_disabled``, the account has no SSO configuration.
        """
        return self._run(self._sp_metadata(account_id))

    def stale_users(self, account_id: str, *, days: int) -> list[UserRecord]:
        """Users of ``account_id`` without an SSO login in ``days`` days (see
        :func:`samljit.provisioning.stale_users`)."""
        return self._run(self._stale_users(account_id, days))


class AsyncLoginService(_LoginFlows):
    """:class:`LoginService` for asyncio apps (FastAPI, Starlette): the same rules, run by
    the same code, with each method a coroutine.

    Stores and hooks may be async (their coroutines are awaited) or sync (called directly:
    fine for in-memory ones; wrap blocking ones with :func:`samljit.in_thread`). Signature
    verification, decryption and metadata parsing run on a worker thread, so the event loop
    keeps serving other requests meanwhile.
    """

    __doc__ = (__doc__ or "") + _SERVICE_DOC

    async def _run(self, flow: Flow[T]) -> T:
        value: Any = None
        error: Exception | None = None
        while True:
            try:
                step = flow.send(value) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                if isinstance(step, _Compute):
                    value = await asyncio.to_thread(step.function, *step.args)
                else:
                    value = step.start(self)
                    if inspect.isawaitable(value):
                        value = await value
            except Exception as exc:
                error = exc

    async def begin_login(
        self,
        account_id: str,
        *,
        relay_state: str | None = None,
        binding: Literal["redirect", "post"] = "redirect",
        force_authn: bool = False,
        form_nonce: str | None = None,
    ) -> LoginRequest:
        """See :meth:`LoginService.begin_login`."""
        return await self._run(
            self._begin_login(account_id, relay_state, binding, force_authn, form_nonce)
        )

    async def begin_login_for_email(
        self,
        email: str,
        *,
        relay_state: str | None = None,
        binding: Literal["redirect", "post"] = "redirect",
        form_nonce: str | None = None,
    ) -> LoginRequest:
        """See :meth:`LoginService.begin_login_for_email`."""
        return await self._run(self._begin_login_for_email(email, relay_state, binding, form_nonce))

    async def begin_logout(
        self,
        account_id: str,
        *,
        name_id: NameID,
        session_index: str | None,
        relay_state: str | None = None,
        binding: Literal["redirect", "post"] = "redirect",
        form_nonce: str | None = None,
    ) -> OutboundMessage:
        """See :meth:`LoginService.begin_logout`."""
        return await self._run(
            self._begin_logout(account_id, name_id, session_index, relay_state, binding, form_nonce)
        )

    async def handle_logout(
        self,
        account_id: str,
        *,
        query: str | None = None,
        form: Mapping[str, str] | None = None,
        form_nonce: str | None = None,
    ) -> LogoutResult:
        """See :meth:`LoginService.handle_logout`."""
        return await self._run(self._handle_logout(account_id, query, form, form_nonce))

    async def complete_login(
        self,
        form: Mapping[str, str],
        *,
        account_id: str | None,
        in_response_to: str | None = None,
    ) -> LoginResult:
        """See :meth:`LoginService.complete_login`."""
        return await self._run(self._complete_login(form, account_id, in_response_to))

    async def sp_metadata(self, account_id: str) -> bytes:
        """See :meth:`LoginService.sp_metadata`."""
        return await self._run(self._sp_metadata(account_id))

    async def stale_users(self, account_id: str, *, days: int) -> list[UserRecord]:
        """See :meth:`LoginService.stale_users`."""
        return await self._run(self._stale_users(account_id, days))


def _close(awaitable: object) -> None:
    """Close a coroutine that will not be awaited (no 'never awaited' warning)."""
    close = getattr(awaitable, "close", None)
    if callable(close):
        close()


def _awaited(pending: PendingRequest | None, *, kind: str, account_id: str, now: datetime) -> bool:
    """Whether ``pending`` is an unexpired request of this kind, sent for this account."""
    return (
        pending is not None
        and pending.kind == kind
        and pending.account_id == account_id
        and pending.expires_at > now
    )
