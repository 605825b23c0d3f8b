"""The login service of a Django project, with the Django reference stores filled in."""

from __future__ import annotations

from typing import Any

from ..._service import LoginService
from .sessions import DjangoSessionIssuer, current_session_revoker
from .stores import DjangoAccountStore, DjangoUserStore

__all__ = ["login_service"]


def login_service(**options: Any) -> LoginService:
    """A :class:`~samljit.LoginService` whose accounts, users, sessions and session revoker
    are Django's: :class:`DjangoAccountStore`, :class:`DjangoUserStore`,
    :class:`DjangoSessionIssuer` and :data:`current_session_revoker`. ``options`` go to
    LoginService (``replay_cache`` is required) and replace any of these.

    Example (the ``SAMLJIT_SERVICE`` factory)::

        def service():
            return login_service(replay_cache=SQLiteReplayCache(path), request_store=...)
    """
    arguments: dict[str, Any] = {
        "accounts": DjangoAccountStore(),
        "users": DjangoUserStore(),
        "sessions": DjangoSessionIssuer(),
        "session_revoker": current_session_revoker,
        **options,
    }
    return LoginService(**arguments)
