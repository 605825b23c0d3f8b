"""Real responses from Okta, Entra ID, AD FS, OneLogin, Google, PingFederate, Shibboleth and
others (../shared/interop), each judged through the public API exactly as its case.json says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

import samljit
from samljit._time import parse_datetime

from .conftest import INTEROP

CASES = sorted(p for p in (INTEROP / "cases").iterdir() if (p / "case.json").is_file())


def _load(case_dir: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((case_dir / "case.json").read_text())
    return case


def _params() -> list[Any]:
    params = []
    for case_dir in CASES:
        _load(case_dir)
        params.append(pytest.param(case_dir, id=case_dir.name))
    return params


def _verify(case_dir: Path) -> samljit.Assertion:
    case = _load(case_dir)
    now = parse_datetime(case["now"])
    assert now is not None
    policy = case.get("policy") or {}
    idp = samljit.parse_idp_metadata((case_dir / case["idp_metadata"]).read_bytes(), now=now).idp
    sp = samljit.SPConfig(
        entity_id=case["sp"]["entity_id"],
        acs_url=case["sp"]["acs_url"],
        allow_sha1=bool(policy.get("allow_sha1", False)),
        allow_legacy_encryption=bool(policy.get("allow_legacy_encryption", False)),
    )
    keys = []
    if case.get("decryption_key"):
        key = load_pem_private_key((case_dir / case["decryption_key"]).read_bytes(), None)
        assert isinstance(key, rsa.RSAPrivateKey)
        keys.append(key)
    return samljit.verify_response(
        (case_dir / case["response"]).read_text(),
        idp=idp,
        sp=sp,
        now=now,
        replay_cache=samljit.MemoryReplayCache(),
        in_response_to=case["in_response_to"],
        allow_unsolicited=case["allow_unsolicited"],
        decryption_keys=keys,
    )


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 50, f"expected the interop corpus at {INTEROP}"


@pytest.mark.parametrize("case_dir", _params())
def test_interop_case_is_judged_as_expected(case_dir: Path) -> None:
    case = _load(case_dir)
    if case["expect"] == "accept":
        assertion = _verify(case_dir)
        assert assertion.name_id.value == case["expected"]["name_id"]
        assert {k: list(v) for k, v in assertion.attributes.items()} == case["expected"][
            "attributes"
        ]
    else:
        with pytest.raises(samljit.SamlError):
            _verify(case_dir)


# What each rejection must be blamed on: the attack class of case.json -> accepted codes.
EXPECTED_CODES = {
    "bad-signature": {"signature_invalid"},
    "comment-injection": {"signature_invalid"},
    "expired": {"expired"},
    "malformed-xml": {"xml_malformed"},
    "multiple-assertions": {"multiple_assertions", "duplicate_id"},
    "status-not-success": {"status_not_success"},
    "tampered-content": {"signature_invalid"},
    "unsigned": {"signature_missing"},
    "untrusted-key": {"untrusted_key"},
    "wrong-audience": {"audience_mismatch"},
    "wrong-destination": {"destination_mismatch"},
    "wrong-issuer": {"issuer_mismatch"},
    "xsw": {"multiple_assertions", "duplicate_id", "signature_invalid"},
    "xsw1": {"multiple_assertions", "duplicate_id"},
    "xsw2": {"multiple_assertions", "duplicate_id"},
    "decryption-failure": {"decryption_failed"},
}


@pytest.mark.parametrize(
    "case_dir",
    [p for p in _params() if _load(p.values[0])["expect"] == "reject"],
)
def test_interop_rejection_names_the_right_cause(case_dir: Path) -> None:
    case = _load(case_dir)
    with pytest.raises(samljit.SamlError) as caught:
        _verify(case_dir)
    assert caught.value.code in EXPECTED_CODES[case["attack"]]
