"""Verified domains (samljit.domains): the domain rule, adding and verifying through a TXT
resolver (a fake one here; tests/dns runs dnspython against a real DNS server), one owner per
domain, and the ``account_for_domain`` hook the login services take. Every store behaviour
runs against the memory and the SQLite store."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from samljit import AccountConfig, ClaimMapping, LoginService, SamlError, SPConfig
from samljit.domains import DnsTxtResolver, DomainVerifier, domain_owner_hook, parse_domain
from samljit.errors import DnsTimeout
from samljit.protocols import DomainChallenge, DomainStore, TxtResolver
from samljit.stores.memory import (
    MemoryAccountStore,
    MemoryDomainStore,
    MemoryReplayCache,
    MemoryUserStore,
)
from samljit.stores.sqlite import SQLiteDomainStore
from samljit.testing import FixedClock, RecordingSessionIssuer, TestIdP

from .conftest import ACS_URL, NOW, SP_ENTITY_ID


class FakeDns:
    """A :class:`TxtResolver` over a dict of published records (name -> values)."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.lookups: list[str] = []
        self.error: SamlError | None = None

    def txt(self, name: str) -> list[str]:
        self.lookups.append(name)
        if self.error is not None:
            raise self.error
        return self.records.get(name, [])

    def publish(self, challenge: DomainChallenge) -> None:
        self.records.setdefault(challenge.record_name, []).append(challenge.record_value)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DomainStore]:
    if request.param == "memory":
        yield MemoryDomainStore()
    else:
        sqlite = SQLiteDomainStore(tmp_path / "domains.sqlite3")
        yield sqlite
        sqlite.close()


@pytest.fixture
def dns() -> FakeDns:
    return FakeDns()


@pytest.fixture
def domains(store: DomainStore, dns: FakeDns) -> DomainVerifier:
    return DomainVerifier(store, resolver=dns, clock=FixedClock(NOW))


def error_code(call: object, *args: str) -> str:
    assert callable(call)
    with pytest.raises(SamlError) as caught:
        call(*args)
    return caught.value.code


# --- the domain rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "domain"),
    [
        ("acme.test", "acme.test"),
        ("  ACME.Test\t", "acme.test"),
        ("acme.test.", "acme.test"),
        ("eu.acme.test", "eu.acme.test"),
        ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
        ("a1-b2.co", "a1-b2.co"),
    ],
)
def test_a_domain_is_ascii_lower_cased_and_trimmed(typed: str, domain: str) -> None:
    assert parse_domain(typed) == domain


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "acme",
        "https://acme.test",
        "ada@acme.test",
        "acme.test/",
        "acme..test",
        ".acme.test",
        "acme.test..",
        "-acme.test",
        "acme-.test",
        "acme_corp.test",
        "acme.test:443",
        "*.acme.test",
        "10.0.0.1",
        "[::1]",
        "bücher.example",  # a U-label: enter the A-label
        "acme\u3000.test",
        "acme.test\u200b",
        "ab--cd.test",  # reserved: "--" at positions 3-4 is only for xn--
        "xn--zz.test",  # no valid punycode
        "xn--acme-.test",  # decodes to the ASCII label acme
        "xn--strae-oqa.test",  # stra\u00dfe: case folding changes it
        "xn--bcher-kva9876c.test",  # b\u00fccher and an invisible ZERO WIDTH JOINER
        "a" * 64 + ".test",
        ".".join(["a" * 63] * 4) + ".test",  # over 253 characters
    ],
)
def test_garbage_is_not_a_domain(typed: str) -> None:
    assert error_code(parse_domain, typed) == "domain_invalid"


# --- adding and verifying ----------------------------------------------------------------


def test_adding_a_domain_gives_a_txt_record_to_publish(domains: DomainVerifier) -> None:
    challenge = domains.add("acme", "Acme.Test")
    assert challenge.domain == "acme.test"
    assert challenge.record_name == "_samljit-challenge.acme.test"
    assert challenge.record_value == f"samljit-domain-verification={challenge.token}"
    assert len(challenge.token) >= 32
    assert (challenge.created_at, challenge.verified) == (NOW, False)


def test_adding_a_domain_twice_gives_the_same_token(domains: DomainVerifier) -> None:
    assert domains.add("acme", "acme.test") == domains.add("acme", "ACME.test.")


def test_each_account_gets_its_own_token(domains: DomainVerifier) -> None:
    assert domains.add("acme", "acme.test").token != domains.add("globex", "acme.test").token


def test_a_published_token_verifies_the_domain(domains: DomainVerifier, dns: FakeDns) -> None:
    challenge = domains.add("acme", "acme.test")
    dns.publish(challenge)
    verified = domains.verify("acme", "acme.test")
    assert (verified.verified_at, verified.token) == (NOW, challenge.token)
    assert domains.store.owner("acme.test") == "acme"
    assert dns.lookups == ["_samljit-challenge.acme.test"]


