"""The lean signature path never accepts what signxml rejects, nor reads different content.

``verify_enveloped`` verifies the shapes real IdPs send with lxml and cryptography directly
(``samljit._lean_signature``) and every other shape with signxml; ``lean=False`` sends all of
them to signxml. Here both paths judge the same signatures and must agree: the same signed
element (its canonical bytes) and key when both accept, the same error (type, code, message,
expected, found) when both refuse. The signatures come from

- the test IdP with every algorithm, digest and signing/encryption shape, and shape variants
  (PrefixList, WithComments, a default-namespace Signature, comments) re-signed,
- the XSW family and comment injection of ``samljit.testing.attacks``,
- the fuzzer's kept crashers, every response and metadata document of ``../shared/interop``,
- a mutation fuzzer: signed documents (the test IdP's and the interop corpus's) mutated,
  mostly re-signed so that signxml accepts them (``tests/fuzz/resign.py``), and judged.

A case where the lean path refuses what signxml accepts must be listed in ``STRICTER``
(``tests/signature_paths.py``) with its justification (docs/security.md). None is: the lean
path hands every shape it is not sure of to signxml before any crypto, so it is never stricter.
``make fuzz-differential`` runs the fuzzer at length (``SAMLJIT_FUZZ_EXAMPLES`` per test, a
random seed); ``SAMLJIT_SIGNATURE_DIFFERENTIAL=1`` runs the whole test suite with both paths.
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

import samljit
import samljit.testing
from samljit._certificates import load_certificate
from samljit._lean_signature import lean_signature
from samljit._signed_info import check_signed_info
from samljit.testing import attacks

from .fuzz import targets
from .fuzz.resign import resign
from .fuzz.signature_mutants import interop_documents, judge_document, keys, mutant, pinned
from .signature_paths import TALLY, differ, install, is_lean
from .test_interop import CASES, _verify


@pytest.fixture
def differential(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every signature samljit verifies while the test runs is judged by both paths."""
    install(monkeypatch)


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    print(f"\nsignature differential: {dict(sorted(TALLY.items()))}")


def run(call: Callable[..., object], *args: Any, **kwargs: Any) -> str:
    """``call(*args, **kwargs)`` (under the differential): "accepted" or the error's code."""
    try:
        call(*args, **kwargs)
    except samljit.SamlError as exc:
        return exc.code
    return "accepted"


# --- the corpora ------------------------------------------------------------------------------


RSA_METHODS = (
    "rsa-sha256", "rsa-sha384", "rsa-sha512", "rsa-sha1", "rsa-sha224",
    "sha256-rsa-MGF1", "sha384-rsa-MGF1", "sha512-rsa-MGF1",
)  # fmt: skip
EC_METHODS = ("ecdsa-sha256", "ecdsa-sha384", "ecdsa-sha512", "ecdsa-sha1")
DIGESTS = ("sha256", "sha384", "sha512", "sha1", "sha224")
KINDS = targets.RESPONSE_KINDS


def _verify_xml(
    xml: bytes, *, allow_sha1: bool = False, provider: samljit.IdentityProvider | None = None
) -> None:
    w = targets.world()
    sp = (
        w.sp
        if not allow_sha1
        else samljit.SPConfig(
            entity_id=targets.SP_ENTITY_ID, acs_url=targets.ACS_URL, allow_sha1=True
        )
    )
    samljit.verify_response_xml(
        xml,
        idp=provider or w.provider,
        sp=sp,
        now=targets.NOW,
        allow_unsolicited=True,
        decryption_keys=[(w.sp_key, w.sp_certificate)],
    )


@pytest.mark.usefixtures("differential")
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("allow_sha1", [False, True])
def test_every_algorithm_and_digest_of_the_test_idp(kind: str, allow_sha1: bool) -> None:
    w = targets.world()
    ec_key, ec_certificate = targets._pair("idp-next")
    outcomes: Counter[str] = Counter()
    for methods, key, certificate in (
        (RSA_METHODS, w.idp.key, w.idp.certificate),
        (EC_METHODS, ec_key, ec_certificate),
    ):
        for method in methods:
            for digest in DIGESTS:
                xml = targets.issue_response(
                    kind, signature_algorithm=method, digest_algorithm=digest,
                    signing_key=key, signing_certificate=certificate,
                )  # fmt: skip
                outcomes[run(_verify_xml, xml, allow_sha1=allow_sha1)] += 1
    assert outcomes["accepted"] >= (27 if allow_sha1 else 18), outcomes


