"""IdP metadata, as administrators paste it, into a trusted IdentityProvider.

The interop files (../shared/interop/metadata) are checked against that folder's README table;
the synthetic cases cover the mistakes and the key-rollover story the table does not.
Trust comes from the IDPSSODescriptor's signing keys only (SAML metadata 2.4.1.1: a
KeyDescriptor without ``use`` serves both purposes).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree

import samljit
from samljit.testing import EMAIL_ADDRESS, IssuedResponse, TestIdP, make_certificate

from .conftest import ACS_URL, INTEROP, NOW, SP_ENTITY_ID

KeyPair = tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, x509.Certificate]

METADATA = INTEROP / "metadata"
NS = {"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": "http://www.w3.org/2000/09/xmldsig#"}
SAML2 = "urn:oasis:names:tc:SAML:2.0:protocol"
WARNING_CODES = {
    "certificate_expired",
    "certificate_expiring",
    "certificate_sha1",
    "certificate_weak_key",
    "metadata_expired",
}


def parse(
    name: str, *, entity_id: str | None = None, now: datetime = NOW
) -> samljit.ParsedMetadata:
    return samljit.parse_idp_metadata((METADATA / name).read_bytes(), entity_id=entity_id, now=now)


def codes(parsed: samljit.ParsedMetadata) -> list[str]:
    return [warning.code for warning in parsed.warnings]


def fingerprints(idp: samljit.IdentityProvider) -> set[str]:
    return {samljit.metadata.certificate_sha256(cert) for cert in idp.signing_certificates}


def _der(text: str) -> bytes:
    data = base64.b64decode("".join(text.split()))
    if data.lstrip().startswith(b"-----BEGIN"):  # a whole PEM file, base64-encoded again
        body = [line for line in data.decode().splitlines() if line and "-----" not in line]
        data = base64.b64decode("".join(body))
    return data


def listed(path: Path, entity_id: str, *uses: str | None) -> set[str]:
    """SHA-256 fingerprints of the certificates in the entity's SAML 2.0 IDPSSODescriptor
    whose KeyDescriptor has one of ``uses`` (None: no use attribute), read from the file."""
    root = etree.parse(str(path)).getroot()
    found: set[str] = set()
    for entity in root.iter(f"{{{NS['md']}}}EntityDescriptor"):
        if entity.get("entityID") != entity_id:
            continue
        for descriptor in entity.iterfind("md:IDPSSODescriptor", NS):
            if SAML2 not in descriptor.get("protocolSupportEnumeration", "").split():
                continue
            for key in descriptor.iterfind("md:KeyDescriptor", NS):
                if key.get("use") in uses:
                    for cert in key.iterfind(".//ds:X509Certificate", NS):
                        found.add(hashlib.sha256(_der(cert.text or "")).hexdigest())
    return found


def saml2_idps(path: Path) -> list[str]:
    """Entity IDs of every entity with a SAML 2.0 IDPSSODescriptor, read from the file."""
    root = etree.parse(str(path)).getroot()
    return [
        entity.get("entityID", "")
        for entity in root.iter(f"{{{NS['md']}}}EntityDescriptor")
        if any(
            SAML2 in d.get("protocolSupportEnumeration", "").split()
            for d in entity.iterfind("md:IDPSSODescriptor", NS)
        )
    ]


# --- the interop files, as the README table says -------------------------------------------


@dataclass(frozen=True)
class Parses:
    entity_id: str
    signing_certificates: int
    valid_until: datetime | None = None


GOOGLE = "https://accounts.google.com/o/saml2?idpid=C01nccos6"
TESTSHIB = "https://idp.testshib.org/idp/shibboleth"

PARSES = {
    "adfs-federationmetadata-signed.xml": Parses("http://adfs.server.url/adfs/services/trust", 1),
    "entra-id-federationmetadata-signed.xml": Parses(
        "https://sts.windows.net/239f867f-feea-452e-a800-6859e696161c/", 1
    ),
    "google-workspace-idp-two-signing-keys.xml": Parses(
        GOOGLE, 2, datetime(2022, 4, 20, 0, 56, 59, tzinfo=UTC)
    ),
    "google-workspace-idp-useless-and-encryption-keys.xml": Parses(
        GOOGLE, 1, datetime(2022, 4, 20, 0, 56, 59, tzinfo=UTC)
    ),
    "google-workspace-idp-validuntil.xml": Parses(
        "https://accounts.google.com/o/saml2?idpid=C02dfl1r1",
        1,
        datetime(2021, 1, 3, 16, 17, 49, tzinfo=UTC),
    ),
    "okta-idp.xml": Parses("http://www.okta.com/exkppsa1qwuFV4D7z0h7", 1),
    "onelogin-idp-sign-and-encrypt-keys.xml": Parses(
        "https://app.onelogin.com/saml/metadata/383123", 1
    ),
    "onelogin-idp.xml": Parses("https://app.onelogin.com/saml/metadata/503983", 1),
    "openam-opensso-idp.xml": Parses("http://sso.dev.venda.com/opensso", 1),
    "secureworks-idp.xml": Parses("https://idp.secureworks.com/SAML2", 1),
    "shibboleth-samltest-id-two-signing-keys-validuntil.xml": Parses(
        "https://samltest.id/saml/idp", 2, datetime(2100, 1, 1, 0, 0, 42, tzinfo=UTC)
    ),
    "shibboleth-testshib-entitiesdescriptor-idp-and-sp.xml": Parses(TESTSHIB, 1),
    "shibboleth-testshib-idp-useless-keydescriptor.xml": Parses(TESTSHIB, 1),
    "sustainsys-stubidp-signed-validuntil.xml": Parses(
        "https://stubidp.sustainsys.com/Metadata", 1, datetime(2022, 3, 16, 14, 3, 6, tzinfo=UTC)
    ),
    "three-signing-keys.xml": Parses("https://idp.examle.com/saml/metadata", 3),
}
FAILS = {
    "swamid-federation-aggregate.xml": "metadata_ambiguous",
    "two-idp-entities-in-entitiesdescriptor.xml": "metadata_ambiguous",
    "wrong-sp-metadata-named-idp-metadata.xml": "metadata_is_sp",
    "wrong-sp-metadata-no-idpssodescriptor.xml": "metadata_is_sp",
}


def test_every_interop_metadata_file_has_an_expectation() -> None:
    """A file added to the folder without a row here fails the suite."""
    assert {p.name for p in METADATA.glob("*.xml")} == set(PARSES) | set(FAILS)


@pytest.mark.parametrize("name", sorted(PARSES))
def test_interop_metadata_parses_to_the_documented_idp(name: str) -> None:
    expected = PARSES[name]
    idp = parse(name).idp
    assert idp.entity_id == expected.entity_id
    assert len(idp.signing_certificates) == expected.signing_certificates
    assert idp.valid_until == expected.valid_until


PASTED_PADDING = ["\n\n  ", "\r\n\r\n", "\t \n", " "]


@pytest.mark.parametrize("padding", PASTED_PADDING, ids=repr)
@pytest.mark.parametrize("name", sorted(PARSES))
def test_interop_metadata_pasted_after_blank_lines_parses_the_same(name: str, padding: str) -> None:
    """A textarea gives blank lines or spaces before ``<?xml ...?>``; XML allows the
    declaration only at the first byte, so samljit drops that leading whitespace."""
    text = (METADATA / name).read_text(encoding="utf-8")
    expected = parse(name).idp
    assert samljit.parse_idp_metadata(padding + text, now=NOW).idp == expected
    as_bytes = (padding + text).encode("utf-8")
    assert samljit.parse_idp_metadata(as_bytes, now=NOW).idp == expected


def test_metadata_after_a_byte_order_mark_and_blank_lines_parses() -> None:
    raw = (METADATA / "okta-idp.xml").read_bytes()
    assert raw.startswith(b"<")
    padded = b"\xef\xbb\xbf\n\n  " + b'<?xml version="1.0" encoding="UTF-8"?>\n' + raw
    assert samljit.parse_idp_metadata(padded, now=NOW).idp == parse("okta-idp.xml").idp


@pytest.mark.parametrize("padding", ["\u00a0", "\u3000", "\x0c"], ids=repr)
def test_metadata_after_other_characters_than_ascii_whitespace_is_metadata_invalid(
    padding: str,
) -> None:
    text = (METADATA / "onelogin-idp.xml").read_text(encoding="utf-8")
    with pytest.raises(samljit.SamlError) as caught:
        samljit.parse_idp_metadata(padding + text, now=NOW)
    assert caught.value.code == "metadata_invalid"


@pytest.mark.parametrize("name", sorted(PARSES))
def test_interop_metadata_keeps_exactly_the_idp_signing_certificates(name: str) -> None:
    """Every certificate of a KeyDescriptor use="signing" or without use, in the IdP role;
    none from encryption keys, other roles, the metadata's own signature or comments."""
    idp = parse(name).idp
    assert fingerprints(idp) == listed(METADATA / name, idp.entity_id, "signing", None)


