"""XML signatures: keys only from metadata, only safe algorithms, and only signed content read.

Covers the XML signature wrapping family (Somorovsky et al. 2012; CVE-2022-41912,
CVE-2025-47949), comment truncation (CVE-2017-11427) and key confusion.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

import samljit
from samljit._xml import NS_DS, NS_SAML, NS_SAMLP, qname, text_of
from samljit.testing import IssuedResponse, TestIdP, make_certificate
from samljit.testing.attacks import XSW_ATTACKS, forge_name_id, inject_comment

from .conftest import ACS_URL, NOW, SP_ENTITY_ID

Issue = Callable[..., IssuedResponse]
Verify = Callable[..., samljit.Assertion]

DS = {"ds": NS_DS}
SIGNATURE = qname(NS_DS, "Signature")
ASSERTION = qname(NS_SAML, "Assertion")
EXC_C14N_WITH_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"


def _b64(xml: bytes) -> str:
    return base64.b64encode(xml).decode("ascii")


def _rsa_key(idp: TestIdP) -> rsa.RSAPrivateKey:
    assert isinstance(idp.key, rsa.RSAPrivateKey)
    return idp.key


def _sign_signed_info(signature: etree._Element, idp: TestIdP) -> None:
    """Sign the (first) SignedInfo of ``signature`` again with the IdP's own key."""
    signed_info = signature.find("ds:SignedInfo", DS)
    value = signature.find("ds:SignatureValue", DS)
    assert signed_info is not None
    assert value is not None
    data = etree.tostring(signed_info, method="c14n", exclusive=True)
    value.text = _b64(_rsa_key(idp).sign(data, padding.PKCS1v15(), hashes.SHA256()))


def _sign_again(element: etree._Element, idp: TestIdP, *, with_comments: bool = False) -> None:
    """Recompute the digest of ``element`` and sign its SignedInfo again with the IdP's own
    key, as the IdP would after the edit (exclusive c14n, SHA-256, RSA-SHA256): the result
    verifies, so a rule other than the cryptography is what refuses it."""
    signature = element.find(SIGNATURE)
    assert signature is not None
    assert not signature.tail  # the enveloped transform would keep a tail; this copy would not
    payload = copy.deepcopy(element)
    for child in payload.findall(SIGNATURE):
        payload.remove(child)
    canonical = etree.tostring(payload, method="c14n", exclusive=True, with_comments=with_comments)
    digest_value = signature.find("ds:SignedInfo/ds:Reference/ds:DigestValue", DS)
    assert digest_value is not None
    digest_value.text = _b64(hashlib.sha256(canonical).digest())
    _sign_signed_info(signature, idp)


def _edit_and_sign_again(xml: bytes, idp: TestIdP, edit: Callable[[etree._Element], None]) -> bytes:
    """The response with its assertion signature's SignedInfo edited, then signed again."""
    response = etree.fromstring(xml)
    signature = response.find(f"{ASSERTION}/{SIGNATURE}")
    assert signature is not None
    signed_info = signature.find("ds:SignedInfo", DS)
    assert signed_info is not None
    edit(signed_info)
    _sign_signed_info(signature, idp)
    return etree.tostring(response)


# --- signature wrapping ----------------------------------------------------------------------

RESPONSE_ATTACKS = ["xsw1", "xsw2"]
ASSERTION_ATTACKS = [name for name in XSW_ATTACKS if name not in RESPONSE_ATTACKS]


@pytest.mark.parametrize("new_id", [False, True], ids=["same-id", "fresh-id"])
@pytest.mark.parametrize("attack", RESPONSE_ATTACKS)
def test_response_signature_wrapping_is_rejected(
    issue: Issue, verify: Verify, attack: str, new_id: bool
) -> None:
    signed = issue(sign_response=True, sign_assertion=False).xml
    forged = XSW_ATTACKS[attack](signed, "admin@acme.test", new_id)
    with pytest.raises(samljit.SamlError) as caught:
        verify(forged)
    assert caught.value.code in {"multiple_assertions", "duplicate_id", "malformed_response"}


@pytest.mark.parametrize("both_signed", [False, True], ids=["assertion-signed", "both-signed"])
@pytest.mark.parametrize("new_id", [False, True], ids=["same-id", "fresh-id"])
@pytest.mark.parametrize("attack", ASSERTION_ATTACKS)
def test_assertion_signature_wrapping_is_rejected(
    issue: Issue, verify: Verify, attack: str, new_id: bool, both_signed: bool
) -> None:
    signed = issue(sign_response=both_signed).xml
    forged = XSW_ATTACKS[attack](signed, "admin@acme.test", new_id)
    with pytest.raises(samljit.SamlError) as caught:
        verify(forged)
    assert caught.value.code in {
        "multiple_assertions",
        "duplicate_id",
        "signature_misplaced",
        "signature_invalid",
    }


