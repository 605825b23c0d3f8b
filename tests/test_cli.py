"""The ``samljit`` console script: administrators' view of verify and metadata inspect.

Exit codes are a contract: 0 accepted, 1 rejected (the output says why, with the error code),
2 usage. With ``--json`` every outcome, usage errors included, is one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from samljit.cli import _build_parser, main
from samljit.testing import TestIdP

from .conftest import INTEROP

CASES = INTEROP / "cases"
METADATA = INTEROP / "metadata"
ACCEPT = "adfs-signed-assertion-sha256"  # SHA-256, needs no opt-in
REJECT = "onelogin-reject-wrong-audience"  # audience_mismatch
SHA1 = "onelogin-signed-response"  # RSA-SHA1: needs --allow-sha1
UNSOLICITED = "oktadev-valid-signed-assertion"  # IdP-initiated, no InResponseTo


def case(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CASES / name / "case.json").read_text())
    return loaded


def verify_args(
    name: str, *, sha1: bool | None = None, unsolicited: bool | None = None, at: str | None = None
) -> list[str]:
    """``samljit verify`` arguments for an interop case, as its case.json describes it."""
    spec = case(name)
    args = [
        "verify",
        str(CASES / name / spec["response"]),
        "--idp-metadata",
        str(CASES / name / spec["idp_metadata"]),
        "--sp-entity-id",
        spec["sp"]["entity_id"],
        "--acs-url",
        spec["sp"]["acs_url"],
        "--at",
        at or spec["now"],
    ]
    if spec["in_response_to"]:
        args += ["--in-response-to", spec["in_response_to"]]
    if not (spec["allow_unsolicited"] if unsolicited is None else unsolicited):
        args.append("--no-unsolicited")
    if (spec.get("policy") or {}).get("allow_sha1", False) if sha1 is None else sha1:
        args.append("--allow-sha1")
    return args


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(capsys, *args, "--json")
    report: dict[str, Any] = json.loads(out)
    return code, report


def without(args: list[str], option: str) -> list[str]:
    """``args`` with ``option`` and its value left out."""
    index = args.index(option)
    return args[:index] + args[index + 2 :]


def replaced(args: list[str], option: str, value: str) -> list[str]:
    index = args.index(option)
    return [*args[: index + 1], value, *args[index + 2 :]]


def certificate_fingerprints(path: Path) -> list[str]:
    """SHA-256 of each X509Certificate in the file's IDPSSODescriptor, in document order."""
    root = etree.parse(str(path)).getroot()
    ns = {"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": "http://www.w3.org/2000/09/xmldsig#"}
    return [
        hashlib.sha256(base64.b64decode("".join((cert.text or "").split()))).hexdigest()
        for cert in root.iterfind(".//md:IDPSSODescriptor//ds:X509Certificate", ns)
    ]


# --- verify --------------------------------------------------------------------------------


def test_verify_json_accepts_a_genuine_response(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, *verify_args(ACCEPT))
    expected = case(ACCEPT)["expected"]
    assert code == 0
    assert report["ok"] is True
    assert report["assertion"]["name_id"] == expected["name_id"]
    assert report["assertion"]["attributes"] == expected["attributes"]
    assert all(isinstance(v, list) for v in report["assertion"]["attributes"].values())
    assert report["assertion"]["in_response_to"] == case(ACCEPT)["in_response_to"]


def test_verify_json_rejects_with_code_and_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, *verify_args(REJECT))
    assert code == 1
    assert report["ok"] is False
    assert report["error"]["code"] == "audience_mismatch"
    assert isinstance(report["error"]["message"], str)
    assert report["error"]["message"]
    assert report["error"]["expected"] == case(REJECT)["sp"]["entity_id"]
    assert "assertion" not in report


def test_verify_reads_the_response_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = verify_args(ACCEPT)
    data = Path(args[1]).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, report = run_json(capsys, "verify", "-", *args[2:])
    assert code == 0
    assert report["assertion"]["name_id"] == case(ACCEPT)["expected"]["name_id"]


def test_verify_tolerates_a_trailing_newline_in_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A value saved from a browser's dev tools usually ends with a newline."""
    args = verify_args(ACCEPT)
    saved = tmp_path / "response.b64"
    saved.write_bytes(Path(args[1]).read_bytes().strip() + b"\n")
    code, _ = run_json(capsys, "verify", str(saved), *args[2:])
    assert code == 0