@pytest.mark.parametrize("name", sorted(PARSES))
def test_interop_metadata_warns_when_its_valid_until_has_passed(name: str) -> None:
    """validUntil is read; judged at NOW, a past one gives a metadata_expired warning."""
    parsed = parse(name)
    expected = PARSES[name].valid_until
    assert ("metadata_expired" in codes(parsed)) == (expected is not None and expected <= NOW)
    assert all(isinstance(w, samljit.metadata.MetadataWarning) for w in parsed.warnings)
    assert set(codes(parsed)) <= WARNING_CODES


@pytest.mark.parametrize(
    "name",
    [
        "google-workspace-idp-useless-and-encryption-keys.xml",
        "onelogin-idp-sign-and-encrypt-keys.xml",
        "shibboleth-samltest-id-two-signing-keys-validuntil.xml",
    ],
)
def test_encryption_only_keys_are_not_trusted_for_signatures(name: str) -> None:
    idp = parse(name).idp
    encryption = listed(METADATA / name, idp.entity_id, "encryption")
    assert encryption
    assert not fingerprints(idp) & (encryption - listed(METADATA / name, idp.entity_id, "signing"))


@pytest.mark.parametrize(
    "name",
    [
        "google-workspace-idp-two-signing-keys.xml",
        "shibboleth-samltest-id-two-signing-keys-validuntil.xml",
        "three-signing-keys.xml",
    ],
)
def test_every_listed_signing_key_is_kept_for_rollover(name: str) -> None:
    idp = parse(name).idp
    assert len(fingerprints(idp)) == PARSES[name].signing_certificates


