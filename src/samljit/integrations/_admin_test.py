"""Test connection on the admin pages: its view, its HTML and its two actions.

``POST test`` (CSRF-checked) starts an SP-initiated login marked as this administrator's test
(:meth:`~samljit.LoginService.begin_test_login`) and sends the browser to the IdP. The IdP
posts its response to the account's ACS, which refuses it as a login (``test_login``); the
adapter's ACS then posts it on, from a page of this site, to ``test/result``: a same-site
POST, so the administrator's session cookie (SameSite=Lax) comes with it, which the IdP's
cross-site POST to the ACS could not carry.

``POST test/result`` needs no CSRF token: it only shows a dry run of a response the IdP
signed for a test that the signed-in administrator started
(:meth:`~samljit.LoginService.complete_test_login` refuses any other), and writes nothing
but the used-up request and assertion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..errors import SamlError
from ._admin_html import Problem, esc, explained, problem_of

if TYPE_CHECKING:
    from .._accounts import AccountConfig
    from .._results import OutboundMessage
    from ..metadata_source import MetadataSource
    from ..provisioning import TestLoginResult
    from ._admin_model import AdminRequest
    from ._web import WebResponse

    Page = Callable[[str, str, str | None, int], WebResponse]

__all__ = ["RESULT_PATH", "AdminService", "TestPages", "TestResultView", "TestTemplates"]

RESULT_PATH = "test/result"
"""Where, under an account's admin root, the ACS re-posts a Test connection's response."""

_WOULD = {
    "create": "A real sign-in would create this user.",
    "update": "A real sign-in would update this user.",
    "unchanged": "A real sign-in would sign in this existing user, unchanged.",
    "refuse": "A real sign-in would be refused.",
}


class AdminService(Protocol):
    """What the admin pages use of the login service (a :class:`~samljit.LoginService`
    is one; with an ``AsyncLoginService``, see ``samljit.integrations.fastapi.blocking``)."""

    def begin_test_login(
        self,
        account_id: str,
        *,
        admin_id: str,
        relay_state: str | None = None,
        force_authn: bool = False,
    ) -> OutboundMessage:
        """Start an administrator's Test connection."""
        ...

    def complete_test_login(
        self, form: Mapping[str, str], *, account_id: str | None, admin_id: str
    ) -> TestLoginResult:
        """Complete it as a dry run."""
        ...

    def metadata_source(self, config: AccountConfig) -> MetadataSource | None:
        """The refresh state of the account's metadata URL."""
        ...

    def sp_metadata(self, account_id: str) -> bytes:
        """The SP metadata of a saved account."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class TestResultView:
    """What a Test connection found, in plain strings."""

    __test__ = False  # not a pytest test class, despite the name

    account_id: str
    base: str
    csrf_field: str
    action: str = ""
    """``create``, ``update``, ``unchanged`` or ``refuse``; empty when the response did not
    verify (``problem`` says why)."""
    code: str = ""
    """For ``refuse``: the error code a real sign-in would fail with."""
    reason: str = ""
    """For ``refuse``: why, in plain words."""
    name_id: str = ""
    name_id_format: str = ""
    attributes: Sequence[tuple[str, Sequence[str]]] = ()
    """(name, values) of every attribute, as the IdP signed them."""
    identity: Sequence[tuple[str, str]] = ()
    """(field, value) of the mapped identity; empty when the mapping refused the claims."""
    changes: Sequence[tuple[str, str, str]] = ()
    """(field, old, new) a real sign-in would write."""
    problem: Problem | None = None


class TestTemplates:
    """The HTML of Test connection (part of :class:`~samljit.integrations.admin.Templates`)."""

    __test__ = False

    if TYPE_CHECKING:  # Templates renders problems the same way on every page

        def problem(self, problem: Problem | None) -> str: ...

    def test_form(self, base: str, csrf_field: str) -> str:
        """The button that starts a Test connection (on the status and result pages)."""
        return (
            f'<form class="card" id="test-connection" method="post" action="{esc(base)}test">'
            f"{csrf_field}<h2>Test connection</h2><p>Sign in at your IdP as any user to see "
            "what a real sign-in would do. Nothing is created or changed, and nobody is signed "
            'in here.</p><label><input type="checkbox" id="force-authn" name="force_authn" '
            'value="yes"> Sign in at the IdP again (to test as another user)</label>'
            '<button type="submit" id="test-connection-start">Test connection</button></form>'
        )

    def test_result(self, view: TestResultView) -> str:
        """The verified claims, the identity they map to and what a real sign-in would do."""
        if view.problem is not None:
            return (
                "<section><p>The IdP's response was refused, as a real sign-in's would be.</p>"
                f"{self.problem(view.problem)}</section>"
                f"{self.test_form(view.base, view.csrf_field)}"
            )
        outcome = (
            f'<p id="test-action" data-action="{esc(view.action)}" '
            f'class="{"off" if view.action == "refuse" else "ok"}">{esc(_WOULD[view.action])}</p>'
        )
        if view.action == "refuse":
            outcome += (
                f'<div class="problem" role="alert"><p id="test-reason">{esc(view.reason)}</p>'
                f'<p>Code: <code id="test-code">{esc(view.code)}</code></p><p>Fix the '
                f'<a href="{esc(view.base)}mapping">claim mapping</a> or the user at the '
                "IdP, then test again.</p></div>"
            )
        body = f"<section>{outcome}"
        if view.changes:
            rows = "".join(
                f'<tr data-field="{esc(f)}"><th>{esc(f)}</th><td>{esc(old)}</td>'
                f"<td>{esc(new)}</td></tr>"
                for f, old, new in view.changes
            )
            body += (
                '<h2>Changes</h2><table id="test-changes"><tr><th>Field</th><th>Now</th>'
                f"<th>After sign-in</th></tr>{rows}</table>"
            )
        body += "</section>"
        if view.identity:
            rows = "".join(
                f'<tr data-field="{esc(f)}"><th>{esc(f)}</th><td>{esc(v)}</td></tr>'
                for f, v in view.identity
            )
            body += f'<section><h2>Identity</h2><table id="test-identity">{rows}</table></section>'
        attributes = "".join(
            f'<tr data-name="{esc(name)}"><th>{esc(name)}</th>'
            + "".join(f"<td>{esc(v)}</td>" for v in values)
            + "</tr>"
            for name, values in view.attributes
        )
        body += (
            "<section><h2>What the IdP signed</h2><table><tr><th>NameID</th><td>"
            f'<code id="test-name-id">{esc(view.name_id)}</code></td></tr><tr><th>Format</th>'
            f"<td>{esc(view.name_id_format or 'unspecified')}</td></tr></table>"
            f'<h3>Attributes</h3><table id="test-attributes">{attributes}</table></section>'
        )
        return body + self.test_form(view.base, view.csrf_field)


class TestPages:
    """The actions of Test connection.

    Args:
        service: starts and completes the tests.
        templates: renders the result.
        page: wraps a body in the layout: ``(title, body, base, status)``.
        outbound: the response that sends the browser to the IdP.
    """

    __test__ = False

    def __init__(
        self,
        service: AdminService,
        templates: TestTemplates,
        page: Page,
        outbound: Callable[[OutboundMessage], WebResponse],
    ) -> None:
        self._service = service
        self._templates = templates
        self._page = page
        self._outbound = outbound

    def routes(self) -> dict[tuple[str, str], Callable[[AdminRequest], WebResponse]]:
        """The (method, path) of each action, with its handler."""
        return {("POST", "test"): self._begin, ("POST", RESULT_PATH): self._result}

    def _begin(self, request: AdminRequest) -> WebResponse:
        try:
            message = self._service.begin_test_login(
                request.account_id,
                admin_id=request.admin_id,
                relay_state=request.base + RESULT_PATH,
                force_authn=request.form.get("force_authn") == "yes",
            )
        except SamlError as exc:
            return self._refused(request, exc)
        return self._outbound(message)

    def _result(self, request: AdminRequest) -> WebResponse:
        try:
            result = self._service.complete_test_login(
                request.form, account_id=request.account_id, admin_id=request.admin_id
            )
        except SamlError as exc:
            return self._refused(request, exc)
        assertion, identity = result.assertion, result.identity
        view = TestResultView(
            account_id=request.account_id,
            base=request.base,
            csrf_field=request.csrf_field,
            action=result.action,
            code=result.code or "",
            reason=explained(result.code, result.message or "") if result.code else "",
            name_id=assertion.name_id.value,
            name_id_format=assertion.name_id.format or "",
            attributes=list(assertion.attributes.items()),
            identity=[
                ("email", identity.email),
                ("full_name", identity.full_name or ""),
                ("role", identity.role),
                ("account_id", identity.account_id or ""),
            ]
            if identity is not None
            else (),
            changes=[(f, old or "", new or "") for f, (old, new) in result.changes.items()],
        )
        return self._show(request, view)

    def _refused(self, request: AdminRequest, exc: SamlError) -> WebResponse:
        view = TestResultView(
            account_id=request.account_id,
            base=request.base,
            csrf_field=request.csrf_field,
            problem=problem_of(exc),
        )
        return self._show(request, view, 400)

    def _show(self, request: AdminRequest, view: TestResultView, status: int = 200) -> WebResponse:
        body = self._templates.test_result(view)
        return self._page("Test connection result", body, request.base, status)
