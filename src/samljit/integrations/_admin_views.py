"""What the account administrator's pages show: the frozen views :class:`Templates` renders
(plain strings, already formatted) and the built-in stylesheet and copy-button script."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ._admin_html import Problem
from ._admin_scim import ScimView

__all__ = [
    "COPY_SCRIPT",
    "STYLESHEET",
    "CertificateView",
    "ConnectView",
    "GuideView",
    "IdpView",
    "LoginView",
    "MappingView",
    "StatusView",
]

STYLESHEET = """
:root{--samljit-font:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;--samljit-text:#1f2328;
--samljit-background:#f6f8fa;--samljit-surface:#fff;--samljit-border:#d0d7de;
--samljit-header:#24292f;--samljit-accent:#1f883d;--samljit-danger:#cf222e}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 var(--samljit-font);color:var(--samljit-text);
background:var(--samljit-background)}
main{max-width:56rem;margin:0 auto;padding:1rem 1.25rem 3rem}
header.admin{background:var(--samljit-header);color:#fff;padding:.75rem 1.25rem}
header.admin a{color:#fff;margin-right:1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem}
section,form.card{background:var(--samljit-surface);border:1px solid var(--samljit-border);
border-radius:8px;padding:1rem;margin:1rem 0}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
input[type=text],input[type=url],input[type=email],textarea,select{width:100%;padding:.5rem;
border:1px solid #8c959f;border-radius:6px;font:inherit}
textarea{min-height:8rem;font-family:ui-monospace,monospace;font-size:.85rem}
button{font:inherit;padding:.45rem .9rem;border-radius:6px;border:1px solid var(--samljit-accent);
background:var(--samljit-accent);color:#fff;cursor:pointer;margin-top:.75rem}
button.secondary{background:var(--samljit-surface);color:var(--samljit-text);border-color:#8c959f}
button.danger{background:var(--samljit-danger);border-color:var(--samljit-danger)}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;
border-bottom:1px solid var(--samljit-border);vertical-align:top;overflow-wrap:anywhere}
.copy{display:flex;gap:.5rem;align-items:center}.copy input{flex:1}.copy button{margin:0}
.problem{border-left:4px solid var(--samljit-danger);background:#ffebe9;padding:.5rem .75rem;
margin:.5rem 0}
.warning{border-left:4px solid #bf8700;background:#fff8c5;padding:.5rem .75rem;margin:.5rem 0}
.ok{color:#1a7f37;font-weight:600}.off{color:var(--samljit-danger);font-weight:600}
code{font-family:ui-monospace,monospace;overflow-wrap:anywhere}
@media (max-width:40rem){main{padding:.5rem}th,td{display:block}}
"""
"""The built-in stylesheet, inlined in every page (no CDN). Its colours and font are CSS
custom properties (``--samljit-accent``, ...): a rule of the app's that sets them, after it,
re-colours the pages (docs/theming.md)."""

# Copy buttons: select the read-only field (works without JavaScript: select and copy by
# hand), and copy it with the Clipboard API where the browser has one.
COPY_SCRIPT = (
    "document.querySelectorAll('[data-copy]').forEach(function(b){b.addEventListener('click',"
    "function(){var i=document.getElementById(b.dataset.copy);i.select();"
    "if(navigator.clipboard){navigator.clipboard.writeText(i.value)}})})"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CertificateView:
    """One signing certificate of the IdP."""

    subject: str
    not_after: str
    sha256: str
    expired: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class IdpView:
    """What was read from IdP metadata."""

    entity_id: str
    sso: Sequence[tuple[str, str]] = ()
    """(binding, location) of each SingleSignOnService."""
    slo: Sequence[tuple[str, str]] = ()
    certificates: Sequence[CertificateView] = ()
    warnings: Sequence[Problem] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginView:
    """One recent login or refusal."""

    at: str
    outcome: str
    email: str = ""
    code: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusView:
    """The status page."""

    account_id: str
    base: str
    """The URL of the account's admin pages, ending with ``/``."""
    enabled: bool
    csrf_field: str = ""
    test_connection: bool = False
    """Whether to offer Test connection (the pages have the login service; SSO is on)."""
    idp: IdpView | None = None
    problem: Problem | None = None
    """Why the saved metadata cannot be used, when it cannot."""
    source: str = "pasted"
    """``pasted`` or the metadata URL."""
    source_facts: Sequence[tuple[str, str]] = ()
    """(label, value): last refresh, next refresh, last error."""
    logins: Sequence[LoginView] = ()
    domains: Sequence[tuple[str, bool]] | None = None
    """(domain, verified) of each of the account's domains; None when the app does not
    verify domains."""
    scim: ScimView | None = None
    """The account's SCIM base URL and tokens; None when the pages do not manage SCIM."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GuideView:
    """The guided setup of one vendor."""

    account_id: str
    base: str
    display_name: str
    create_app: str
    fields: Sequence[tuple[str, str, str]]
    """(label, value, help)."""
    attributes_section: str
    attributes: Sequence[tuple[str, str, str]]
    """(attribute name, value, help)."""
    steps: Sequence[str]
    vendors: Sequence[tuple[str, str]] = ()
    """(key, display name) of every vendor, for the menu."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectView:
    """The connect form, or the preview of what was read."""

    account_id: str
    base: str
    csrf_field: str
    problem: Problem | None = None
    idp: IdpView | None = None
    metadata_b64: str = ""
    metadata_url: str = ""
    entity_id: str = ""
    max_bytes: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class MappingView:
    """The claim mapping form and its preview."""

    account_id: str
    base: str
    csrf_field: str
    presets: Sequence[str]
    form: dict[str, str] = field(default_factory=dict)
    problem: Problem | None = None
    result: Sequence[tuple[str, str]] = ()
    """(field, value) of the identity the sample claims map to."""
    connected: bool = True
