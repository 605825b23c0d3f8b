"""Input safety: the HTTP-POST ``SAMLResponse`` value and the one XML parser.

Everything here is refused before any signature is looked at, with a stable ``code``: the value
must be strict base64 of uncompressed XML (SAML bindings 3.5.4), within the size limits, and
the XML must be well-formed, free of DTDs, entities and processing instructions, and within the
depth and node limits. Hostile documents follow the classes of signxml's defusedxml corpus.
"""

from __future__ import annotations

import base64
import gzip
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import CanonicalizationMethod

import samljit
from samljit import _xml
from samljit.testing import IssuedResponse, TestIdP

from .conftest import ACS_URL, SP_ENTITY_ID

Verify = Callable[..., samljit.Assertion]
T = TypeVar("T")

NS_SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
NS_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_XI = "http://www.w3.org/2001/XInclude"

NAME_ID = "ada@acme.test"
ATTRIBUTES = {"full_name": ("Ada Lovelace",), "role": ("developer",)}

# A minimal document whose root is a samlp:Response; %s is its content.
RESPONSE = (
    '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
    'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0" '
    'IssueInstant="2026-11-25T12:00:00Z">%s</samlp:Response>'
)
# What /etc/passwd starts with on every Unix: must never reach an error, a log or an assertion.
PASSWD_MARKER = "root:"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def wrap(value: str, *, width: int = 76, newline: str = "\r\n") -> str:
    """Break a base64 value into lines, as MIME (RFC 2045) and some IdPs do."""
    return newline.join(value[i : i + width] for i in range(0, len(value), width))


def response(content: str = "") -> bytes:
    return (RESPONSE % content).encode("utf-8")


def limited_sp(
    *,
    max_bytes: int = samljit.RESPONSE_LIMITS.max_bytes,
    max_depth: int = samljit.RESPONSE_LIMITS.max_depth,
    max_nodes: int = samljit.RESPONSE_LIMITS.max_nodes,
) -> samljit.SPConfig:
    """The test SP with its response limits changed."""
    return samljit.SPConfig(
        entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        limits=samljit.Limits(max_bytes=max_bytes, max_depth=max_depth, max_nodes=max_nodes),
    )


def depth_of(xml: bytes) -> int:
    """Element nesting depth, the root being depth 1."""
    root = etree.fromstring(xml)
    return max(sum(1 for _ in element.iterancestors()) + 1 for element in root.iter(etree.Element))


def nodes_of(xml: bytes) -> int:
    """Elements plus attributes."""
    root = etree.fromstring(xml)
    return sum(1 + len(element.attrib) for element in root.iter(etree.Element))


def everything_said_about(err: BaseException) -> str:
    """All the text an application could log about ``err``, its causes included."""
    parts: list[str] = []
    current: BaseException | None = err
    while current is not None:
        parts += [str(current), repr(current), repr(current.args)]
        if isinstance(current, samljit.SamlError):
            parts.append(repr(current.to_dict()))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def outcome(action: Callable[[], T]) -> T | samljit.SamlError:
    """What ``action`` returns, or the SamlError it raises (anything else propagates)."""
    try:
        return action()
    except samljit.SamlError as err:
        return err


def assert_content(assertion: samljit.Assertion) -> None:
    assert assertion.name_id.value == NAME_ID
    assert dict(assertion.attributes) == ATTRIBUTES


@pytest.fixture
def issued(issue: Callable[..., IssuedResponse]) -> IssuedResponse:
    """A real response from the test IdP: valid for the test SP at NOW."""
    return issue(name_id=NAME_ID, attributes={k: list(v) for k, v in ATTRIBUTES.items()})


def padded(issued: IssuedResponse) -> str:
    """The form value of ``issued`` made to end in "==" padding (trailing XML whitespace)."""
    xml = issued.xml + b"\n" * ((1 - len(issued.xml)) % 3)
    value = b64(xml)
    assert value.endswith("==")
    return value


# --- the form value ------------------------------------------------------------------------


def test_a_plain_base64_response_is_accepted(verify: Verify, issued: IssuedResponse) -> None:
    """The baseline every mutation below departs from."""
    assert_content(verify(issued.form_value))


@pytest.mark.parametrize(
    "reshape",
    [
        pytest.param(lambda v: wrap(v, newline="\r\n"), id="crlf-every-76"),
        pytest.param(lambda v: wrap(v, newline="\n"), id="lf-every-76"),
        pytest.param(lambda v: wrap(v, width=64, newline="\n"), id="lf-every-64"),
        pytest.param(lambda v: wrap(v) + "\r\n", id="crlf-every-76-and-at-the-end"),
    ],
)
def test_line_breaks_inside_the_base64_are_tolerated(
    verify: Verify, issued: IssuedResponse, reshape: Callable[[str], str]
) -> None:
    """Some IdPs wrap the value at 76 columns (RFC 2045); CR and LF are the only extra
    characters tolerated."""
    value = reshape(issued.form_value)
    assert "\n" in value
    assert_content(verify(value))


def test_a_padded_value_is_accepted(verify: Verify, issued: IssuedResponse) -> None:
    """Padding is part of base64: the "==" form of the same response verifies."""
    assert_content(verify(padded(issued)))