def test_a_second_assertion_is_rejected_even_when_unsigned_and_distinct(
    issue: Issue, verify: Verify
) -> None:
    """CVE-2022-41912: a verifier that checks one assertion's signature and reads another."""
    response = etree.fromstring(issue().xml)
    extra = copy.deepcopy(response.find(ASSERTION))
    assert extra is not None
    extra.remove(extra.find(SIGNATURE))
    extra.set("ID", "_another")
    forge_name_id(extra, "admin@acme.test")
    response.append(extra)
    with pytest.raises(samljit.errors.MultipleAssertions):
        verify(etree.tostring(response))


def test_an_assertion_outside_its_slot_is_rejected(issue: Issue, verify: Verify) -> None:
    """The only assertion, moved under Extensions, is not the Response's assertion."""
    response = etree.fromstring(issue().xml)
    assertion = response.find(ASSERTION)
    assert assertion is not None
    extensions = etree.SubElement(response, qname(NS_SAMLP, "Extensions"))
    extensions.append(assertion)
    with pytest.raises(samljit.errors.MultipleAssertions):
        verify(etree.tostring(response))


def test_duplicate_ids_are_rejected(issue: Issue, verify: Verify) -> None:
    response = etree.fromstring(issue().xml)
    assertion = response.find(ASSERTION)
    assert assertion is not None
    etree.SubElement(response, qname(NS_SAMLP, "Extensions"), ID=assertion.get("ID", ""))
    with pytest.raises(samljit.errors.DuplicateId):
        verify(etree.tostring(response))


def test_a_signature_elsewhere_is_rejected(issue: Issue, verify: Verify) -> None:
    response = etree.fromstring(issue().xml)
    assertion = response.find(ASSERTION)
    assert assertion is not None
    signature = assertion.find(SIGNATURE)
    assert signature is not None
    extensions = etree.SubElement(response, qname(NS_SAMLP, "Extensions"))
    extensions.append(copy.deepcopy(signature))
    with pytest.raises(samljit.errors.SignatureMisplaced):
        verify(etree.tostring(response))


def test_two_signatures_on_one_element_are_rejected(issue: Issue, verify: Verify) -> None:
    response = etree.fromstring(issue().xml)
    assertion = response.find(ASSERTION)
    assert assertion is not None
    signature = assertion.find(SIGNATURE)
    assert signature is not None
    signature.addnext(copy.deepcopy(signature))
    with pytest.raises(samljit.errors.SignatureMisplaced):
        verify(etree.tostring(response))


# --- only signed content is read ---------------------------------------------------------------


def test_content_changed_under_the_assertion_signature_is_rejected(
    issue: Issue, verify: Verify
) -> None:
    tampered = issue().xml.replace(b"developer", b"account_administrator")
    with pytest.raises(samljit.errors.SignatureInvalid):
        verify(tampered)


def test_content_changed_under_the_response_signature_is_rejected(
    issue: Issue, verify: Verify
) -> None:
    signed = issue(sign_response=True, sign_assertion=False).xml
    with pytest.raises(samljit.errors.SignatureInvalid):
        verify(signed.replace(b"developer", b"account_administrator"))


def test_every_signature_present_must_verify(issue: Issue, verify: Verify) -> None:
    """A valid assertion signature does not excuse a broken response signature."""
    signed = issue(sign_response=True, sign_assertion=True).xml
    tampered = signed.replace(b"<samlp:StatusCode", b"<samlp:StatusCode Extra='1'", 1)
    with pytest.raises(samljit.errors.SignatureInvalid):
        verify(tampered)


def test_an_unsigned_envelope_can_change_nothing_that_is_read(issue: Issue, verify: Verify) -> None:
    """With only the assertion signed, an attacker may edit the envelope; samljit reads the
    identity from the signed assertion only."""
    response = etree.fromstring(issue().xml)
    extensions = etree.Element(qname(NS_SAMLP, "Extensions"))
    etree.SubElement(extensions, "{urn:evil}NameID").text = "admin@acme.test"
    response.insert(1, extensions)  # after the Issuer, where the schema allows Extensions
    assertion = verify(etree.tostring(response))
    assert assertion.name_id.value == "ada@acme.test"


