"""Mutations of a valid document, drawn by hypothesis: XML-level edits, then byte-level ones.

XML-level: delete, duplicate or move an element; set, delete or rename an attribute; change an
element's text; rename an element or move it to another namespace; insert an element, a
comment or a processing instruction; put an odd certificate into a KeyInfo. Byte-level: flip a
byte, truncate, insert or delete a run of bytes.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from functools import cache

from hypothesis import strategies as st
from lxml import etree

from .certificates import odd_certificates
from .targets import world

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xenc": "http://www.w3.org/2001/04/xmlenc#",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "dsig11": "http://www.w3.org/2009/xmldsig11#",
    "other": "urn:example:other",
    "empty": "",
}

TAGS = (
    "Response", "Assertion", "EncryptedAssertion", "Issuer", "Status", "StatusCode", "Subject",
    "NameID", "EncryptedID", "SubjectConfirmation", "SubjectConfirmationData", "Conditions",
    "AudienceRestriction", "Audience", "AuthnStatement", "AttributeStatement", "Attribute",
    "AttributeValue", "Signature", "SignedInfo", "SignatureValue", "Reference", "Transforms",
    "Transform", "DigestValue", "DigestMethod", "KeyInfo", "X509Data", "X509Certificate",
    "KeyValue", "RSAKeyValue", "DEREncodedKeyValue", "EncryptedKey", "EncryptedData",
    "CipherData", "CipherValue", "EncryptionMethod", "EntityDescriptor", "EntitiesDescriptor",
    "IDPSSODescriptor", "SPSSODescriptor", "KeyDescriptor", "SingleSignOnService",
    "SingleLogoutService", "NameIDFormat", "LogoutRequest", "LogoutResponse", "SessionIndex",
    "Extensions", "InclusiveNamespaces", "RetrievalMethod",
)  # fmt: skip

ATTRIBUTES = (
    "ID", "Version", "IssueInstant", "Destination", "InResponseTo", "NotBefore", "NotOnOrAfter",
    "Recipient", "Method", "Algorithm", "URI", "Format", "Name", "NameFormat", "Value",
    "SessionIndex", "AuthnInstant", "SessionNotOnOrAfter", "entityID", "validUntil",
    "cacheDuration", "use", "Binding", "Location", "ResponseLocation",
    "protocolSupportEnumeration", "WantAuthnRequestsSigned", "Type", "PrefixList",
    "SPNameQualifier", "NameQualifier", "Reason", "{http://www.w3.org/2001/XMLSchema-instance}type",
    "{http://www.w3.org/2001/XMLSchema-instance}nil",
)  # fmt: skip

VALUES = (
    "", " ", "2.0", "1.1", "3.0", "#_a0fuzz", "#_r0fuzz", "#", "_a0fuzz", "_r0fuzz", "0", "-1",
    "99999999999999999999999999", "NaN", "true", "false",
    "2026-11-25T12:00:00Z", "2026-11-25T12:00:00", "2026-11-25T12:00:00.123456789+14:00",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "10000-01-01T00:00:00Z",
    "-0001-01-01T00:00:00Z", "2026-02-30T25:61:61Z", "2026-11-25T12:00:00-25:00",
    "P1Y", "PT0S", "P99999999999999999999D", "PT1.5S", "-P1D",
    "https://app.example.com/saml/acme/acs", "https://app.example.com/saml/acme/slo",
    "https://app.example.com/saml/acme", "https://idp.fuzz.test/metadata",
    "urn:oasis:names:tc:SAML:2.0:protocol", "urn:oasis:names:tc:SAML:2.0:status:Success",
    "urn:oasis:names:tc:SAML:2.0:status:Requester", "urn:oasis:names:tc:SAML:2.0:cm:bearer",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:encrypted",
    "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
    "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#", "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/TR/1999/REC-xpath-19991116", "http://www.w3.org/TR/1999/REC-xslt-19991116",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
    "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1",
    "http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2000/09/xmldsig#sha1",
    "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
    "http://www.w3.org/2009/xmlenc11#rsa-oaep", "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc", "http://www.w3.org/2001/04/xmlenc#kw-aes128",
    "http://www.w3.org/2001/04/xmlenc#EncryptedKey", "http://www.w3.org/2001/04/xmlenc#Element",
    "signing", "encryption", "xs:string", "xs:integer", "xsd:anyType", "foo:bar", "1:2",
    "ada@acme.test", "ADA@ACME.TEST ", "\u212aate@acme.test", "ceo@acme.test\u3000",
    "a" * 5000, "\u0000", "\ud7ff\ue000\ufffd", "\U0001f600", "&amp;", "<", "]]>",
    "#xpointer(/)", "#xpointer(id('_a0fuzz'))", "ds saml #default", "#default xsi xs",
)  # fmt: skip

TEXTS = (
    *VALUES,
    "AAAA",
    "====",
    "!!!not base64!!!",
    "MIIB" * 10,
    base64.b64encode(b"\x00" * 300).decode(),
    base64.b64encode(b"\x30\x82\xff\xff").decode(),
)

TreeMutation = Callable[[st.DataObject, etree._Element], None]


@cache
def odd_certificate_texts() -> tuple[str, ...]:
    """The base64 of certificates cryptography refuses, RSA and EC, DER and PEM."""
    w = world()
    texts: list[str] = []
    for certificate in (w.idp.certificate, w.next_certificate):
        for der in odd_certificates(certificate).values():
            texts.append(base64.b64encode(der).decode())
            pem = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der)
            texts.append(base64.b64encode(pem + b"-----END CERTIFICATE-----\n").decode())
    return tuple(texts)


def _elements(root: etree._Element) -> list[etree._Element]:
    return list(root.iter(etree.Element))


def _pick(data: st.DataObject, items: list[etree._Element], label: str) -> etree._Element:
    return items[data.draw(st.integers(0, len(items) - 1), label=label)]


def _pick_below_root(data: st.DataObject, root: etree._Element) -> etree._Element | None:
    below = _elements(root)[1:]
    return _pick(data, below, "element") if below else None


def _value(data: st.DataObject, root: etree._Element) -> str:
    kind = data.draw(st.integers(0, 9), label="value kind")
    if kind == 0:
        return data.draw(st.text(max_size=40), label="value")
    if kind == 1:  # a value from elsewhere in the document (an ID, a time, a URI)
        found = [v for e in _elements(root) for v in e.attrib.values()]
        if found:
            return found[data.draw(st.integers(0, len(found) - 1), label="reused")]
    return data.draw(st.sampled_from(VALUES), label="value")


def _xml_safe(text: str) -> str:
    """Only the characters lxml accepts in text and attribute values."""
    return "".join(
        c
        for c in text
        if c in "\t\n\r" or "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c > "\uffff"
    )


def delete_element(data: st.DataObject, root: etree._Element) -> None:
    element = _pick_below_root(data, root)
    if element is not None:
        parent = element.getparent()
        assert parent is not None
        parent.remove(element)


def duplicate_element(data: st.DataObject, root: etree._Element) -> None:
    element = _pick_below_root(data, root)
    if element is not None:
        element.addnext(copy.deepcopy(element))


def move_element(data: st.DataObject, root: etree._Element) -> None:
    element = _pick_below_root(data, root)
    if element is None:
        return
    inside = set(element.iter())
    targets = [e for e in _elements(root) if e not in inside]
    target = _pick(data, targets, "new parent")
    target.insert(data.draw(st.integers(0, len(target)), label="position"), element)


def set_attribute(data: st.DataObject, root: etree._Element) -> None:
    element = _pick(data, _elements(root), "element")
    names = list(element.attrib.keys())
    if names and data.draw(st.booleans(), label="existing attribute"):
        name = names[data.draw(st.integers(0, len(names) - 1), label="attribute")]
    else:
        name = data.draw(st.sampled_from(ATTRIBUTES), label="attribute")
    element.set(name, _xml_safe(_value(data, root)))


def delete_attribute(data: st.DataObject, root: etree._Element) -> None:
    element = _pick(data, [e for e in _elements(root) if e.attrib] or [root], "element")
    names = list(element.attrib.keys())
    if names:
        del element.attrib[names[data.draw(st.integers(0, len(names) - 1), label="attribute")]]


def set_text(data: st.DataObject, root: etree._Element) -> None:
    element = _pick(data, _elements(root), "element")
    text = data.draw(st.sampled_from(TEXTS), label="text")
    if data.draw(st.integers(0, 3), label="text kind") == 0:
        text = data.draw(st.text(max_size=60), label="text")
    element.text = _xml_safe(text)


def rename_element(data: st.DataObject, root: etree._Element) -> None:
    element = _pick(data, _elements(root), "element")
    namespace = data.draw(st.sampled_from(sorted(NS.values())), label="namespace")
    if data.draw(st.booleans(), label="keep local name"):
        local = etree.QName(element).localname
    else:
        local = data.draw(st.sampled_from(TAGS), label="local name")
    element.tag = f"{{{namespace}}}{local}" if namespace else local


def insert_element(data: st.DataObject, root: etree._Element) -> None:
    parent = _pick(data, _elements(root), "parent")
    namespace = data.draw(st.sampled_from(sorted(NS.values())), label="namespace")
    local = data.draw(st.sampled_from(TAGS), label="local name")
    new = etree.Element(f"{{{namespace}}}{local}" if namespace else local)
    if data.draw(st.booleans(), label="with text"):
        new.text = _xml_safe(data.draw(st.sampled_from(TEXTS), label="text"))
    parent.insert(data.draw(st.integers(0, len(parent)), label="position"), new)


def insert_node(data: st.DataObject, root: etree._Element) -> None:
    parent = _pick(data, _elements(root), "parent")
    text = data.draw(st.sampled_from(["", "x", "ada@evil.test", "- x", " "]), label="node text")
    node = (
        etree.Comment(text)
        if data.draw(st.booleans(), label="comment")
        else etree.ProcessingInstruction("pi", text)
    )
    parent.insert(data.draw(st.integers(0, len(parent)), label="position"), node)


def odd_certificate(data: st.DataObject, root: etree._Element) -> None:
    """An odd certificate in a KeyInfo: replacing a certificate there, or added as one."""
    texts = odd_certificate_texts()
    text = texts[data.draw(st.integers(0, len(texts) - 1), label="odd certificate")]
    existing = list(root.iter(f"{{{NS['ds']}}}X509Certificate"))
    if existing and data.draw(st.booleans(), label="replace"):
        _pick(data, existing, "certificate").text = text
        return
    holders = list(root.iter(f"{{{NS['ds']}}}KeyInfo")) or list(
        root.iter(f"{{{NS['ds']}}}Signature")
    )
    if not holders:
        holders = _elements(root)
    holder = _pick(data, holders, "key info")
    if etree.QName(holder).localname != "KeyInfo":
        holder = etree.SubElement(holder, f"{{{NS['ds']}}}KeyInfo")
    x509_data = etree.Element(f"{{{NS['ds']}}}X509Data")
    etree.SubElement(x509_data, f"{{{NS['ds']}}}X509Certificate").text = text
    holder.insert(0, x509_data)


def wrap_deeply(data: st.DataObject, root: etree._Element) -> None:
    """An element put inside a chain of new elements, up to past the depth limit."""
    element = _pick_below_root(data, root)
    if element is None:
        return
    parent = element.getparent()
    assert parent is not None
    outer = inner = etree.Element(f"{{{NS['other']}}}wrap")
    for _ in range(data.draw(st.sampled_from([1, 2, 10, 70]), label="depth")):
        inner = etree.SubElement(inner, f"{{{NS['other']}}}wrap")
    element.addprevious(outer)
    inner.append(element)


def repeat_element(data: st.DataObject, root: etree._Element) -> None:
    """Many copies of one element (a flood of Assertions, EncryptedKeys, certificates)."""
    element = _pick_below_root(data, root)
    if element is not None:
        for _ in range(data.draw(st.sampled_from([2, 5, 50]), label="copies")):
            element.addnext(copy.deepcopy(element))


TREE_MUTATIONS: tuple[TreeMutation, ...] = (
    wrap_deeply,
    repeat_element,
    delete_element,
    duplicate_element,
    move_element,
    set_attribute,
    delete_attribute,
    set_text,
    rename_element,
    insert_element,
    insert_node,
    odd_certificate,
)


def mutate_tree(data: st.DataObject, root: etree._Element, *, at_most: int = 4) -> None:
    """Apply 1 to ``at_most`` XML-level mutations to ``root`` in place."""
    for _ in range(data.draw(st.integers(1, at_most), label="mutations")):
        data.draw(st.sampled_from(TREE_MUTATIONS), label="mutation")(data, root)


def mutate_bytes(data: st.DataObject, raw: bytes) -> bytes:
    """Apply 1 to 3 byte-level mutations."""
    out = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 3), label="byte mutations")):
        kind = data.draw(st.integers(0, 3), label="byte mutation")
        at = data.draw(st.integers(0, len(out)), label="offset")
        if kind == 0 and at < len(out):
            out[at] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif kind == 1:
            del out[at:]
        elif kind == 2:
            out[at:at] = data.draw(
                st.sampled_from([b"<", b">", b"&", b"\x00", b"\xff", b"]]>", b"<!--", b"%", b"="])
                | st.binary(min_size=1, max_size=8),
                label="inserted",
            )
        else:
            del out[at : at + data.draw(st.integers(1, 64), label="length")]
    return bytes(out)


HEADERS = (
    b"",
    b"\n\n  ",
    b"\xef\xbb\xbf",
    b'<?xml version="1.0" encoding="UTF-8"?>',
    b'<?xml version="1.1"?>',
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<?xml version="1.0" encoding="ISO-8859-1"?>',
    b'<?xml version="1.0" encoding="EBCDIC-US"?>',
    b'<?xml version="1.0" encoding="x-unknown"?>',
    b'<?xml version="1.0" standalone="yes"?>',
    b'<!DOCTYPE r [<!ENTITY e "ada@evil.test">]>',
    b'<!DOCTYPE r SYSTEM "http://127.0.0.1:1/x.dtd">',
    b'<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>',
    b"<!-- c -->",
    b"<?pi x?>",
)
NAMESPACE_DECLARATIONS = (
    *(
        f' xmlns:{prefix}="{uri}"'.encode()
        for prefix in ("saml", "samlp", "ds", "md", "xenc", "xsi")
        for uri in (NS["other"], NS["saml"], NS["ds"])
    ),
    b' xmlns="urn:example:other"',
    b' xmlns=""',
    b' xmlns:saml=""',
)


def _replace_header(data: st.DataObject, raw: bytes) -> bytes:
    body = raw
    if body.startswith(b"<?xml") and b"?>" in body:
        body = body[body.index(b"?>") + 2 :].lstrip()
    return data.draw(st.sampled_from(HEADERS), label="header") + body


def _declare_namespace(data: st.DataObject, raw: bytes) -> bytes:
    """A namespace (re)declared on some element: its prefix may now mean something else."""
    tags = [i for i in range(len(raw) - 1) if raw[i] == 0x3C and raw[i + 1] not in b"/?!"]
    if not tags:
        return raw
    start = tags[data.draw(st.integers(0, len(tags) - 1), label="tag")]
    end = start + 1
    while end < len(raw) and raw[end] not in b" \t\r\n/>":
        end += 1
    declaration = data.draw(st.sampled_from(NAMESPACE_DECLARATIONS), label="declaration")
    return raw[:end] + declaration + raw[end:]


def mutate_document(data: st.DataObject, seed: bytes) -> bytes:
    """``seed`` mutated at the XML level (mostly), at the byte level (sometimes), or both."""
    mode = data.draw(st.sampled_from(["tree", "tree", "tree", "bytes", "both"]), label="mode")
    raw = seed
    if mode != "bytes":
        root = etree.fromstring(seed, etree.XMLParser(resolve_entities=False, huge_tree=True))
        mutate_tree(data, root)
        raw = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    if mode != "tree":
        raw = mutate_bytes(data, raw)
    extra = data.draw(st.sampled_from(["none", "none", "none", "header", "namespace"]), label="x")
    if extra == "header":
        raw = _replace_header(data, raw)
    elif extra == "namespace":
        raw = _declare_namespace(data, raw)
    return raw