def test_a_commented_out_key_is_not_trusted() -> None:
    """TestShib lists its old signing key inside an XML comment: only the new one counts."""
    idp = parse("shibboleth-testshib-entitiesdescriptor-idp-and-sp.xml").idp
    (cert,) = idp.signing_certificates
    assert cert.not_valid_after_utc.year == 2036  # the "new signing key"


def test_a_valid_until_before_now_is_not_a_warning_earlier() -> None:
    """The same file, judged before its validUntil, gives no metadata_expired warning."""
    parsed = parse("google-workspace-idp-validuntil.xml", now=datetime(2020, 12, 1, tzinfo=UTC))
    assert "metadata_expired" not in codes(parsed)


def test_entities_descriptor_with_one_idp_and_one_sp_yields_the_idp() -> None:
    idp = parse("shibboleth-testshib-entitiesdescriptor-idp-and-sp.xml").idp
    assert idp.entity_id == TESTSHIB
    assert idp.sso_service(samljit.bindings.BINDING_HTTP_POST) == samljit.metadata.Endpoint(
        binding=samljit.bindings.BINDING_HTTP_POST,
        location="https://idp.testshib.org/idp/profile/SAML2/POST/SSO",
    )


@pytest.mark.parametrize("name", sorted(FAILS))
def test_interop_metadata_that_is_not_one_idp_is_refused(name: str) -> None:
    with pytest.raises(samljit.SamlError) as info:
        parse(name)
    assert info.value.code == FAILS[name]


@pytest.mark.parametrize(
    "name", ["swamid-federation-aggregate.xml", "two-idp-entities-in-entitiesdescriptor.xml"]
)
def test_several_idps_are_refused_naming_every_one(name: str) -> None:
    """The administrator is told which entity IDs to choose from."""
    with pytest.raises(samljit.errors.MetadataAmbiguous) as info:
        parse(name)
    assert info.value.code == "metadata_ambiguous"
    assert isinstance(info.value.found, list)
    assert sorted(info.value.found) == sorted(saml2_idps(METADATA / name))


def test_the_swamid_aggregate_holds_36_saml2_idps() -> None:
    with pytest.raises(samljit.errors.MetadataAmbiguous) as info:
        parse("swamid-federation-aggregate.xml")
    assert isinstance(info.value.found, list)
    assert len(info.value.found) == 36


