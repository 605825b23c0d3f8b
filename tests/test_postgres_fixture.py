"""The throw-away PostgreSQL server the SQL store tests run on (``tests/postgres.py``): what a
test that asks for ``postgresql_url`` can count on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, create_engine, inspect, text

from .postgres import PostgresServer


@pytest.fixture
def connection(postgresql_url: str) -> Iterator[Connection]:
    engine = create_engine(postgresql_url)
    with engine.connect() as opened:
        yield opened
    engine.dispose()


@pytest.mark.parametrize("turn", ["first", "second"])
def test_each_test_gets_a_database_of_its_own_and_empty(turn: str, connection: Connection) -> None:
    assert inspect(connection).get_table_names() == []
    connection.execute(text("CREATE TABLE left_behind (turn text)"))
    connection.execute(text("INSERT INTO left_behind VALUES (:turn)"), {"turn": turn})
    connection.commit()
    assert connection.scalar(text("SELECT current_database()")).startswith("samljit_test_")


def test_the_server_listens_on_loopback_only_and_trades_durability_for_speed(
    connection: Connection,
) -> None:
    settings = {
        name: connection.scalar(text(f"SHOW {name}"))
        for name in ("listen_addresses", "fsync", "synchronous_commit", "server_encoding")
    }
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "fsync": "off",
        "synchronous_commit": "off",
        "server_encoding": "UTF8",
    }


def test_a_test_on_the_server_is_marked_postgresql(
    request: pytest.FixtureRequest, postgresql_server: PostgresServer
) -> None:
    assert request.node.get_closest_marker("postgresql") is not None
    assert postgresql_server.process is not None
    assert postgresql_server.process.poll() is None
