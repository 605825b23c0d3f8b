"""SP-initiated login: the AuthnRequest flow (``begin_login``), home-realm discovery by email
(``begin_login_for_email``) and the SP metadata an account's IdP administrator needs."""

from __future__ import annotations

from typing import Literal

from ._claims import parse_email
from ._context import Context, account, domain_owner, identity_provider, outbound, remember
from ._flow import Flow
from ._ports import get_user
from ._results import OutboundMessage
from .bindings import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from .errors import AccountNotFound, ConfigError, SsoDisabled
from .messages import build_authn_request, build_sp_metadata

__all__ = ["begin_login", "begin_login_for_email", "sp_metadata"]


def begin_login(
    ctx: Context,
    account_id: str,
    relay_state: str | None,
    binding: Literal["redirect", "post"],
    force_authn: bool,
    form_nonce: str | None,
    test_admin: str | None = None,
) -> Flow[OutboundMessage]:
    """Build the AuthnRequest for ``account_id``'s IdP, remember it, say how to send it;
    with ``test_admin``, as that administrator's Test connection."""
    if test_admin is not None and not test_admin:
        raise ConfigError("a Test connection needs the ID of the administrator who starts it")
    if ctx.request_store is None:
        raise ConfigError("SP-initiated login needs a request_store on the LoginService")
    config = yield from account(ctx, account_id, None)
    idp = yield from identity_provider(ctx, config)
    if idp.want_authn_requests_signed and ctx.sp_key is None:
        raise ConfigError(
            f"the IdP of account {account_id!r} wants signed AuthnRequests: give the "
            "LoginService an sp_key"
        )
    wanted = BINDING_HTTP_REDIRECT if binding == "redirect" else BINDING_HTTP_POST
    endpoint = idp.sso_service(wanted) or idp.sso_service(
        BINDING_HTTP_POST if binding == "redirect" else BINDING_HTTP_REDIRECT
    )
    if endpoint is None:
        raise SsoDisabled(
            f"the IdP metadata of account {account_id!r} has no HTTP-Redirect or HTTP-POST "
            "SingleSignOnService",
            found=account_id,
        )
    now = ctx.clock()
    use_post = endpoint.binding == BINDING_HTTP_POST
    request = build_authn_request(
        sp=config.sp,
        destination=endpoint.location,
        now=now,
        force_authn=force_authn,
        name_id_format=config.name_id_format,
        requested_authn_contexts=config.policy.required_authn_contexts,
        signing_key=ctx.sp_key if use_post else None,
        signing_certificate=ctx.sp_certificate,
    )
    kind = "login" if test_admin is None else "test_login"
    yield from remember(
        ctx, ctx.request_store, request.request_id, config.account_id, relay_state, now, kind,
        test_admin,
    )  # fmt: skip
    return outbound(request.request_id, config.account_id, endpoint.location, request.xml,
                    use_post, ctx.sp_key, "SAMLRequest", nonce=form_nonce)  # fmt: skip


def begin_login_for_email(
    ctx: Context,
    email: str,
    relay_state: str | None,
    binding: Literal["redirect", "post"],
    form_nonce: str | None,
) -> Flow[OutboundMessage]:
    """Discovery: :func:`begin_login` at the owner of the email's domain, else at the
    account of the existing user with that email."""
    normalized = parse_email(email, source="the email address typed")
    account_id = None
    if normalized is not None:
        # The owner of the domain first: a user another account's IdP created at that
        # domain (before it was owned) must not send its real person to that IdP.
        account_id = yield from domain_owner(ctx, normalized)
        if account_id is None:
            user = yield from get_user(ctx.users, normalized)
            if user is not None:
                account_id = user.account_id
    if account_id is None:
        raise AccountNotFound(
            "no account is known for this email address, and its domain is not verified by "
            "any account",
            found=normalized,
        )
    return (yield from begin_login(ctx, account_id, relay_state, binding, False, form_nonce))


def sp_metadata(ctx: Context, account_id: str) -> Flow[bytes]:
    """The SP metadata of ``account_id``."""
    config = yield from account(ctx, account_id, None)
    encryption = next((key[1] for key in ctx.decryption_keys if isinstance(key, tuple)), None)
    return build_sp_metadata(
        entity_id=config.sp.entity_id,
        acs_url=config.sp.acs_url,
        slo_url=config.sp.slo_url if ctx.sp_key is not None else None,
        signing_certificate=ctx.sp_certificate,
        encryption_certificate=encryption,
        name_id_format=config.name_id_format,
    )
