"""LoginService and AsyncLoginService: the host app's entry points to each flow.

Each operation is written once, as a flow (``_acs``: the ACS; ``_sp_initiated``: SP-initiated
login, discovery and SP metadata; ``_slo``: Single Logout), and run by ``_flow.run_sync`` in
:class:`LoginService` or ``_flow.run_async`` in :class:`AsyncLoginService` (its own module,
``_async_service``). Both take the constructor of ``_service_base._Service``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from . import _acs, _slo, _sp_initiated, _test_login
from ._accounts import AccountConfig
from ._async_service import AsyncLoginService
from ._context import identity_provider
from ._flow import run_sync
from ._models import NameID
from ._results import AuditEvent, LoginResult, LogoutResult, OutboundMessage
from ._service_base import _Service
from .metadata import IdentityProvider
from .metadata_source import MetadataSource
from .protocols import UserRecord
from .provisioning import TestLoginResult

__all__ = [
    "AsyncLoginService",
    "AuditEvent",
    "LoginResult",
    "LoginService",
    "LogoutResult",
    "OutboundMessage",
]


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
