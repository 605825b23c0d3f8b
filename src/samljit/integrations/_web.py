"""What the framework adapters share: pages, responses and rules, with no framework in sight.

Each adapter turns a request into plain values, calls these functions and the login service,
and turns the :class:`WebResponse` it gets back into its framework's response.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._config import SPConfig
from .._models import NameID
from .._service import LoginResult, LogoutResult, OutboundMessage
from ..bindings import post_form
from ..errors import ConfigError, SamlError

__all__ = [
    "ADMIN_LAYOUT",
    "CSRF_FIELD",
    "SESSION_KEY",
    "CurrentSessionRevoker",
    "PageParts",
    "WebResponse",
    "acs_refused",
    "csrf_input",
    "csrf_valid",
    "failure",
    "layout_context",
    "logout_allowed",
    "logout_form",
    "logout_target",
    "logout_token",
    "remember_login",
    "sp_config",
    "too_large",
]

log = logging.getLogger("samljit.integrations")

SESSION_KEY = "samljit"
"""The framework-session key under which an adapter keeps what SP-initiated logout needs
(account, NameID, SessionIndex). The login flow itself never depends on a cookie: the state
of an SP-initiated request is kept server-side in the RequestStore, because the IdP's POST to
the ACS is a cross-site request that SameSite cookies do not accompany."""

CSRF_FIELD = "samljit_csrf"
"""The form field (and session key) of the token that ``POST /sso/logout`` must carry."""

GENERIC_FAILURE = "Single sign-on failed"


ADMIN_LAYOUT = "samljit/admin/layout.html"
"""The template name under which an app gives the admin pages its own base layout (Flask's
templates folder, Django's template loaders, the FastAPI adapter's ``admin_templates``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PageParts:
    """An HTML page before its layout, for an adapter that renders it in the app's own base
    layout (the admin pages give one with each page; see docs/theming.md)."""

    title: str
    """Plain text: the layout escapes it."""
    body: str
    """The page's HTML, every value in it already escaped: the layout inserts it as is."""
    nav: Sequence[tuple[str, str]] = ()
    """(href, label) of the links to the account's pages, plain text; none on a page shown
    to someone who may not see them."""
    stylesheet: str = ""
    """The built-in CSS (the layout may include it in a ``<style>`` or leave it out)."""
    script: str = ""
    """The copy buttons' JavaScript (without it, the values are selected and copied by hand)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WebResponse:
    """A framework-neutral HTTP response."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    page: PageParts | None = None
    """The parts of an HTML ``body`` rendered in the built-in layout, when an adapter may
    render them in the app's layout instead (:data:`ADMIN_LAYOUT`)."""


def layout_context(
    page: PageParts, *, account_id: str, safe: Callable[[str], object]
) -> dict[str, object]:
    """The variables of :data:`ADMIN_LAYOUT`: ``title``, ``body``, ``nav``, ``stylesheet``,
    ``script`` and ``account_id``. ``safe`` is the template engine's mark for HTML it must
    not escape again (Jinja's ``Markup``, Django's ``mark_safe``): the body, the CSS and the
    script; the rest is plain text the template escapes."""
    return {
        "title": page.title,
        "body": safe(page.body),
        "nav": list(page.nav),
        "stylesheet": safe(page.stylesheet),
        "script": safe(page.script),
        "account_id": account_id,
    }


def sp_config(base_url: str, account_id: str, *, prefix: str = "/sso", **options: Any) -> SPConfig:
    """The SPConfig of ``account_id`` whose URLs are the adapter's endpoints under ``base_url``
    (the app's public origin, e.g. ``https://app.example.com``): entity ID
    ``{base}/sso/{account}/metadata``, ACS ``…/acs``, SLO ``…/slo``. ``options`` go to
    :class:`~samljit.SPConfig` (``clock_skew``, ``limits``, ...)."""
    root = f"{base_url.rstrip('/')}/{prefix.strip('/')}/{account_id}"
    return SPConfig(
        entity_id=f"{root}/metadata", acs_url=f"{root}/acs", slo_url=f"{root}/slo", **options
    )


def page(title: str, body: str, status: int = 200) -> WebResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"{body}</body></html>"
    )
    return WebResponse(status=status, body=document.encode("utf-8"))


