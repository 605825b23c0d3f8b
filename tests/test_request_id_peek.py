"""Which pending request a response claims to answer, read before it is parsed or verified.

The peek only selects; verification then requires the signed SubjectConfirmationData to name
the same request. It reads unauthenticated bytes, so it must be linear in their size whatever
they are (benchmarks/hostile_bench.py measures it) and must never invent a request ID.
"""

from __future__ import annotations

import base64

import pytest

from samljit.service import _decode_and_peek


def peek(xml: bytes) -> str | None:
    decoded, request_id = _decode_and_peek(base64.b64encode(xml).decode(), 512 * 1024)
    assert decoded == xml
    return request_id


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        (b'<samlp:Response ID="r" InResponseTo="req-1"><x/></samlp:Response>', "req-1"),
        (b"<Response InResponseTo='req-2'/>", "req-2"),
        (b'<Response\nID="r"\n  InResponseTo = "req-3" >', "req-3"),
        (b'<R><saml:SubjectConfirmationData InResponseTo="req-4"/></R>', "req-4"),
        (b'<Response InResponseTo=""><SubjectConfirmationData InResponseTo="req-5"/>', "req-5"),
        (b'<Response ID="r"><Assertion InResponseTo="no"/></Response>', None),
        (b'<Response ID="r" Other="InResponseTo=&quot;x&quot;"/>', None),
        (b'<ResponseX InResponseTo="no"/>', None),
        (b'<Response InResponseTo="' + b"a" * 257 + b'"/>', None),
        (b'<Response InResponseTo="req-6', None),
        (b'<Response InResponseTo="\xc3\xa9"/>', None),
        (b"<Response " * 1000, None),
        (b'<Response ID="InResponseTo">' * 8 + b'<Response InResponseTo="late"/>', None),
    ],
)
def test_the_request_id_a_response_claims_to_answer(xml: bytes, expected: str | None) -> None:
    assert peek(xml) == expected
