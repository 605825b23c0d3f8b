"""Load benchmark: IdP-initiated JIT logins through a real ASGI server with 2 workers.

    bash benchmarks/run.sh load [--duration 20] [--connections 24] [--workers 2] ...

One command starts, in a fresh temporary folder:

- redis-server on a free 127.0.0.1 port (no persistence), stopped by its PID at the end;
- uvicorn with ``--workers 2`` serving benchmarks/load_app.py: FastAPI, the samljit FastAPI
  adapter over AsyncLoginService, users and accounts in SQLite (WAL), the replay cache and
  request store on Redis; account ``acme`` trusts a TestIdP whose key this process keeps;
- a load generator, this process: every response is signed before the timed phase (on 2
  processes), then pre-encoded HTTP/1.1 requests go over keep-alive asyncio streams.

Traffic, for ``--duration`` seconds after a short warm-up: distinct valid responses for
distinct emails (each a JIT create), plus 5 % replays of responses already accepted and 5 %
forgeries (half signed by another key, half with the NameID changed after signing). Then it
checks that every valid response was accepted exactly once and every replay and forgery got
403, that SQLite holds exactly one user per accepted email and no other, and that Redis holds
one replay key per accepted assertion. Finally it profiles one worker-equivalent: the same
app in this process under yappi (CPU clock, every thread), driven through ASGI directly.

The markdown report goes to stdout and to ``--output`` (benchmarks/results/load.md).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import dataclasses
import json
import multiprocessing
import os
import platform
import random
import re
import secrets
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
ACCOUNT = "acme"
IDP_ENTITY_ID = "https://idp.acme.test/metadata"
ROLES = ["account_administrator", "developer", "finance"]
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Of every 20 requests: one replay, one forgery, the rest valid (5 % + 5 %).
REPLAY_SLOT, FORGERY_SLOT, CYCLE = 7, 13, 20


def log(message: str) -> None:
    print(f"[load] {message}", file=sys.stderr, flush=True)


# --- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not listen on 127.0.0.1:{port} within {timeout} s")


def stop(process: subprocess.Popen[bytes] | None, what: str) -> None:
    """SIGTERM by PID, then SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        log(f"{what} (pid {process.pid}) ignored SIGTERM; killing it")
        process.kill()
        process.wait()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (every thread), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def worker_pids(master: int) -> list[int]:
    """uvicorn's worker processes: the master's children that run ``spawn_main``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            if ppid != master:
                continue
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if b"spawn_main" in cmdline:
            pids.append(int(entry))
    return sorted(pids)


# --- responses -----------------------------------------------------------------------------------

_POOL: dict[str, Any] = {}


def _pool_init(folder: str, acs_url: str, sp_entity_id: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from samljit.testing import TestIdP

    def load(name: str) -> TestIdP:
        key = serialization.load_pem_private_key((Path(folder) / f"{name}.key").read_bytes(), None)
        cert = x509.load_pem_x509_certificate((Path(folder) / f"{name}.crt").read_bytes())
        return TestIdP(entity_id=IDP_ENTITY_ID, key=key, certificate=cert)  # type: ignore[arg-type]

    _POOL.update(idp=load("idp"), forger=load("forger"), acs_url=acs_url, sp=sp_entity_id)


def _issue(name: str, email: str, now: datetime, index: int) -> str:
    issued = _POOL[name].issue_response(
        sp_entity_id=_POOL["sp"],
        acs_url=_POOL["acs_url"],
        now=now,
        name_id=email,
        attributes={
            "full_name": [f"User {index}"],
            "role": [ROLES[index % len(ROLES)]],
            "imagekit_id": [ACCOUNT],
        },
    )
    return str(issued.form_value)


def _sign_batch(job: tuple[str, int, int, float]) -> list[tuple[str, str]]:
    """(email, form value) for ``count`` responses of one kind, from ``start``."""
    import base64

    kind, start, count, timestamp = job
    now = datetime.fromtimestamp(timestamp, UTC)
    out = []
    for index in range(start, start + count):
        if kind == "valid":
            email = f"user{index:06d}@acme.test"
            out.append((email, _issue("idp", email, now, index)))
        elif kind == "profile":
            email = f"profile{index:06d}@acme.test"
            out.append((email, _issue("idp", email, now, index)))
        elif index % 2 == 0:  # forgery: a key the account does not trust
            email = f"forged{index:06d}@acme.test"
            out.append((email, _issue("forger", email, now, index)))
        else:  # forgery: signed by the trusted key, then the NameID changed
            signed = f"tamper{index:06d}@acme.test"
            xml = base64.b64decode(_issue("idp", signed, now, index))
            email = f"forged{index:06d}@acme.test"
            assert xml.count(signed.encode()) == 1
            xml = xml.replace(signed.encode(), email.encode())
            out.append((email, base64.b64encode(xml).decode("ascii")))
    return out


def sign_all(
    folder: Path, acs_url: str, sp_entity_id: str, counts: dict[str, int], processes: int
) -> dict[str, list[tuple[str, str]]]:
    now = time.time()
    jobs = []
    for kind, total in counts.items():
        step = 500
        jobs += [(kind, start, min(step, total - start), now) for start in range(0, total, step)]
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, _pool_init, (str(folder), acs_url, sp_entity_id)) as pool:
        results = pool.map(_sign_batch, jobs, chunksize=1)
    out: dict[str, list[tuple[str, str]]] = {kind: [] for kind in counts}
    for (kind, *_), batch in zip(jobs, results, strict=True):
        out[kind] += batch
    return out


def http_request(port: int, form_value: str) -> bytes:
    body = b"SAMLResponse=" + quote(form_value, safe="").encode("ascii")
    head = (
        f"POST /sso/{ACCOUNT}/acs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


# --- load generator ------------------------------------------------------------------------------


@dataclass
class Sent:
    kind: str  # valid | replay | forgery
    index: int  # into the valid (valid, replay) or forged list
    status: int
    started: float
    latency: float


@dataclass
class Traffic:
    valid: list[bytes]
    forged: list[bytes]
    next_valid: int = 0
    next_forged: int = 0
    counter: int = 0
    accepted: list[int] = field(default_factory=list)  # valid indexes answered 303
    rng: random.Random = field(default_factory=lambda: random.Random(8))

    def next(self) -> tuple[str, int, bytes] | None:
        slot = self.counter % CYCLE
        self.counter += 1
        if slot == REPLAY_SLOT and self.accepted:
            index = self.accepted[self.rng.randrange(len(self.accepted))]
            return "replay", index, self.valid[index]
        if slot == FORGERY_SLOT and self.next_forged < len(self.forged):
            self.next_forged += 1
            return "forgery", self.next_forged - 1, self.forged[self.next_forged - 1]
        if self.next_valid >= len(self.valid):
            return None
        self.next_valid += 1
        return "valid", self.next_valid - 1, self.valid[self.next_valid - 1]


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = _CONTENT_LENGTH.search(head)
    body = await reader.readexactly(int(length.group(1))) if length else b""
    return int(head[9:12]), body


async def open_balanced(
    port: int, connections: int, workers: int
) -> tuple[list[Connection], Counter[int]]:
    """``connections`` keep-alive connections, spread evenly over the worker processes.

    uvicorn's workers share one listening socket, and whichever accepts first takes a whole
    burst of new connections: left alone, one worker can get them all. A load balancer in
    front would spread them; here each new connection asks ``GET /_worker`` which process
    serves it, and connections past a worker's share are closed and opened again.
    """
    share = -(-connections // workers)
    kept: list[Connection] = []
    spread: Counter[int] = Counter()
    spare: list[Connection] = []
    for _ in range(connections * 20):
        if len(kept) == connections:
            break
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /_worker HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        status, body = await _read_response(reader)
        pid = int(body) if status == 200 else 0
        if spread[pid] < share:
            spread[pid] += 1
            kept.append((reader, writer))
        else:
            spare.append((reader, writer))
            if len(spare) > 8:  # held open a while, so that the next ones land elsewhere
                for _, idle in spare:
                    idle.close()
                spare.clear()
            await asyncio.sleep(0.002)
    for _, idle in spare:
        idle.close()
    return kept, spread


async def drive(
    port: int, traffic: Traffic, pool: list[Connection], duration: float
) -> tuple[list[Sent], float, bool, int]:
    """Send on every connection of ``pool`` for ``duration`` s; (sent, wall s, ran out, errors)."""
    sent: list[Sent] = []
    errors = 0
    exhausted = False
    start = time.perf_counter()
    deadline = start + duration

    async def loop(slot: int) -> None:
        nonlocal errors, exhausted
        reader, writer = pool[slot]
        while time.perf_counter() < deadline:
            item = traffic.next()
            if item is None:
                exhausted = True
                return
            kind, index, data = item
            began = time.perf_counter()
            writer.write(data)
            try:
                status, _ = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                errors += 1
                sent.append(Sent(kind, index, 0, began, time.perf_counter() - began))
                writer.close()
                reader, writer = pool[slot] = await asyncio.open_connection("127.0.0.1", port)
                continue
            sent.append(Sent(kind, index, status, began, time.perf_counter() - began))
            if kind == "valid" and status == 303:
                traffic.accepted.append(index)

    await asyncio.gather(*(loop(slot) for slot in range(len(pool))))
    return sent, time.perf_counter() - start, exhausted, errors


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()  # type: ignore[no-any-return]
    except ImportError:
        return asyncio.new_event_loop()


# --- profile -------------------------------------------------------------------------------------


async def _asgi_post(app: Any, body: bytes) -> int:
    """One POST to the ACS straight through the ASGI interface (no HTTP server)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/sso/{ACCOUNT}/acs",
        "raw_path": f"/sso/{ACCOUNT}/acs".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    status = 0

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _asgi_run(app: Any, bodies: Sequence[bytes], concurrency: int) -> Counter[int]:
    statuses: Counter[int] = Counter()
    queue = iter(bodies)

    async def worker() -> None:
        for body in queue:
            statuses[await _asgi_post(app, body)] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


