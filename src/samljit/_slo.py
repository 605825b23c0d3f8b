"""Single Logout: the SP's own LogoutRequest (``begin_logout``) and what the IdP sends to the
SLO endpoint (``handle_logout``): its LogoutRequest, or its answer to the SP's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from ._accounts import AccountConfig
from ._claims import normalize_email
from ._context import Context, account, awaited, identity_provider, outbound, remember
from ._flow import Flow
from ._models import NameID
from ._ports import Requests, add_replay_key, consume_request, get_request, revoke_sessions
from ._results import LogoutResult, OutboundMessage
from .bindings import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, PrivateKey
from .errors import ConfigError, InResponseToMismatch, Replayed
from .logout import (
    build_logout_request,
    build_logout_response,
    check_logout_response,
    read_logout_message,
)
from .messages import new_request_id
from .metadata import Endpoint

__all__ = ["begin_logout", "handle_logout"]


def begin_logout(
    ctx: Context,
    account_id: str,
    name_id: NameID,
    session_index: str | None,
    relay_state: str | None,
    binding: Literal["redirect", "post"],
    form_nonce: str | None,
) -> Flow[OutboundMessage]:
    """Build the signed LogoutRequest for the account's IdP and remember it."""
    requests, key = _slo_parts(ctx)
    config = yield from account(ctx, account_id, None)
    endpoint = yield from _slo_endpoint(ctx, config, binding)
    now = ctx.clock()
    post = endpoint.binding == BINDING_HTTP_POST
    request_id, xml = build_logout_request(
        sp=config.sp,
        destination=endpoint.location,
        name_id=name_id,
        session_index=session_index,
        now=now,
        signing_key=key if post else None,
        signing_certificate=ctx.sp_certificate,
    )
    yield from remember(ctx, requests, request_id, config.account_id, relay_state, now, "logout")
    return outbound(request_id, config.account_id, endpoint.location, xml, post, key,
                    "SAMLRequest", nonce=form_nonce)  # fmt: skip


def handle_logout(
    ctx: Context,
    account_id: str,
    query: str | None,
    form: Mapping[str, str] | None,
    form_nonce: str | None,
) -> Flow[LogoutResult]:
    """Act on the IdP's LogoutRequest (end the sessions, answer) or on its LogoutResponse."""
    requests, key = _slo_parts(ctx)
    config = yield from account(ctx, account_id, None)
    if config.sp.slo_url is None:
        raise ConfigError(f"account {account_id!r} has no SPConfig.slo_url")
    now = ctx.clock()
    fields = form or {}
    idp = yield from identity_provider(ctx, config)
    message = read_logout_message(
        idp=idp,
        sp=config.sp,
        now=now,
        query=query,
        form_value=fields.get("SAMLRequest") or fields.get("SAMLResponse"),
        relay_state=fields.get("RelayState"),
        request_lifetime=ctx.request_lifetime,
    )
    if message.kind == "response":
        pending = yield from get_request(requests, message.in_response_to or "")
        if pending is None or not awaited(
            pending, kind="logout", account_id=config.account_id, now=now
        ):
            raise InResponseToMismatch(
                "the logout response answers no pending logout of this SP (expired, already "
                "answered, or never started)",
                found=message.in_response_to,
            )
        check_logout_response(message, request_id=pending.request_id)
        if not (yield from consume_request(requests, pending.request_id, now=now)):
            raise InResponseToMismatch(
                f"logout {pending.request_id} was already answered", found=pending.request_id
            )
        return LogoutResult(message=message, redirect_to=pending.relay_state or "/")
    assert message.name_id is not None
    if ctx.session_revoker is None:
        # Answering Success without ending anything would tell the IdP a lie.
        raise ConfigError("IdP-initiated logout needs a session_revoker on the LoginService")
    # Like an assertion, a LogoutRequest is acted on once (until it expires).
    assert message.issue_instant is not None
    expires_at = message.not_on_or_after or message.issue_instant + ctx.request_lifetime
    replay_key = f"{message.issuer} logout {message.message_id}"
    expires_at += config.sp.clock_skew
    if not (
        yield from add_replay_key(ctx.replay_cache, replay_key, expires_at=expires_at, now=now)
    ):
        raise Replayed(
            f"logout request {message.message_id} was already handled",
            found=message.message_id,
        )
    revoked = yield from revoke_sessions(
        ctx.session_revoker,
        account_id=config.account_id,
        email=normalize_email(message.name_id.value) or message.name_id.value,
        session_indexes=message.session_indexes,
    )
    binding: Literal["redirect", "post"] = "redirect" if query is not None else "post"
    endpoint = yield from _slo_endpoint(ctx, config, binding)
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
        signing_certificate=ctx.sp_certificate,
    )
    reply = outbound(response_id, config.account_id, destination, xml, post, key,
                     "SAMLResponse", message.relay_state, nonce=form_nonce)  # fmt: skip
    return LogoutResult(message=message, revoked=revoked, reply=reply)


def _slo_parts(ctx: Context) -> tuple[Requests, PrivateKey]:
    if ctx.request_store is None or ctx.sp_key is None:
        raise ConfigError("Single Logout needs a request_store and an sp_key")
    return ctx.request_store, ctx.sp_key


def _slo_endpoint(ctx: Context, config: AccountConfig, binding: str) -> Flow[Endpoint]:
    idp = yield from identity_provider(ctx, config)
    wanted = BINDING_HTTP_POST if binding == "post" else BINDING_HTTP_REDIRECT
    other = BINDING_HTTP_REDIRECT if binding == "post" else BINDING_HTTP_POST
    endpoint = idp.slo_service(wanted) or idp.slo_service(other)
    if endpoint is None:
        raise ConfigError(f"the IdP of account {config.account_id!r} has no SLO endpoint")
    return endpoint
