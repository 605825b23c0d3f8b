"""The IdP metadata lifecycle: signed metadata, fetching, caching and refreshing, keeping the
last good copy through every fault, key rollover, and expiry monitoring.

Fault tests run a real HTTP(S) server on 127.0.0.1 (``metadata_server``) whose routes serve
metadata or misbehave: a stall, a trickle, a 500, garbage, an oversized body, a document signed
by the wrong key, a redirect off https. Timeouts are 0.3 s; nothing sleeps longer than that.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import CanonicalizationMethod
from signxml.signer import XMLSigner

import samljit
from samljit._certificates import load_certificate
from samljit._time import parse_duration as _parse_duration
from samljit.testing import TestIdP, make_certificate
from tests.conftest import ACS_URL, INTEROP, NOW, SP_ENTITY_ID
from tests.fuzz.certificates import ODD_VARIANTS, odd_certificates, with_certificate

ENTITY_ID = "https://idp.lifecycle.test/metadata"
NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
TIMEOUT = 0.3
VENDOR = INTEROP / "metadata"
SIGNED_VENDOR_FILES = [
    "adfs-federationmetadata-signed.xml",
    "entra-id-federationmetadata-signed.xml",
    "sustainsys-stubidp-signed-validuntil.xml",
]


# --- keys and documents ------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    idp_a: TestIdP
    """The IdP with its current signing key."""
    idp_b: TestIdP
    """The same IdP entity with its next key (rollover)."""
    signer: tuple[Any, x509.Certificate]
    """The pinned metadata signing key (a federation operator's, or the IdP's)."""
    signer_next: tuple[Any, x509.Certificate]
    wrong: tuple[Any, x509.Certificate]
    """A key nobody pinned."""


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        idp_a=TestIdP(ENTITY_ID),
        idp_b=TestIdP(ENTITY_ID),
        signer=make_certificate(common_name="metadata signer"),
        signer_next=make_certificate(common_name="metadata signer (next)"),
        wrong=make_certificate(common_name="attacker"),
    )


def with_attributes(xml: bytes, **attributes: str) -> bytes:
    """``xml`` with attributes set on its root element (ID, cacheDuration, validUntil)."""
    root = etree.fromstring(xml)
    for name, value in attributes.items():
        root.set(name, value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


class _Sha1Signer(XMLSigner):
    def check_deprecated_methods(self) -> None:
        return None


def sign(xml: bytes, key_and_cert: tuple[Any, x509.Certificate], *, alg: str = "sha256") -> bytes:
    """Enveloped RSA signature of the root element, referencing its ID, as IdPs sign metadata."""
    key, cert = key_and_cert
    root = etree.fromstring(xml)
    if root.get("ID") is None:
        root.set("ID", "_md" + base64.b16encode(cert.fingerprint(hashes.SHA256())[:8]).decode())
    # The schema puts ds:Signature first; signxml fills a placeholder where it is.
    root.insert(0, etree.Element(f"{{{NS_DS}}}Signature", Id="placeholder", nsmap={"ds": NS_DS}))
    signer = _Sha1Signer(
        signature_algorithm=f"rsa-{alg}",
        digest_algorithm=alg,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(root, key=key, cert=[cert], reference_uri=root.get("ID"))
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def aggregate(*entities: bytes, name: str = "https://federation.test") -> bytes:
    root = etree.Element(f"{{{NS_MD}}}EntitiesDescriptor", nsmap={"md": NS_MD}, Name=name)
    root.set("ID", "_aggregate")
    for entity in entities:
        root.append(etree.fromstring(entity))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def expiring_idp(not_after: datetime) -> TestIdP:
    key, cert = make_certificate(not_after=not_after)
    return TestIdP(ENTITY_ID, key=key, certificate=cert)


# --- a stub fetcher (no network) ---------------------------------------------------------


class StubFetcher:
    """Returns ``body`` or raises ``error``; records each call."""

    def __init__(self, body: bytes | None = None, error: BaseException | None = None) -> None:
        self.body = body
        self.error = error
        self.calls: list[tuple[str, float, int]] = []

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> bytes:
        self.calls.append((url, timeout, max_bytes))
        if self.error is not None:
            raise self.error
        assert self.body is not None
        return self.body


URL = "https://idp.lifecycle.test/metadata.xml"


def stub_source(body: bytes, **options: Any) -> tuple[samljit.MetadataSource, StubFetcher]:
    fetcher = StubFetcher(body)
    return samljit.MetadataSource(URL, fetcher=fetcher, **options), fetcher


# --- a metadata server on 127.0.0.1 ------------------------------------------------------


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    stall: float = 0.0
    """Seconds to wait before answering at all."""
    trickle: float | None = None
    """Send the body one byte per this many seconds."""
    send_length: bool = True


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.hits[self.path] += 1
        route = owner.routes.get(self.path, Route(status=404, body=b"not found"))
        if route.stall and owner.stopping.wait(route.stall):
            return
        self.send_response(route.status)
        for name, value in route.headers.items():
            self.send_header(name, value)
        if route.send_length:
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if route.trickle is None:
            self.wfile.write(route.body)
            return
        for index in range(len(route.body)):
            if owner.stopping.wait(route.trickle):
                return
            self.wfile.write(route.body[index : index + 1])

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: MetadataServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # the client gave up (a timeout test): expected


class MetadataServer:
    """An HTTP (or HTTPS) server in a thread, serving ``routes`` by path."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self._server.server_address[1]}{path}"

    def serve(self, path: str, body: bytes = b"", **route: Any) -> str:
        self.routes[path] = Route(body=body, **route)
        return self.url(path)

    def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def metadata_server() -> Iterator[MetadataServer]:
    server = MetadataServer()
    yield server
    server.stop()


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A test CA and a certificate for 127.0.0.1 signed by it; the client trusts only the CA."""
    start, end = datetime(2020, 1, 1, tzinfo=UTC), datetime(2045, 1, 1, tzinfo=UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "samljit test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    (directory / "cert.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    client = ssl.create_default_context(
        cadata=ca.public_bytes(serialization.Encoding.PEM).decode("ascii")
    )
    return Tls(server=server, client=client)


@pytest.fixture
def https_server(tls: Tls) -> Iterator[MetadataServer]:
    server = MetadataServer(tls=tls.server)
    yield server
    server.stop()


def http_source(url: str, **options: Any) -> samljit.MetadataSource:
    options.setdefault("timeout", TIMEOUT)
    return samljit.MetadataSource(url, allow_http=True, allow_private_addresses=True, **options)


@pytest.fixture
def served(
    metadata_server: MetadataServer, keys: Keys
) -> tuple[MetadataServer, samljit.MetadataSource]:
    """A server publishing IdP A's metadata and a source that has loaded it once."""
    url = metadata_server.serve("/metadata", keys.idp_a.metadata_xml)
    source = http_source(url)
    assert source.refresh(now=NOW).ok
    return metadata_server, source