@dataclass
class Profile:
    offload: str
    logins: int
    verify_ms: float  # samljit.verify_response_xml alone, per login, no profiler
    by_offload: dict[str, float]  # app CPU per login for each offload mode, one core
    statuses: dict[int, int]
    total_ms: float  # yappi's total per login, profiler included
    layers: list[tuple[str, float]]
    buckets: list[tuple[str, float]]
    own: list[tuple[str, float, int]]
    cumulative: list[tuple[str, float, int]]
    parts: list[tuple[str, float]] = field(default_factory=list)  # PARTS, yappi ms per login
    hand_offs: float = float("nan")  # executor submits per login, offload `thread`
    unpinned: dict[str, float] = field(default_factory=dict)  # the same on every core
    source: str = ""  # where samljit was imported from


# The summary by part (the issue's split): a part is either the cumulative time of the
# functions named (a subtree: what they call is in it) or the own time of functions in
# the modules named; "other" is the rest. The subtrees run on one thread and call none of
# the hand-off machinery, so the parts do not overlap.
PART_SUBTREES: dict[str, list[tuple[str, str]]] = {
    "verification (decode, parse, verify)": [
        ("samljit/_acs_steps.py", "_peek"),
        ("samljit/_acs_steps.py", "_verify"),
    ],
    "Redis replay check": [("stores/redis.py", "AsyncRedisReplayCache.add")],
    "account configuration": [
        ("stores/sqlite.py", "SQLiteAccountStore.get"),
        ("stores/sqlite.py", "SQLiteAccountStore.config_version"),
    ],
    "form parsing": [
        ("integrations/_starlette_bodies.py", "form"),
        ("integrations/_starlette_bodies.py", "saml_form"),
    ],
}
PART_OWN: dict[str, tuple[str, ...]] = {
    "thread hand-offs": (
        "threading",
        "concurrent/futures",
        "queue",
        "_thread",
        "contextvars",
        "asyncio/futures",
        "asyncio/base_events",
        "asyncio/events",
        "asyncio/threads",
        "samljit/_flow",
        "samljit/_async_protocols",
    ),
    "FastAPI / Starlette": ("/starlette/", "/fastapi/", "itsdangerous", "/anyio/"),
}
PARTS = [*PART_SUBTREES, *PART_OWN, "other"]


def _parts(stats: list[Any], per: float, total_ms: float) -> list[tuple[str, float]]:
    parts: dict[str, float] = {}
    inside: set[int] = set()  # ids of stats counted in a subtree: their own time is in it
    for label, functions in PART_SUBTREES.items():
        ms = 0.0
        for module, function in functions:
            found = [s for s in stats if _matches(s, module, function)]
            # A function seen under several entries (coroutines): the largest counts.
            ms += max((s.ttot for s in found), default=0.0) * per
            inside.update(id(s) for s in found)
        parts[label] = ms
    for label, needles in PART_OWN.items():
        parts[label] = per * sum(
            s.tsub
            for s in stats
            if id(s) not in inside
            and any(needle in f"{s.module} {s.name}" for needle in needles)
            # Reading the body is form parsing, counted above.
            and not (label.startswith("FastAPI") and s.name.endswith("stream"))
        )
    parts["other"] = max(0.0, total_ms - sum(parts.values()))
    return [(label, parts[label]) for label in PARTS]


