"""The verified domains page of the admin pages: its views, its HTML and its actions.

Mounted by :class:`~samljit.integrations.admin.AdminPages` when it is given a
:class:`~samljit.domains.DomainVerifier` (``domains=``); the paths, under the account's admin
root: ``domains`` (GET: the list), ``domains/add``, ``domains/verify`` and ``domains/remove``
(POST, with a ``domain`` field). Authorization and CSRF are checked before these run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING

from .._domains import parse_domain
from ..errors import DnsFailed, DomainNotVerified, SamlError
from ..history import refusal_reason
from ._admin_html import Problem, copy_field, esc, explained

if TYPE_CHECKING:
    from ..domains import DomainVerifier
    from ..protocols import DomainChallenge
    from ._admin_model import AdminRequest
    from ._web import WebResponse

    Page = Callable[[str, str, str | None, int], WebResponse]
    Emit = Callable[[str, AdminRequest, Mapping[str, tuple[str | None, str | None]]], None]

__all__ = ["DomainPages", "DomainTemplates", "DomainView", "DomainsView"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainView:
    """One domain of the account."""

    domain: str
    verified_at: str = ""
    """When it was verified (formatted); empty while it is pending."""
    record_name: str
    """The DNS name of the TXT record to publish."""
    record_value: str
    """The value of that TXT record."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainsView:
    """The verified domains page."""

    account_id: str
    base: str
    csrf_field: str
    domains: Sequence[DomainView] = ()
    notice: str = ""
    """What the last action did, in plain words."""
    problem: Problem | None = None
    """Why the last action was refused."""
    entered: str = ""
    """The domain entered in the add form, kept when it was refused."""


class DomainTemplates:
    """The HTML of the verified domains page (part of
    :class:`~samljit.integrations.admin.Templates`)."""

    if TYPE_CHECKING:  # Templates renders problems the same way on every page

        def problem(self, problem: Problem | None) -> str: ...

    def domains(self, view: DomainsView) -> str:
        """The account's domains, the TXT record of each pending one with copy buttons, and
        the forms that add, verify and remove them."""
        notice = f'<p class="ok" role="status">{esc(view.notice)}</p>' if view.notice else ""
        body = (
            f"{self.problem(view.problem)}{notice}<section><p>A verified domain proves this "
            "account owns the email addresses at it: only this account's IdP may then sign "
            "them in, and their users are sent to it.</p>"
        )
        if not view.domains:
            body += "<p>No domains yet.</p>"
        for number, item in enumerate(view.domains):
            body += f'<section id="domain-{number}"><h2>{esc(item.domain)}</h2>'
            if item.verified_at:
                body += f'<p><span class="ok">Verified</span> {esc(item.verified_at)}</p>'
            else:
                body += (
                    '<p><span class="off">Pending</span>: publish this TXT record at your DNS '
                    "provider, then verify.</p>"
                    + copy_field(f"record-name-{number}", "TXT record name", item.record_name, "")
                    + copy_field(
                        f"record-value-{number}", "TXT record value", item.record_value, ""
                    )
                    + self._domain_form(view, "verify", item.domain, "Verify", "")
                )
            body += self._domain_form(view, "remove", item.domain, "Remove", "danger")
            body += "</section>"
        return (
            f"{body}</section>"
            f'<form class="card" method="post" action="{esc(view.base)}domains/add">'
            f'{view.csrf_field}<label for="domain">Add a domain (e.g. example.com)</label>'
            f'<input type="text" id="domain" name="domain" value="{esc(view.entered)}" '
            'required><button type="submit">Add the domain</button></form>'
        )

    def _domain_form(
        self, view: DomainsView, action: str, domain: str, label: str, style: str
    ) -> str:
        css = f' class="{style}"' if style else ""
        return (
            f'<form method="post" action="{esc(view.base)}domains/{action}">{view.csrf_field}'
            f'<input type="hidden" name="domain" value="{esc(domain)}">'
            f'<button type="submit"{css} aria-label="{label} {esc(domain)}">{label}</button>'
            "</form>"
        )