@pytest.mark.parametrize(
    "entity_id",
    [
        "https://idp.umu.se/saml2/idp/metadata.php",
        "https://login.liu.se/idp/shibboleth",
        "https://idp.nordu.net/idp/shibboleth",
    ],
)
def test_one_idp_is_picked_out_of_the_aggregate_by_entity_id(entity_id: str) -> None:
    path = METADATA / "swamid-federation-aggregate.xml"
    idp = parse(path.name, entity_id=entity_id).idp
    assert idp.entity_id == entity_id
    assert fingerprints(idp) == listed(path, entity_id, "signing", None)
    assert idp.signing_certificates


@pytest.mark.parametrize(
    ("entity_id", "wants_signed_requests"),
    [
        ("https://foo.example.com/access/saml/idp.xml", True),
        ("https://bar.example.com/access/saml/idp.xml", False),
    ],
)
def test_each_of_two_idps_can_be_chosen(entity_id: str, wants_signed_requests: bool) -> None:
    parsed = parse("two-idp-entities-in-entitiesdescriptor.xml", entity_id=entity_id)
    assert parsed.idp.entity_id == entity_id
    assert parsed.idp.want_authn_requests_signed is wants_signed_requests


def test_valid_until_of_the_enclosing_entities_descriptor_applies() -> None:
    """validUntil on an EntitiesDescriptor bounds every entity inside (metadata 2.3.1)."""
    parsed = parse(
        "two-idp-entities-in-entitiesdescriptor.xml",
        entity_id="https://foo.example.com/access/saml/idp.xml",
    )
    assert parsed.idp.valid_until == datetime(2014, 4, 17, 18, 2, 33, 910000, tzinfo=UTC)
    assert "metadata_expired" in codes(parsed)


@pytest.mark.parametrize(
    ("name", "entity_id"),
    [
        ("swamid-federation-aggregate.xml", "https://idp.example.org/not-in-swamid"),
        ("two-idp-entities-in-entitiesdescriptor.xml", "https://baz.example.com/idp.xml"),
        ("okta-idp.xml", "http://www.okta.com/someone-else"),
    ],
)
def test_a_wrong_entity_id_is_refused_listing_what_is_there(name: str, entity_id: str) -> None:
    with pytest.raises(samljit.errors.MetadataEntityNotFound) as info:
        parse(name, entity_id=entity_id)
    assert info.value.code == "metadata_entity_not_found"
    assert info.value.expected == entity_id
    assert isinstance(info.value.found, list)
    assert sorted(info.value.found) == sorted(saml2_idps(METADATA / name))


def test_choosing_the_entity_id_of_a_single_entity_descriptor_is_allowed() -> None:
    entity_id = PARSES["okta-idp.xml"].entity_id
    assert parse("okta-idp.xml", entity_id=entity_id).idp.entity_id == entity_id


def test_endpoints_are_read_per_binding() -> None:
    idp = parse("openam-opensso-idp.xml").idp
    post = idp.sso_service(samljit.bindings.BINDING_HTTP_POST)
    redirect = idp.sso_service(samljit.bindings.BINDING_HTTP_REDIRECT)
    assert post is not None
    assert redirect is not None
    assert post.location == "http://sso.dev.venda.com/opensso/SSOPOST/metaAlias/idp"
    assert redirect.location == "http://sso.dev.venda.com/opensso/SSORedirect/metaAlias/idp"


# --- synthetic metadata ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def second_key() -> KeyPair:
    """A second key pair, as an IdP publishes before it rotates."""
    return make_certificate(common_name="samljit test IdP (next)")