def test_the_token_may_sit_among_other_txt_records(domains: DomainVerifier, dns: FakeDns) -> None:
    challenge = domains.add("acme", "acme.test")
    dns.records[challenge.record_name] = ["v=spf1 -all", challenge.record_value]
    assert domains.verify("acme", "acme.test").verified


def test_without_the_record_the_domain_is_not_verified(domains: DomainVerifier) -> None:
    domains.add("acme", "acme.test")
    assert error_code(domains.verify, "acme", "acme.test") == "domain_not_verified"
    assert domains.store.owner("acme.test") is None


def test_another_accounts_token_does_not_verify(domains: DomainVerifier, dns: FakeDns) -> None:
    dns.publish(domains.add("globex", "acme.test"))
    domains.add("acme", "acme.test")
    assert error_code(domains.verify, "acme", "acme.test") == "domain_not_verified"
    assert domains.store.owner("acme.test") is None


def test_the_token_at_another_name_does_not_verify(domains: DomainVerifier, dns: FakeDns) -> None:
    """The record of eu.acme.test does not prove acme.test (nor the reverse)."""
    challenge = domains.add("acme", "acme.test")
    dns.records["_samljit-challenge.eu.acme.test"] = [challenge.record_value]
    dns.records["acme.test"] = [challenge.record_value]
    assert error_code(domains.verify, "acme", "acme.test") == "domain_not_verified"


def test_a_value_that_only_contains_the_token_does_not_verify(
    domains: DomainVerifier, dns: FakeDns
) -> None:
    challenge = domains.add("acme", "acme.test")
    dns.records[challenge.record_name] = [
        challenge.record_value + "x",
        "x" + challenge.record_value,
    ]
    assert error_code(domains.verify, "acme", "acme.test") == "domain_not_verified"


def test_a_domain_never_added_cannot_be_verified(domains: DomainVerifier, dns: FakeDns) -> None:
    assert error_code(domains.verify, "acme", "acme.test") == "domain_not_added"
    assert dns.lookups == []


def test_verifying_a_verified_domain_again_looks_nothing_up(
    domains: DomainVerifier, dns: FakeDns
) -> None:
    dns.publish(domains.add("acme", "acme.test"))
    first = domains.verify("acme", "acme.test")
    dns.records.clear()
    assert domains.verify("acme", "acme.test") == first
    assert len(dns.lookups) == 1


def test_a_dns_error_reaches_the_caller_and_verifies_nothing(
    domains: DomainVerifier, dns: FakeDns
) -> None:
    domains.add("acme", "acme.test")
    dns.error = DnsTimeout("no answer")
    assert error_code(domains.verify, "acme", "acme.test") == "dns_timeout"
    assert domains.store.owner("acme.test") is None


def test_the_account_lists_its_domains(domains: DomainVerifier, dns: FakeDns) -> None:
    domains.add("acme", "zeta.test")
    dns.publish(domains.add("acme", "acme.test"))
    domains.verify("acme", "acme.test")
    domains.add("globex", "globex.test")
    listed = domains.store.domains_of("acme")
    assert [(c.domain, c.verified) for c in listed] == [("acme.test", True), ("zeta.test", False)]


def test_removing_a_domain_ends_its_ownership(domains: DomainVerifier, dns: FakeDns) -> None:
    dns.publish(domains.add("acme", "acme.test"))
    domains.verify("acme", "acme.test")
    domains.remove("acme", "ACME.test")
    assert domains.store.owner("acme.test") is None
    assert domains.store.get("acme", "acme.test") is None


# --- one owner per domain ------------------------------------------------------------------


def test_a_verified_domain_cannot_be_added_by_another_account(
    domains: DomainVerifier, dns: FakeDns
) -> None:
    dns.publish(domains.add("acme", "acme.test"))
    domains.verify("acme", "acme.test")
    assert error_code(domains.add, "globex", "acme.test") == "domain_taken"
    assert domains.store.get("globex", "acme.test") is None


def test_a_domain_verified_meanwhile_cannot_be_verified_by_another_account(
    domains: DomainVerifier, dns: FakeDns
) -> None:
    """globex added the domain first and even publishes its token: acme verified first."""
    dns.publish(domains.add("globex", "acme.test"))
    dns.publish(domains.add("acme", "acme.test"))
    domains.verify("acme", "acme.test")
    assert error_code(domains.verify, "globex", "acme.test") == "domain_taken"
    assert domains.store.owner("acme.test") == "acme"


