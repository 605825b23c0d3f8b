"""The SCIM endpoint before and around the resources (RFC 7644): who may call it (the
account's bearer tokens, compared in constant time), what another account's token sees
(nothing: 401, and 404 for its resources), the bounds on bodies and pages, the rate-limit
hook, the discovery endpoints, and what is declared unsupported and answered 501.

Every error is an RFC 7644 §3.12 document whose ``detail`` begins with samljit's code.
"""

from __future__ import annotations

import hmac

import pytest

import samljit.directory
from samljit.scim import DEFAULT_MAX_BODY_BYTES
from samljit.testing import TestIdP

from .scim_support import ScimApp, new_app


@pytest.fixture
def scim(test_idp: TestIdP) -> ScimApp:
    return new_app(test_idp)


ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


# --- tokens --------------------------------------------------------------------------------


def test_a_request_without_a_token_is_401_with_www_authenticate(scim: ScimApp) -> None:
    reply = scim.send("GET", "Users", token=None)
    assert reply.status == 401
    assert reply.code == "scim_unauthorized"
    assert reply["schemas"] == [ERROR_SCHEMA]
    assert reply["status"] == "401"
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="SCIM"'


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer   ",
        "Basic dXNlcjpwYXNz",
        "Bearer samljit_scim_not-a-token",
        "Token {secret}",
        "{secret}",
    ],
)
def test_a_header_without_an_active_bearer_token_of_the_account_is_401(
    scim: ScimApp, authorization: str
) -> None:
    header = authorization.format(secret=scim.secrets["acme"])
    reply = scim.send("GET", "Users", authorization=header)
    assert reply.status == 401
    assert reply.code == "scim_unauthorized"
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_bearer_scheme_is_case_insensitive(scim: ScimApp) -> None:
    """RFC 7235 §2.1: the auth-scheme is case-insensitive."""
    secret = scim.secrets["acme"]
    assert scim.send("GET", "Users", authorization=f"bearer {secret}").status == 200
    assert scim.send("GET", "Users", authorization=f"BEARER {secret}").status == 200


def test_a_revoked_token_is_401_and_the_other_token_keeps_working(scim: ScimApp) -> None:
    """Rotation without downtime: two active tokens both work; revoking one leaves the other."""
    new_secret, _ = scim.tokens.issue("acme", label="rotation")
    assert scim.send("GET", "Users").status == 200
    assert scim.send("GET", "Users", token=new_secret).status == 200
    old = scim.tokens.tokens_of("acme")[0]
    assert scim.tokens.revoke("acme", old.token_id)
    revoked = scim.send("GET", "Users")
    assert revoked.status == 401
    assert revoked.headers["WWW-Authenticate"].startswith("Bearer")
    assert scim.send("GET", "Users", token=new_secret).status == 200


def test_another_accounts_token_is_401(scim: ScimApp) -> None:
    reply = scim.send("GET", "Users", account="acme", token=scim.secrets["globex"])
    assert reply.status == 401
    assert reply.code == "scim_unauthorized"


def test_a_token_use_is_recorded(scim: ScimApp) -> None:
    scim.send("GET", "Users")
    (token,) = scim.tokens.tokens_of("acme")
    assert token.last_used_at == scim.clock.now


def test_the_token_digest_is_compared_in_constant_time(
    scim: ScimApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[str, str]] = []
    original = hmac.compare_digest

    def compare_digest(a: str, b: str) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(samljit.directory.hmac, "compare_digest", compare_digest)
    assert scim.send("GET", "Users").status == 200
    assert len(compared) == 1
    assert compared[0][0] == compared[0][1] == samljit.directory.token_digest(scim.secrets["acme"])


def test_the_secret_is_not_stored(scim: ScimApp) -> None:
    (token,) = scim.tokens.tokens_of("acme")
    assert scim.secrets["acme"] not in repr(token)
    assert token.digest == samljit.directory.token_digest(scim.secrets["acme"])


# --- tenancy -------------------------------------------------------------------------------


def test_a_user_of_another_account_is_not_found(scim: ScimApp) -> None:
    """404, not 403: acme's token cannot even learn that globex's user exists."""
    globex_user = scim.create_user("grace@globex.example", account="globex")["id"]
    for method, body in (("GET", None), ("PUT", {"userName": "x@acme.example"}), ("DELETE", None)):
        reply = scim.send(method, f"Users/{globex_user}", body)
        assert reply.status == 404, method
        assert reply.code == "scim_not_found"
    patched = scim.patch(
        f"Users/{globex_user}", {"op": "replace", "path": "active", "value": False}
    )
    assert patched.status == 404
    assert scim.user("grace@globex.example").active
    assert scim.send("GET", "Users")["totalResults"] == 0