# Parts of a login: (label, module path part, function name), timed by cumulative CPU.
BUCKETS: list[tuple[str, str, str]] = [
    ("SAML verification (_acs_steps._verify)", "samljit/_acs_steps.py", "_verify"),
    ("  of which XML parse (samljit._xml.parse_xml)", "samljit/_xml.py", "parse_xml"),
    ("  of which signxml XMLVerifier.verify", "signxml/verifier.py", "verify"),
    ("decoding and peeking (_acs_steps._peek)", "samljit/_acs_steps.py", "_peek"),
    ("account config: SQLiteAccountStore.get", "stores/sqlite.py", "SQLiteAccountStore.get"),
    ("  of which AccountConfig.from_dict", "samljit/_accounts.py", "from_dict"),
    ("user lookup: SQLiteUserStore.get_by_email", "stores/sqlite.py", "get_by_email"),
    ("JIT create: SQLiteUserStore.create", "stores/sqlite.py", "SQLiteUserStore.create"),
    ("replay cache: AsyncRedisReplayCache.add", "stores/redis.py", "AsyncRedisReplayCache.add"),
    ("claims: ClaimMapping.map_assertion", "samljit/_claims.py", "map_assertion"),
    ("POST body: _starlette_bodies.saml_form", "integrations/_starlette_bodies.py", "saml_form"),
    ("POST body (before): _starlette_bodies.form", "integrations/_starlette_bodies.py", "form"),
    ("cookie session: itsdangerous sign", "itsdangerous/timed.py", "sign"),
    ("audit log records (Logger._log)", "logging/__init__.py", "_log"),
]

# Layers by own CPU time: (label, substrings of yappi's module or name; first match wins).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("samljit (Python)", ("/samljit/",)),
    ("signxml (Python)", ("/signxml/",)),
    ("lxml / libxml2 (C)", ("lxml",)),
    ("cryptography / OpenSSL (C)", ("cryptography",)),
    ("sqlite3 (C)", ("sqlite3",)),
    ("redis-py client", ("/redis/", "hiredis")),
    ("FastAPI / Starlette / itsdangerous", ("/starlette/", "/fastapi/", "itsdangerous", "/anyio/")),
    (
        "asyncio, threads, futures",
        (
            "asyncio",
            "concurrent/futures",
            "threading",
            "queue",
            "uvloop",
            "selectors",
            "_thread",
            "contextvars",
        ),
    ),
    ("logging", ("logging",)),
]


def _matches(stat: Any, module: str, function: str) -> bool:
    short = function.rsplit(".", 1)[-1]
    name = str(stat.name)
    return module in stat.module and (name in (function, short) or name.endswith("." + short))


def _layer(stat: Any) -> str:
    where = f"{stat.module} {stat.name}"
    for label, needles in LAYERS:
        if any(needle in where for needle in needles):
            return label
    return "other (stdlib: json, base64, urllib, re, ...)"


class _CountingPool(concurrent.futures.ThreadPoolExecutor):
    """``--offload thread``'s one-thread pool, counting its hand-offs (calls of submit)."""

    def __init__(self) -> None:
        super().__init__(1, thread_name_prefix="samljit")
        self.hand_offs = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.hand_offs += 1
        return super().submit(fn, *args, **kwargs)


def _executor(load_app: Any, offload: str) -> Any:
    return _CountingPool() if offload == "thread" else load_app.make_executor(offload)


def _app_cpu_ms(
    load_app: Any, settings: dict[str, Any], offload: str, bodies: list[bytes], concurrency: int
) -> tuple[float, Counter[int]]:
    """App CPU per login (this process, every thread) over ``bodies``, the first 50 untimed."""
    loop = new_loop()
    try:
        executor = _executor(load_app, offload)
        if executor is not None:
            loop.set_default_executor(executor)
        app = load_app.build_app({**settings, "offload": offload})
        statuses = loop.run_until_complete(_asgi_run(app, bodies[:50], concurrency))
        started = time.process_time()
        statuses += loop.run_until_complete(_asgi_run(app, bodies[50:], concurrency))
        return (time.process_time() - started) * 1000 / max(1, len(bodies) - 50), statuses
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


def _verify_ms(
    samljit: Any, settings: dict[str, Any], forms: list[str], idp_metadata: bytes
) -> float:
    """Verification alone (what AsyncLoginService hands to a worker thread), CPU ms per
    response: the median of 5 rounds over 300 of ``forms``."""
    idp = samljit.parse_idp_metadata(idp_metadata).idp
    sp = samljit.SPConfig(entity_id=settings["sp_entity_id"], acs_url=settings["acs_url"])
    xmls = [base64.b64decode(form) for form in forms[:300]]
    now = datetime.now(UTC)
    rounds = []
    for _ in range(5):
        started = time.process_time()
        for xml in xmls:
            samljit.verify_response_xml(xml, idp=idp, sp=sp, now=now, allow_unsolicited=True)
        rounds.append((time.process_time() - started) * 1000 / len(xmls))
    return sorted(rounds)[len(rounds) // 2]


def timing(
    settings: dict[str, Any],
    forms: list[str],
    concurrency: int,
    idp_metadata: bytes,
    offload: str,
) -> dict[str, float]:
    """Without a profiler: the app's CPU per login in ``offload`` on every core and pinned
    to one, and verification alone (pinned)."""
    sys.path.insert(0, str(HERE))
    import load_app

    import samljit

    bodies = [b"SAMLResponse=" + quote(form, safe="").encode("ascii") for form in forms]
    half = len(bodies) // 2
    free, _ = _app_cpu_ms(load_app, settings, offload, bodies[:half], concurrency)
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        pinned, _ = _app_cpu_ms(load_app, settings, offload, bodies[half:], concurrency)
        verify_ms = _verify_ms(samljit, settings, forms, idp_metadata)
    finally:
        os.sched_setaffinity(0, cpus)
    return {"app_ms": pinned, "app_ms_free": free, "verify_ms": verify_ms}


def profile_app(
    settings: dict[str, Any],
    forms: list[str],
    concurrency: int,
    idp_metadata: bytes,
    offload: str,
) -> Profile:
    """The benchmark app in this process, driven through ASGI with ``concurrency`` tasks:
    CPU per login in each offload mode without a profiler, then under yappi in ``offload``."""
    sys.path.insert(0, str(HERE))
    import load_app  # the app module beside this file
    import yappi

    import samljit

    bodies = [b"SAMLResponse=" + quote(form, safe="").encode("ascii") for form in forms]

    # One worker-equivalent: one process on one core, as a uvicorn worker is on a busy
    # machine. With a second core idle, every GIL hand-off between threads would cross cores
    # and cost more than it does in the server.
    # The offload modes are also timed unpinned first, to show what the hand-offs cost when
    # the threads do land on both cores.
    modes: tuple[str, ...] = load_app.OFFLOAD
    share = len(bodies) // (2 * len(modes) + 1)
    unpinned: dict[str, float] = {}
    for number, mode in enumerate(modes):
        part = bodies[number * share : (number + 1) * share]
        unpinned[mode], _ = _app_cpu_ms(load_app, settings, mode, part, concurrency)
    cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cpus)})
    try:
        profile = _profile_pinned(
            load_app,
            yappi,
            samljit,
            settings,
            forms[len(modes) * share :],
            bodies[len(modes) * share :],
            concurrency,
            idp_metadata,
            offload,
        )
    finally:
        os.sched_setaffinity(0, cpus)
    profile.unpinned = unpinned
    return profile


