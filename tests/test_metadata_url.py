"""Metadata by URL: the SSRF guard of the default fetcher, the URL on the account
configuration, and LoginService keeping an account's metadata fresh from it (key rollover).

The network is faked where it must be: a resolver maps made-up names to addresses, and
made-up public addresses are routed to a local HTTP server (``public_network``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import samljit
import samljit.testing
from samljit import _fetch
from samljit.stores.memory import MemoryAccountStore, MemoryReplayCache, MemoryUserStore
from samljit.testing import FixedClock, RecordingSessionIssuer, TestIdP
from tests.conftest import ACS_URL, NOW, SP_ENTITY_ID

TIMEOUT = 2.0
PUBLIC = "93.184.215.14"
"""A made-up public address of the IdP; connections to it reach the local server."""


class Server:
    """An HTTP server on 127.0.0.1: ``/metadata`` answers ``body``, ``/redirect`` sends the
    client to ``location``."""

    def __init__(self) -> None:
        outer = self
        self.body = b"<md/>"
        self.location = ""
        self.hits = 0

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", outer.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.01,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


@pytest.fixture
def public_network(monkeypatch: pytest.MonkeyPatch, server: Server) -> list[tuple[str, int]]:
    """Connections to ``PUBLIC`` reach the local server; the list records every connection."""
    connections: list[tuple[str, int]] = []

    def open_socket(address: tuple[str, int], *args: Any) -> socket.socket:
        connections.append(address)
        host, port = address
        return socket.create_connection(("127.0.0.1" if host == PUBLIC else host, port), *args)

    monkeypatch.setattr(_fetch, "_open_socket", open_socket)
    return connections


def resolver(table: dict[str, Sequence[str]]) -> _fetch.Resolver:
    def resolve(host: str, port: int) -> Sequence[str]:
        return table[host]

    return resolve


def fetch(url: str, table: dict[str, Sequence[str]], **options: Any) -> bytes:
    fetcher = samljit.urllib_fetcher(allow_http=True, resolve=resolver(table), **options)
    return fetcher(url, timeout=TIMEOUT, max_bytes=100_000)


# --- the SSRF guard ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # the cloud metadata service
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 - a string to refuse, not an address to bind
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fe80::1%eth0",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:0a00:0001::1",  # 6to4 of 10.0.0.1
        "224.0.0.1",
        "240.0.0.1",
        "::",
    ],
)
def test_a_host_at_a_non_public_address_is_refused(
    address: str, server: Server, public_network: list[tuple[str, int]]
) -> None:
    with pytest.raises(samljit.errors.MetadataFetchFailed) as caught:
        fetch(f"http://idp.example.com:{server.port}/metadata", {"idp.example.com": [address]})
    assert (caught.value.code, caught.value.found) == ("metadata_fetch_failed", "private_address")
    assert public_network == []
    assert server.hits == 0


def test_a_host_at_a_public_address_is_fetched(
    server: Server, public_network: list[tuple[str, int]]
) -> None:
    body = fetch(f"http://idp.example.com:{server.port}/metadata", {"idp.example.com": [PUBLIC]})
    assert body == server.body
    assert public_network == [(PUBLIC, server.port)]


def test_one_private_address_among_public_ones_is_refused(
    server: Server, public_network: list[tuple[str, int]]
) -> None:
    """The connection could go to any address the name resolves to."""
    with pytest.raises(samljit.errors.MetadataFetchFailed) as caught:
        fetch(
            f"http://idp.example.com:{server.port}/metadata",
            {"idp.example.com": [PUBLIC, "10.0.0.7"]},
        )
    assert caught.value.found == "private_address"
    assert server.hits == 0


def test_a_name_that_resolves_to_nothing_is_refused(server: Server) -> None:
    with pytest.raises(samljit.errors.MetadataFetchFailed) as caught:
        fetch(f"http://idp.example.com:{server.port}/metadata", {"idp.example.com": []})
    assert caught.value.found == "private_address"


def test_an_ip_literal_in_the_url_is_checked(server: Server) -> None:
    with pytest.raises(samljit.errors.MetadataFetchFailed) as caught:
        samljit.urllib_fetcher(allow_http=True)(
            f"http://127.0.0.1:{server.port}/metadata", timeout=TIMEOUT, max_bytes=1000
        )
    assert caught.value.found == "private_address"
    assert server.hits == 0


def test_a_redirect_to_a_private_address_is_refused(
    server: Server, public_network: list[tuple[str, int]]
) -> None:
    server.location = f"http://internal.example.com:{server.port}/metadata"
    with pytest.raises(samljit.errors.MetadataFetchFailed) as caught:
        fetch(
            f"http://idp.example.com:{server.port}/redirect",
            {"idp.example.com": [PUBLIC], "internal.example.com": ["192.168.0.10"]},
        )
    assert caught.value.found == "private_address"
    assert server.hits == 1  # the redirect, not the metadata


def test_the_connection_goes_to_the_checked_address(
    server: Server, public_network: list[tuple[str, int]]
) -> None:
    """A second lookup could answer differently (DNS rebinding): there is none."""
    answers = iter([[PUBLIC], ["127.0.0.1"]])

    def rebinding(host: str, port: int) -> Sequence[str]:
        return next(answers)

    fetcher = samljit.urllib_fetcher(allow_http=True, resolve=rebinding)
    assert fetcher(f"http://idp.example.com:{server.port}/metadata", timeout=TIMEOUT, max_bytes=99)
    assert public_network == [(PUBLIC, server.port)]


def test_the_next_checked_address_is_tried_when_one_does_not_answer(
    server: Server, public_network: list[tuple[str, int]]
) -> None:
    unreachable = "93.184.215.99"

    def open_socket(address: tuple[str, int], *args: Any) -> socket.socket:
        public_network.append(address)
        if address[0] == unreachable:
            raise ConnectionRefusedError
        return socket.create_connection(("127.0.0.1", address[1]), *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_fetch, "_open_socket", open_socket)
        body = fetch(
            f"http://idp.example.com:{server.port}/metadata",
            {"idp.example.com": [unreachable, PUBLIC]},
        )
    assert body == server.body
    assert public_network == [(unreachable, server.port), (PUBLIC, server.port)]


def test_private_addresses_are_fetched_when_the_app_allows_them(server: Server) -> None:
    fetcher = samljit.urllib_fetcher(allow_http=True, allow_private_addresses=True)
    body = fetcher(f"http://127.0.0.1:{server.port}/metadata", timeout=TIMEOUT, max_bytes=99)
    assert body == server.body


def test_a_metadata_source_refuses_a_private_address_by_default(server: Server) -> None:
    source = samljit.MetadataSource(f"http://127.0.0.1:{server.port}/metadata", allow_http=True)
    result = source.refresh(now=NOW)
    assert (result.code, result.error and result.error.found) == (
        "metadata_fetch_failed",
        "private_address",
    )
    assert server.hits == 0


def test_the_system_resolver_gives_the_addresses_of_a_name() -> None:
    assert "127.0.0.1" in _fetch.system_resolver("127.0.0.1", 443)


# --- the URL on the account configuration ------------------------------------------------

METADATA_URL = "https://idp.example.test/metadata.xml"


@pytest.fixture(scope="module")
def account(test_idp: samljit.testing.TestIdP) -> samljit.AccountConfig:
    return samljit.AccountConfig(
        account_id="acme",
        idp_metadata=test_idp.metadata_xml,
        idp_metadata_url=METADATA_URL,
        sp=samljit.SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL),
        mapping=samljit.ClaimMapping.from_dict({"accepted_roles": ["developer"]}),
    )


def test_the_metadata_url_survives_to_dict_and_from_dict(account: samljit.AccountConfig) -> None:
    assert samljit.AccountConfig.from_dict(account.to_dict()).idp_metadata_url == METADATA_URL


def test_a_row_written_before_metadata_urls_loads_without_one(
    account: samljit.AccountConfig,
) -> None:
    row = account.to_dict()
    del row["idp_metadata_url"]
    assert samljit.AccountConfig.from_dict(row).idp_metadata_url is None


@pytest.mark.parametrize("url", ["ftp://idp.example.test/md", "file:///etc/passwd", "https://", ""])
def test_a_metadata_url_that_is_not_http_is_refused(
    account: samljit.AccountConfig, url: str
) -> None:
    with pytest.raises(samljit.ConfigError) as caught:
        dataclasses.replace(account, idp_metadata_url=url)
    assert caught.value.code == "configuration_invalid"


# --- LoginService keeps the metadata fresh: key rollover at the IdP ----------------------

ENTITY_ID = "https://idp.rollover.test/metadata"


@dataclass
class RolloverIdP:
    """One IdP entity with its current key (``a``) and its next one (``b``); its metadata URL
    serves ``published``, and each fetch is recorded."""

    a: TestIdP
    b: TestIdP
    published: bytes = b""
    fetches: list[tuple[str, int]] = field(default_factory=list)

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> bytes:
        self.fetches.append((url, threading.get_ident()))
        return self.published


@pytest.fixture(scope="module")
def rollover_keys() -> tuple[TestIdP, TestIdP]:
    return TestIdP(ENTITY_ID), TestIdP(ENTITY_ID)


@pytest.fixture
def rollover(rollover_keys: tuple[TestIdP, TestIdP]) -> RolloverIdP:
    a, b = rollover_keys
    return RolloverIdP(a=a, b=b, published=a.metadata_xml)


@dataclass
class App:
    idp: RolloverIdP
    login_service: Callable[..., Any]
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    accounts: MemoryAccountStore = field(default_factory=MemoryAccountStore)
    service: Any = None

    def __post_init__(self) -> None:
        self.accounts.save(
            samljit.AccountConfig(
                account_id="acme",
                idp_metadata=self.idp.a.metadata_xml,  # pasted when SSO was set up
                idp_metadata_url=METADATA_URL,
                sp=samljit.SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL),
                mapping=samljit.ClaimMapping.from_dict({"accepted_roles": ["developer"]}),
            )
        )
        self.service = self.login_service(
            accounts=self.accounts,
            users=MemoryUserStore(),
            sessions=RecordingSessionIssuer(),
            replay_cache=MemoryReplayCache(),
            clock=self.clock,
            metadata_fetcher=self.idp,
        )

    def login(self, signer: TestIdP) -> samljit.LoginResult:
        issued = signer.issue_response(
            sp_entity_id=SP_ENTITY_ID,
            acs_url=ACS_URL,
            now=self.clock.now,
            name_id="ada@acme.test",
            attributes={"role": ["developer"]},
        )
        result: samljit.LoginResult = self.service.complete_login(
            {"SAMLResponse": issued.form_value}, account_id="acme"
        )
        return result

    def refused(self, signer: TestIdP) -> samljit.SamlError:
        with pytest.raises(samljit.SamlError) as caught:
            self.login(signer)
        return caught.value


@pytest.fixture
def app(rollover: RolloverIdP, login_service: Callable[..., Any]) -> App:
    return App(idp=rollover, login_service=login_service)


def test_the_metadata_url_is_fetched_on_first_use(app: App) -> None:
    """The stored copy may be of any age."""
    assert app.login(app.idp.a).user.email == "ada@acme.test"
    assert [url for url, _ in app.idp.fetches] == [METADATA_URL]


def test_the_copy_in_use_serves_logins_until_it_is_due(app: App) -> None:
    app.login(app.idp.a)
    app.clock.advance(timedelta(hours=5))
    app.login(app.idp.a)
    assert len(app.idp.fetches) == 1


def test_after_a_key_rollover_the_new_key_verifies_once_the_refresh_is_due(app: App) -> None:
    app.login(app.idp.a)
    app.idp.published = app.idp.b.metadata_xml  # the IdP switched to its next key
    app.clock.advance(timedelta(hours=1))
    assert app.refused(app.idp.b).code == "untrusted_key"  # not due yet: the old copy
    app.clock.advance(timedelta(hours=6))
    assert app.login(app.idp.b).user.email == "ada@acme.test"
    assert app.refused(app.idp.a).code == "untrusted_key"
    assert len(app.idp.fetches) == 2


def test_during_a_rollover_overlap_both_keys_verify(app: App) -> None:
    app.idp.published = app.idp.b.metadata(extra_certificates=[app.idp.a.certificate])
    app.login(app.idp.a)
    app.login(app.idp.b)


def test_the_stored_copy_serves_logins_while_the_url_fails(app: App) -> None:
    app.idp.published = b"<html>maintenance</html>"
    app.login(app.idp.a)
    source = app.service.metadata_source(app.accounts.get("acme"))
    assert source is not None
    assert source.last_result is not None
    assert source.last_result.code == "metadata_invalid"


def test_a_private_metadata_url_fails_the_login_unless_allowed(
    rollover: RolloverIdP, server: Server
) -> None:
    config = samljit.AccountConfig(
        account_id="acme",
        idp_metadata=rollover.a.metadata_xml,
        idp_metadata_url=f"http://127.0.0.1:{server.port}/metadata",
        sp=samljit.SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL),
        mapping=samljit.ClaimMapping.from_dict({"accepted_roles": ["developer"]}),
    )
    server.body = rollover.b.metadata_xml
    options: dict[str, Any] = {
        "accounts": MemoryAccountStore([config]),
        "users": MemoryUserStore(),
        "sessions": RecordingSessionIssuer(),
        "replay_cache": MemoryReplayCache(),
        "clock": FixedClock(NOW),
        "metadata_allow_http": True,
    }
    guarded = samljit.LoginService(**options)
    assert guarded.identity_provider(config).signing_certificates == (rollover.a.certificate,)
    source = guarded.metadata_source(config)
    assert source is not None
    assert source.last_result is not None
    assert source.last_result.error is not None
    assert source.last_result.error.found == "private_address"
    assert server.hits == 0
    allowed = samljit.LoginService(**options, metadata_allow_private_addresses=True)
    assert allowed.identity_provider(config).signing_certificates == (rollover.b.certificate,)


def test_an_http_metadata_url_is_refused_unless_allowed(rollover: RolloverIdP) -> None:
    config = samljit.AccountConfig(
        account_id="acme",
        idp_metadata=rollover.a.metadata_xml,
        idp_metadata_url="http://idp.example.test/metadata",
        sp=samljit.SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL),
        mapping=samljit.ClaimMapping.from_dict({"accepted_roles": ["developer"]}),
    )
    service = samljit.LoginService(
        accounts=MemoryAccountStore([config]),
        users=MemoryUserStore(),
        sessions=RecordingSessionIssuer(),
        replay_cache=MemoryReplayCache(),
        metadata_fetcher=rollover,
    )
    with pytest.raises(samljit.SamlError) as caught:
        service.identity_provider(config)
    assert caught.value.code == "configuration_invalid"
    assert rollover.fetches == []


def test_an_account_without_a_metadata_url_has_no_source(app: App) -> None:
    config = dataclasses.replace(app.accounts.get("acme"), idp_metadata_url=None)
    assert app.service.metadata_source(config) is None


def test_the_async_service_fetches_on_a_worker_thread(rollover: RolloverIdP) -> None:
    app = App(idp=rollover, login_service=samljit.AsyncLoginService)
    config = app.accounts.get("acme")
    assert config is not None
    idp = asyncio.run(app.service.identity_provider(config))
    assert idp.entity_id == ENTITY_ID
    assert [thread for _, thread in rollover.fetches] != [threading.get_ident()]
    assert len(rollover.fetches) == 1
