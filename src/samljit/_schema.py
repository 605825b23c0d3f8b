"""The element structure the SAML 2.0 schemas allow in a Response and an Assertion.

Everything read from a response is found by name, so an element in a place the schema does not
allow (a second Subject, an Issuer after the Signature, a foreign element where no ``xs:any``
is declared) would otherwise be skipped silently. Such a document is not a SAML message: it is
refused, before any signature is checked. One pass over the structural elements; the content of
elements whose type is open (``AttributeValue``, ``Extensions``, ``SubjectConfirmationData``...)
is not the schema's business and is not descended into.
"""

from __future__ import annotations

import operator
import re
from typing import NoReturn

from lxml import etree

from ._xml import NS_DS, NS_SAML, NS_SAMLP, NS_XENC
from .errors import MalformedResponse

__all__ = ["check_assertion_schema", "check_response_schema"]

_PREFIXES = {NS_SAML: "saml", NS_SAMLP: "samlp", NS_DS: "ds", NS_XENC: "xenc"}


def _name(tag: str) -> str:
    if not tag.startswith("{"):
        return tag
    namespace, _, local = tag[1:].partition("}")
    prefix = _PREFIXES.get(namespace)
    return f"{prefix}:{local}" if prefix else f"{{{namespace}}}{local}"


def _model(pattern: str) -> re.Pattern[str]:
    """A content model over child names, each followed by one space: ``(saml:Issuer )?``."""
    return re.compile(pattern)


_TEXT = _model("")
_STATEMENTS = (
    "saml:Statement|saml:AuthnStatement|saml:AuthzDecisionStatement|saml:AttributeStatement"
)
_IDENTIFIER = "saml:BaseID|saml:NameID|saml:EncryptedID"

# Content models from saml-schema-protocol-2.0.xsd and saml-schema-assertion-2.0.xsd for the
# elements that occur once: their children are checked in order. Two deviations keep the
# specific codes and real IdPs: the Signature of a Response or an Assertion may stand anywhere
# among its siblings (Auth0 puts it last; signature_child allows one), and a missing Assertion
# Issuer is left to the issuer rule (issuer_mismatch). Encrypted elements are checked by the
# decryption code, Signature by the signature code, open types (Extensions, StatusDetail,
# Advice, AttributeValue, SubjectConfirmationData...) by nobody.
_MODELS: dict[str, re.Pattern[str]] = {
    "samlp:Response": _model(
        "(saml:Issuer )?(samlp:Extensions )?samlp:Status "
        "((saml:Assertion|saml:EncryptedAssertion) )*"
    ),
    "samlp:Status": _model("samlp:StatusCode (samlp:StatusMessage )?(samlp:StatusDetail )?"),
    "samlp:StatusCode": _model("(samlp:StatusCode )?"),
    "samlp:StatusMessage": _TEXT,
    "saml:Assertion": _model(
        f"(saml:Issuer )?(saml:Subject )?(saml:Conditions )?(saml:Advice )?(({_STATEMENTS}) )*"
    ),
    "saml:Issuer": _TEXT,
    "saml:Subject": _model(
        f"(({_IDENTIFIER}) (saml:SubjectConfirmation )*|(saml:SubjectConfirmation )+)"
    ),
    "saml:NameID": _TEXT,
    "saml:BaseID": _TEXT,
}

