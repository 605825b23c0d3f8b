"""SAML bindings (SAML bindings 3.4, 3.5) and the AuthnRequest (SAML core 3.4.1).

HTTP-Redirect: the message is raw-DEFLATEd, base64-encoded and URL-encoded; a signed query
carries ``SigAlg`` and ``Signature`` over ``SAMLRequest=…&RelayState=…&SigAlg=…`` exactly as
the sender URL-encoded them (3.4.4.1). Inflating has a size limit (no decompression bomb).
HTTP-POST: an auto-submitting form that runs under a nonce-based Content-Security-Policy and
escapes every value.
"""

from __future__ import annotations

import base64
import re
import time
import tracemalloc
import zlib
from datetime import timedelta
from urllib.parse import quote, quote_plus, urlencode, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree, html
from signxml import XMLVerifier

from samljit import SamlError
from samljit._signature import signature_child, verify_enveloped
from samljit.bindings import (
    BINDING_HTTP_POST,
    PrivateKey,
    decode_redirect,
    encode_redirect,
    post_form,
)
from samljit.messages import build_authn_request
from samljit.testing import make_certificate

from .conftest import ACS_URL, NOW, SP_ENTITY_ID
from .sp_flows import (
    NS,
    SIGALG_ECDSA_SHA256,
    SIGALG_RSA_SHA256,
    SP,
    deflate,
    inflate,
    params,
    raw_params,
    verify_query_signature,
)

IDP_SSO = "https://idp.example.test/sso"
MESSAGE = b'<?xml version="1.0"?><samlp:AuthnRequest xmlns:samlp="urn:x" ID="_abc"/>'
MAX_BYTES = 512 * 1024
SIGALG_RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
MFA = "http://schemas.microsoft.com/claims/multipleauthn"

KeyPair = tuple[PrivateKey, x509.Certificate]


@pytest.fixture(scope="module")
def rsa_pair() -> KeyPair:
    return make_certificate(key_type="rsa", common_name="sp rsa")


@pytest.fixture(scope="module")
def ec_pair() -> KeyPair:
    return make_certificate(key_type="ec", common_name="sp ec")


@pytest.fixture(scope="module")
def other_pair() -> KeyPair:
    return make_certificate(key_type="rsa", common_name="someone else")


@pytest.fixture(params=["rsa", "ec"])
def pair(request: pytest.FixtureRequest, rsa_pair: KeyPair, ec_pair: KeyPair) -> KeyPair:
    return rsa_pair if request.param == "rsa" else ec_pair


def query_of(url: str) -> str:
    return urlsplit(url).query


def refused(query: str, **options: object) -> SamlError:
    options.setdefault("max_bytes", MAX_BYTES)
    with pytest.raises(SamlError) as caught:
        decode_redirect(query, **options)
    return caught.value


