"""Certificates cryptography cannot read give a SamlError, never cryptography's exceptions.

An invalid X.509 version, an unknown public-key or signature algorithm OID, an impossible date,
a truncated DER (built in ``fuzz/certificates.py``): in metadata such a certificate is
``metadata_bad_certificate``; in a message's KeyInfo, which is only a hint for which metadata key
to try first, it is ignored, and the message is judged by its signature alone.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from lxml import etree

import samljit
from samljit.bindings import PrivateKey
from samljit.cli import main
from samljit.messages import serialize_signed
from samljit.stores.memory import MemoryRequestStore
from samljit.testing import TestIdP, make_certificate

from .conftest import ACS_URL, NOW, SP_ENTITY_ID
from .fuzz.certificates import ODD_VARIANTS, odd_certificates, with_certificate
from .sp_flows import SLO_URL, SP, App, account

Pair = tuple[PrivateKey, x509.Certificate]


@pytest.fixture(scope="module")
def stranger() -> Pair:
    """A key the IdP's metadata does not list."""
    return make_certificate(common_name="not the IdP")


@pytest.fixture(scope="module")
def second() -> Pair:
    """The IdP's next key, listed in its metadata beside the current one (rollover)."""
    return make_certificate(common_name="the IdP's next key")


def odd(test_idp: TestIdP, variant: str) -> bytes:
    return odd_certificates(test_idp.certificate)[variant]


def pem_wrapped(der: bytes) -> bytes:
    """What some tools put in X509Certificate: the base64 of a whole PEM file."""
    body = base64.encodebytes(der)
    return b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"


def signed_by(test_idp: TestIdP, pair: Pair, **knobs: Any) -> bytes:
    key, certificate = pair
    return test_idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        signing_key=key,
        signing_certificate=certificate,
        **knobs,
    ).xml


def verify(xml: bytes, idp: samljit.IdentityProvider) -> samljit.Assertion:
    return samljit.verify_response_xml(
        xml,
        idp=idp,
        sp=SP,
        now=NOW,
        allow_unsolicited=True,
    ).assertion


# --- in metadata ---------------------------------------------------------------------------


@pytest.mark.parametrize("wrapping", ["der", "pem"])
@pytest.mark.parametrize("variant", ODD_VARIANTS)
def test_an_unreadable_metadata_certificate_is_a_bad_certificate(
    test_idp: TestIdP, variant: str, wrapping: str
) -> None:
    der = odd(test_idp, variant)
    document = with_certificate(
        test_idp.metadata_xml, der if wrapping == "der" else pem_wrapped(der)
    )
    with pytest.raises(samljit.MetadataError) as caught:
        samljit.parse_idp_metadata(document, now=NOW)
    assert caught.value.code == "metadata_bad_certificate"


# --- in a message's KeyInfo ----------------------------------------------------------------


@pytest.mark.parametrize("variant", ODD_VARIANTS)
def test_an_unreadable_keyinfo_hint_is_ignored_when_the_signature_verifies(
    test_idp: TestIdP, second: Pair, variant: str
) -> None:
    """With two metadata keys the hint is read first, to pick the key to try; here it is
    unreadable, so every key is tried and the right one verifies."""
    metadata = test_idp.metadata(extra_certificates=[second[1]])
    idp = samljit.parse_idp_metadata(metadata, now=NOW).idp
    xml = with_certificate(signed_by(test_idp, second), odd(test_idp, variant))
    assert verify(xml, idp).name_id.value == "user@example.test"


@pytest.mark.parametrize("variant", ODD_VARIANTS)
def test_an_unreadable_keyinfo_hint_on_a_foreign_signature_is_signature_invalid(
    test_idp: TestIdP, idp: samljit.IdentityProvider, stranger: Pair, variant: str
) -> None:
    """The hint cannot name the stranger's key, so the error cannot say untrusted_key."""
    xml = with_certificate(signed_by(test_idp, stranger), odd(test_idp, variant))
    with pytest.raises(samljit.SamlError) as caught:
        verify(xml, idp)
    assert caught.value.code == "signature_invalid"


