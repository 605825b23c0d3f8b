"""Django sessions for samljit: log the user in on the request being served, and end that
session when the IdP says the user logged out."""

from __future__ import annotations

from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.http import HttpRequest

from ...errors import ConfigError
from ...protocols import LoginContext, UserRecord
from .._web import CurrentSessionRevoker

__all__ = ["DjangoSessionIssuer", "current_request", "current_session_revoker"]

_request: ContextVar[HttpRequest | None] = ContextVar("samljit_django_request", default=None)


def current_request() -> HttpRequest | None:
    """The request an SSO view is serving, for the app's SessionIssuer and revoker."""
    return _request.get()


def _current_session() -> MutableMapping[str, Any] | None:
    request = _request.get()
    return request.session if request is not None else None


current_session_revoker = CurrentSessionRevoker(_current_session)
"""Ends (flushes) the current request's Django session when the IdP's LogoutRequest names
its login. It reaches only the session of the browser the IdP sent; to end the user's
sessions on every device, write a SessionRevoker over your session store instead."""


class DjangoSessionIssuer:
    """A :class:`~samljit.SessionIssuer` that logs the user in with
    :func:`django.contrib.auth.login` on the request being served (which also gives the
    session a new key). Returns the Django user.

    Args:
        backend: the authentication backend to record in the session (default: the first
            of ``AUTHENTICATION_BACKENDS``); the user is loaded through it on later requests,
            so a deactivated user is logged out by Django's ModelBackend.
    """

    def __init__(self, *, backend: str | None = None) -> None:
        self.backend = backend

    def issue(self, user: UserRecord, context: LoginContext) -> object:
        """Issue the app's session for the user who logged in (see
        :class:`~samljit.SessionIssuer`)."""
        request = current_request()
        if request is None:
            raise ConfigError(
                "DjangoSessionIssuer needs the request: call complete_login from the samljit "
                "views (samljit.integrations.django.urls)"
            )
        django_user = get_user_model()._default_manager.get(pk=user.user_id)
        backend = self.backend or settings.AUTHENTICATION_BACKENDS[0]
        login(request, django_user, backend=backend)
        return django_user