def test_the_store_makes_one_owner_even_when_both_checks_passed(store: DomainStore) -> None:
    """The race the verifier cannot see: both accounts looked the record up before either
    was marked; the store lets only the first one own the domain."""
    for account in ("acme", "globex"):
        store.add(DomainChallenge(account_id=account, domain="acme.test", token=account,
                                  created_at=NOW))  # fmt: skip
    assert store.mark_verified("acme", "acme.test", at=NOW) is True
    assert store.mark_verified("globex", "acme.test", at=NOW) is False
    assert store.mark_verified("acme", "acme.test", at=NOW + timedelta(days=1)) is True
    assert store.owner("acme.test") == "acme"
    assert store.get("acme", "acme.test").verified_at == NOW  # type: ignore[union-attr]
    assert store.get("globex", "acme.test").verified_at is None  # type: ignore[union-attr]


def test_a_challenge_removed_during_the_lookup_is_not_verified(
    store: DomainStore, dns: FakeDns
) -> None:
    class RemovingDns(FakeDns):
        def txt(self, name: str) -> list[str]:
            store.remove("acme", "acme.test")
            return [challenge.record_value]

    domains = DomainVerifier(store, resolver=RemovingDns(), clock=FixedClock(NOW))
    challenge = domains.add("acme", "acme.test")
    assert error_code(domains.verify, "acme", "acme.test") == "domain_not_added"
    assert store.owner("acme.test") is None


def test_the_owners_domain_taken_by_the_store_race_is_domain_taken(
    store: DomainStore, dns: FakeDns
) -> None:
    class RacingDns(FakeDns):
        def txt(self, name: str) -> list[str]:
            store.mark_verified("globex", "acme.test", at=NOW)
            return [challenge.record_value]

    store.add(DomainChallenge(account_id="globex", domain="acme.test", token="g", created_at=NOW))
    domains = DomainVerifier(store, resolver=RacingDns(), clock=FixedClock(NOW))
    challenge = domains.add("acme", "acme.test")
    assert error_code(domains.verify, "acme", "acme.test") == "domain_taken"
    assert store.owner("acme.test") == "globex"


# --- wiring: the login services' account_for_domain --------------------------------------


def test_the_hook_names_the_verified_owner_only(domains: DomainVerifier, dns: FakeDns) -> None:
    owner_of = domain_owner_hook(domains.store)
    dns.publish(domains.add("acme", "acme.test"))
    domains.add("globex", "globex.test")  # added, never verified
    assert owner_of("acme.test") is None
    domains.verify("acme", "acme.test")
    assert (owner_of("acme.test"), owner_of("globex.test"), owner_of("x.test")) == (
        "acme",
        None,
        None,
    )


def test_a_verified_domain_keeps_another_accounts_idp_from_provisioning_it(
    domains: DomainVerifier, dns: FakeDns, test_idp: TestIdP
) -> None:
    """One line of wiring: ``account_for_domain=domain_owner_hook(store)``; the login of
    ``newhire@acme.test`` asserted by globex's IdP is refused with ``domain_not_owned``."""
    accounts = MemoryAccountStore()
    mapping = ClaimMapping.from_dict({"accepted_roles": ["developer"]})
    sp = SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL)
    accounts.save(
        AccountConfig(
            account_id="globex", idp_metadata=test_idp.metadata_xml, sp=sp, mapping=mapping
        )
    )
    users = MemoryUserStore()
    service = LoginService(
        accounts=accounts,
        users=users,
        sessions=RecordingSessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=FixedClock(NOW),
        account_for_domain=domain_owner_hook(domains.store),
    )
    dns.publish(domains.add("acme", "acme.test"))
    domains.verify("acme", "acme.test")
    issued = test_idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        name_id="newhire@eu.acme.test",
        attributes={"role": ["developer"]},
    )
    with pytest.raises(SamlError) as caught:
        service.complete_login({"SAMLResponse": issued.form_value}, account_id="globex")
    assert (caught.value.code, caught.value.expected) == ("domain_not_owned", "acme")
    assert users.users_of("globex") == []


# --- the default resolver ------------------------------------------------------------------


def test_the_default_resolver_is_dnspython(store: DomainStore) -> None:
    assert isinstance(DomainVerifier(store).resolver, DnsTxtResolver)
    assert isinstance(DnsTxtResolver(), TxtResolver)


def test_without_dnspython_the_resolver_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dns.resolver", None)
    with pytest.raises(ModuleNotFoundError, match=r"samljit\[dns\]"):
        DnsTxtResolver(nameservers=["127.0.0.1"]).txt("_samljit-challenge.acme.test")


def test_importing_samljit_domains_does_not_import_dnspython() -> None:
    import subprocess

    code = "import samljit.domains, sys; assert 'dns' not in sys.modules, 'dns imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
