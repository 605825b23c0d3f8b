"""What the login services return: LoginResult, OutboundMessage, LogoutResult, AuditEvent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal

from ._claims import Identity
from ._models import Assertion
from .logout import LogoutMessage
from .protocols import UserRecord
from .provisioning import ProvisioningOutcome

__all__ = ["AuditEvent", "LoginResult", "LogoutResult", "OutboundMessage"]


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
    posted RelayState that :func:`~samljit.bindings.safe_redirect` accepts, else ``/``."""


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
    ``user_created`` or ``user_updated``; for an administrator's Test connection,
    ``test_login_completed`` (``code`` set when a real login would be refused, ``changes``
    what it would change) or ``test_login_rejected``. On a rejection, ``email`` is set once
    the response was verified (it is then the IdP's signed word), never from unverified
    input."""

    name: str
    at: datetime
    account_id: str | None
    email: str | None = None
    code: str | None = None
    message: str | None = None
    changes: Mapping[str, tuple[str | None, str | None]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    admin_id: str | None = None
    """For the Test connection events: the administrator who ran it; for SCIM's, the token
    (``scim-token:<token_id>``)."""
    source: str = "saml"
    """What made the change: ``saml`` (a login, a Test connection) or ``scim`` (the IdP's
    directory: ``scim_user_created``, ``scim_user_updated``, ``scim_user_deactivated``,
    ``scim_user_reactivated``, ``scim_user_deleted``, ``scim_group_created``,
    ``scim_group_updated``, ``scim_group_deleted``)."""