def test_verify_human_output_says_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *verify_args(ACCEPT))
    assert code == 0
    assert out.splitlines()[0] == "ACCEPTED"
    assert case(ACCEPT)["expected"]["name_id"] in out


def test_verify_human_output_says_rejected_with_the_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, *verify_args(REJECT))
    assert code == 1
    assert out.startswith("REJECTED [audience_mismatch]")


def test_no_unsolicited_rejects_an_idp_initiated_response(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = run_json(capsys, *verify_args(UNSOLICITED, unsolicited=False))
    assert code == 1
    assert report["error"]["code"] == "unsolicited_response"


def test_an_idp_initiated_response_is_accepted_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = verify_args(UNSOLICITED, unsolicited=True)
    assert "--no-unsolicited" not in args
    code, report = run_json(capsys, *args)
    assert code == 0
    assert report["assertion"]["in_response_to"] is None


def test_a_sha1_signature_is_rejected_without_allow_sha1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = run_json(capsys, *verify_args(SHA1, sha1=False))
    assert code == 1
    assert report["error"]["code"] == "algorithm_forbidden"


def test_allow_sha1_accepts_a_sha1_signature(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, *verify_args(SHA1, sha1=True))
    assert code == 0
    assert report["assertion"]["name_id"] == case(SHA1)["expected"]["name_id"]


@pytest.fixture
def late(capsys: pytest.CaptureFixture[str]) -> str:
    """Five minutes after the accepted case's assertion stopped being valid."""
    code, report = run_json(capsys, *verify_args(ACCEPT))
    assert code == 0
    end = datetime.fromisoformat(report["assertion"]["not_on_or_after"])
    return (end + timedelta(minutes=5)).isoformat()


def test_the_default_clock_skew_does_not_cover_five_minutes(
    capsys: pytest.CaptureFixture[str], late: str
) -> None:
    code, report = run_json(capsys, *verify_args(ACCEPT, at=late))
    assert code == 1
    assert report["error"]["code"] == "expired"


def test_clock_skew_widens_the_validity_window(
    capsys: pytest.CaptureFixture[str], late: str
) -> None:
    code, report = run_json(capsys, *verify_args(ACCEPT, at=late), "--clock-skew", "600")
    assert code == 0
    assert report["ok"] is True


# --- usage errors ----------------------------------------------------------------------------

USAGE_ERRORS = [
    pytest.param(lambda a: without(a, "--sp-entity-id"), id="missing-sp-entity-id"),
    pytest.param(lambda a: without(a, "--idp-metadata"), id="missing-idp-metadata"),
    pytest.param(lambda a: without(a, "--acs-url"), id="missing-acs-url"),
    pytest.param(lambda a: [a[0], *a[2:]], id="missing-response"),
    pytest.param(lambda a: [a[0], "/nonexistent/response.b64", *a[2:]], id="unreadable-response"),
    pytest.param(
        lambda a: replaced(a, "--idp-metadata", "/nonexistent/idp.xml"), id="unreadable-metadata"
    ),
    pytest.param(lambda a: replaced(a, "--at", "yesterday"), id="bad-at"),
    pytest.param(lambda a: replaced(a, "--at", "2017-13-45T99:00:00Z"), id="impossible-at"),
    pytest.param(lambda a: replaced(a, "--acs-url", "/saml/acs"), id="relative-acs-url"),
    pytest.param(lambda a: [*a, "--clock-skew", "ten"], id="clock-skew-not-a-number"),
    pytest.param(lambda a: [*a, "--clock-skew", "-5"], id="negative-clock-skew"),
    pytest.param(lambda a: [*a, "--clock-skew", "3600"], id="clock-skew-an-hour"),
    pytest.param(lambda a: [*a, "--clock-skew", "nan"], id="clock-skew-nan"),
    pytest.param(lambda a: [*a, "--clock-skew", "inf"], id="clock-skew-inf"),
    pytest.param(lambda a: [*a, "--clock-skew", "1e20"], id="clock-skew-1e20"),
    pytest.param(lambda a: [*a, "--frobnicate"], id="unknown-option"),
    pytest.param(lambda a: ["frobnicate"], id="unknown-command"),
    pytest.param(lambda a: [], id="no-command"),
]


@pytest.mark.parametrize("mutate", USAGE_ERRORS)
def test_usage_errors_exit_2_with_a_json_usage_error(
    capsys: pytest.CaptureFixture[str], mutate: Any
) -> None:
    code, out, _ = run(capsys, *mutate(verify_args(ACCEPT)), "--json")
    assert code == 2
    report = json.loads(out)
    assert report["ok"] is False
    assert report["error"]["code"] == "usage_error"
    assert report["error"]["message"]


@pytest.mark.parametrize("mutate", USAGE_ERRORS)
def test_usage_errors_exit_2_with_usage_on_stderr(
    capsys: pytest.CaptureFixture[str], mutate: Any
) -> None:
    code, out, err = run(capsys, *mutate(verify_args(ACCEPT)))
    assert code == 2
    assert out == ""
    assert "usage:" in err


def test_an_instant_at_the_end_of_the_calendar_is_judged_not_crashed_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--at 9999-12-31T23:59:59Z is a valid ISO 8601 instant: the response has long expired
    (exit 1), or the instant is refused as unusable (exit 2); the JSON contract holds."""
    code, out, _ = run(capsys, *verify_args(ACCEPT, at="9999-12-31T23:59:59+00:00"), "--json")
    report = json.loads(out)
    assert report["ok"] is False
    assert (code, report["error"]["code"]) in {(1, "expired"), (2, "usage_error")}


def test_rejected_metadata_in_verify_is_a_rejection_not_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Metadata that is SP metadata is a finding about the input: exit 1 with its code."""
    args = replaced(
        verify_args(ACCEPT),
        "--idp-metadata",
        str(METADATA / "wrong-sp-metadata-named-idp-metadata.xml"),
    )
    code, report = run_json(capsys, *args)
    assert code == 1
    assert report["error"]["code"] == "metadata_is_sp"


# --- metadata inspect ----------------------------------------------------------------------

OKTA = METADATA / "okta-idp.xml"
GOOGLE_TWO_KEYS = METADATA / "google-workspace-idp-two-signing-keys.xml"
AT = "2026-11-25T12:00:00Z"


def test_inspect_text_shows_entity_id_endpoints_and_certificate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "metadata", "inspect", str(OKTA), "--at", AT)
    (fingerprint,) = certificate_fingerprints(OKTA)
    assert code == 0
    assert "http://www.okta.com/exkppsa1qwuFV4D7z0h7" in out
    assert f"sha256 {fingerprint}" in out
    assert "HTTP-POST" in out
    assert "https://dev-513394.oktapreview.com/" in out


