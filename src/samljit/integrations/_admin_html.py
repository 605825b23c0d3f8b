"""The HTML pieces every admin page template shares: escaping, a problem, a copy field."""

from __future__ import annotations

import html
from dataclasses import dataclass

from ..errors import SamlError
from ..history import refusal_reason

__all__ = ["Problem", "copy_field", "esc", "explained", "problem_of"]


def esc(value: object) -> str:
    """``value`` as HTML text or attribute content: every ``& < > " '`` escaped."""
    return html.escape(str(value), quote=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """An error or warning in plain words, with its code (docs/errors.md)."""

    code: str
    text: str


def problem_of(exc: SamlError) -> Problem:
    """``exc`` for an administrator: the plain-language reason of its code, then its message."""
    return Problem(code=exc.code, text=explained(exc.code, exc.message))


def explained(code: str, message: str) -> str:
    """The plain-language reason of ``code``, then ``message`` as a sentence of its own."""
    return f"{refusal_reason(code)} {message[:1].upper()}{message[1:]}".strip()


def copy_field(ident: str, label: str, value: str, help_text: str) -> str:
    """A labelled read-only field with a copy button (the layout's script copies it)."""
    hint = f'<small id="{ident}-help">{esc(help_text)}</small>' if help_text else ""
    described = f' aria-describedby="{ident}-help"' if help_text else ""
    return (
        f'<label for="{ident}">{esc(label)}</label><div class="copy">'
        f'<input type="text" id="{ident}" value="{esc(value)}" readonly{described}>'
        f'<button type="button" class="secondary" data-copy="{ident}" '
        f'aria-label="Copy {esc(label)}">Copy</button></div>{hint}'
    )