def edited(xml: bytes, edit: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(xml)
    edit(root)
    return etree.tostring(root)


def descriptor(root: etree._Element) -> etree._Element:
    found = root.find("md:IDPSSODescriptor", NS)
    assert found is not None
    return found


def key_descriptors(root: etree._Element) -> list[etree._Element]:
    return descriptor(root).findall("md:KeyDescriptor", NS)


def drop_keys(root: etree._Element) -> None:
    for key in key_descriptors(root):
        descriptor(root).remove(key)


def set_use(use: str) -> Callable[[etree._Element], None]:
    def edit(root: etree._Element) -> None:
        for key in key_descriptors(root):
            key.set("use", use)

    return edit


def set_certificate_text(text: str) -> Callable[[etree._Element], None]:
    def edit(root: etree._Element) -> None:
        for cert in descriptor(root).iterfind(".//ds:X509Certificate", NS):
            cert.text = text

    return edit


def keep_key_name_only(root: etree._Element) -> None:
    for key in key_descriptors(root):
        info = key.find("ds:KeyInfo", NS)
        assert info is not None
        for child in list(info):
            info.remove(child)
        etree.SubElement(info, f"{{{NS['ds']}}}KeyName").text = "idp-signing"


def test_the_test_idp_metadata_parses(test_idp: TestIdP) -> None:
    parsed = samljit.parse_idp_metadata(test_idp.metadata_xml, now=NOW)
    assert parsed.idp.entity_id == test_idp.entity_id
    assert parsed.idp.signing_certificates == (test_idp.certificate,)
    assert parsed.idp.name_id_formats == (EMAIL_ADDRESS,)
    assert parsed.warnings == ()


def test_metadata_given_as_text_reads_the_same_as_bytes(test_idp: TestIdP) -> None:
    as_text = samljit.parse_idp_metadata(test_idp.metadata_xml.decode("utf-8"), now=NOW)
    assert as_text == samljit.parse_idp_metadata(test_idp.metadata_xml, now=NOW)


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(drop_keys, id="no-key-descriptor"),
        pytest.param(set_use("encryption"), id="encryption-key-only"),
        pytest.param(keep_key_name_only, id="key-name-without-certificate"),
        pytest.param(set_certificate_text(""), id="empty-certificate"),
    ],
)
def test_metadata_without_a_signing_certificate_is_refused(
    test_idp: TestIdP, edit: Callable[[etree._Element], None]
) -> None:
    """No signing certificate: no response could ever be verified, so say so now."""
    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(edited(test_idp.metadata_xml, edit), now=NOW)
    assert info.value.code == "metadata_no_signing_key"


def test_an_encryption_only_key_next_to_the_signing_key_is_ignored(
    test_idp: TestIdP, second_key: KeyPair
) -> None:
    _, other = second_key

    def add_encryption_key(root: etree._Element) -> None:
        (signing,) = key_descriptors(root)
        encryption = etree.fromstring(etree.tostring(signing))
        encryption.set("use", "encryption")
        cert = encryption.find(".//ds:X509Certificate", NS)
        assert cert is not None
        cert.text = base64.b64encode(other.public_bytes(serialization.Encoding.DER)).decode()
        signing.addnext(encryption)

    xml = edited(test_idp.metadata_xml, add_encryption_key)
    assert xml.count(b"X509Certificate>") == 4
    idp = samljit.parse_idp_metadata(xml, now=NOW).idp
    assert idp.signing_certificates == (test_idp.certificate,)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("not base64 at all!", id="not-base64"),
        pytest.param(base64.b64encode(b"hello, certificate").decode(), id="not-der"),
        pytest.param("MIIC", id="truncated-der"),
        pytest.param("MIICwjCCAaqgAwIBAgIU===", id="bad-padding"),
    ],
)
def test_an_unreadable_signing_certificate_is_refused(test_idp: TestIdP, text: str) -> None:
    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(edited(test_idp.metadata_xml, set_certificate_text(text)))
    assert info.value.code == "metadata_bad_certificate"


def test_a_truncated_certificate_is_refused(test_idp: TestIdP) -> None:
    der = test_idp.certificate.public_bytes(serialization.Encoding.DER)
    text = base64.b64encode(der[: len(der) // 2]).decode()
    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(edited(test_idp.metadata_xml, set_certificate_text(text)))
    assert info.value.code == "metadata_bad_certificate"


def test_a_certificate_wrapped_over_lines_is_read(test_idp: TestIdP) -> None:
    """Metadata tools wrap base64 at 64 or 76 columns, with indentation."""
    der = test_idp.certificate.public_bytes(serialization.Encoding.DER)
    text = base64.b64encode(der).decode()
    wrapped = "\n" + "".join(f"    {text[i : i + 64]}\n" for i in range(0, len(text), 64))
    xml = edited(test_idp.metadata_xml, set_certificate_text(wrapped))
    assert samljit.parse_idp_metadata(xml, now=NOW).idp.signing_certificates == (
        test_idp.certificate,
    )


def test_a_saml_response_pasted_as_metadata_is_refused(
    issue: Callable[..., IssuedResponse],
) -> None:
    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(issue().xml, now=NOW)
    assert info.value.code == "metadata_invalid"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"hello, metadata", id="text"),
        pytest.param(b"\x00\xff\x10garbage", id="binary"),
        pytest.param(b'{"entityID": "https://idp.example.test"}', id="json"),
        pytest.param(b"<html><body>Download metadata</body></html>", id="html-page"),
        pytest.param(b"<md:EntityDescriptor", id="truncated"),
        pytest.param(
            b"-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n", id="a-pem-cert"
        ),
        pytest.param("https://idp.example.test/metadata", id="a-url-instead"),
    ],
)
def test_garbage_is_refused_as_invalid_metadata(data: bytes | str) -> None:
    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(data, now=NOW)
    assert info.value.code == "metadata_invalid"