def signed_query(key: PrivateKey, parts: list[tuple[str, str]], sigalg: str) -> str:
    """A query signed over ``parts`` + SigAlg in the given order, RSA PKCS#1 v1.5 / SHA-1."""
    parts = [*parts, ("SigAlg", sigalg)]
    octets = urlencode(parts, quote_via=quote).encode("ascii")
    # RSA-SHA1 on purpose: the policy under test refuses it unless allowed.
    signature = key.sign(octets, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    return urlencode([*parts, ("Signature", base64.b64encode(signature).decode())], quote_via=quote)


# --- HTTP-Redirect: encoding ------------------------------------------------------------------


def test_redirect_encoding_is_raw_deflate_then_base64_then_url_encoding() -> None:
    url = encode_redirect(MESSAGE, destination=IDP_SSO, relay_state="/reports?a=1&b=2 c")
    assert url.startswith(IDP_SSO + "?SAMLRequest=")
    decoded = params(url)
    assert inflate(decoded["SAMLRequest"]) == MESSAGE
    assert decoded["RelayState"] == "/reports?a=1&b=2 c"
    assert [name for name, _ in raw_params(url)] == ["SAMLRequest", "RelayState"]
    # URL-encoded: base64's "+", "/" and "=" never appear bare in the query.
    raw = dict(raw_params(url))
    assert not set(raw["SAMLRequest"]) & set("+/=")


def test_redirect_round_trip_gives_back_the_message_and_relay_state() -> None:
    url = encode_redirect(MESSAGE, destination=IDP_SSO, relay_state="r&s=1")
    received = decode_redirect(query_of(url), max_bytes=MAX_BYTES)
    assert received.xml == MESSAGE
    assert received.parameter == "SAMLRequest"
    assert received.relay_state == "r&s=1"
    assert received.signed is False


def test_redirect_carries_a_saml_response_under_its_own_parameter() -> None:
    url = encode_redirect(MESSAGE, destination=IDP_SSO, parameter="SAMLResponse")
    assert "RelayState" not in params(url)
    received = decode_redirect(query_of(url), max_bytes=MAX_BYTES)
    assert (received.parameter, received.xml, received.relay_state) == (
        "SAMLResponse",
        MESSAGE,
        None,
    )


def test_a_destination_with_a_query_keeps_it_and_appends_with_an_ampersand() -> None:
    url = encode_redirect(MESSAGE, destination=IDP_SSO + "?tenant=acme")
    assert url.startswith(IDP_SSO + "?tenant=acme&SAMLRequest=")
    assert decode_redirect(query_of(url), max_bytes=MAX_BYTES).xml == MESSAGE


def test_a_leading_question_mark_is_accepted_when_decoding() -> None:
    url = encode_redirect(MESSAGE, destination=IDP_SSO)
    assert decode_redirect("?" + query_of(url), max_bytes=MAX_BYTES).xml == MESSAGE


# --- HTTP-Redirect: query signature -------------------------------------------------------------


def test_a_signed_query_carries_sigalg_and_signature_last(pair: KeyPair) -> None:
    key, certificate = pair
    url = encode_redirect(MESSAGE, destination=IDP_SSO, relay_state="/x", key=key)
    names = [name for name, _ in raw_params(url)]
    assert names == ["SAMLRequest", "RelayState", "SigAlg", "Signature"]
    assert params(url)["SigAlg"] == verify_query_signature(url, certificate)


def test_rsa_keys_sign_with_rsa_sha256_and_ec_keys_with_ecdsa_sha256(
    rsa_pair: KeyPair, ec_pair: KeyPair
) -> None:
    rsa_url = encode_redirect(MESSAGE, destination=IDP_SSO, key=rsa_pair[0])
    ec_url = encode_redirect(MESSAGE, destination=IDP_SSO, key=ec_pair[0])
    assert params(rsa_url)["SigAlg"] == SIGALG_RSA_SHA256
    assert params(ec_url)["SigAlg"] == SIGALG_ECDSA_SHA256


@pytest.mark.parametrize("relay_state", [None, "/dashboard?tab=1&x=y z", "ü/ß"])
def test_a_signed_query_verifies_with_the_metadata_certificate(
    pair: KeyPair, relay_state: str | None
) -> None:
    key, certificate = pair
    url = encode_redirect(MESSAGE, destination=IDP_SSO, relay_state=relay_state, key=key)
    received = decode_redirect(
        query_of(url), max_bytes=MAX_BYTES, certificates=(certificate,), require_signature=True
    )
    assert received.signed is True
    assert received.xml == MESSAGE
    assert received.relay_state == relay_state


def test_any_of_several_metadata_certificates_may_verify_the_query(
    pair: KeyPair, other_pair: KeyPair
) -> None:
    """Key rollover: the metadata lists the old and the new certificate."""
    key, certificate = pair
    url = encode_redirect(MESSAGE, destination=IDP_SSO, key=key)
    received = decode_redirect(
        query_of(url), max_bytes=MAX_BYTES, certificates=(other_pair[1], certificate)
    )
    assert received.signed is True


def test_a_query_signed_by_a_key_not_in_the_metadata_is_signature_invalid(
    pair: KeyPair, other_pair: KeyPair
) -> None:
    url = encode_redirect(MESSAGE, destination=IDP_SSO, key=other_pair[0])
    err = refused(query_of(url), certificates=(pair[1],))
    assert err.code == "signature_invalid"


def test_a_signed_query_with_no_trusted_certificate_is_signature_invalid(pair: KeyPair) -> None:
    url = encode_redirect(MESSAGE, destination=IDP_SSO, key=pair[0])
    assert refused(query_of(url)).code == "signature_invalid"


def _lower_escapes(value: str) -> str:
    return re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), value)