def assert_kept(source: samljit.MetadataSource, keys: Keys) -> None:
    """The good copy is still the one in use, and logins can still be verified with it."""
    assert source.idp is not None
    assert source.idp.signing_certificates == (keys.idp_a.certificate,)
    assert source.current(now=NOW) is source.idp


# === signed metadata (parse_idp_metadata(signing_certificates=...)) ========================


def test_signed_metadata_is_accepted_with_the_pinned_certificate(keys: Keys) -> None:
    signed = sign(keys.idp_a.metadata_xml, keys.signer)
    parsed = samljit.parse_idp_metadata(signed, now=NOW, signing_certificates=[keys.signer[1]])
    assert parsed.idp.entity_id == ENTITY_ID
    assert parsed.idp.signing_certificates == (keys.idp_a.certificate,)


def test_any_one_of_several_pinned_certificates_may_have_signed(keys: Keys) -> None:
    """The metadata signer can roll its own key over: pin the old and the new one."""
    signed = sign(keys.idp_a.metadata_xml, keys.signer_next)
    pinned = [keys.signer[1], keys.signer_next[1]]
    parsed = samljit.parse_idp_metadata(signed, now=NOW, signing_certificates=pinned)
    assert parsed.idp.entity_id == ENTITY_ID


def test_metadata_signed_by_another_key_is_refused(keys: Keys) -> None:
    signed = sign(keys.idp_a.metadata_xml, keys.wrong)
    with pytest.raises(samljit.errors.MetadataSignatureInvalid) as caught:
        samljit.parse_idp_metadata(signed, now=NOW, signing_certificates=[keys.signer[1]])
    assert caught.value.code == "metadata_signature_invalid"
    assert caught.value.expected == [samljit.metadata.certificate_sha256(keys.signer[1])]
    assert caught.value.found == samljit.metadata.certificate_sha256(keys.wrong[1])


def test_unsigned_metadata_is_refused_when_a_signer_is_pinned(keys: Keys) -> None:
    with pytest.raises(samljit.errors.MetadataSignatureInvalid) as caught:
        samljit.parse_idp_metadata(
            keys.idp_a.metadata_xml, now=NOW, signing_certificates=[keys.signer[1]]
        )
    assert caught.value.code == "metadata_signature_invalid"


def test_metadata_changed_after_signing_is_refused(keys: Keys) -> None:
    signed = sign(keys.idp_a.metadata_xml, keys.signer)
    tampered = signed.replace(b"https://idp.example.test/sso", b"https://evil.example/sso")
    assert tampered != signed
    with pytest.raises(samljit.errors.MetadataSignatureInvalid) as caught:
        samljit.parse_idp_metadata(tampered, now=NOW, signing_certificates=[keys.signer[1]])
    assert caught.value.code == "metadata_signature_invalid"


def test_a_signature_that_does_not_reference_the_root_is_refused(keys: Keys) -> None:
    signed = sign(keys.idp_a.metadata_xml, keys.signer)
    moved = with_attributes(signed, ID="_another_id")
    with pytest.raises(samljit.errors.MetadataSignatureInvalid) as caught:
        samljit.parse_idp_metadata(moved, now=NOW, signing_certificates=[keys.signer[1]])
    assert caught.value.code == "metadata_signature_invalid"


def test_sha1_signed_metadata_is_refused(keys: Keys) -> None:
    signed = sign(keys.idp_a.metadata_xml, keys.signer, alg="sha1")
    with pytest.raises(samljit.errors.MetadataSignatureInvalid) as caught:
        samljit.parse_idp_metadata(signed, now=NOW, signing_certificates=[keys.signer[1]])
    assert caught.value.code == "metadata_signature_invalid"


def test_a_signed_aggregate_yields_the_entity_chosen_by_id(keys: Keys) -> None:
    other = TestIdP("https://other-idp.test/metadata", certificate=keys.wrong[1], key=keys.wrong[0])
    signed = sign(aggregate(keys.idp_a.metadata_xml, other.metadata_xml), keys.signer)
    parsed = samljit.parse_idp_metadata(
        signed, entity_id=ENTITY_ID, now=NOW, signing_certificates=[keys.signer[1]]
    )
    assert parsed.idp.signing_certificates == (keys.idp_a.certificate,)


def test_a_non_metadata_document_is_invalid_before_its_signature_is_checked(keys: Keys) -> None:
    with pytest.raises(samljit.errors.MetadataInvalid) as caught:
        samljit.parse_idp_metadata(
            b"<html><body>login</body></html>", signing_certificates=[keys.signer[1]]
        )
    assert caught.value.code == "metadata_invalid"


def test_without_pinned_certificates_the_metadata_signature_is_not_checked(keys: Keys) -> None:
    signed = sign(keys.idp_a.metadata_xml, keys.wrong)
    assert samljit.parse_idp_metadata(signed, now=NOW).idp.entity_id == ENTITY_ID


# --- real signed vendor metadata ---------------------------------------------------------


def _keyinfo_certificate(data: bytes) -> x509.Certificate:
    root = etree.fromstring(data)
    text = root.find(f"{{{NS_DS}}}Signature/{{{NS_DS}}}KeyInfo//{{{NS_DS}}}X509Certificate")
    assert text is not None
    assert text.text is not None
    # load_certificate: the Sustainsys certificate has a zero serial number, which cryptography
    # warns about.
    return load_certificate(base64.b64decode("".join(text.text.split())))


@pytest.mark.parametrize("name", SIGNED_VENDOR_FILES)
def test_real_signed_metadata_is_signed_by_the_idp_signing_certificate_it_lists(
    name: str,
) -> None:
    """AD FS, Entra ID and the Sustainsys stub IdP sign their metadata with the same key
    they sign responses with; the KeyInfo names it."""
    data = (VENDOR / name).read_bytes()
    idp = samljit.parse_idp_metadata(data, now=NOW).idp
    assert _keyinfo_certificate(data) in idp.signing_certificates


@pytest.mark.parametrize("name", SIGNED_VENDOR_FILES)
def test_real_signed_files_as_stored_do_not_verify_because_they_were_reindented(
    name: str,
) -> None:
    """The stored copies were pretty-printed after signing (whitespace inside SignedInfo),
    which breaks an XML signature: exactly what a pinned signer must catch."""
    data = (VENDOR / name).read_bytes()
    with pytest.raises(samljit.errors.MetadataSignatureInvalid) as caught:
        samljit.parse_idp_metadata(data, now=NOW, signing_certificates=[_keyinfo_certificate(data)])
    assert caught.value.code == "metadata_signature_invalid"