def _profile_pinned(
    load_app: Any,
    yappi: Any,
    samljit: Any,
    settings: dict[str, Any],
    forms: list[str],
    bodies: list[bytes],
    concurrency: int,
    idp_metadata: bytes,
    offload: str,
) -> Profile:
    verify_ms = _verify_ms(samljit, settings, forms, idp_metadata)

    load_app_modes: tuple[str, ...] = load_app.OFFLOAD
    share = len(bodies) // (len(load_app_modes) + 1)
    by_offload: dict[str, float] = {}
    statuses: Counter[int] = Counter()
    for number, mode in enumerate(load_app_modes):
        part = bodies[number * share : (number + 1) * share]
        by_offload[mode], seen = _app_cpu_ms(load_app, settings, mode, part, concurrency)
        statuses += seen

    profiled = bodies[len(load_app_modes) * share :]
    loop = new_loop()
    try:
        executor = _executor(load_app, offload)
        if executor is not None:
            loop.set_default_executor(executor)
        app = load_app.build_app({**settings, "offload": offload})
        statuses += loop.run_until_complete(_asgi_run(app, profiled[:50], concurrency))
        submitted = getattr(executor, "hand_offs", None)
        yappi.set_clock_type("cpu")
        yappi.start(builtins=True, profile_threads=True)
        statuses += loop.run_until_complete(_asgi_run(app, profiled[50:], concurrency))
        yappi.stop()
        if submitted is not None:
            submitted = getattr(executor, "hand_offs", 0) - submitted
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
    logins = len(profiled) - 50
    stats = list(yappi.get_func_stats())
    yappi.clear_stats()

    def name(stat: Any) -> str:
        module = str(stat.module)
        for marker in ("site-packages/", "/src/", "/lib/python3"):
            if marker in module:
                module = module.split(marker, 1)[1]
                break
        return f"{stat.name} ({Path(module).name}:{stat.lineno})"

    per = 1000 / logins
    total = sum(stat.tsub for stat in stats)
    layers: Counter[str] = Counter()
    for stat in stats:
        layers[_layer(stat)] += stat.tsub * per
    buckets = []
    for label, module, function in BUCKETS:
        # A function seen under several entries (recursion, coroutines): the largest counts.
        ttot = max((s.ttot for s in stats if _matches(s, module, function)), default=0.0)
        buckets.append((label, ttot * per))
    by_own = sorted(stats, key=lambda s: s.tsub, reverse=True)[:15]
    by_cumulative = [
        s for s in sorted(stats, key=lambda s: s.ttot, reverse=True) if "/samljit/" in s.module
    ][:12]
    return Profile(
        offload=offload,
        logins=logins,
        verify_ms=verify_ms,
        by_offload=by_offload,
        statuses=dict(statuses),
        total_ms=total * per,
        layers=layers.most_common(),
        buckets=buckets,
        own=[(name(s), s.tsub * per, s.ncall) for s in by_own],
        cumulative=[(name(s), s.ttot * per, s.ncall) for s in by_cumulative],
        parts=_parts(stats, per, total * per),
        hand_offs=submitted / logins if submitted is not None else float("nan"),
        source=str(Path(samljit.__file__).parent.parent),
    )


def profile_elsewhere(folder: Path, name: str, source: str | None, job: dict[str, Any]) -> Profile:
    """:func:`profile_app` in a fresh process, with ``source`` (a folder holding the
    ``samljit`` package) first on its path when given: the code of another tree, e.g. the
    branch point, in the same run."""
    request, answer = folder / f"profile-{name}.json", folder / f"profile-{name}.out.json"
    request.write_text(json.dumps({**job, "answer": str(answer)}))
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = source
    subprocess.run([sys.executable, __file__, "--profile-job", str(request)], env=env, check=True)
    data = json.loads(answer.read_text())
    data["statuses"] = {int(k): v for k, v in data["statuses"].items()}
    return Profile(**data)


def _profile_job(path: Path) -> int:
    job = json.loads(path.read_text())
    given = (job["settings"], job["forms"], job["concurrency"], job["metadata"].encode())
    if job.get("kind") == "timing":
        answer: Any = timing(*given, job["offload"])
    else:
        answer = dataclasses.asdict(profile_app(*given, job["offload"]))
    Path(job["answer"]).write_text(json.dumps(answer))
    return 0


def timing_elsewhere(folder: Path, name: str, source: str | None, job: dict[str, Any]) -> Any:
    """:func:`timing` in a fresh process (``source`` as in :func:`profile_elsewhere`)."""
    request, answer = folder / f"timing-{name}.json", folder / f"timing-{name}.out.json"
    request.write_text(json.dumps({**job, "kind": "timing", "answer": str(answer)}))
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = source
    subprocess.run([sys.executable, __file__, "--profile-job", str(request)], env=env, check=True)
    return json.loads(answer.read_text())


# --- report --------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"Python {platform.python_version()}"]
    for package in ("samljit", "uvicorn", "uvloop", "httptools", "fastapi", "starlette"):
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            parts.append(f"{package} -")
    parts.append("redis-py " + version("redis"))
    parts.append("hiredis " + (version("hiredis") if _has("hiredis") else "-"))
    parts.append("SQLite " + sqlite3.sqlite_version)
    return ", ".join(parts)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


# --- main ----------------------------------------------------------------------------------------


@dataclass
class Phase:
    """One server run: its uvicorn settings and what the timed part measured."""

    offload: str
    warm: list[Sent]
    sent: list[Sent]
    wall: float
    exhausted: bool
    errors: int
    spread: dict[int, int]
    worker_cpu: list[float]
    redis_cpu: float
    generator_cpu: float
    machine_cpu: float  # every process on the machine, from /proc/stat
    steal: float  # time the hypervisor gave the machine's CPUs to someone else
    source: str | None = None  # PYTHONPATH of the workers (--baseline), None: this tree

    @property
    def label(self) -> str:
        return "baseline" if self.source else "this tree"

    @property
    def cpu_per_login(self) -> float:
        return self.server_cpu * 1000 / max(1, self.logins)

    @property
    def logins(self) -> int:
        return sum(1 for s in self.sent if s.kind == "valid" and s.status == 303)

    @property
    def rate(self) -> float:
        return self.logins / self.wall

    @property
    def server_cpu(self) -> float:
        return sum(self.worker_cpu)

    @property
    def others_cpu(self) -> float:
        return max(0.0, self.machine_cpu - self.server_cpu - self.redis_cpu - self.generator_cpu)


