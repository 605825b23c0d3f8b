"""What :class:`~samljit.LoginService` and :class:`~samljit.AsyncLoginService` share: their
constructor, which takes the host app's stores and hooks and builds the flows' context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from cryptography import x509

from ._context import Clock, Context
from ._fetch import MetadataFetcher
from ._flow import check_plugged
from ._idp_cache import AccountCache, IdPCache, SourceCache
from ._relay_state import DEFAULT_MAX_RELAY_STATE
from ._response import DecryptionKey
from ._results import AuditEvent
from .bindings import PrivateKey
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
    UserStore,
)


class _Service(Context):
    """What both services share: their constructor."""

    _calls_inline: ClassVar[bool]
    """True when every store and hook is called inline (sync): async ones are refused."""

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
    ) -> None:
        """Configure the service with the host app's stores and hooks.

        Args:
            accounts: where each account's SSO configuration lives.
            users: the app's users.
            sessions: turns a user into the app's session.
            replay_cache: shared by every process that serves the ACS.
            clock: the current time; ``datetime.now(UTC)`` unless given (tests pass a fixed one).
            audit: called with every :class:`AuditEvent`; events also go to the
                ``samljit.audit`` logger.
            metadata_cache_size: parsed IdP metadata kept per process; also the most
                account configurations kept per process when the account store tells their
                versions (``config_version``, see :class:`~samljit.AccountStore`).
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
            metadata_fetcher: how the metadata URLs of accounts (``idp_metadata_url``) are
                fetched; :func:`~samljit.metadata_source.urllib_fetcher` with the two options
                below when omitted. The fetch runs when an account's copy is due (see
                docs/metadata-lifecycle.md), on a worker thread in the async service.
            metadata_allow_http: accept ``http://`` metadata URLs (tests, internal networks).
            metadata_allow_private_addresses: let the default fetcher connect to loopback,
                private and link-local addresses. Without it a metadata URL whose host
                resolves to one fails with ``metadata_fetch_failed``
                (``found="private_address"``): an administrator's URL cannot reach the app's
                own network (SSRF).

        Raises:
            ConfigError: ``configuration_invalid``, :class:`LoginService` was given a store
                or hook whose methods are ``async def``.
        """
        super().__init__(
            accounts=accounts,
            users=users,
            sessions=sessions,
            replay_cache=replay_cache,
            clock=clock or (lambda: datetime.now(UTC)),
            audit=audit,
            _idps=IdPCache(metadata_cache_size),
            _configs=AccountCache(metadata_cache_size),
            _sources=SourceCache(
                metadata_cache_size,
                lambda config: MetadataSource(
                    config.idp_metadata_url,
                    fetcher=metadata_fetcher,
                    entity_id=config.idp_entity_id,
                    allow_http=metadata_allow_http,
                    allow_private_addresses=metadata_allow_private_addresses,
                    name=f"the IdP metadata of account {config.account_id!r}",
                ),
            ),
            request_store=request_store,
            sp_key=sp_key,
            sp_certificate=sp_certificate,
            allowed_redirect_origins=tuple(allowed_redirect_origins),
            account_for_domain=account_for_domain,
            request_lifetime=request_lifetime,
            session_revoker=session_revoker,
            max_relay_state=max_relay_state,
            decryption_keys=tuple(decryption_keys),
            domain_owner_covers_subdomains=domain_owner_covers_subdomains,
        )
        if self._calls_inline:
            check_plugged(_Service.__init__, vars(self))