def test_a_comment_cannot_truncate_the_name_id(issue: Issue, verify: Verify) -> None:
    """CVE-2017-11427: ``ada@acme.test<!---->.evil.test`` must never read as ada@acme.test."""
    signed = issue(name_id="ada@acme.test.evil.test").xml
    injected = inject_comment(signed, "ada@acme.test.evil.test", len("ada@acme.test"))
    assert b"<!---->" in injected
    assertion = verify(injected)
    assert assertion.name_id.value == "ada@acme.test.evil.test"


def test_a_comment_cannot_truncate_an_attribute(issue: Issue, verify: Verify) -> None:
    signed = issue(attributes={"role": ["finance_viewer"]}).xml
    injected = inject_comment(signed, "finance_viewer", len("finance"))
    assert verify(injected).attributes["role"] == ("finance_viewer",)


def test_text_is_read_whole_even_around_comments() -> None:
    element = etree.fromstring(b"<a>ada@acme.test<!-- x -->.evil.test</a>")
    assert text_of(element) == "ada@acme.test.evil.test"
    assert text_of(etree.fromstring(b"<a/>")) == ""
    assert text_of(None) is None


def test_a_comment_kept_by_a_with_comments_signature_cannot_truncate_the_name_id(
    issue: Issue, verify: Verify, test_idp: TestIdP
) -> None:
    """With an ``#WithComments`` canonicalization the comment survives into the signed copy;
    the NameID is still its whole string-value, never the text before the comment."""
    response = etree.fromstring(issue(name_id="ada@acme.test.evil.test").xml)
    assertion = response.find(ASSERTION)
    assert assertion is not None
    name_id = assertion.find(f"{qname(NS_SAML, 'Subject')}/{qname(NS_SAML, 'NameID')}")
    assert name_id is not None
    name_id.text = "ada@acme.test"
    comment = etree.Comment("")
    comment.tail = ".evil.test"
    name_id.append(comment)
    for transform in assertion.iterfind(".//ds:Transform", DS):
        if transform.get("Algorithm") == "http://www.w3.org/2001/10/xml-exc-c14n#":
            transform.set("Algorithm", EXC_C14N_WITH_COMMENTS)
    _sign_again(assertion, test_idp, with_comments=True)
    assert verify(etree.tostring(response)).name_id.value == "ada@acme.test.evil.test"


def test_verification_returns_a_detached_copy_of_only_what_was_signed(
    issue: Issue, idp: samljit.IdentityProvider
) -> None:
    """The verified element is re-read from its canonical form: not part of the received
    document, without the enveloped signature, and without the comments c14n dropped.
    (Internal: the public API reads the same values from either copy.)"""
    from samljit._signature import verify_enveloped

    injected = inject_comment(issue(name_id="ada@acme.test").xml, "ada@acme.test", 3)
    assertion = etree.fromstring(injected).find(ASSERTION)
    assert assertion is not None
    assert assertion.xpath("count(.//comment())") == 1
    signature = assertion.find(SIGNATURE)
    assert signature is not None
    verified = verify_enveloped(
        assertion,
        signature,
        certificates=idp.signing_certificates,
        allow_sha1=False,
        what="Assertion",
    )
    assert verified.element.getparent() is None
    assert verified.element.getroottree().getroot() is verified.element
    assert verified.element.find(SIGNATURE) is None
    assert verified.element.xpath("count(.//comment())") == 0
    assert verified.element.get("ID") == assertion.get("ID")


@pytest.mark.parametrize(
    "knobs",
    [
        pytest.param({}, id="assertion-signed"),
        pytest.param({"sign_response": True, "sign_assertion": False}, id="response-signed"),
        pytest.param({"sign_response": True}, id="both-signed"),
    ],
)
def test_the_response_and_assertion_read_are_the_signed_copies(
    issue: Issue, idp: samljit.IdentityProvider, sp: samljit.SPConfig, knobs: dict[str, bool]
) -> None:
    """After verification the rules read the signed copies, never the received document:
    the assertion always, the Response whenever it is signed. (Internal: the received and
    signed copies hold the same values, so only identity tells them apart.)"""
    from samljit._response import _verify_signatures

    document = etree.fromstring(issue(**knobs).xml)
    response, assertion, verified = _verify_signatures(document, idp, sp, ())
    assert assertion.getroottree().getroot() is not document
    if "response" in verified:
        assert response is verified["response"].element
    else:
        assert response is document  # unsigned: only its Destination, Issuer, InResponseTo
    if "assertion" in verified:
        assert assertion is verified["assertion"].element
    else:
        assert assertion.getparent() is response


# --- keys come from metadata only --------------------------------------------------------------