def _unindented(data: bytes) -> bytes:
    return re.sub(rb">\s+<", b"><", data)


def test_real_sustainsys_metadata_verifies_once_the_reindentation_is_undone() -> None:
    """With the whitespace between elements removed, the Sustainsys document is byte for byte
    what was signed: its RSA-SHA256 signature verifies with its certificate."""
    data = _unindented((VENDOR / SIGNED_VENDOR_FILES[2]).read_bytes())
    parsed = samljit.parse_idp_metadata(
        data, now=NOW, signing_certificates=[_keyinfo_certificate(data)]
    )
    assert parsed.idp.entity_id == "https://stubidp.sustainsys.com/Metadata"


def test_real_sustainsys_metadata_does_not_verify_with_another_certificate(keys: Keys) -> None:
    data = _unindented((VENDOR / SIGNED_VENDOR_FILES[2]).read_bytes())
    with pytest.raises(samljit.errors.MetadataSignatureInvalid) as caught:
        samljit.parse_idp_metadata(data, now=NOW, signing_certificates=[keys.signer[1]])
    assert caught.value.code == "metadata_signature_invalid"


# === xs:duration ==========================================================================


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT6H", timedelta(hours=6)),
        ("P1D", timedelta(days=1)),
        ("PT15M", timedelta(minutes=15)),
        ("P1DT2H30M", timedelta(days=1, hours=2, minutes=30)),
        ("PT0.5S", timedelta(seconds=0.5)),
        ("PT90S", timedelta(seconds=90)),
        ("P1Y", timedelta(days=365)),
        ("P2M", timedelta(days=60)),
        (" PT1H ", timedelta(hours=1)),
        ("P0D", timedelta(0)),
        ("P99999999999999999999Y", timedelta.max),
    ],
)
def test_cache_duration_is_read_as_an_xs_duration(text: str, expected: timedelta) -> None:
    assert _parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "P", "PT", "P1DT", "6H", "PT6", "P1H", "-P1D", "P1.5D", "PT1H30", "p1d", "P\u0661D"],
)
def test_a_value_that_is_not_an_xs_duration_is_refused(text: str) -> None:
    assert _parse_duration(text) is None


# === refresh schedule (stub fetcher, no network) ==========================================


def test_cache_duration_sets_when_the_copy_is_due_again(keys: Keys) -> None:
    source, _ = stub_source(with_attributes(keys.idp_a.metadata_xml, cacheDuration="PT2H"))
    result = source.refresh(now=NOW)
    assert result.next_refresh == NOW + timedelta(hours=2)


def test_without_cache_duration_the_default_interval_applies(keys: Keys) -> None:
    source, _ = stub_source(keys.idp_a.metadata_xml, refresh_interval=timedelta(hours=3))
    assert source.refresh(now=NOW).next_refresh == NOW + timedelta(hours=3)


def test_valid_until_brings_the_refresh_forward(keys: Keys) -> None:
    """A copy is refreshed three quarters of the way to its validUntil, before it expires."""
    xml = keys.idp_a.metadata(valid_until=NOW + timedelta(hours=4))
    source, _ = stub_source(with_attributes(xml, cacheDuration="P1D"))
    assert source.refresh(now=NOW).next_refresh == NOW + timedelta(hours=3)


def test_a_tiny_cache_duration_is_raised_to_the_minimum_interval(keys: Keys) -> None:
    source, _ = stub_source(
        with_attributes(keys.idp_a.metadata_xml, cacheDuration="PT1S"),
        min_refresh_interval=timedelta(minutes=10),
    )
    assert source.refresh(now=NOW).next_refresh == NOW + timedelta(minutes=10)


def test_a_huge_cache_duration_is_capped_at_the_maximum_interval(keys: Keys) -> None:
    source, _ = stub_source(
        with_attributes(keys.idp_a.metadata_xml, cacheDuration="P9999Y"),
        max_refresh_interval=timedelta(hours=12),
    )
    assert source.refresh(now=NOW).next_refresh == NOW + timedelta(hours=12)


def test_an_invalid_cache_duration_warns_and_uses_the_default(keys: Keys) -> None:
    source, _ = stub_source(
        with_attributes(keys.idp_a.metadata_xml, cacheDuration="six hours"),
        refresh_interval=timedelta(hours=6),
    )
    result = source.refresh(now=NOW)
    assert result.ok
    assert [w.code for w in result.warnings] == ["cache_duration_invalid"]
    assert result.next_refresh == NOW + timedelta(hours=6)


def test_a_url_source_is_due_before_its_first_refresh(keys: Keys) -> None:
    source, _ = stub_source(keys.idp_a.metadata_xml)
    assert source.refresh_due(NOW)


def test_a_fresh_copy_is_not_due_until_its_refresh_time(keys: Keys) -> None:
    source, _ = stub_source(with_attributes(keys.idp_a.metadata_xml, cacheDuration="PT1H"))
    source.refresh(now=NOW)
    assert not source.refresh_due(NOW + timedelta(minutes=59))
    assert source.refresh_due(NOW + timedelta(hours=1))


def test_current_fetches_only_when_the_copy_is_due(keys: Keys) -> None:
    source, fetcher = stub_source(with_attributes(keys.idp_a.metadata_xml, cacheDuration="PT1H"))
    source.current(now=NOW)
    source.current(now=NOW + timedelta(minutes=30))
    assert len(fetcher.calls) == 1
    source.current(now=NOW + timedelta(hours=1))
    assert len(fetcher.calls) == 2


def test_after_a_failure_the_source_waits_the_retry_interval(keys: Keys) -> None:
    source, fetcher = stub_source(keys.idp_a.metadata_xml, retry_interval=timedelta(minutes=5))
    source.refresh(now=NOW)
    fetcher.error = samljit.errors.MetadataFetchFailed("down", found="unreachable")
    result = source.refresh(now=NOW + timedelta(hours=7))
    assert result.next_refresh == NOW + timedelta(hours=7, minutes=5)
    source.current(now=NOW + timedelta(hours=7, minutes=4))
    assert len(fetcher.calls) == 2


def _fail_in_a_row(source: samljit.MetadataSource, times: int, start: datetime) -> list[timedelta]:
    """Let ``source`` fail ``times`` refreshes in a row, each when due; the waits it chose."""
    waits, now = [], start
    for _ in range(times):
        result = source.refresh(now=now)
        assert result.next_refresh is not None
        waits.append(result.next_refresh - now)
        now = result.next_refresh
    return waits


