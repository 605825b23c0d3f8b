"""The ACS and Single Logout endpoints of the Flask and Starlette adapters read only the
SAML fields of a POST (SAMLResponse, SAMLRequest, RelayState), with the values the whole
form's parse gives them, and decode no other field (the Django adapter's own tests are in
``tests/django_app/test_views.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from samljit.errors import MalformedResponse
from samljit.integrations import _form_fields
from samljit.integrations import fastapi as starlette_adapter
from samljit.integrations import flask as flask_adapter
from samljit.integrations._form_fields import SAML_FIELDS, form_fields

PADDED = {
    "SAMLResponse": "PHNhbWxwOlJlc3BvbnNlLz4+/w==",
    "RelayState": "/reports?q=a b&c",
    **{f"padding{number}": "x y%" * 50 for number in range(200)},
}
"""What an IdP posts, and 200 fields no endpoint reads."""


def first_values(body: str) -> dict[str, str]:
    """The whole form's parse (what the adapters did before): first value of each field."""
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body, keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


fields = st.sampled_from([*SAML_FIELDS, "SAML Response", "other", "", "RelayState+"])
values = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


@given(st.lists(st.tuples(fields, values), max_size=8), st.sampled_from(["&", "&&"]))
def test_the_saml_fields_have_the_values_the_whole_forms_parse_gives(
    pairs: list[tuple[str, str]], separator: str
) -> None:
    body = separator.join(urlencode([pair]) for pair in pairs)
    expected = {name: value for name, value in first_values(body).items() if name in SAML_FIELDS}
    assert form_fields(body) == expected


@pytest.mark.parametrize(
    "body",
    ["SAMLResponse", "SAMLResponse=", "=x&SAMLResponse=a%zz%C3%A9+b", "SAML%52esponse=a"],
)
def test_odd_bodies_give_what_the_whole_forms_parse_gives(body: str) -> None:
    expected = {name: value for name, value in first_values(body).items() if name in SAML_FIELDS}
    assert form_fields(body) == expected


class Recording:
    """A login service whose ACS and SLO record the form they are given and refuse it."""

    def __init__(self) -> None:
        self.forms: list[Mapping[str, str]] = []

    def _refuse(self, form: Mapping[str, str] | None) -> Any:
        assert form is not None
        self.forms.append(dict(form))
        raise MalformedResponse("recorded")

    def complete_login(self, form: Mapping[str, str], **options: Any) -> Any:
        return self._refuse(form)

    def handle_logout(self, account_id: str, **options: Any) -> Any:
        return self._refuse(options.get("form"))


class AsyncRecording(Recording):
    async def complete_login(self, form: Mapping[str, str], **options: Any) -> Any:
        return self._refuse(form)

    async def handle_logout(self, account_id: str, **options: Any) -> Any:
        return self._refuse(options.get("form"))


def decoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The values the form reading decodes, recorded."""
    seen: list[str] = []
    unquote = _form_fields.unquote_plus

    def recorded(text: str) -> str:
        seen.append(text)
        return unquote(text)

    monkeypatch.setattr(_form_fields, "unquote_plus", recorded)
    return seen


@pytest.mark.parametrize("endpoint", ["acs", "slo"])
@pytest.mark.parametrize("framework", ["flask", "starlette"])
def test_the_endpoint_gets_only_the_saml_fields_and_decodes_no_other(
    framework: str, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = decoded(monkeypatch)
    body = urlencode(PADDED)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if framework == "flask":
        service: Recording = Recording()
        app = Flask(__name__)
        flask_adapter.SamlSso(service, app=app)  # type: ignore[arg-type]
        status = app.test_client().post(f"/sso/acme/{endpoint}", data=body, headers=headers)
        assert status.status_code == 403
    else:
        service = AsyncRecording()
        starlette_app = Starlette()
        starlette_adapter.SamlSso(service, app=starlette_app)  # type: ignore[arg-type]
        with TestClient(starlette_app) as client:
            response = client.post(f"/sso/acme/{endpoint}", content=body, headers=headers)
        assert response.status_code == 403
    assert service.forms == [
        {"SAMLResponse": PADDED["SAMLResponse"], "RelayState": PADDED["RelayState"]}
    ]
    assert len(seen) == 2


def test_flask_reads_a_multipart_post_through_its_own_form_parser() -> None:
    service = Recording()
    app = Flask(__name__)
    flask_adapter.SamlSso(service, app=app)  # type: ignore[arg-type]
    app.test_client().post(
        "/sso/acme/acs",
        data={"SAMLResponse": "abc", "other": "x"},
        content_type="multipart/form-data",
    )
    assert service.forms == [{"SAMLResponse": "abc"}]