def sso_page(action: str, *, next_url: str | None = None, csrf_field: str = "") -> WebResponse:
    """The SSO page: the email address decides which IdP the browser goes to."""
    hidden = (
        f'<input type="hidden" name="next" value="{html.escape(next_url)}">' if next_url else ""
    )
    return page(
        "Sign in with single sign-on",
        f'<form method="post" action="{html.escape(action)}">{csrf_field}{hidden}'
        '<label for="email">Work email</label> '
        '<input type="email" name="email" id="email" autocomplete="email" required> '
        '<button type="submit" id="sso-submit">Continue</button></form>',
    )


def redirect(location: str) -> WebResponse:
    return WebResponse(status=303, location=location)


def outbound(message: OutboundMessage) -> WebResponse:
    """Send the browser to the IdP: a redirect, or a self-posting form."""
    if message.url is not None:
        return redirect(message.url)
    assert message.form_html is not None
    return WebResponse(
        body=message.form_html.encode("utf-8"), headers={"Cache-Control": "no-store"}
    )


def metadata(xml: bytes) -> WebResponse:
    return WebResponse(body=xml, content_type="application/samlmetadata+xml")


def failure(exc: SamlError, *, step: str, account_id: str | None) -> WebResponse:
    """The generic page the browser gets, and the detailed line the operator gets.

    The page says nothing about why (which account exists, which check failed): the log line
    does, under a reference the user can quote to support.
    """
    reference = secrets.token_hex(6)
    level = logging.ERROR if isinstance(exc, ConfigError) else logging.WARNING
    log.log(
        level,
        "sso %s failed ref=%s account=%s code=%s: %s",
        step,
        reference,
        account_id,
        exc.code,
        exc.message,
        extra={"samljit_code": exc.code, "samljit_reference": reference},
    )
    return page(
        GENERIC_FAILURE,
        "<p>We could not sign you in with single sign-on. Try again, or ask your "
        "administrator, quoting this reference: "
        f'<code id="reference">{reference}</code>.</p><p><a href="/">Home</a></p>',
        status=500 if isinstance(exc, ConfigError) else 403,
    )


def acs_refused(
    exc: SamlError, form: Mapping[str, str], *, account_id: str, admin_base: str | None
) -> WebResponse:
    """The ACS's answer to a refused response: :func:`failure`, except for a response that
    answers an administrator's Test connection (``test_login``) when the admin pages are
    mounted at ``admin_base``. That one is posted on, from this page of the site, to the
    admin pages' ``test/result``: a same-site POST, so the administrator's session cookie
    (SameSite=Lax), which the IdP's cross-site POST could not carry, comes with it."""
    if exc.code != "test_login" or admin_base is None:
        return failure(exc, step="acs", account_id=account_id)
    fields = {k: form[k] for k in ("SAMLResponse", "RelayState") if k in form}
    document = post_form(admin_base + "test/result", fields, title="Checking the test")
    return WebResponse(body=document.encode("utf-8"), headers={"Cache-Control": "no-store"})


def remember_login(session: MutableMapping[str, Any], result: LoginResult) -> None:
    """Keep in the app's session what SP-initiated logout will need; a server-side session
    gets a new ID (no ID planted before the login becomes a logged-in session) and every
    session a new logout token."""
    rotate = getattr(session, "rotate", None)  # samljit.integrations.sessions.ServerSession
    if callable(rotate):
        rotate()
    session.pop(CSRF_FIELD, None)
    name_id = result.assertion.name_id
    session[SESSION_KEY] = {
        "account_id": result.account_id,
        "email": result.user.email,
        "name_id": name_id.value,
        "format": name_id.format,
        "name_qualifier": name_id.name_qualifier,
        "sp_name_qualifier": name_id.sp_name_qualifier,
        "session_index": result.assertion.session_index,
    }


def logout_target(session: Mapping[str, Any]) -> tuple[str, NameID, str | None] | None:
    """The account, NameID and SessionIndex to log out at the IdP, from the app's session."""
    facts = session.get(SESSION_KEY)
    if not isinstance(facts, Mapping):
        return None
    name_id = NameID(
        value=facts["name_id"],
        format=facts.get("format"),
        name_qualifier=facts.get("name_qualifier"),
        sp_name_qualifier=facts.get("sp_name_qualifier"),
    )
    return facts["account_id"], name_id, facts.get("session_index")