def test_each_failure_in_a_row_doubles_the_wait_up_to_the_maximum(keys: Keys) -> None:
    source, fetcher = stub_source(
        keys.idp_a.metadata_xml,
        retry_interval=timedelta(minutes=5),
        max_retry_interval=timedelta(minutes=30),
    )
    source.refresh(now=NOW)
    fetcher.error = samljit.errors.MetadataFetchFailed("down", found="unreachable")
    assert _fail_in_a_row(source, 5, NOW + timedelta(hours=7)) == [
        timedelta(minutes=m) for m in (5, 10, 20, 30, 30)
    ]


def test_a_good_refresh_starts_the_back_off_over(keys: Keys) -> None:
    source, fetcher = stub_source(keys.idp_a.metadata_xml, retry_interval=timedelta(minutes=5))
    fetcher.error = samljit.errors.MetadataFetchFailed("down", found="unreachable")
    _fail_in_a_row(source, 3, NOW)
    fetcher.error = None
    assert source.refresh(now=NOW + timedelta(hours=1)).ok
    fetcher.error = samljit.errors.MetadataFetchFailed("down", found="unreachable")
    assert _fail_in_a_row(source, 1, NOW + timedelta(hours=8)) == [timedelta(minutes=5)]


def test_a_source_that_never_loaded_backs_off_too(keys: Keys) -> None:
    """Without a copy every login raises, but only a due source fetches again."""
    source, fetcher = stub_source(b"<html>maintenance</html>", retry_interval=timedelta(minutes=5))
    for minute in range(0, 15):
        with pytest.raises(samljit.errors.MetadataInvalid):
            source.current(now=NOW + timedelta(minutes=minute))
    assert len(fetcher.calls) == 2  # at 0, then at 5; the next is due at 15


def test_the_longest_wait_cannot_be_shorter_than_the_first() -> None:
    with pytest.raises(samljit.ConfigError) as caught:
        samljit.MetadataSource(
            URL, retry_interval=timedelta(hours=2), max_retry_interval=timedelta(hours=1)
        )
    assert caught.value.code == "configuration_invalid"


@pytest.mark.parametrize(
    "exception",
    [RuntimeError("a bug"), RecursionError(), KeyError("x"), ValueError("x")],
    ids=["runtime", "recursion", "key", "value"],
)
def test_any_exception_while_reading_a_document_keeps_the_good_copy(
    keys: Keys, monkeypatch: pytest.MonkeyPatch, exception: Exception
) -> None:
    """Whatever a document makes the parser raise, refresh() reports it and does not raise."""
    source, fetcher = stub_source(keys.idp_a.metadata_xml)
    source.refresh(now=NOW)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise exception

    monkeypatch.setattr(samljit.metadata_source, "parse_idp_metadata", broken)
    result = source.refresh(now=NOW + timedelta(hours=7))
    assert (result.ok, result.code, result.serving) == (False, "metadata_invalid", True)
    assert result.error is not None
    assert result.error.__cause__ is exception
    assert source.current(now=NOW + timedelta(hours=7, minutes=4)) is source.idp
    assert len(fetcher.calls) == 2  # no fetch on the login after the failure
    assert_kept(source, keys)


@pytest.mark.parametrize("variant", ODD_VARIANTS)
def test_a_document_with_an_unreadable_certificate_keeps_the_good_copy(
    keys: Keys, variant: str
) -> None:
    source, fetcher = stub_source(keys.idp_a.metadata_xml)
    source.refresh(now=NOW)
    odd = odd_certificates(keys.idp_a.certificate)[variant]
    fetcher.body = with_certificate(keys.idp_a.metadata_xml, odd)
    result = source.refresh(now=NOW)
    assert (result.ok, result.code, result.serving) == (False, "metadata_bad_certificate", True)
    assert_kept(source, keys)


def test_time_must_be_timezone_aware(keys: Keys) -> None:
    source, _ = stub_source(keys.idp_a.metadata_xml)
    with pytest.raises(samljit.ConfigError) as caught:
        source.refresh(now=datetime(2026, 11, 25, 12, 0))  # noqa: DTZ001 - the naive value refused
    assert caught.value.code == "configuration_invalid"


# === what a source accepts and keeps (stub fetcher) =======================================


def test_the_first_good_document_is_used(keys: Keys) -> None:
    source, _ = stub_source(keys.idp_a.metadata_xml)
    result = source.refresh(now=NOW)
    assert (result.ok, result.code, result.changed, result.serving) == (
        True,
        "metadata_updated",
        True,
        True,
    )
    assert source.current(now=NOW).entity_id == ENTITY_ID


def test_the_same_document_again_is_reported_unchanged(keys: Keys) -> None:
    source, _ = stub_source(keys.idp_a.metadata_xml)
    source.refresh(now=NOW)
    result = source.refresh(now=NOW + timedelta(hours=7))
    assert (result.ok, result.code, result.changed) == (True, "metadata_unchanged", False)
    assert source.fetched_at == NOW + timedelta(hours=7)


def test_the_fetcher_gets_the_url_timeout_and_size_limit(keys: Keys) -> None:
    limits = samljit.Limits(max_bytes=100_000, max_depth=64, max_nodes=10_000)
    source, fetcher = stub_source(keys.idp_a.metadata_xml, timeout=2.5, limits=limits)
    source.refresh(now=NOW)
    assert fetcher.calls == [(URL, 2.5, 100_000)]


def test_any_exception_from_a_custom_fetcher_is_a_fetch_failure(keys: Keys) -> None:
    source, fetcher = stub_source(keys.idp_a.metadata_xml)
    source.refresh(now=NOW)
    fetcher.error = RuntimeError("the HTTP client broke")
    result = source.refresh(now=NOW)
    assert (result.ok, result.code, result.serving) == (False, "metadata_fetch_failed", True)
    assert_kept(source, keys)


def test_a_body_over_the_limit_is_refused_even_if_the_fetcher_returns_it(keys: Keys) -> None:
    limits = samljit.Limits(max_bytes=2_000, max_depth=64, max_nodes=10_000)
    source, _ = stub_source(keys.idp_a.metadata_xml + b" " * 2_000, limits=limits)
    result = source.refresh(now=NOW)
    assert (result.code, result.error and result.error.found) == (
        "metadata_fetch_failed",
        "too_large",
    )


def test_a_fetcher_that_returns_text_is_a_fetch_failure(keys: Keys) -> None:
    source, fetcher = stub_source(keys.idp_a.metadata_xml)
    fetcher.body = keys.idp_a.metadata_xml.decode()  # type: ignore[assignment]
    assert source.refresh(now=NOW).code == "metadata_fetch_failed"


