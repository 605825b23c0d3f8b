"""The package as users meet it: its public names, its footprint, its error codes."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import samljit
import samljit.errors

ROOT = Path(__file__).resolve().parents[1]

EXPORTED = [
    "AsyncAccountStore",
    "AsyncLoginService",
    "AsyncReplayCache",
    "AsyncRequestStore",
    "AsyncSessionIssuer",
    "AsyncSessionRevoker",
    "AsyncUserStore",
    "in_thread",
    "load_or_create_key_pair",
    "AccountClaimMissing", "AccountConfig", "AccountMismatch", "AccountNotFound",
    "AccountStore", "AlgorithmForbidden", "Assertion", "AssertionMissing", "Attribute",
    "AudienceMismatch", "AuditEvent", "AuthnContextNotAccepted", "AuthnRequest",
    "AuthnStatementMissing", "BINDING_HTTP_POST", "BINDING_HTTP_REDIRECT", "ClaimError",
    "ClaimMapping", "Claims", "CompressedPayload", "ConfigError", "DestinationMismatch",
    "DomainNotOwned", "DuplicateId", "DuplicateUser", "EmailInvalid", "EmailMissing",
    "EncryptionNotSupported", "Endpoint",
    "Expired", "GroupRole", "Identity", "IdentityProvider", "InResponseToMismatch",
    "InputError", "InvalidBase64", "IssuerMismatch", "Limits", "LoginContext", "LoginRequest",
    "LoginResult", "LoginService", "LogoutMessage", "LogoutResult", "METADATA_LIMITS",
    "MalformedResponse", "MemoryAccountStore", "MemoryReplayCache", "MemoryRequestStore",
    "MemorySessionIssuer", "MemoryUserStore", "MetadataAmbiguous", "MetadataBadCertificate",
    "MetadataEntityNotFound", "MetadataError", "MetadataFetchFailed", "MetadataFetcher",
    "MetadataFinding", "MetadataInvalid", "MetadataIsSP", "MetadataNoIdP", "MetadataNoSigningKey",
    "MetadataSignatureInvalid", "MetadataSource", "MetadataWarning", "MultipleAssertions", "NameID",
    "NewUser", "NotYetValid", "OutboundMessage", "ParsedMetadata", "PendingRequest",
    "ProvisioningError", "ProvisioningOutcome", "ProvisioningPolicy", "RESPONSE_LIMITS",
    "RecipientMismatch", "RedirectMessage", "ReferenceMismatch", "RefreshResult", "ReplayCache",
    "Replayed", "RequestStore", "ResponseTooLarge", "RoleNotAccepted", "SPConfig", "SamlError",
    "SamlWarning", "SessionIssuer", "SessionRevoker", "SignatureError", "SignatureInvalid",
    "SignatureMisplaced", "SignatureMissing", "SsoDisabled", "StatusNotSuccess", "StoreUnavailable",
    "StructureError", "SubjectInvalid", "TransformForbidden", "UnsolicitedResponse",
    "UntrustedKey", "UserNotProvisioned", "UserRecord", "UserStore", "ValidationError",
    "XmlForbiddenConstruct", "XmlMalformed", "XmlTooDeep", "XmlTooLarge", "__version__",
    "build_authn_request", "build_logout_request", "build_logout_response", "build_sp_metadata",
    "certificate_sha256", "check_metadata", "decode_post_response", "decode_redirect",
    "encode_redirect", "normalize_email", "parse_idp_metadata", "plan_provisioning", "post_form",
    "read_logout_message", "safe_redirect", "stale_users", "urllib_fetcher", "verify_response",
    "verify_response_xml",
    "QueryInvalid", "StoreFull",
]  # fmt: skip


def test_the_public_api_is_exactly_what_is_documented() -> None:
    assert sorted(samljit.__all__) == sorted(EXPORTED)
    for name in samljit.__all__:
        assert hasattr(samljit, name), name


def test_importing_samljit_loads_no_web_framework_or_database_driver() -> None:
    probe = (
        "import json, sys, samljit, samljit.testing, samljit.cli, samljit.integrations, "
        "samljit.stores.sqlite; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    forbidden = {
        "flask",
        "django",
        "fastapi",
        "starlette",
        "redis",
        "sqlalchemy",
        "requests",
        "uvicorn",
    }
    assert not loaded & forbidden
    assert "xmlsec" not in loaded  # no libxmlsec1 binding: pure signxml + cryptography


def test_the_package_is_typed() -> None:
    assert (Path(samljit.__file__).parent / "py.typed").is_file()


def _error_classes() -> list[type[samljit.SamlError]]:
    return [
        cls
        for _, cls in inspect.getmembers(samljit.errors, inspect.isclass)
        if issubclass(cls, samljit.SamlError)
    ]


def test_every_error_has_its_own_stable_snake_case_code() -> None:
    codes = [cls.code for cls in _error_classes()]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", code) for code in codes)


def test_every_error_code_is_documented() -> None:
    text = (ROOT / "docs" / "errors.md").read_text()
    missing = [cls.code for cls in _error_classes() if f"`{cls.code}`" not in text]
    assert not missing


def test_errors_carry_expected_and_found_without_the_document() -> None:
    err = samljit.AudienceMismatch("meant for someone else", expected="a", found=["b"])
    assert err.to_dict() == {
        "code": "audience_mismatch",
        "message": "meant for someone else",
        "expected": "a",
        "found": ["b"],
    }
    assert str(err) == "meant for someone else"