def test_a_group_of_another_account_is_not_found(scim: ScimApp) -> None:
    group = scim.send("POST", "Groups", {"displayName": "Admins"}, account="globex")
    assert group.status == 201
    for method in ("GET", "DELETE"):
        assert scim.send(method, f"Groups/{group['id']}").status == 404
    assert scim.send("GET", "Groups")["totalResults"] == 0
    assert scim.send("GET", f"Groups/{group['id']}", account="globex").status == 200


def test_a_group_cannot_take_another_accounts_user_as_member(scim: ScimApp) -> None:
    globex_user = scim.create_user("grace@globex.example", account="globex")["id"]
    reply = scim.send(
        "POST", "Groups", {"displayName": "Admins", "members": [{"value": globex_user}]}
    )
    assert reply.status == 400
    assert reply["scimType"] == "invalidValue"


# --- bounds and the rate limit -------------------------------------------------------------


def test_a_body_over_the_limit_is_413_and_not_parsed(scim: ScimApp) -> None:
    service = scim.make_service(max_body_bytes=100)
    reply = scim.send("POST", "Users", raw=b"{" + b" " * 100, service=service)
    assert reply.status == 413
    assert reply.code == "scim_too_large"
    assert scim.send("POST", "Users", raw=b"{" + b" " * 98, service=service).status == 400


def test_the_default_body_limit_is_one_mebibyte(scim: ScimApp) -> None:
    assert scim.service.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1024 * 1024
    assert scim.send("POST", "Users", raw=b" " * (DEFAULT_MAX_BODY_BYTES + 1)).status == 413


def test_an_oversized_body_is_refused_before_the_token_is_checked(scim: ScimApp) -> None:
    service = scim.make_service(max_body_bytes=10)
    assert scim.send("POST", "Users", raw=b"x" * 11, token=None, service=service).status == 413


def test_a_page_holds_at_most_max_page_size_resources(scim: ScimApp) -> None:
    for n in range(5):
        scim.create_user(f"user{n}@acme.example")
    service = scim.make_service(max_page_size=2)
    page = scim.send("GET", "Users?count=1000", service=service)
    assert page["totalResults"] == 5
    assert page["itemsPerPage"] == 2
    assert len(page["Resources"]) == 2
    config = scim.send("GET", "ServiceProviderConfig", service=service)
    assert config["filter"]["maxResults"] == 2


@pytest.mark.parametrize("query", ["count=many", "startIndex=first"])
def test_a_non_numeric_page_parameter_is_400(scim: ScimApp, query: str) -> None:
    reply = scim.send("GET", f"Users?{query}")
    assert reply.status == 400
    assert reply.code == "scim_invalid"


def test_the_rate_limit_hook_refuses_with_429(scim: ScimApp) -> None:
    asked: list[tuple[str, str]] = []

    def rate_limit(account_id: str, token_id: str) -> bool:
        asked.append((account_id, token_id))
        return len(asked) <= 1

    service = scim.make_service(rate_limit=rate_limit)
    assert scim.send("GET", "Users", service=service).status == 200
    refused = scim.send("POST", "Users", {"userName": "ada@acme.example"}, service=service)
    assert refused.status == 429
    assert refused.code == "scim_rate_limited"
    assert scim.users.users_of("acme") == []
    (token,) = scim.tokens.tokens_of("acme")
    assert asked == [("acme", token.token_id)] * 2


def test_the_rate_limit_hook_is_not_asked_for_an_unauthenticated_request(scim: ScimApp) -> None:
    asked: list[str] = []
    service = scim.make_service(rate_limit=lambda a, t: bool(asked.append(a)))
    assert scim.send("GET", "Users", token=None, service=service).status == 401
    assert asked == []


# --- discovery (RFC 7644 §4) ---------------------------------------------------------------


def test_the_service_provider_config_declares_what_is_not_supported(scim: ScimApp) -> None:
    config = scim.send("GET", "ServiceProviderConfig")
    assert config.status == 200
    assert config.response.content_type == "application/scim+json"
    assert config["patch"]["supported"] is True
    assert config["filter"]["supported"] is True
    for feature in ("bulk", "sort", "etag", "changePassword"):
        assert config[feature]["supported"] is False, feature
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_the_documentation_uri_is_shown(scim: ScimApp) -> None:
    service = scim.make_service(documentation_uri="https://app.example.com/docs/scim")
    config = scim.send("GET", "ServiceProviderConfig", service=service)
    assert config["documentationUri"] == "https://app.example.com/docs/scim"


