"""Work done for a message before its signature is verified is bounded by the message's size.

Anyone can POST to the ACS. What such a request can make samljit do before a key is used
(parsing, canonicalizing SignedInfo, RSA decryptions, caches) is refused at a bound instead of
done. The costs themselves are measured in benchmarks/hostile_bench.py, not here.
"""

from __future__ import annotations

import dataclasses
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

import samljit
from samljit.testing import IssuedResponse, make_certificate

from .conftest import INTEROP

Issue = Callable[..., IssuedResponse]
Verify = Callable[..., samljit.Assertion]


def _declare(xml: bytes, count: int, *, at: bytes = b"<saml:Assertion ") -> bytes:
    """``count`` unused namespace declarations on the first element starting with ``at``;
    exclusive canonicalization leaves them out, so the signature still verifies."""
    declarations = b"".join(b'xmlns:p%d="urn:p:%d" ' % (i, i) for i in range(count))
    assert at in xml
    return xml.replace(at, at + declarations, 1)


def _limited(sp: samljit.SPConfig, **fields: int) -> samljit.SPConfig:
    return dataclasses.replace(sp, limits=dataclasses.replace(sp.limits, **fields))


def test_namespaces_in_scope_up_to_the_limit_are_accepted(
    issue: Issue, verify: Verify, sp: samljit.SPConfig
) -> None:
    xml = _declare(issue().xml, 10)
    assert verify(xml, sp=_limited(sp, max_namespaces_in_scope=16)).name_id.value


def test_namespaces_in_scope_over_the_limit_are_refused(
    issue: Issue, verify: Verify, sp: samljit.SPConfig
) -> None:
    """Canonicalizing SignedInfo costs about the square of the namespaces in scope."""
    xml = _declare(issue().xml, 20)
    with pytest.raises(samljit.SamlError) as caught:
        verify(xml, sp=_limited(sp, max_namespaces_in_scope=16))
    assert caught.value.code == "xml_too_large"


def test_the_default_bounds_namespaces_in_scope(issue: Issue, verify: Verify) -> None:
    xml = _declare(issue().xml, samljit.RESPONSE_LIMITS.max_namespaces_in_scope + 1)
    with pytest.raises(samljit.SamlError) as caught:
        verify(xml)
    assert caught.value.code == "xml_too_large"


def test_namespace_declarations_in_a_document_are_bounded(
    issue: Issue, verify: Verify, sp: samljit.SPConfig
) -> None:
    """Declarations on sibling elements are never in scope together, yet each costs memory."""
    siblings = issue(attributes={"groups": [f"g{i}" for i in range(40)]}).xml
    xml = siblings.replace(
        b"<saml:AttributeValue", b'<saml:AttributeValue xmlns:x="urn:x" xmlns:y="urn:y"'
    )
    limited = _limited(sp, max_namespace_declarations=60)
    assert verify(xml, sp=_limited(sp, max_namespace_declarations=200)).attributes["groups"]
    with pytest.raises(samljit.SamlError) as caught:
        verify(xml, sp=limited)
    assert caught.value.code == "xml_too_large"


def test_namespace_declarations_in_utf16_are_counted(
    issue: Issue, verify: Verify, sp: samljit.SPConfig
) -> None:
    xml = _declare(issue().xml, 20).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    with pytest.raises(samljit.SamlError) as caught:
        verify(xml.encode("utf-16"), sp=_limited(sp, max_namespace_declarations=16))
    assert caught.value.code == "xml_too_large"


def test_real_idp_metadata_stays_within_the_default_bounds() -> None:
    """A federation aggregate declares hundreds of namespaces, never many in scope at once."""
    aggregate = (INTEROP / "metadata" / "swamid-federation-aggregate.xml").read_bytes()
    assert aggregate.count(b"xmlns") > samljit.METADATA_LIMITS.max_namespaces_in_scope
    with pytest.raises(samljit.SamlError) as caught:
        samljit.parse_idp_metadata(aggregate)
    assert caught.value.code == "metadata_ambiguous"  # read whole, then judged on content


@pytest.mark.parametrize("field", ["max_namespace_declarations", "max_namespaces_in_scope"])
def test_namespace_limits_must_be_positive(field: str) -> None:
    with pytest.raises(samljit.ConfigError):
        dataclasses.replace(samljit.RESPONSE_LIMITS, **{field: 0})


# --- the POSTed value --------------------------------------------------------------------


def test_a_huge_text_value_is_measured_before_it_is_encoded() -> None:
    with pytest.raises(samljit.SamlError) as caught:
        samljit.bindings.decode_post_response("\u00e9" * 10_000_000, max_bytes=512 * 1024)
    assert caught.value.code == "response_too_large"


def test_non_ascii_text_is_not_base64() -> None:
    """Never replaced by "?" and then judged: the value as received is what is refused."""
    with pytest.raises(samljit.SamlError) as caught:
        samljit.bindings.decode_post_response("PHNhbWxw\u00e9", max_bytes=512 * 1024)
    assert caught.value.code == "invalid_base64"


# --- caches ------------------------------------------------------------------------------


def _bulky_certificate(serial: int) -> x509.Certificate:
    key, _ = _FOREIGN
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"forger {serial}")])
    names = [x509.DNSName(f"host{i}-{'x' * 40}.evil.test") for i in range(1_000)]
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2045, 1, 1, tzinfo=UTC))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )


_FOREIGN = make_certificate()


def test_certificates_in_forged_messages_are_not_kept(issue: Issue, verify: Verify) -> None:
    """A KeyInfo certificate is a hint anyone can send: nothing keyed by it may stay in memory
    after the forged message is refused (each of these is ~50 KB)."""
    key, _ = _FOREIGN
    forged = [
        issue(signing_key=key, signing_certificate=_bulky_certificate(serial)).xml
        for serial in range(1, 21)
    ]
    assert len(forged[0]) > 40_000
    verify(issue().xml)  # warm every lazily built structure first
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for xml in forged:
            with pytest.raises(samljit.SamlError) as caught:
                verify(xml)
            assert caught.value.code == "untrusted_key"
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 200_000
