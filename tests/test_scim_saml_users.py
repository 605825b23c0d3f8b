"""A user SAML logins wrote is a SCIM user too, even when its address is one that
email-validator (behind scim2-models' ``emails``) refuses, such as a special-use domain: the
IdP's ``GET /Users?filter=userName eq ...`` finds it and its PATCH deactivates it."""

from __future__ import annotations

import json
from typing import Any

from samljit import AccountConfig, ClaimMapping, NewUser, SPConfig
from samljit.directory import ScimTokens
from samljit.scim import ScimRequest, ScimService
from samljit.stores.memory import (
    MemoryAccountStore,
    MemoryDirectoryStore,
    MemoryScimTokenStore,
    MemoryUserStore,
)
from samljit.testing import FixedClock, TestIdP

from .conftest import NOW

BASE = "https://app.example.com/scim/v2/acme"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_a_saml_user_at_a_special_use_domain_is_found_and_deactivated(test_idp: TestIdP) -> None:
    sp = SPConfig(entity_id="https://app.example.com/sp", acs_url="https://app.example.com/acs")
    config = AccountConfig(
        account_id="acme",
        idp_metadata=test_idp.metadata_xml,
        sp=sp,
        mapping=ClaimMapping(accepted_roles=("developer",)),
    )
    users = MemoryUserStore()
    ada = NewUser(email="ada@acme.test", account_id="acme", full_name="Ada", role="developer")
    users.create(ada, now=NOW)
    tokens = ScimTokens(MemoryScimTokenStore())
    service = ScimService(
        accounts=MemoryAccountStore([config]),
        directory=MemoryDirectoryStore(users),
        tokens=tokens,
        clock=FixedClock(NOW),
    )
    bearer = "Bearer " + tokens.issue("acme")[0]

    def call(
        method: str, path: str, *, query: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, Any]:
        request = ScimRequest(
            method=method,
            account_id="acme",
            path=path,
            base_url=BASE,
            query=query or {},
            authorization=bearer,
            body=body,
        )
        response = service.handle(request)
        return response.status, json.loads(response.body)

    status, found = call("GET", "Users", query={"filter": 'userName eq "ada@acme.test"'})
    assert status == 200
    assert found["totalResults"] == 1
    (resource,) = found["Resources"]
    assert resource["userName"] == "ada@acme.test"
    assert "emails" not in resource
    body = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    status, patched = call("PATCH", f"Users/{resource['id']}", body=json.dumps(body).encode())
    assert status == 200
    assert patched["active"] is False
    record = users.get_by_email("ada@acme.test")
    assert record is not None
    assert record.active is False
