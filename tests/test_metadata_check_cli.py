"""``samljit metadata check``: what an operator's cron job sees. Exit 0 when nothing needs
action, 1 when something does (or a document cannot be read), 2 for a wrong command line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from samljit.cli import main
from samljit.testing import TestIdP, make_certificate
from tests.conftest import NOW
from tests.test_metadata_source import ENTITY_ID, MetadataServer, aggregate, expiring_idp, sign

AT = ["--at", "2026-11-25T12:00:00Z"]


@pytest.fixture(scope="module")
def healthy() -> TestIdP:
    return expiring_idp(NOW + timedelta(days=400))


@pytest.fixture(scope="module")
def expiring() -> TestIdP:
    """A certificate that expires 20 days after NOW."""
    return expiring_idp(NOW + timedelta(days=20))


@pytest.fixture
def metadata_server() -> Iterator[MetadataServer]:
    server = MetadataServer()
    yield server
    server.stop()


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["metadata", "check", *argv, *AT, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_healthy_metadata_exits_0(
    tmp_path: Path, healthy: TestIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "idp.xml", healthy.metadata_xml)
    assert main(["metadata", "check", path, *AT]) == 0
    assert capsys.readouterr().out.startswith(f"OK {path}: {ENTITY_ID}")


def test_a_certificate_expiring_within_30_days_exits_1(
    tmp_path: Path, expiring: TestIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "idp.xml", expiring.metadata_xml)
    code, out = run_json(capsys, path)
    assert code == 1
    assert [(f["code"], f["expires"]) for f in out["findings"]] == [
        ("certificate_expiring", "2026-12-15T12:00:00Z")
    ]


def test_days_narrows_the_window(
    tmp_path: Path, expiring: TestIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "idp.xml", expiring.metadata_xml)
    code, out = run_json(capsys, path, "--days", "10")
    assert (code, out["ok"], out["findings"]) == (0, True, [])


def test_days_widens_the_window(
    tmp_path: Path, healthy: TestIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "idp.xml", healthy.metadata_xml)
    code, out = run_json(capsys, path, "--days", "500")
    assert (code, [f["code"] for f in out["findings"]]) == (1, ["certificate_expiring"])


def test_an_expired_certificate_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "idp.xml", expiring_idp(NOW - timedelta(days=3)).metadata_xml)
    code, out = run_json(capsys, path)
    assert (code, [f["code"] for f in out["findings"]]) == (1, ["certificate_expired"])


def test_metadata_past_valid_until_exits_1(
    tmp_path: Path, healthy: TestIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    xml = healthy.metadata(valid_until=NOW - timedelta(hours=1))
    code, out = run_json(capsys, write(tmp_path, "idp.xml", xml))
    assert (code, [f["code"] for f in out["findings"]]) == (1, ["metadata_expired"])


def test_at_sets_the_instant_judged(
    tmp_path: Path, healthy: TestIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "idp.xml", healthy.metadata_xml)
    later = (NOW + timedelta(days=390)).isoformat()
    assert main(["metadata", "check", path, "--at", later]) == 1
    assert "ACTION [certificate_expiring]" in capsys.readouterr().out


def test_a_file_that_cannot_be_read_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_json(capsys, str(tmp_path / "missing.xml"))
    assert (code, [f["code"] for f in out["findings"]]) == (1, ["metadata_fetch_failed"])


def test_a_document_that_is_not_metadata_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run_json(capsys, write(tmp_path, "page.html", b"<html><body/></html>"))
    assert (code, [f["code"] for f in out["findings"]]) == (1, ["metadata_invalid"])


def test_metadata_is_read_from_standard_input(
    healthy: TestIdP, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(healthy.metadata_xml)))
    code, out = run_json(capsys, "-")
    assert (code, out["checked"][0]["source"]) == (0, "-")


def test_a_url_is_fetched_and_checked(
    metadata_server: MetadataServer, healthy: TestIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    url = metadata_server.serve("/metadata", healthy.metadata_xml)
    code, out = run_json(capsys, url, "--allow-http")
    assert (code, out["checked"][0]["entity_id"]) == (0, ENTITY_ID)
    assert metadata_server.hits["/metadata"] == 1


def test_a_url_answering_500_exits_1(
    metadata_server: MetadataServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = metadata_server.serve("/metadata", b"down", status=500)
    code, out = run_json(capsys, url, "--allow-http")
    assert (code, [f["code"] for f in out["findings"]]) == (1, ["metadata_fetch_failed"])


def test_a_url_that_stalls_exits_1_within_the_timeout(
    metadata_server: MetadataServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = metadata_server.serve("/metadata", b"", stall=5.0)
    code, out = run_json(capsys, url, "--allow-http", "--timeout", "0.3")
    assert (code, [f["code"] for f in out["findings"]]) == (1, ["metadata_fetch_failed"])


def test_an_http_url_without_allow_http_is_a_usage_error(
    metadata_server: MetadataServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = metadata_server.serve("/metadata", b"")
    code, out = run_json(capsys, url)
    assert (code, out["error"]["code"]) == (2, "usage_error")
    assert metadata_server.hits["/metadata"] == 0


def test_only_the_inputs_that_need_action_have_findings(
    tmp_path: Path, healthy: TestIdP, expiring: TestIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, "good.xml", healthy.metadata_xml)
    bad = write(tmp_path, "bad.xml", expiring.metadata_xml)
    code, out = run_json(capsys, good, bad)
    assert code == 1
    assert [f["source"] for f in out["findings"]] == [bad]
    assert [c["source"] for c in out["checked"]] == [good, bad]


def test_the_json_output_has_a_stable_shape(
    tmp_path: Path, expiring: TestIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = run_json(capsys, write(tmp_path, "idp.xml", expiring.metadata_xml))
    assert set(out) == {"ok", "findings", "checked"}
    assert out["ok"] is False
    assert set(out["findings"][0]) == {
        "source",
        "code",
        "message",
        "expires",
        "entity_id",
        "certificate_sha256",
    }
    assert set(out["checked"][0]) == {"source", "entity_id", "valid_until", "certificates"}
    assert set(out["checked"][0]["certificates"][0]) == {"sha256", "not_after"}


def test_entity_id_picks_an_idp_from_an_aggregate(
    tmp_path: Path, healthy: TestIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    other = TestIdP("https://other-idp.test/metadata")
    path = write(tmp_path, "federation.xml", aggregate(healthy.metadata_xml, other.metadata_xml))
    assert run_json(capsys, path)[0] == 1  # ambiguous without --entity-id
    code, out = run_json(capsys, path, "--entity-id", ENTITY_ID)
    assert (code, out["checked"][0]["entity_id"]) == (0, ENTITY_ID)


@pytest.fixture(scope="module")
def metadata_signer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    key, cert = make_certificate(common_name="metadata signer")
    path = tmp_path_factory.mktemp("signer") / "signer.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return (key, cert), str(path)


def test_metadata_cert_requires_a_valid_signature(
    tmp_path: Path,
    healthy: TestIdP,
    metadata_signer: tuple[Any, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    signer, pem = metadata_signer
    path = write(tmp_path, "signed.xml", sign(healthy.metadata_xml, signer))
    assert run_json(capsys, path, "--metadata-cert", pem)[0] == 0


def test_metadata_cert_refuses_metadata_signed_by_another_key(
    tmp_path: Path,
    healthy: TestIdP,
    metadata_signer: tuple[Any, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, pem = metadata_signer
    path = write(tmp_path, "signed.xml", sign(healthy.metadata_xml, make_certificate()))
    code, out = run_json(capsys, path, "--metadata-cert", pem)
    assert (code, [f["code"] for f in out["findings"]]) == (1, ["metadata_signature_invalid"])


@pytest.mark.parametrize(
    "argv",
    [
        ["metadata", "check"],
        ["metadata", "check", "x.xml", "--days", "-1"],
        ["metadata", "check", "x.xml", "--days", "soon"],
        ["metadata", "check", "x.xml", "--at", "yesterday"],
        ["metadata", "check", "x.xml", "--timeout", "0"],
        ["metadata", "check", "x.xml", "--timeout", "601"],
        ["metadata", "check", "x.xml", "--timeout", "inf"],
        ["metadata", "check", "x.xml", "--metadata-cert", "/nonexistent.pem"],
    ],
    ids=[
        "no-input",
        "negative-days",
        "days-not-a-number",
        "bad-at",
        "zero-timeout",
        "timeout-over-600",
        "infinite-timeout",
        "no-cert",
    ],
)
def test_a_wrong_command_line_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "usage_error"


def test_the_text_output_names_each_finding_by_code(
    tmp_path: Path, expiring: TestIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "idp.xml", expiring.metadata_xml)
    assert main(["metadata", "check", path, *AT]) == 1
    assert capsys.readouterr().out.startswith(f"ACTION [certificate_expiring] {path}: ")


def test_iso_dates_without_a_zone_are_utc(
    tmp_path: Path, expiring: TestIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "idp.xml", expiring.metadata_xml)
    naive = datetime(2026, 12, 20, 0, 0).isoformat()  # noqa: DTZ001 - what a user types
    assert main(["metadata", "check", path, "--at", naive, "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["findings"][0]["code"] == "certificate_expired"


def test_metadata_cert_is_enforced_for_a_url_too(
    metadata_server: MetadataServer,
    healthy: TestIdP,
    metadata_signer: tuple[Any, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    signer, pem = metadata_signer
    good = metadata_server.serve("/signed", sign(healthy.metadata_xml, signer))
    assert run_json(capsys, good, "--allow-http", "--metadata-cert", pem)[0] == 0
    forged = metadata_server.serve("/forged", sign(healthy.metadata_xml, make_certificate()))
    code, out = run_json(capsys, forged, "--allow-http", "--metadata-cert", pem)
    assert (code, [f["code"] for f in out["findings"]]) == (1, ["metadata_signature_invalid"])


def _shape(value: Any) -> Any:
    """The JSON structure of ``value``: objects by key, lists by their first item."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return "scalar"


def _documented_example() -> Any:
    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    section = text.split("### `metadata check --json`", 1)[1]
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    return json.loads(block)


def test_the_json_output_has_the_shape_docs_cli_md_documents(
    tmp_path: Path, expiring: TestIdP, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = run_json(capsys, write(tmp_path, "idp.xml", expiring.metadata_xml))
    assert _shape(out) == _shape(_documented_example())


def test_a_failing_source_is_one_line_of_output_and_nothing_on_stderr(tmp_path: Path) -> None:
    """The library logs a failed refresh too; the command must not print it a second time."""
    bad = write(tmp_path, "bad.xml", b"<not-metadata/>")
    done = subprocess.run(
        [sys.executable, "-m", "samljit", "metadata", "check", bad, *AT],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == ""
    assert done.stdout.splitlines() == [done.stdout.strip()]
    assert done.stdout.startswith(f"ACTION [metadata_invalid] {bad}: ")
