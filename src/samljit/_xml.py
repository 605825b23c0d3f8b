"""The only XML parser in samljit: no DTD, no entities, no network, bounded size and depth."""

from __future__ import annotations

import functools
import io
import re
import threading
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .errors import ConfigError, XmlForbiddenConstruct, XmlMalformed, XmlTooDeep, XmlTooLarge

NS_SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
NS_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_XENC = "http://www.w3.org/2001/04/xmlenc#"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
NS_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"

NSMAP = {"samlp": NS_SAMLP, "saml": NS_SAML, "md": NS_MD, "ds": NS_DS, "xenc": NS_XENC}


def qname(ns: str, local: str) -> str:
    return f"{{{ns}}}{local}"


MAX_DEPTH = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class XmlLimits:
    """Bounds on one XML document; anything larger is refused before it is used."""

    max_bytes: int
    """Size of the document in bytes."""
    max_depth: int
    """Element nesting depth (the root is depth 1)."""
    max_nodes: int
    """Elements plus attributes."""
    max_namespace_declarations: int = 4096
    """Namespace declarations (``xmlns`` and ``xmlns:p`` attributes) in the whole document,
    counted before parsing as occurrences of the text ``xmlns``, which can only over-count.
    They are not counted as attributes, and libxml2 keeps every one of them."""
    max_namespaces_in_scope: int = 64
    """Namespace declarations in scope at any one element. Canonicalization costs grow with the
    square of this number, so it is what keeps the canonicalization done before a signature is
    verified cheap; real IdPs have fewer than 15 in scope anywhere."""

    def __post_init__(self) -> None:
        if (
            self.max_bytes < 1
            or self.max_nodes < 1
            or self.max_namespace_declarations < 1
            or self.max_namespaces_in_scope < 1
        ):
            raise ConfigError("XML limits must be positive")
        if not 1 <= self.max_depth <= MAX_DEPTH:
            # libxml2 itself stops at 256 levels unless told to parse "huge" trees, which
            # samljit never does.
            raise ConfigError(f"max_depth must be between 1 and {MAX_DEPTH}, got {self.max_depth}")


# libxml2 with these options never reads a DTD, expands an entity or opens a URL. DOCTYPE is
# still *parsed* (libxml2 has no switch to refuse it), so parse_xml rejects any document that has
# one before the tree is used.
_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_blank_text": False,
    "collect_ids": False,
}


_ENTITY_ERRORS = frozenset(
    {etree.ErrorTypes.ERR_UNDECLARED_ENTITY, etree.ErrorTypes.WAR_UNDECLARED_ENTITY}
)


def _new_parser() -> etree.XMLParser:
    parser = etree.XMLParser(**_PARSER_OPTIONS)  # type: ignore[arg-type]
    parser.resolvers.add(_RefuseExternal())
    return parser


# An lxml parser is not thread-safe, so each thread gets its own.
_local = threading.local()


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = _new_parser()
    return parser


# Byte patterns that start a document in an encoding that is not ASCII-compatible.
_WIDE_ENCODINGS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)


def _wide(data: bytes) -> bool:
    """Whether ``data`` may start with one of _WIDE_ENCODINGS: each has a NUL byte or a
    byte-order mark's 0xFE or 0xFF among its first two bytes."""
    return data[:1] in (b"\x00", b"\xfe", b"\xff") or data[1:2] == b"\x00"


