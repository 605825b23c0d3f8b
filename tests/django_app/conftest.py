"""Django for the adapter's tests: settings configured once for the test session (only when
these tests are collected), a SQLite file migrated once and emptied after each test, and a
LoginService over the Django stores per test.

The store tests also run on PostgreSQL (``database_alias``): a second database,
``postgresql``, on the session's throw-away server (``tests/postgres.py``), created with
Django's own test-database machinery when the first such test runs and destroyed at the end.
A test on it has every query routed there by :data:`ROUTER`, as an app's router would, and
the database is emptied after it.

Other test directories never see Django: settings live in this process only after this
directory is collected, and ``tests/test_package.py`` checks a fresh interpreter.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings

_DIR = Path(tempfile.mkdtemp(prefix="samljit-django-tests-"))
POSTGRESQL = "postgresql"


class DatabaseRouter:
    """Sends every query to ``alias`` while it is set (a test on PostgreSQL), else leaves
    Django's default. Nothing migrates on PostgreSQL before its server is up: until then
    ``makemigrations --check`` must not try to reach it."""

    def __init__(self) -> None:
        self.alias: str | None = None
        self.postgresql_up = False

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return self.alias

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return self.alias

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return None if db != POSTGRESQL or self.postgresql_up else False


ROUTER = DatabaseRouter()

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="samljit-tests-only",
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "samljit.integrations.django",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        ROOT_URLCONF="tests.django_app.urls",
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(_DIR / "db.sqlite3"),
                # BEGIN IMMEDIATE: concurrent writers queue on the lock instead of failing.
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
            },
            POSTGRESQL: {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "samljit",
                "USER": "samljit",
                # HOST and PORT: the server's, filled in by django_postgresql once it runs.
                "HOST": "",
                "PORT": "",
                "TEST": {"NAME": "samljit_django_test"},
            },
        },
        DATABASE_ROUTERS=[ROUTER],
        USE_TZ=True,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        SAMLJIT_SERVICE=None,
    )
    django.setup()

from django.core.management import call_command  # noqa: E402 - needs configured settings
from django.db import DEFAULT_DB_ALIAS, connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

import samljit  # noqa: E402
from samljit.bindings import PrivateKey  # noqa: E402
from samljit.integrations._web import sp_config  # noqa: E402
from samljit.integrations.django import (  # noqa: E402
    DjangoAccountStore,
    DjangoSessionIssuer,
    DjangoUserStore,
    current_session_revoker,
)
from samljit.stores.memory import MemoryReplayCache, MemoryRequestStore  # noqa: E402
from samljit.testing import IssuedResponse, TestIdP, make_certificate  # noqa: E402

from ..conftest import NOW  # noqa: E402
from ..postgres import PostgresServer, on_postgresql  # noqa: E402

BASE = "http://testserver"
SP = sp_config(BASE, "acme")
ROLES = ["account_administrator", "developer", "finance"]
MAPPING = samljit.ClaimMapping.from_dict({"accepted_roles": ROLES})


@pytest.fixture(scope="session", autouse=True)
def django_database() -> Iterator[None]:
    call_command("migrate", verbosity=0)
    yield
    connections.close_all()
    shutil.rmtree(_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def empty_database(django_database: None) -> Iterator[None]:
    yield
    call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="session")
def django_postgresql(postgresql_server: PostgresServer) -> Iterator[str]:
    """The ``postgresql`` database: Django creates and migrates it, and destroys it at the end."""
    settings.DATABASES[POSTGRESQL].update(HOST="127.0.0.1", PORT=str(postgresql_server.port))
    ROUTER.postgresql_up = True
    creation = connections[POSTGRESQL].creation
    old_name = creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    yield POSTGRESQL
    connections.close_all()
    creation.destroy_test_db(old_name, verbosity=0)


@contextlib.contextmanager
def on_django_postgresql(request: pytest.FixtureRequest) -> Iterator[str]:
    """Route the test's queries to PostgreSQL; empty the database afterwards."""
    request.getfixturevalue("django_postgresql")
    ROUTER.alias = POSTGRESQL
    try:
        yield POSTGRESQL
    finally:
        ROUTER.alias = None
        connections.close_all()
        call_command("flush", database=POSTGRESQL, interactive=False, verbosity=0)


@pytest.fixture(params=["sqlite", on_postgresql("postgresql")])
def database_alias(request: pytest.FixtureRequest) -> Iterator[str]:
    """The database a store test runs on, by its alias: ``default`` (the SQLite file) or
    ``postgresql``. Ask for it with ``usefixtures`` ahead of fixtures that write (``site``)."""
    if request.param == "sqlite":
        yield DEFAULT_DB_ALIAS
        return
    with on_django_postgresql(request) as alias:
        yield alias


@pytest.fixture
def client() -> Client:
    return Client()


@pytest.fixture(scope="session")
def sp_pair() -> tuple[PrivateKey, Any]:
    return make_certificate(common_name="testserver SP")


@dataclass
class Site:
    """The Django site under test: its stores, service and the IdP of account acme."""

    idp: TestIdP
    service: samljit.LoginService
    accounts: DjangoAccountStore = field(default_factory=DjangoAccountStore)
    users: DjangoUserStore = field(default_factory=DjangoUserStore)

    def respond(self, **knobs: Any) -> IssuedResponse:
        """A response of the IdP for this SP, by default for Ada, developer, at NOW."""
        knobs.setdefault("sp_entity_id", SP.entity_id)
        knobs.setdefault("acs_url", SP.acs_url)
        knobs.setdefault("now", NOW)
        knobs.setdefault("name_id", "ada@acme.test")
        knobs.setdefault("attributes", {"full_name": ["Ada Lovelace"], "role": ["developer"]})
        return self.idp.issue_response(**knobs)


def build_service(sp_pair: tuple[PrivateKey, Any], **options: Any) -> samljit.LoginService:
    arguments: dict[str, Any] = {
        "accounts": DjangoAccountStore(),
        "users": DjangoUserStore(),
        "sessions": DjangoSessionIssuer(),
        "replay_cache": MemoryReplayCache(),
        "request_store": MemoryRequestStore(),
        "session_revoker": current_session_revoker,
        "clock": lambda: NOW,
        "sp_key": sp_pair[0],
        "sp_certificate": sp_pair[1],
        "account_for_domain": {"acme.test": "acme"}.get,
        **options,
    }
    return samljit.LoginService(**arguments)


@pytest.fixture
def site(test_idp: TestIdP, sp_pair: tuple[PrivateKey, Any]) -> Iterator[Site]:
    service = build_service(sp_pair)
    made = Site(idp=test_idp, service=service)
    made.accounts.save(
        samljit.AccountConfig(
            account_id="acme",
            idp_metadata=test_idp.metadata_xml,
            sp=SP,
            mapping=MAPPING,
            policy=samljit.ProvisioningPolicy(create_users="always"),
        )
    )
    with override_settings(SAMLJIT_SERVICE=service):
        yield made