def test_a_response_signed_by_another_key_is_rejected_as_untrusted(
    sp: samljit.SPConfig, idp: samljit.IdentityProvider
) -> None:
    """The attacker puts their own certificate in KeyInfo; it is never trusted."""
    attacker = TestIdP(entity_id=idp.entity_id)
    issued = attacker.issue_response(sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, now=NOW)
    with pytest.raises(samljit.errors.UntrustedKey) as caught:
        samljit.verify_response(
            issued.form_value,
            idp=idp,
            sp=sp,
            now=NOW,
            replay_cache=samljit.MemoryReplayCache(),
            allow_unsolicited=True,
        )
    assert caught.value.found == samljit.metadata.certificate_sha256(attacker.certificate)


def test_keyinfo_naming_the_trusted_certificate_does_not_help_another_key(
    sp: samljit.SPConfig, idp: samljit.IdentityProvider, test_idp: TestIdP
) -> None:
    attacker_key, _ = make_certificate()
    issued = test_idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        signing_key=attacker_key,
        signing_certificate=test_idp.certificate,
    )
    with pytest.raises(samljit.errors.SignatureInvalid):
        samljit.verify_response(
            issued.form_value,
            idp=idp,
            sp=sp,
            now=NOW,
            replay_cache=samljit.MemoryReplayCache(),
            allow_unsolicited=True,
        )


def test_without_keyinfo_the_metadata_key_still_verifies(issue: Issue, verify: Verify) -> None:
    response = etree.fromstring(issue().xml)
    for key_info in response.iterfind(".//ds:KeyInfo", DS):
        parent = key_info.getparent()
        assert parent is not None
        parent.remove(key_info)
    assert verify(etree.tostring(response)).name_id.value == "ada@acme.test"


@pytest.mark.parametrize("signer", ["old", "new"])
def test_every_metadata_certificate_is_trusted_for_key_rollover(
    sp: samljit.SPConfig, test_idp: TestIdP, signer: str
) -> None:
    new_key, new_cert = make_certificate()
    metadata = test_idp.metadata(extra_certificates=[new_cert])
    idp = samljit.parse_idp_metadata(metadata, now=NOW).idp
    assert len(idp.signing_certificates) == 2
    knobs = {"signing_key": new_key, "signing_certificate": new_cert} if signer == "new" else {}
    issued = test_idp.issue_response(sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, now=NOW, **knobs)
    assertion = samljit.verify_response(
        issued.form_value,
        idp=idp,
        sp=sp,
        now=NOW,
        replay_cache=samljit.MemoryReplayCache(),
        allow_unsolicited=True,
    )
    expected = new_cert if signer == "new" else test_idp.certificate
    assert assertion.signing_certificate_sha256 == samljit.metadata.certificate_sha256(expected)


def test_an_expired_metadata_certificate_still_verifies(sp: samljit.SPConfig) -> None:
    """Pinned keys are trusted regardless of validity dates (SAML metadata interop 2.5.1)."""
    from datetime import timedelta

    key, cert = make_certificate(not_after=NOW - timedelta(days=400))
    old = TestIdP(key=key, certificate=cert)
    parsed = samljit.parse_idp_metadata(old.metadata_xml, now=NOW)
    assert [w.code for w in parsed.warnings] == ["certificate_expired"]
    issued = old.issue_response(sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, now=NOW)
    assert samljit.verify_response(
        issued.form_value,
        idp=parsed.idp,
        sp=sp,
        now=NOW,
        replay_cache=samljit.MemoryReplayCache(),
        allow_unsolicited=True,
    )


def test_tampering_is_reported_as_tampering_whatever_key_info_names(
    issue: Issue, verify: Verify
) -> None:
    """A digest mismatch means the content changed after signing: it stops verification at
    once, rather than trying other keys and blaming the attacker's KeyInfo certificate."""
    _, foreign = make_certificate()
    response = etree.fromstring(issue().xml)
    certificate = response.find(".//ds:X509Certificate", DS)
    name_id = response.find(f".//{qname(NS_SAML, 'NameID')}")
    assert certificate is not None
    assert name_id is not None
    certificate.text = _b64(foreign.public_bytes(Encoding.DER))
    name_id.text = "admin@acme.test"
    with pytest.raises(samljit.SamlError) as caught:
        verify(etree.tostring(response))
    assert caught.value.code == "signature_invalid"


