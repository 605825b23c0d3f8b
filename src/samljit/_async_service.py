"""AsyncLoginService: :class:`~samljit.LoginService`'s flows, run by ``_flow.run_async``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from concurrent.futures import Executor
from datetime import timedelta
from typing import Literal, TypeVar

from cryptography import x509

from . import _acs, _slo, _sp_initiated, _test_login
from ._accounts import AccountConfig
from ._context import Clock, identity_provider
from ._fetch import MetadataFetcher
from ._flow import Flow, run_async
from ._models import NameID
from ._relay_state import DEFAULT_MAX_RELAY_STATE
from ._response import DecryptionKey
from ._results import AuditEvent, LoginResult, LogoutResult, OutboundMessage
from ._service_base import _Service
from .bindings import PrivateKey
from .metadata import IdentityProvider
from .metadata_source import MetadataSource
from .protocols import (
    AccountStore,
    AsyncAccountStore,
    AsyncReplayCache,
    AsyncRequestStore,
    AsyncSessionIssuer,
    AsyncSessionRevoker,
    AsyncUserStore,
    ReplayCache,
    RequestStore,
    SessionIssuer,
    SessionRevoker,
    UserRecord,
    UserStore,
)
from .provisioning import TestLoginResult

T = TypeVar("T")

__all__ = ["AsyncLoginService"]


class AsyncLoginService(_Service):
    """:class:`LoginService` for asyncio apps (FastAPI, Starlette): the same rules, run by
    the same code, with each method a coroutine.

    Stores and hooks may be async (their coroutines are awaited) or sync (called directly:
    fine for in-memory ones; wrap blocking ones with :func:`samljit.in_thread`). Signature
    verification, decryption and metadata parsing run on a worker thread, so the event loop
    keeps serving other requests meanwhile; a worker thread handed one of these steps also
    runs the ``in_thread`` store calls and the CPU work next to it, so that a login with
    blocking stores changes threads twice, not once per step (docs/scaling.md).
    """

    _calls_inline = False

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
        metadata_fetcher: MetadataFetcher | None = None,
        metadata_allow_http: bool = False,
        metadata_allow_private_addresses: bool = False,
        executor: Executor | None = None,
    ) -> None:
        """Configure the service: the arguments of :class:`LoginService`, and

        Args:
            executor: where the worker-thread steps run (verification, decryption, metadata
                parsing and fetching, :func:`~samljit.in_thread` store calls): the event
                loop's default executor when None (what :func:`asyncio.to_thread` uses); a
                ``ThreadPoolExecutor`` of the app's own keeps logins off the pool other
                code shares (one thread per worker process serves best: docs/scaling.md).
                The service never shuts it down.
        """
        super().__init__(
            accounts=accounts,
            users=users,
            sessions=sessions,
            replay_cache=replay_cache,
            clock=clock,
            audit=audit,
            metadata_cache_size=metadata_cache_size,
            request_store=request_store,
            sp_key=sp_key,
            sp_certificate=sp_certificate,
            allowed_redirect_origins=allowed_redirect_origins,
            account_for_domain=account_for_domain,
            request_lifetime=request_lifetime,
            session_revoker=session_revoker,
            max_relay_state=max_relay_state,
            decryption_keys=decryption_keys,
            domain_owner_covers_subdomains=domain_owner_covers_subdomains,
            metadata_fetcher=metadata_fetcher,
            metadata_allow_http=metadata_allow_http,
            metadata_allow_private_addresses=metadata_allow_private_addresses,
        )
        self.executor = executor
        """Where the worker-thread steps run (None: the loop's default executor)."""

    async def _run(self, flow: Flow[T]) -> T:
        return await run_async(flow, executor=self.executor)

    async def identity_provider(self, config: AccountConfig) -> IdentityProvider:
        """See :meth:`LoginService.identity_provider`; the metadata is parsed on a worker
        thread."""
        return await self._run(identity_provider(self, config))

    async def metadata_source(self, config: AccountConfig) -> MetadataSource | None:
        """See :meth:`LoginService.metadata_source`."""
        return None if config.idp_metadata_url is None else self._sources.source(config)

    async def begin_login(
        self,
        account_id: str,
        *,
        relay_state: str | None = None,
        binding: Literal["redirect", "post"] = "redirect",
        force_authn: bool = False,
        form_nonce: str | None = None,
    ) -> OutboundMessage:
        """See :meth:`LoginService.begin_login`."""
        return await self._run(
            _sp_initiated.begin_login(
                self, account_id, relay_state, binding, force_authn, form_nonce
            )
        )

    async def begin_test_login(
        self,
        account_id: str,
        *,
        admin_id: str,
        relay_state: str | None = None,
        binding: Literal["redirect", "post"] = "redirect",
        force_authn: bool = False,
        form_nonce: str | None = None,
    ) -> OutboundMessage:
        """See :meth:`LoginService.begin_test_login`."""
        return await self._run(
            _sp_initiated.begin_login(
                self, account_id, relay_state, binding, force_authn, form_nonce, admin_id
            )
        )

    async def begin_login_for_email(
        self,
        email: str,
        *,
        relay_state: str | None = None,
        binding: Literal["redirect", "post"] = "redirect",
        form_nonce: str | None = None,
    ) -> OutboundMessage:
        """See :meth:`LoginService.begin_login_for_email`."""
        return await self._run(
            _sp_initiated.begin_login_for_email(self, email, relay_state, binding, form_nonce)
        )

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
            _slo.begin_logout(
                self, account_id, name_id, session_index, relay_state, binding, form_nonce
            )
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
        return await self._run(_slo.handle_logout(self, account_id, query, form, form_nonce))

    async def complete_login(
        self,
        form: Mapping[str, str],
        *,
        account_id: str | None,
        in_response_to: str | None = None,
    ) -> LoginResult:
        """See :meth:`LoginService.complete_login`."""
        return await self._run(_acs.complete_login(self, form, account_id, in_response_to))

    async def complete_test_login(
        self, form: Mapping[str, str], *, account_id: str | None, admin_id: str
    ) -> TestLoginResult:
        """See :meth:`LoginService.complete_test_login`."""
        return await self._run(_test_login.complete_test_login(self, form, account_id, admin_id))

    async def sp_metadata(self, account_id: str) -> bytes:
        """See :meth:`LoginService.sp_metadata`."""
        return await self._run(_sp_initiated.sp_metadata(self, account_id))

    async def stale_users(self, account_id: str, *, days: int) -> list[UserRecord]:
        """See :meth:`LoginService.stale_users`."""
        return await self._run(_acs.stale_users_of(self, account_id, days))