class DomainPages:
    """The actions of the verified domains page.

    Args:
        verifier: adds, verifies and removes the domains.
        templates: renders the page.
        page: wraps a body in the layout: ``(title, body, base, status)``.
        emit: records an audit event: ``(name, request, changes)``.
    """

    def __init__(
        self, verifier: DomainVerifier, templates: DomainTemplates, page: Page, emit: Emit
    ) -> None:
        self._verifier = verifier
        self._templates = templates
        self._page = page
        self._emit = emit

    def routes(self) -> dict[tuple[str, str], Callable[[AdminRequest], WebResponse]]:
        """The (method, path) of each page and action, with its handler."""
        return {
            ("GET", "domains"): lambda request: self._show(request),
            ("POST", "domains/add"): self._add,
            ("POST", "domains/verify"): self._verify,
            ("POST", "domains/remove"): self._remove,
        }

    def _show(
        self,
        request: AdminRequest,
        *,
        notice: str = "",
        problem: Problem | None = None,
        entered: str = "",
    ) -> WebResponse:
        view = DomainsView(
            account_id=request.account_id,
            base=request.base,
            csrf_field=request.csrf_field,
            domains=[_view(c) for c in self._verifier.store.domains_of(request.account_id)],
            notice=notice,
            problem=problem,
            entered=entered,
        )
        status = 400 if problem is not None else 200
        return self._page("Verified domains", self._templates.domains(view), request.base, status)

    def _add(self, request: AdminRequest) -> WebResponse:
        entered = request.form.get("domain", "")
        try:
            existing = self._existing(request, entered)
            challenge = self._verifier.add(request.account_id, entered)
        except SamlError as exc:
            return self._show(request, problem=_problem(exc), entered=entered)
        if existing is None:
            self._emit("domain_added", request, {challenge.domain: (None, "pending")})
        return self._show(
            request,
            notice=f"Publish the TXT record below for {challenge.domain}, then verify it.",
        )

    def _verify(self, request: AdminRequest) -> WebResponse:
        try:
            existing = self._existing(request, request.form.get("domain", ""))
            try:
                challenge = self._verifier.verify(
                    request.account_id, request.form.get("domain", "")
                )
            except SamlError:
                raise
            except Exception as exc:  # the app's resolver failed: as a DNS failure
                raise DnsFailed(f"the TXT lookup failed: {exc}", found="resolver_error") from exc
        except SamlError as exc:
            return self._show(request, problem=_problem(exc))
        if existing is not None and not existing.verified:
            self._emit("domain_verified", request, {challenge.domain: ("pending", "verified")})
        return self._show(request, notice=f"{challenge.domain} is verified.")

    def _remove(self, request: AdminRequest) -> WebResponse:
        try:
            existing = self._existing(request, request.form.get("domain", ""))
        except SamlError as exc:
            return self._show(request, problem=_problem(exc))
        if existing is None:
            return self._show(
                request,
                problem=Problem(code="domain_not_added", text=refusal_reason("domain_not_added")),
            )
        self._verifier.remove(request.account_id, existing.domain)
        state = "verified" if existing.verified else "pending"
        self._emit("domain_removed", request, {existing.domain: (state, None)})
        return self._show(request, notice=f"{existing.domain} is removed from this account.")

    def _existing(self, request: AdminRequest, entered: str) -> DomainChallenge | None:
        return self._verifier.store.get(request.account_id, parse_domain(entered))


def _view(challenge: DomainChallenge) -> DomainView:
    at = challenge.verified_at
    return DomainView(
        domain=challenge.domain,
        verified_at=at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else "",
        record_name=challenge.record_name,
        record_value=challenge.record_value,
    )


def _problem(exc: SamlError) -> Problem:
    """The reason in plain words: for a record that was not verified, whether it is missing
    or holds another value."""
    if isinstance(exc, DomainNotVerified):
        found = exc.found if isinstance(exc.found, list) else []
        detail = (
            "No TXT record was found there yet: publish it, wait for DNS to update, and verify "
            "again."
            if not found
            else "The TXT record found there holds another value: publish exactly the value shown."
        )
        return Problem(code=exc.code, text=explained(exc.code, detail))
    return Problem(code=exc.code, text=explained(exc.code, exc.message))
