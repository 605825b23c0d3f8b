"""LoginService and AsyncLoginService: the host app's entry points to each flow.

Each operation is written once, as a flow (``_acs``: the ACS; ``_sp_initiated``: SP-initiated
login, discovery and SP metadata; ``_slo``: Single Logout), and run by ``_flow.run_sync`` in
:class:`LoginService` or ``_flow.run_async`` in :class:`AsyncLoginService`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

from cryptography import x509

from . import _acs, _slo, _sp_initiated, _test_login
from ._accounts import AccountConfig
from ._context import Clock, Context, identity_provider
from ._fetch import MetadataFetcher
from ._flow import check_plugged, run_async, run_sync
from ._idp_cache import IdPCache, SourceCache
from ._models import NameID
from ._relay_state import DEFAULT_MAX_RELAY_STATE
from ._response import DecryptionKey
from ._results import AuditEvent, LoginResult, LogoutResult, OutboundMessage
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

__all__ = [
    "AsyncLoginService",
    "AuditEvent",
    "LoginResult",
    "LoginService",
    "LogoutResult",
    "OutboundMessage",
]


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


class LoginService(_Service):
    """Completes SAML logins with Just-In-Time provisioning.

    Every store and hook is called synchronously (one whose methods are ``async def`` is
    refused with :class:`~samljit.ConfigError`, ``configuration_invalid``, when the service
    is built); for asyncio apps see :class:`AsyncLoginService`, which runs the same rules.
    """

    _calls_inline = True

    def identity_provider(self, config: AccountConfig) -> IdentityProvider:
        """The parsed IdP of ``config`` (cached by metadata content); with a metadata URL,
        the copy in use, fetched first when it is due.

        Raises:
            SamlError: the metadata is not usable (see :func:`~samljit.parse_idp_metadata`).
        """
        return run_sync(identity_provider(self, config))

    def metadata_source(self, config: AccountConfig) -> MetadataSource | None:
        """The :class:`~samljit.MetadataSource` keeping ``config``'s metadata fresh from its
        URL (last refresh, next one, last error: for a status page), or None when the
        account has no metadata URL or no login has needed its metadata yet in this process."""
        if config.idp_metadata_url is None:
            return None
        return self._sources.source(config)

    def begin_login(
        self,
        account_id: str,
        *,
        relay_state: str | None = None,
        binding: Literal["redirect", "post"] = "redirect",
        force_authn: bool = False,
        form_nonce: str | None = None,
    ) -> OutboundMessage:
        """Start an SP-initiated login for ``account_id``: build the AuthnRequest, remember it
        server-side, and say how to send the browser to the account's IdP.

        ``relay_state`` is where the app wants the user afterwards; it is checked with
        :func:`~samljit.bindings.safe_redirect` and kept with the request, never sent to the IdP.
        The binding falls back to the other one when the IdP offers only that.

        Raises:
            SsoDisabled: ``sso_disabled``, the account has no SSO configuration.
            ConfigError: ``configuration_invalid``, no request store, or the IdP wants
                signed requests and the service has no SP key.
        """
        return run_sync(
            _sp_initiated.begin_login(
                self, account_id, relay_state, binding, force_authn, form_nonce
            )
        )

    def begin_test_login(
        self,
        account_id: str,
        *,
        admin_id: str,
        relay_state: str | None = None,
        binding: Literal["redirect", "post"] = "redirect",
        force_authn: bool = False,
        form_nonce: str | None = None,
    ) -> OutboundMessage:
        """Start an administrator's Test connection: an SP-initiated login at the account's
        IdP whose answer is only ever a dry run (``force_authn`` asks the IdP for a fresh
        sign-in, to test as another user than the one signed in there).

        The request is remembered as a test bound to ``admin_id``: its response completes
        only with :meth:`complete_test_login` by that administrator, and
        :meth:`complete_login` refuses it (``test_login``), so it can never log anyone in.
        ``relay_state`` is where to show the result (e.g. the admin page), checked as for
        :meth:`begin_login`.

        Raises:
            SsoDisabled: ``sso_disabled``, the account has no SSO configuration.
            ConfigError: ``configuration_invalid``, as :meth:`begin_login`, or an empty
                ``admin_id``.
        """
        return run_sync(
            _sp_initiated.begin_login(
                self, account_id, relay_state, binding, force_authn, form_nonce, admin_id
            )
        )

    def begin_login_for_email(
        self,
        email: str,
        *,
        relay_state: str | None = None,
        binding: Literal["redirect", "post"] = "redirect",
        form_nonce: str | None = None,
    ) -> OutboundMessage:
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
        return run_sync(
            _sp_initiated.begin_login_for_email(self, email, relay_state, binding, form_nonce)
        )

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
        return run_sync(
            _slo.begin_logout(
                self, account_id, name_id, session_index, relay_state, binding, form_nonce
            )
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
        return run_sync(_slo.handle_logout(self, account_id, query, form, form_nonce))

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
        return run_sync(_acs.complete_login(self, form, account_id, in_response_to))

    def complete_test_login(
        self, form: Mapping[str, str], *, account_id: str | None, admin_id: str
    ) -> TestLoginResult:
        """Complete an administrator's Test connection as a dry run: every check of a real
        login (verification, the request, replay, mapping, account binding, domain
        ownership, authentication context, provisioning rules), but no user created or
        changed and no session issued. The test request and the assertion are used up, as a
        login's: the response cannot be posted again to either method.

        Call it when :meth:`complete_login` raised ``test_login`` for the posted form, with
        the signed-in administrator's ID.

        Returns:
            What a real login would do: create, update (with the changes), leave unchanged,
            or refuse (``code`` and ``message`` of the mapping's or rule's error).

        Raises:
            TestLoginForbidden: ``test_login_forbidden``, ``admin_id`` is not the
                administrator who started the test (nothing is used up).
            InResponseToMismatch: ``in_response_to_mismatch``, the response answers no
                pending Test connection of the account.
            SamlError: the response does not verify (signature, time, audience...), or was
                already used; nothing was written.
        """
        return run_sync(_test_login.complete_test_login(self, form, account_id, admin_id))

    def sp_metadata(self, account_id: str) -> bytes:
        """The SP metadata of ``account_id``, for its IdP administrator: entity ID, ACS and
        (with an ``sp_key``) SLO URL, the signing certificate, and the encryption certificate
        of the first ``(key, certificate)`` pair in ``decryption_keys``.

        Raises:
            SsoDisabled: ``sso_disabled``, the account has no SSO configuration.
        """
        return run_sync(_sp_initiated.sp_metadata(self, account_id))

    def stale_users(self, account_id: str, *, days: int) -> list[UserRecord]:
        """Users of ``account_id`` without an SSO login in ``days`` days (see
        :func:`samljit.provisioning.stale_users`)."""
        return run_sync(_acs.stale_users_of(self, account_id, days))


class AsyncLoginService(_Service):
    """:class:`LoginService` for asyncio apps (FastAPI, Starlette): the same rules, run by
    the same code, with each method a coroutine.

    Stores and hooks may be async (their coroutines are awaited) or sync (called directly:
    fine for in-memory ones; wrap blocking ones with :func:`samljit.in_thread`). Signature
    verification, decryption and metadata parsing run on a worker thread, so the event loop
    keeps serving other requests meanwhile.
    """

    _calls_inline = False

    async def identity_provider(self, config: AccountConfig) -> IdentityProvider:
        """See :meth:`LoginService.identity_provider`; the metadata is parsed on a worker
        thread."""
        return await run_async(identity_provider(self, config))

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
        return await run_async(
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
        return await run_async(
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
        return await run_async(
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
        return await run_async(
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
        return await run_async(_slo.handle_logout(self, account_id, query, form, form_nonce))

    async def complete_login(
        self,
        form: Mapping[str, str],
        *,
        account_id: str | None,
        in_response_to: str | None = None,
    ) -> LoginResult:
        """See :meth:`LoginService.complete_login`."""
        return await run_async(_acs.complete_login(self, form, account_id, in_response_to))

    async def complete_test_login(
        self, form: Mapping[str, str], *, account_id: str | None, admin_id: str
    ) -> TestLoginResult:
        """See :meth:`LoginService.complete_test_login`."""
        return await run_async(_test_login.complete_test_login(self, form, account_id, admin_id))

    async def sp_metadata(self, account_id: str) -> bytes:
        """See :meth:`LoginService.sp_metadata`."""
        return await run_async(_sp_initiated.sp_metadata(self, account_id))

    async def stale_users(self, account_id: str, *, days: int) -> list[UserRecord]:
        """See :meth:`LoginService.stale_users`."""
        return await run_async(_acs.stale_users_of(self, account_id, days))
