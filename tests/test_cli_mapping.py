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
    attributes.write_text(json.dumps({"Role": ["user", "Admins"], "imagekit_id": "acme"}))
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


def test_without_accepted_roles_the_sent_role_is_shown_trimmed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = run(capsys, "--name-id", "a@b.test", "--attribute", "role= finance ")
    assert code == 0
    assert report["identity"]["role"] == "finance"


def test_without_preset_or_config_the_generic_preset_is_used(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The generic preset knows the eduPerson mail OID; the bare ClaimMapping does not."""
    code, report = run(
        capsys, "--name-id", "7f8a-persistent-id",
        "--attribute", "urn:oid:0.9.2342.19200300.100.1.3=ada@acme.test",
        "--attribute", "role=developer",
    )  # fmt: skip
    assert code == 0
    assert report["identity"]["email"] == "ada@acme.test"


def test_a_config_file_may_keep_the_mapping_under_a_mapping_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An app's own settings file holds the mapping as its [mapping] table, beside the rest."""
    config = tmp_path / "app.toml"
    config.write_text(
        '[sp]\nentity_id = "https://app.example.com/saml/acme"\n'
        '[mapping]\npreset = "okta"\naccepted_roles = ["developer"]\n'
    )
    code, report = run(
        capsys, "--config", str(config), "--name-id", "a@b.test", "--attribute", "role=developer"
    )
    assert code == 0
    assert (report["identity"]["role"], report["identity"]["warnings"]) == ("developer", [])


@pytest.mark.parametrize(
    "args",
    [
        ["--preset", "nope"],
        ["--attribute", "no-equals-sign"],
        ["--attribute", "=developer"],
        ["--preset", "okta", "--config", "x.json"],
        ["--config", "/nonexistent/mapping.json"],
    ],
    ids=[
        "unknown-preset",
        "bad-attribute",
        "attribute-without-name",
        "preset-and-config",
        "missing-file",
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, report = run(capsys, "--name-id", "a@b.test", *args)
    assert code == 2
    assert report["error"]["code"] == "usage_error"


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", '{"role": 5}'],
    ids=["not-json", "not-an-object", "value-not-a-list"],
)
def test_an_attributes_file_that_is_not_an_object_of_values_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str
) -> None:
    attributes = tmp_path / "attributes.json"
    attributes.write_text(content)
    code, report = run(capsys, "--name-id", "a@b.test", "--attributes", str(attributes))
    assert code == 2
    assert report["error"]["code"] == "usage_error"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("mapping.json", "{not json"),
        ("mapping.toml", "accepted_roles = ["),
        ("mapping.json", '["developer"]'),
    ],
    ids=["not-json", "not-toml", "not-an-object"],
)
def test_a_config_file_that_is_not_an_object_of_settings_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, content: str
) -> None:
    config = tmp_path / name
    config.write_text(content)
    code, report = run(capsys, "--config", str(config), "--name-id", "a@b.test")
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


def test_an_account_is_not_checked_where_the_mapping_has_no_account_claim(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = run(
        capsys, "--name-id", "a@b.test", "--attribute", "role=developer",
        "--accepted-role", "developer", "--account", "acme",
    )  # fmt: skip
    assert code == 0
    assert report["identity"]["account_id"] is None


def test_without_accepted_roles_and_no_role_sent_the_role_is_null_not_a_placeholder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = run(capsys, "--name-id", "a@b.test")
    assert code == 0
    assert report["identity"]["role"] is None
    assert not [w for w in report["identity"]["warnings"] if "'-'" in w]


def test_without_accepted_roles_the_role_values_of_the_config_still_map_the_sent_role(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "mapping.json"
    config.write_text(json.dumps({"preset": "generic", "role_values": {"Admins": "admin"}}))
    code, report = run(
        capsys, "--config", str(config), "--name-id", "a@b.test", "--attribute", "role=Admins"
    )
    assert code == 0
    assert report["identity"]["role"] == "admin"


@pytest.mark.parametrize(
    "rule",
    [{"group": "eng", "role": "developer"}, ["eng", "developer"]],
    ids=["object", "pair"],
)
def test_without_accepted_roles_group_roles_and_default_role_of_the_config_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rule: Any
) -> None:
    config = tmp_path / "mapping.json"
    settings = {
        "group_attributes": ["groups"],
        "group_roles": [rule],
        "default_role": "viewer",
        "unaccepted_role": "default",
    }
    config.write_text(json.dumps(settings))
    args = ["--config", str(config), "--name-id", "a@b.test"]
    code, report = run(capsys, *args, "--attribute", "groups=eng")
    assert (code, report["identity"]["role"]) == (0, "developer")
    code, report = run(capsys, *args)
    assert (code, report["identity"]["role"]) == (0, "viewer")