def test_a_failure_is_recorded_with_a_warning_carrying_its_code(keys: Keys) -> None:
    source, fetcher = stub_source(keys.idp_a.metadata_xml)
    source.refresh(now=NOW)
    fetcher.body = b"<html>maintenance</html>"
    result = source.refresh(now=NOW)
    assert [w.code for w in result.warnings] == ["metadata_invalid"]
    assert isinstance(result.warnings[0], samljit.SamlWarning)
    assert source.last_result is result


def test_a_document_for_another_entity_does_not_replace_the_idp(keys: Keys) -> None:
    """Without entity_id, the source stays with the IdP it first loaded."""
    source, fetcher = stub_source(keys.idp_a.metadata_xml)
    source.refresh(now=NOW)
    fetcher.body = TestIdP("https://intruder.test/idp").metadata_xml
    assert source.refresh(now=NOW).code == "metadata_entity_not_found"
    assert_kept(source, keys)


def test_sp_metadata_does_not_replace_the_idp(keys: Keys) -> None:
    """The SP's own metadata served by mistake is another entity than the IdP's."""
    source, fetcher = stub_source(keys.idp_a.metadata_xml)
    source.refresh(now=NOW)
    fetcher.body = samljit.messages.build_sp_metadata(entity_id=SP_ENTITY_ID, acs_url=ACS_URL)
    assert source.refresh(now=NOW).code == "metadata_entity_not_found"
    assert_kept(source, keys)


def test_an_expired_document_does_not_replace_a_valid_copy(keys: Keys) -> None:
    """An expired document may be an old one replayed (metadata 2.3.1)."""
    source, fetcher = stub_source(keys.idp_a.metadata(valid_until=NOW + timedelta(days=2)))
    source.refresh(now=NOW)
    fetcher.body = keys.idp_b.metadata(valid_until=NOW - timedelta(days=1))
    assert source.refresh(now=NOW).code == "metadata_expired"
    assert_kept(source, keys)


def test_an_expired_document_is_used_when_there_is_nothing_better(keys: Keys) -> None:
    source, _ = stub_source(keys.idp_a.metadata(valid_until=NOW - timedelta(days=1)))
    result = source.refresh(now=NOW)
    assert result.ok
    assert "metadata_expired" in [w.code for w in result.warnings]


def test_entity_id_picks_the_idp_out_of_an_aggregate() -> None:
    data = (VENDOR / "two-idp-entities-in-entitiesdescriptor.xml").read_bytes()
    wanted = re.findall(rb'entityID="([^"]+)"', data)[1].decode()
    source, _ = stub_source(data, entity_id=wanted)
    assert source.current(now=NOW).entity_id == wanted


def test_sp_metadata_is_not_taken_as_the_first_copy() -> None:
    source, _ = stub_source(
        samljit.messages.build_sp_metadata(entity_id=SP_ENTITY_ID, acs_url=ACS_URL)
    )
    assert source.refresh(now=NOW).code == "metadata_is_sp"


def test_an_aggregate_without_entity_id_is_ambiguous() -> None:
    data = (VENDOR / "two-idp-entities-in-entitiesdescriptor.xml").read_bytes()
    source, _ = stub_source(data)
    assert source.refresh(now=NOW).code == "metadata_ambiguous"


def test_current_raises_the_failure_when_no_copy_was_ever_good() -> None:
    source, _ = stub_source(b"not xml")
    with pytest.raises(samljit.errors.MetadataInvalid) as caught:
        source.current(now=NOW)
    assert caught.value.code == "metadata_invalid"


def test_the_stored_copy_can_be_loaded_after_a_restart(keys: Keys) -> None:
    """Persist ``source.xml``; a new process loads it and logins work while the IdP is down."""
    first, _ = stub_source(keys.idp_a.metadata_xml)
    first.refresh(now=NOW)
    stored = first.xml
    assert stored is not None
    restarted, fetcher = stub_source(b"", retry_interval=timedelta(minutes=5))
    fetcher.error = samljit.errors.MetadataFetchFailed("down", found="unreachable")
    assert restarted.load(stored, now=NOW).ok
    assert restarted.current(now=NOW).signing_certificates == (keys.idp_a.certificate,)


def test_pasted_metadata_is_used_and_never_due(keys: Keys) -> None:
    source = samljit.MetadataSource.from_xml(keys.idp_a.metadata_xml, now=NOW)
    assert source.current(now=NOW).entity_id == ENTITY_ID
    assert not source.refresh_due(NOW + timedelta(days=365))


def test_pasted_metadata_has_nothing_to_refresh_from(keys: Keys) -> None:
    source = samljit.MetadataSource.from_xml(keys.idp_a.metadata_xml, now=NOW)
    with pytest.raises(samljit.ConfigError) as caught:
        source.refresh(now=NOW)
    assert caught.value.code == "configuration_invalid"


def test_bad_pasted_metadata_raises_its_error() -> None:
    with pytest.raises(samljit.MetadataError) as caught:
        samljit.MetadataSource.from_xml(b"<EntityDescriptor/>", now=NOW)
    assert caught.value.code == "metadata_invalid"


def test_a_bad_paste_does_not_replace_a_good_one(keys: Keys) -> None:
    source = samljit.MetadataSource.from_xml(keys.idp_a.metadata_xml, now=NOW)
    result = source.load(b"-----BEGIN CERTIFICATE-----", now=NOW)
    assert (result.ok, result.code, result.serving) == (False, "metadata_invalid", True)
    assert_kept(source, keys)


def test_pinned_signed_pasted_metadata_must_verify(keys: Keys) -> None:
    signed = sign(keys.idp_a.metadata_xml, keys.wrong)
    with pytest.raises(samljit.errors.MetadataSignatureInvalid) as caught:
        samljit.MetadataSource.from_xml(signed, now=NOW, signing_certificates=[keys.signer[1]])
    assert caught.value.code == "metadata_signature_invalid"


@pytest.mark.parametrize(
    "url",
    [
        "http://idp.test/metadata",
        "ftp://idp.test/md.xml",
        "file:///etc/md.xml",
        "https:///x",
        "https://idp.test:99999/metadata",
        "https://[::1/metadata",
    ],
)
def test_only_https_urls_are_accepted_by_default(url: str) -> None:
    with pytest.raises(samljit.ConfigError) as caught:
        samljit.MetadataSource(url)
    assert caught.value.code == "configuration_invalid"


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"timeout": float("nan")},
        {"retry_interval": timedelta(0)},
        {"refresh_interval": timedelta(days=400)},
        {"min_refresh_interval": timedelta(hours=2), "max_refresh_interval": timedelta(hours=1)},
    ],
)
def test_out_of_range_settings_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(samljit.ConfigError) as caught:
        samljit.MetadataSource(URL, **options)
    assert caught.value.code == "configuration_invalid"