def test_inspect_json_reports_entity_id_certificates_and_warnings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = run_json(capsys, "metadata", "inspect", str(GOOGLE_TWO_KEYS), "--at", AT)
    assert code == 0
    assert report["ok"] is True
    metadata = report["metadata"]
    assert metadata["entity_id"] == "https://accounts.google.com/o/saml2?idpid=C01nccos6"
    assert [c["sha256"] for c in metadata["signing_certificates"]] == certificate_fingerprints(
        GOOGLE_TWO_KEYS
    )
    assert metadata["valid_until"] == "2022-04-20T00:56:59Z"
    assert "metadata_expired" in [w["code"] for w in metadata["warnings"]]
    assert all(w["message"] for w in metadata["warnings"])


def test_inspect_reads_metadata_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(OKTA.read_bytes())))
    code, report = run_json(capsys, "metadata", "inspect", "-", "--at", AT)
    assert code == 0
    assert report["metadata"]["entity_id"] == "http://www.okta.com/exkppsa1qwuFV4D7z0h7"


@pytest.mark.parametrize(
    "name",
    ["wrong-sp-metadata-named-idp-metadata.xml", "wrong-sp-metadata-no-idpssodescriptor.xml"],
)
def test_inspect_rejects_sp_metadata(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, report = run_json(capsys, "metadata", "inspect", str(METADATA / name), "--at", AT)
    assert code == 1
    assert report["ok"] is False
    assert report["error"]["code"] == "metadata_is_sp"


def test_inspect_human_output_rejects_sp_metadata_with_the_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = METADATA / "wrong-sp-metadata-no-idpssodescriptor.xml"
    code, out, _ = run(capsys, "metadata", "inspect", str(path))
    assert code == 1
    assert out.startswith("REJECTED [metadata_is_sp]")


def test_inspect_an_aggregate_needs_an_entity_id(capsys: pytest.CaptureFixture[str]) -> None:
    path = METADATA / "two-idp-entities-in-entitiesdescriptor.xml"
    code, report = run_json(capsys, "metadata", "inspect", str(path), "--at", AT)
    assert code == 1
    assert report["error"]["code"] == "metadata_ambiguous"
    assert sorted(report["error"]["found"]) == [
        "https://bar.example.com/access/saml/idp.xml",
        "https://foo.example.com/access/saml/idp.xml",
    ]
    code, report = run_json(
        capsys,
        "metadata",
        "inspect",
        str(path),
        "--at",
        AT,
        "--entity-id",
        "https://bar.example.com/access/saml/idp.xml",
    )
    assert code == 0
    assert report["metadata"]["entity_id"] == "https://bar.example.com/access/saml/idp.xml"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["metadata", "inspect", "/nonexistent/idp.xml"], id="unreadable-file"),
        pytest.param(["metadata", "inspect", str(OKTA), "--at", "soon"], id="bad-at"),
        pytest.param(["metadata", "inspect"], id="missing-file"),
        pytest.param(["metadata"], id="missing-subcommand"),
    ],
)
def test_inspect_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, report = run_json(capsys, *args)
    assert code == 2
    assert report["ok"] is False
    assert report["error"]["code"] == "usage_error"


