"""One real ``redis-server`` for the Redis tests (Debian's, installed by ``.ci/redis.sh``).

It listens on 127.0.0.1 at a free port, keeps its append-only file in its own temporary
directory with ``appendfsync always`` (an acknowledged write is on disk), and is stopped by
its process ID when the session ends. Every test starts on an empty database with the server
running, whatever the previous test did to it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

INSTALL_HINT = (
    "redis-server is not installed: run `bash .ci/redis.sh` (installs Debian's redis-server; "
    "it is also part of `make test`)"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """A ``redis-server`` process of our own: started, stopped and restarted by the tests.

    Args:
        directory: its working directory (the append-only file and the log live there).
        options: more ``redis-server`` arguments (TLS, ...).
        password: set as ``requirepass``; the tests' own clients log in with it.
    """

    def __init__(self, directory: Path, *options: str, password: str | None = None) -> None:
        executable = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.access(executable, os.X_OK):
            pytest.fail(INSTALL_HINT, pytrace=False)
        self.executable = executable
        self.directory = directory
        self.password = password
        self.options = (*options, *(("--requirepass", password) if password else ()))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.process is not None

    def start(self) -> None:
        """Start on the same port and directory as before (so it reloads its data); return
        once it answers PING."""
        assert self.process is None, "already running"
        with (self.directory / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.executable,
                    "--bind", "127.0.0.1",
                    "--port", str(self.port),
                    "--dir", str(self.directory),
                    "--save", "",
                    "--appendonly", "yes",
                    "--appendfsync", "always",
                    "--daemonize", "no",
                    "--enable-debug-command", "local",
                    *self.options,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self._answers_ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self._reap()
                log_text = (self.directory / "redis.log").read_text(errors="replace")
                pytest.fail(f"redis-server did not start on port {self.port}:\n{log_text[-2000:]}")
            time.sleep(0.02)

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        """Stop it by its process ID: SIGTERM is Redis's SHUTDOWN (it flushes and closes the
        append-only file); SIGKILL is a crash."""
        assert self.process is not None, "not running"
        os.kill(self.process.pid, how)
        self._reap()

    def restart(self, how: signal.Signals = signal.SIGTERM) -> None:
        self.stop(how)
        self.start()

    def client(self, **options: object) -> redis.Redis:
        """A client for the test itself (the caller closes it)."""
        options.setdefault("socket_timeout", 10)
        options.setdefault("password", self.password)
        return redis.Redis(host="127.0.0.1", port=self.port, **options)  # type: ignore[arg-type]

    def _reap(self) -> None:
        assert self.process is not None
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def _answers_ping(self) -> bool:
        with contextlib.closing(self.client(socket_timeout=1, socket_connect_timeout=1)) as c:
            try:
                return bool(c.ping())
            except redis.RedisError:
                return False


@contextlib.contextmanager
def running_server(
    directory: Path, *options: str, password: str | None = None
) -> Iterator[RedisServer]:
    """A server of its own for one test (one with a password, one with TLS)."""
    server = RedisServer(directory, *options, password=password)
    server.start()
    try:
        yield server
    finally:
        if server.running:
            server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with running_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(autouse=True)
def _empty_running_redis(redis_server: RedisServer) -> None:
    """Each test gets the server running (a fault test may have stopped it) and empty."""
    if not redis_server.running:
        redis_server.start()
    with contextlib.closing(redis_server.client()) as client:
        client.flushall()