def test_a_loaded_source_exposes_its_copy_and_schedule(keys: Keys) -> None:
    source, _ = stub_source(keys.idp_a.metadata_xml, refresh_interval=timedelta(hours=1))
    assert (source.url, source.metadata, source.next_refresh) == (URL, None, None)
    source.refresh(now=NOW)
    assert source.metadata is not None
    assert source.metadata.idp is source.idp
    assert source.next_refresh == NOW + timedelta(hours=1)


def test_a_schedule_past_the_end_of_the_calendar_stops_at_its_end(keys: Keys) -> None:
    year = timedelta(days=366)
    source, _ = stub_source(
        keys.idp_a.metadata_xml, refresh_interval=year, max_refresh_interval=year
    )
    near_the_end = datetime(9999, 12, 1, tzinfo=UTC)
    source.refresh(now=near_the_end)
    assert source.next_refresh == datetime(9999, 12, 30, tzinfo=UTC)


def test_the_source_is_named_by_its_url_without_the_query() -> None:
    source = samljit.MetadataSource(URL + "?token=secret#x", fetcher=StubFetcher(b""))
    assert source.name == URL


# === faults from a real server on 127.0.0.1 ===============================================


def test_metadata_is_fetched_from_the_url(metadata_server: MetadataServer, keys: Keys) -> None:
    source = http_source(metadata_server.serve("/metadata", keys.idp_a.metadata_xml))
    assert source.current(now=NOW).signing_certificates == (keys.idp_a.certificate,)


def test_a_stalled_server_times_out_and_the_good_copy_stays(
    served: tuple[MetadataServer, samljit.MetadataSource], keys: Keys
) -> None:
    server, source = served
    server.serve("/metadata", keys.idp_b.metadata_xml, stall=5.0)
    started = time.monotonic()
    result = source.refresh(now=NOW)
    assert time.monotonic() - started < 2.0
    assert (result.code, result.error and result.error.found) == (
        "metadata_fetch_failed",
        "timeout",
    )
    assert_kept(source, keys)


def test_a_trickling_server_is_cut_off_at_the_deadline(
    served: tuple[MetadataServer, samljit.MetadataSource], keys: Keys
) -> None:
    """One byte every 50 ms never trips a per-read timeout; the whole-download one stops it."""
    server, source = served
    server.serve("/metadata", keys.idp_b.metadata_xml, trickle=0.05)
    started = time.monotonic()
    result = source.refresh(now=NOW)
    assert time.monotonic() - started < 2.0
    assert (result.code, result.error and result.error.found) == (
        "metadata_fetch_failed",
        "timeout",
    )
    assert_kept(source, keys)


def test_a_server_error_keeps_the_good_copy(
    served: tuple[MetadataServer, samljit.MetadataSource], keys: Keys
) -> None:
    server, source = served
    server.serve("/metadata", b"<h1>Internal Server Error</h1>", status=500)
    result = source.refresh(now=NOW)
    assert (result.code, result.error and result.error.found) == ("metadata_fetch_failed", 500)
    assert_kept(source, keys)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<html><body>Sign in to continue</body></html>", "metadata_invalid"),
        (b"\x00\xff\x13garbage", "metadata_invalid"),
        (b"", "metadata_invalid"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>', "metadata_invalid"),
    ],
    ids=["html", "binary", "empty", "dtd"],
)
def test_garbage_keeps_the_good_copy(
    served: tuple[MetadataServer, samljit.MetadataSource], keys: Keys, body: bytes, code: str
) -> None:
    server, source = served
    server.serve("/metadata", body)
    assert source.refresh(now=NOW).code == code
    assert_kept(source, keys)


@pytest.mark.parametrize("send_length", [True, False], ids=["content-length", "streamed"])
def test_an_oversized_body_is_refused_and_the_good_copy_stays(
    metadata_server: MetadataServer, keys: Keys, send_length: bool
) -> None:
    limits = samljit.Limits(max_bytes=8_000, max_depth=64, max_nodes=10_000)
    url = metadata_server.serve("/metadata", keys.idp_a.metadata_xml)
    source = http_source(url, limits=limits)
    source.refresh(now=NOW)
    huge = keys.idp_b.metadata_xml + b"<!--" + b"x" * 200_000 + b"-->"
    metadata_server.serve("/metadata", huge, send_length=send_length)
    result = source.refresh(now=NOW)
    assert (result.code, result.error and result.error.found) == (
        "metadata_fetch_failed",
        "too_large",
    )
    assert_kept(source, keys)


def test_a_document_signed_by_the_wrong_key_keeps_the_good_copy(
    metadata_server: MetadataServer, keys: Keys
) -> None:
    pinned = [keys.signer[1]]
    url = metadata_server.serve("/metadata", sign(keys.idp_a.metadata_xml, keys.signer))
    source = http_source(url, signing_certificates=pinned)
    assert source.refresh(now=NOW).ok
    metadata_server.serve("/metadata", sign(keys.idp_b.metadata_xml, keys.wrong))
    assert source.refresh(now=NOW).code == "metadata_signature_invalid"
    assert_kept(source, keys)


def test_an_unreachable_server_keeps_the_good_copy(
    served: tuple[MetadataServer, samljit.MetadataSource], keys: Keys
) -> None:
    server, source = served
    server.stop()  # the port now refuses connections
    result = source.refresh(now=NOW)
    assert (result.code, result.error and result.error.found) == (
        "metadata_fetch_failed",
        "unreachable",
    )
    assert_kept(source, keys)


def test_a_good_document_after_an_outage_replaces_the_copy(
    served: tuple[MetadataServer, samljit.MetadataSource], keys: Keys
) -> None:
    server, source = served
    server.serve("/metadata", b"oops", status=503)
    assert not source.refresh(now=NOW).ok
    server.serve("/metadata", keys.idp_b.metadata_xml)
    result = source.refresh(now=NOW + timedelta(minutes=5))
    assert (result.ok, result.changed) == (True, True)
    assert source.current(now=NOW).signing_certificates == (keys.idp_b.certificate,)


def test_a_certificate_published_before_the_switch_lets_logins_through_it(
    served: tuple[MetadataServer, samljit.MetadataSource], keys: Keys, sp: samljit.SPConfig
) -> None:
    """Key rollover: the IdP adds key B beside A; after the next refresh, a login signed with
    B (the switch) verifies, and so does one still signed with A."""
    server, source = served
    server.serve("/metadata", keys.idp_a.metadata(extra_certificates=[keys.idp_b.certificate]))
    assert source.refresh(now=NOW + timedelta(hours=6)).changed
    for signer in (keys.idp_b, keys.idp_a):
        issued = signer.issue_response(
            sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, name_id="ada@acme.test", now=NOW
        )
        assertion = samljit.verify_response(
            issued.form_value,
            idp=source.current(now=NOW + timedelta(hours=6)),
            sp=sp,
            now=NOW,
            replay_cache=samljit.MemoryReplayCache(),
            allow_unsolicited=True,
        )
        assert assertion.name_id.value == "ada@acme.test"