def test_the_signature_covers_the_parameters_as_the_sender_url_encoded_them(
    rsa_pair: KeyPair,
) -> None:
    """Bindings 3.4.4.1: verify over the raw query, not a re-encoding of decoded values: a
    sender that encodes spaces as ``+`` and hex in lower case still verifies."""
    key, certificate = rsa_pair
    encoded = _lower_escapes(quote_plus(deflate(MESSAGE)))
    relay = quote_plus("/a b/c")
    sigalg = _lower_escapes(quote_plus(SIGALG_RSA_SHA256))
    octets = f"SAMLRequest={encoded}&RelayState={relay}&SigAlg={sigalg}".encode()
    signature = key.sign(octets, padding.PKCS1v15(), hashes.SHA256())
    query = octets.decode() + "&Signature=" + quote_plus(base64.b64encode(signature).decode())
    received = decode_redirect(query, max_bytes=MAX_BYTES, certificates=(certificate,))
    assert (received.signed, received.xml, received.relay_state) == (True, MESSAGE, "/a b/c")


def test_the_order_of_parameters_in_the_url_does_not_matter_to_the_verifier(
    pair: KeyPair,
) -> None:
    """The signed octets are rebuilt in the order the spec fixes, whatever the URL order."""
    key, certificate = pair
    url = encode_redirect(MESSAGE, destination=IDP_SSO, relay_state="/x", key=key)
    shuffled = "&".join(f"{n}={v}" for n, v in reversed(raw_params(url)))
    received = decode_redirect(shuffled, max_bytes=MAX_BYTES, certificates=(certificate,))
    assert received.signed is True


def test_a_signature_over_the_parameters_in_another_order_is_signature_invalid(
    rsa_pair: KeyPair,
) -> None:
    key, certificate = rsa_pair
    octets = (
        f"RelayState=%2Fx&SAMLRequest={quote(deflate(MESSAGE), safe='')}"
        f"&SigAlg={quote(SIGALG_RSA_SHA256, safe='')}"
    ).encode()
    signature = key.sign(octets, padding.PKCS1v15(), hashes.SHA256())
    query = octets.decode() + "&Signature=" + quote(base64.b64encode(signature).decode(), safe="")
    assert refused(query, certificates=(certificate,)).code == "signature_invalid"


def _replace(query: str, name: str, value: str | None) -> str:
    """``query`` with parameter ``name`` set to the raw ``value`` (None: removed)."""
    pairs = raw_params(query)
    out = [(n, value if n == name else v) for n, v in pairs if n != name or value is not None]
    if value is not None and name not in dict(pairs):
        out.insert(1, (name, value))
    return "&".join(f"{n}={v}" for n, v in out)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("SAMLRequest", quote(deflate(b"<evil/>"), safe=""), id="other-message"),
        pytest.param("RelayState", "https%3A%2F%2Fevil.example", id="relay-state-changed"),
        pytest.param("RelayState", None, id="relay-state-removed"),
        pytest.param("SigAlg", quote(SIGALG_RSA_SHA256 + "x", safe=""), id="sigalg-unknown"),
    ],
)
def test_a_tampered_signed_query_is_refused(
    rsa_pair: KeyPair, name: str, value: str | None
) -> None:
    key, certificate = rsa_pair
    query = query_of(encode_redirect(MESSAGE, destination=IDP_SSO, relay_state="/x", key=key))
    err = refused(_replace(query, name, value), certificates=(certificate,))
    assert err.code == ("algorithm_forbidden" if name == "SigAlg" else "signature_invalid")


def test_a_relay_state_added_to_a_signed_query_is_signature_invalid(rsa_pair: KeyPair) -> None:
    key, certificate = rsa_pair
    query = query_of(encode_redirect(MESSAGE, destination=IDP_SSO, key=key))
    err = refused(_replace(query, "RelayState", "%2Fadmin"), certificates=(certificate,))
    assert err.code == "signature_invalid"


def test_a_tampered_signature_value_is_signature_invalid(rsa_pair: KeyPair) -> None:
    key, certificate = rsa_pair
    query = query_of(encode_redirect(MESSAGE, destination=IDP_SSO, key=key))
    signature = bytearray(base64.b64decode(params(query)["Signature"]))
    signature[10] ^= 1
    forged = _replace(query, "Signature", quote(base64.b64encode(signature).decode(), safe=""))
    assert refused(forged, certificates=(certificate,)).code == "signature_invalid"
    garbage = _replace(query, "Signature", "%%%not-base64")
    assert refused(garbage, certificates=(certificate,)).code == "signature_invalid"