@pytest.mark.parametrize("variant", ODD_VARIANTS)
def test_complete_login_audits_a_foreign_signature_with_an_unreadable_hint(
    test_idp: TestIdP, stranger: Pair, variant: str
) -> None:
    app = App(
        request_store=MemoryRequestStore(),
        accounts=samljit.MemoryAccountStore([account("acme", test_idp.metadata_xml)]),
    )
    events: list[samljit.AuditEvent] = []
    app.rebuild(audit=events.append)
    xml = with_certificate(signed_by(test_idp, stranger), odd(test_idp, variant))
    form = {"SAMLResponse": base64.b64encode(xml).decode("ascii")}
    with pytest.raises(samljit.SamlError) as caught:
        app.service.complete_login(form, account_id="acme")
    assert caught.value.code == "signature_invalid"
    assert [(e.name, e.code) for e in events] == [("login_rejected", "signature_invalid")]


@pytest.mark.parametrize("variant", ODD_VARIANTS)
def test_a_logout_request_with_an_unreadable_hint_is_signature_invalid(
    test_idp: TestIdP, stranger: Pair, variant: str
) -> None:
    """The SLO endpoint answers a SamlError (an error page), not a 500."""
    idp_side = samljit.SPConfig(entity_id=test_idp.entity_id, acs_url="https://idp.test/unused")
    _, xml = samljit.logout.build_logout_request(
        sp=idp_side,
        destination=SLO_URL,
        name_id=samljit.NameID(value="ada@acme.test"),
        session_index="_session1",
        now=NOW,
        signing_key=stranger[0],
        signing_certificate=stranger[1],
    )
    xml = with_certificate(xml, odd(test_idp, variant))
    app = App(
        request_store=MemoryRequestStore(),
        accounts=samljit.MemoryAccountStore([account("acme", test_idp.metadata_xml)]),
        options={"sp_key": stranger[0], "sp_certificate": stranger[1]},
    )
    form = {"SAMLRequest": base64.b64encode(xml).decode("ascii")}
    with pytest.raises(samljit.SamlError) as caught:
        app.service.handle_logout("acme", form=form)
    assert caught.value.code == "signature_invalid"


# --- certificates the host app built itself ------------------------------------------------


def unreadable_key(test_idp: TestIdP) -> x509.Certificate:
    """A certificate cryptography loads but whose public key it cannot read."""
    return x509.load_der_x509_certificate(odd(test_idp, "unknown_key_algorithm"))


def test_a_host_built_idp_with_an_unreadable_key_still_verifies_with_its_good_one(
    test_idp: TestIdP,
) -> None:
    idp = samljit.IdentityProvider(
        entity_id=test_idp.entity_id,
        signing_certificates=(unreadable_key(test_idp), test_idp.certificate),
    )
    root = etree.fromstring(signed_by(test_idp, (test_idp.key, test_idp.certificate)))
    for key_info in root.iter("{http://www.w3.org/2000/09/xmldsig#}KeyInfo"):
        key_info.getparent().remove(key_info)  # no hint: the keys are tried in their order
    assert verify(etree.tostring(root), idp).issuer == test_idp.entity_id


def test_a_redirect_query_signature_skips_an_unreadable_key(test_idp: TestIdP) -> None:
    url = samljit.bindings.encode_redirect(
        b"<samlp:LogoutRequest/>", destination=SLO_URL, key=test_idp.key, relay_state="r"
    )
    message = samljit.bindings.decode_redirect(
        url.partition("?")[2],
        max_bytes=10_000,
        certificates=(unreadable_key(test_idp), test_idp.certificate),
    )
    assert message.signed


