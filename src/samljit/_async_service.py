"""AsyncLoginService: :class:`~samljit.LoginService`'s flows, run by ``_flow.run_async``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from . import _acs, _slo, _sp_initiated, _test_login
from ._accounts import AccountConfig
from ._context import identity_provider
from ._flow import run_async
from ._models import NameID
from ._results import LoginResult, LogoutResult, OutboundMessage
from ._service_base import _Service
from .metadata import IdentityProvider
from .metadata_source import MetadataSource
from .protocols import UserRecord
from .provisioning import TestLoginResult

__all__ = ["AsyncLoginService"]


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