FORM_VALUE_MUTATIONS = [
    pytest.param(lambda v: "", "invalid_base64", id="empty"),
    pytest.param(lambda v: "\r\n\r\n", "invalid_base64", id="only-line-breaks"),
    pytest.param(lambda v: v[:100] + " " + v[100:], "invalid_base64", id="space-inside"),
    pytest.param(lambda v: v[:100] + "\t" + v[100:], "invalid_base64", id="tab-inside"),
    pytest.param(lambda v: " " + v, "invalid_base64", id="leading-space"),
    pytest.param(lambda v: v + " ", "invalid_base64", id="trailing-space"),
    pytest.param(lambda v: v[:100] + "\x00" + v[100:], "invalid_base64", id="nul-inside"),
    pytest.param(lambda v: v[:100] + "!" + v[101:], "invalid_base64", id="punctuation"),
    pytest.param(lambda v: v[:100] + "-" + v[101:], "invalid_base64", id="url-safe-alphabet"),
    pytest.param(lambda v: v[:100] + "é" + v[100:], "invalid_base64", id="non-ascii"),
    pytest.param(lambda v: v[:100] + "%2B" + v[100:], "invalid_base64", id="still-url-encoded"),
    pytest.param(lambda v: v[:-1], "invalid_base64", id="truncated-padding"),
    pytest.param(lambda v: v[:-3], "invalid_base64", id="truncated-mid-quantum"),
    pytest.param(lambda v: v + "QQ==", "invalid_base64", id="data-after-padding"),
    pytest.param(lambda v: v + "=", "invalid_base64", id="extra-padding"),
    pytest.param(lambda v: v[:8] + "=" + v[9:], "invalid_base64", id="padding-in-the-middle"),
    pytest.param(lambda v: v[: len(v) // 8 * 4], "xml_malformed", id="xml-cut-in-half"),
    pytest.param(lambda v: "SAMLResponse=" + v, "invalid_base64", id="whole-form-field"),
]


@pytest.mark.parametrize(("mutate", "code"), FORM_VALUE_MUTATIONS)
def test_a_damaged_form_value_is_refused(
    verify: Verify, issued: IssuedResponse, mutate: Callable[[str], str], code: str
) -> None:
    """The value is strict base64: anything but the alphabet, correct padding and CR/LF is
    refused before any XML is parsed."""
    with pytest.raises(samljit.SamlError) as info:
        verify(mutate(padded(issued)))
    assert info.value.code == code


@pytest.mark.parametrize(
    "compress",
    [
        pytest.param(lambda xml: zlib.compress(xml)[2:-4], id="raw-deflate"),
        pytest.param(zlib.compress, id="zlib"),
        pytest.param(gzip.compress, id="gzip"),
    ],
)
def test_a_compressed_response_is_refused(
    verify: Verify, issued: IssuedResponse, compress: Callable[[bytes], bytes]
) -> None:
    """The HTTP-POST binding never deflates (SAML bindings 3.5.4; DEFLATE belongs to
    HTTP-Redirect), so a compressed payload is refused rather than inflated (no zip bombs)."""
    with pytest.raises(samljit.SamlError) as info:
        verify(b64(compress(issued.xml)))
    assert info.value.code == "compressed_payload"


def test_a_compressed_response_is_refused_by_the_decoder_itself(issued: IssuedResponse) -> None:
    """decode_post_response is public: it refuses DEFLATE on its own, not only inside verify."""
    with pytest.raises(samljit.SamlError) as info:
        samljit.bindings.decode_post_response(b64(zlib.compress(issued.xml)), max_bytes=10**6)
    assert info.value.code == "compressed_payload"


def test_decode_post_response_returns_the_xml_bytes(issued: IssuedResponse) -> None:
    assert (
        samljit.bindings.decode_post_response(wrap(issued.form_value), max_bytes=10**6)
        == issued.xml
    )


# --- size limits ---------------------------------------------------------------------------


def test_a_value_too_long_for_the_limit_is_refused_before_decoding(verify: Verify) -> None:
    """Even a value that is not base64 at all is refused for its length first: no work is
    done on a value that could only decode to more than the limit."""
    with pytest.raises(samljit.SamlError) as info:
        verify("!" * 100_000, sp=limited_sp(max_bytes=10_000))
    assert info.value.code == "response_too_large"


def test_a_huge_value_is_refused_quickly(verify: Verify) -> None:
    """5 MB of base64 against the default 512 KiB limit: refused on its length."""
    start = time.perf_counter()
    with pytest.raises(samljit.SamlError) as info:
        verify("A" * 5_000_000)
    assert info.value.code == "response_too_large"
    assert time.perf_counter() - start < 5


def test_a_value_that_decodes_over_the_limit_is_refused() -> None:
    """A value short enough to pass the length check is still measured after decoding."""
    data = b"<" + b"a" * 1002
    with pytest.raises(samljit.SamlError) as info:
        samljit.bindings.decode_post_response(b64(data), max_bytes=1000)
    assert info.value.code == "response_too_large"
    assert info.value.found == len(data)


def test_a_value_longer_than_the_base64_of_the_limit_is_refused_undecoded() -> None:
    """Without its line breaks, a value longer than the base64 of max_bytes (1336 characters
    for 1000 bytes) could only decode to more: it is refused as too large, undecoded, even
    when it is not base64 at all."""
    with pytest.raises(samljit.SamlError) as info:
        samljit.bindings.decode_post_response("!" * 1337, max_bytes=1000)
    assert info.value.code == "response_too_large"


def test_the_decoded_length_is_checked_even_when_the_value_passes_the_length_check(
    issued: IssuedResponse,
) -> None:
    """XML of a multiple of three bytes encodes without padding to exactly the longest value
    the length check lets through for one byte less: only the decoded length refuses it."""
    xml = issued.xml + b"\n" * (-len(issued.xml) % 3)
    max_bytes = len(xml) - 1
    assert len(b64(xml)) == -(-max_bytes // 3) * 4
    with pytest.raises(samljit.SamlError) as info:
        samljit.bindings.decode_post_response(b64(xml), max_bytes=max_bytes)
    assert info.value.code == "response_too_large"
    assert info.value.found == len(xml)


def test_line_breaks_are_tolerated_only_up_to_three_times_the_limit(
    verify: Verify, issued: IssuedResponse
) -> None:
    """Line breaks do not count towards the limit, but they are not free: a value more than
    three times the base64 of max_bytes long is refused before its line breaks are removed
    (CRLF after every character stays under that)."""
    encoded_limit = -(-len(issued.xml) // 3) * 4
    value = issued.form_value + "\n" * (3 * encoded_limit + 5 - len(issued.form_value))
    with pytest.raises(samljit.SamlError) as info:
        verify(value, sp=limited_sp(max_bytes=len(issued.xml)))
    assert info.value.code == "response_too_large"


def test_a_real_response_one_byte_over_the_limit_is_refused(
    verify: Verify, issued: IssuedResponse
) -> None:
    with pytest.raises(samljit.SamlError) as info:
        verify(issued.form_value, sp=limited_sp(max_bytes=len(issued.xml) - 1))
    assert info.value.code == "response_too_large"


@pytest.mark.parametrize(
    "reshape",
    [
        pytest.param(lambda v: v, id="one-line"),
        pytest.param(lambda v: wrap(v, newline="\n"), id="lf-every-76"),
        pytest.param(lambda v: wrap(v, newline="\r\n"), id="crlf-every-76"),
        pytest.param(lambda v: wrap(v, width=1, newline="\r\n"), id="crlf-every-character"),
    ],
)
def test_a_real_response_exactly_at_the_limit_is_accepted(
    verify: Verify, issued: IssuedResponse, reshape: Callable[[str], str]
) -> None:
    """The limit is on decoded bytes: line breaks the binding tolerates must not count, so a
    response of exactly max_bytes is accepted however its base64 is wrapped."""
    assert_content(verify(reshape(issued.form_value), sp=limited_sp(max_bytes=len(issued.xml))))


def test_xml_over_the_byte_limit_is_refused_by_the_parser(
    verify: Verify, issued: IssuedResponse
) -> None:
    """verify_response_xml takes decoded XML: the parser applies the same byte limit."""
    with pytest.raises(samljit.SamlError) as info:
        verify(issued.xml, sp=limited_sp(max_bytes=len(issued.xml) - 1))
    assert info.value.code == "xml_too_large"


def test_xml_exactly_at_the_byte_limit_is_accepted(verify: Verify, issued: IssuedResponse) -> None:
    assert_content(verify(issued.xml, sp=limited_sp(max_bytes=len(issued.xml))))


# --- XML that is not usable at all ---------------------------------------------------------


@pytest.mark.parametrize(
    "xml",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"   \n", id="only-whitespace"),
        pytest.param(b"hello world", id="text"),
        pytest.param(b'{"SAMLResponse": "PHNhbWxwOlJlc3BvbnNlLz4="}', id="json"),
        pytest.param(b"\x00\x01\x02\xff\xfe", id="binary"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", id="png"),
        pytest.param(response()[:-5], id="truncated"),
        pytest.param(response("<saml:Issuer>x</saml:Assertion>"), id="mismatch"),
        pytest.param(response("<saml:Issuer a=b>x</saml:Issuer>"), id="unquoted"),
        pytest.param(response('<saml:Issuer a="1" a="2"/>'), id="dup-attr"),
        pytest.param(response("<x:Issuer>x</x:Issuer>"), id="unbound-prefix"),
        pytest.param(response("<saml:Issuer>a & b</saml:Issuer>"), id="bare-amp"),
        pytest.param(
            response("<saml:Issuer>X</saml:Issuer>").replace(b"X", b"\xff"),
            id="bad-utf8",
        ),
        pytest.param(response().replace(b"</samlp:Response>", b""), id="unclosed"),
        pytest.param(response() + response(), id="two-roots"),
        pytest.param(response() + b"<extra/>", id="element-after-root"),
        pytest.param(response() + b"trailing text", id="text-after-root"),
        pytest.param(b'<?xml version="1.0"?>', id="declaration-only"),
    ],
)
def test_xml_that_is_not_well_formed_is_refused(verify: Verify, xml: bytes) -> None:
    """Not XML, or XML that breaks a well-formedness rule (XML 1.0 section 2.1): one root
    element, matched tags, quoted unique attributes, bound prefixes, valid UTF-8."""
    with pytest.raises(samljit.SamlError) as info:
        verify(xml)
    assert info.value.code == "xml_malformed"


def test_not_xml_behind_valid_base64_is_refused(verify: Verify) -> None:
    with pytest.raises(samljit.SamlError) as info:
        verify(b64(b"this is not XML"))
    assert info.value.code == "xml_malformed"


# --- DTDs, entities, processing instructions ------------------------------------------------

BILLION_LAUGHS = (
    '<!DOCTYPE samlp:Response [<!ENTITY a "aaaaaaaaaa">'
    + "".join(
        f'<!ENTITY {name} "{("&" + previous + ";") * 10}">'
        for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "]>"
)

PASSWD = "file:///etc/passwd"


def with_doctype(internal_subset: str, content: str = "", *, external: str = "") -> bytes:
    """A samlp:Response under ``<!DOCTYPE samlp:Response {external} [{internal_subset}]>``."""
    subset = f" [{internal_subset}]" if internal_subset else ""
    return f"<!DOCTYPE samlp:Response{external}{subset}>".encode() + response(content)


FORBIDDEN = {
    "internal-subset": with_doctype("<!ELEMENT samlp:Response ANY>"),
    "internal-entity": with_doctype(
        '<!ENTITY name "ada@acme.test">', "<saml:Issuer>&name;</saml:Issuer>"
    ),
    "xxe-system-entity": with_doctype(
        f'<!ENTITY xxe SYSTEM "{PASSWD}">', "<saml:Issuer>&xxe;</saml:Issuer>"
    ),
    "xxe-declared-not-used": with_doctype(f'<!ENTITY xxe SYSTEM "{PASSWD}">'),
    "ssrf-system-entity": with_doctype(
        '<!ENTITY xxe SYSTEM "http://127.0.0.1:9/x">', "<saml:Issuer>&xxe;</saml:Issuer>"
    ),
    "billion-laughs": BILLION_LAUGHS.encode() + response("<saml:Issuer>&i;</saml:Issuer>"),
    "internal-parameter-entity": with_doctype(
        "<!ENTITY % p \"<!ENTITY q 'x'>\"> %p;", "<saml:Issuer>&q;</saml:Issuer>"
    ),
    "external-parameter-entity": with_doctype(f'<!ENTITY % p SYSTEM "{PASSWD}"> %p;'),
    "external-dtd-file": with_doctype("", external=f' SYSTEM "{PASSWD}"'),
    "external-dtd-network": with_doctype(
        "", external=' PUBLIC "-//x//y" "http://127.0.0.1:9/saml.dtd"'
    ),
    "undeclared-entity": response("<saml:Issuer>&undeclared;</saml:Issuer>"),
}


def in_encoding(xml: bytes, encoding: str) -> bytes:
    """The same document in another encoding XML allows (with its declaration): a byte search
    for "<!DOCTYPE" does not see it, the parser does."""
    declaration = f'<?xml version="1.0" encoding="{encoding.upper()}"?>'
    return (declaration + xml.decode("utf-8")).encode(encoding)


FORBIDDEN_DOCUMENTS = [pytest.param(xml, id=name) for name, xml in FORBIDDEN.items()] + [
    pytest.param(in_encoding(xml, encoding), id=f"{name}-{encoding}")
    for encoding in ("utf-16", "utf-32")
    for name, xml in FORBIDDEN.items()
]


@pytest.mark.parametrize("xml", FORBIDDEN_DOCUMENTS)
def test_a_dtd_or_entity_is_refused(verify: Verify, xml: bytes) -> None:
    """SAML messages never carry a DTD (SAML core 1.3): any DOCTYPE or entity is refused as a
    forbidden construct, without reading files, opening URLs or expanding anything."""
    with pytest.raises(samljit.SamlError) as info:
        verify(xml)
    assert info.value.code == "xml_forbidden_construct"


@pytest.mark.parametrize("xml", FORBIDDEN_DOCUMENTS)
def test_a_dtd_or_entity_is_refused_inside_the_form_value(verify: Verify, xml: bytes) -> None:
    with pytest.raises(samljit.SamlError) as info:
        verify(b64(xml))
    assert info.value.code == "xml_forbidden_construct"


@pytest.mark.parametrize("xml", FORBIDDEN_DOCUMENTS)
def test_no_file_content_reaches_the_error(verify: Verify, xml: bytes) -> None:
    """Whatever the code, /etc/passwd never appears in the error, its repr, its dict or the
    exceptions it was raised from."""
    with pytest.raises(samljit.SamlError) as info:
        verify(xml)
    assert PASSWD_MARKER not in everything_said_about(info.value)


SECRET = "s3cr3t-7f1d2c-not-for-anyone"


@pytest.fixture
def secret_files(tmp_path: Path) -> dict[str, str]:
    """A text file and a DTD holding a secret, by URI."""
    text = tmp_path / "secret.txt"
    text.write_text(SECRET)
    dtd = tmp_path / "secret.dtd"
    dtd.write_text(f'<!ENTITY leak "{SECRET}">')
    return {"text": text.as_uri(), "dtd": dtd.as_uri()}


@pytest.mark.parametrize(
    "template",
    [
        pytest.param(
            '<!DOCTYPE samlp:Response [<!ENTITY leak SYSTEM "{text}">]>', id="system-entity"
        ),
        pytest.param('<!DOCTYPE samlp:Response SYSTEM "{dtd}">', id="external-dtd"),
        pytest.param(
            '<!DOCTYPE samlp:Response [<!ENTITY % p SYSTEM "{dtd}"> %p;]>',
            id="parameter-entity",
        ),
    ],
)
def test_a_secret_file_never_reaches_the_error(
    verify: Verify, secret_files: dict[str, str], template: str
) -> None:
    xml = template.format(**secret_files).encode() + response("<saml:Issuer>&leak;</saml:Issuer>")
    with pytest.raises(samljit.SamlError) as info:
        verify(xml)
    assert info.value.code == "xml_forbidden_construct"
    assert SECRET not in everything_said_about(info.value)


@pytest.mark.parametrize(
    ("encoding", "declared"),
    [
        pytest.param("utf-8", "UTF-8", id="utf-8"),
        pytest.param("utf-16", "UTF-16", id="utf-16-bom"),
        pytest.param("utf-16-le", "UTF-16", id="utf-16le-no-bom"),
        pytest.param("utf-16-be", "UTF-16", id="utf-16be-no-bom"),
        pytest.param("utf-32", "UTF-32", id="utf-32-bom"),
        pytest.param("utf-32-le", "UTF-32", id="utf-32le-no-bom"),
        pytest.param("utf-32-be", "UTF-32", id="utf-32be-no-bom"),
    ],
)
def test_a_doctype_is_refused_before_the_parser_reads_it(
    verify: Verify, encoding: str, declared: str
) -> None:
    """The DOCTYPE is found by the pre-parse scan in every encoding samljit reads, so even one
    libxml2 would choke on (here a malformed declaration) is a forbidden construct, never
    something the parser got to see."""
    xml = f'<?xml version="1.0" encoding="{declared}"?><!DOCTYPE samlp:Response [<!ELEMENT>]>'
    with pytest.raises(samljit.SamlError) as info:
        verify((xml + response().decode()).encode(encoding))
    assert info.value.code == "xml_forbidden_construct"


# --- the parser's own defences, behind the pre-parse checks (internal: those checks refuse
# every document that could reach them, so these call the parser directly) ------------------


def test_the_parser_never_expands_an_internal_entity() -> None:
    parsed = etree.fromstring(
        b'<!DOCTYPE r [<!ENTITY name "expanded">]><r>&name;</r>', parser=_xml._parser()
    )
    assert "expanded" not in etree.tostring(parsed).decode()


def test_the_parser_refuses_every_external_resource(secret_files: dict[str, str]) -> None:
    """libxml2 asks its loader for an external DTD even with load_dtd=False; samljit's
    resolver refuses it, so no file is ever read (nor /dev/zero, nor a URL)."""
    xml = f'<!DOCTYPE r SYSTEM "{secret_files["dtd"]}"><r>&leak;</r>'.encode()
    with pytest.raises(samljit.SamlError) as info:
        etree.fromstring(xml, parser=_xml._parser())
    assert info.value.code == "xml_forbidden_construct"
    assert SECRET not in everything_said_about(info.value)


def test_the_parser_keeps_libxml2s_own_depth_limit() -> None:
    """huge_tree stays off: libxml2 itself stops at 256 levels, before any tree is built."""
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(b"<a>" * 300 + b"</a>" * 300, parser=_xml._parser())


def test_a_doctype_that_got_past_the_pre_parse_scan_is_still_refused(
    verify: Verify, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Defence in depth: with the byte scan out of the way, the parsed document's docinfo
    still shows the DOCTYPE and the document is refused."""
    monkeypatch.setattr(_xml, "_check_prologue", lambda data, what: 0)
    with pytest.raises(samljit.SamlError) as info:
        verify(b"<!DOCTYPE samlp:Response>" + response())
    assert info.value.code == "xml_forbidden_construct"


@pytest.mark.parametrize(
    "xml",
    [
        pytest.param(response("<?evil data?>"), id="inside"),
        pytest.param(b'<?xml-stylesheet type="text/xsl" href="x.xsl"?>' + response(), id="before"),
        pytest.param(response() + b"<?evil?>", id="after"),
        pytest.param(response("<saml:Issuer>x<?evil?></saml:Issuer>"), id="in-text"),
        pytest.param(b'<?xml version="1.0"?><?evil?>' + response(), id="after-the-xml-declaration"),
        pytest.param(
            '<?xml version="1.0" encoding="UTF-16"?><?evil?>'.encode("utf-16")
            + response().decode().encode("utf-16")[2:],
            id="in-utf-16",
        ),
    ],
)
def test_a_processing_instruction_is_refused(verify: Verify, xml: bytes) -> None:
    """No SAML message has a use for a processing instruction."""
    with pytest.raises(samljit.SamlError) as info:
        verify(xml)
    assert info.value.code == "xml_forbidden_construct"


# --- XInclude ------------------------------------------------------------------------------


def resign_assertion(
    issued: IssuedResponse, idp: TestIdP, edit: Callable[[etree._Element], None]
) -> bytes:
    """The response with its assertion edited and signed again by the IdP's own key: what a
    compromised or careless IdP could send, so every check after the signature still runs."""
    root = etree.fromstring(issued.xml)
    assertion = root.find(f"{{{NS_SAML}}}Assertion")
    assert assertion is not None
    index = root.index(assertion)
    root.remove(assertion)
    old = assertion.find(f"{{{NS_DS}}}Signature")
    assert old is not None
    assertion.remove(old)
    edit(assertion)
    placeholder = etree.Element(f"{{{NS_DS}}}Signature", Id="placeholder", nsmap={"ds": NS_DS})
    assertion.insert(1, placeholder)
    signer = XMLSigner(
        signature_algorithm="rsa-sha256",
        digest_algorithm="sha256",
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(
        assertion, key=idp.key, cert=[idp.certificate], reference_uri=assertion.get("ID")
    )
    root.insert(index, signed)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_resigning_without_edits_verifies(
    verify: Verify, issued: IssuedResponse, test_idp: TestIdP
) -> None:
    """The helper below is sound: an unedited, re-signed assertion is accepted."""
    assert_content(verify(resign_assertion(issued, test_idp, lambda assertion: None)))


@pytest.mark.parametrize(
    "target", [pytest.param("/etc/hostname", id="hostname"), pytest.param("secret", id="tmp")]
)
def test_xinclude_is_never_processed(
    verify: Verify,
    issued: IssuedResponse,
    test_idp: TestIdP,
    secret_files: dict[str, str],
    target: str,
) -> None:
    """An xi:include in signed content stays an inert element: the file it names never
    becomes part of the NameID or an attribute value (or the response is refused)."""
    if target == "secret":
        href, content = secret_files["text"], SECRET
    elif Path(target).is_file():
        href, content = Path(target).as_uri(), Path(target).read_text().strip()
    else:
        pytest.skip(f"{target} does not exist on this machine")
    assert content

    def include(assertion: etree._Element) -> None:
        name_id = assertion.find(f"{{{NS_SAML}}}Subject/{{{NS_SAML}}}NameID")
        assert name_id is not None
        for parent in (name_id, *assertion.iter(f"{{{NS_SAML}}}AttributeValue")):
            etree.SubElement(parent, f"{{{NS_XI}}}include", href=href, parse="text")

    xml = resign_assertion(issued, test_idp, include)
    assert b"XInclude" in xml
    result = outcome(lambda: verify(xml))
    if isinstance(result, samljit.SamlError):
        assert content not in everything_said_about(result)
    else:
        values = [result.name_id.value, *(v for vs in result.attributes.values() for v in vs)]
        assert all(content not in value for value in values)
        assert result.name_id.value == NAME_ID


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2026-02-30T00:00:00Z",
        "yesterday",
    ],
)
@pytest.mark.parametrize("attribute", ["NotBefore", "NotOnOrAfter"])
def test_a_signed_time_off_the_calendar_is_a_samljit_error(
    verify: Verify, issued: IssuedResponse, test_idp: TestIdP, attribute: str, value: str
) -> None:
    """Even with a valid signature, a Conditions time that names no real instant is refused
    as malformed, never raised as an arithmetic error."""

    def set_time(assertion: etree._Element) -> None:
        conditions = assertion.find(f"{{{NS_SAML}}}Conditions")
        assert conditions is not None
        conditions.set(attribute, value)

    with pytest.raises(samljit.SamlError) as info:
        verify(resign_assertion(issued, test_idp, set_time))
    assert info.value.code == "malformed_response"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("0001-01-01T00:00:00Z", id="first-day"),
        pytest.param("9999-12-31T00:00:00Z", id="last-day"),
        pytest.param("0001-01-01T12:00:00.5Z", id="first-day-with-fraction"),
        pytest.param("9999-12-31T00:00:00+00:00", id="last-day-with-offset"),
    ],
)
@pytest.mark.parametrize("attribute", ["NotBefore", "NotOnOrAfter"])
def test_a_signed_time_on_the_first_or_last_day_of_the_calendar_is_refused(
    verify: Verify, issued: IssuedResponse, test_idp: TestIdP, attribute: str, value: str
) -> None:
    """Times are read only from 0001-01-02 to 9999-12-30, a day inside the calendar's ends,
    so that adding or subtracting a clock skew to any time samljit reads or returns cannot
    overflow."""

    def set_time(assertion: etree._Element) -> None:
        conditions = assertion.find(f"{{{NS_SAML}}}Conditions")
        assert conditions is not None
        conditions.set(attribute, value)

    with pytest.raises(samljit.SamlError) as info:
        verify(resign_assertion(issued, test_idp, set_time))
    assert info.value.code == "malformed_response"


def in_script(value: str, zero: str) -> str:
    """``value`` with each ASCII digit replaced by the digit of the script whose zero is
    ``zero`` (both are Unicode category Nd, which int() reads)."""
    return "".join(chr(ord(zero) + int(c)) if "0" <= c <= "9" else c for c in value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(in_script("2026-11-25T12:05:00Z", "\uff10"), id="fullwidth"),
        pytest.param(in_script("2026-11-25T12:05:00+00:00", "\uff10"), id="fullwidth-offset"),
        pytest.param(in_script("2026-11-25T12:05:00.5Z", "\u0660"), id="arabic-indic"),
    ],
)
def test_a_signed_time_with_digits_of_another_script_is_refused(
    verify: Verify, issued: IssuedResponse, test_idp: TestIdP, value: str
) -> None:
    """xs:dateTime digits are ASCII: fullwidth or Arabic-Indic digits are not read as a time,
    whatever int() makes of them."""

    def set_time(assertion: etree._Element) -> None:
        conditions = assertion.find(f"{{{NS_SAML}}}Conditions")
        assert conditions is not None
        conditions.set("NotOnOrAfter", value)

    with pytest.raises(samljit.SamlError) as info:
        verify(resign_assertion(issued, test_idp, set_time))
    assert info.value.code == "malformed_response"


# --- depth and node limits -----------------------------------------------------------------


def nested(depth: int) -> bytes:
    """A samlp:Response whose deepest element is at ``depth``."""
    inner = depth - 1
    return response("<a>" * inner + "</a>" * inner)


def test_nested_builds_the_depth_it_names() -> None:
    assert depth_of(nested(9)) == 9


def test_a_real_response_as_deep_as_the_limit_is_accepted(
    verify: Verify, issued: IssuedResponse
) -> None:
    assert_content(verify(issued.form_value, sp=limited_sp(max_depth=depth_of(issued.xml))))


def test_a_real_response_deeper_than_the_limit_is_refused(
    verify: Verify, issued: IssuedResponse
) -> None:
    with pytest.raises(samljit.SamlError) as info:
        verify(issued.form_value, sp=limited_sp(max_depth=depth_of(issued.xml) - 1))
    assert info.value.code == "xml_too_deep"


@pytest.mark.parametrize(("depth", "limit"), [(9, 8), (33, 32), (200, 32), (300, 32)])
def test_nesting_deeper_than_the_limit_is_refused(verify: Verify, depth: int, limit: int) -> None:
    with pytest.raises(samljit.SamlError) as info:
        verify(nested(depth), sp=limited_sp(max_depth=limit))
    assert info.value.code == "xml_too_deep"


@pytest.mark.parametrize(
    "xml",
    [
        pytest.param(("<a>" * 100_000).encode(), id="unclosed"),
        pytest.param(("<a>" * 100_000 + "</a>" * 100_000).encode(), id="closed"),
    ],
)
def test_a_100000_level_document_gives_a_samljit_error_quickly(verify: Verify, xml: bytes) -> None:
    """No recursion error, no crash, no minutes of work: with the byte limit out of the way,
    the depth limit refuses it."""
    start = time.perf_counter()
    with pytest.raises(samljit.SamlError) as info:
        verify(xml, sp=limited_sp(max_bytes=10 * len(xml)))
    assert info.value.code == "xml_too_deep"
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    ("encode", "code"),
    [
        pytest.param(lambda xml: xml, "xml_too_large", id="xml"),
        pytest.param(b64, "response_too_large", id="form-value"),
    ],
)
def test_a_100000_level_document_is_refused_under_default_limits(
    verify: Verify, encode: Callable[[bytes], bytes | str], code: str
) -> None:
    """700 KB of tags: over the default byte limit before its depth is even looked at."""
    xml = ("<a>" * 100_000 + "</a>" * 100_000).encode()
    with pytest.raises(samljit.SamlError) as info:
        verify(encode(xml))
    assert info.value.code == code


def test_a_generous_depth_limit_is_refused_or_honoured(
    verify: Verify, issued: IssuedResponse
) -> None:
    """A depth limit the parser cannot enforce is refused when configured
    (configuration_invalid), never turned into a crash on every login."""
    sp = outcome(lambda: limited_sp(max_depth=10_000))
    if isinstance(sp, samljit.SamlError):
        assert sp.code == "configuration_invalid"
    else:
        assert_content(verify(issued.form_value, sp=sp))


def test_a_real_response_with_as_many_nodes_as_the_limit_is_accepted(
    verify: Verify, issued: IssuedResponse
) -> None:
    assert_content(verify(issued.form_value, sp=limited_sp(max_nodes=nodes_of(issued.xml))))


def test_a_real_response_with_more_nodes_than_the_limit_is_refused(
    verify: Verify, issued: IssuedResponse
) -> None:
    with pytest.raises(samljit.SamlError) as info:
        verify(issued.form_value, sp=limited_sp(max_nodes=nodes_of(issued.xml) - 1))
    assert info.value.code == "xml_too_large"


@pytest.mark.parametrize(
    "xml",
    [
        pytest.param(response("<x/>" * 30_000), id="many-elements"),
        pytest.param(
            response("<x " + " ".join(f'a{i}=""' for i in range(25_000)) + "/>"),
            id="many-attributes",
        ),
        pytest.param(
            response("<saml:Attribute>" + "<v>1</v>" * 25_000 + "</saml:Attribute>"),
            id="many-attribute-values",
        ),
    ],
)
def test_more_nodes_than_the_default_limit_are_refused(verify: Verify, xml: bytes) -> None:
    """20,000 elements plus attributes by default: far beyond any real response."""
    assert len(xml) <= samljit.RESPONSE_LIMITS.max_bytes
    with pytest.raises(samljit.SamlError) as info:
        verify(xml)
    assert info.value.code == "xml_too_large"


@pytest.mark.parametrize("element", [b"<a/>", b"<a></a>", b"<a>&lt;/</a>"])
def test_the_node_limit_holds_for_the_densest_document(verify: Verify, element: bytes) -> None:
    """Four bytes per element ("<a/>") is as dense as XML gets: the node count, skipped only
    for documents too small to exceed the limit, is never skipped for this one, nor when end
    tags ("</", which open no element) are taken off the bound."""
    xml = b"<r>" + element * 1000 + b"</r>"
    assert nodes_of(xml) == 1001
    with pytest.raises(samljit.SamlError) as info:
        verify(xml, sp=limited_sp(max_nodes=1000))
    assert info.value.code == "xml_too_large"


# --- a root that is not a samlp:Response ---------------------------------------------------


def bare_assertion(issued: IssuedResponse) -> bytes:
    root = etree.fromstring(issued.xml)
    assertion = root.find(f"{{{NS_SAML}}}Assertion")
    assert assertion is not None
    return etree.tostring(assertion)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(bare_assertion, id="signed-assertion-alone"),
        pytest.param(
            lambda _: (
                b'<samlp:LogoutResponse xmlns:samlp="' + NS_SAMLP.encode() + b'" '
                b'ID="_l" Version="2.0" IssueInstant="2026-11-25T12:00:00Z"/>'
            ),
            id="logout-response",
        ),
        pytest.param(
            lambda _: (
                b'<samlp:AuthnRequest xmlns:samlp="' + NS_SAMLP.encode() + b'" '
                b'ID="_q" Version="2.0" IssueInstant="2026-11-25T12:00:00Z"/>'
            ),
            id="authn-request",
        ),
        pytest.param(
            lambda issued: issued.xml.replace(
                NS_SAMLP.encode(), b"urn:oasis:names:tc:SAML:1.0:protocol"
            ),
            id="saml-1-response",
        ),
        pytest.param(lambda _: b'<Response ID="_r" Version="2.0"/>', id="no-namespace"),
        pytest.param(
            lambda issued: (
                b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
                b"<s:Body>" + issued.xml.split(b"?>", 1)[1] + b"</s:Body></s:Envelope>"
            ),
            id="soap-envelope",
        ),
        pytest.param(lambda _: b"<html><body>Sign in</body></html>", id="html-page"),
        pytest.param(
            lambda _: (
                b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
                b'entityID="https://idp.example.test/metadata"/>'
            ),
            id="metadata",
        ),
    ],
)
def test_a_root_other_than_samlp_response_is_refused(
    verify: Verify, issued: IssuedResponse, make: Callable[[IssuedResponse], bytes]
) -> None:
    """The ACS accepts one message: a SAML 2.0 samlp:Response (SAML core 3.3.3)."""
    xml = make(issued)
    for message in (xml, b64(xml)):
        with pytest.raises(samljit.SamlError) as info:
            verify(message)
        assert info.value.code == "malformed_response"


# --- character encodings -------------------------------------------------------------------


def reencoded(issued: IssuedResponse, encoding: str, declared: str, bom: bytes = b"") -> bytes:
    body = issued.xml.decode("utf-8").split("?>", 1)[1]
    return bom + (f'<?xml version="1.0" encoding="{declared}"?>' + body).encode(encoding)


@pytest.mark.parametrize(
    ("encoding", "declared", "bom"),
    [
        pytest.param("utf-16", "UTF-16", b"", id="utf-16-native-bom"),
        pytest.param("utf-16-le", "UTF-16", b"\xff\xfe", id="utf-16le-bom"),
        pytest.param("utf-16-be", "UTF-16", b"\xfe\xff", id="utf-16be-bom"),
        pytest.param("utf-8", "UTF-8", b"\xef\xbb\xbf", id="utf-8-bom"),
        pytest.param("utf-16-le", "UTF-16", b"", id="utf-16le-no-bom"),
        pytest.param("utf-16-be", "UTF-16", b"", id="utf-16be-no-bom"),
    ],
)
def test_utf16_and_bom_input_is_read_to_the_same_assertion(
    verify: Verify, issued: IssuedResponse, encoding: str, declared: str, bom: bytes
) -> None:
    """XML 1.0 (4.3.3) requires UTF-16 support; the signature covers the canonical UTF-8
    form, so re-encoding the message changes nothing that was signed."""
    xml = reencoded(issued, encoding, declared, bom)
    assert_content(verify(xml))
    assert_content(verify(b64(xml)))


def test_a_misdeclared_encoding_is_refused(verify: Verify, issued: IssuedResponse) -> None:
    """UTF-8 bytes that claim to be UTF-16 are not guessed at."""
    with pytest.raises(samljit.SamlError) as info:
        verify(reencoded(issued, "utf-8", "UTF-16"))
    assert info.value.code == "xml_malformed"


@pytest.mark.parametrize(
    "hidden_doctype", [pytest.param(False, id="genuine"), pytest.param(True, id="with-doctype")]
)
def test_a_response_in_utf7_is_refused_before_parsing(
    verify: Verify, issued: IssuedResponse, hidden_doctype: bool
) -> None:
    """UTF-7 spells "<!DOCTYPE" as "+ADw-!DOCTYPE", which no byte scan sees, and libxml2 reads
    it: only encodings the pre-parse checks can read are accepted, so even a genuine response
    in UTF-7 is refused as malformed before the parser sees it."""
    body = issued.xml.decode("utf-8").split("?>", 1)[1]
    doctype = "<!DOCTYPE samlp:Response>" if hidden_doctype else ""
    xml = ('<?xml version="1.0" encoding="UTF-7"?>' + doctype + body).encode("utf-7")
    xml = xml.replace(b"<!DOCTYPE", b"+ADw-!DOCTYPE")  # "<" in UTF-7's base64 form
    assert b"<!DOCTYPE" not in xml
    with pytest.raises(samljit.SamlError) as info:
        verify(xml)
    assert info.value.code == "xml_malformed"


@pytest.mark.parametrize("padding", [600, 5000])
def test_an_encoding_declared_after_long_whitespace_is_still_checked(
    verify: Verify, issued: IssuedResponse, padding: int
) -> None:
    """XML allows any amount of whitespace between the declaration's pseudo-attributes
    (XML 1.0 production 23): the allow-list reads the whole declaration, and one too long to
    read is refused, so padding cannot carry UTF-7 past it."""
    body = issued.xml.decode("utf-8").split("?>", 1)[1]
    declaration = '<?xml version="1.0"' + " " * padding + 'encoding="UTF-7"?>'
    with pytest.raises(samljit.SamlError) as info:
        verify((declaration + body).encode("utf-7"))
    assert info.value.code == "xml_malformed"