def test_metadata_signed_with_an_unreadable_keyinfo_hint_still_verifies(
    test_idp: TestIdP, second: Pair
) -> None:
    """The same rule for metadata signatures: the hint is ignored, the pinned keys decide."""
    root = etree.fromstring(test_idp.metadata_xml)
    root.set("ID", "_md1")
    root.insert(
        0,
        etree.Element(
            "{http://www.w3.org/2000/09/xmldsig#}Signature",
            Id="placeholder",
            nsmap={"ds": "http://www.w3.org/2000/09/xmldsig#"},
        ),
    )
    signed = serialize_signed(root, "_md1", second[0], second[1])
    # The signature comes first in the document, so its KeyInfo certificate is the first one.
    document = with_certificate(signed, odd(test_idp, "invalid_version"), index=0)
    pinned = (test_idp.certificate, second[1])
    parsed = samljit.parse_idp_metadata(document, now=NOW, signing_certificates=pinned)
    assert parsed.idp.entity_id == test_idp.entity_id


# --- metadata given as text ----------------------------------------------------------------


def test_metadata_text_with_a_lone_surrogate_is_metadata_invalid() -> None:
    """Text no document can contain (a lone surrogate) is refused, not a UnicodeEncodeError."""
    with pytest.raises(samljit.MetadataError) as caught:
        samljit.parse_idp_metadata("<md:EntityDescriptor>\ud800</md:EntityDescriptor>", now=NOW)
    assert caught.value.code == "metadata_invalid"


def test_metadata_text_decoded_with_surrogateescape_reads_as_its_bytes(test_idp: TestIdP) -> None:
    """A Latin-1 document read as UTF-8 with surrogateescape (as ``AccountConfig.to_dict``
    stores metadata) parses as the bytes it came from."""
    latin1 = test_idp.metadata_xml.replace(b"encoding='UTF-8'", b"encoding='ISO-8859-1'")
    latin1 = latin1.replace(b"</md:EntityDescriptor>", b"<!-- caf\xe9 --></md:EntityDescriptor>")
    text = latin1.decode("utf-8", "surrogateescape")
    assert samljit.parse_idp_metadata(text, now=NOW).idp.entity_id == test_idp.entity_id


def test_a_pasted_lone_surrogate_does_not_replace_the_copy_in_use(test_idp: TestIdP) -> None:
    source = samljit.MetadataSource.from_xml(test_idp.metadata_xml, now=NOW)
    result = source.load("<md:EntityDescriptor>\udfff</md:EntityDescriptor>", now=NOW)
    assert (result.ok, result.code, result.serving) == (False, "metadata_invalid", True)
    assert source.idp is not None


# --- certificate files: the SP's key pair, the CLI ------------------------------------------


def pem_file(path: Path, der: bytes) -> Path:
    path.write_bytes(pem_wrapped(der))
    return path


@pytest.mark.parametrize("variant", ODD_VARIANTS)
def test_an_unreadable_sp_certificate_file_is_a_config_error(
    tmp_path: Path, test_idp: TestIdP, variant: str
) -> None:
    key_file, certificate_file = tmp_path / "sp.key", tmp_path / "sp.crt"
    samljit.load_or_create_key_pair(key_file, certificate_file, common_name="sp")
    pem_file(certificate_file, odd(test_idp, variant))
    with pytest.raises(samljit.ConfigError) as caught:
        samljit.load_or_create_key_pair(key_file, certificate_file, common_name="sp")
    assert caught.value.code == "configuration_invalid"


@pytest.mark.parametrize(
    "argv",
    [
        ["metadata", "check", "idp.xml", "--metadata-cert", "{pem}"],
        ["sp-metadata", "--entity-id", SP_ENTITY_ID, "--acs-url", ACS_URL, "--cert", "{pem}"],
    ],
    ids=["metadata-check", "sp-metadata"],
)
@pytest.mark.parametrize("variant", ["invalid_version", "unknown_key_algorithm"])
def test_the_cli_reports_an_unreadable_certificate_file_as_a_usage_error(
    tmp_path: Path,
    test_idp: TestIdP,
    argv: list[str],
    variant: str,
) -> None:
    pem = pem_file(tmp_path / "odd.pem", odd(test_idp, variant))
    assert main([a.replace("{pem}", str(pem)) for a in argv]) == 2  # usage, not a traceback
