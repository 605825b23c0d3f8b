"""`samljit mapping test`: a claim mapping checked without XML; JSON and exit codes are a
public contract (0 mapped, 1 refused with a code, 2 usage)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from samljit.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["mapping", "test", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_preset_maps_name_id_and_attributes_to_an_identity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = run(
        capsys,
        "--preset", "okta", "--name-id", " Ada@Acme.TEST ",
        "--attribute", "firstName=Ada", "--attribute", "lastName=Lovelace",
        "--attribute", "role=developer", "--accepted-role", "developer",
    )  # fmt: skip
    assert code == 0
    assert report == {
        "ok": True,
        "identity": {
            "email": "ada@acme.test",
            "full_name": "Ada Lovelace",
            "role": "developer",
            "account_id": None,
            "extra": {},
            "warnings": [],
        },
    }


def test_a_config_file_with_role_values_and_an_account_claim(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "mapping.toml"
    config.write_text(
        'preset = "keycloak"\n'
        'accepted_roles = ["account_administrator", "developer"]\n'
        'account_attributes = ["imagekit_id"]\n'
        '[role_values]\nAdmins = "account_administrator"\n'
    )
    attributes = tmp_path / "attributes.json"
    attributes.write_text(json.dumps({"Role": ["user", "admins"], "imagekit_id": "acme"}))
    code, report = run(
        capsys, "--config", str(config), "--name-id", "ada@acme.test",
        "--attributes", str(attributes), "--account", "acme",
    )  # fmt: skip
    assert code == 0
    assert report["identity"]["role"] == "account_administrator"
    assert report["identity"]["account_id"] == "acme"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--name-id", "7f8a-persistent-id"], "email_missing"),
        (["--name-id", "a@b.test", "--attribute", "role=hacker", "--accepted-role", "developer"],
         "role_not_accepted"),
    ],
    ids=["no-email", "unaccepted-role"],
)  # fmt: skip
def test_a_claim_error_exits_1_with_its_code(
    capsys: pytest.CaptureFixture[str], args: list[str], error: str
) -> None:
    code, report = run(capsys, "--preset", "generic", *args)
    assert code == 1
    assert report["ok"] is False
    assert report["error"]["code"] == error


def test_without_accepted_roles_the_sent_role_is_shown_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = run(capsys, "--name-id", "a@b.test", "--attribute", "role=finance")
    assert code == 0
    assert report["identity"]["role"] == "finance"
    assert report["identity"]["warnings"]


@pytest.mark.parametrize(
    "args",
    [
        ["--preset", "nope"],
        ["--attribute", "no-equals-sign"],
        ["--preset", "okta", "--config", "x.json"],
        ["--config", "/nonexistent/mapping.json"],
    ],
    ids=["unknown-preset", "bad-attribute", "preset-and-config", "missing-file"],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, report = run(capsys, "--name-id", "a@b.test", *args)
    assert code == 2
    assert report["error"]["code"] == "usage_error"


def test_an_account_claim_for_another_account_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "mapping.json"
    config.write_text(
        json.dumps({"accepted_roles": ["developer"], "account_attributes": ["imagekit_id"]})
    )
    code, report = run(
        capsys, "--config", str(config), "--name-id", "a@b.test", "--attribute", "role=developer",
        "--attribute", "imagekit_id=globex", "--account", "acme",
    )  # fmt: skip
    assert code == 1
    assert report["error"]["code"] == "account_mismatch"
