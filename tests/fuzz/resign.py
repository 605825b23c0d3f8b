"""Signatures made valid again after a mutation, and the mutations of signatures themselves.

``resign`` recomputes every enveloped signature of a document (innermost first, since an outer
digest covers the inner signature) the way signxml reads it: the signed element re-serialised
and re-parsed, the enveloped signature removed, the Reference's canonicalization, the
SignedInfo canonicalized in a re-parsed copy of its Signature. It is written from the
specification for the test, sharing no code with either verification path, so that a mutant
it signs is one signxml accepts unless the mutation broke a rule, and the lean path must then
agree. It signs with the fuzzer's fixed keys: RSA for RSA methods, the EC key for ECDSA.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, PSS, PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import strategies as st
from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
EC_NS = "http://www.w3.org/2001/10/xml-exc-c14n#"
MORE = "http://www.w3.org/2001/04/xmldsig-more#"
MGF = "http://www.w3.org/2007/05/xmldsig-more#"

C14N_URIS = (
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2006/12/xml-c14n11#WithComments",
)
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SIGNATURE_URIS = {
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": ("pkcs1", hashes.SHA1),
    f"{MORE}rsa-sha256": ("pkcs1", hashes.SHA256),
    f"{MORE}rsa-sha384": ("pkcs1", hashes.SHA384),
    f"{MORE}rsa-sha512": ("pkcs1", hashes.SHA512),
    f"{MORE}rsa-sha224": ("pkcs1", hashes.SHA224),
    f"{MGF}sha256-rsa-MGF1": ("pss", hashes.SHA256),
    f"{MGF}sha384-rsa-MGF1": ("pss", hashes.SHA384),
    f"{MGF}sha512-rsa-MGF1": ("pss", hashes.SHA512),
    f"{MGF}sha1-rsa-MGF1": ("pss", hashes.SHA1),
    f"{MORE}ecdsa-sha256": ("ecdsa", hashes.SHA256),
    f"{MORE}ecdsa-sha384": ("ecdsa", hashes.SHA384),
    f"{MORE}ecdsa-sha512": ("ecdsa", hashes.SHA512),
    f"{MORE}ecdsa-sha1": ("ecdsa", hashes.SHA1),
}
DIGEST_URIS = {
    "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
    "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
    f"{MORE}sha384": "sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
    f"{MORE}sha224": "sha224",
}
PREFIX_LISTS = (
    "", "ds", "saml", "xs", "xsd", "#default", "ds saml", "saml samlp ds xs xsi", "#default xs",
    "xs  saml", " xs", "xs ", "xs\tsaml", "xml", "xmlns", "undeclared", "\u00e9t\u00e9", "a:b",
    "#default #default", "xsi xsi", "md ds",
)  # fmt: skip


def _q(local: str, ns: str = DS) -> str:
    return f"{{{ns}}}{local}"


def _reparse(element: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(element), etree.XMLParser(resolve_entities=False))


def _c14n(element: etree._Element, method: etree._Element | None) -> bytes:
    algorithm = "" if method is None else method.get("Algorithm") or ""
    if algorithm not in C14N_URIS[:4]:
        raise ValueError(f"cannot canonicalize with {algorithm!r}")
    found = None if method is None else method.find(_q("InclusiveNamespaces", EC_NS))
    listed = None if found is None else found.get("PrefixList")
    return etree.tostring(
        element,
        method="c14n",
        exclusive="exc-c14n" in algorithm,
        with_comments=algorithm.endswith("WithComments"),
        inclusive_ns_prefixes=None if listed is None else listed.split(" "),
    )


def _sign(keys: dict[str, Any], algorithm: str, data: bytes) -> bytes:
    kind, hash_type = SIGNATURE_URIS[algorithm]
    if kind == "ecdsa":
        key: ec.EllipticCurvePrivateKey = keys["ec"]
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hash_type())))
        half = (key.key_size + 7) // 8
        return r.to_bytes(half, "big") + s.to_bytes(half, "big")
    rsa_key: rsa.RSAPrivateKey = keys["rsa"]
    if kind == "pkcs1":
        return rsa_key.sign(data, PKCS1v15(), hash_type())
    padding = PSS(mgf=MGF1(hash_type()), salt_length=hash_type.digest_size)
    return rsa_key.sign(data, padding, hash_type())


def resign_one(signature: etree._Element, keys: dict[str, Any]) -> None:
    """Recompute the DigestValue and SignatureValue of one enveloped ``signature``; raises
    when its shape leaves nothing to compute (the caller keeps it as mutated)."""
    signed = signature.getparent()
    info = signature.find(_q("SignedInfo"))
    if signed is None or info is None:
        raise ValueError("no signed element or no SignedInfo")
    reference = info.find(_q("Reference"))
    if reference is None:
        raise ValueError("no Reference")
    transforms = reference.findall(f"{_q('Transforms')}/{_q('Transform')}")
    payload = _reparse(signed)
    if any(t.get("Algorithm") == ENVELOPED for t in transforms):
        for child in list(payload.iterchildren(_q("Signature"))):
            parent = child.getparent()
            assert parent is not None
            if child.tail:
                previous = child.getprevious()
                if previous is not None:
                    previous.tail = (previous.tail or "") + child.tail
                else:
                    parent.text = (parent.text or "") + child.tail
            parent.remove(child)
    c14n = [t for t in transforms if t.get("Algorithm") in C14N_URIS]
    canonical = _c14n(payload, c14n[0] if c14n else None)
    digest_method = reference.find(_q("DigestMethod"))
    digest_value = reference.find(_q("DigestValue"))
    algorithm = DIGEST_URIS.get(
        digest_method.get("Algorithm") or "" if digest_method is not None else ""
    )
    if algorithm is not None and digest_value is not None:
        digest_value.text = base64.b64encode(hashlib.new(algorithm, canonical).digest()).decode()
    # SignedInfo as signxml reads it: in a re-parsed copy of its Signature.
    copied = _reparse(signature).find(_q("SignedInfo"))
    method = info.find(_q("SignatureMethod"))
    value = signature.find(_q("SignatureValue"))
    assert copied is not None
    if method is None or value is None or method.get("Algorithm") not in SIGNATURE_URIS:
        raise ValueError("no signature method this test signs with")
    signed_info = _c14n(copied, info.find(_q("CanonicalizationMethod")))
    value.text = base64.b64encode(_sign(keys, method.get("Algorithm") or "", signed_info)).decode()


def resign(root: etree._Element, keys: dict[str, Any]) -> int:
    """Re-sign every signature below ``root`` that can be, innermost first; how many were."""
    signatures = sorted(root.iter(_q("Signature")), key=lambda s: -len(list(s.iterancestors())))
    done = 0
    for signature in signatures:
        try:
            resign_one(signature, keys)
        except (ValueError, etree.Error, KeyError):
            continue
        done += 1
    return done


# --- mutations of signatures ----------------------------------------------------------------

ALGORITHMS = (*C14N_URIS, ENVELOPED, *SIGNATURE_URIS, *DIGEST_URIS, "urn:x", "")


def _signature_parts(root: etree._Element, local: str) -> list[etree._Element]:
    return [e for s in root.iter(_q("Signature")) for e in s.iter(_q(local))]


def _pick(data: st.DataObject, items: list[Any], label: str) -> Any:
    return items[data.draw(st.integers(0, len(items) - 1), label=label)] if items else None


def set_algorithm(data: st.DataObject, root: etree._Element) -> None:
    local = data.draw(
        st.sampled_from(["CanonicalizationMethod", "Transform", "SignatureMethod", "DigestMethod"]),
        label="algorithm of",
    )
    element = _pick(data, _signature_parts(root, local), "method")
    if element is not None:
        element.set("Algorithm", data.draw(st.sampled_from(ALGORITHMS), label="algorithm"))


def set_prefix_list(data: st.DataObject, root: etree._Element) -> None:
    """An InclusiveNamespaces added, changed or removed on a c14n method or transform."""
    methods = _signature_parts(root, "CanonicalizationMethod") + _signature_parts(root, "Transform")
    method = _pick(data, methods, "c14n method")
    if method is None:
        return
    for found in method.findall(_q("InclusiveNamespaces", EC_NS)):
        method.remove(found)
    if data.draw(st.integers(0, 4), label="remove") == 0:
        return
    prefix = data.draw(st.sampled_from(["ec", "", "exc"]), label="ec prefix")
    nsmap = {prefix or None: EC_NS}
    inclusive = etree.SubElement(method, _q("InclusiveNamespaces", EC_NS), nsmap=nsmap)
    if data.draw(st.integers(0, 6), label="no list") != 0:
        inclusive.set("PrefixList", data.draw(st.sampled_from(PREFIX_LISTS), label="prefixes"))


def reshape_transforms(data: st.DataObject, root: etree._Element) -> None:
    """Transforms reordered, dropped or repeated."""
    holder = _pick(data, _signature_parts(root, "Transforms"), "transforms")
    if holder is None or not len(holder):
        return
    kind = data.draw(st.integers(0, 2), label="reshape")
    if kind == 0:
        holder.append(holder[0])  # the first moves last
    elif kind == 1:
        holder.remove(holder[data.draw(st.integers(0, len(holder) - 1), label="dropped")])
    else:
        holder.append(copy.deepcopy(holder[-1]))


def comment_in_signed_info(data: st.DataObject, root: etree._Element) -> None:
    """A comment or processing instruction inside SignedInfo, maybe splitting a DigestValue."""
    element = _pick(data, _signature_parts(root, "SignedInfo"), "signed info")
    if element is None:
        return
    target = _pick(data, list(element.iter(etree.Element)), "inside")
    node = (
        etree.Comment(" c ")
        if data.draw(st.booleans(), label="comment")
        else etree.ProcessingInstruction("pi", "x")
    )
    if target.text and data.draw(st.booleans(), label="split text"):
        cut = data.draw(st.integers(0, len(target.text)), label="cut")
        text, target.text = target.text, target.text[:cut]
        node.tail = text[cut:]
    target.insert(0, node)


def whitespace(data: st.DataObject, root: etree._Element) -> None:
    """Whitespace (or text) in a base64 value, a tail after a Signature or signed element, or
    between elements."""
    space = data.draw(
        st.sampled_from([" ", "\n", "\r\n", "\t", "  \n  ", "x", "\u00a0"]), label="ws"
    )
    kind = data.draw(st.integers(0, 2), label="where")
    if kind == 0:
        values = _signature_parts(root, "DigestValue") + _signature_parts(root, "SignatureValue")
        element = _pick(data, values, "value")
        if element is not None and element.text:
            cut = data.draw(st.integers(0, len(element.text)), label="cut")
            element.text = element.text[:cut] + space + element.text[cut:]
    elif kind == 1:
        signature = _pick(data, list(root.iter(_q("Signature"))), "signature")
        if signature is not None:
            target = (
                signature if data.draw(st.booleans(), label="own tail") else signature.getparent()
            )
            if target is not None and target is not root:
                target.tail = (target.tail or "") + space
    else:
        element = _pick(data, list(root.iter(etree.Element)), "element")
        element.text = (element.text or "") + space if not len(element) else element.text
        if len(element):
            element[-1].tail = (element[-1].tail or "") + space


def change_id(data: st.DataObject, root: etree._Element) -> None:
    """The signed element's ID changed, with or without its Reference's URI."""
    signature = _pick(data, list(root.iter(_q("Signature"))), "signature")
    signed = None if signature is None else signature.getparent()
    if signed is None:
        return
    new = data.draw(st.sampled_from(["_new", "", "a b", "_a0fuzz", "_r0fuzz", "x'y"]), label="id")
    signed.set("ID", new)
    reference = signature.find(f"{_q('SignedInfo')}/{_q('Reference')}")
    if reference is not None and data.draw(st.booleans(), label="follow"):
        reference.set("URI", f"#{new}")


SIGNATURE_MUTATIONS = (
    set_algorithm,
    set_prefix_list,
    reshape_transforms,
    comment_in_signed_info,
    whitespace,
    change_id,
)


def flip_value(data: st.DataObject, root: etree._Element) -> None:
    """After signing: one base64 character of a DigestValue or SignatureValue changed."""
    values = _signature_parts(root, "DigestValue") + _signature_parts(root, "SignatureValue")
    element = _pick(data, [v for v in values if v.text], "value")
    if element is None:
        return
    text = element.text
    at = data.draw(st.integers(0, len(text) - 1), label="at")
    new = data.draw(st.sampled_from("AQgw+/=9z!"), label="char")
    element.text = text[:at] + new + text[at + 1 :]