@pytest.mark.parametrize(
    "doctype",
    [
        pytest.param(b"<!DOCTYPE md:EntityDescriptor [<!ELEMENT x ANY>]>", id="internal-subset"),
        pytest.param(
            b'<!DOCTYPE md:EntityDescriptor [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            id="xxe",
        ),
        pytest.param(
            b'<!DOCTYPE md:EntityDescriptor [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
            id="entity-expansion",
        ),
    ],
)
def test_a_doctype_in_metadata_is_refused(test_idp: TestIdP, doctype: bytes) -> None:
    body = test_idp.metadata_xml.split(b"?>", 1)[1]
    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(doctype + body, now=NOW)
    assert info.value.code == "metadata_invalid"
    assert "root:" not in str(info.value)


@pytest.mark.parametrize(
    "protocols",
    [
        pytest.param("urn:oasis:names:tc:SAML:1.1:protocol", id="saml-1.1-only"),
        pytest.param("urn:mace:shibboleth:1.0 urn:oasis:names:tc:SAML:1.0:protocol", id="shib"),
        pytest.param("urn:oasis:names:tc:SAML:2.0:protocolX", id="near-miss"),
        pytest.param("", id="empty"),
        pytest.param(None, id="missing"),
    ],
)
def test_an_idp_descriptor_without_saml2_is_refused(
    test_idp: TestIdP, protocols: str | None
) -> None:
    """Only an IDPSSODescriptor listing the SAML 2.0 protocol describes a SAML 2.0 IdP."""

    def edit(root: etree._Element) -> None:
        if protocols is None:
            del descriptor(root).attrib["protocolSupportEnumeration"]
        else:
            descriptor(root).set("protocolSupportEnumeration", protocols)

    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(edited(test_idp.metadata_xml, edit), now=NOW)
    assert info.value.code == "metadata_no_idp"


def test_saml2_among_other_protocols_is_accepted(test_idp: TestIdP) -> None:
    def edit(root: etree._Element) -> None:
        descriptor(root).set(
            "protocolSupportEnumeration",
            "urn:oasis:names:tc:SAML:1.1:protocol  urn:oasis:names:tc:SAML:2.0:protocol\n",
        )

    idp = samljit.parse_idp_metadata(edited(test_idp.metadata_xml, edit), now=NOW).idp
    assert idp.entity_id == test_idp.entity_id


