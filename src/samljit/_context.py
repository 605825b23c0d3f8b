"""What every flow of the login services shares: the configuration and plugged-in ports
(:class:`Context`), and the steps more than one flow takes (find the account, its IdP, the
owner of a domain; remember an outgoing request; build an outbound message)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from cryptography import x509

from ._accounts import AccountConfig
from ._flow import Flow, compute
from ._idp_cache import AccountCache, IdPCache, SourceCache
from ._ports import (
    Accounts,
    DomainOwner,
    Replays,
    Requests,
    Revoker,
    Sessions,
    Users,
    account_version,
    accounts_of_idp,
    get_account,
    owner_of_domain,
    save_request,
    version_reader,
)
from ._relay_state import safe_redirect
from ._response import DecryptionKey
from ._results import AuditEvent, OutboundMessage
from .bindings import PrivateKey, encode_redirect, post_form
from .errors import SsoDisabled
from .metadata import IdentityProvider
from .protocols import PendingRequest

__all__ = [
    "Clock",
    "Context",
    "account",
    "awaited",
    "domain_owner",
    "identity_provider",
    "outbound",
    "redirect_target",
    "remember",
]

Clock = Callable[[], datetime]


@dataclass(kw_only=True, eq=False, repr=False)
class Context:
    """A login service's configuration and ports (see the service's ``Args``): the state
    every flow reads. The services are Contexts; their attributes are the configuration."""

    accounts: Accounts
    users: Users
    sessions: Sessions
    replay_cache: Replays
    clock: Clock
    audit: Callable[[AuditEvent], None] | None
    _idps: IdPCache
    _sources: SourceCache
    _configs: AccountCache
    request_store: Requests | None
    sp_key: PrivateKey | None
    sp_certificate: x509.Certificate | None
    allowed_redirect_origins: tuple[str, ...]
    account_for_domain: DomainOwner | None
    request_lifetime: timedelta
    session_revoker: Revoker | None
    max_relay_state: int
    decryption_keys: tuple[DecryptionKey, ...]
    domain_owner_covers_subdomains: bool


def redirect_target(ctx: Context, relay_state: str | None) -> str:
    """Where ``relay_state`` may send the browser (see :func:`~samljit.bindings.safe_redirect`)."""
    return safe_redirect(
        relay_state, allowed_origins=ctx.allowed_redirect_origins, max_length=ctx.max_relay_state
    )


def identity_provider(ctx: Context, config: AccountConfig) -> Flow[IdentityProvider]:
    """The parsed IdP of ``config``: from the cache, else parsed as CPU-bound work. With a
    metadata URL, from the account's metadata source, refreshed (blocking I/O, on a worker
    thread in the async service) when it is due.

    A configuration :func:`account` took from the version cache finds its IdP (or source)
    there; any other is looked up by the hash of its metadata."""
    cached = ctx._configs.of(config)
    if config.idp_metadata_url is not None:
        now = ctx.clock()
        source = cached.source if cached is not None else None
        if source is not None:
            idp = source.idp
            if idp is None or source.refresh_due(now):
                idp = yield from compute(source.current, now=now)
            return idp
        fresh = ctx._sources.fresh(config, now)
        if fresh is None:
            fresh = yield from compute(ctx._sources.get, config, now)
        if cached is not None:
            ctx._configs.attach(config, source=ctx._sources.source(config))
        return fresh
    if cached is not None and cached.idp is not None:
        return cached.idp
    idp = ctx._idps.cached(config)
    if idp is None:
        idp = yield from compute(ctx._idps.get, config, ctx.clock())
    if cached is not None:
        ctx._configs.attach(config, idp=idp)
    return idp


def configuration(ctx: Context, account_id: str) -> Flow[AccountConfig | None]:
    """The stored configuration of ``account_id``. When the store tells versions, the one this
    process read at the current version, read again only when the version changed."""
    read = version_reader(ctx.accounts)
    if read is None:
        return (yield from get_account(ctx.accounts, account_id))
    version = yield from account_version(read, account_id)
    if version is None:  # the store cannot tell: read it, as from a store without versions
        return (yield from get_account(ctx.accounts, account_id))
    cached = ctx._configs.get(account_id, version)
    if cached is not None:
        return cached.config
    # Read after the version: a change saved in between is read now and read again at the
    # next login (its version differs), never held under a version newer than itself.
    config = yield from get_account(ctx.accounts, account_id)
    ctx._configs.keep(account_id, version, config)
    return config


def account(ctx: Context, account_id: str | None, issuer: str | None) -> Flow[AccountConfig]:
    """The configuration of ``account_id``, else of the one account whose IdP is ``issuer``.

    Raises:
        SsoDisabled: ``sso_disabled``.
    """
    if account_id is not None:
        config = yield from configuration(ctx, account_id)
        if config is None:
            raise SsoDisabled(
                f"single sign-on is not configured for account {account_id!r} (no IdP "
                "metadata): an administrator must add it in the SSO settings",
                found=account_id,
            )
        return config
    configs = (yield from accounts_of_idp(ctx.accounts, issuer)) if issuer else []
    if len(configs) != 1:
        raise SsoDisabled(
            f"no single account has SSO configured for the IdP {issuer!r}"
            + (" (several share it: give each its own ACS URL)" if configs else ""),
            found=issuer,
        )
    return configs[0]


def domain_owner(ctx: Context, email: str) -> Flow[str | None]:
    """The account that owns the domain of ``email`` (a normalized address), or None:
    ``account_for_domain`` asked for the domain, then (when owners cover subdomains) for
    each parent domain of two or more labels; the nearest owner wins."""
    return (
        yield from owner_of_email(ctx.account_for_domain, ctx.domain_owner_covers_subdomains, email)
    )


def owner_of_email(
    account_for_domain: DomainOwner | None, covers_subdomains: bool, email: str
) -> Flow[str | None]:
    """:func:`domain_owner` with its two settings given."""
    if account_for_domain is None:
        return None
    labels = email.rpartition("@")[2].split(".")
    last = len(labels) - 1 if covers_subdomains else 1
    for start in range(last):
        owner = yield from owner_of_domain(account_for_domain, ".".join(labels[start:]))
        if owner is not None:
            return owner
    return None


def awaited(pending: PendingRequest | None, *, kind: str, account_id: str, now: datetime) -> bool:
    """Whether ``pending`` is an unexpired request of this kind, sent for this account."""
    return (
        pending is not None
        and pending.kind == kind
        and pending.account_id == account_id
        and pending.expires_at > now
    )


def remember(
    ctx: Context,
    requests: Requests,
    request_id: str,
    account_id: str,
    relay_state: str | None,
    now: datetime,
    kind: str,
    test_admin: str | None = None,
) -> Flow[None]:
    """Keep an outgoing request server-side, with the checked target to return to."""
    yield from save_request(
        requests,
        PendingRequest(
            request_id=request_id,
            account_id=account_id,
            relay_state=redirect_target(ctx, relay_state),
            expires_at=now + ctx.request_lifetime,
            kind=kind,
            test_admin=test_admin,
        ),
    )


def outbound(
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
    """``xml`` ready to send the browser to ``destination`` with, by POST or Redirect."""
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