def test_a_changed_certificate_replaces_the_old_one(
    served: tuple[MetadataServer, samljit.MetadataSource], keys: Keys
) -> None:
    server, source = served
    server.serve("/metadata", keys.idp_b.metadata_xml)
    result = source.refresh(now=NOW + timedelta(hours=6))
    assert (result.code, result.changed) == ("metadata_updated", True)
    assert source.current(now=NOW).signing_certificates == (keys.idp_b.certificate,)


def test_metadata_is_fetched_over_https(https_server: MetadataServer, tls: Tls, keys: Keys) -> None:
    url = https_server.serve("/metadata", keys.idp_a.metadata_xml)
    source = samljit.MetadataSource(
        url,
        timeout=TIMEOUT,
        fetcher=samljit.urllib_fetcher(ssl_context=tls.client, allow_private_addresses=True),
    )
    assert source.refresh(now=NOW).ok


def test_an_untrusted_tls_certificate_is_a_fetch_failure(
    https_server: MetadataServer, keys: Keys
) -> None:
    url = https_server.serve("/metadata", keys.idp_a.metadata_xml)
    source = samljit.MetadataSource(url, timeout=TIMEOUT, allow_private_addresses=True)
    result = source.refresh(now=NOW)
    assert (result.code, result.error and result.error.found) == (
        "metadata_fetch_failed",
        "unreachable",
    )


def test_a_redirect_from_https_to_http_is_refused(
    https_server: MetadataServer, metadata_server: MetadataServer, tls: Tls, keys: Keys
) -> None:
    plain = metadata_server.serve("/metadata", keys.idp_b.metadata_xml)
    url = https_server.serve("/metadata", keys.idp_a.metadata_xml)
    source = samljit.MetadataSource(
        url,
        timeout=TIMEOUT,
        fetcher=samljit.urllib_fetcher(ssl_context=tls.client, allow_private_addresses=True),
    )
    source.refresh(now=NOW)
    https_server.serve("/metadata", status=302, headers={"Location": plain})
    result = source.refresh(now=NOW)
    assert (result.code, result.error and result.error.found) == (
        "metadata_fetch_failed",
        "insecure_redirect",
    )
    assert metadata_server.hits["/metadata"] == 0
    assert_kept(source, keys)


def test_a_redirect_from_https_to_https_is_followed(
    https_server: MetadataServer, tls: Tls, keys: Keys
) -> None:
    https_server.serve("/new-home", keys.idp_a.metadata_xml)
    url = https_server.serve(
        "/metadata", status=301, headers={"Location": https_server.url("/new-home")}
    )
    fetcher = samljit.urllib_fetcher(ssl_context=tls.client, allow_private_addresses=True)
    source = samljit.MetadataSource(url, timeout=TIMEOUT, fetcher=fetcher)
    assert source.refresh(now=NOW).ok


def test_the_default_fetcher_refuses_an_http_url(metadata_server: MetadataServer) -> None:
    fetch = samljit.urllib_fetcher()
    with pytest.raises(samljit.errors.MetadataFetchFailed) as caught:
        fetch(metadata_server.serve("/metadata", b"x"), timeout=TIMEOUT, max_bytes=1_000)
    assert (caught.value.code, caught.value.found) == ("metadata_fetch_failed", "insecure_url")
    assert metadata_server.hits["/metadata"] == 0


# === expiry monitoring ====================================================================


def _loaded(xml: bytes) -> samljit.MetadataSource:
    return samljit.MetadataSource.from_xml(xml, now=NOW, name="acme")


def test_a_certificate_expiring_within_the_window_is_reported() -> None:
    expires = NOW + timedelta(days=20)
    source = _loaded(expiring_idp(expires).metadata_xml)
    [finding] = samljit.metadata_source.check_metadata([source], now=NOW, days=30)
    assert (finding.code, finding.source, finding.expires) == (
        "certificate_expiring",
        "acme",
        expires,
    )
    assert finding.certificate_sha256 == samljit.metadata.certificate_sha256(
        source.idp.signing_certificates[0]
    )  # type: ignore[union-attr]


def test_a_certificate_expiring_after_the_window_is_not_reported() -> None:
    source = _loaded(expiring_idp(NOW + timedelta(days=20)).metadata_xml)
    assert samljit.metadata_source.check_metadata([source], now=NOW, days=10) == []


def test_an_expired_certificate_is_reported() -> None:
    source = _loaded(expiring_idp(NOW - timedelta(days=1)).metadata_xml)
    assert [f.code for f in samljit.metadata_source.check_metadata([source], now=NOW)] == [
        "certificate_expired"
    ]


def test_an_expiring_certificate_is_reported_even_with_a_successor(keys: Keys) -> None:
    old = expiring_idp(NOW + timedelta(days=5))
    xml = old.metadata(extra_certificates=[keys.idp_b.certificate])
    findings = samljit.metadata_source.check_metadata([_loaded(xml)], now=NOW)
    assert [f.code for f in findings] == ["certificate_expiring"]


@pytest.mark.parametrize(
    "not_after",
    [
        pytest.param(NOW + timedelta(days=30), id="at-the-30-day-horizon"),
        pytest.param(NOW, id="expiring-now"),
        pytest.param(NOW - timedelta(days=1), id="expired"),
    ],
)
def test_check_and_parse_warnings_apply_the_same_expiry_rule(not_after: datetime) -> None:
    """One rule: check_metadata(days=30) reports exactly the expiry warnings parsing gives."""
    xml = expiring_idp(not_after).metadata(valid_until=NOW - timedelta(seconds=1))
    warnings = samljit.parse_idp_metadata(xml, now=NOW).warnings
    findings = samljit.metadata_source.check_metadata([_loaded(xml)], now=NOW, days=30)
    assert [(f.code, f.message) for f in findings] == [
        (w.code, w.message) for w in warnings if "expir" in w.code
    ]
    assert len(findings) == 2


def test_metadata_past_valid_until_is_reported(keys: Keys) -> None:
    source = _loaded(keys.idp_a.metadata(valid_until=NOW - timedelta(hours=1)))
    [finding] = samljit.metadata_source.check_metadata([source], now=NOW)
    assert (finding.code, finding.expires) == ("metadata_expired", NOW - timedelta(hours=1))


