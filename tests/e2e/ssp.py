"""SimpleSAMLphp from Debian's packages as a real IdP for tests/e2e and tests/browser.

:func:`start` copies the configuration in ``tests/e2e/simplesamlphp/`` into a directory of the
caller's (a pytest temporary directory), writes the IdP's throwaway key pair, its users
(``config/authsources.php``) and any SP metadata there, serves SimpleSAMLphp's ``www``
directory with ``php -S 127.0.0.1:<free port>`` under ``/simplesaml/``, waits until the IdP
metadata answers, and stops the server by its process ID on exit. Nothing outside that
directory is read or written except the installed packages (``.ci/simplesamlphp.sh``).

SimpleSAMLphp reads its configuration and metadata again for every request, so a running IdP
can learn an SP (:meth:`SimpleSAMLphp.register_sp`, from the SP's metadata XML, or
:meth:`SimpleSAMLphp.register_sp_values`, from the values an administrator types into the
IdP's console) and an IdP administrator's changes to a user (:meth:`SimpleSAMLphp.set_user`,
which rewrites ``authsources.php``) take effect at the user's next login.

The process helpers (:func:`free_port`, :func:`http_get`, :func:`wait_until_serving`,
:func:`stop_process`) serve the browser tests' app servers too.
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

__all__ = [
    "INSTALL_HINT",
    "IdPUser",
    "KeyPair",
    "SPEntry",
    "SimpleSAMLphp",
    "free_port",
    "http_get",
    "make_key_pair",
    "render_authsources",
    "render_sp_entries",
    "start",
    "stop_process",
    "wait_until_serving",
]

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
AUTH_SOURCE = "samljit-users"
"""The exampleauth:UserPass source of saml20-idp-hosted.php ('auth')."""
CONSOLE_SPS = Path("metadata") / "console" / "saml20-sp-remote.php"
"""The SPs registered from typed-in values (config.php's second flatfile source)."""
HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"


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
class IdPUser:
    """One user of the IdP's login form, with the attributes SimpleSAMLphp releases.

    ``attributes`` maps an attribute name to its values; saml20-idp-hosted.php makes the
    ``email`` attribute the NameID.
    """

    username: str
    password: str
    attributes: Mapping[str, Sequence[str]]

    def __post_init__(self) -> None:
        # exampleauth:UserPass keys its users by "username:password", split at the first ':'.
        if not self.username or ":" in self.username:
            raise ValueError(f"a UserPass username has no ':' and is not empty: {self.username!r}")


def _php_string(value: str) -> str:
    """A PHP single-quoted string literal: only backslash and quote are escapes there."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_authsources(users: Sequence[IdPUser]) -> str:
    """``authsources.php`` with an admin source and ``samljit-users`` holding ``users``."""
    lines = [
        "<?php",
        "",
        "/*",
        " * Authentication sources of samljit's SimpleSAMLphp test IdP, written by",
        " * tests/e2e/ssp.py (render_authsources): an admin source, and the users of the login",
        " * form with the attributes the image-CDN product's SAML app receives. The fixtures",
        " * rewrite this file while the server runs, as an IdP administrator edits a user;",
        " * SimpleSAMLphp reads it again at every login. The passwords are test fixtures.",
        " */",
        "",
        "$config = [",
        "    'admin' => ['core:AdminPassword'],",
        f"    {_php_string(AUTH_SOURCE)} => [",
        "        'exampleauth:UserPass',",
    ]
    for user in users:
        lines.append(f"        {_php_string(f'{user.username}:{user.password}')} => [")
        for name, values in user.attributes.items():
            literals = ", ".join(_php_string(value) for value in values)
            lines.append(f"            {_php_string(name)} => [{literals}],")
        lines.append("        ],")
    lines += ["    ],", "];", ""]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class SPEntry:
    """An SP as an IdP administrator types it into the IdP's console from the SP's setup page:
    entity ID, ACS URL, SLO URL and NameID format, and no certificate (so the IdP does not
    check the signatures of the SP's requests, as a console asks for none by default)."""

    entity_id: str
    acs_url: str
    slo_url: str | None = None
    name_id_format: str | None = None


def render_sp_entries(entries: Sequence[SPEntry]) -> str:
    """``saml20-sp-remote.php`` with one hand-written SimpleSAMLphp entry per ``entries``."""
    lines = [
        "<?php",
        "",
        "/*",
        " * SPs registered from the values their setup pages show (entity ID, ACS URL, SLO URL,",
        " * NameID format), written by tests/e2e/ssp.py (render_sp_entries) while the server",
        " * runs, as an IdP administrator fills in the IdP's console. No certificate was typed",
        " * in: the signatures of these SPs' requests are not checked.",
        " */",
        "",
    ]
    for entry in entries:
        lines += [
            f"$metadata[{_php_string(entry.entity_id)}] = [",
            "    'AssertionConsumerService' => [",
            f"        ['Binding' => {_php_string(HTTP_POST)}, "
            f"'Location' => {_php_string(entry.acs_url)}, 'index' => 0],",
            "    ],",
        ]
        if entry.slo_url is not None:
            lines += [
                "    'SingleLogoutService' => [",
                f"        ['Binding' => {_php_string(HTTP_REDIRECT)}, "
                f"'Location' => {_php_string(entry.slo_url)}],",
                "    ],",
            ]
        if entry.name_id_format is not None:
            lines.append(f"    'NameIDFormat' => {_php_string(entry.name_id_format)},")
        lines += [
            "    'validate.authnrequest' => false,",
            "    'validate.logout' => false,",
            "];",
            "",
        ]
    return "\n".join(lines)


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` in one step: a request that reads it meanwhile sees old or new."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


@dataclass(frozen=True, slots=True)
class SimpleSAMLphp:
    """A running SimpleSAMLphp IdP."""

    base_url: str
    """``http://127.0.0.1:<port>/simplesaml/``"""
    origin: str
    """``http://127.0.0.1:<port>``"""
    entity_id: str
    metadata_xml: bytes
    """The IdP metadata exactly as SimpleSAMLphp serves it."""
    idp_key: KeyPair
    root: Path
    pid: int
    users: dict[str, IdPUser] = field(default_factory=dict, compare=False)
    """The users of the login form as last written to ``authsources.php``, by username."""
    console_sps: dict[str, SPEntry] = field(default_factory=dict, compare=False)
    """The SPs registered by :meth:`register_sp_values`, by entity ID."""

    def url(self, path: str) -> str:
        return self.base_url + path.lstrip("/")

    @property
    def sso_url(self) -> str:
        return self.url("saml2/idp/SSOService.php")

    @property
    def metadata_url(self) -> str:
        return self.url("saml2/idp/metadata.php")

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

    def register_sp(self, name: str, metadata_xml: bytes) -> None:
        """Give the IdP an SP's metadata XML (``metadata/sp/<name>.xml``), as an IdP
        administrator uploads the file an SP sends: its next request knows the SP."""
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"an SP file name is letters, digits, - and _: {name!r}")
        _write_atomically(self.root / "metadata" / "sp" / f"{name}.xml", metadata_xml)

    def register_sp_values(
        self,
        entity_id: str,
        *,
        acs_url: str,
        slo_url: str | None = None,
        name_id_format: str | None = None,
    ) -> None:
        """Register an SP from the values its setup page shows, as an IdP administrator
        types them into the IdP's console (rewrites ``metadata/console/saml20-sp-remote.php``):
        its next request knows the SP. Registering an entity ID again replaces its entry."""
        for url in (acs_url, slo_url):
            if url is not None and not url.startswith(("http://", "https://")):
                raise ValueError(f"an SP endpoint is an http(s) URL: {url!r}")
        self.console_sps[entity_id] = SPEntry(
            entity_id=entity_id, acs_url=acs_url, slo_url=slo_url, name_id_format=name_id_format
        )
        self._write_console_sps()

    def unregister_sp_values(self, entity_id: str) -> None:
        """Delete an SP registered by :meth:`register_sp_values` (none: nothing happens), so
        that a later app on the same port is known by its own registration."""
        if self.console_sps.pop(entity_id, None) is not None:
            self._write_console_sps()

    def _write_console_sps(self) -> None:
        text = render_sp_entries(list(self.console_sps.values()))
        _write_atomically(self.root / CONSOLE_SPS, text.encode("utf-8"))

    def set_user(self, username: str, *, password: str, **attributes: str | Sequence[str]) -> None:
        """Add or change a user of the login form (rewrites ``authsources.php``).

        A user already signed in at the IdP keeps the attributes of that login until the
        IdP session ends (logout, or new browser cookies).
        """
        values = {
            name: (value,) if isinstance(value, str) else tuple(value)
            for name, value in attributes.items()
        }
        self.users[username] = IdPUser(username=username, password=password, attributes=values)
        self._write_users()

    def _write_users(self) -> None:
        text = render_authsources(list(self.users.values()))
        _write_atomically(self.root / "config" / "authsources.php", text.encode("utf-8"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float) -> tuple[int, bytes]:
    """GET without proxies; the status and body, also of an HTTP error."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code), exc.read()


def wait_until_serving(
    process: subprocess.Popen[bytes],
    url: str,
    *,
    ready: Callable[[int, bytes], bool],
    timeout: float = STARTUP_TIMEOUT,
    log: Callable[[], str] = str,
) -> bytes:
    """Poll ``url`` until ``ready(status, body)``; the body. Fails the test (never skips) if
    the process exits or ``timeout`` seconds pass, with ``log()`` in the message."""
    deadline = time.monotonic() + timeout
    status, body, error = 0, b"", ""
    while time.monotonic() < deadline and process.poll() is None:
        try:
            status, body = http_get(url, timeout=2.0)
        except OSError as exc:  # not listening yet
            error = repr(exc)
        else:
            if ready(status, body):
                return body
        time.sleep(POLL_INTERVAL)
    pytest.fail(
        f"{url} was not ready within {timeout:.0f} s (exit code {process.poll()}, last HTTP "
        f"status {status}, last error {error}, body {body[:500]!r})\n{log()}",
        pytrace=False,
    )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stop a server by its process ID: SIGTERM, then SIGKILL if it lingers.

    A process started with ``start_new_session=True`` leads its own process group (its ID
    is the group's), and the signal goes to that group: a server's worker or reloader
    processes stop with it.
    """
    if process.poll() is not None:
        return
    own_group = os.getpgid(process.pid) == process.pid

    def send(sig: signal.Signals) -> None:
        try:
            if own_group:
                os.killpg(process.pid, sig)
            else:
                os.kill(process.pid, sig)
        except ProcessLookupError:
            pass

    send(signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait(timeout=5)


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


def _write_tree(root: Path, idp_key: KeyPair, certificates: Mapping[str, bytes]) -> None:
    for name in (
        "config",
        "metadata",
        "metadata/sp",
        "metadata/console",
        "cert",
        "log",
        "data",
        "tmp",
        "sessions",
    ):
        (root / name).mkdir()
    (root / CONSOLE_SPS).write_text(render_sp_entries([]))
    (root / "docroot").mkdir()
    shutil.copyfile(CONFIG / "config.php", root / "config" / "config.php")
    for name in ("saml20-idp-hosted.php", "saml20-sp-remote.php"):
        shutil.copyfile(CONFIG / name, root / "metadata" / name)
    (root / "cert" / "idp.key").write_bytes(idp_key.key_pem)
    (root / "cert" / "idp.key").chmod(0o600)
    (root / "cert" / "idp.crt").write_bytes(idp_key.cert_pem)
    for name, pem in certificates.items():
        (root / "cert" / name).write_bytes(pem)
    # The files the fixtures rewrite while the server runs are left out of PHP's OPcache.
    rewritten = (root / "config" / "authsources.php", root / CONSOLE_SPS)
    (root / "opcache-blacklist.txt").write_text("".join(f"{path}\n" for path in rewritten))
    # baseurlpath is 'simplesaml/': the docroot holds only that name, pointing at www/.
    (root / "docroot" / "simplesaml").symlink_to(SSP_WWW, target_is_directory=True)


@contextmanager
def start(
    root: Path,
    *,
    idp_key: KeyPair,
    users: Sequence[IdPUser] = (),
    certificates: Mapping[str, bytes] | None = None,
    sp_metadata: Mapping[str, bytes] | None = None,
) -> Iterator[SimpleSAMLphp]:
    """Run SimpleSAMLphp from the empty directory ``root`` until the block ends.

    Args:
        root: where its configuration, keys, sessions and logs go.
        idp_key: the IdP's signing key pair.
        users: the users of its login form.
        certificates: more files for its certificate directory (hand-written SP entries
            name them), by file name.
        sp_metadata: SP metadata XML to load, by a name for its file (see
            :meth:`SimpleSAMLphp.register_sp`).
    """
    php = _require_installation()
    _write_tree(root, idp_key, certificates or {})
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    base_url = f"{origin}/simplesaml/"
    server = SimpleSAMLphp(
        base_url=base_url,
        origin=origin,
        entity_id=f"{base_url}saml2/idp/metadata.php",
        metadata_xml=b"",
        idp_key=idp_key,
        root=root,
        pid=0,
        users={user.username: user for user in users},
    )
    server._write_users()
    for name, xml in (sp_metadata or {}).items():
        server.register_sp(name, xml)
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
            [
                php,
                # PHP's built-in server caches compiled scripts (OPcache, revalidated every
                # 2 s by default): authsources.php, which set_user rewrites, and the SPs of
                # register_sp_values are left out of it.
                "-d",
                f"opcache.blacklist_filename={root / 'opcache-blacklist.txt'}",
                "-S",
                f"127.0.0.1:{port}",
                "-t",
                str(root / "docroot"),
            ],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
    try:
        metadata_xml = wait_until_serving(
            process,
            server.metadata_url,
            ready=lambda status, body: status == 200 and b"IDPSSODescriptor" in body,
            log=server.log,
        )
        users_by_name = server.users
        yield SimpleSAMLphp(
            base_url=base_url,
            origin=origin,
            entity_id=server.entity_id,
            metadata_xml=metadata_xml,
            idp_key=idp_key,
            root=root,
            pid=process.pid,
            users=users_by_name,
            console_sps=server.console_sps,
        )
    finally:
        stop_process(process)
