"""The claim mapping page of the admin pages: the form, its preview on sample claims, saving."""

from __future__ import annotations

import dataclasses

from ..errors import ConfigError, SamlError
from ..presets import PRESETS
from ._admin_base import _AdminBase
from ._admin_mapping import mapping_fields, mapping_from_form, sample_claims
from ._admin_model import AdminRequest, problem_of
from ._admin_pages import MappingView, Problem
from ._web import WebResponse


class _MappingPages(_AdminBase):
    """The ``mapping`` page of :class:`~samljit.integrations.admin.AdminPages`."""

    def _mapping_form(self, request: AdminRequest) -> WebResponse:
        config, saved = self._draft(request.account_id)
        form = mapping_fields(config.mapping)
        return self._mapping_page(request, form, saved, None, ())

    def _mapping_post(self, request: AdminRequest) -> WebResponse:
        config, saved = self._draft(request.account_id)
        form = dict(request.form)
        try:
            mapping = mapping_from_form(config.mapping, form)
            if form.get("action") == "save":
                if not saved:
                    raise ConfigError("connect the IdP before saving a mapping")
                self._accounts.save(dataclasses.replace(config, mapping=mapping))
                before, after = config.mapping.to_dict(), mapping.to_dict()
                changes = {
                    key: (repr(before.get(key)), repr(after[key]))
                    for key in after
                    if before.get(key) != after[key]
                }
                self._emit("mapping_changed", request, changes)
                return self._page(
                    "Mapping saved",
                    self._templates.message(
                        "The claim mapping is saved: the next sign-in uses it."
                    ),
                    request.base,
                )
            identity = mapping.map(sample_claims(form))
        except SamlError as exc:
            return self._mapping_page(request, form, saved, problem_of(exc), (), 400)
        result = [
            ("email", identity.email),
            ("full name", identity.full_name or ""),
            ("role", identity.role),
            ("account", identity.account_id or ""),
            *(("note", w) for w in identity.warnings),
        ]
        return self._mapping_page(request, form, saved, None, result)

    def _mapping_page(
        self,
        request: AdminRequest,
        form: dict[str, str],
        saved: bool,
        problem: Problem | None,
        result: tuple[tuple[str, str], ...] | list[tuple[str, str]],
        status: int = 200,
    ) -> WebResponse:
        view = MappingView(
            account_id=request.account_id,
            base=request.base,
            csrf_field=request.csrf_field,
            presets=sorted(PRESETS),
            form=form,
            problem=problem,
            result=result,
            connected=saved,
        )
        return self._page("Claim mapping", self._templates.mapping(view), request.base, status)