def test_healthy_metadata_needs_no_action(keys: Keys) -> None:
    source = _loaded(keys.idp_a.metadata(valid_until=NOW + timedelta(days=3)))
    assert samljit.metadata_source.check_metadata([source], now=NOW) == []


def test_a_failed_refresh_is_reported_while_the_good_copy_serves(keys: Keys) -> None:
    source, fetcher = stub_source(keys.idp_a.metadata_xml)
    source.refresh(now=NOW)
    fetcher.error = samljit.errors.MetadataFetchFailed("down", found="unreachable")
    source.refresh(now=NOW)
    [finding] = samljit.metadata_source.check_metadata([source], now=NOW)
    assert (finding.code, finding.entity_id) == ("metadata_fetch_failed", ENTITY_ID)


def test_a_source_without_any_good_copy_is_reported_with_its_failure() -> None:
    source, _ = stub_source(b"garbage")
    source.refresh(now=NOW)
    assert [f.code for f in samljit.metadata_source.check_metadata([source], now=NOW)] == [
        "metadata_invalid"
    ]


def test_a_source_never_refreshed_is_reported_as_not_loaded() -> None:
    source, _ = stub_source(b"")
    assert [f.code for f in samljit.metadata_source.check_metadata([source], now=NOW)] == [
        "metadata_not_loaded"
    ]


def test_a_parsed_idp_can_be_checked_directly() -> None:
    idp = samljit.parse_idp_metadata(
        expiring_idp(NOW + timedelta(days=3)).metadata_xml, now=NOW
    ).idp
    [finding] = samljit.metadata_source.check_metadata([idp], now=NOW)
    assert (finding.source, finding.code) == (ENTITY_ID, "certificate_expiring")


def test_a_negative_window_is_refused(keys: Keys) -> None:
    with pytest.raises(samljit.ConfigError) as caught:
        samljit.metadata_source.check_metadata([], now=NOW, days=-1)
    assert caught.value.code == "configuration_invalid"


def test_a_finding_has_a_json_form() -> None:
    source = _loaded(expiring_idp(NOW + timedelta(days=1)).metadata_xml)
    [finding] = samljit.metadata_source.check_metadata([source], now=NOW)
    assert set(finding.to_dict()) == {
        "source",
        "code",
        "message",
        "expires",
        "entity_id",
        "certificate_sha256",
    }
    assert finding.to_dict()["expires"] == "2026-11-26T12:00:00Z"


def test_the_default_fetcher_stops_reading_a_streamed_body_at_the_limit(
    metadata_server: MetadataServer, keys: Keys
) -> None:
    """Without a Content-Length the fetcher itself cuts the download off: the body over the
    limit is never handed back whole."""
    huge = keys.idp_b.metadata_xml + b"<!--" + b"x" * 200_000 + b"-->"
    url = metadata_server.serve("/metadata", huge, send_length=False)
    fetch = samljit.urllib_fetcher(allow_http=True, allow_private_addresses=True)
    with pytest.raises(samljit.errors.MetadataFetchFailed) as caught:
        fetch(url, timeout=TIMEOUT, max_bytes=8_000)
    assert (caught.value.code, caught.value.found) == ("metadata_fetch_failed", "too_large")


def test_the_default_fetcher_refuses_an_announced_oversized_body_before_reading_it(
    metadata_server: MetadataServer, keys: Keys
) -> None:
    """A Content-Length over the limit is refused from the headers alone, whatever follows."""
    url = metadata_server.serve(
        "/metadata",
        keys.idp_a.metadata_xml,
        send_length=False,
        headers={"Content-Length": "50000000"},
    )
    fetch = samljit.urllib_fetcher(allow_http=True, allow_private_addresses=True)
    with pytest.raises(samljit.errors.MetadataFetchFailed) as caught:
        fetch(url, timeout=TIMEOUT, max_bytes=len(keys.idp_a.metadata_xml) + 1_000)
    assert (caught.value.code, caught.value.found) == ("metadata_fetch_failed", "too_large")


def _redirect_chain(server: MetadataServer, hops: int, body: bytes) -> str:
    """A URL that redirects ``hops`` times before it reaches ``body``."""
    for hop in range(hops):
        server.serve(f"/hop{hop}", status=302, headers={"Location": server.url(f"/hop{hop + 1}")})
    server.serve(f"/hop{hops}", body)
    return server.url("/hop0")


def test_the_default_fetcher_follows_at_most_five_redirects(
    metadata_server: MetadataServer, keys: Keys
) -> None:
    five = http_source(_redirect_chain(metadata_server, 5, keys.idp_a.metadata_xml))
    assert five.refresh(now=NOW).ok
    metadata_server.routes.clear()
    six = http_source(_redirect_chain(metadata_server, 6, keys.idp_a.metadata_xml))
    result = six.refresh(now=NOW)
    assert (result.code, result.error and result.error.found) == ("metadata_fetch_failed", 302)
    assert metadata_server.hits["/hop6"] == 0


def test_a_document_that_expires_at_this_very_moment_does_not_replace_a_valid_copy(
    keys: Keys,
) -> None:
    source, fetcher = stub_source(keys.idp_a.metadata(valid_until=NOW + timedelta(days=2)))
    source.refresh(now=NOW)
    fetcher.body = keys.idp_b.metadata(valid_until=NOW)
    assert source.refresh(now=NOW).code == "metadata_expired"
    assert_kept(source, keys)


@pytest.mark.parametrize("timeout", [600.5, float("inf"), -1.0])
def test_a_timeout_outside_zero_to_six_hundred_seconds_is_refused(timeout: float) -> None:
    with pytest.raises(samljit.ConfigError) as caught:
        samljit.MetadataSource(URL, timeout=timeout)
    assert caught.value.code == "configuration_invalid"


def test_metadata_whose_valid_until_is_now_is_reported_expired(keys: Keys) -> None:
    source = _loaded(keys.idp_a.metadata(valid_until=NOW + timedelta(hours=1)))
    [finding] = samljit.metadata_source.check_metadata([source], now=NOW + timedelta(hours=1))
    assert (finding.code, finding.expires) == ("metadata_expired", NOW + timedelta(hours=1))


def test_a_certificate_expiring_exactly_at_the_end_of_the_window_is_reported() -> None:
    source = _loaded(expiring_idp(NOW + timedelta(days=30)).metadata_xml)
    codes = [f.code for f in samljit.metadata_source.check_metadata([source], now=NOW, days=30)]
    assert codes == ["certificate_expiring"]


def test_a_certificate_expiring_at_this_moment_is_reported_expired() -> None:
    source = _loaded(expiring_idp(NOW).metadata_xml)
    assert [f.code for f in samljit.metadata_source.check_metadata([source], now=NOW)] == [
        "certificate_expired"
    ]