def test_the_resource_types_are_user_with_the_enterprise_extension_and_group(
    scim: ScimApp,
) -> None:
    types = scim.send("GET", "ResourceTypes")
    assert types["totalResults"] == 2
    by_name = {t["name"]: t for t in types["Resources"]}
    assert by_name["User"]["endpoint"] == "/Users"
    assert by_name["User"]["schemaExtensions"][0]["schema"].endswith("enterprise:2.0:User")
    assert by_name["Group"]["endpoint"] == "/Groups"
    assert scim.send("GET", "ResourceTypes/User")["name"] == "User"
    assert scim.send("GET", "ResourceTypes/Device").status == 404


def test_the_schemas_are_served_and_a_members_display_is_read_only(scim: ScimApp) -> None:
    listed = scim.send("GET", "Schemas")
    ids = {s["id"] for s in listed["Resources"]}
    assert ids == {
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
    }
    group = scim.send("GET", "Schemas/urn:ietf:params:scim:schemas:core:2.0:Group")
    members = next(a for a in group["attributes"] if a["name"] == "members")
    display = next(s for s in members["subAttributes"] if s["name"] == "display")
    assert display["mutability"] == "readOnly"
    assert scim.send("GET", "Schemas/urn:example:nothing").status == 404


@pytest.mark.parametrize("endpoint", ["ServiceProviderConfig", "ResourceTypes", "Schemas"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_the_discovery_endpoints_are_read_only(scim: ScimApp, endpoint: str, method: str) -> None:
    reply = scim.send(method, endpoint, {})
    assert reply.status == 405
    assert reply.code == "scim_method_not_allowed"


def test_discovery_needs_a_token_too(scim: ScimApp) -> None:
    assert scim.send("GET", "ServiceProviderConfig", token=None).status == 401


# --- what is not supported: 501, or 404/405 ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "Bulk"),
        ("POST", ".search"),
        ("POST", "Users/.search"),
        ("POST", "Groups/.search"),
    ],
)
def test_a_declared_unsupported_feature_is_501(scim: ScimApp, method: str, path: str) -> None:
    reply = scim.send(
        method, path, {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]}
    )
    assert reply.status == 501
    assert reply.code == "scim_not_supported"


@pytest.mark.parametrize("query", ["sortBy=userName", "sortBy=userName&sortOrder=descending"])
def test_sorting_is_declared_unsupported_and_answered_501(scim: ScimApp, query: str) -> None:
    """RFC 7644 §3.4.2.3: sorting is optional; this service declares ``sort`` unsupported."""
    reply = scim.send("GET", f"Users?{query}")
    assert reply.status == 501
    assert reply.code == "scim_not_supported"


def test_a_password_change_is_declared_unsupported_and_the_password_never_kept(
    scim: ScimApp,
) -> None:
    """``changePassword`` is unsupported: users sign in at their IdP. A password the IdP sends
    is not stored and never returned (RFC 7643 §4.1.1: returned "never")."""
    created = scim.create_user(password="hunter2-hunter2")
    assert "password" not in created.json
    user_id = created["id"]
    assert "password" not in scim.send("GET", f"Users/{user_id}").json
    assert "hunter2" not in repr(scim.directory.get_user("acme", user_id))
    reply = scim.patch(f"Users/{user_id}", {"op": "replace", "path": "password", "value": "x"})
    assert reply.status == 501
    assert reply.code == "scim_not_supported"


@pytest.mark.parametrize("path", ["Devices", "Users/1/extra", "Me", "ServiceProviderConfig/x", ""])
def test_an_unknown_endpoint_is_404(scim: ScimApp, path: str) -> None:
    assert scim.send("GET", path).status == 404


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "Users"), ("DELETE", "Groups"), ("POST", "Users/1")]
)
def test_a_method_an_endpoint_does_not_have_is_405(scim: ScimApp, method: str, path: str) -> None:
    reply = scim.send(method, path, {})
    assert reply.status == 405
    assert reply["status"] == "405"


def test_a_body_that_is_not_a_json_object_is_invalid_syntax(scim: ScimApp) -> None:
    for raw in (b"not json", b"[1, 2]", b"\xff\xfe"):
        reply = scim.send("POST", "Users", raw=raw)
        assert reply.status == 400
        assert reply["scimType"] == "invalidSyntax"