def _idp_with(key: Any) -> samljit.testing.TestIdP:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "curve test IdP")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2045, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    return samljit.testing.TestIdP(targets.IDP_ENTITY_ID, key=key, certificate=certificate)


@pytest.mark.usefixtures("differential")
@pytest.mark.parametrize("curve", [ec.SECP256R1, ec.SECP384R1, ec.SECP521R1])
def test_ecdsa_on_every_curve(curve: type[ec.EllipticCurve]) -> None:
    """r || s is as long as twice the curve's order: 64, 96 and 132 bytes (P-521: 66 each)."""
    idp = _idp_with(ec.generate_private_key(curve()))
    provider = samljit.parse_idp_metadata(idp.metadata_xml, now=targets.NOW).idp
    outcomes: Counter[str] = Counter()
    for method in EC_METHODS[:3]:
        xml = idp.issue_response(
            sp_entity_id=targets.SP_ENTITY_ID,
            acs_url=targets.ACS_URL,
            now=targets.NOW,
            signature_algorithm=method,
            sign_response=True,
        ).xml
        outcomes[run(_verify_xml, xml, provider=provider)] += 1
    assert outcomes == {"accepted": 3}


@pytest.mark.parametrize("kind", ["ed25519", "ed448"])
def test_a_pinned_key_of_another_type(kind: str) -> None:
    """A metadata key neither RSA nor EC is tried for an RSA signature, and refused alike."""
    key = (
        ed25519.Ed25519PrivateKey.generate()
        if kind == "ed25519"
        else ed448.Ed448PrivateKey.generate()
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "odd key")])
    odd = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2045, 1, 1, tzinfo=UTC))
        .sign(key, None)
    )
    root = etree.fromstring(targets.issue_response("double_signed"))
    for pinned_certificates in ((odd,), (odd, targets.world().idp.certificate)):
        for signature in root.iter("{http://www.w3.org/2000/09/xmldsig#}Signature"):
            signed = signature.getparent()
            assert signed is not None
            try:
                differ(
                    signed,
                    signature,
                    certificates=pinned_certificates,
                    allow_sha1=False,
                    what=etree.QName(signed).localname,
                )
            except samljit.SamlError as exc:
                TALLY[f"odd key {exc.code}"] += 1


def _edit_signatures(xml: bytes, edit: Callable[[etree._Element], None]) -> bytes:
    """``xml`` with ``edit`` applied to each Signature, then every signature made again."""
    root = etree.fromstring(xml)
    for signature in root.iter("{http://www.w3.org/2000/09/xmldsig#}Signature"):
        edit(signature)
    resign(root, keys())
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _inclusive(prefixes: str, *, on: str) -> Callable[[etree._Element], None]:
    def edit(signature: etree._Element) -> None:
        ds = "{http://www.w3.org/2000/09/xmldsig#}"
        for method in signature.iter(f"{ds}{on}"):
            if "exc-c14n" in (method.get("Algorithm") or ""):
                etree.SubElement(
                    method,
                    "{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces",
                    PrefixList=prefixes,
                    nsmap={"ec": "http://www.w3.org/2001/10/xml-exc-c14n#"},
                )

    return edit


def _algorithm(old: str, new: str) -> Callable[[etree._Element], None]:
    def edit(signature: etree._Element) -> None:
        for element in signature.iter():
            if element.get("Algorithm") == old:
                element.set("Algorithm", new)

    return edit


EXC = "http://www.w3.org/2001/10/xml-exc-c14n#"
SHAPES: dict[str, Callable[[etree._Element], None]] = {
    "transform PrefixList": _inclusive("xs saml", on="Transform"),
    "SignedInfo PrefixList": _inclusive("ds", on="CanonicalizationMethod"),
    "#default in PrefixLists": _inclusive("#default saml xsi", on="Transform"),
    "unusual PrefixList spelling": _inclusive("xs  saml", on="Transform"),
    "WithComments transform": _algorithm(EXC, EXC + "WithComments"),
    "inclusive c14n": _algorithm(EXC, "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"),
    "c14n 1.1": _algorithm(EXC, "http://www.w3.org/2006/12/xml-c14n11"),
    "comment in SignedInfo": lambda s: s[0].insert(1, etree.Comment("c")),
    "text after the Signature": lambda s: setattr(s, "tail", "x"),
}