@pytest.mark.parametrize(
    "value",
    [
        "tomorrow",
        "",
        "2024-13-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_an_unreadable_valid_until_is_refused(test_idp: TestIdP, value: str) -> None:
    """validUntil must be an xs:dateTime that exists on the calendar."""
    xml = edited(test_idp.metadata_xml, lambda root: root.set("validUntil", value))
    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(xml, now=NOW)
    assert info.value.code == "metadata_invalid"


@pytest.mark.parametrize(
    ("valid_until", "expired"),
    [(NOW + timedelta(days=1), False), (NOW - timedelta(seconds=1), True)],
)
def test_valid_until_is_judged_at_now(
    test_idp: TestIdP, valid_until: datetime, expired: bool
) -> None:
    parsed = samljit.parse_idp_metadata(test_idp.metadata(valid_until=valid_until), now=NOW)
    assert parsed.idp.valid_until == valid_until
    assert ("metadata_expired" in codes(parsed)) is expired


@pytest.mark.parametrize(
    ("not_after", "warning"),
    [
        pytest.param(NOW + timedelta(days=10), "certificate_expiring", id="in-10-days"),
        pytest.param(NOW - timedelta(days=1), "certificate_expired", id="yesterday"),
        pytest.param(NOW + timedelta(days=365), None, id="in-a-year"),
    ],
)
def test_certificate_expiry_is_a_warning(not_after: datetime, warning: str | None) -> None:
    """An expiring or expired certificate still verifies (trust is pinned), but the admin is
    warned so the IdP's successor key can be published in time."""
    key, certificate = make_certificate(key_type="ec", not_after=not_after)
    idp = TestIdP(key=key, certificate=certificate)
    parsed = samljit.parse_idp_metadata(idp.metadata_xml, now=NOW)
    assert parsed.idp.signing_certificates == (certificate,)
    found = [w.code for w in parsed.warnings if w.code.startswith("certificate_expir")]
    assert found == ([warning] if warning else [])
    assert all(isinstance(w, samljit.metadata.MetadataWarning) for w in parsed.warnings)


def test_metadata_over_its_size_limit_is_refused(test_idp: TestIdP) -> None:
    limits = samljit.Limits(max_bytes=100, max_depth=64, max_nodes=10_000)
    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(test_idp.metadata_xml, now=NOW, limits=limits)
    assert info.value.code == "metadata_invalid"


def test_now_must_be_timezone_aware(test_idp: TestIdP) -> None:
    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(test_idp.metadata_xml, now=datetime(2026, 11, 25))  # noqa: DTZ001
    assert info.value.code == "configuration_invalid"


# --- key rollover ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rollover_idp(test_idp: TestIdP, second_key: KeyPair) -> samljit.IdentityProvider:
    """The IdP's metadata during a rollover: the current and the next certificate."""
    _, next_certificate = second_key
    xml = test_idp.metadata(extra_certificates=[next_certificate])
    return samljit.parse_idp_metadata(xml, now=NOW).idp


def test_both_rollover_certificates_are_kept(
    rollover_idp: samljit.IdentityProvider, test_idp: TestIdP, second_key: KeyPair
) -> None:
    assert rollover_idp.signing_certificates == (test_idp.certificate, second_key[1])


@pytest.mark.parametrize("signer", ["current", "next"])
def test_a_response_signed_by_either_rollover_key_verifies(
    rollover_idp: samljit.IdentityProvider,
    test_idp: TestIdP,
    second_key: KeyPair,
    issue: Callable[..., IssuedResponse],
    verify: Callable[..., samljit.Assertion],
    signer: str,
) -> None:
    key, certificate = (test_idp.key, test_idp.certificate) if signer == "current" else second_key
    issued = issue(signing_key=key, signing_certificate=certificate)
    assertion = verify(issued.form_value, idp=rollover_idp)
    assert assertion.name_id.value == "ada@acme.test"
    assert assertion.signing_certificate_sha256 == samljit.metadata.certificate_sha256(certificate)


def test_a_response_signed_by_the_next_key_is_refused_before_it_is_published(
    idp: samljit.IdentityProvider,
    second_key: KeyPair,
    issue: Callable[..., IssuedResponse],
    verify: Callable[..., samljit.Assertion],
) -> None:
    """Until the metadata lists the new certificate, its signatures are not trusted, even
    though the response carries the certificate in its KeyInfo."""
    key, certificate = second_key
    issued = issue(signing_key=key, signing_certificate=certificate)
    with pytest.raises(samljit.SamlError) as info:
        verify(issued.form_value, idp=idp)
    assert info.value.code == "untrusted_key"


# --- endpoints and flags -------------------------------------------------------------------


def test_sso_and_slo_endpoints_are_read_per_binding(
    idp: samljit.IdentityProvider, test_idp: TestIdP
) -> None:
    for binding in (samljit.bindings.BINDING_HTTP_POST, samljit.bindings.BINDING_HTTP_REDIRECT):
        sso = idp.sso_service(binding)
        slo = idp.slo_service(binding)
        assert sso == samljit.metadata.Endpoint(binding=binding, location=test_idp.sso_url)
        assert slo == samljit.metadata.Endpoint(binding=binding, location=test_idp.slo_url)


def test_a_binding_the_idp_does_not_offer_has_no_endpoint(idp: samljit.IdentityProvider) -> None:
    assert idp.sso_service("urn:oasis:names:tc:SAML:2.0:bindings:SOAP") is None
    assert idp.slo_service("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact") is None


@pytest.mark.parametrize("wanted", [True, False])
def test_want_authn_requests_signed_is_read(test_idp: TestIdP, wanted: bool) -> None:
    xml = test_idp.metadata(want_authn_requests_signed=wanted)
    assert samljit.parse_idp_metadata(xml, now=NOW).idp.want_authn_requests_signed is wanted


def test_want_authn_requests_signed_defaults_to_false(test_idp: TestIdP) -> None:
    xml = edited(
        test_idp.metadata_xml,
        lambda root: descriptor(root).attrib.pop("WantAuthnRequestsSigned"),
    )
    assert samljit.parse_idp_metadata(xml, now=NOW).idp.want_authn_requests_signed is False


def test_sp_metadata_for_this_sp_is_refused_as_sp_metadata() -> None:
    """The classic mistake: pasting the SP's own metadata where the IdP's belongs."""
    xml = (
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'entityID="{SP_ENTITY_ID}"><md:SPSSODescriptor '
        f'protocolSupportEnumeration="{SAML2}"><md:AssertionConsumerService '
        f'Binding="{samljit.bindings.BINDING_HTTP_POST}" Location="{ACS_URL}" index="0"/>'
        "</md:SPSSODescriptor></md:EntityDescriptor>"
    )
    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(xml, now=NOW)
    assert info.value.code == "metadata_is_sp"


def _aggregate(*entities: bytes, valid_until: str | None = None) -> bytes:
    """An EntitiesDescriptor holding ``entities`` (EntityDescriptor documents)."""
    attribute = f' validUntil="{valid_until}"' if valid_until else ""
    inner = b"".join(e.split(b"?>", 1)[-1] for e in entities)
    return (
        f'<md:EntitiesDescriptor xmlns:md="{NS["md"]}"{attribute}>'.encode()
        + inner
        + b"</md:EntitiesDescriptor>"
    )


def _sp_entity(entity_id: str) -> bytes:
    return (
        f'<md:EntityDescriptor xmlns:md="{NS["md"]}" entityID="{entity_id}">'
        f'<md:SPSSODescriptor protocolSupportEnumeration="{SAML2}"><md:AssertionConsumerService '
        f'Binding="{samljit.bindings.BINDING_HTTP_POST}" Location="{ACS_URL}" index="0"/>'
        "</md:SPSSODescriptor></md:EntityDescriptor>"
    ).encode()


def test_an_aggregate_of_sp_metadata_only_is_refused_as_sp_metadata() -> None:
    xml = _aggregate(_sp_entity(SP_ENTITY_ID), _sp_entity("https://other-sp.test"))
    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(xml, now=NOW)
    assert info.value.code == "metadata_is_sp"


def test_an_idp_role_without_saml2_next_to_an_sp_role_is_no_saml2_idp(test_idp: TestIdP) -> None:
    """The entity is an identity provider, for SAML 1.1 only: that is what the administrator
    is told, not that the metadata is an SP's."""

    def edit(root: etree._Element) -> None:
        descriptor(root).set("protocolSupportEnumeration", "urn:oasis:names:tc:SAML:1.1:protocol")
        sp = etree.SubElement(
            root, f"{{{NS['md']}}}SPSSODescriptor", protocolSupportEnumeration=SAML2
        )
        etree.SubElement(
            sp,
            f"{{{NS['md']}}}AssertionConsumerService",
            Binding=samljit.bindings.BINDING_HTTP_POST,
            Location=ACS_URL,
            index="0",
        )

    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(edited(test_idp.metadata_xml, edit), now=NOW)
    assert info.value.code == "metadata_no_idp"


def test_a_certificate_with_characters_outside_base64_is_refused(test_idp: TestIdP) -> None:
    """Certificates are strict base64 (whitespace aside): a character outside the alphabet is
    not skipped over, so no two readers can see different keys in the same text."""
    text = base64.b64encode(test_idp.certificate.public_bytes(serialization.Encoding.DER)).decode()
    damaged = text[:40] + "*" + text[40:]
    with pytest.raises(samljit.SamlError) as info:
        samljit.parse_idp_metadata(edited(test_idp.metadata_xml, set_certificate_text(damaged)))
    assert info.value.code == "metadata_bad_certificate"


def test_the_earliest_valid_until_applies(test_idp: TestIdP) -> None:
    """An entity's own later validUntil does not extend its enclosing EntitiesDescriptor's
    (metadata 2.3.1): the earliest bound is the IdP's."""
    earlier, later = NOW - timedelta(days=1), NOW + timedelta(days=1)
    xml = _aggregate(
        test_idp.metadata(valid_until=later), valid_until=earlier.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    parsed = samljit.parse_idp_metadata(xml, now=NOW)
    assert parsed.idp.valid_until == earlier
    assert "metadata_expired" in codes(parsed)
