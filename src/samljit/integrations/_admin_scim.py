"""SCIM provisioning on the admin pages: the status page's section (the account's SCIM base
URL, its bearer tokens) and the two actions that change the tokens.

Mounted by :class:`~samljit.integrations.admin.AdminPages` when it is given the accounts'
tokens (``scim_tokens=``, with ``scim_url=``). The paths, under the account's admin root:
``scim/tokens`` (POST, an optional ``label``: issue a token and show its secret, this once)
and ``scim/tokens/revoke`` (POST, ``token_id``). Authorization and CSRF are checked before
these run. A token's secret is never kept, so never shown again: to rotate, issue the next
token, give it to the IdP, then revoke the old one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._admin_html import copy_field, esc

if TYPE_CHECKING:
    from datetime import datetime

    from ..directory import ScimTokens
    from ..protocols import ScimToken
    from ._admin_model import AdminRequest
    from ._web import WebResponse

    Page = Callable[[str, str, str | None, int], WebResponse]
    Emit = Callable[[str, AdminRequest, Mapping[str, tuple[str | None, str | None]]], None]

__all__ = ["MAX_LABEL", "ScimPages", "ScimTemplates", "ScimTokenView", "ScimView"]

MAX_LABEL = 100
"""The longest token label kept (characters); a longer one is cut."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScimTokenView:
    """One of the account's SCIM tokens (never its secret)."""

    token_id: str
    label: str
    created: str
    last_used: str
    """When the IdP last used it (formatted), or ``never``."""
    revoked: str = ""
    """When it was revoked (formatted); empty while it is active."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScimView:
    """SCIM provisioning of one account: its base URL and tokens, and the secret of the
    token just issued (on that response only)."""

    account_id: str
    base: str
    csrf_field: str
    base_url: str
    """The account's SCIM base URL, for the IdP."""
    tokens: Sequence[ScimTokenView] = ()
    secret: str = ""
    issued: ScimTokenView | None = None


class ScimTemplates:
    """The HTML of SCIM provisioning (part of :class:`~samljit.integrations.admin.Templates`)."""

    def scim_status(self, view: ScimView) -> str:
        """The status page's section: the base URL, the tokens, and the forms that issue and
        revoke them."""
        rows = "".join(
            f"<tr><td>{esc(t.label or '(no label)')}</td><td><code>{esc(t.token_id)}</code></td>"
            f"<td>{esc(t.created)}</td><td>{esc(t.last_used)}</td><td>"
            + (
                f'<span class="off">revoked</span> {esc(t.revoked)}'
                if t.revoked
                else '<span class="ok">active</span>' + self._revoke_form(view, t)
            )
            + "</td></tr>"
            for t in view.tokens
        )
        table = (
            '<table id="scim-tokens"><tr><th>Label</th><th>ID</th><th>Created</th>'
            f"<th>Last used</th><th>State</th></tr>{rows}</table>"
            if rows
            else "<p>No tokens yet.</p>"
        )
        return (
            '<section id="scim"><h2>User provisioning (SCIM)</h2><p>Your IdP can create, '
            "update and deactivate this account's users through SCIM 2.0: give it this base "
            "URL and a token.</p>"
            + copy_field("scim-base-url", "SCIM base URL", view.base_url, "")
            + f"<h2>Tokens</h2>{table}"
            f'<form method="post" action="{esc(view.base)}scim/tokens">{view.csrf_field}'
            '<label for="scim-label">Label (e.g. the IdP it is for)</label>'
            f'<input type="text" id="scim-label" name="label" maxlength="{MAX_LABEL}">'
            '<button type="submit" id="scim-issue">Generate a token</button></form>'
            "<p>To rotate a token, generate the next one, give it to the IdP, then revoke the "
            "old one.</p></section>"
        )

    def _revoke_form(self, view: ScimView, token: ScimTokenView) -> str:
        return (
            f'<form method="post" action="{esc(view.base)}scim/tokens/revoke">{view.csrf_field}'
            f'<input type="hidden" name="token_id" value="{esc(token.token_id)}">'
            f'<button type="submit" class="danger" aria-label="Revoke {esc(token.label)} '
            f'{esc(token.token_id)}">Revoke</button></form>'
        )

    def scim_token_issued(self, view: ScimView) -> str:
        """The new token's secret, shown this once, with the base URL to go with it."""
        assert view.issued is not None
        return (
            '<div class="warning" role="alert"><p>Copy this token now: it is shown only '
            "once. Only its hash is kept; if it is lost, generate another.</p></div>"
            f"<section><p>Token <code>{esc(view.issued.token_id)}</code> "
            f"({esc(view.issued.label or 'no label')}) for account "
            f"<code>{esc(view.account_id)}</code>. In the IdP's provisioning settings, enter "
            "the base URL and, as the HTTP header bearer token, the token.</p>"
            + copy_field("scim-base-url", "SCIM base URL", view.base_url, "")
            + copy_field("scim-secret", "Bearer token", view.secret, "")
            + f'<p><a href="{esc(view.base)}">Back to the status page</a></p></section>'
        )