@pytest.mark.usefixtures("differential")
@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("kind", KINDS)
def test_every_shape_variant_re_signed(shape: str, kind: str) -> None:
    xml = _edit_signatures(targets.issue_response(kind), SHAPES[shape])
    for variant in (xml, xml.replace(b"ds:", b"dsig:").replace(b"xmlns:ds=", b"xmlns:dsig=")):
        run(_verify_xml, variant)
        # Comments in the signed content, which only WithComments keeps.
        run(_verify_xml, variant.replace(b"ada@acme.test<", b"ada@acme.test<!--x--><"))


def _shapes(xml: bytes) -> list[bool]:
    """For each signature of ``xml`` that passes check_signed_info: does the lean path take it?"""
    root = etree.fromstring(xml)
    found = []
    for signature in root.iter("{http://www.w3.org/2000/09/xmldsig#}Signature"):
        args = {"signed": signature.getparent(), "signature": signature}
        try:
            check_signed_info(signature, args["signed"].get("ID"), allow_sha1=True, what="x")
        except samljit.SamlError:
            continue
        found.append(is_lean({**args, "allow_sha1": True, "what": "x"}))
    return found


def test_the_signatures_real_idps_send_take_the_lean_path() -> None:
    """Every interop response signature that passes the shape checks, and the test IdP's."""
    shapes = [targets.issue_response(kind) for kind in KINDS]
    for case_dir in CASES:
        case = json.loads((case_dir / "case.json").read_text())
        raw = (case_dir / case["response"]).read_bytes()
        xml = raw if raw.lstrip().startswith(b"<") else base64.b64decode(raw)
        if case["expect"] == "accept":
            shapes.append(xml)
    found = [lean for xml in shapes for lean in _shapes(xml)]
    assert len(found) >= 35
    assert all(found)


SIGNXML_SHAPES = (
    "unusual PrefixList spelling",
    "inclusive c14n",
    "c14n 1.1",
    "comment in SignedInfo",
    "text after the Signature",
)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_other_shapes_go_to_signxml(shape: str) -> None:
    xml = _edit_signatures(targets.issue_response("double_signed"), SHAPES[shape])
    assert _shapes(xml) == [shape not in SIGNXML_SHAPES] * 2


@pytest.mark.usefixtures("differential")
@pytest.mark.parametrize("kind", KINDS)
def test_every_attack_of_samljit_testing(kind: str) -> None:
    seed = targets.issue_response(kind)
    tried = 0
    for attack in attacks.XSW_ATTACKS.values():
        for new_id in (False, True):
            try:
                xml = attack(seed, "ceo@acme.test", new_id)
            except ValueError:  # the attack needs a signature this kind does not have
                continue
            assert run(_verify_xml, xml) != "accepted"
            tried += 1
    forged = seed.replace(b"ada@acme.test", b"ceo@acme.test")
    for xml in (forged, attacks.inject_comment(seed, "ada@acme.test", 3)):
        run(_verify_xml, xml)
    assert tried or kind.startswith("encrypted")


@pytest.mark.usefixtures("differential")
def test_every_kept_crasher() -> None:
    paths = sorted(p for p in targets.CRASHERS.glob("*/*") if "--" in p.name)
    for path in paths:
        with pytest.raises(samljit.SamlError):
            targets.TARGETS[path.parent.name](path.read_bytes())
    assert len(paths) >= 4


@pytest.mark.usefixtures("differential")
@pytest.mark.parametrize("case_dir", CASES, ids=lambda p: p.name)
def test_every_interop_response(case_dir: Path) -> None:
    case = json.loads((case_dir / "case.json").read_text())
    outcome = run(_verify, case_dir)
    assert (outcome == "accepted") == (case["expect"] == "accept"), outcome


@pytest.mark.usefixtures("differential")
@pytest.mark.parametrize("path", interop_documents(), ids=lambda p: p.name)
def test_every_interop_metadata_document(path: Path) -> None:
    """Signed metadata is checked against the key in its own KeyInfo (so that both paths
    verify a real signature), and against the fuzzer's key."""
    root = etree.fromstring(path.read_bytes(), etree.XMLParser(huge_tree=True))
    own = [
        load_certificate(base64.b64decode("".join(c.text.split())))
        for c in root.findall(
            "{http://www.w3.org/2000/09/xmldsig#}Signature//"
            "{http://www.w3.org/2000/09/xmldsig#}X509Certificate"
        )
        if c.text
    ]
    for certificates in (own, [targets.world().idp.certificate]):
        if certificates:
            outcome = run(
                samljit.parse_idp_metadata,
                path.read_bytes(),
                now=targets.NOW,
                signing_certificates=certificates,
            )
            TALLY[f"interop metadata {outcome}"] += 1


