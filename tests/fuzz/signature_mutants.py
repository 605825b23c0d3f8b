"""The signed documents the differential fuzzer starts from, their mutants, and how each
mutant's signatures are judged (``tests/test_signature_differential.py``)."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from hypothesis import reject
from hypothesis import strategies as st
from lxml import etree

import samljit
from samljit._signature import signature_child
from samljit._xml import parse_xml

from ..conftest import INTEROP
from ..signature_paths import TALLY, differ
from ..test_interop import CASES
from . import targets
from .mutations import TREE_MUTATIONS, _declare_namespace, mutate_bytes
from .resign import SIGNATURE_MUTATIONS, flip_value, resign

KINDS = targets.RESPONSE_KINDS


def keys() -> dict[str, Any]:
    w = targets.world()
    ec_key, _ = targets._pair("idp-next")
    return {"rsa": w.idp.key, "ec": ec_key}


def interop_documents() -> list[Path]:
    return sorted((INTEROP / "metadata").glob("*.xml"))


@cache
def seeds() -> tuple[bytes, ...]:
    """Signed documents: the test IdP's (every kind, RSA, EC and PSS), logout messages, signed
    metadata, and every interop response and signed metadata document (re-signed when
    mutated, with the fuzzer's keys)."""
    w = targets.world()
    ec_key, ec_certificate = targets._pair("idp-next")
    found = [targets.issue_response(kind) for kind in KINDS]
    found += [
        targets.issue_response(
            "double_signed", signing_key=ec_key, signing_certificate=ec_certificate
        ),
        targets.issue_response(
            "double_signed", signature_algorithm="sha384-rsa-MGF1", digest_algorithm="sha512"
        ),
        targets.logout_xml("request", signed=True),
        targets.logout_xml("response", signed=True),
        targets.signed_metadata(w.metadata),
    ]
    for case_dir in CASES:
        case = json.loads((case_dir / "case.json").read_text())
        raw = (case_dir / case["response"]).read_bytes()
        found.append(raw if raw.lstrip().startswith(b"<") else base64.b64decode(raw))
    found += [p.read_bytes() for p in interop_documents() if p.stat().st_size < 200_000]
    return tuple(x for x in found if b"Signature" in x)


def pinned(data: st.DataObject) -> tuple[x509.Certificate, ...]:
    w = targets.world()
    _, ec_certificate = targets._pair("idp-next")
    rsa_certificate, other = w.idp.certificate, w.sp_certificate
    choices = [
        *[(rsa_certificate, ec_certificate)] * 6,
        (ec_certificate, rsa_certificate),
        (rsa_certificate,),
        (ec_certificate,),
        (other, rsa_certificate),
        (other,),
    ]
    return data.draw(st.sampled_from(choices), label="pinned")


def judge_document(
    xml: bytes, certificates: tuple[x509.Certificate, ...], allow_sha1: bool
) -> None:
    """Every enveloped signature of ``xml``, parsed as samljit parses, judged by both paths."""
    try:
        root = parse_xml(xml, samljit.SPConfig(entity_id="e", acs_url="https://a/").limits)
    except samljit.SamlError as exc:
        TALLY[f"unparsed {exc.code}"] += 1
        return
    for signature in list(root.iter("{http://www.w3.org/2000/09/xmldsig#}Signature")):
        signed = signature.getparent()
        if signed is None:
            continue
        what = etree.QName(signed).localname
        try:
            found = signature_child(signed, what)
            if found is not None:
                differ(
                    found.getparent(),
                    found,
                    certificates=certificates,
                    allow_sha1=allow_sha1,
                    what=what,
                )
        except samljit.SamlError:
            continue


PREFIXES = {
    "dsig": ((b"<ds:", b"<dsig:"), (b"</ds:", b"</dsig:"), (b"xmlns:ds=", b"xmlns:dsig=")),
    "default": ((b"<ds:", b"<"), (b"</ds:", b"</"), (b"xmlns:ds=", b"xmlns=")),
}


def mutant(data: st.DataObject, *, re_sign: bool) -> bytes:
    """A seed mutated: its namespaces at the byte level (sometimes), its tree (1 to 3 edits,
    mostly of the signatures), then re-signed (``re_sign``), then maybe a signature value or
    the bytes changed (rarely, when re-signed: those mutants are for accepting)."""
    seed = data.draw(st.sampled_from(seeds()), label="seed")
    namespaces = data.draw(st.sampled_from(["keep"] * 6 + ["declare", *PREFIXES]), label="ns")
    if namespaces == "declare":
        seed = _declare_namespace(data, seed)
    elif namespaces in PREFIXES:
        for old, new in PREFIXES[namespaces]:
            seed = seed.replace(old, new)
    try:
        root = etree.fromstring(seed, etree.XMLParser(resolve_entities=False, huge_tree=True))
    except etree.XMLSyntaxError:
        reject()
    for _ in range(data.draw(st.integers(1, 2 if re_sign else 3), label="mutations")):
        generic = data.draw(st.integers(0, 3), label="generic") == 0
        pool = TREE_MUTATIONS if generic else SIGNATURE_MUTATIONS
        data.draw(st.sampled_from(pool), label="mutation")(data, root)
    if re_sign:
        resign(root, keys())
    if data.draw(st.integers(0, 7 if re_sign else 2), label="flip") == 0:
        flip_value(data, root)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    if data.draw(st.integers(0, 19 if re_sign else 7), label="bytes") == 0:
        xml = mutate_bytes(data, xml)
    return xml