def test_the_reported_signing_certificate_is_the_one_that_signed_the_assertion(
    sp: samljit.SPConfig, test_idp: TestIdP
) -> None:
    """During a key rollover the Response and the Assertion may be signed by different
    metadata keys; ``signing_certificate_sha256`` names the one that signed the identity."""
    next_key, next_certificate = make_certificate()
    idp = samljit.parse_idp_metadata(
        test_idp.metadata(extra_certificates=[next_certificate]), now=NOW
    ).idp
    issued = test_idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        sign_response=True,
        signing_key=next_key,
        signing_certificate=next_certificate,
    )
    response = etree.fromstring(issued.xml)
    _sign_again(response, test_idp)  # the Response, now by the current key
    assertion = samljit.verify_response_xml(
        etree.tostring(response),
        idp=idp,
        sp=sp,
        now=NOW,
        allow_unsolicited=True,
    ).assertion
    assert assertion.signed_parts == ("response", "assertion")
    assert assertion.signing_certificate_sha256 == samljit.metadata.certificate_sha256(
        next_certificate
    )


# --- algorithms, transforms, references --------------------------------------------------------


def _edit_signed_info(xml: bytes, edit: Callable[[etree._Element], None]) -> bytes:
    response = etree.fromstring(xml)
    signed_info = response.find(".//ds:Signature/ds:SignedInfo", DS)
    assert signed_info is not None
    edit(signed_info)
    return etree.tostring(response)


def _set_algorithm(path: str, uri: str) -> Callable[[etree._Element], None]:
    def edit(signed_info: etree._Element) -> None:
        element = signed_info.find(path, DS)
        assert element is not None
        element.set("Algorithm", uri)

    return edit


def _add_transform(uri: str) -> Callable[[etree._Element], None]:
    def edit(signed_info: etree._Element) -> None:
        transforms = signed_info.find("ds:Reference/ds:Transforms", DS)
        assert transforms is not None
        etree.SubElement(transforms, qname(NS_DS, "Transform"), Algorithm=uri)

    return edit


def _duplicate(path: str) -> Callable[[etree._Element], None]:
    def edit(signed_info: etree._Element) -> None:
        element = signed_info.find(path, DS)
        assert element is not None
        element.addnext(copy.deepcopy(element))

    return edit


def _set_uri(uri: str) -> Callable[[etree._Element], None]:
    def edit(signed_info: etree._Element) -> None:
        reference = signed_info.find("ds:Reference", DS)
        assert reference is not None
        reference.set("URI", uri)

    return edit


