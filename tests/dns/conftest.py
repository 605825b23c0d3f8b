"""A real DNS server for the verified-domain tests: Debian's ``dnsmasq`` (installed by
``.ci/dnsmasq.sh``), one per test, on 127.0.0.1 at a free port.

It serves only the TXT records the test gives (``--txt-record``) and is authoritative for
``.test`` (``--local=/test/``: any other name there is NXDOMAIN); it reads no resolv.conf and
no hosts file and forwards nothing (a name outside ``.test`` is REFUSED). It runs in the
foreground as our child and is stopped by its process ID when the test ends.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from samljit.domains import DnsTxtResolver
from samljit.errors import DomainError

INSTALL_HINT = (
    "dnsmasq is not installed: run `bash .ci/dnsmasq.sh` (installs Debian's dnsmasq-base; it "
    "is also part of `make test`)"
)


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to (at the moment of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class DnsServer:
    """A ``dnsmasq`` of our own serving ``records`` (name -> TXT values)."""

    def __init__(self, directory: Path, records: Mapping[str, Sequence[str]]) -> None:
        executable = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        if not os.access(executable, os.X_OK):
            pytest.fail(INSTALL_HINT, pytrace=False)
        self.port = free_udp_port()
        self.log = directory / "dnsmasq.log"
        config = directory / "dnsmasq.conf"
        config.write_text(
            "".join(
                f'txt-record={name},"{value}"\n'
                for name, values in records.items()
                for value in values
            )
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    executable,
                    "--keep-in-foreground",
                    f"--conf-file={config}",
                    "--no-resolv",
                    "--no-hosts",
                    "--local=/test/",
                    "--listen-address=127.0.0.1",
                    "--bind-interfaces",
                    f"--port={self.port}",
                    f"--user={_user()}",
                    "--pid-file=",
                    "--log-facility=-",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self._wait_until_it_answers()

    def resolver(self, timeout: float = 5.0) -> DnsTxtResolver:
        """A dnspython resolver that asks only this server."""
        return DnsTxtResolver(nameservers=["127.0.0.1"], port=self.port, timeout=timeout)

    def stop(self) -> None:
        """Stop it by its process ID."""
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _wait_until_it_answers(self) -> None:
        quick = self.resolver(timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                quick.txt("_ready.samljit.test")
                return
            except DomainError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    if self.process.poll() is None:
                        self.stop()
                    log = self.log.read_text(errors="replace")
                    pytest.fail(f"dnsmasq did not start on port {self.port}:\n{log[-2000:]}")


def _user() -> str:
    """dnsmasq started as root drops to ``nobody`` unless told; stay who we are."""
    return pwd.getpwuid(os.getuid()).pw_name


@pytest.fixture
def dns_server(tmp_path: Path) -> Iterator[Callable[[Mapping[str, Sequence[str]]], DnsServer]]:
    """Start a server with the given TXT records; every one started is stopped afterwards."""
    started: list[DnsServer] = []

    def start(records: Mapping[str, Sequence[str]]) -> DnsServer:
        directory = tmp_path / f"dnsmasq-{len(started)}"
        directory.mkdir()
        server = DnsServer(directory, records)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A UDP port on 127.0.0.1 bound by a socket that never answers: every query times out."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as silent:
        silent.bind(("127.0.0.1", 0))
        yield silent.getsockname()[1]
