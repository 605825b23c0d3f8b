"""Domain verification through dnspython against a real DNS server (dnsmasq on loopback):
a published token verifies, a missing or wrong one does not, a timeout is a clear error."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from time import monotonic

import pytest

from samljit.domains import DnsTxtResolver, DomainVerifier, domain_owner_hook
from samljit.errors import DnsFailed, DnsTimeout, DomainNotVerified
from samljit.stores.memory import MemoryDomainStore

from .conftest import DnsServer

StartDns = Callable[[Mapping[str, Sequence[str]]], DnsServer]


def test_a_published_token_verifies_the_domain(dns_server: StartDns) -> None:
    store = MemoryDomainStore()
    challenge = DomainVerifier(store, resolver=None).add("acme", "acme.test")
    server = dns_server({challenge.record_name: ["v=spf1 -all", challenge.record_value]})
    verified = DomainVerifier(store, resolver=server.resolver()).verify("acme", "acme.test")
    assert verified.verified
    assert domain_owner_hook(store)("acme.test") == "acme"


def test_a_missing_record_does_not_verify(dns_server: StartDns) -> None:
    store = MemoryDomainStore()
    server = dns_server({"_samljit-challenge.other.test": ["samljit-domain-verification=x"]})
    domains = DomainVerifier(store, resolver=server.resolver())
    domains.add("acme", "acme.test")
    with pytest.raises(DomainNotVerified) as caught:
        domains.verify("acme", "acme.test")
    assert (caught.value.code, caught.value.found) == ("domain_not_verified", [])
    assert store.owner("acme.test") is None


def test_a_wrong_token_does_not_verify(dns_server: StartDns) -> None:
    store = MemoryDomainStore()
    domains = DomainVerifier(store, resolver=None)
    challenge = domains.add("acme", "acme.test")
    wrong = "samljit-domain-verification=" + "x" * len(challenge.token)
    domains.resolver = dns_server({challenge.record_name: [wrong]}).resolver()
    with pytest.raises(DomainNotVerified) as caught:
        domains.verify("acme", "acme.test")
    assert (caught.value.code, caught.value.found) == ("domain_not_verified", [wrong])
    assert store.owner("acme.test") is None


def test_a_long_txt_record_is_read_whole(dns_server: StartDns) -> None:
    """A TXT value over 255 bytes travels as several strings; they are joined."""
    value = "samljit-domain-verification=" + "a" * 300
    server = dns_server({"_samljit-challenge.acme.test": [value]})
    assert server.resolver().txt("_samljit-challenge.acme.test") == [value]


def test_a_server_that_does_not_answer_is_a_timeout(silent_port: int) -> None:
    resolver = DnsTxtResolver(nameservers=["127.0.0.1"], port=silent_port, timeout=0.5)
    started = monotonic()
    with pytest.raises(DnsTimeout) as caught:
        resolver.txt("_samljit-challenge.acme.test")
    assert caught.value.code == "dns_timeout"
    assert monotonic() - started < 5


def test_a_timeout_verifies_nothing(silent_port: int) -> None:
    store = MemoryDomainStore()
    resolver = DnsTxtResolver(nameservers=["127.0.0.1"], port=silent_port, timeout=0.3)
    domains = DomainVerifier(store, resolver=resolver)
    domains.add("acme", "acme.test")
    with pytest.raises(DnsTimeout):
        domains.verify("acme", "acme.test")
    assert store.owner("acme.test") is None


def test_a_refused_query_is_a_dns_failure(dns_server: StartDns) -> None:
    """The server forwards nothing: a name outside its zone is REFUSED."""
    server = dns_server({})
    with pytest.raises(DnsFailed) as caught:
        server.resolver().txt("_samljit-challenge.example.com")
    assert caught.value.code == "dns_failed"
