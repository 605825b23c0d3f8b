"""A throw-away PostgreSQL server for the SQL store tests (Debian's ``postgresql``, installed by
``.ci/postgresql.sh``).

One cluster per test session: ``initdb`` into a temporary directory, then ``postgres`` in the
foreground as our child, listening on 127.0.0.1 at a free port (its unix socket in the same
directory), trusting loopback connections, with durability off (``fsync``,
``synchronous_commit`` and ``full_page_writes``: nothing here must survive a crash). It is
stopped by its process ID and its directory removed when the session ends, whether the tests
passed or not. Each test gets a database of its own (:meth:`PostgresServer.create_database`).

``initdb`` refuses to run as root: as root, the cluster belongs to the ``postgres`` system user
(created by the Debian package), which runs ``initdb`` and the server; as anyone else, it is
our own.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

INSTALL_HINT = (
    "PostgreSQL is not installed (no initdb/postgres found): run `bash .ci/postgresql.sh` "
    "(installs Debian's postgresql; it is also part of `make test`)"
)
SUPERUSER = "samljit"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def find_bindir() -> Path | None:
    """The directory of ``initdb`` and ``postgres``: ``SAMLJIT_PG_BINDIR`` if set, else the
    one on PATH, else the newest ``/usr/lib/postgresql/<version>/bin`` (Debian keeps them
    off PATH)."""
    candidates: list[Path] = []
    if bindir := os.environ.get("SAMLJIT_PG_BINDIR"):
        candidates.append(Path(bindir))
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    versions = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    versions.sort(key=lambda path: [int(n) for n in re.findall(r"\d+", path)], reverse=True)
    candidates.extend(Path(path).parent for path in versions)
    for bindir_path in candidates:
        if all(os.access(bindir_path / name, os.X_OK) for name in ("initdb", "postgres")):
            return bindir_path
    return None


def on_postgresql(value: object) -> Any:
    """A parameter (of a store fixture) that runs on PostgreSQL: marked ``postgresql``, so that
    ``-m postgresql`` runs these tests alone and ``-m 'not postgresql'`` leaves them out."""
    return pytest.param(value, marks=pytest.mark.postgresql)


class PostgresServer:
    """A PostgreSQL cluster of our own in ``directory`` (which it owns; see the module doc)."""

    def __init__(self, directory: Path) -> None:
        bindir = find_bindir()
        if bindir is None:
            pytest.fail(INSTALL_HINT, pytrace=False)
        self.bindir = bindir
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        # initdb and postgres refuse root: run them as the postgres system user then.
        self.as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.fail(f"running as root, but there is no postgres user. {INSTALL_HINT}")
            os.chown(directory, owner.pw_uid, owner.pw_gid)
            self.as_user = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}

    @property
    def conninfo(self) -> str:
        """libpq connection parameters of the maintenance database ``postgres``."""
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"

    def url(self, database: str) -> str:
        """A SQLAlchemy URL (psycopg 3) of ``database``."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """``initdb`` (once), then start the server; return once it accepts connections."""
        if not self.data.exists():
            self._run(
                "initdb",
                f"--pgdata={self.data}",
                f"--username={SUPERUSER}",
                "--auth=trust",  # the cluster listens on loopback only and lives for one session
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.bindir / "postgres"),
                    "-D", str(self.data),
                    "-c", "listen_addresses=127.0.0.1",
                    "-c", f"port={self.port}",
                    "-c", f"unix_socket_directories={self.directory}",
                    "-c", "fsync=off",
                    "-c", "synchronous_commit=off",
                    "-c", "full_page_writes=off",
                    "-c", "max_connections=60",
                    "-c", "shared_buffers=32MB",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.directory,
                **self.as_user,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while not self._accepts_connections():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                text = self.log.read_text(errors="replace")
                pytest.fail(f"postgres did not start on port {self.port}:\n{text[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server by its process ID (SIGINT: PostgreSQL's fast shutdown)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def create_database(self, name: str) -> None:
        """A new empty database (from ``template0``, so nothing a test left in template1)."""
        with self.connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')  # type: ignore[arg-type]

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending any session a test left open on it."""
        with self.connect() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]

    def connect(self, database: str = "postgres") -> psycopg.Connection[Any]:
        """An autocommit connection for the fixtures themselves (the caller closes it)."""
        conninfo = self.conninfo.replace("dbname=postgres", f"dbname={database}")
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=5)

    def _run(self, program: str, *arguments: str) -> None:
        done = subprocess.run(
            [str(self.bindir / program), *arguments],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.directory,
            **self.as_user,
        )
        if done.returncode != 0:
            pytest.fail(f"{program} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def _accepts_connections(self) -> bool:
        try:
            with psycopg.connect(self.conninfo, connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False


@contextlib.contextmanager
def running_server() -> Iterator[PostgresServer]:
    """A started server in a fresh temporary directory; stopped and removed afterwards.

    Not under pytest's ``tmp_path``: as root that is private to root, and the server runs as
    ``postgres``.
    """
    directory = Path(tempfile.mkdtemp(prefix="samljit-postgresql-"))
    try:
        server = PostgresServer(directory)
        try:
            server.start()
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