# --- the installed console script ----------------------------------------------------------


def console_script() -> list[str]:
    script = Path(sys.executable).with_name("samljit")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "samljit.cli"]


def test_the_console_script_verifies_from_stdin() -> None:
    """The installed entry point, in its own process, reading the POSTed value from stdin."""
    args = verify_args(ACCEPT)
    completed = subprocess.run(
        [*console_script(), "verify", "-", *args[2:], "--json"],
        input=Path(args[1]).read_bytes(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    report = json.loads(completed.stdout)
    assert report["ok"] is True
    assert report["assertion"]["name_id"] == case(ACCEPT)["expected"]["name_id"]


def test_the_console_script_exits_1_on_a_rejected_response() -> None:
    completed = subprocess.run(
        [*console_script(), *verify_args(REJECT), "--json"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert json.loads(completed.stdout)["error"]["code"] == "audience_mismatch"


# --- the command line speaks in its own options ---------------------------------------------


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_every_option_and_command_has_help_text() -> None:
    undocumented = [
        f"{parser.prog} {'/'.join(action.option_strings) or action.dest}"
        for parser in _parsers(_build_parser())
        for action in parser._actions
        if not action.help
    ]
    assert not undocumented


def test_at_defaults_to_now(capsys: pytest.CaptureFixture[str]) -> None:
    """A response captured years ago, judged without --at, has expired."""
    code, report = run_json(capsys, *without(verify_args(ACCEPT), "--at"))
    assert (code, report["error"]["code"]) == (1, "expired")


def test_at_now_is_the_current_instant(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, *replaced(verify_args(ACCEPT), "--at", "now"))
    assert (code, report["error"]["code"]) == (1, "expired")


def test_a_usage_error_prints_the_usage_of_the_command_given(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "metadata", "check")
    assert (code, out) == (2, "")
    assert err.startswith("usage: samljit metadata check ")
    assert "samljit metadata check: error:" in err


def test_a_missing_subcommand_names_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "metadata")
    assert code == 2
    assert err.startswith("usage: samljit metadata ")
    assert "inspect, check" in err


def test_a_sha1_refusal_names_the_allow_sha1_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, *verify_args(SHA1, sha1=False))
    assert (code, report["error"]["code"]) == (1, "algorithm_forbidden")
    assert "--allow-sha1" in report["error"]["message"]


def test_an_unsolicited_refusal_names_the_in_response_to_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = run_json(capsys, *verify_args(UNSOLICITED, unsolicited=False))
    assert (code, report["error"]["code"]) == (1, "unsolicited_response")
    assert "--in-response-to" in report["error"]["message"]


def test_an_answer_to_a_request_not_given_names_the_in_response_to_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = without(verify_args(ACCEPT, unsolicited=True), "--in-response-to")
    code, report = run_json(capsys, *args)
    assert (code, report["error"]["code"]) == (1, "in_response_to_mismatch")
    assert "--in-response-to" in report["error"]["message"]


def test_an_spconfig_refusal_names_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, *replaced(verify_args(ACCEPT), "--acs-url", "/saml/acs"))
    assert (code, report["error"]["code"]) == (2, "usage_error")
    assert report["error"]["message"].startswith("--acs-url ")


def test_an_ambiguous_aggregate_names_the_idp_entity_id_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = METADATA / "two-idp-entities-in-entitiesdescriptor.xml"
    code, report = run_json(capsys, "metadata", "inspect", str(path), "--at", AT)
    assert (code, report["error"]["code"]) == (1, "metadata_ambiguous")
    assert "--idp-entity-id" in report["error"]["message"]


def test_a_binding_the_idp_lacks_names_the_other_binding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    idp = TestIdP(entity_id="https://idp.acme.test/metadata")
    xml = etree.fromstring(idp.metadata_xml)
    for service in xml.iter("{urn:oasis:names:tc:SAML:2.0:metadata}SingleSignOnService"):
        if service.get("Binding", "").endswith("HTTP-POST"):
            service.getparent().remove(service)
    (tmp_path / "idp.xml").write_bytes(etree.tostring(xml))
    args = ["login-url", "--idp-metadata", str(tmp_path / "idp.xml"), "--binding", "post"]
    sp = ["--sp-entity-id", "https://sp.test/", "--acs-url", "https://sp.test/acs"]
    code, report = run_json(capsys, *args, *sp)
    assert (code, report["error"]["code"]) == (2, "usage_error")
    assert "--binding post" in report["error"]["message"]
    assert "--binding redirect" in report["error"]["message"]


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        pytest.param(lambda value, xml: xml, "XML", id="raw-xml"),
        pytest.param(
            lambda value, xml: urllib.parse.quote(value, safe="").encode(),
            "URL-encoded",
            id="url-encoded",
        ),
    ],
)
def test_invalid_base64_tells_a_raw_xml_paste_from_a_url_encoded_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pasted: Any, says: str
) -> None:
    args = verify_args(ACCEPT)
    value = Path(args[1]).read_text().strip()
    (tmp_path / "pasted").write_bytes(pasted(value, base64.b64decode(value)))
    code, report = run_json(capsys, args[0], str(tmp_path / "pasted"), *args[2:])
    assert (code, report["error"]["code"]) == (1, "invalid_base64")
    assert says in report["error"]["message"]
    other = {"XML": "URL-encoded", "URL-encoded": "XML"}[says]
    assert other not in report["error"]["message"]


