"""The HTML of the account administrator's pages: :class:`Templates` (the views it renders are
in ``_admin_views``).

Every page is one method of :class:`Templates` that takes a frozen view (plain strings, already
formatted) and returns HTML; :meth:`Templates.layout` wraps each in the document with the
built-in stylesheet. An app changes the look by subclassing :class:`Templates` and overriding
the methods it wants, then passing an instance as ``AdminPages(templates=...)``; its base
layout comes from its framework's template ``samljit/admin/layout.html`` (the adapters render
:meth:`Templates.parts` in it), or from an override of ``layout``. Whatever an override
renders, it must escape every value with :func:`html.escape` (:func:`esc`): entity IDs, URLs
and claims come from outside.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from ._admin_domains import DomainTemplates
from ._admin_html import Problem, esc
from ._admin_html import copy_field as _copy_field
from ._admin_scim import ScimTemplates
from ._admin_test import TestTemplates
from ._admin_views import (
    COPY_SCRIPT,
    STYLESHEET,
    CertificateView,
    ConnectView,
    GuideView,
    IdpView,
    LoginView,
    MappingView,
    StatusView,
)
from ._web import PageParts

__all__ = [
    "STYLESHEET",
    "CertificateView",
    "ConnectView",
    "GuideView",
    "IdpView",
    "LoginView",
    "MappingView",
    "Problem",
    "StatusView",
    "Templates",
    "esc",
]


class Templates(DomainTemplates, TestTemplates, ScimTemplates):
    """The pages' HTML. Subclass and override any method to change the look; each returns
    a fragment that :meth:`layout` wraps. The app's base layout is its framework's template
    ``samljit/admin/layout.html`` (docs/theming.md), or an override of ``layout``."""

    stylesheet: ClassVar[str] = STYLESHEET
    """The CSS of the built-in layout (and the ``stylesheet`` of the app's layout template):
    a subclass may extend it, e.g. ``stylesheet = STYLESHEET + "header.admin{...}"``."""

    def nav(self, base: str | None) -> list[tuple[str, str]]:
        """(href, label) of the links to the account's pages under ``base``; none without
        one (a page shown to someone who may not see them)."""
        if base is None:
            return []
        links = (
            ("", "Status"),
            ("setup", "Setup guide"),
            ("connect", "Connect IdP"),
            ("mapping", "Claim mapping"),
            ("disable", "Disable SSO"),
        )
        return [(base + path, label) for path, label in links]

    def layout(self, title: str, body: str, *, base: str | None) -> str:
        """The whole document: ``body`` under a header linking the account's pages."""
        nav = "".join(f'<a href="{esc(href)}">{esc(label)}</a>' for href, label in self.nav(base))
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{self.stylesheet}</style></head><body>"
            f'<header class="admin"><nav aria-label="SSO administration">{nav}</nav></header>'
            f"<main><h1>{esc(title)}</h1>{body}</main><script>{COPY_SCRIPT}</script>"
            "</body></html>"
        )

    def parts(self, title: str, body: str, *, base: str | None) -> PageParts | None:
        """The page before its layout, for an adapter that renders it in the app's layout
        template; None when a subclass overrides :meth:`layout` (that is the app's layout)."""
        if type(self).layout is not Templates.layout:
            return None
        return PageParts(
            title=title,
            body=body,
            nav=self.nav(base),
            stylesheet=self.stylesheet,
            script=COPY_SCRIPT,
        )

    def message(self, text: str) -> str:
        """A page that only says something (refusals, confirmations)."""
        return f"<p>{esc(text)}</p>"

    def problem(self, problem: Problem | None) -> str:
        """An error in plain words, with its code."""
        if problem is None:
            return ""
        return (
            f'<div class="problem" role="alert"><p>{esc(problem.text)}</p>'
            f"<p>Code: <code>{esc(problem.code)}</code></p></div>"
        )

    def idp(self, idp: IdpView) -> str:
        """Entity ID, endpoints, certificates and warnings of an IdP."""
        rows = [("IdP entity ID", idp.entity_id)]
        rows += [(f"Sign-in URL ({_binding(b)})", loc) for b, loc in idp.sso]
        rows += [(f"Logout URL ({_binding(b)})", loc) for b, loc in idp.slo]
        table = "".join(
            f"<tr><th>{esc(k)}</th><td><code>{esc(v)}</code></td></tr>" for k, v in rows
        )
        certs = "".join(
            f"<tr><td>{esc(c.subject)}</td><td>"
            f"{'<span class=off>expired</span> ' if c.expired else ''}{esc(c.not_after)}</td>"
            f"<td><code>{esc(c.sha256)}</code></td></tr>"
            for c in idp.certificates
        )
        warnings = "".join(
            f'<div class="warning"><p>{esc(w.text)}</p><p>Code: <code>{esc(w.code)}</code></p>'
            "</div>"
            for w in idp.warnings
        )
        return (
            f"<table>{table}</table><h2>Signing certificates</h2><table><tr><th>Subject</th>"
            f"<th>Expires</th><th>SHA-256</th></tr>{certs}</table>{warnings}"
        )

    def status(self, view: StatusView) -> str:
        """The status page."""
        state = (
            '<p>Single sign-on is <span class="ok">on</span>.</p>'
            if view.enabled
            else '<p>Single sign-on is <span class="off">off</span>. Start with the '
            f'<a href="{esc(view.base)}setup">setup guide</a>, then '
            f'<a href="{esc(view.base)}connect">connect your IdP</a>.</p>'
        )
        body = f"<section>{state}{self.problem(view.problem)}"
        if view.idp is not None:
            body += self.idp(view.idp)
        body += "</section>"
        if view.test_connection:
            body += self.test_form(view.base, view.csrf_field)
        if view.enabled:
            facts = "".join(
                f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in view.source_facts
            )
            body += (
                f"<section><h2>Metadata source</h2><p>{esc(view.source)}</p>"
                f"<table>{facts}</table></section>"
            )
        rows = "".join(
            f"<tr><td>{esc(r.at)}</td><td>{esc(r.outcome)}</td><td>{esc(r.email)}</td>"
            f"<td><code>{esc(r.code)}</code></td><td>{esc(r.reason)}</td></tr>"
            for r in view.logins
        )
        body += (
            '<section id="recent-sign-ins"><h2>Recent sign-ins</h2>'
            + (
                "<table><tr><th>When</th><th>Outcome</th><th>User</th><th>Code</th>"
                f"<th>Reason</th></tr>{rows}</table>"
                if rows
                else "<p>None yet.</p>"
            )
            + "</section>"
        )
        if view.domains is not None:
            items = "".join(
                f"<li>{esc(domain)}: "
                + ('<span class="ok">verified</span>' if verified else "pending")
                + "</li>"
                for domain, verified in view.domains
            )
            body += (
                "<section><h2>Verified domains</h2>"
                + (f"<ul>{items}</ul>" if items else "<p>None yet.</p>")
                + f'<p><a href="{esc(view.base)}domains">Manage the verified domains</a></p>'
                "</section>"
            )
        if view.scim is not None:
            body += self.scim_status(view.scim)
        return body + self.status_extra(view)

    def status_extra(self, view: StatusView) -> str:
        """More sections at the end of the status page (none by default): the place for
        what an app adds per account, such as its provisioning tokens."""
        return ""

    def guide(self, view: GuideView) -> str:
        """The values to copy into the IdP's console, labelled as that console labels them."""
        menu = " · ".join(
            f'<a href="{esc(view.base)}setup/{esc(key)}">{esc(name)}</a>'
            for key, name in view.vendors
        )
        body = f"<p>{menu}</p><section><p>{esc(view.create_app)}</p>"
        for number, (label, value, help_text) in enumerate(view.fields):
            body += _copy_field(f"field-{number}", label, value, help_text)
        body += f"</section><section><h2>{esc(view.attributes_section)}</h2>"
        for number, (name, value, help_text) in enumerate(view.attributes):
            body += _copy_field(f"attr-{number}", f"{name} → {value}", name, help_text)
        steps = "".join(f"<li>{esc(step)}</li>" for step in view.steps)
        body += (
            f"</section><section><h2>Then</h2><ol>{steps}</ol>"
            f'<p><a href="{esc(view.base)}sp-metadata.xml" download>Download the SP metadata'
            "</a></p></section>"
        )
        return body

    def guide_index(self, base: str, vendors: Sequence[tuple[str, str]]) -> str:
        """Which IdP the account uses."""
        items = "".join(
            f'<li><a href="{esc(base)}setup/{esc(key)}">{esc(name)}</a></li>'
            for key, name in vendors
        )
        return f"<section><p>Which identity provider do you use?</p><ul>{items}</ul></section>"

    def connect(self, view: ConnectView) -> str:
        """The form: paste, upload or URL."""
        return (
            f"{self.problem(view.problem)}"
            f'<form class="card" method="post" action="{esc(view.base)}connect" '
            f'enctype="multipart/form-data">{view.csrf_field}'
            '<label for="metadata">Paste the IdP metadata XML</label>'
            '<textarea id="metadata" name="metadata"></textarea>'
            '<label for="metadata_file">or upload the metadata file</label>'
            '<input type="file" id="metadata_file" name="metadata_file" accept=".xml,text/xml">'
            '<label for="metadata_url">or give its metadata URL (https)</label>'
            '<input type="url" id="metadata_url" name="metadata_url" '
            f'value="{esc(view.metadata_url)}">'
            '<label for="entity_id">IdP entity ID (only for a document with several IdPs)</label>'
            f'<input type="text" id="entity_id" name="entity_id" value="{esc(view.entity_id)}">'
            f"<p>At most {view.max_bytes // 1024} KiB.</p>"
            '<button type="submit">Check the metadata</button></form>'
        )

    def preview(self, view: ConnectView) -> str:
        """What was read, with a form that saves it."""
        assert view.idp is not None
        return (
            "<p>Nothing is saved yet. Check what was read, then save.</p>"
            f"<section>{self.idp(view.idp)}</section>"
            f'<form method="post" action="{esc(view.base)}connect/confirm">{view.csrf_field}'
            f'<input type="hidden" name="metadata_b64" value="{esc(view.metadata_b64)}">'
            f'<input type="hidden" name="metadata_url" value="{esc(view.metadata_url)}">'
            f'<input type="hidden" name="entity_id" value="{esc(view.entity_id)}">'
            '<button type="submit" id="confirm">Save and use this IdP</button></form>'
        )

    def mapping(self, view: MappingView) -> str:
        """The claim mapping form, with a preview on sample claims."""
        form = view.form
        options = "".join(
            f'<option value="{esc(p)}"{" selected" if form.get("preset") == p else ""}>'
            f"{esc(p or '(keep the current attribute names)')}</option>"
            for p in ("", *view.presets)
        )

        def text(name: str, label: str, area: bool = False) -> str:
            value = esc(form.get(name, ""))
            control = (
                f'<textarea id="{name}" name="{name}">{value}</textarea>'
                if area
                else f'<input type="text" id="{name}" name="{name}" value="{value}">'
            )
            return f'<label for="{name}">{esc(label)}</label>{control}'

        result = ""
        if view.result:
            rows = "".join(
                f"<tr><th>{esc(k)}</th><td><code>{esc(v)}</code></td></tr>" for k, v in view.result
            )
            result = f'<section><h2>Result</h2><table id="result">{rows}</table></section>'
        save = (
            '<button type="submit" name="action" value="save" class="secondary">Save</button>'
            if view.connected
            else "<p>Connect the IdP before saving a mapping.</p>"
        )
        return (
            f"{self.problem(view.problem)}{result}"
            f'<form class="card" method="post" action="{esc(view.base)}mapping">{view.csrf_field}'
            '<label for="preset">Preset</label>'
            f'<select id="preset" name="preset">{options}</select>'
            + text("accepted_roles", "Accepted roles (comma-separated, most privileged first)")
            + text("account_attribute", "Account-ID attribute (empty: none)")
            + text("group_attribute", "Groups attribute")
            + text("group_roles", "Group-to-role rules, one 'group = role' per line", True)
            + "<h2>Sample claims</h2>"
            + text("sample_name_id", "NameID")
            + text("sample_attributes", "Attributes, one 'name = value' per line", True)
            + '<button type="submit" name="action" value="preview">Preview</button> '
            + f"{save}</form>"
        )

    def disable(self, base: str, csrf_field: str, entity_id: str) -> str:
        """The confirmation step of disabling SSO."""
        return (
            f"<section><p>This deletes the IdP settings of this account ({esc(entity_id)}). "
            "Users stay, with their data, but can no longer sign in by single sign-on until "
            "an IdP is connected again.</p>"
            f'<form method="post" action="{esc(base)}disable">{csrf_field}'
            '<label><input type="checkbox" name="confirm" value="yes" required> '
            "I understand: users can no longer sign in by SSO</label>"
            '<button type="submit" class="danger" id="disable">Disable SSO</button>'
            "</form></section>"
        )


def _binding(uri: str) -> str:
    return uri.rsplit(":", 1)[-1]