@pytest.mark.parametrize(
    "smuggled",
    [
        pytest.param("SAMLRequest={evil}", id="second-SAMLRequest"),
        pytest.param("SAML%52equest={evil}", id="percent-encoded-name"),
        pytest.param("RelayState=https%3A%2F%2Fevil.example", id="second-RelayState"),
        pytest.param("Relay%53tate=https%3A%2F%2Fevil.example", id="encoded-RelayState-name"),
    ],
)
def test_a_repeated_parameter_cannot_carry_unsigned_content_past_the_signature(
    rsa_pair: KeyPair, smuggled: str
) -> None:
    """What is verified must be what is read: a second copy of a signed parameter (or the
    same name percent-encoded) appended to a validly signed query must not replace the
    signed message or RelayState."""
    key, certificate = rsa_pair
    query = query_of(encode_redirect(MESSAGE, destination=IDP_SSO, relay_state="/x", key=key))
    tampered = query + "&" + smuggled.format(evil=quote(deflate(b"<evil/>"), safe=""))
    code = read = None
    try:
        received = decode_redirect(
            tampered, max_bytes=MAX_BYTES, certificates=(certificate,), require_signature=True
        )
        read = (received.xml, received.relay_state)
    except SamlError as err:
        code = err.code
    # Either refused, or what it returns is what was signed.
    assert code in {"signature_invalid", "input_invalid"} or read == (MESSAGE, "/x"), (
        f"decode_redirect verified one copy of the parameter and returned the other: {read}"
    )