# Encodings in which the checks below can read the document as libxml2 will. Anything else
# (UTF-7, EBCDIC, ...) could spell "<!DOCTYPE" in bytes that no byte scan recognises.
_SAFE_ENCODINGS = frozenset(
    {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin1", "latin-1"}
    | {"utf-16", "utf-16le", "utf-16be", "utf-32", "utf-32le", "utf-32be"}
)
_DECLARED_ENCODING = re.compile(r"^\s*<\?xml[^>]*?\sencoding\s*=\s*[\"']([^\"']*)[\"']")


def _check_prologue(data: bytes, what: str) -> int:
    """Refuse DTDs and unreadable encodings before libxml2 sees a byte.

    Returns how often ``xmlns`` occurs in the document: an upper bound on its namespace
    declarations, found in one linear scan.
    """
    for prefix, encoding in _WIDE_ENCODINGS if _wide(data) else ():
        if data.startswith(prefix):
            text = data.decode(encoding, "replace").lstrip("\ufeff")
            head, declares_dtd = text[:_DECLARATION_MAX], "<!DOCTYPE" in text or "<!ENTITY" in text
            xmlns = text.count("xmlns")
            break
    else:
        start = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
        if start.lstrip()[:1] != b"<":
            raise XmlMalformed(f"the {what} does not start with XML markup")
        head = start[:_DECLARATION_MAX].decode("latin-1")  # each ASCII byte maps to itself
        # "!" is rare in SAML and found by memchr; "<!" among a document's many "<" is not.
        declares_dtd = b"!" in data and (b"<!DOCTYPE" in data or b"<!ENTITY" in data)
        xmlns = data.count(b"xmlns")
    # Whitespace may pad the declaration's pseudo-attributes (XML 1.0 production 23), so the
    # whole declaration is read; one longer than _DECLARATION_MAX is not accepted at all.
    if head.startswith("<?xml") and "?>" not in head:
        raise XmlMalformed(f"the {what} has an unterminated or oversized XML declaration")
    declared = _DECLARED_ENCODING.match(head)
    if declared and declared.group(1).strip().lower() not in _SAFE_ENCODINGS:
        raise XmlMalformed(
            f"the {what} declares the encoding {declared.group(1)!r}; use UTF-8",
            found=declared.group(1),
        )
    if declares_dtd:
        raise XmlForbiddenConstruct(f"the {what} has a DOCTYPE; DTDs are never accepted")
    return xmlns


_DECLARATION_MAX = 4096
_XML_DECLARATION = re.compile(rb"(?:\xef\xbb\xbf)?<\?xml[ \t\r\n]")


class _RefuseExternal(etree.Resolver):
    """Any external resource libxml2 would load (DTD, entity, XInclude) is refused."""

    def resolve(self, system_url: str, public_id: str, *context: object) -> Any:
        raise XmlForbiddenConstruct(f"the document refers to an external resource: {system_url}")


def parse_xml(data: bytes, limits: XmlLimits, *, what: str = "document") -> etree._Element:
    """Parse ``data`` into the root element of a fresh document.

    Raises:
        XmlTooLarge: ``xml_too_large`` over the byte or node limit.
        XmlTooDeep: ``xml_too_deep`` nested deeper than allowed.
        XmlForbiddenConstruct: ``xml_forbidden_construct`` for a DTD, entity or processing
            instruction.
        XmlMalformed: ``xml_malformed`` when it is not well-formed XML.
    """
    if len(data) > limits.max_bytes:
        raise XmlTooLarge(
            f"the {what} is {len(data)} bytes, over the limit of {limits.max_bytes}",
            expected=limits.max_bytes,
            found=len(data),
        )
    # Refused before parsing, so no DTD, internal or external, is ever read.
    xmlns = _check_prologue(data, what)
    if xmlns > limits.max_namespace_declarations:
        raise XmlTooLarge(
            f"the {what} has {xmlns} namespace declarations (xmlns), over the limit of "
            f"{limits.max_namespace_declarations}",
            expected=limits.max_namespace_declarations,
            found=xmlns,
        )
    try:
        if xmlns <= limits.max_namespaces_in_scope:  # so neither namespace limit can be reached
            root = etree.fromstring(data, parser=_parser())
        else:
            root = _parse_counting_namespaces(data, limits, what)
    except etree.XMLSyntaxError as exc:
        text = str(exc)
        if "depth" in text.lower():
            raise XmlTooDeep(f"the {what} is nested too deeply to parse") from exc
        if getattr(exc, "code", None) in _ENTITY_ERRORS:  # lxml-stubs lack .code
            raise XmlForbiddenConstruct(f"the {what} uses an entity: {text}") from exc
        raise XmlMalformed(f"the {what} is not well-formed XML: {text}") from exc
    except (ValueError, TypeError) as exc:  # e.g. unicode string with an encoding declaration
        raise XmlMalformed(f"the {what} is not well-formed XML: {exc}") from exc
    if root is None:
        raise XmlMalformed(f"the {what} has no root element")
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lacks DocInfo.doctype
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlForbiddenConstruct(f"the {what} has a DOCTYPE; DTDs are never accepted")
    # A processing instruction needs "<?" in the bytes (in an ASCII-compatible encoding), so
    # only a document with more of them than its XML declaration needs the tree searched.
    ascii_compatible = not _wide(data) or not any(
        data.startswith(prefix) for prefix, _ in _WIDE_ENCODINGS
    )
    declaration = int(_XML_DECLARATION.match(data) is not None)
    # The declaration holds two "?", and so does every processing instruction ("<?" ... "?>"):
    # counting "?" (one byte, counted fast) rules most documents out before the slower "<?".
    maybe_pi = not ascii_compatible or (
        data.count(b"?") > 2 * declaration and data.count(b"<?") > declaration
    )
    # Every element or attribute takes at least four bytes ("<a/>", ' a=""'); and, in an
    # ASCII-compatible encoding, every element a "<" and every attribute an "=". Only a
    # document whose bounds exceed the limit needs its nodes counted.
    most_nodes = len(data) // 4
    if most_nodes > limits.max_nodes and ascii_compatible:
        marks = data.count(b"<") + data.count(b"=")
        if marks > limits.max_nodes:
            # An end tag's "<" is followed by "/", which cannot start an element's name:
            # every "</" is a "<" that opens no element.
            marks -= data.count(b"</")
        most_nodes = min(most_nodes, marks)
    _check_shape(root, most_nodes, limits, what, maybe_pi=maybe_pi)
    return root


def _parse_counting_namespaces(data: bytes, limits: XmlLimits, what: str) -> etree._Element:
    """Parse ``data`` while counting the namespace declarations in scope, stopping at the first
    one over the limit; linear in the size of the document."""
    events = etree.iterparse(io.BytesIO(data), events=("start-ns", "end-ns"), **_PARSER_OPTIONS)
    events.resolvers.add(_RefuseExternal())
    in_scope = 0
    for event, _ in events:
        in_scope += -1 if event == "end-ns" else 1
        if in_scope > limits.max_namespaces_in_scope:
            raise XmlTooLarge(
                f"the {what} has more than {limits.max_namespaces_in_scope} namespace "
                "declarations in scope at one element",
                expected=limits.max_namespaces_in_scope,
            )
    root: etree._Element = events.root
    return root


# Compiled once: each walks the tree in C, which is what keeps these checks cheap per login.
_COUNT_NODES = etree.XPath("count(//*) + count(//@*)")
_HAS_PI = etree.XPath("boolean(//processing-instruction())")


@functools.lru_cache(maxsize=16)
def _deeper_than(depth: int) -> etree.XPath:
    return etree.XPath("boolean(" + "/*" * (depth + 1) + ")")


def _check_shape(
    root: etree._Element, most_nodes: int, limits: XmlLimits, what: str, *, maybe_pi: bool
) -> None:
    if _deeper_than(limits.max_depth)(root):
        raise XmlTooDeep(
            f"the {what} nests elements deeper than the limit of {limits.max_depth}",
            expected=limits.max_depth,
        )
    if most_nodes > limits.max_nodes:
        nodes = int(_COUNT_NODES(root))  # type: ignore[arg-type]
        if nodes > limits.max_nodes:
            raise XmlTooLarge(
                f"the {what} has {nodes} elements and attributes, over the limit of "
                f"{limits.max_nodes}",
                expected=limits.max_nodes,
                found=nodes,
            )
    # Without a DTD no entity can be declared, so entity references cannot survive parsing;
    # processing instructions can, and no SAML message has a use for one.
    if maybe_pi and _HAS_PI(root):
        raise XmlForbiddenConstruct(f"the {what} contains a processing instruction")


def text_of(element: etree._Element | None) -> str | None:
    """The XPath string-value of ``element``: all descendant text, comments excluded.

    Reading ``.text`` would stop at the first comment, which is how CVE-2017-11427 truncated
    NameIDs; the string-value cannot be split that way.
    """
    if element is None:
        return None
    if len(element) == 0:  # no child element or comment: .text is the whole value
        return element.text or ""
    value = element.xpath("string()")
    assert isinstance(value, str)
    return value
