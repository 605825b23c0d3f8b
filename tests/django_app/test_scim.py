"""The SCIM endpoint in Django (samljit.integrations.django.scim_views): mounted under
scim/v2/<account>/ once SAMLJIT_SCIM names the service, the bearer token, the query and the
body passed through, the body refused unread over the limit, the base URL from the request,
and Django's CSRF check out of the way of a bearer-token API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.test.utils import override_settings

from samljit.directory import ScimTokens
from samljit.integrations.django import DjangoAccountStore
from samljit.integrations.django.scim_views import get_scim_service
from samljit.scim import CONTENT_TYPE, ScimRequest, ScimResponse, ScimService
from samljit.stores.memory import MemoryDirectoryStore, MemoryScimTokenStore, MemoryUserStore
from samljit.testing import FixedClock

from ..conftest import NOW
from .conftest import Site

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ADA = {"schemas": [USER], "userName": "ada@acme.example", "roles": [{"value": "developer"}]}
MAX_BODY = 4096


class SpyService(ScimService):
    """The service, noting each request it was handed."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.requests: list[ScimRequest] = []

    def handle(self, request: ScimRequest) -> ScimResponse:
        self.requests.append(request)
        return super().handle(request)


@pytest.fixture
def scim(site: Site) -> Iterator[SpyService]:
    service = SpyService(
        accounts=DjangoAccountStore(),
        directory=MemoryDirectoryStore(MemoryUserStore()),
        tokens=ScimTokens(MemoryScimTokenStore(), clock=FixedClock(NOW)),
        clock=FixedClock(NOW),
        max_body_bytes=MAX_BODY,
    )
    with override_settings(SAMLJIT_SCIM=service):
        yield service


@pytest.fixture
def secret(scim: SpyService) -> str:
    return scim.tokens.issue("acme", label="IdP")[0]


def call(
    client: Client, method: str, path: str, secret: str | None, body: Any = None, **extra: Any
) -> Any:
    data = json.dumps(body) if body is not None else ""
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return client.generic(method, path, data, content_type=CONTENT_TYPE, headers=headers, **extra)


@pytest.mark.parametrize(
    "path", ["ServiceProviderConfig", "ResourceTypes", "Schemas", "Users", "Groups"]
)
def test_each_endpoint_is_mounted_under_scim_v2_and_the_account(
    client: Client, scim: SpyService, secret: str, path: str
) -> None:
    response = call(client, "GET", f"/scim/v2/acme/{path}", secret)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(CONTENT_TYPE)
    assert (scim.requests[-1].account_id, scim.requests[-1].path) == ("acme", path)


def test_the_account_root_is_routed_with_or_without_its_slash(
    client: Client, scim: SpyService, secret: str
) -> None:
    for path in ("/scim/v2/acme", "/scim/v2/acme/"):
        response = call(client, "GET", path, secret)
        assert response.status_code == 404
        assert json.loads(response.content)["detail"].startswith("scim_not_found")
        assert scim.requests[-1].base_url == "http://testserver/scim/v2/acme"


def test_without_the_setting_every_scim_url_is_not_found(client: Client, site: Site) -> None:
    assert get_scim_service() is None
    assert client.get("/scim/v2/acme/Users").status_code == 404


def test_a_setting_naming_something_else_is_refused(client: Client, site: Site) -> None:
    with (
        override_settings(SAMLJIT_SCIM="samljit.integrations.django.DjangoUserStore"),
        pytest.raises(ImproperlyConfigured, match="SAMLJIT_SCIM must be"),
    ):
        get_scim_service()


def test_a_request_without_a_bearer_token_is_refused_401(client: Client, scim: SpyService) -> None:
    response = call(client, "GET", "/scim/v2/acme/Users", None)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="SCIM"'


def test_the_token_of_another_account_is_refused_401(client: Client, scim: SpyService) -> None:
    other = scim.tokens.issue("globex")[0]
    assert call(client, "GET", "/scim/v2/acme/Users", other).status_code == 401


def test_a_body_over_the_limit_is_refused_413_without_reaching_the_service(
    client: Client, scim: SpyService, secret: str
) -> None:
    response = call(client, "POST", "/scim/v2/acme/Users", secret, {"pad": " " * MAX_BODY})
    assert response.status_code == 413
    assert json.loads(response.content)["detail"].startswith("scim_too_large")
    assert scim.requests == []


def test_a_created_user_is_read_back_at_its_location(
    client: Client, scim: SpyService, secret: str
) -> None:
    created = call(client, "POST", "/scim/v2/acme/Users", secret, ADA)
    assert created.status_code == 201
    user_id = json.loads(created.content)["id"]
    location = created["Location"]
    assert location == f"http://testserver/scim/v2/acme/Users/{user_id}"
    read = call(client, "GET", location.removeprefix("http://testserver"), secret)
    assert read.status_code == 200
    assert json.loads(read.content)["userName"] == "ada@acme.example"
    listed = call(client, "GET", "/scim/v2/acme/Users?filter=userName+pr&count=1&count=7", secret)
    assert json.loads(listed.content)["totalResults"] == 1
    assert scim.requests[-1].query == {"filter": "userName pr", "count": "1"}


def test_delete_answers_204_without_a_body(client: Client, scim: SpyService, secret: str) -> None:
    user_id = json.loads(call(client, "POST", "/scim/v2/acme/Users", secret, ADA).content)["id"]
    response = call(client, "DELETE", f"/scim/v2/acme/Users/{user_id}", secret)
    assert response.status_code == 204
    assert response.content == b""
    assert "Content-Type" not in response


def test_csrf_checks_leave_the_bearer_token_api_alone(scim: SpyService, secret: str) -> None:
    """With the CSRF middleware enforcing (as for a browser), every write still arrives; the
    SSO logout form is still checked."""
    client = Client(enforce_csrf_checks=True)
    created = call(client, "POST", "/scim/v2/acme/Users", secret, ADA)
    assert created.status_code == 201
    user_id = json.loads(created.content)["id"]
    assert call(client, "PUT", f"/scim/v2/acme/Users/{user_id}", secret, ADA).status_code == 200
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    patched = call(client, "PATCH", f"/scim/v2/acme/Users/{user_id}", secret, patch)
    assert json.loads(patched.content)["active"] is False
    assert call(client, "DELETE", f"/scim/v2/acme/Users/{user_id}", secret).status_code == 204
    logout = client.post("/sso/logout")
    assert logout.status_code == 403
    assert b"CSRF verification failed" in logout.content
