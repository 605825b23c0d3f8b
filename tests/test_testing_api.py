"""samljit.testing as public test API: the grouped signing and encryption knobs of
issue_response, and the fakes host apps' tests share (a fixed clock, a recording issuer)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from lxml import etree

import samljit
from samljit.protocols import LoginContext, UserRecord
from samljit.testing import (
    Encryption,
    FixedClock,
    IssuedResponse,
    RecordingSessionIssuer,
    Signing,
    TestIdP,
    make_certificate,
)

from .conftest import NOW

NS = {"ds": "http://www.w3.org/2000/09/xmldsig#", "saml": "urn:oasis:names:tc:SAML:2.0:assertion"}


def _signed_parts(issued: IssuedResponse) -> tuple[bool, bool]:
    root = etree.fromstring(issued.xml)
    return (
        root.find("ds:Signature", NS) is not None,
        root.find("saml:Assertion/ds:Signature", NS) is not None,
    )


@pytest.mark.parametrize(
    ("signing", "parts"),
    [
        pytest.param(Signing(), (False, True), id="default-assertion-only"),
        pytest.param(Signing(response=True), (True, True), id="both"),
        pytest.param(Signing(response=True, assertion=False), (True, False), id="response-only"),
    ],
)
def test_signing_chooses_what_is_signed_and_the_result_verifies(
    issue: Callable[..., IssuedResponse],
    verify: Callable[..., samljit.Assertion],
    signing: Signing,
    parts: tuple[bool, bool],
) -> None:
    issued = issue(signing=signing)
    assert _signed_parts(issued) == parts
    assert verify(issued.form_value).name_id.value == "ada@acme.test"


def test_signing_with_another_key_is_refused_like_the_flat_keywords(
    issue: Callable[..., IssuedResponse], verify: Callable[..., samljit.Assertion]
) -> None:
    key, certificate = make_certificate()
    for knobs in (
        {"signing": Signing(key=key, certificate=certificate)},
        {"signing_key": key, "signing_certificate": certificate},
    ):
        with pytest.raises(samljit.SamlError) as info:
            verify(issue(**knobs).form_value)
        assert info.value.code == "untrusted_key"


def test_signing_algorithm_and_digest_are_those_given(
    issue: Callable[..., IssuedResponse],
) -> None:
    issued = issue(signing=Signing(algorithm="rsa-sha512", digest="sha384"))
    root = etree.fromstring(issued.xml)
    method = root.find(".//ds:SignatureMethod", NS)
    digest = root.find(".//ds:DigestMethod", NS)
    assert method is not None
    assert method.get("Algorithm", "").endswith("rsa-sha512")
    assert digest is not None
    assert digest.get("Algorithm", "").endswith("sha384")


def test_encryption_encrypts_the_assertion_for_the_sp(
    issue: Callable[..., IssuedResponse], verify: Callable[..., samljit.Assertion]
) -> None:
    sp_key, sp_certificate = make_certificate()
    issued = issue(encryption=Encryption(certificate=sp_certificate, data="aes128-gcm"))
    root = etree.fromstring(issued.xml)
    assert root.find("saml:Assertion", NS) is None
    assert root.find("saml:EncryptedAssertion", NS) is not None
    assertion = verify(issued.form_value, decryption_keys=[sp_key])
    assert assertion.name_id.value == "ada@acme.test"


@pytest.mark.parametrize(
    "knobs",
    [
        pytest.param({"signing": Signing(), "sign_response": True}, id="signing+sign_response"),
        pytest.param({"signing": Signing(), "digest_algorithm": "sha1"}, id="signing+digest"),
        pytest.param({"encryption": "sp", "encrypt_for": "sp"}, id="encryption+encrypt_for"),
        pytest.param({"encryption": "sp", "mgf": "sha256"}, id="encryption+mgf"),
    ],
)
def test_a_group_and_one_of_its_flat_keywords_together_are_refused(
    test_idp: TestIdP, knobs: dict[str, Any]
) -> None:
    _, sp_certificate = make_certificate()
    if knobs.get("encryption") == "sp":
        knobs["encryption"] = Encryption(certificate=sp_certificate)
    if knobs.get("encrypt_for") == "sp":
        knobs["encrypt_for"] = sp_certificate
    with pytest.raises(TypeError):
        test_idp.issue_response(sp_entity_id="https://sp.test", acs_url="https://sp.test/acs",
                                now=NOW, **knobs)  # fmt: skip


def test_a_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(NOW)
    assert clock() == clock() == NOW
    assert clock.advance(timedelta(minutes=10)) == NOW + timedelta(minutes=10)
    clock.now = NOW
    assert clock() == NOW


def test_a_fixed_clock_refuses_a_naive_instant() -> None:
    with pytest.raises(samljit.SamlError) as info:
        FixedClock(NOW.replace(tzinfo=None))
    assert info.value.code == "configuration_invalid"


def test_the_recording_issuer_remembers_each_session_in_order(
    issue: Callable[..., IssuedResponse], verify: Callable[..., samljit.Assertion]
) -> None:
    sessions = RecordingSessionIssuer()
    assertion = verify(issue().form_value)
    ada = UserRecord(user_id="1", email="ada@acme.test", account_id="acme", full_name=None,
                     role="developer")  # fmt: skip
    identity = samljit.Identity(
        email="ada@acme.test", full_name=None, role="developer", account_id="acme"
    )
    context = LoginContext(
        account_id="acme", assertion=assertion, identity=identity, idp_initiated=True
    )
    assert sessions.issue(ada, context) == "session-1"
    assert sessions.issue(ada, context) == "session-2"
    assert sessions.issued == [(ada, context), (ada, context)]
    assert sessions.users == [ada, ada]