def machine_cpu_seconds() -> tuple[float, float]:
    """(CPU seconds used on this machine so far, seconds stolen by the hypervisor so far),
    from the first line of /proc/stat: user nice system idle iowait irq softirq steal."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:9]]
    used = fields[0] + fields[1] + fields[2] + fields[5] + fields[6]
    return used / CLK_TCK, fields[7] / CLK_TCK


@dataclass
class Deployment:
    folder: Path
    port: int
    workers: int
    connections: int
    loop_impl: str
    http_impl: str
    redis: subprocess.Popen[bytes]

    def command(self, offload: str) -> list[str]:
        return [
            sys.executable, "-m", "uvicorn", "load_app:app", "--app-dir", str(HERE),
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers),
            "--loop", self.loop_impl, "--http", self.http_impl, "--no-access-log",
            "--log-level", "warning", "--backlog", "4096",
        ]  # fmt: skip

    def run(
        self,
        offload: str,
        traffic: Traffic,
        warmup: float,
        duration: float,
        source: str | None = None,
    ) -> Phase:
        """Start uvicorn with ``offload`` (and samljit from ``source`` when given), warm up,
        time ``duration`` s of load, stop it."""
        settings = json.loads((self.folder / "app.json").read_text())
        (self.folder / "app.json").write_text(json.dumps({**settings, "offload": offload}))
        server_log = (self.folder / "server.log").open("ab")
        env = {**os.environ, "SAMLJIT_LOAD_DIR": str(self.folder)}
        if source is not None:
            env["PYTHONPATH"] = source
        server = subprocess.Popen(
            self.command(offload),
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        loop = new_loop()
        try:
            wait_for_port(self.port, server, "uvicorn", 30)
            workers = worker_pids(server.pid)
            if len(workers) != self.workers:
                raise SystemExit(f"found {len(workers)} uvicorn workers, not {self.workers}")
            pool, spread = loop.run_until_complete(
                open_balanced(self.port, self.connections, self.workers)
            )
            log(f"offload {offload}: connections per worker {dict(spread)}; warm-up {warmup:g} s")
            warm, _, _, warm_errors = loop.run_until_complete(
                drive(self.port, traffic, pool, warmup)
            )
            log(f"offload {offload}: {duration:g} s of load ...")
            workers_before = [cpu_seconds(pid) for pid in workers]
            redis_before = cpu_seconds(self.redis.pid)
            machine_before, steal_before = machine_cpu_seconds()
            self_before = time.process_time()
            sent, wall, exhausted, errors = loop.run_until_complete(
                drive(self.port, traffic, pool, duration)
            )
            generator_cpu = time.process_time() - self_before
            machine_after, steal_after = machine_cpu_seconds()
            worker_cpu = [
                cpu_seconds(pid) - before
                for pid, before in zip(workers, workers_before, strict=True)
            ]
            redis_cpu = cpu_seconds(self.redis.pid) - redis_before
            for _, writer in pool:
                writer.close()
        finally:
            loop.close()
            stop(server, "uvicorn")
            server_log.close()
        return Phase(
            offload=offload,
            warm=warm,
            sent=sent,
            wall=wall,
            exhausted=exhausted,
            errors=errors + warm_errors,
            spread={pid: spread[pid] for pid in sorted(spread)},
            worker_cpu=worker_cpu,
            redis_cpu=redis_cpu,
            generator_cpu=generator_cpu,
            machine_cpu=machine_after - machine_before,
            steal=steal_after - steal_before,
            source=source,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0, help="timed phase, seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed phase, seconds")
    parser.add_argument("--connections", type=int, default=24, help="keep-alive connections")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--offload",
        default="thread",
        help="the workers' default executor, where AsyncLoginService and in_thread send work: "
        "thread (one thread, the default here), threads (asyncio's pool: samljit as shipped), "
        "inline (on the loop thread), threads=N",
    )
    parser.add_argument(
        "--compare",
        default="threads",
        help="offload of a second, shorter run for comparison ('' for none)",
    )
    parser.add_argument("--compare-duration", type=float, default=8.0)
    parser.add_argument(
        "--baseline",
        metavar="SRC",
        help="a folder holding another samljit package (e.g. a worktree's src/ at the branch "
        "point): the timed phase and the profile run again with it first on PYTHONPATH, "
        "after this tree's, and the report compares the two",
    )
    parser.add_argument(
        "--alternate",
        type=int,
        default=2,
        help="with --baseline: split each code's timed phase in this many parts, taken in turns",
    )
    parser.add_argument(
        "--timing-rounds",
        type=int,
        default=3,
        help="processes that time verification and the in-process app without a profiler, "
        "per code (the codes take turns); the report gives medians",
    )
    parser.add_argument("--profile-job", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--max-rate",
        type=float,
        default=1600.0,
        help="valid responses signed beforehand = (warm-up + duration) x this (x 1000 for the "
        "comparison); a run that uses them up stops early and says so",
    )
    parser.add_argument("--loop", default="auto", help="uvicorn --loop (auto picks uvloop)")
    parser.add_argument("--http", default="auto", help="uvicorn --http (auto picks httptools)")
    parser.add_argument("--profile-logins", type=int, default=2400, help="0: no profile")
    parser.add_argument("--output", type=Path, default=HERE / "results" / "load.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI smoke run (make bench-smoke): 1 s, 4 connections, no comparison or profile, "
        "asyncio and h11, the report in the temporary folder; exit 1 if a check fails",
    )
    args = parser.parse_args(argv)
    if args.profile_job is not None:
        return _profile_job(args.profile_job)
    if args.baseline is not None:
        args.baseline = str(Path(args.baseline).resolve())
        if not (Path(args.baseline) / "samljit" / "__init__.py").is_file():
            raise SystemExit(f"--baseline {args.baseline}: no samljit package in it")
    if args.smoke:
        args.duration, args.warmup, args.compare, args.profile_logins = 1.0, 0.3, "", 0
        args.workers, args.connections, args.max_rate = 2, 4, 300.0
        args.loop, args.http, args.output = "asyncio", "h11", None
    given = list(argv if argv is not None else sys.argv[1:])
    command = "bash benchmarks/run.sh load" + (" " + shlex.join(given) if given else "")

    sys.path.insert(0, str(HERE))
    import load_app

    for offload in filter(None, (args.offload, args.compare)):
        load_app.make_executor(offload)  # a wrong name fails here, not in the workers
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")

    import samljit
    from samljit.integrations._web import sp_config
    from samljit.stores.sqlite import SQLiteAccountStore
    from samljit.testing import TestIdP, make_certificate

    load_before = os.getloadavg()
    folder = Path(tempfile.mkdtemp(prefix="samljit-load-"))
    redis_process: subprocess.Popen[bytes] | None = None
    try:
        # The IdP's key (and a forger's), shared with the signing processes through files.
        from cryptography.hazmat.primitives import serialization

        for name in ("idp", "forger"):
            key, cert = make_certificate()
            (folder / f"{name}.key").write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            (folder / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
            if name == "idp":
                metadata = TestIdP(entity_id=IDP_ENTITY_ID, key=key, certificate=cert).metadata_xml

        redis_port = free_port()
        redis_process = subprocess.Popen(
            [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1",
             "--dir", str(folder), "--save", "", "--appendonly", "no",
             "--logfile", str(folder / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(redis_port, redis_process, "redis-server", 10)

        # The database with account acme, and the app's settings.
        port = free_port()
        sp = sp_config(f"http://127.0.0.1:{port}", ACCOUNT)
        database = folder / "app.db"
        account = samljit.AccountConfig(
            account_id=ACCOUNT,
            sp=sp,
            idp_metadata=metadata,
            mapping=samljit.ClaimMapping.from_dict(
                {
                    "preset": "generic",
                    "accepted_roles": ROLES,
                    "account_attributes": ["imagekit_id"],
                }
            ),
        )
        SQLiteAccountStore(database).save(account)
        settings = {
            "database": str(database),
            "redis_url": f"redis://127.0.0.1:{redis_port}/0",
            "secret_key": secrets.token_hex(32),
            "sp_entity_id": sp.entity_id,
            "acs_url": sp.acs_url,
        }
        (folder / "app.json").write_text(json.dumps(settings))

        # Sign everything before any clock starts.
        total_valid = int((args.warmup + args.duration) * args.max_rate)
        if args.baseline:
            total_valid *= 2
        if args.compare:
            total_valid += int((args.warmup + args.compare_duration) * 1000)
        counts = {
            "valid": total_valid,
            "forged": total_valid // (CYCLE - 2) + 50,
            "profile": args.profile_logins,
        }
        log(f"signing {sum(counts.values()):,} responses on 2 processes ...")
        started = time.perf_counter()
        signed = sign_all(folder, sp.acs_url, sp.entity_id, counts, processes=2)
        log(f"signed in {time.perf_counter() - started:.1f} s")
        valid_emails = [email for email, _ in signed["valid"]]
        forged_emails = {email for email, _ in signed["forged"]}
        traffic = Traffic(
            valid=[http_request(port, form) for _, form in signed["valid"]],
            forged=[http_request(port, form) for _, form in signed["forged"]],
        )

        deployment = Deployment(
            folder=folder,
            port=port,
            workers=args.workers,
            connections=args.connections,
            loop_impl=args.loop if args.loop != "auto" else _pick("uvloop", "asyncio"),
            http_impl=args.http if args.http != "auto" else _pick("httptools", "h11"),
            redis=redis_process,
        )
        # With a baseline, the two codes take turns (--alternate parts each), so that a
        # disturbance of the shared machine lands on both alike.
        parts = max(1, args.alternate) if args.baseline else 1
        phases = []
        for _ in range(parts):
            for source in [None, *([args.baseline] if args.baseline else [])]:
                phases.append(
                    deployment.run(
                        args.offload, traffic, args.warmup, args.duration / parts, source
                    )
                )
        if args.compare:
            phases.append(deployment.run(args.compare, traffic, args.warmup, args.compare_duration))
        log("load done; checking ...")

        # --- correctness, over every request of every phase ---------------------------------
        everything = [s for phase in phases for s in phase.warm + phase.sent]
        problems: list[str] = []
        status = {
            kind: Counter(s.status for s in everything if s.kind == kind)
            for kind in ("valid", "replay", "forgery")
        }
        accepted = [s.index for s in everything if s.kind == "valid" and s.status == 303]
        if status["valid"].keys() - {303}:
            problems.append(f"valid responses not accepted: {dict(status['valid'])}")
        if len(set(accepted)) != len(accepted):
            problems.append("a valid response was accepted more than once")
        for kind in ("replay", "forgery"):
            if status[kind].keys() - {403}:
                problems.append(f"{kind} not refused with 403: {dict(status[kind])}")
        lost = sum(phase.errors for phase in phases)
        if lost:
            problems.append(f"{lost} requests lost their connection")
        with sqlite3.connect(database) as db:
            emails = [row[0] for row in db.execute("SELECT email FROM samljit_users")]
        expected = {valid_emails[i] for i in accepted}
        distinct = set(emails)
        if len(emails) != len(distinct):
            problems.append(f"duplicate users: {len(emails)} rows, {len(distinct)} emails")
        if distinct != expected:
            problems.append(
                f"users differ from accepted logins: {len(distinct - expected)} extra, "
                f"{len(expected - distinct)} missing"
            )
        if distinct & forged_emails:
            problems.append(f"{len(distinct & forged_emails)} forged emails became users")
        redis_keys = _redis_count(redis_port, f"{load_app.PREFIX}replay:*")
        if redis_keys != len(accepted):
            problems.append(f"Redis holds {redis_keys} replay keys for {len(accepted)} logins")
        codes = Counter(
            re.findall(
                r"sso acs failed ref=\w+ account=\w+ code=(\w+)",
                (folder / "server.log").read_text(errors="replace"),
            )
        )

        # --- profile -------------------------------------------------------------------------
        profiles: list[Profile] = []
        sources: list[str | None] = [None, *([args.baseline] if args.baseline else [])]
        for number, source in enumerate(sources if args.profile_logins else []):
            name = "baseline" if source else "this tree"
            log(f"profiling {args.profile_logins} logins in a process ({name}, yappi) ...")
            profile_db = folder / f"profile{number}.db"
            SQLiteAccountStore(profile_db).save(account)
            job = {
                # Each profile its own Redis database and SQLite file: the same responses.
                "settings": {
                    **settings,
                    "database": str(profile_db),
                    "redis_url": f"redis://127.0.0.1:{redis_port}/{number + 1}",
                },
                "forms": [form for _, form in signed["profile"]],
                "concurrency": max(1, args.connections // args.workers),
                "metadata": metadata.decode(),
                "offload": args.offload,
            }
            profiles.append(profile_elsewhere(folder, str(number), source, job))
            if profiles[-1].statuses.keys() - {303}:
                problems.append(f"profiled logins not all accepted: {profiles[-1].statuses}")
        profile = profiles[0] if profiles else None
        # Verification and the app's CPU without a profiler, the codes taking turns.
        timings: dict[str | None, list[dict[str, float]]] = {source: [] for source in sources}
        rounds = args.timing_rounds if args.profile_logins else 0
        for turn in range(rounds):
            for number, source in enumerate(sources):
                index = len(sources) + 1 + turn * len(sources) + number
                log(f"timing without a profiler, round {turn + 1} of {rounds} ...")
                timing_db = folder / f"timing{index}.db"
                SQLiteAccountStore(timing_db).save(account)
                job = {
                    "settings": {
                        **settings,
                        "database": str(timing_db),
                        "redis_url": f"redis://127.0.0.1:{redis_port}/{index}",
                    },
                    "forms": [form for _, form in signed["profile"]][:1000],
                    "concurrency": max(1, args.connections // args.workers),
                    "metadata": metadata.decode(),
                    "offload": args.offload,
                }
                timings[source].append(timing_elsewhere(folder, str(index), source, job))

        report = render(
            load_before=load_before,
            args=args,
            command=command,
            deployment=deployment,
            phases=phases,
            status=status,
            codes=codes,
            accepted=len(accepted),
            users=len(emails),
            distinct=len(distinct),
            redis_keys=redis_keys,
            problems=problems,
            profile=profile,
            profiles=profiles,
            timings=timings,
        )
        print(report)
        output = args.output or folder / "load.md"  # a smoke run leaves results/ alone
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report + "\n")
        log(f"wrote {output}")
        return 1 if problems else 0
    finally:
        stop(redis_process, "redis-server")
        if args.keep:
            log(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _pick(preferred: str, fallback: str) -> str:
    return preferred if _has(preferred) else fallback


def _redis_count(port: int, pattern: str) -> int:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        return sum(1 for _ in client.scan_iter(match=pattern, count=5000))
    finally:
        client.close()


def _phase_rows(phase: Phase) -> list[list[str]]:
    sent = phase.sent
    latencies = [s.latency * 1000 for s in sent if s.kind == "valid" and s.status == 303]
    anything = [s.latency * 1000 for s in sent]
    kinds = Counter(s.kind for s in sent)
    per = 1000 / max(1, len(sent))
    return [
        [
            "timed phase",
            f"{phase.wall:.1f} s"
            + (" (ran out of signed responses: stopped early)" if phase.exhausted else ""),
        ],
        [
            "**verified logins/s** (valid, JIT-created, 303)",
            f"**{phase.rate:,.0f}** (target ≥ 1,000: {'met' if phase.rate >= 1000 else 'NOT met'})",
        ],
        ["all requests/s (valid + replays + forgeries)", f"{len(sent) / phase.wall:,.0f}"],
        ["requests", ", ".join(f"{k} {v:,}" for k, v in sorted(kinds.items()))],
        [
            "login latency p50 / p90 / p99 / max",
            " / ".join(f"{percentile(latencies, q):.1f}" for q in (0.5, 0.9, 0.99, 1.0)) + " ms",
        ],
        [
            "any request latency p50 / p99",
            f"{percentile(anything, 0.5):.1f} / {percentile(anything, 0.99):.1f} ms",
        ],
        [
            "server CPU per verified login",
            f"{phase.server_cpu * 1000 / max(1, phase.logins):.2f} ms "
            f"({phase.server_cpu * per:.2f} ms per request)",
        ],
        [
            "verified logins/s per fully busy server core (1 / CPU per login)",
            f"{phase.logins / max(1e-9, phase.server_cpu):,.0f}",
        ],
        [
            "server CPU, each worker (connections)",
            " + ".join(
                f"{cpu:.1f} s ({n})"
                for cpu, n in zip(phase.worker_cpu, phase.spread.values(), strict=False)
            )
            + f" of {phase.wall:.1f} s",
        ],
        ["redis-server CPU", f"{phase.redis_cpu:.1f} s ({phase.redis_cpu * per:.3f} ms/request)"],
        [
            "load generator CPU (own process)",
            f"{phase.generator_cpu:.1f} s ({phase.generator_cpu * per:.3f} ms/request)",
        ],
        [
            "machine CPU used by anything else",
            f"{phase.others_cpu:.1f} s of {phase.wall * (os.cpu_count() or 1):.0f} core-seconds "
            f"(and {phase.steal:.1f} s stolen by the hypervisor)",
        ],
    ]


def render(**r: Any) -> str:
    args = r["args"]
    deployment: Deployment = r["deployment"]
    phases: list[Phase] = r["phases"]
    main_phase = phases[0]
    per_request = main_phase.server_cpu * 1000 / max(1, len(main_phase.sent))
    out = [
        "# Load benchmark: IdP-initiated JIT logins through uvicorn",
        "",
        f"Command: `{r['command']}`",
        "",
        f"Machine: {os.cpu_count()} CPUs, {versions()}.",
        "",
        f"Server: `uvicorn load_app:app --workers {args.workers} --loop {deployment.loop_impl} "
        f"--http {deployment.http_impl} --no-access-log --log-level warning` "
        "(benchmarks/load_app.py: FastAPI, the samljit FastAPI adapter and "
        "SessionMiddleware, AsyncLoginService; users and account `acme` in SQLite (WAL) "
        "through `in_thread`; AsyncRedisReplayCache and AsyncRedisRequestStore on a local "
        "redis-server). Generator: this process, one uvloop event loop, "
        f"{args.connections} keep-alive HTTP/1.1 connections spread evenly over the workers, "
        "pre-encoded requests; of every 20 requests 18 are distinct valid responses for "
        "distinct emails, 1 a replay of an accepted one, 1 a forgery.",
        "",
        f"Load average (1, 5, 15 min) at the start: {_load(r['load_before'])}; at the end: "
        f"{_load(os.getloadavg())}.",
        "",
        *_against_verification(args, phases, r["profiles"], r["timings"]),
        f"## Results: offload `{main_phase.offload}`",
        "",
        f"`--offload {main_phase.offload}`: {_OFFLOAD_NOTES.get(main_phase.offload, '')}.",
        "",
        table(["metric", "value"], _phase_rows(main_phase)),
    ]
    for phase in phases[1:]:
        title = (
            f"### Baseline: samljit from `{phase.source}`, same server and offload otherwise"
            if phase.source
            else f"### Comparison: offload `{phase.offload}`, same server otherwise"
        )
        out += [
            "",
            title,
            "",
            f"`--offload {phase.offload}`: {_OFFLOAD_NOTES.get(phase.offload, '')}.",
            "",
            table(["metric", "value"], _phase_rows(phase)),
        ]
    status = r["status"]
    out += [
        "",
        "## Correctness (warm-up and timed phases together)",
        "",
        table(
            ["check", "result"],
            [
                ["valid responses: status", _counts(status["valid"])],
                ["replays of accepted responses: status", _counts(status["replay"])],
                [
                    "forgeries (other key / NameID changed after signing): status",
                    _counts(status["forgery"]),
                ],
                ["rejection codes in the server log", _counts(r["codes"])],
                ["valid responses accepted exactly once", f"{r['accepted']:,}"],
                ["users in SQLite / distinct emails", f"{r['users']:,} / {r['distinct']:,}"],
                ["replay keys in Redis", f"{r['redis_keys']:,}"],
                [
                    "verdict",
                    "**all checks passed**"
                    if not r["problems"]
                    else "**FAILED**: " + "; ".join(r["problems"]),
                ],
            ],
        ),
    ]
    profile: Profile | None = r["profile"]
    if profile is not None:
        app_ms = profile.by_offload.get(profile.offload, float("nan"))
        out += [
            "",
            "## Where the time goes (one worker-equivalent, in-process)",
            "",
            "The same app (benchmarks/load_app.py `build_app`), on the same SQLite and Redis, "
            f"driven straight through ASGI by {args.connections // max(1, args.workers)} "
            "concurrent tasks on one uvloop loop in this process: uvicorn's HTTP parsing and "
            "socket work are not in it. CPU per login without a profiler (this process, every "
            "thread), by where the default executor runs the work that AsyncLoginService and "
            f"`in_thread` hand to it ({profile.hand_offs:.0f} hand-offs per login, see the first "
            "section), on 1 core (the process pinned, as a "
            "worker is on a saturated machine) and on 2 (its threads free to land on either "
            "core, where a GIL hand-off between them costs more, the more so when other "
            "processes compete: compare the server runs above):",
            "",
            table(
                ["offload (`--offload`)", "app CPU per login, on 1 core", "on 2 cores", ""],
                [
                    [
                        f"`{mode}`",
                        f"{ms:.2f} ms",
                        f"{profile.unpinned.get(mode, float('nan')):.2f} ms",
                        _OFFLOAD_NOTES.get(mode, "")
                        + (" **(this run)**" if mode == profile.offload else ""),
                    ]
                    for mode, ms in profile.by_offload.items()
                ]
                + [
                    [
                        "`verify_response_xml` alone",
                        f"{profile.verify_ms:.2f} ms",
                        "",
                        "the SAML checks with no stores, no web stack",
                    ]
                ],
            ),
            "",
            f"For scale: the uvicorn workers spent {per_request:.2f} ms per request in the "
            f"`{main_phase.offload}` run above (HTTP parsing and sockets included); the same "
            f"app in-process on 1 core {app_ms:.2f} ms.",
            "",
            f"Then {profile.logins} logins under yappi (CPU clock, every thread, 1 core, "
            f"offload `{profile.offload}`). The profiler inflates everything "
            f"({profile.total_ms:.2f} ms per login under yappi against {app_ms:.2f} ms "
            "without): compare the rows with each other.",
            "",
            table(
                ["layer (own time)", "ms per login", "share"],
                [
                    [label, f"{ms:.3f}", f"{ms / profile.total_ms:.0%}"]
                    for label, ms in profile.layers
                ],
            ),
            "",
            table(
                ["part of a login (cumulative time)", "ms per login", "share"],
                [
                    [label, f"{ms:.3f}", f"{ms / profile.total_ms:.0%}"]
                    for label, ms in profile.buckets
                ],
            ),
            "",
            "Top functions by own time:",
            "",
            table(
                ["function", "own ms per login", "calls"],
                [[f"`{n}`", f"{ms:.3f}", f"{c:,}"] for n, ms, c in profile.own],
            ),
            "",
            "Top samljit functions by cumulative time:",
            "",
            table(
                ["function", "cumulative ms per login", "calls"],
                [[f"`{n}`", f"{ms:.3f}", f"{c:,}"] for n, ms, c in profile.cumulative],
            ),
        ]
    return "\n".join(out)


_OFFLOAD_NOTES = {
    "threads": "asyncio's default pool (min(32, CPUs + 4) threads): samljit as shipped, "
    "what `asyncio.to_thread` uses unless the app says otherwise",
    "thread": "a one-thread pool per worker: verification and store calls stay off the "
    "event loop, one at a time",
    "inline": "an executor that runs each call at once on the loop thread: no threads (a "
    "SQLite lock wait then stalls the loop)",
}


def _load(averages: Sequence[float]) -> str:
    return " / ".join(f"{value:.2f}" for value in averages)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else float("nan")


def _against_verification(
    args: Any,
    phases: list[Phase],
    profiles: list[Profile],
    timings: dict[str | None, list[dict[str, float]]],
) -> list[str]:
    """The headline: server CPU per verified login against the verification CPU per login
    of the same code in the same run, and the profile summary by part."""
    rows = []
    sources = list(dict.fromkeys(p.source for p in phases if p.offload == args.offload))
    for number, source in enumerate(sources):
        mine = [p for p in phases if p.offload == args.offload and p.source == source]
        logins = sum(p.logins for p in mine)
        cpu_ms = sum(p.server_cpu for p in mine) * 1000 / max(1, logins)
        rate = logins / sum(p.wall for p in mine)
        profile = profiles[number] if number < len(profiles) else None
        timed = timings.get(source, [])
        verify = _median([t["verify_ms"] for t in timed])
        ratio = cpu_ms / verify
        verdict = "" if ratio != ratio else (" ok" if ratio <= 2.0 else " MISS")
        in_process = (
            f"{_median([t['app_ms'] for t in timed]):.3f} / "
            f"{_median([t['app_ms_free'] for t in timed]):.3f} ms"
            if timed
            else ""
        )
        rows.append(
            [
                mine[0].label + (f" (`{source}`)" if source else ""),
                f"{rate:,.0f}",
                f"{cpu_ms:.3f} ms",
                f"{verify:.3f} ms",
                f"{ratio:.2f}x{verdict}",
                f"{profile.hand_offs:.2f}" if profile is not None else "",
                in_process,
                f"{sum(p.others_cpu for p in mine):.1f} s",
            ]
        )
    out = [
        "## Server CPU per login against verification",
        "",
        "Server CPU per verified login: the uvicorn workers' CPU over the timed phase (every "
        "request: valid, replays, forgeries) divided by the logins accepted. Verification CPU "
        "per login, in this run, on responses of the same kind: `samljit.verify_response_xml` "
        "on the decoded XML (parse, signature, every SAML check, extraction), no stores, no "
        "web stack, in a process of the same code pinned to one core (the median of 5 rounds "
        "of 300, then the median over `--timing-rounds` such processes, the codes taking "
        "turns). Target: the ratio at most 2x. Thread hand-offs per login: calls of the "
        "one-thread executor's `submit` in the in-process profile run (offload `thread`). "
        "In-process app CPU per login: the same app driven through ASGI without a profiler "
        "in those processes (500 logins pinned to one core, 500 free on two; medians over "
        "the rounds). With `--baseline` the timed phases of the two codes take turns "
        "(`--alternate`), and each row sums its phases.",
        "",
        table(
            [
                "code",
                "verified logins/s",
                "server CPU per verified login",
                "verification CPU per login",
                "ratio",
                "thread hand-offs per login",
                "in-process app CPU per login, 1 core / 2 cores",
                "CPU used by other processes meanwhile",
            ],
            rows,
        ),
        "",
    ]
    if profiles:
        header = ["part of a login"]
        for profile in profiles:
            name = "baseline" if profile.source != profiles[0].source else "this tree"
            header += [f"{name}: share", f"≈ ms without profiler ({name})"]
        table_rows = []
        for index, label in enumerate(PARTS):
            row = [label]
            for profile in profiles:
                app_ms = profile.by_offload.get(profile.offload, float("nan"))
                share = profile.parts[index][1] / profile.total_ms if profile.parts else 0.0
                row += [f"{share:.0%}", f"{share * app_ms:.3f}"]
            table_rows.append(row)
        table_rows.append(
            ["**total** (app CPU per login, in-process, 1 core)"]
            + [
                cell
                for profile in profiles
                for cell in ("100%", f"{profile.by_offload.get(profile.offload, 0.0):.3f}")
            ]
        )
        out += [
            "Where a login's CPU goes, by part: the same app in-process under yappi (see the "
            "last section), each part's share of the profiled CPU, and that share of the CPU "
            "per login measured without the profiler. Verification: the peek and "
            "`verify_response_xml` subtrees; Redis replay check: `AsyncRedisReplayCache.add`; "
            "account configuration: `SQLiteAccountStore.get` and `.config_version`; form "
            "parsing: reading and "
            "decoding the POST body; thread hand-offs: own time in threading, "
            "concurrent.futures, queue, asyncio's futures and executor code and samljit's "
            "flow runner; FastAPI / Starlette: own time in starlette, fastapi, anyio, "
            "itsdangerous; other: the rest (event loop, logging, JSON, the rest of samljit).",
            "",
            table(header, table_rows),
            "",
        ]
    return out


def _counts(counter: Counter[Any]) -> str:
    return ", ".join(f"{key}: {value:,}" for key, value in sorted(counter.items())) or "none"


if __name__ == "__main__":
    sys.exit(main())
