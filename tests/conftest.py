"""Shared fixtures: one test IdP (key generation is slow), an SP, a fixed clock, each login
service, and a PostgreSQL server with a database per test (started only for the tests that ask
for one: see ``tests/postgres.py``)."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import samljit
from samljit.testing import IssuedResponse, TestIdP

from .postgres import PostgresServer, running_server
from .services import async_service_factory

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
SP_ENTITY_ID = "https://app.example.com/saml/acme"
ACS_URL = "https://app.example.com/saml/acme/acs"
INTEROP = Path(__file__).resolve().parents[1].parent / "shared" / "interop"


@pytest.fixture(autouse=True)
def _signature_differential(monkeypatch: pytest.MonkeyPatch) -> None:
    """With SAMLJIT_SIGNATURE_DIFFERENTIAL=1, every signature any test verifies is judged by
    both signature paths, which must agree (``tests/signature_paths.py``)."""
    if os.environ.get("SAMLJIT_SIGNATURE_DIFFERENTIAL"):
        from .signature_paths import install

        install(monkeypatch)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Under SAMLJIT_SIGNATURE_DIFFERENTIAL, how many signatures both paths judged, and how."""
    if os.environ.get("SAMLJIT_SIGNATURE_DIFFERENTIAL"):
        from .signature_paths import TALLY

        terminalreporter.write_line(f"signature differential: {dict(sorted(TALLY.items()))}")


@pytest.fixture(scope="session")
def test_idp() -> TestIdP:
    return TestIdP(entity_id="https://idp.example.test/metadata")


@pytest.fixture(scope="session")
def idp(test_idp: TestIdP) -> samljit.IdentityProvider:
    return samljit.parse_idp_metadata(test_idp.metadata_xml, now=NOW).idp


@pytest.fixture(scope="session")
def sp() -> samljit.SPConfig:
    return samljit.SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL)


@pytest.fixture
def issue(test_idp: TestIdP) -> Callable[..., IssuedResponse]:
    """Issue a response for the test SP at NOW; keyword arguments change any knob."""

    def _issue(**knobs: Any) -> IssuedResponse:
        knobs.setdefault("sp_entity_id", SP_ENTITY_ID)
        knobs.setdefault("acs_url", ACS_URL)
        knobs.setdefault("now", NOW)
        knobs.setdefault("name_id", "ada@acme.test")
        knobs.setdefault("attributes", {"full_name": ["Ada Lovelace"], "role": ["developer"]})
        return test_idp.issue_response(**knobs)

    return _issue


@pytest.fixture
def verify(idp: samljit.IdentityProvider, sp: samljit.SPConfig) -> Callable[..., samljit.Assertion]:
    """Verify a form value (str) or XML (bytes) as the test SP at NOW, IdP-initiated allowed."""

    def _verify(message: str | bytes, **options: Any) -> samljit.Assertion:
        options.setdefault("idp", idp)
        options.setdefault("sp", sp)
        options.setdefault("now", NOW)
        cache = options.pop("replay_cache", None)
        if cache is None:
            cache = samljit.MemoryReplayCache()
        if "in_response_to" not in options:
            options.setdefault("allow_unsolicited", True)
        if isinstance(message, bytes):
            # verify_response_xml is pure: the replay write is the caller's.
            verified = samljit.verify_response_xml(message, **options)
            samljit._response.record_replay(cache, verified, now=options["now"])
            return verified.assertion
        options["replay_cache"] = cache
        return samljit.verify_response(message, **options)

    return _verify


@pytest.fixture(params=["sync", "async"])
def login_service(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Builds the service under test from ``LoginService``'s arguments: ``[sync]`` the
    LoginService itself, ``[async]`` an AsyncLoginService over async versions of the given
    stores and hooks, driven from synchronous code on this test's event loop (see
    ``tests/services.py``)."""
    if request.param == "sync":
        yield samljit.LoginService
        return
    with asyncio.Runner() as runner:
        yield async_service_factory(runner)


# --- PostgreSQL ---------------------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that asks for the server itself ``postgresql`` too."""
    for item in items:
        if "postgresql_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgresql)


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgresServer]:
    """One throw-away cluster for the session, started on first use."""
    with running_server() as server:
        yield server


_DATABASE_NUMBERS = itertools.count(1)


@pytest.fixture
def postgresql_url(postgresql_server: PostgresServer) -> Iterator[str]:
    """A SQLAlchemy URL (``postgresql+psycopg://``) of a new, empty database, dropped after
    the test (with any connection the test left open)."""
    name = f"samljit_test_{next(_DATABASE_NUMBERS)}"
    postgresql_server.create_database(name)
    yield postgresql_server.url(name)
    postgresql_server.drop_database(name)