def logout_token(session: MutableMapping[str, Any]) -> str:
    """The session's logout token (made on first use): the app's logout form sends it as
    the ``samljit_csrf`` field, and ``POST /sso/logout`` refuses a session's logout without
    it. A cross-site page can make the browser post the form, but cannot read the token."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def logout_form(session: MutableMapping[str, Any], action: str, *, label: str = "Log out") -> str:
    """The logout button as an HTML form posting to ``action``, with the session's token."""
    return (
        f'<form method="post" action="{html.escape(action)}">'
        f'<input type="hidden" name="{CSRF_FIELD}" value="{html.escape(logout_token(session))}">'
        f'<button type="submit" id="logout">{html.escape(label)}</button></form>'
    )


def logout_allowed(session: Mapping[str, Any], form: Mapping[str, str]) -> bool:
    """Whether a ``POST /sso/logout`` may end this session: an empty session has nothing to
    lose; any other needs the token :func:`logout_token` gave this session (compared in
    constant time). A forged cross-site POST carries the browser's cookie but not the token.
    """
    return not session or csrf_valid(session, form)


def csrf_valid(session: Mapping[str, Any], form: Mapping[str, str]) -> bool:
    """Whether a POST carries the token :func:`logout_token` gave this session, in its
    ``samljit_csrf`` field (compared in constant time); never for a session without one."""
    expected, sent = session.get(CSRF_FIELD), form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not expected or not isinstance(sent, str):
        return False
    return secrets.compare_digest(expected.encode("utf-8"), sent.encode("utf-8"))


def csrf_input(session: MutableMapping[str, Any]) -> str:
    """The hidden ``samljit_csrf`` input with this session's token, for the forms of the
    admin pages; empty for an empty session (nobody is signed in, so no token is made and
    no session is started for an anonymous visitor)."""
    if not session:
        return ""
    token = html.escape(logout_token(session))
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">'


def too_large(limit: int) -> WebResponse:
    """The page of a request whose body is over ``limit`` bytes; nothing was read whole."""
    log.warning("sso request refused: its body is larger than %s bytes", limit)
    return page(
        "Request too large",
        f"<p>This request is larger than {limit} bytes, so nothing was changed.</p>",
        status=413,
    )


def logout_refused() -> WebResponse:
    """The page of a logout POST without the session's token; nothing has changed."""
    log.warning("sso logout refused: the POST did not carry the session's logout token")
    return page(
        "Logout refused",
        "<p>This logout request did not come from this site's logout button. You are still "
        'signed in; use the button to log out.</p><p><a href="/">Home</a></p>',
        status=403,
    )


def after_logout(result: LogoutResult) -> WebResponse:
    if result.reply is not None:
        return outbound(result.reply)
    return redirect(result.redirect_to)


class CurrentSessionRevoker:
    """A :class:`~samljit.SessionRevoker` for apps whose sessions live in the browser's
    cookie (Flask's and Starlette's default): the IdP's front-channel LogoutRequest arrives
    with the user's cookies, so the session it can end is the current request's, when that
    session is the login being ended. Apps with server-side sessions should end them all
    (every device) instead: :class:`~samljit.integrations.sessions.MemorySessionStore` does.
    """

    def __init__(self, current_session: Callable[[], MutableMapping[str, Any] | None]) -> None:
        self._current_session = current_session

    def revoke(self, *, account_id: str, email: str, session_indexes: tuple[str, ...]) -> int:
        session = self._current_session()
        facts = session.get(SESSION_KEY) if session is not None else None
        if session is None or not isinstance(facts, Mapping):
            return 0
        if facts.get("account_id") != account_id or facts.get("email") != email:
            return 0
        if session_indexes and facts.get("session_index") not in session_indexes:
            return 0
        flush = getattr(session, "flush", None)  # Django's SessionBase: new key, no data
        if callable(flush):
            flush()
        else:
            session.clear()
        return 1