class ScimPages:
    """The status section and the actions of SCIM provisioning.

    Args:
        tokens: issues, lists and revokes the accounts' tokens.
        base_url: ``account_id -> `` the account's SCIM base URL.
        templates: renders the pages.
        page: wraps a body in the layout: ``(title, body, base, status)``.
        emit: records an audit event: ``(name, request, changes)``.
        when: formats a moment.
    """

    def __init__(
        self,
        tokens: ScimTokens,
        base_url: Callable[[str], str],
        templates: ScimTemplates,
        page: Page,
        emit: Emit,
        when: Callable[[datetime | None], str],
    ) -> None:
        self._tokens = tokens
        self._base_url = base_url
        self._templates = templates
        self._page = page
        self._emit = emit
        self._when = when

    def routes(self) -> dict[tuple[str, str], Callable[[AdminRequest], WebResponse]]:
        """The (method, path) of each action, with its handler."""
        return {("POST", "scim/tokens"): self._issue, ("POST", "scim/tokens/revoke"): self._revoke}

    def view(self, request: AdminRequest) -> ScimView:
        """The account's section of the status page."""
        return ScimView(
            account_id=request.account_id,
            base=request.base,
            csrf_field=request.csrf_field,
            base_url=self._base_url(request.account_id),
            tokens=[self._token(t) for t in self._tokens.tokens_of(request.account_id)],
        )

    def _token(self, token: ScimToken) -> ScimTokenView:
        return ScimTokenView(
            token_id=token.token_id,
            label=token.label,
            created=self._when(token.created_at),
            last_used=self._when(token.last_used_at),
            revoked=self._when(token.revoked_at) if token.revoked_at else "",
        )

    def _issue(self, request: AdminRequest) -> WebResponse:
        label = " ".join(request.form.get("label", "").split())[:MAX_LABEL]
        secret, token = self._tokens.issue(request.account_id, label=label)
        self._emit("scim_token_issued", request, {token.token_id: (None, "active")})
        view = ScimView(
            account_id=request.account_id,
            base=request.base,
            csrf_field=request.csrf_field,
            base_url=self._base_url(request.account_id),
            secret=secret,
            issued=self._token(token),
        )
        body = self._templates.scim_token_issued(view)
        return self._page("SCIM token generated", body, request.base, 200)

    def _revoke(self, request: AdminRequest) -> WebResponse:
        token_id = request.form.get("token_id", "")
        if not self._tokens.revoke(request.account_id, token_id):
            text = "This account has no active token with that ID: nothing was revoked."
            return self._page("Token not revoked", f"<p>{esc(text)}</p>", request.base, 400)
        self._emit("scim_token_revoked", request, {token_id: ("active", "revoked")})
        text = (
            f"Token {token_id} is revoked: the IdP's next request with it is refused (401). "
            "The other tokens still work."
        )
        return self._page("SCIM token revoked", f"<p>{esc(text)}</p>", request.base, 200)
