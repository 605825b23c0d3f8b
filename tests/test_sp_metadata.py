"""SP metadata (SAML metadata 2.4.4) validates against the OASIS SAML 2.0 metadata schema, and
so do the SP's protocol messages against the protocol schema; the CLI's ``sp-metadata`` and
``login-url`` give what an administrator needs to set up and test an IdP by hand.

The OASIS XSDs are not vendored: the session downloads the python3-saml 1.16.0 wheel from
PyPI with pip, once, and reads ``onelogin/saml2/schemas/*.xsd`` from it. A failed download
fails the tests (it does not skip them).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from samljit import NameID
from samljit._signature import signature_child, verify_enveloped
from samljit.bindings import PrivateKey
from samljit.cli import main
from samljit.logout import build_logout_request
from samljit.messages import build_authn_request, build_sp_metadata
from samljit.testing import TestIdP, make_certificate

from .conftest import ACS_URL, NOW, SP_ENTITY_ID
from .sp_flows import (
    NS,
    SLO_URL,
    SP,
    form_message,
    inflate,
    logout_response_xml,
    metadata_without,
    params,
    verify_query_signature,
)

WHEEL = "python3-saml==1.16.0"
MD = NS["md"]
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
Pair = tuple[PrivateKey, x509.Certificate]


class OasisSchema:
    """One OASIS schema, loaded on first use. When the download failed, using it fails the
    test that uses it (a failure, not an error in setup and never a skip)."""

    def __init__(self, directory: Path | None, problem: str, name: str) -> None:
        self.directory, self.problem, self.name = directory, problem, name
        self._schema: etree.XMLSchema | None = None

    def errors(self, xml: bytes) -> list[str]:
        """What the schema finds wrong with ``xml`` (empty: valid)."""
        if self.directory is None:
            pytest.fail(self.problem)
        if self._schema is None:
            parser = etree.XMLParser(no_network=True, resolve_entities=False)
            self._schema = etree.XMLSchema(etree.parse(str(self.directory / self.name), parser))
        if self._schema.validate(etree.fromstring(xml)):
            return []
        return [f"line {e.line}: {e.message}" for e in self._schema.error_log]

    def assert_valid(self, xml: bytes) -> etree._Element:
        errors = self.errors(xml)
        if errors:
            pytest.fail(
                f"not valid against {self.name}:\n" + "\n".join(errors) + "\n\n" + xml.decode()
            )
        return etree.fromstring(xml)


@pytest.fixture(scope="session")
def oasis_schemas(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path | None, str]:
    """The OASIS SAML 2.0 XSDs (and those they import), from the python3-saml wheel, or why
    they could not be had."""
    download = tmp_path_factory.mktemp("python3-saml")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", WHEEL, "-d", str(download)]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=300, check=False
        )
    except subprocess.TimeoutExpired:
        return None, f"cannot get the OASIS schemas: `pip download {WHEEL}` timed out"
    wheels = list(download.glob("python3_saml-1.16.0-*.whl"))
    if completed.returncode != 0 or len(wheels) != 1:
        return None, (
            f"cannot get the OASIS schemas: `pip download {WHEEL}` exited "
            f"{completed.returncode}:\n{completed.stderr[-3000:]}"
        )
    schemas = download / "schemas"
    schemas.mkdir()
    with zipfile.ZipFile(wheels[0]) as archive:
        for name in archive.namelist():
            if name.startswith("onelogin/saml2/schemas/") and name.endswith(".xsd"):
                (schemas / Path(name).name).write_bytes(archive.read(name))
    return schemas, ""


@pytest.fixture(scope="session")
def metadata_schema(oasis_schemas: tuple[Path | None, str]) -> OasisSchema:
    return OasisSchema(*oasis_schemas, "saml-schema-metadata-2.0.xsd")


@pytest.fixture(scope="session")
def protocol_schema(oasis_schemas: tuple[Path | None, str]) -> OasisSchema:
    return OasisSchema(*oasis_schemas, "saml-schema-protocol-2.0.xsd")


def assert_valid(schema: OasisSchema, xml: bytes) -> etree._Element:
    return schema.assert_valid(xml)


@pytest.fixture(scope="module")
def signing() -> Pair:
    return make_certificate(common_name="app.example.com signing")


@pytest.fixture(scope="module")
def encryption() -> Pair:
    return make_certificate(common_name="app.example.com encryption")


@pytest.fixture(scope="module")
def ec_signing() -> Pair:
    return make_certificate(key_type="ec", common_name="app.example.com EC signing")


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _der_b64(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def _descriptor(root: etree._Element) -> etree._Element:
    assert root.tag == f"{{{MD}}}EntityDescriptor"
    [descriptor] = root.findall("md:SPSSODescriptor", NS)
    return descriptor


# --- build_sp_metadata -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="minimal"),
        pytest.param({"signing": True}, id="signing-cert"),
        pytest.param({"encryption": True}, id="encryption-cert"),
        pytest.param({"signing": True, "encryption": True}, id="both-certs"),
        pytest.param({"slo_url": SLO_URL}, id="slo"),
        pytest.param({"signing": True, "encryption": True, "slo_url": SLO_URL}, id="certs-and-slo"),
        pytest.param({"want_assertions_signed": False}, id="assertions-unsigned"),
        pytest.param({"authn_requests_signed": True, "signing": True}, id="requests-signed"),
        pytest.param({"name_id_format": None}, id="no-name-id-format"),
        pytest.param({"name_id_format": PERSISTENT, "ec": True}, id="persistent-ec"),
    ],
)
def test_sp_metadata_validates_against_the_oasis_metadata_schema(
    metadata_schema: OasisSchema,
    signing: Pair,
    encryption: Pair,
    ec_signing: Pair,
    options: dict[str, Any],
) -> None:
    options = dict(options)
    if options.pop("signing", False):
        options["signing_certificate"] = signing[1]
    if options.pop("ec", False):
        options["signing_certificate"] = ec_signing[1]
    if options.pop("encryption", False):
        options["encryption_certificate"] = encryption[1]
    xml = build_sp_metadata(entity_id=SP_ENTITY_ID, acs_url=ACS_URL, **options)
    root = assert_valid(metadata_schema, xml)
    assert root.get("entityID") == SP_ENTITY_ID
    descriptor = _descriptor(root)
    assert descriptor.get("protocolSupportEnumeration") == "urn:oasis:names:tc:SAML:2.0:protocol"


@pytest.mark.parametrize(
    "break_it",
    [
        pytest.param(lambda d: d.remove(d.find("md:AssertionConsumerService", NS)), id="no-acs"),
        pytest.param(lambda d: d.append(d.find("md:NameIDFormat", NS)), id="out-of-order"),
        pytest.param(lambda d: d.set("WantAssertionsSigned", "yes"), id="not-a-boolean"),
    ],
)
def test_the_schema_check_is_not_vacuous(
    metadata_schema: OasisSchema, break_it: Callable[[etree._Element], None]
) -> None:
    root = etree.fromstring(build_sp_metadata(entity_id=SP_ENTITY_ID, acs_url=ACS_URL))
    break_it(_descriptor(root))
    assert metadata_schema.errors(etree.tostring(root)) != []


def test_the_acs_is_the_default_post_endpoint_with_index_0(metadata_schema: OasisSchema) -> None:
    root = assert_valid(metadata_schema, build_sp_metadata(entity_id=SP_ENTITY_ID, acs_url=ACS_URL))
    [acs] = _descriptor(root).findall("md:AssertionConsumerService", NS)
    assert (acs.get("Binding"), acs.get("Location")) == (POST, ACS_URL)
    assert (acs.get("index"), acs.get("isDefault")) == ("0", "true")


def test_the_name_id_format_is_email_by_default_and_configurable(
    metadata_schema: OasisSchema,
) -> None:
    def formats(**options: Any) -> list[str | None]:
        xml = build_sp_metadata(entity_id=SP_ENTITY_ID, acs_url=ACS_URL, **options)
        return [e.text for e in _descriptor(etree.fromstring(xml)).findall("md:NameIDFormat", NS)]

    assert formats() == [EMAIL]
    assert formats(name_id_format=PERSISTENT) == [PERSISTENT]
    assert formats(name_id_format=None) == []


def test_the_certificates_are_published_for_their_use(signing: Pair, encryption: Pair) -> None:
    xml = build_sp_metadata(
        entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        signing_certificate=signing[1],
        encryption_certificate=encryption[1],
    )
    keys = _descriptor(etree.fromstring(xml)).findall("md:KeyDescriptor", NS)
    published = {
        key.get("use"): key.findtext("ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=NS)
        for key in keys
    }
    assert published == {"signing": _der_b64(signing[1]), "encryption": _der_b64(encryption[1])}


def test_the_slo_url_is_offered_for_both_bindings() -> None:
    xml = build_sp_metadata(entity_id=SP_ENTITY_ID, acs_url=ACS_URL, slo_url=SLO_URL)
    endpoints = _descriptor(etree.fromstring(xml)).findall("md:SingleLogoutService", NS)
    assert sorted((e.get("Binding"), e.get("Location")) for e in endpoints) == sorted(
        [(REDIRECT, SLO_URL), (POST, SLO_URL)]
    )
    plain = build_sp_metadata(entity_id=SP_ENTITY_ID, acs_url=ACS_URL)
    assert _descriptor(etree.fromstring(plain)).find("md:SingleLogoutService", NS) is None


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, ("false", "true")),
        ({"signing": True}, ("true", "true")),
        ({"signing": True, "authn_requests_signed": False}, ("false", "true")),
        ({"authn_requests_signed": True}, ("true", "true")),
        ({"want_assertions_signed": False}, ("false", "false")),
    ],
)
def test_authn_requests_signed_and_want_assertions_signed(
    signing: Pair, options: dict[str, Any], expected: tuple[str, str]
) -> None:
    """AuthnRequestsSigned follows the signing certificate unless set; WantAssertionsSigned
    is true unless turned off."""
    options = dict(options)
    if options.pop("signing", False):
        options["signing_certificate"] = signing[1]
    xml = build_sp_metadata(entity_id=SP_ENTITY_ID, acs_url=ACS_URL, **options)
    descriptor = _descriptor(etree.fromstring(xml))
    assert (descriptor.get("AuthnRequestsSigned"), descriptor.get("WantAssertionsSigned")) == (
        expected
    )


# --- the SP's protocol messages ------------------------------------------------------------------


def test_authn_requests_validate_against_the_oasis_protocol_schema(
    protocol_schema: OasisSchema, signing: Pair, ec_signing: Pair
) -> None:
    for options in (
        {},
        {"force_authn": True, "requested_authn_contexts": ["urn:example:mfa"]},
        {"signing_key": signing[0], "signing_certificate": signing[1]},
        {"signing_key": ec_signing[0], "name_id_format": None, "force_authn": True},
    ):
        request = build_authn_request(
            sp=SP, destination="https://idp.example.test/sso", now=NOW, **options
        )
        assert_valid(protocol_schema, request.xml)


def test_logout_messages_validate_against_the_oasis_protocol_schema(
    protocol_schema: OasisSchema, signing: Pair
) -> None:
    name_id = NameID(value="ada@acme.test", format=EMAIL, name_qualifier="idp")
    for key in (None, signing[0]):
        _, request = build_logout_request(
            sp=SP,
            destination="https://idp.example.test/slo",
            name_id=name_id,
            session_index="_s1",
            now=NOW,
            signing_key=key,
            signing_certificate=signing[1],
        )
        assert_valid(protocol_schema, request)
        response = logout_response_xml(
            sp=SP,
            destination="https://idp.example.test/slo",
            in_response_to="_r1",
            now=NOW,
            signing_key=key,
            signing_certificate=signing[1],
        )
        assert_valid(protocol_schema, response)


# --- CLI: sp-metadata -----------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_sp_metadata_prints_valid_metadata(
    capsys: pytest.CaptureFixture[str],
    metadata_schema: OasisSchema,
    tmp_path: Path,
    signing: Pair,
    encryption: Pair,
) -> None:
    (tmp_path / "sign.pem").write_bytes(_pem(signing[1]))
    (tmp_path / "enc.pem").write_bytes(_pem(encryption[1]))
    code, out, _ = run(
        capsys,
        "sp-metadata",
        "--entity-id", SP_ENTITY_ID,
        "--acs-url", ACS_URL,
        "--cert", str(tmp_path / "sign.pem"),
        "--encryption-cert", str(tmp_path / "enc.pem"),
        "--slo-url", SLO_URL,
        "--want-assertions-signed",
    )  # fmt: skip
    assert code == 0
    root = assert_valid(metadata_schema, out.encode())
    descriptor = _descriptor(root)
    assert root.get("entityID") == SP_ENTITY_ID
    assert descriptor.get("AuthnRequestsSigned") == "true"
    assert descriptor.get("WantAssertionsSigned") == "true"
    assert len(descriptor.findall("md:KeyDescriptor", NS)) == 2
    assert len(descriptor.findall("md:SingleLogoutService", NS)) == 2
    [acs] = descriptor.findall("md:AssertionConsumerService", NS)
    assert acs.get("Location") == ACS_URL


def test_cli_sp_metadata_minimal_is_valid_and_does_not_ask_for_signed_assertions(
    capsys: pytest.CaptureFixture[str], metadata_schema: OasisSchema
) -> None:
    code, out, _ = run(capsys, "sp-metadata", "--entity-id", SP_ENTITY_ID, "--acs-url", ACS_URL)
    assert code == 0
    descriptor = _descriptor(assert_valid(metadata_schema, out.encode()))
    assert descriptor.get("WantAssertionsSigned") == "false"
    assert descriptor.get("AuthnRequestsSigned") == "false"


def test_cli_sp_metadata_runs_as_a_console_script(metadata_schema: OasisSchema) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "samljit.cli", "sp-metadata", "--entity-id", SP_ENTITY_ID,
         "--acs-url", ACS_URL],
        capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert_valid(metadata_schema, completed.stdout)


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--entity-id", SP_ENTITY_ID], id="no-acs-url"),
        pytest.param(["--acs-url", ACS_URL], id="no-entity-id"),
        pytest.param(["--entity-id", SP_ENTITY_ID, "--acs-url", "/acs"], id="relative-acs"),
        pytest.param(["--entity-id", " ", "--acs-url", ACS_URL], id="blank-entity-id"),
        pytest.param(
            ["--entity-id", SP_ENTITY_ID, "--acs-url", ACS_URL, "--cert", "{missing}"],
            id="cert-missing",
        ),
        pytest.param(
            ["--entity-id", SP_ENTITY_ID, "--acs-url", ACS_URL, "--cert", "{garbage}"],
            id="cert-not-pem",
        ),
        pytest.param(["--entity-id", SP_ENTITY_ID, "--acs-url", ACS_URL, "--bogus"], id="bogus"),
    ],
)
def test_cli_sp_metadata_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    files = {"missing": str(tmp_path / "nope.pem"), "garbage": str(tmp_path / "garbage.pem")}
    code, out, err = run(capsys, "sp-metadata", *[a.format(**files) for a in argv])
    assert code == 2
    assert out == ""
    assert re.search(r"^samljit( [a-z-]+)?: error:", err, re.MULTILINE)


# --- CLI: login-url -----------------------------------------------------------------------------


@pytest.fixture
def idp_metadata(tmp_path: Path, test_idp: TestIdP) -> Path:
    path = tmp_path / "idp.xml"
    path.write_bytes(test_idp.metadata_xml)
    return path


def login_url(
    capsys: pytest.CaptureFixture[str], metadata: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(
        capsys,
        "login-url",
        "--idp-metadata", str(metadata),
        "--sp-entity-id", SP_ENTITY_ID,
        "--acs-url", ACS_URL,
        "--json",
        *extra,
    )  # fmt: skip
    return code, json.loads(out)


def _check_authn_request(request: etree._Element, request_id: str, destination: str) -> None:
    assert request.tag == f"{{{NS['samlp']}}}AuthnRequest"
    assert request.get("ID") == request_id
    assert request.get("Destination") == destination
    assert request.get("AssertionConsumerServiceURL") == ACS_URL
    assert request.get("ProtocolBinding") == POST
    assert request.findtext("saml:Issuer", namespaces=NS) == SP_ENTITY_ID
    issued = datetime.fromisoformat(request.get("IssueInstant", "").replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - issued).total_seconds()) < 300


def test_cli_login_url_json_gives_the_request_id_and_a_redirect_url(
    capsys: pytest.CaptureFixture[str], idp_metadata: Path, test_idp: TestIdP
) -> None:
    code, report = login_url(capsys, idp_metadata, "--relay-state", "/after login")
    assert code == 0
    assert report["ok"] is True
    assert report["binding"] == "redirect"
    assert report["destination"] == test_idp.sso_url
    assert report["idp_entity_id"] == test_idp.entity_id
    assert report["form_fields"] is None
    url = report["url"]
    assert url.startswith(test_idp.sso_url + "?SAMLRequest=")
    query = params(url)
    assert query["RelayState"] == "/after login"
    assert "Signature" not in query
    request = etree.fromstring(inflate(query["SAMLRequest"]))
    _check_authn_request(request, report["request_id"], test_idp.sso_url)


def test_cli_login_url_post_gives_the_form_fields(
    capsys: pytest.CaptureFixture[str], idp_metadata: Path, test_idp: TestIdP
) -> None:
    code, report = login_url(capsys, idp_metadata, "--binding", "post", "--relay-state", "r")
    assert code == 0
    assert report["binding"] == "post"
    assert report["url"] is None
    assert set(report["form_fields"]) == {"SAMLRequest", "RelayState"}
    assert report["form_fields"]["RelayState"] == "r"
    request = form_message(report["form_fields"])
    _check_authn_request(request, report["request_id"], test_idp.sso_url)
    assert request.find("ds:Signature", NS) is None


@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_cli_login_url_signs_with_an_sp_key(
    capsys: pytest.CaptureFixture[str],
    idp_metadata: Path,
    tmp_path: Path,
    signing: Pair,
    binding: str,
) -> None:
    key_file = tmp_path / "sp.key"
    key_file.write_bytes(
        signing[0].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    code, report = login_url(capsys, idp_metadata, "--binding", binding, "--sp-key", str(key_file))
    assert code == 0
    if binding == "redirect":
        verify_query_signature(report["url"], signing[1])
        return
    request = form_message(report["form_fields"])
    signature = signature_child(request, "AuthnRequest")
    assert signature is not None
    verified = verify_enveloped(
        request, signature, certificates=(signing[1],), allow_sha1=False, what="AuthnRequest"
    )
    assert verified.element.get("ID") == report["request_id"]


def test_cli_login_url_without_json_prints_the_url_and_the_request_id(
    capsys: pytest.CaptureFixture[str], idp_metadata: Path, test_idp: TestIdP
) -> None:
    code, out, err = run(
        capsys,
        "login-url",
        "--idp-metadata", str(idp_metadata),
        "--sp-entity-id", SP_ENTITY_ID,
        "--acs-url", ACS_URL,
    )  # fmt: skip
    assert code == 0
    url = out.strip()
    assert url.startswith(test_idp.sso_url + "?SAMLRequest=")
    request = etree.fromstring(inflate(params(url)["SAMLRequest"]))
    assert f"request ID: {request.get('ID')}" in err


def test_cli_login_url_post_without_json_prints_the_form(
    capsys: pytest.CaptureFixture[str], idp_metadata: Path, test_idp: TestIdP
) -> None:
    code, out, _ = run(
        capsys,
        "login-url",
        "--idp-metadata", str(idp_metadata),
        "--sp-entity-id", SP_ENTITY_ID,
        "--acs-url", ACS_URL,
        "--binding", "post",
    )  # fmt: skip
    assert code == 0
    assert f'action="{test_idp.sso_url}"' in out
    assert 'name="SAMLRequest"' in out


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--sp-entity-id", SP_ENTITY_ID, "--acs-url", ACS_URL], id="no-metadata"),
        pytest.param(["--idp-metadata", "{metadata}", "--acs-url", ACS_URL], id="no-entity-id"),
        pytest.param(["--idp-metadata", "{metadata}", "--sp-entity-id", "x"], id="no-acs-url"),
        pytest.param(
            ["--idp-metadata", "{metadata}", "--sp-entity-id", "x", "--acs-url", "acs"],
            id="relative-acs-url",
        ),
        pytest.param(
            ["--idp-metadata", "{missing}", "--sp-entity-id", "x", "--acs-url", ACS_URL],
            id="metadata-missing",
        ),
        pytest.param(
            ["--idp-metadata", "{metadata}", "--sp-entity-id", "x", "--acs-url", ACS_URL,
             "--binding", "artifact"],
            id="unknown-binding",
        ),
        pytest.param(
            ["--idp-metadata", "{metadata}", "--sp-entity-id", "x", "--acs-url", ACS_URL,
             "--sp-key", "{garbage}"],
            id="sp-key-not-pem",
        ),
        pytest.param(
            ["--idp-metadata", "{post_only}", "--sp-entity-id", "x", "--acs-url", ACS_URL,
             "--binding", "redirect"],
            id="binding-not-offered",
        ),
    ],
)  # fmt: skip
def test_cli_login_url_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str],
    idp_metadata: Path,
    tmp_path: Path,
    test_idp: TestIdP,
    argv: list[str],
) -> None:
    (tmp_path / "garbage.pem").write_text("not a key\n")
    post_only = tmp_path / "post-only.xml"
    post_only.write_bytes(
        metadata_without(test_idp.metadata_xml, element="SingleSignOnService", binding=REDIRECT)
    )
    files = {
        "metadata": str(idp_metadata),
        "missing": str(tmp_path / "nope.xml"),
        "garbage": str(tmp_path / "garbage.pem"),
        "post_only": str(post_only),
    }
    argv = [a.format(**files) for a in argv]
    code, out, err = run(capsys, "login-url", *argv)
    assert code == 2
    assert out == ""
    assert re.search(r"^samljit( [a-z-]+)?: error:", err, re.MULTILINE)
    code, out, _ = run(capsys, "login-url", *argv, "--json")
    assert code == 2
    assert json.loads(out)["error"]["code"] == "usage_error"


def test_cli_login_url_with_unusable_metadata_is_rejected(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<not-metadata/>")
    code, report = login_url(capsys, bad)
    assert code == 1
    assert report["ok"] is False
    assert report["error"]["code"].startswith("metadata_")
