"""Which IdP a response claims to come from and which pending request it claims to answer,
read before it is verified (``peek_response``).

The peek only selects; verification then requires the signed Issuer and SubjectConfirmationData
to say the same. It reads unauthenticated input, so it costs one parse by the hardened parser
(linear in the size of the input, whatever it is: benchmarks/hostile_bench.py measures it), and
it must never invent a request ID.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime

import pytest

import samljit
import samljit.testing
from samljit import RESPONSE_LIMITS, SamlError
from samljit._peek import peek_response
from samljit._response import verify_response_xml

P = 'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"'
A = 'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"'


def response(attributes: str = "", body: str = "") -> bytes:
    return f'<samlp:Response {P} {A} ID="r" {attributes}>{body}</samlp:Response>'.encode()


def confirmation(attributes: str) -> str:
    return (
        "<saml:Assertion><saml:Subject><saml:SubjectConfirmation>"
        f"<saml:SubjectConfirmationData {attributes}/>"
        "</saml:SubjectConfirmation></saml:Subject></saml:Assertion>"
    )


def peek(xml: bytes) -> str | None:
    peeked = peek_response(base64.b64encode(xml).decode(), limits=RESPONSE_LIMITS)
    assert peeked.xml == xml
    return peeked.in_response_to


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (response('InResponseTo="req-1"', "<x/>"), "req-1"),
        (response("InResponseTo='req-2'"), "req-2"),
        (response('\n  InResponseTo = "req-3" '), "req-3"),
        (response(body=confirmation('InResponseTo="req-4"')), "req-4"),
        (response('InResponseTo=""', confirmation('InResponseTo="req-5"')), "req-5"),
        (response(body='<saml:Assertion InResponseTo="no"/>'), None),
        (response('Other="InResponseTo=&quot;x&quot;"'), None),
        (f'<samlp:ResponseX {P} InResponseTo="no"/>'.encode(), None),
        (response('InResponseTo="' + "a" * 257 + '"'), None),
        (response('InResponseTo="\u00e9"'), None),
        (response(body="<x>" + confirmation("InResponseTo='deeper'") + "</x>"), None),
    ],
)
def test_the_request_id_a_response_claims_to_answer(xml: bytes, expected: str | None) -> None:
    assert peek(xml) == expected


@pytest.mark.parametrize(
    "xml",
    [b'<Response InResponseTo="req-6', b"<Response " * 1000, b"not xml at all"],
)
def test_a_response_that_does_not_parse_claims_nothing_and_keeps_its_parser_error(
    xml: bytes,
) -> None:
    """Its error is raised where the response is parsed for verification, so that the checks
    made before (the account, the solicitation rule) keep their order."""
    peeked = peek_response(base64.b64encode(xml).decode(), limits=RESPONSE_LIMITS)
    assert (peeked.issuer, peeked.in_response_to) == (None, None)
    with pytest.raises(SamlError) as caught:
        peeked.document(RESPONSE_LIMITS)
    assert caught.value.code == "xml_malformed"


def test_the_issuer_is_the_responses_else_its_assertions() -> None:
    issuer = "<saml:Issuer> https://idp.test </saml:Issuer>"
    own = peek_response(base64.b64encode(response(body=issuer)), limits=RESPONSE_LIMITS)
    assertion = response(body=f"<saml:Assertion>{issuer}</saml:Assertion>")
    inner = peek_response(base64.b64encode(assertion), limits=RESPONSE_LIMITS)
    assert own.issuer == inner.issuer == "https://idp.test"


def test_the_document_is_parsed_again_under_other_limits() -> None:
    xml = response(body="<x/>" * 10)
    peeked = peek_response(base64.b64encode(xml), limits=RESPONSE_LIMITS)
    assert len(peeked.document(RESPONSE_LIMITS)) == len(peeked.document(RESPONSE_LIMITS)) == 10
    small = replace(RESPONSE_LIMITS, max_nodes=5)
    with pytest.raises(SamlError) as caught:
        peeked.document(small)
    assert caught.value.code == "xml_too_large"


def test_the_peeked_document_is_handed_over_once_then_parsed_again() -> None:
    """Verification owns the document it is given (it takes the signatures out), so a second
    verification of the same peeked response gets a fresh parse and the same verdict."""
    idp = samljit.testing.TestIdP("https://idp.test")
    sp = samljit.SPConfig(entity_id="https://sp.test", acs_url="https://sp.test/acs")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    issued = idp.issue_response(
        sp_entity_id=sp.entity_id, acs_url=sp.acs_url, name_id="ada@acme.test", now=now
    )
    provider = samljit.parse_idp_metadata(idp.metadata_xml, now=now).idp
    peeked = peek_response(issued.form_value, limits=sp.limits)
    first = peeked.document(sp.limits)
    assert peeked.document(sp.limits) is not first
    peeked = peek_response(issued.form_value, limits=sp.limits)
    verdicts = [
        verify_response_xml(peeked, idp=provider, sp=sp, now=now, allow_unsolicited=True)
        for _ in range(2)
    ]
    assert verdicts[0] == verdicts[1]
    assert verdicts[0].assertion.name_id.value == "ada@acme.test"