# The parts an attacker can repeat at will (statements, attributes, audiences, confirmations)
# are checked by one XPath in C rather than element by element: it finds every element in a
# place its parent's schema type does not allow. Conditions of a type samljit does not know
# (saml:Condition) would make the assertion Indeterminate (SAML core 2.5.1.5): left out.
_MISPLACED = etree.XPath(
    " | ".join(
        [
            "saml:Subject/saml:SubjectConfirmation/*[not(self::saml:BaseID or self::saml:NameID"
            " or self::saml:EncryptedID or self::saml:SubjectConfirmationData)]",
            "saml:Subject/saml:SubjectConfirmation/*[self::saml:BaseID or self::saml:NameID"
            " or self::saml:EncryptedID][preceding-sibling::*]",
            "saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData"
            "[preceding-sibling::saml:SubjectConfirmationData]",
            "saml:Subject/saml:SubjectConfirmation/saml:NameID/*",
            "saml:Conditions/*[not(self::saml:AudienceRestriction or self::saml:OneTimeUse"
            " or self::saml:ProxyRestriction)]",
            "saml:Conditions/saml:AudienceRestriction[not(saml:Audience)]",
            "saml:Conditions/*/*[not(self::saml:Audience)]",
            "saml:Conditions/*/saml:Audience/*",
            "saml:AuthnStatement[count(saml:AuthnContext) != 1]",
            "saml:AuthnStatement/*[not(self::saml:AuthnContext or self::saml:SubjectLocality)]",
            "saml:AuthnStatement/saml:SubjectLocality[preceding-sibling::* or *]",
            "saml:AuthnStatement/saml:AuthnContext/*[not(self::saml:AuthnContextClassRef"
            " or self::saml:AuthnContextDecl or self::saml:AuthnContextDeclRef"
            " or self::saml:AuthenticatingAuthority)]",
            "saml:AuthnStatement/saml:AuthnContext/saml:AuthnContextClassRef[preceding-sibling::*]",
            "saml:AuthnStatement/saml:AuthnContext/*[self::saml:AuthnContextDecl"
            " or self::saml:AuthnContextDeclRef][preceding-sibling::*[self::saml:AuthnContextDecl"
            " or self::saml:AuthnContextDeclRef or self::saml:AuthenticatingAuthority]]",
            "saml:AuthnStatement/saml:AuthnContext/*[self::saml:AuthnContextClassRef"
            " or self::saml:AuthnContextDeclRef or self::saml:AuthenticatingAuthority]/*",
            "saml:AttributeStatement[not(*)]",
            # One pass over the attributes: an Attribute holding anything but values is itself
            # reported (the message then names its AttributeStatement).
            "saml:AttributeStatement/*[not(self::saml:EncryptedAttribute)"
            " and not(self::saml:Attribute and not(*[not(self::saml:AttributeValue)]))]",
        ]
    ),
    namespaces={"saml": NS_SAML},
)
# The same rules as one boolean, each parent type's branches joined in one predicate, which
# libxml2 answers in a fraction of the time: P/*[C] has a node exactly when P[*[C]] does. Only
# when it finds something is _MISPLACED run, to name what.
_ANY_MISPLACED = etree.XPath(
    "boolean("
    + " | ".join(
        [
            "saml:Subject/saml:SubjectConfirmation["
            "*[not(self::saml:BaseID or self::saml:NameID or self::saml:EncryptedID"
            " or self::saml:SubjectConfirmationData)]"
            " or *[self::saml:BaseID or self::saml:NameID or self::saml:EncryptedID]"
            "[preceding-sibling::*]"
            " or saml:SubjectConfirmationData[preceding-sibling::saml:SubjectConfirmationData]"
            " or saml:NameID/*]",
            "saml:Conditions["
            "*[not(self::saml:AudienceRestriction or self::saml:OneTimeUse"
            " or self::saml:ProxyRestriction)]"
            " or saml:AudienceRestriction[not(saml:Audience)]"
            " or */*[not(self::saml:Audience)]"
            " or */saml:Audience/*]",
            "saml:AuthnStatement["
            "count(saml:AuthnContext) != 1"
            " or *[not(self::saml:AuthnContext or self::saml:SubjectLocality)]"
            " or saml:SubjectLocality[preceding-sibling::* or *]"
            " or saml:AuthnContext["
            "*[not(self::saml:AuthnContextClassRef or self::saml:AuthnContextDecl"
            " or self::saml:AuthnContextDeclRef or self::saml:AuthenticatingAuthority)]"
            " or saml:AuthnContextClassRef[preceding-sibling::*]"
            " or *[self::saml:AuthnContextDecl or self::saml:AuthnContextDeclRef]"
            "[preceding-sibling::*[self::saml:AuthnContextDecl"
            " or self::saml:AuthnContextDeclRef or self::saml:AuthenticatingAuthority]]"
            " or *[self::saml:AuthnContextClassRef or self::saml:AuthnContextDeclRef"
            " or self::saml:AuthenticatingAuthority]/*]]",
            "saml:AttributeStatement[not(*)"
            " or *[not(self::saml:EncryptedAttribute)"
            " and not(self::saml:Attribute and not(*[not(self::saml:AttributeValue)]))]]",
        ]
    )
    + ")",
    namespaces={"saml": NS_SAML},
)
_NAMESPACES = {prefix: ns for ns, prefix in _PREFIXES.items()}
# The names the content models mention, looked up rather than rebuilt for every child; a fixed
# table, so that no input can grow it.
_KNOWN = {
    f"{{{_NAMESPACES[prefix]}}}{local}": f"{prefix}:{local}"
    for prefix, local in re.findall(
        r"\b(saml|samlp|ds|xenc):(\w+)",
        " ".join([*_MODELS, *(m.pattern for m in _MODELS.values()), "ds:Signature"]),
    )
}