@pytest.mark.parametrize(
    ("command", "chosen"),
    [
        (["metadata", "inspect"], lambda report: report["metadata"]["entity_id"]),
        (["metadata", "check"], lambda report: report["checked"][0]["entity_id"]),
    ],
    ids=["inspect", "check"],
)
def test_the_idp_entity_id_option_keeps_its_old_spelling(
    capsys: pytest.CaptureFixture[str], command: list[str], chosen: Any
) -> None:
    path = str(METADATA / "two-idp-entities-in-entitiesdescriptor.xml")
    bar = "https://bar.example.com/access/saml/idp.xml"
    for flag in ("--idp-entity-id", "--entity-id"):
        code, report = run_json(capsys, *command, path, "--at", AT, flag, bar)
        assert code in (0, 1), report
        assert chosen(report) == bar


def test_sp_metadata_takes_sp_entity_id_and_its_old_spelling(
    capsys: pytest.CaptureFixture[str],
) -> None:
    printed = []
    for flag in ("--sp-entity-id", "--entity-id"):
        code, out, _ = run(
            capsys, "sp-metadata", flag, "https://sp.test/", "--acs-url", "https://sp.test/acs"
        )
        assert code == 0
        printed.append(out)
    assert printed[0] == printed[1]
    assert 'entityID="https://sp.test/"' in printed[0]