# --- the mutation fuzzer ----------------------------------------------------------------------

LONG_RUN = int(os.environ.get("SAMLJIT_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=LONG_RUN or 2000,
    deadline=None,
    derandomize=not LONG_RUN,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@FUZZ
@given(data=st.data())
def test_re_signed_mutants_are_judged_alike(data: st.DataObject) -> None:
    """Mutated, then signed again: mostly documents signxml accepts, which the lean path must
    accept with the same content."""
    xml = mutant(data, re_sign=True)
    allow_sha1 = data.draw(st.integers(0, 3), label="allow_sha1") != 0
    judge_document(xml, pinned(data), allow_sha1)


@FUZZ
@given(data=st.data())
def test_mutants_are_judged_alike(data: st.DataObject) -> None:
    """Mutated after signing: refusals, which must be the same refusal."""
    xml = mutant(data, re_sign=False)
    judge_document(xml, pinned(data), data.draw(st.booleans(), label="allow_sha1"))


# --- the recognizer: exactly the shape IdPs send, or signxml's path -------------------------

DS = "{http://www.w3.org/2000/09/xmldsig#}"
INCLUSIVE = "{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces"
Edit = Callable[[etree._Element, etree._Element], None]


def _part(signature: etree._Element, path: str) -> etree._Element:
    found = signature.find(path.replace("ds:", DS))
    assert found is not None
    return found


def _prefix_list(
    prefixes: str, *, on: str = "ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform[2]"
) -> Edit:
    def edit(signed: etree._Element, signature: etree._Element) -> None:
        etree.SubElement(_part(signature, on), INCLUSIVE, PrefixList=prefixes)

    return edit


def _text_after_signed_with_a_prefix_list(signed: etree._Element, s: etree._Element) -> None:
    _prefix_list("xs")(signed, s)
    signed.tail = "x"


def _swap_transforms(signed: etree._Element, signature: etree._Element) -> None:
    transforms = _part(signature, "ds:SignedInfo/ds:Reference/ds:Transforms")
    transforms.append(transforms[0])


def _set(path: str, **attributes: str) -> Edit:
    def edit(signed: etree._Element, signature: etree._Element) -> None:
        _part(signature, path).attrib.update(attributes)

    return edit


def _child(path: str, tag: str = f"{DS}x") -> Edit:
    def edit(signed: etree._Element, signature: etree._Element) -> None:
        etree.SubElement(_part(signature, path), tag)

    return edit


def _text(path: str, text: str | None) -> Edit:
    def edit(signed: etree._Element, signature: etree._Element) -> None:
        _part(signature, path).text = text

    return edit


def _twice(path: str) -> Edit:
    def edit(signed: etree._Element, signature: etree._Element) -> None:
        part = _part(signature, path)
        part.addnext(etree.fromstring(etree.tostring(part)))

    return edit


def _comment_in_the_signature(signed: etree._Element, signature: etree._Element) -> None:
    signature.insert(1, etree.Comment("c"))


def _no_id(signed: etree._Element, signature: etree._Element) -> None:
    del signed.attrib["ID"]
    _part(signature, REFERENCE).set("URI", "#None")  # what f"#{None}" would spell


def _object_for_the_key_info(signed: etree._Element, signature: etree._Element) -> None:
    _part(signature, "ds:KeyInfo").tag = f"{DS}Object"


def _swap(path: str) -> Edit:
    """The first two children of ``path`` the other way round."""

    def edit(signed: etree._Element, signature: etree._Element) -> None:
        part = _part(signature, path)
        part.insert(0, part[1])

    return edit


def _elsewhere(path: str) -> Edit:
    """The element at ``path`` in another namespace, its attributes and content kept."""

    def edit(signed: etree._Element, signature: etree._Element) -> None:
        part = _part(signature, path)
        part.tag = "{urn:elsewhere}" + etree.QName(part).localname

    return edit


def _one_transform(signed: etree._Element, signature: etree._Element) -> None:
    _part(signature, f"{REFERENCE}/ds:Transforms").remove(_part(signature, TRANSFORM))


def _two_inclusive_namespaces(signed: etree._Element, signature: etree._Element) -> None:
    _prefix_list("xs")(signed, signature)
    _prefix_list("saml")(signed, signature)


def _element_in_inclusive_namespaces(signed: etree._Element, signature: etree._Element) -> None:
    _prefix_list("xs")(signed, signature)
    etree.SubElement(_part(signature, f"{TRANSFORM}[2]")[0], f"{DS}x")


def _text_after_the_signature(signed: etree._Element, signature: etree._Element) -> None:
    signature.tail = "x"


REFERENCE = "ds:SignedInfo/ds:Reference"
TRANSFORM = f"{REFERENCE}/ds:Transforms/ds:Transform"
ALGORITHMS = "http://www.w3.org/2000/09/xmldsig#"
NOT_LEAN: dict[str, Edit] = {
    "an Object in the Signature": _child(".", f"{DS}Object"),
    "a comment in the Signature": _comment_in_the_signature,
    "an Object where the KeyInfo stands": _object_for_the_key_info,
    "SignedInfo's children in another order": _swap("ds:SignedInfo"),
    "the Reference's children in another order": _swap(f"{REFERENCE}"),
    "an enveloped-signature Transform in another namespace": _elsewhere(TRANSFORM),
    "a CanonicalizationMethod in another namespace": _elsewhere(
        "ds:SignedInfo/ds:CanonicalizationMethod"
    ),
    "a DigestMethod in another namespace": _elsewhere(f"{REFERENCE}/ds:DigestMethod"),
    "an element in the SignatureValue": _child("ds:SignatureValue"),
    "a blank SignatureValue": _text("ds:SignatureValue", " "),
    "a second Reference": _twice(REFERENCE),
    "an element in the SignatureMethod": _child("ds:SignedInfo/ds:SignatureMethod"),
    "a SHA-1 signature method": _set(
        "ds:SignedInfo/ds:SignatureMethod", Algorithm=f"{ALGORITHMS}rsa-sha1"
    ),
    "a Reference to another element": _set(REFERENCE, URI="#elsewhere"),
    "a signed element without an ID": _no_id,
    "an element in the DigestMethod": _child(f"{REFERENCE}/ds:DigestMethod"),
    "an element in the DigestValue": _child(f"{REFERENCE}/ds:DigestValue"),
    "a SHA-1 digest": _set(f"{REFERENCE}/ds:DigestMethod", Algorithm=f"{ALGORITHMS}sha1"),
    "an empty DigestValue": _text(f"{REFERENCE}/ds:DigestValue", None),
    "one transform": _one_transform,
    "the transforms the other way round": _swap_transforms,
    "an element in the enveloped-signature transform": _child(TRANSFORM),
    "inclusive c14n of SignedInfo": _set(
        "ds:SignedInfo/ds:CanonicalizationMethod",
        Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    ),
    "two InclusiveNamespaces": _two_inclusive_namespaces,
    "an element in the InclusiveNamespaces": _element_in_inclusive_namespaces,
    "17 prefixes": _prefix_list(" ".join(f"p{i}" for i in range(17))),
    "a PrefixList spelt with two spaces": _prefix_list("xs  saml"),
    "a PrefixList on SignedInfo spelt with two spaces": _prefix_list(
        "xs  saml", on="ds:SignedInfo/ds:CanonicalizationMethod"
    ),
    "text after the Signature": _text_after_the_signature,
    "text after the signed element, with a PrefixList": _text_after_signed_with_a_prefix_list,
}


@pytest.mark.parametrize("edit", NOT_LEAN.values(), ids=NOT_LEAN.keys())
def test_a_signature_not_spelt_exactly_as_idps_send_it_goes_to_signxml(edit: Edit) -> None:
    """``lean_signature`` answers None (``check_signed_info``, then signxml) for each departure
    from the exact shape; the untouched signature, and one with a plain PrefixList, are lean."""
    root = etree.fromstring(targets.issue_response("plain"))
    signature = next(root.iter(f"{DS}Signature"))
    signed = signature.getparent()
    assert signed is not None
    assert lean_signature(signed, signature, allow_sha1=False) is not None
    _prefix_list("xs saml")(signed, signature)
    _prefix_list("#default ds", on="ds:SignedInfo/ds:CanonicalizationMethod")(signed, signature)
    found = lean_signature(signed, signature, allow_sha1=False)
    assert found is not None
    assert found.shape.reference_prefixes == ("xs", "saml")
    assert found.shape.signed_info_prefixes == ("#default", "ds")
    root = etree.fromstring(targets.issue_response("plain"))
    signature = next(root.iter(f"{DS}Signature"))
    signed = signature.getparent()
    assert signed is not None
    edit(signed, signature)
    assert lean_signature(signed, signature, allow_sha1=False) is None
