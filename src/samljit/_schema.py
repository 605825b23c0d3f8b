"""The element structure the SAML 2.0 schemas allow in a Response and an Assertion.

Everything read from a response is found by name, so an element in a place the schema does not
allow (a second Subject, an Issuer after the Signature, a foreign element where no ``xs:any``
is declared) would otherwise be skipped silently. Such a document is not a SAML message: it is
refused, before any signature is checked. One pass over the structural elements; the content of
elements whose type is open (``AttributeValue``, ``Extensions``, ``SubjectConfirmationData``...)
is not the schema's business and is not descended into.
"""

from __future__ import annotations

import re

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
_STATEMENTS = "saml:Statement|saml:AuthnStatement|saml:AuthzDecisionStatement|saml:AttributeStatement"
_IDENTIFIER = "saml:BaseID|saml:NameID|saml:EncryptedID"

# Content models from saml-schema-protocol-2.0.xsd and saml-schema-assertion-2.0.xsd. An element
# named here has its children checked, recursively; one not named here is not descended into:
# open types, and those whose own code checks them more specifically (encrypted elements,
# Signature). Two deviations keep the specific codes and real IdPs: the Signature of a Response
# or an Assertion may stand anywhere among its siblings (Auth0 puts it last; signature_child
# allows one), and a missing Assertion Issuer is left to the issuer rule (issuer_mismatch).
_MODELS: dict[str, re.Pattern[str]] = {
    "samlp:Response": _model(
        "(saml:Issuer )?(samlp:Extensions )?samlp:Status "
        "((saml:Assertion|saml:EncryptedAssertion) )*"
    ),
    "samlp:Status": _model("samlp:StatusCode (samlp:StatusMessage )?(samlp:StatusDetail )?"),
    "samlp:StatusCode": _model("(samlp:StatusCode )?"),
    "samlp:StatusMessage": _TEXT,
    "saml:Assertion": _model(
        f"(saml:Issuer )?(saml:Subject )?(saml:Conditions )?(saml:Advice )?"
        f"(({_STATEMENTS}) )*"
    ),
    "saml:Issuer": _TEXT,
    "saml:Subject": _model(
        f"(({_IDENTIFIER}) (saml:SubjectConfirmation )*|(saml:SubjectConfirmation )+)"
    ),
    "saml:NameID": _TEXT,
    "saml:BaseID": _TEXT,
    "saml:SubjectConfirmation": _model(f"(({_IDENTIFIER}) )?(saml:SubjectConfirmationData )?"),
    # Conditions of a type samlp does not know (saml:Condition with xsi:type) would make the
    # assertion Indeterminate (SAML core 2.5.1.5), so they are left out.
    "saml:Conditions": _model(
        "((saml:AudienceRestriction|saml:OneTimeUse|saml:ProxyRestriction) )*"
    ),
    "saml:AudienceRestriction": _model("(saml:Audience )+"),
    "saml:ProxyRestriction": _model("(saml:Audience )*"),
    "saml:OneTimeUse": _TEXT,
    "saml:Audience": _TEXT,
    "saml:AuthnStatement": _model("(saml:SubjectLocality )?saml:AuthnContext "),
    "saml:SubjectLocality": _TEXT,
    "saml:AuthnContext": _model(
        "(saml:AuthnContextClassRef ((saml:AuthnContextDecl|saml:AuthnContextDeclRef) )?"
        "|(saml:AuthnContextDecl|saml:AuthnContextDeclRef) )(saml:AuthenticatingAuthority )*"
    ),
    "saml:AuthnContextClassRef": _TEXT,
    "saml:AuthnContextDeclRef": _TEXT,
    "saml:AuthenticatingAuthority": _TEXT,
    "saml:AttributeStatement": _model("((saml:Attribute|saml:EncryptedAttribute) )+"),
    "saml:Attribute": _model("(saml:AttributeValue )*"),
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
    while pending:
        element = pending.pop()
        name = _name(element.tag)
        children = [child for child in element if isinstance(child.tag, str)]
        names = [_name(child.tag) for child in children]
        if not _MODELS[name].fullmatch("".join(f"{n} " for n in names if n != "ds:Signature")):
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            raise MalformedResponse(
                f"<{name}> holds <{shown}>, which the SAML 2.0 schema does not allow there",
                found=names[:16],
            )
        pending.extend(c for c, n in zip(children, names, strict=True) if n in _MODELS)
