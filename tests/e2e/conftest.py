"""A real SAML IdP for the end-to-end tests: SimpleSAMLphp from Debian's packages.

The ``simplesamlphp`` fixture (one per test session) copies the configuration in
``tests/e2e/simplesamlphp/`` into a temporary directory, generates the IdP's throwaway key
pair there, serves SimpleSAMLphp's ``www`` directory with ``php -S 127.0.0.1:<free port>``
under ``/simplesaml/``, waits until the IdP metadata answers, and stops the server by its
process ID at the end. Nothing outside the temporary directory is read or written except the
installed packages. Install them with ``.ci/simplesamlphp.sh``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

import samljit

HERE = Path(__file__).resolve().parent
CONFIG = HERE / "simplesamlphp"
SSP_HOME = Path("/usr/share/simplesamlphp")
SSP_WWW = SSP_HOME / "www"
INSTALL_HINT = (
    "SimpleSAMLphp is not installed: run .ci/simplesamlphp.sh (as root: it installs Debian's "
    "simplesamlphp, php-cli, php-xml and php-mbstring packages) before the e2e tests"
)
STARTUP_TIMEOUT = 20.0
POLL_INTERVAL = 0.1

EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
# The SP entries of simplesamlphp/saml20-sp-remote.php (keep in step with that file).
SP_ASSERTION_SIGNED = "https://sp.samljit.test/acme"
SP_RESPONSE_SIGNED = "https://sp.samljit.test/acme-signed-response"
SP_RESPONSE_ONLY = "https://sp.samljit.test/acme-response-only"
# The SP that SimpleSAMLphp knows only from samljit.build_sp_metadata's XML (samljit-sp.xml):
# AuthnRequestsSigned, so SimpleSAMLphp verifies the signature of every request from it.
SP_GENERATED_METADATA = "https://sp.samljit.test/acme-sp-initiated"
# Single Logout entries (hand-written, with the SP's certificate sp.crt): one whose SLO
# endpoint takes only HTTP-POST, one to which SimpleSAMLphp sends unsigned logout messages.
SP_POST_LOGOUT = "https://sp.samljit.test/acme-post-logout"
SP_UNSIGNED_LOGOUT = "https://sp.samljit.test/acme-unsigned-logout"
ACS_URLS = {
    SP_ASSERTION_SIGNED: "http://127.0.0.1:9/sso/acme/acs",
    SP_RESPONSE_SIGNED: "http://127.0.0.1:9/sso/acme-signed-response/acs",
    SP_RESPONSE_ONLY: "http://127.0.0.1:9/sso/acme-response-only/acs",
    SP_GENERATED_METADATA: "http://127.0.0.1:9/sso/acme-sp-initiated/acs",
    SP_POST_LOGOUT: "http://127.0.0.1:9/sso/acme-post-logout/acs",
    SP_UNSIGNED_LOGOUT: "http://127.0.0.1:9/sso/acme-unsigned-logout/acs",
}
SLO_URL = "http://127.0.0.1:9/sso/acme-sp-initiated/slo"
SLO_URLS = {
    SP_GENERATED_METADATA: SLO_URL,
    SP_POST_LOGOUT: "http://127.0.0.1:9/sso/acme-post-logout/slo",
    SP_UNSIGNED_LOGOUT: "http://127.0.0.1:9/sso/acme-unsigned-logout/slo",
}
SP_ORIGIN = "http://127.0.0.1:9"
"""Where the SP would be: nothing listens there, the browser never goes there."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "e2e: end-to-end test against a real IdP (SimpleSAMLphp; install it with "
        ".ci/simplesamlphp.sh)",
    )


@dataclass(frozen=True, slots=True)
class KeyPair:
    key_pem: bytes
    cert_pem: bytes
    certificate: x509.Certificate
    private_key: rsa.RSAPrivateKey