def check_response_schema(response: etree._Element) -> None:
    """Refuse a Response holding an element where the SAML 2.0 schema allows none.

    Raises:
        MalformedResponse: ``malformed_response``.
    """
    _check(response)


def check_assertion_schema(assertion: etree._Element) -> None:
    """:func:`check_response_schema` for an assertion on its own (one that was encrypted)."""
    _check(assertion)


def _check(root: etree._Element) -> None:
    pending = [root]
    for element in pending:
        tag = element.tag
        if len(element) or not _EMPTY_ALLOWED.get(tag, False):
            children = list(element)
            tags = tuple(map(_TAG, children))
            if not _allows(tag, tags):
                _refuse(_name(tag), [_name(t) for t in tags if isinstance(t, str)])
            pending.extend(child for child in children if child.tag in _MODEL_TAGS)
        if tag == _ASSERTION and _ANY_MISPLACED(element):
            misplaced = _MISPLACED(element)
            assert isinstance(misplaced, list)
            assert misplaced  # the same rules as _ANY_MISPLACED's
            bad = misplaced[0]
            assert isinstance(bad, etree._Element)
            parent = bad.getparent()
            assert parent is not None
            _refuse(_name(parent.tag), [_name(c.tag) for c in parent if isinstance(c.tag, str)])


_ASSERTION = f"{{{NS_SAML}}}Assertion"
_TAG = operator.attrgetter("tag")
_CLARK = {name: tag for tag, name in _KNOWN.items()}
_MODEL_TAGS = frozenset(_CLARK[name] for name in _MODELS)
# The elements whose content model admits no children at all (leaves, as IdPs send them).
_EMPTY_ALLOWED = {_CLARK[name]: bool(model.fullmatch("")) for name, model in _MODELS.items()}
# Verdicts of the content models by element and child tags, which repeat from one response of
# an IdP to the next. Kept only for elements with few children, all of names the models know
# (a tag of the message's own could be as long as the message), and at most _MOST_VERDICTS of
# them, so that no input can make the table large.
_VERDICTS: dict[tuple[str, tuple[object, ...]], bool] = {}
_MOST_VERDICTS = 512
_MOST_CACHED_CHILDREN = 16


def _allows(tag: str, tags: tuple[object, ...]) -> bool:
    """Whether the content model of an element ``tag`` admits children with ``tags`` (comments
    and processing instructions included, and passed over)."""
    key = (tag, tags)
    verdict = _VERDICTS.get(key)
    if verdict is not None:
        return verdict
    names = (_KNOWN.get(t) or _name(t) for t in tags if isinstance(t, str))
    content = "".join(f"{n} " for n in names if n != "ds:Signature")
    verdict = _MODELS[_KNOWN.get(tag) or _name(tag)].fullmatch(content) is not None
    if len(tags) <= _MOST_CACHED_CHILDREN and all(t in _KNOWN for t in tags if isinstance(t, str)):
        if len(_VERDICTS) >= _MOST_VERDICTS:
            _VERDICTS.clear()
        _VERDICTS[key] = verdict
    return verdict


def _refuse(name: str, names: list[str]) -> NoReturn:
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    raise MalformedResponse(
        f"<{name}> holds <{shown}>, which the SAML 2.0 schema does not allow there",
        found=names[:16],
    )
