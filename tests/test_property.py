"""Properties that hold for every input, checked with Hypothesis.

- Anything that is not a genuine response is refused with a :class:`samljit.SamlError`:
  never another exception, never an assertion (pyca ``tests/hypothesis/test_x509.py``).
- Damaging a genuine signed response one byte at a time can make it refused, or leave it
  accepted only where the damage touched nothing signed: the NameID and attributes read are
  always the ones the IdP signed.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import samljit
from samljit.testing import IssuedResponse, TestIdP

from .conftest import ACS_URL, NOW, SP_ENTITY_ID

# No deadline: timings vary on shared CI machines. Only session- and module-scoped fixtures
# are used, which Hypothesis may share across examples.
SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}


def judge(
    message: str | bytes, *, idp: samljit.IdentityProvider, sp: samljit.SPConfig
) -> samljit.Assertion | samljit.SamlError:
    """Verify as the ACS would; a SamlError is returned, any other exception escapes."""
    try:
        if isinstance(message, bytes):
            return samljit.verify_response_xml(
                message,
                idp=idp,
                sp=sp,
                now=NOW,
                allow_unsolicited=True,
            ).assertion
        return samljit.verify_response(
            message,
            idp=idp,
            sp=sp,
            now=NOW,
            replay_cache=samljit.MemoryReplayCache(),
            allow_unsolicited=True,
        )
    except samljit.SamlError as err:
        return err


def assert_refused(result: samljit.Assertion | samljit.SamlError) -> None:
    event(result.code if isinstance(result, samljit.SamlError) else "accepted")
    assert isinstance(result, samljit.SamlError), "an unsigned input produced an Assertion"
    assert isinstance(result.code, str)
    assert result.code
    assert result.code != samljit.SamlError.code
    assert str(result)


# --- SAML-shaped documents -----------------------------------------------------------------

TAGS = [
    "samlp:Response",
    "samlp:Status",
    "samlp:StatusCode",
    "samlp:StatusMessage",
    "saml:Issuer",
    "saml:Assertion",
    "saml:EncryptedAssertion",
    "saml:Subject",
    "saml:NameID",
    "saml:SubjectConfirmation",
    "saml:SubjectConfirmationData",
    "saml:Conditions",
    "saml:AudienceRestriction",
    "saml:Audience",
    "saml:AuthnStatement",
    "saml:AttributeStatement",
    "saml:Attribute",
    "saml:AttributeValue",
    "ds:Signature",
    "ds:SignedInfo",
    "ds:CanonicalizationMethod",
    "ds:SignatureMethod",
    "ds:Reference",
    "ds:Transforms",
    "ds:Transform",
    "ds:DigestMethod",
    "ds:DigestValue",
    "ds:SignatureValue",
    "ds:KeyInfo",
    "ds:X509Data",
    "ds:X509Certificate",
]
ATTRIBUTE_NAMES = [
    "ID",
    "Version",
    "IssueInstant",
    "Destination",
    "InResponseTo",
    "Value",
    "Method",
    "Recipient",
    "NotBefore",
    "NotOnOrAfter",
    "Name",
    "Format",
    "Algorithm",
    "URI",
]
ATTRIBUTE_VALUES = [
    "_a",
    "_b",
    "#_a",
    "2.0",
    "2026-11-25T12:00:00Z",
    "2026-11-25T11:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "not a date",
    ACS_URL,
    SP_ENTITY_ID,
    "https://idp.example.test/metadata",
    "urn:oasis:names:tc:SAML:2.0:status:Success",
    "urn:oasis:names:tc:SAML:2.0:cm:bearer",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/TR/1999/REC-xslt-19991116",
]
texts = st.one_of(
    st.sampled_from(["", "ada@acme.test", "AAAA", "x" * 40, "https://idp.example.test/metadata"]),
    # Characters XML 1.0 allows, so that documents are well-formed and reach past the parser.
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
)


def _element(tag: str, attributes: dict[str, str], children: list[str]) -> str:
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in attributes.items())
    return f"<{tag}{attrs}>{''.join(children)}</{tag}>"


attributes = st.dictionaries(
    st.sampled_from(ATTRIBUTE_NAMES), st.sampled_from(ATTRIBUTE_VALUES), max_size=4
)
elements = st.recursive(
    texts.map(escape),
    lambda children: st.builds(
        _element, st.sampled_from(TAGS), attributes, st.lists(children, max_size=4)
    ),
    max_leaves=25,
)


@st.composite
def saml_documents(draw: Callable[..., Any]) -> bytes:
    """A well-formed samlp:Response of random SAML, XML-DSig and protocol parts."""
    declarations = "".join(f' xmlns:{prefix}="{uri}"' for prefix, uri in NS.items())
    attrs = "".join(f" {n}={quoteattr(v)}" for n, v in draw(attributes).items())
    children = "".join(draw(st.lists(elements, max_size=5)))
    return f"<samlp:Response{declarations}{attrs}>{children}</samlp:Response>".encode()


SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
base64ish = st.one_of(
    st.sampled_from(["", "AAAA", "!!!!", "A" * 43 + "=", "A" * 342 + "=="]),
    st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode("ascii")),
)
optional = st.booleans()
often = st.sampled_from([True, True, True, True, False])


def mostly(usual: str, *others: str) -> st.SearchStrategy[str]:
    """``usual`` four times in five, else one of ``others``: forgeries that get far."""
    return st.sampled_from([usual] * 4 * len(others) + list(others))


@st.composite
def signatures(draw: Callable[..., Any], target: str) -> str:
    """A ds:Signature shaped like a real one, with random algorithms and values."""
    uri = draw(mostly(f"#{target}", "#_other", "", "#"))
    method = draw(
        mostly(
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
            "x",
        )
    )
    c14n = draw(
        mostly(
            EXC_C14N,
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            "x",
        )
    )
    transforms = draw(
        st.one_of(
            st.just([ENVELOPED, EXC_C14N]),
            st.lists(st.sampled_from([ENVELOPED, EXC_C14N, ATTRIBUTE_VALUES[-1]]), max_size=3),
        )
    )
    digest = draw(
        mostly(
            "http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2000/09/xmldsig#sha1", "x"
        )
    )
    transform_xml = "".join(f'<ds:Transform Algorithm="{t}"/>' for t in transforms)
    key_info = (
        f"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{draw(base64ish)}"
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        if draw(optional)
        else ""
    )
    return (
        f'<ds:Signature><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"/>'
        f'<ds:SignatureMethod Algorithm="{method}"/><ds:Reference URI="{uri}">'
        f"<ds:Transforms>{transform_xml}</ds:Transforms>"
        f'<ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue>{draw(base64ish)}'
        f"</ds:DigestValue></ds:Reference></ds:SignedInfo>"
        f"<ds:SignatureValue>{draw(base64ish)}</ds:SignatureValue>{key_info}</ds:Signature>"
    )


@st.composite
def forged_responses(draw: Callable[..., Any]) -> bytes:
    """A Response shaped like the test IdP's, every part optional or random, and its
    signatures forged: what an attacker without the IdP key can send."""
    declarations = "".join(f' xmlns:{prefix}="{uri}"' for prefix, uri in NS.items())
    times = st.sampled_from([v for v in ATTRIBUTE_VALUES if v[:1].isdigit()] + ["x"])
    issuer = "<saml:Issuer>https://idp.example.test/metadata</saml:Issuer>"
    subject = (
        f"<saml:Subject><saml:NameID>{escape(draw(texts))}</saml:NameID>"
        '<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
        f'<saml:SubjectConfirmationData Recipient="{ACS_URL}" '
        f'NotOnOrAfter="{draw(times)}"/></saml:SubjectConfirmation></saml:Subject>'
    )
    conditions = (
        f'<saml:Conditions NotBefore="{draw(times)}" NotOnOrAfter="{draw(times)}">'
        f"<saml:AudienceRestriction><saml:Audience>{SP_ENTITY_ID}</saml:Audience>"
        "</saml:AudienceRestriction></saml:Conditions>"
    )
    statements = (
        '<saml:AuthnStatement AuthnInstant="2026-11-25T12:00:00Z"/>'
        '<saml:AttributeStatement><saml:Attribute Name="role">'
        f"<saml:AttributeValue>{escape(draw(texts))}</saml:AttributeValue>"
        "</saml:Attribute></saml:AttributeStatement>"
    )
    parts = [issuer, signatures("_a"), subject, conditions, statements]
    chosen = [p if isinstance(p, str) else draw(p) for p in parts if draw(often)]
    chosen += draw(st.lists(elements, max_size=1))
    assertion = (
        '<saml:Assertion ID="_a" Version="2.0" IssueInstant="2026-11-25T12:00:00Z">'
        + "".join(chosen)
        + "</saml:Assertion>"
    )
    status = draw(mostly(SUCCESS, "urn:oasis:names:tc:SAML:2.0:status:Requester"))
    response_signature = draw(signatures("_r")) if draw(optional) else ""
    return (
        f'<samlp:Response{declarations} ID="_r" Version="2.0" Destination="{ACS_URL}" '
        f'IssueInstant="2026-11-25T12:00:00Z">{issuer}{response_signature}'
        f'<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>'
        f"{assertion}</samlp:Response>"
    ).encode()


# --- (a) any bytes -------------------------------------------------------------------------


@SETTINGS
@given(data=st.binary(max_size=4096))
def test_any_bytes_as_xml_are_refused_with_a_saml_error(
    idp: samljit.IdentityProvider, sp: samljit.SPConfig, data: bytes
) -> None:
    assert_refused(judge(data, idp=idp, sp=sp))


@SETTINGS
@given(document=saml_documents())
def test_any_saml_shaped_document_without_a_valid_signature_is_refused(
    idp: samljit.IdentityProvider, sp: samljit.SPConfig, document: bytes
) -> None:
    """Random Responses, Assertions, Signatures and times reach every check past the parser;
    each refuses with a SamlError, none crashes."""
    assert_refused(judge(document, idp=idp, sp=sp))


@SETTINGS
@given(document=forged_responses())
def test_any_forged_signature_is_refused(
    idp: samljit.IdentityProvider, sp: samljit.SPConfig, document: bytes
) -> None:
    """Without the IdP's key no combination of algorithms, references, transforms, digests
    and KeyInfo gets a response accepted; every one is a SamlError."""
    assert_refused(judge(document, idp=idp, sp=sp))


# --- (b) any form value --------------------------------------------------------------------


form_values = st.one_of(
    st.text(max_size=2048),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n "),
    st.binary(max_size=2048).map(lambda b: base64.b64encode(b).decode("ascii")),
    saml_documents().map(lambda b: base64.b64encode(b).decode("ascii")),
    forged_responses().map(lambda b: base64.b64encode(b).decode("ascii")),
)


@SETTINGS
@given(value=form_values)
def test_any_form_value_is_refused_with_a_saml_error(
    idp: samljit.IdentityProvider, sp: samljit.SPConfig, value: str
) -> None:
    assert_refused(judge(value, idp=idp, sp=sp))


# --- (c) damaged genuine responses ---------------------------------------------------------

NAME_ID = "ada@acme.test"
ATTRIBUTES = {"full_name": ["Ada Lovelace"], "role": ["developer", "admin"]}


@pytest.fixture(
    scope="module",
    params=[
        pytest.param({"sign_assertion": True, "sign_response": False}, id="assertion-signed"),
        pytest.param({"sign_assertion": False, "sign_response": True}, id="response-signed"),
        pytest.param({"sign_assertion": True, "sign_response": True}, id="both-signed"),
    ],
)
def genuine(request: pytest.FixtureRequest, test_idp: TestIdP) -> IssuedResponse:
    return test_idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        name_id=NAME_ID,
        attributes=ATTRIBUTES,
        **request.param,
    )


@pytest.fixture(scope="module")
def original(
    idp: samljit.IdentityProvider, sp: samljit.SPConfig, genuine: IssuedResponse
) -> samljit.Assertion:
    result = judge(genuine.form_value, idp=idp, sp=sp)
    assert isinstance(result, samljit.Assertion)
    return result


def test_the_genuine_responses_are_accepted(original: samljit.Assertion) -> None:
    """The starting point of the mutations below verifies, with the content the IdP signed."""
    assert original.name_id.value == NAME_ID
    assert dict(original.attributes) == {k: tuple(v) for k, v in ATTRIBUTES.items()}


def _landmarks(xml: bytes) -> list[int]:
    """Offsets where a byte of damage is most likely to change what is read."""
    marks = [
        b"ada@acme.test",
        b"Ada Lovelace",
        b"developer",
        b"admin",
        b'Name="role"',
        b"<saml:Assertion",
        b"</saml:Assertion>",
        b"<saml:NameID",
        b"<saml:Subject>",
        b"<ds:Signature",
        b"<ds:Reference",
        b"<ds:DigestValue>",
        b"<ds:SignatureValue>",
        b"<ds:X509Certificate>",
        b"Destination=",
        b"Recipient=",
        b"NotOnOrAfter=",
        b"<samlp:StatusCode",
        b"</samlp:Response>",
        b"xmlns:saml=",
        b"ID=",
    ]
    return [xml.find(m) for m in marks if xml.find(m) >= 0]


ascii_or_any = st.integers(0x20, 0x7E) | st.integers(0, 255)


@st.composite
def mutations(draw: Callable[..., Any], xml: bytes) -> bytes:
    """``xml`` with one byte flipped, replaced, deleted or inserted."""
    landmarks = _landmarks(xml)
    position = draw(
        st.one_of(
            st.integers(0, len(xml) - 1),
            st.builds(
                lambda mark, delta: min(max(mark + delta, 0), len(xml) - 1),
                st.sampled_from(landmarks),
                st.integers(-8, 40),
            ),
        )
    )
    kind = draw(st.sampled_from(["flip", "replace", "delete", "insert"]))
    if kind == "flip":  # mostly within ASCII, so that more damaged documents still parse
        byte = xml[position] ^ (1 << draw(st.sampled_from([*range(7)] * 3 + [7])))
        return xml[:position] + bytes([byte]) + xml[position + 1 :]
    if kind == "replace":
        byte = draw(ascii_or_any.filter(lambda b: b != xml[position]))
        return xml[:position] + bytes([byte]) + xml[position + 1 :]
    if kind == "delete":
        return xml[:position] + xml[position + 1 :]
    byte = draw(st.sampled_from([*b" \t\n<>&\"'=/:x0A"]) | ascii_or_any)
    return xml[:position] + bytes([byte]) + xml[position:]


@SETTINGS
@given(data=st.data())
def test_a_damaged_response_never_yields_different_content(
    idp: samljit.IdentityProvider,
    sp: samljit.SPConfig,
    genuine: IssuedResponse,
    original: samljit.Assertion,
    data: st.DataObject,
) -> None:
    """One byte of damage anywhere: refused with a SamlError, or accepted with exactly the
    NameID and attributes the IdP signed (damage in unsigned whitespace or KeyInfo)."""
    damaged = data.draw(mutations(genuine.xml))
    result = judge(base64.b64encode(damaged).decode("ascii"), idp=idp, sp=sp)
    if isinstance(result, samljit.Assertion):
        event("accepted")
        assert result.name_id == original.name_id
        assert dict(result.attributes) == dict(original.attributes)
        assert result.attribute_details == original.attribute_details
        assert result.assertion_id == original.assertion_id
    else:
        assert_refused(result)