def _signed_raw(key: PrivateKey, relay_state: str) -> str:
    """A query signed over ``relay_state`` exactly as given, not URL-encoded: a sender may
    leave ``/`` and ``?`` bare in a query (RFC 3986 3.4)."""
    sigalg = quote(SIGALG_RSA_SHA256, safe="")
    octets = f"SAMLRequest={quote(deflate(MESSAGE), safe='')}&RelayState={relay_state}"
    octets += f"&SigAlg={sigalg}"
    signature = key.sign(octets.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return octets + "&Signature=" + quote(base64.b64encode(signature).decode(), safe="")


@pytest.mark.parametrize("replacement", ["\u00e9", "\u00ff", "\u20ac", "\u3000", "\U0001f600"])
def test_a_non_ascii_character_put_in_place_of_a_signed_one_is_query_invalid(
    rsa_pair: KeyPair, replacement: str
) -> None:
    """The signature covers the bytes received: a character outside ASCII is refused, never
    turned back into the ``?`` that the sender signed."""
    key, certificate = rsa_pair
    query = _signed_raw(key, "/reports?tab=1")
    received = decode_redirect(query, max_bytes=MAX_BYTES, certificates=(certificate,))
    assert (received.signed, received.relay_state) == (True, "/reports?tab=1")
    tampered = query.replace("/reports?tab", "/reports" + replacement + "tab")
    err = refused(tampered, certificates=(certificate,))
    assert err.code == "query_invalid"


def test_a_non_ascii_character_in_an_unsigned_query_is_query_invalid() -> None:
    """A query string on the wire is ASCII; the adapters pass it undecoded (Latin-1 for the
    bytes a WSGI server got), so any other character is not what the sender sent."""
    query = f"SAMLRequest={quote(deflate(MESSAGE), safe='')}&RelayState=/caf\u00e9"
    assert refused(query).code == "query_invalid"


@pytest.mark.parametrize("name", ["SAMLRequest", "RelayState", "SigAlg", "Signature"])
def test_a_saml_parameter_that_percent_encodes_bytes_not_utf8_is_query_invalid(
    rsa_pair: KeyPair, name: str
) -> None:
    """Read leniently, ``%FF`` and ``%FE`` would both become U+FFFD: two different signed
    values would read the same."""
    key, certificate = rsa_pair
    query = query_of(encode_redirect(MESSAGE, destination=IDP_SSO, relay_state="/x", key=key))
    err = refused(_replace(query, name, "%2Fx%FF"), certificates=(certificate,))
    assert err.code == "query_invalid"


def test_a_percent_encoded_non_ascii_character_in_the_message_is_invalid_base64() -> None:
    assert refused("SAMLRequest=%C3%A9" + quote(deflate(MESSAGE), safe="")).code == (
        "invalid_base64"
    )


def test_a_percent_encoded_non_ascii_character_in_the_signature_is_signature_invalid(
    rsa_pair: KeyPair,
) -> None:
    key, certificate = rsa_pair
    query = query_of(encode_redirect(MESSAGE, destination=IDP_SSO, key=key))
    err = refused(_replace(query, "Signature", "%C3%A9"), certificates=(certificate,))
    assert err.code == "signature_invalid"


def test_another_parameter_that_percent_encodes_bytes_not_utf8_is_ignored(
    rsa_pair: KeyPair,
) -> None:
    key, certificate = rsa_pair
    query = query_of(encode_redirect(MESSAGE, destination=IDP_SSO, relay_state="/x", key=key))
    received = decode_redirect(
        "tenant=%FF&" + query, max_bytes=MAX_BYTES, certificates=(certificate,)
    )
    assert (received.signed, received.xml, received.relay_state) == (True, MESSAGE, "/x")


def test_an_unsigned_query_is_signature_missing_when_a_signature_is_required(
    pair: KeyPair,
) -> None:
    url = encode_redirect(MESSAGE, destination=IDP_SSO, relay_state="/x")
    err = refused(query_of(url), certificates=(pair[1],), require_signature=True)
    assert err.code == "signature_missing"


def test_a_query_stripped_of_its_signature_is_signature_missing_when_required(
    pair: KeyPair,
) -> None:
    key, certificate = pair
    query = query_of(encode_redirect(MESSAGE, destination=IDP_SSO, key=key))
    stripped = _replace(_replace(query, "Signature", None), "SigAlg", None)
    err = refused(stripped, certificates=(certificate,), require_signature=True)
    assert err.code == "signature_missing"
    # Not required: accepted, and reported as unsigned.
    received = decode_redirect(stripped, max_bytes=MAX_BYTES, certificates=(certificate,))
    assert received.signed is False


def test_a_signature_without_sigalg_is_algorithm_forbidden(rsa_pair: KeyPair) -> None:
    key, certificate = rsa_pair
    query = query_of(encode_redirect(MESSAGE, destination=IDP_SSO, key=key))
    err = refused(_replace(query, "SigAlg", None), certificates=(certificate,))
    assert err.code == "algorithm_forbidden"


def test_rsa_sha1_query_signatures_are_algorithm_forbidden_by_default(rsa_pair: KeyPair) -> None:
    key, certificate = rsa_pair
    query = signed_query(key, [("SAMLRequest", deflate(MESSAGE))], SIGALG_RSA_SHA1)
    err = refused(query, certificates=(certificate,))
    assert err.code == "algorithm_forbidden"
    assert err.found == SIGALG_RSA_SHA1


def test_rsa_sha1_query_signatures_verify_with_allow_sha1(rsa_pair: KeyPair) -> None:
    key, certificate = rsa_pair
    query = signed_query(
        key, [("SAMLRequest", deflate(MESSAGE)), ("RelayState", "/x")], SIGALG_RSA_SHA1
    )
    received = decode_redirect(
        query, max_bytes=MAX_BYTES, certificates=(certificate,), allow_sha1=True
    )
    assert (received.signed, received.xml, received.relay_state) == (True, MESSAGE, "/x")


def test_a_sha1_signature_that_does_not_verify_is_signature_invalid_with_allow_sha1(
    rsa_pair: KeyPair, other_pair: KeyPair
) -> None:
    query = signed_query(other_pair[0], [("SAMLRequest", deflate(MESSAGE))], SIGALG_RSA_SHA1)
    err = refused(query, certificates=(rsa_pair[1],), allow_sha1=True)
    assert err.code == "signature_invalid"


# --- HTTP-Redirect: inflate limit and garbage -----------------------------------------------------


@pytest.fixture(scope="module")
def bomb() -> str:
    """50 MB of zeros, raw-DEFLATEd (about 50 KB) and base64-encoded."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    deflated = b"".join(compressor.compress(chunk) for _ in range(50)) + compressor.flush()
    assert len(deflated) < 100_000
    return base64.b64encode(deflated).decode("ascii")


def test_a_decompression_bomb_is_response_too_large_without_inflating_it(bomb: str) -> None:
    query = urlencode({"SAMLRequest": bomb}, quote_via=quote)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        err = refused(query)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert err.code == "response_too_large"
    assert peak < 8 * 1024 * 1024, f"inflating used {peak} bytes: the bomb was expanded"
    assert elapsed < 2.0


def test_the_inflate_limit_is_exact() -> None:
    limit = 4096
    at_limit = b"<a>" + b"x" * (limit - 7) + b"</a>"
    assert len(at_limit) == limit
    ok = urlencode({"SAMLRequest": deflate(at_limit)}, quote_via=quote)
    assert decode_redirect(ok, max_bytes=limit).xml == at_limit
    over = urlencode({"SAMLRequest": deflate(at_limit + b" ")}, quote_via=quote)
    assert refused(over, max_bytes=limit).code == "response_too_large"


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("SAMLRequest=%25%25%25not*base64", id="not-base64"),
        pytest.param(
            "SAMLRequest=" + quote(base64.b64encode(b"<plain/>").decode()), id="no-deflate"
        ),
        pytest.param("SAMLRequest=" + quote(base64.b64encode(b"\xff" * 64).decode()), id="garbage"),
        pytest.param("SAMLRequest=", id="empty"),
        pytest.param("", id="no-parameter"),
        pytest.param("RelayState=%2Fx", id="relay-state-only"),
    ],
)
def test_garbage_in_the_message_parameter_is_invalid_base64(query: str) -> None:
    assert refused(query).code == "invalid_base64"


# --- HTTP-POST: the auto-submitting form -------------------------------------------------------

HOSTILE = "\"'><script>alert(1)</script>&amp;<img src=x onerror=alert(2)>"


def test_post_form_escapes_the_action_and_every_field_name_and_value() -> None:
    action = 'https://idp.example.test/sso?a=1&b="2"><script>alert(0)</script>'
    fields = {"SAMLRequest": HOSTILE, "RelayState": "/x?a=1&b=<2>", HOSTILE: "v"}
    page = post_form(action, fields, nonce="n0nce", title=HOSTILE)
    document = html.document_fromstring(page)
    [form] = document.forms
    assert form.get("action") == action
    assert form.get("method") == "post"
    inputs = [(i.get("name"), i.get("value"), i.get("type")) for i in form.findall(".//input")]
    assert inputs == [(name, value, "hidden") for name, value in fields.items()]
    # Nothing the values carried became markup: one script (ours), no event handlers.
    assert len(document.findall(".//script")) == 1
    assert len(document.findall(".//img")) == 0
    assert not any(
        name.lower().startswith("on") for element in document.iter() for name in element.attrib
    )
    assert "<script>alert" not in page
    assert document.findtext(".//title") == HOSTILE


def test_post_form_script_carries_the_csp_nonce_and_only_submits() -> None:
    page = post_form(IDP_SSO, {"SAMLRequest": "abc"}, nonce="r4nd0m+/=")
    document = html.document_fromstring(page)
    [script] = document.findall(".//script")
    assert script.get("nonce") == "r4nd0m+/="
    assert script.text == "document.forms[0].submit();"
    assert script.get("src") is None


def test_post_form_escapes_a_hostile_nonce() -> None:
    page = post_form(IDP_SSO, {"SAMLRequest": "abc"}, nonce='x" onload="alert(1)')
    [script] = html.document_fromstring(page).findall(".//script")
    assert script.get("nonce") == 'x" onload="alert(1)'
    assert script.get("onload") is None


def test_post_form_without_a_nonce_has_a_continue_button_for_blocked_scripts() -> None:
    page = post_form(IDP_SSO, {"SAMLRequest": "abc"})
    document = html.document_fromstring(page)
    [script] = document.findall(".//script")
    assert script.get("nonce") is None
    [button] = document.findall(".//button")
    assert button.get("type") == "submit"
    assert document.find(".//noscript") is not None


# --- AuthnRequest ---------------------------------------------------------------------------------


def authn(**options: object) -> etree._Element:
    options.setdefault("sp", SP)
    options.setdefault("destination", IDP_SSO)
    options.setdefault("now", NOW)
    request = build_authn_request(**options)
    root = etree.fromstring(request.xml)
    assert root.get("ID") == request.request_id
    assert request.issue_instant == options["now"]
    return root


def test_the_authn_request_has_the_core_attributes_and_issuer() -> None:
    root = authn()
    assert root.tag == f"{{{NS['samlp']}}}AuthnRequest"
    assert root.get("Version") == "2.0"
    assert root.get("IssueInstant") == "2026-11-25T12:00:00Z"
    assert root.get("Destination") == IDP_SSO
    assert root.get("AssertionConsumerServiceURL") == ACS_URL
    assert root.get("ProtocolBinding") == BINDING_HTTP_POST
    assert root.findtext("saml:Issuer", namespaces=NS) == SP_ENTITY_ID
    assert root.get("ForceAuthn") is None
    assert root.find("samlp:RequestedAuthnContext", NS) is None
    assert root.find("ds:Signature", NS) is None


def test_authn_request_ids_are_unique_xs_ids() -> None:
    ids = {authn().get("ID") for _ in range(200)}
    assert len(ids) == 200
    for value in ids:
        assert value is not None
        assert value[0].isalpha() or value[0] == "_"
        assert len(value) >= 33  # 128 bits of randomness in hex, after the prefix


def test_an_explicit_request_id_is_used() -> None:
    assert authn(request_id="_fixed").get("ID") == "_fixed"


def test_the_issue_instant_follows_the_given_clock() -> None:
    later = NOW + timedelta(minutes=3, seconds=7)
    assert authn(now=later).get("IssueInstant") == "2026-11-25T12:03:07Z"


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(SamlError):
        authn(now=NOW.replace(tzinfo=None))


def test_the_name_id_policy_asks_for_an_email_address_by_default() -> None:
    [policy] = authn().findall("samlp:NameIDPolicy", NS)
    assert policy.get("Format") == EMAIL
    assert policy.get("AllowCreate") == "true"


def test_the_name_id_policy_format_is_configurable_and_may_be_left_out() -> None:
    [policy] = authn(name_id_format=PERSISTENT).findall("samlp:NameIDPolicy", NS)
    assert policy.get("Format") == PERSISTENT
    assert authn(name_id_format=None).find("samlp:NameIDPolicy", NS) is None


def test_force_authn_is_sent_when_asked_for() -> None:
    assert authn(force_authn=True).get("ForceAuthn") == "true"


def test_requested_authn_context_lists_each_class_for_an_exact_match() -> None:
    root = authn(requested_authn_contexts=[MFA, "urn:example:hardware-token"])
    [context] = root.findall("samlp:RequestedAuthnContext", NS)
    assert context.get("Comparison") == "exact"
    assert [e.text for e in context.findall("saml:AuthnContextClassRef", NS)] == [
        MFA,
        "urn:example:hardware-token",
    ]


def test_children_come_in_schema_order() -> None:
    """Core 3.2.1 / 3.4.1: Issuer, Signature, …, NameIDPolicy, …, RequestedAuthnContext."""
    key, certificate = make_certificate(key_type="ec")
    root = authn(requested_authn_contexts=[MFA], signing_key=key, signing_certificate=certificate)
    assert [etree.QName(child).localname for child in root] == [
        "Issuer",
        "Signature",
        "NameIDPolicy",
        "RequestedAuthnContext",
    ]


def test_a_signed_authn_request_carries_an_enveloped_signature_that_verifies(
    pair: KeyPair,
) -> None:
    key, certificate = pair
    root = authn(signing_key=key, signing_certificate=certificate, force_authn=True)
    signature = signature_child(root, "AuthnRequest")
    assert signature is not None
    verified = verify_enveloped(
        root, signature, certificates=(certificate,), allow_sha1=False, what="AuthnRequest"
    )
    assert verified.element.get("ID") == root.get("ID")
    assert verified.element.get("ForceAuthn") == "true"
    reference = signature.find("ds:SignedInfo/ds:Reference", NS)
    assert reference is not None
    assert reference.get("URI") == "#" + root.get("ID", "")
    # And with signxml on its own, pinned to the SP certificate.
    result = XMLVerifier().verify(etree.tostring(root), x509_cert=certificate, expect_references=1)
    assert result.signed_xml.get("ID") == root.get("ID")


def test_a_signed_authn_request_changed_after_signing_does_not_verify(rsa_pair: KeyPair) -> None:
    key, certificate = rsa_pair
    root = authn(signing_key=key, signing_certificate=certificate)
    root.set("AssertionConsumerServiceURL", "https://evil.example/acs")
    signature = signature_child(root, "AuthnRequest")
    assert signature is not None
    with pytest.raises(SamlError) as caught:
        verify_enveloped(
            root, signature, certificates=(certificate,), allow_sha1=False, what="AuthnRequest"
        )
    assert caught.value.code == "signature_invalid"


# --- HTTP-Redirect: parameter spelling, algorithms and key types ---------------------------------


def _signed_with(key: PrivateKey, parts: list[tuple[str, str]], sigalg: str, sign: object) -> str:
    """A query over ``parts`` + SigAlg, signed by ``sign(key, octets)`` whatever SigAlg says."""
    parts = [*parts, ("SigAlg", sigalg)]
    octets = urlencode(parts, quote_via=quote).encode("ascii")
    signature = sign(key, octets)  # type: ignore[operator]
    return urlencode([*parts, ("Signature", base64.b64encode(signature).decode())], quote_via=quote)


@pytest.mark.parametrize("name", ["SAMLRequest", "RelayState", "SigAlg", "Signature"])
def test_a_saml_parameter_given_twice_is_signature_invalid(rsa_pair: KeyPair, name: str) -> None:
    key, certificate = rsa_pair
    query = query_of(encode_redirect(MESSAGE, destination=IDP_SSO, relay_state="/x", key=key))
    again = next(f"{n}={v}" for n, v in raw_params(query) if n == name)
    err = refused(query + "&" + again, certificates=(certificate,))
    assert err.code == "signature_invalid"


def test_a_percent_encoded_relay_state_name_cannot_add_an_unsigned_relay_state(
    rsa_pair: KeyPair,
) -> None:
    """The signature covers no RelayState; one smuggled in under an encoded name is refused
    rather than returned as if it were signed."""
    key, certificate = rsa_pair
    query = query_of(encode_redirect(MESSAGE, destination=IDP_SSO, key=key))
    err = refused(query + "&Relay%53tate=https%3A%2F%2Fevil.example", certificates=(certificate,))
    assert err.code == "signature_invalid"


@pytest.mark.parametrize("name", ["SAML%52equest", "Relay%53tate", "%53AMLRequest"])
def test_a_saml_parameter_name_in_encoded_form_is_refused_even_unsigned(name: str) -> None:
    if name.endswith("equest"):
        query = f"{name}={quote(deflate(MESSAGE), safe='')}"
    else:
        query = f"SAMLRequest={quote(deflate(MESSAGE), safe='')}&{name}=%2Fx"
    assert refused(query).code == "signature_invalid"


def test_an_unknown_sigalg_is_algorithm_forbidden_even_with_allow_sha1(rsa_pair: KeyPair) -> None:
    """allow_sha1 opts in to rsa-sha1 only, not to any URI the allow-list does not know."""
    key, certificate = rsa_pair
    md5 = "http://www.w3.org/2001/04/xmldsig-more#rsa-md5"
    query = signed_query(key, [("SAMLRequest", deflate(MESSAGE))], md5)
    err = refused(query, certificates=(certificate,), allow_sha1=True)
    assert err.code == "algorithm_forbidden"
    assert err.found == md5


def test_an_rsa_signature_labelled_ecdsa_is_signature_invalid(rsa_pair: KeyPair) -> None:
    key, certificate = rsa_pair
    query = _signed_with(
        key,
        [("SAMLRequest", deflate(MESSAGE))],
        SIGALG_ECDSA_SHA256,
        lambda k, data: k.sign(data, padding.PKCS1v15(), hashes.SHA256()),
    )
    assert refused(query, certificates=(certificate,)).code == "signature_invalid"


def test_an_ecdsa_signature_labelled_rsa_is_signature_invalid(ec_pair: KeyPair) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key, certificate = ec_pair
    query = _signed_with(
        key,
        [("SAMLRequest", deflate(MESSAGE))],
        SIGALG_RSA_SHA256,
        lambda k, data: k.sign(data, ec.ECDSA(hashes.SHA256())),
    )
    assert refused(query, certificates=(certificate,)).code == "signature_invalid"


def test_a_signature_with_non_base64_characters_mixed_in_is_signature_invalid(
    rsa_pair: KeyPair,
) -> None:
    """The Signature value is strict base64: junk characters are not silently skipped."""
    key, certificate = rsa_pair
    query = query_of(encode_redirect(MESSAGE, destination=IDP_SSO, key=key))
    value = base64.b64encode(base64.b64decode(params(query)["Signature"])).decode()
    junk = value[:8] + "!*" + value[8:]
    err = refused(_replace(query, "Signature", quote(junk, safe="")), certificates=(certificate,))
    assert err.code == "signature_invalid"