def make_key_pair(common_name: str) -> KeyPair:
    """A throwaway RSA-2048 key and a self-signed SHA-256 certificate valid for a year."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return KeyPair(
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert_pem=certificate.public_bytes(serialization.Encoding.PEM),
        certificate=certificate,
        private_key=key,
    )


@dataclass(frozen=True, slots=True)
class SimpleSAMLphp:
    """A running SimpleSAMLphp IdP."""

    base_url: str
    """``http://127.0.0.1:<port>/simplesaml/``"""
    origin: str
    """``http://127.0.0.1:<port>``: the only origin the tests' browser visits."""
    entity_id: str
    metadata_xml: bytes
    """The IdP metadata exactly as SimpleSAMLphp serves it."""
    idp_key: KeyPair
    sp_key: KeyPair
    """The signing key pair of SP_GENERATED_METADATA (its certificate is in that metadata)."""
    sp_metadata_xml: bytes
    """samljit's SP metadata for SP_GENERATED_METADATA, as SimpleSAMLphp reads it."""
    root: Path
    pid: int

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    @property
    def sso_url(self) -> str:
        return self.url("saml2/idp/SSOService.php")

    def idp_initiated_url(self, sp_entity_id: str, *, relay_state: str | None = None) -> str:
        """The unsolicited-SSO URL of SimpleSAMLphp 1.19 (``spentityid``): the "app tile"."""
        query = {"spentityid": sp_entity_id}
        if relay_state is not None:
            query["RelayState"] = relay_state
        return f"{self.sso_url}?{urlencode(query)}"

    def log(self) -> str:
        """SimpleSAMLphp's log and the PHP server's output, for failure messages."""
        parts = []
        for path in (self.root / "log" / "simplesamlphp.log", self.root / "log" / "php-server.log"):
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-6000:]}")
        return "\n".join(parts)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _require_installation() -> str:
    """The php binary; fails the test (does not skip it) when anything is missing."""
    php = shutil.which("php")
    if php is None or not (SSP_WWW / "saml2" / "idp" / "SSOService.php").is_file():
        pytest.fail(INSTALL_HINT, pytrace=False)
    check = subprocess.run(
        [php, "-r", 'exit(extension_loaded("dom") && extension_loaded("mbstring") ? 0 : 1);'],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if check.returncode != 0:
        pytest.fail(f"{INSTALL_HINT} (php lacks the dom or mbstring extension)", pytrace=False)
    return php


def _write_tree(root: Path, idp_key: KeyPair, sp_key: KeyPair, sp_metadata_xml: bytes) -> None:
    for name in ("config", "metadata", "cert", "log", "data", "tmp", "sessions", "docroot"):
        (root / name).mkdir()
    for name in ("config.php", "authsources.php"):
        shutil.copyfile(CONFIG / name, root / "config" / name)
    for name in ("saml20-idp-hosted.php", "saml20-sp-remote.php"):
        shutil.copyfile(CONFIG / name, root / "metadata" / name)
    (root / "cert" / "idp.key").write_bytes(idp_key.key_pem)
    (root / "cert" / "idp.key").chmod(0o600)
    (root / "cert" / "idp.crt").write_bytes(idp_key.cert_pem)
    # The SP's certificate for the hand-written SP entries ('certificate' => 'sp.crt').
    (root / "cert" / "sp.crt").write_bytes(sp_key.cert_pem)
    (root / "metadata" / "samljit-sp.xml").write_bytes(sp_metadata_xml)
    # baseurlpath is 'simplesaml/': the docroot holds only that name, pointing at www/.
    (root / "docroot" / "simplesaml").symlink_to(SSP_WWW, target_is_directory=True)


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), exc.read()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server by its process ID: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def simplesamlphp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleSAMLphp]:
    php = _require_installation()
    root = tmp_path_factory.mktemp("simplesamlphp")
    idp_key = make_key_pair("SimpleSAMLphp e2e IdP")
    sp_key = make_key_pair("samljit e2e SP")
    sp_metadata_xml = samljit.build_sp_metadata(
        entity_id=SP_GENERATED_METADATA,
        acs_url=ACS_URLS[SP_GENERATED_METADATA],
        slo_url=SLO_URL,
        signing_certificate=sp_key.certificate,
    )
    _write_tree(root, idp_key, sp_key, sp_metadata_xml)
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    base_url = f"{origin}/simplesaml/"
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "PHP_CLI_SERVER_WORKERS"  # one process: the one whose ID we stop
    }
    env.update(
        SIMPLESAMLPHP_CONFIG_DIR=str(root / "config"),
        SAMLJIT_SSP_DIR=str(root),
        SAMLJIT_SSP_SECRETSALT=secrets.token_urlsafe(24),
        SAMLJIT_SSP_ADMINPASSWORD=secrets.token_urlsafe(24),
    )
    with open(root / "log" / "php-server.log", "wb") as server_log:
        process = subprocess.Popen(
            [php, "-S", f"127.0.0.1:{port}", "-t", str(root / "docroot")],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
    try:
        metadata_url = f"{base_url}saml2/idp/metadata.php"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        status, body, error = 0, b"", ""
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                status, body = _get(metadata_url, timeout=2.0)
            except OSError as exc:  # not listening yet
                error = repr(exc)
            else:
                if status == 200 and b"IDPSSODescriptor" in body:
                    break
            time.sleep(POLL_INTERVAL)
        else:
            status = -1
        if status != 200 or process.poll() is not None:
            server = SimpleSAMLphp(
                base_url=base_url,
                origin=origin,
                entity_id="",
                metadata_xml=b"",
                idp_key=idp_key,
                sp_key=sp_key,
                sp_metadata_xml=sp_metadata_xml,
                root=root,
                pid=process.pid,
            )
            pytest.fail(
                f"SimpleSAMLphp did not serve {metadata_url} within {STARTUP_TIMEOUT:.0f} s "
                f"(exit code {process.poll()}, last HTTP status {status}, last error {error}, "
                f"body {body[:500]!r})\n{server.log()}",
                pytrace=False,
            )
        yield SimpleSAMLphp(
            base_url=base_url,
            origin=origin,
            entity_id=f"{base_url}saml2/idp/metadata.php",
            metadata_xml=body,
            idp_key=idp_key,
            sp_key=sp_key,
            sp_metadata_xml=sp_metadata_xml,
            root=root,
            pid=process.pid,
        )
    finally:
        _stop(process)
