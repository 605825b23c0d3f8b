"""The app's base layout of the admin pages in Jinja, for the Flask and Starlette adapters
(Flask brings Jinja; the Starlette adapter imports this module only for an app that gave it
``Jinja2Templates``)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, Template, TemplateNotFound
from markupsafe import Markup

from ..errors import ConfigError
from ._web import ADMIN_LAYOUT, PageParts, WebResponse, layout_context

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.templating import Jinja2Templates

__all__ = ["context", "layout", "starlette_layout"]


def layout(env: Environment) -> Template | None:
    """The app's ``samljit/admin/layout.html``; None when it has none.

    Raises:
        ConfigError: ``configuration_invalid``, the environment would render it without
            autoescaping (``nav``, ``title`` and ``account_id`` are plain text from the URL
            and the pages, so they must be escaped).
    """
    try:
        template = env.get_template(ADMIN_LAYOUT)
    except TemplateNotFound:
        return None
    autoescape = env.autoescape
    if not (autoescape(ADMIN_LAYOUT) if callable(autoescape) else autoescape):
        raise ConfigError(f"the Jinja environment must autoescape {ADMIN_LAYOUT}")
    return template


def context(page: PageParts, account_id: str) -> dict[str, Any]:
    """The layout's variables, the page's HTML marked safe (see :func:`layout_context`)."""
    return layout_context(page, account_id=account_id, safe=Markup)


def starlette_layout(
    templates: Jinja2Templates, request: Request, response: WebResponse, account_id: str
) -> WebResponse:
    """An admin page in the app's ``samljit/admin/layout.html`` of ``templates``, with the
    ``request`` and the templates' context processors as ``TemplateResponse`` gives them; as
    it is when there is none."""
    template = layout(templates.env) if response.page is not None else None
    if template is None or response.page is None:  # not a page, or the app has no layout
        return response
    variables: dict[str, Any] = {"request": request, **context(response.page, account_id)}
    for processor in templates.context_processors:
        variables.update(processor(request))
    return dataclasses.replace(response, body=template.render(variables).encode("utf-8"))