SIGNED_INFO_EDITS = [
    ("HMAC is never accepted", _set_algorithm(
        "ds:SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"),
     "algorithm_forbidden"),
    ("DSA is not on the allow-list", _set_algorithm(
        "ds:SignatureMethod", "http://www.w3.org/2009/xmldsig11#dsa-sha256"),
     "algorithm_forbidden"),
    ("an unknown signature algorithm", _set_algorithm("ds:SignatureMethod", "urn:x"),
     "algorithm_forbidden"),
    ("MD5 digests are refused", _set_algorithm(
        "ds:Reference/ds:DigestMethod", "http://www.w3.org/2001/04/xmldsig-more#md5"),
     "algorithm_forbidden"),
    ("XSLT transforms are refused",
     _add_transform("http://www.w3.org/TR/1999/REC-xslt-19991116"), "transform_forbidden"),
    ("XPath transforms are refused",
     _add_transform("http://www.w3.org/TR/1999/REC-xpath-19991116"), "transform_forbidden"),
    ("XPath Filter 2.0 is refused",
     _add_transform("http://www.w3.org/2002/06/xmldsig-filter2"), "transform_forbidden"),
    ("an unknown canonicalization is refused",
     _set_algorithm("ds:CanonicalizationMethod", "urn:x"), "transform_forbidden"),
    ("two references are refused", _duplicate("ds:Reference"), "reference_mismatch"),
    ("a reference to another element is refused", _set_uri("#_elsewhere"),
     "reference_mismatch"),
    ("a whole-document reference is refused", _set_uri(""), "reference_mismatch"),
    ("two SignatureMethods are refused", _duplicate("ds:SignatureMethod"),
     "signature_invalid"),
    ("two DigestValues are refused", _duplicate("ds:Reference/ds:DigestValue"),
     "signature_invalid"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("edit", "code"), [pytest.param(e, c, id=rule) for rule, e, c in SIGNED_INFO_EDITS]
)
def test_signed_info_outside_the_allow_list_is_rejected_before_any_crypto(
    issue: Issue, verify: Verify, edit: Callable[[etree._Element], None], code: str
) -> None:
    with pytest.raises(samljit.SamlError) as caught:
        verify(_edit_signed_info(issue().xml, edit))
    assert caught.value.code == code


def test_an_assertion_signature_pointing_at_the_response_is_rejected(
    issue: Issue, verify: Verify
) -> None:
    """A response signature moved into the assertion still names the Response's ID."""
    response = etree.fromstring(issue(sign_response=True, sign_assertion=False).xml)
    signature = response.find(SIGNATURE)
    assertion = response.find(ASSERTION)
    assert signature is not None
    assert assertion is not None
    assertion.insert(1, signature)
    with pytest.raises(samljit.errors.ReferenceMismatch):
        verify(etree.tostring(response))


def test_sha1_digest_with_strong_signature_needs_the_opt_in(
    issue: Issue, verify: Verify, sp: samljit.SPConfig
) -> None:
    issued = issue(digest_algorithm="sha1")
    with pytest.raises(samljit.errors.AlgorithmForbidden):
        verify(issued.form_value)
    assert verify(issued.form_value, sp=dataclasses.replace(sp, allow_sha1=True))


@pytest.mark.parametrize("algorithm", ["rsa-sha384", "rsa-sha512"])
def test_stronger_rsa_algorithms_are_accepted(issue: Issue, verify: Verify, algorithm: str) -> None:
    digest = algorithm.split("-")[1]
    assert verify(issue(signature_algorithm=algorithm, digest_algorithm=digest).form_value)


def test_a_garbled_signature_value_is_rejected(issue: Issue, verify: Verify) -> None:
    response = etree.fromstring(issue().xml)
    value = response.find(".//ds:SignatureValue", DS)
    assert value is not None
    value.text = "not base64 at all!"
    with pytest.raises(samljit.errors.SignatureInvalid):
        verify(etree.tostring(response))


# --- exactly one of each part, even when the IdP's key signed the extra one ------------------


def test_signing_again_verifies_when_nothing_was_changed(
    issue: Issue, verify: Verify, test_idp: TestIdP
) -> None:
    """The helpers below are sound: what they sign again is accepted, so a refusal of an
    edited signature comes from a rule, not from the cryptography."""
    assert verify(_edit_and_sign_again(issue().xml, test_idp, lambda _: None))
    response = etree.fromstring(issue(sign_response=True, sign_assertion=False).xml)
    _sign_again(response, test_idp)
    assert verify(etree.tostring(response))


def test_an_assertion_signed_with_inclusive_c14n_verifies_inside_its_response(
    issue: Issue, verify: Verify, test_idp: TestIdP
) -> None:
    """Inclusive C14N renders every namespace in scope, the Response's ``samlp`` included, so
    the assertion is canonicalised in its context: a bare copy of it (enough for exclusive
    C14N) would change the digest of a genuine signature."""
    response = etree.fromstring(issue().xml)
    assertion = response.find(ASSERTION)
    assert assertion is not None
    signature = assertion.find(SIGNATURE)
    digest_value = assertion.find(f"{SIGNATURE}/ds:SignedInfo/ds:Reference/ds:DigestValue", DS)
    assert signature is not None
    assert digest_value is not None
    for transform in signature.iterfind(".//ds:Transform", DS):
        if transform.get("Algorithm") == "http://www.w3.org/2001/10/xml-exc-c14n#":
            transform.set("Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315")
    index = assertion.index(signature)
    assertion.remove(signature)
    canonical = etree.tostring(assertion, method="c14n")  # inclusive, in the Response
    assert b'xmlns:samlp="' in canonical
    assertion.insert(index, signature)
    digest_value.text = _b64(hashlib.sha256(canonical).digest())
    _sign_signed_info(signature, test_idp)
    assert verify(etree.tostring(response)).name_id.value == "ada@acme.test"


def _second_transforms(uri: str) -> Callable[[etree._Element], None]:
    def edit(signed_info: etree._Element) -> None:
        transforms = signed_info.find("ds:Reference/ds:Transforms", DS)
        assert transforms is not None
        extra = etree.Element(qname(NS_DS, "Transforms"))
        etree.SubElement(extra, qname(NS_DS, "Transform"), Algorithm=uri)
        transforms.addnext(extra)

    return edit


SIGNED_AGAIN_EDITS = [
    ("two SignatureMethods", _duplicate("ds:SignatureMethod")),
    ("two CanonicalizationMethods", _duplicate("ds:CanonicalizationMethod")),
    ("two DigestMethods", _duplicate("ds:Reference/ds:DigestMethod")),
    ("two DigestValues", _duplicate("ds:Reference/ds:DigestValue")),
    ("a second Transforms hiding XSLT",
     _second_transforms("http://www.w3.org/TR/1999/REC-xslt-19991116")),
    ("two canonicalization transforms",
     _add_transform("http://www.w3.org/2001/10/xml-exc-c14n#")),
]  # fmt: skip


@pytest.mark.parametrize("edit", [pytest.param(e, id=rule) for rule, e in SIGNED_AGAIN_EDITS])
def test_a_signed_info_with_a_part_twice_is_refused_even_when_signed(
    issue: Issue, verify: Verify, test_idp: TestIdP, edit: Callable[[etree._Element], None]
) -> None:
    """signxml reads the first of each part; a second one that another reader might use is
    refused (signature_invalid) even in a SignedInfo the IdP's key signed."""
    with pytest.raises(samljit.SamlError) as caught:
        verify(_edit_and_sign_again(issue().xml, test_idp, edit))
    assert caught.value.code == "signature_invalid"


def _child(path: str, tag: str, **attributes: str) -> Callable[[etree._Element], None]:
    def edit(signed_info: etree._Element) -> None:
        parent = signed_info if path == "." else signed_info.find(path, DS)
        assert parent is not None
        etree.SubElement(parent, tag, **attributes)

    return edit


EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"


def _prefix_list(count: int, transform: str = EXC_C14N) -> Callable[[etree._Element], None]:
    def edit(signed_info: etree._Element) -> None:
        found = signed_info.find(
            f"ds:Reference/ds:Transforms/ds:Transform[@Algorithm='{transform}']", DS
        )
        assert found is not None
        for old in list(found):
            found.remove(old)
        etree.SubElement(
            found,
            qname(EXC_C14N, "InclusiveNamespaces"),
            PrefixList=" ".join(f"p{i}" for i in range(count)),
        )

    return edit


SHAPE_EDITS = [
    ("a foreign element in SignedInfo", _child(".", "{urn:evil}Padding")),
    ("an XML-DSig element SignedInfo has no place for", _child(".", qname(NS_DS, "Object"))),
    ("HMACOutputLength in SignatureMethod",
     _child("ds:SignatureMethod", qname(NS_DS, "HMACOutputLength"))),
    ("an element inside DigestMethod", _child("ds:Reference/ds:DigestMethod", "{urn:evil}x")),
    ("a foreign element in Reference", _child("ds:Reference", "{urn:evil}x")),
    ("a third Transform", _child("ds:Reference/ds:Transforms", qname(NS_DS, "Transform"),
                                 Algorithm=ENVELOPED)),
    ("a foreign element in Transforms", _child("ds:Reference/ds:Transforms", "{urn:evil}x")),
    ("a foreign element in a Transform",
     _child(f"ds:Reference/ds:Transforms/ds:Transform[@Algorithm='{EXC_C14N}']", "{urn:evil}x")),
    ("a foreign element in CanonicalizationMethod",
     _child("ds:CanonicalizationMethod", "{urn:evil}x")),
    ("InclusiveNamespaces on the enveloped-signature transform", _prefix_list(1, ENVELOPED)),
    ("a PrefixList of 17 prefixes", _prefix_list(17)),
]  # fmt: skip


@pytest.mark.parametrize("edit", [pytest.param(e, id=rule) for rule, e in SHAPE_EDITS])
def test_a_signature_must_have_exactly_the_shape_saml_uses_even_when_signed(
    issue: Issue, verify: Verify, test_idp: TestIdP, edit: Callable[[etree._Element], None]
) -> None:
    """SignedInfo is canonicalized before the key is used, so its shape is checked first:
    XML-DSig's elements as SAML uses them, nothing else, however validly signed."""
    with pytest.raises(samljit.SamlError) as caught:
        verify(_edit_and_sign_again(issue().xml, test_idp, edit))
    assert caught.value.code == "signature_invalid"


def test_a_prefix_list_of_16_prefixes_is_accepted(
    issue: Issue, verify: Verify, test_idp: TestIdP
) -> None:
    assert verify(_edit_and_sign_again(issue().xml, test_idp, _prefix_list(16)))


@pytest.mark.parametrize("local", ["Object", "Manifest"])
def test_a_signature_carrying_more_than_signed_info_value_and_key_info_is_refused(
    issue: Issue, verify: Verify, local: str
) -> None:
    response = etree.fromstring(issue().xml)
    signature = response.find(f"{ASSERTION}/{SIGNATURE}")
    assert signature is not None
    etree.SubElement(signature, qname(NS_DS, local)).text = "x" * 1000
    with pytest.raises(samljit.SamlError) as caught:
        verify(etree.tostring(response))
    assert caught.value.code == "signature_invalid"


@pytest.mark.parametrize("local", ["SignedInfo", "SignatureValue"])
def test_a_signature_with_a_second_signed_info_or_value_is_refused(
    issue: Issue, verify: Verify, local: str
) -> None:
    """A copy of the (valid) SignedInfo or SignatureValue after the original: the first one
    verifies, and the signature is refused all the same."""
    response = etree.fromstring(issue().xml)
    element = response.find(f"{ASSERTION}/{SIGNATURE}/ds:{local}", DS)
    assert element is not None
    element.addnext(copy.deepcopy(element))
    with pytest.raises(samljit.SamlError) as caught:
        verify(etree.tostring(response))
    assert caught.value.code == "signature_invalid"


def test_a_signature_value_holding_an_element_is_refused(issue: Issue, verify: Verify) -> None:
    """The SignatureValue is base64 text only: a valid value followed by markup is not read
    as its leading text."""
    response = etree.fromstring(issue().xml)
    value = response.find(f"{ASSERTION}/{SIGNATURE}/ds:SignatureValue", DS)
    assert value is not None
    etree.SubElement(value, qname(NS_DS, "Object")).text = "AAAA"
    with pytest.raises(samljit.SamlError) as caught:
        verify(etree.tostring(response))
    assert caught.value.code == "signature_invalid"


def test_a_signed_element_without_an_id_cannot_be_referenced(
    issue: Issue, verify: Verify, test_idp: TestIdP
) -> None:
    """An Assertion without an ID has nothing a reference can name, not even ``#None``."""
    response = etree.fromstring(issue(sign_response=False, sign_assertion=True).xml)
    assertion = response.find(ASSERTION)
    assert assertion is not None
    del assertion.attrib["ID"]
    reference = assertion.find(f"{SIGNATURE}/ds:SignedInfo/ds:Reference", DS)
    assert reference is not None
    reference.set("URI", "#None")
    _sign_again(assertion, test_idp)
    with pytest.raises(samljit.SamlError) as caught:
        verify(etree.tostring(response))
    assert caught.value.code == "reference_mismatch"


def test_a_response_without_an_id_is_refused_before_its_signature_is_read(
    issue: Issue, verify: Verify
) -> None:
    """SAML core 3.2.2: a Response has an ID; one without it is not a SAML Response."""
    response = etree.fromstring(issue(sign_response=True, sign_assertion=False).xml)
    del response.attrib["ID"]
    with pytest.raises(samljit.SamlError) as caught:
        verify(etree.tostring(response))
    assert caught.value.code == "malformed_response"


# --- the pinned verifier on its own (check_signed_info refuses these first) ---------------------


def _verify_pinned(assertion: etree._Element, test_idp: TestIdP) -> object:
    from samljit._signature import _CONFIGS, _PinnedVerifier

    return _PinnedVerifier().verify(
        assertion,
        x509_cert=test_idp.certificate,
        expect_config=_CONFIGS[False],
        validate_schema=False,
    )


def test_the_pinned_verifier_refuses_a_reference_to_another_element(
    issue: Issue, test_idp: TestIdP
) -> None:
    """Its digest is of the element it was given, so its reference must name that element."""
    from signxml.exceptions import InvalidInput

    xml = _edit_and_sign_again(issue().xml, test_idp, _set_uri("#_elsewhere"))
    assertion = etree.fromstring(xml).find(ASSERTION)
    assert assertion is not None
    with pytest.raises(InvalidInput):
        _verify_pinned(assertion, test_idp)


def test_the_pinned_verifier_refuses_a_digest_outside_the_allow_list(
    issue: Issue, test_idp: TestIdP
) -> None:
    """A correct SHA-1 digest, signed by the IdP's key, is refused without allow_sha1."""
    from signxml.exceptions import InvalidInput

    assertion = etree.fromstring(issue().xml).find(ASSERTION)
    assert assertion is not None
    signature = assertion.find(SIGNATURE)
    assert signature is not None
    payload = copy.deepcopy(assertion)
    payload.remove(payload.find(SIGNATURE))
    canonical = etree.tostring(payload, method="c14n", exclusive=True)
    digest_method = signature.find("ds:SignedInfo/ds:Reference/ds:DigestMethod", DS)
    digest_value = signature.find("ds:SignedInfo/ds:Reference/ds:DigestValue", DS)
    assert digest_method is not None
    assert digest_value is not None
    digest_method.set("Algorithm", "http://www.w3.org/2000/09/xmldsig#sha1")
    digest_value.text = _b64(hashlib.sha1(canonical, usedforsecurity=False).digest())
    _sign_signed_info(signature, test_idp)
    with pytest.raises(InvalidInput):
        _verify_pinned(assertion, test_idp)
