"""Verified domains: an account proves it owns an email domain by publishing a DNS TXT record.

An administrator adds a domain and gets a record to publish (:class:`DomainVerifier.add`);
:class:`DomainVerifier.verify` looks it up through a :class:`~samljit.protocols.TxtResolver`
(by default :class:`DnsTxtResolver`, on dnspython: ``pip install 'samljit[dns]'``). A domain
one account has verified cannot be claimed by another. Verified domains feed the domain
ownership rule and home-realm discovery of the login services::

    service = LoginService(..., account_for_domain=domain_owner_hook(domain_store))
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from ._domains import parse_domain
from ._extras import missing_extra
from .errors import DnsFailed, DnsTimeout, DomainNotAdded, DomainNotVerified, DomainTaken
from .protocols import DomainChallenge, DomainStore, TxtResolver

__all__ = ["DnsTxtResolver", "DomainVerifier", "domain_owner_hook", "parse_domain"]


def domain_owner_hook(store: DomainStore) -> Callable[[str], str | None]:
    """The ``account_for_domain`` hook of :class:`~samljit.LoginService` from ``store``: the
    account that has verified a domain, or None (unverified challenges own nothing).

    Args:
        store: where the accounts' domains are kept.
    """

    def account_for_domain(domain: str) -> str | None:
        return store.owner(domain)

    return account_for_domain


class DomainVerifier:
    """Adds, verifies and removes the domains of accounts.

    Args:
        store: where the domains and their tokens are kept.
        resolver: looks the TXT records up; a :class:`DnsTxtResolver` on the system's DNS
            servers when None.
        clock: the current time; ``datetime.now(UTC)`` when None.
    """

    def __init__(
        self,
        store: DomainStore,
        *,
        resolver: TxtResolver | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.resolver = resolver if resolver is not None else DnsTxtResolver()
        self.clock = clock or (lambda: datetime.now(UTC))

    def add(self, account_id: str, domain: str) -> DomainChallenge:
        """The challenge to publish for ``domain``: a new random token, or the account's
        existing one (adding twice gives the same record).

        Raises:
            DomainInvalid: ``domain_invalid``, not a domain samljit accepts.
            DomainTaken: ``domain_taken``, another account has verified it.
        """
        name = parse_domain(domain)
        self._refuse_if_taken(account_id, name)
        return self.store.add(
            DomainChallenge(
                account_id=account_id,
                domain=name,
                token=secrets.token_urlsafe(24),
                created_at=self.clock(),
            )
        )

    def verify(self, account_id: str, domain: str) -> DomainChallenge:
        """Look the account's TXT record up and, when it holds the token, record the account
        as the domain's owner. Verifying a verified domain again looks nothing up.

        Raises:
            DomainInvalid: ``domain_invalid``, not a domain samljit accepts.
            DomainNotAdded: ``domain_not_added``, the account has not added it.
            DomainTaken: ``domain_taken``, another account has verified it.
            DomainNotVerified: ``domain_not_verified``, the record is missing or holds
                another value.
            DnsTimeout: ``dns_timeout``, the DNS servers did not answer in time.
            DnsFailed: ``dns_failed``, they answered with a failure.
        """
        name = parse_domain(domain)
        challenge = self.store.get(account_id, name)
        if challenge is None:
            raise DomainNotAdded(
                f"account {account_id!r} has not added the domain {name!r}: add it first to "
                "get the TXT record to publish",
                found=name,
            )
        if challenge.verified:
            return challenge
        self._refuse_if_taken(account_id, name)
        values = self.resolver.txt(challenge.record_name)
        if challenge.record_value not in values:
            raise DomainNotVerified(
                f"the TXT records of {challenge.record_name} do not hold this account's token "
                f"({len(values)} record(s) found): publish {challenge.record_value!r} there, "
                "wait for DNS to update, and verify again",
                expected=challenge.record_value,
                found=[value[:80] for value in values[:10]],
            )
        if not self.store.mark_verified(account_id, name, at=self.clock()):
            self._refuse_if_taken(account_id, name)
            raise DomainNotAdded(  # removed while it was being looked up
                f"account {account_id!r} no longer holds the domain {name!r}", found=name
            )
        verified = self.store.get(account_id, name)
        assert verified is not None  # mark_verified returned True: the row is there
        return verified

    def remove(self, account_id: str, domain: str) -> None:
        """Forget the account's domain (its ownership ends).

        Raises:
            DomainInvalid: ``domain_invalid``, not a domain samljit accepts.
        """
        self.store.remove(account_id, parse_domain(domain))

    def _refuse_if_taken(self, account_id: str, domain: str) -> None:
        owner = self.store.owner(domain)
        if owner is not None and owner != account_id:
            raise DomainTaken(
                f"the domain {domain!r} is verified by another account; it can be added only "
                "after that account removes it",
                found=domain,
            )


class DnsTxtResolver:
    """A :class:`~samljit.protocols.TxtResolver` on dnspython (the ``dns`` extra).

    Args:
        nameservers: IP addresses of the DNS servers to ask; the system's (resolv.conf)
            when None.
        port: their port.
        timeout: seconds for the whole lookup, retries included.
    """

    def __init__(
        self, *, nameservers: Sequence[str] | None = None, port: int = 53, timeout: float = 5.0
    ) -> None:
        self.nameservers = None if nameservers is None else list(nameservers)
        self.port = port
        self.timeout = timeout

    def txt(self, name: str) -> list[str]:
        """The TXT values of ``name``; see :meth:`samljit.protocols.TxtResolver.txt`.

        Raises:
            DnsTimeout: ``dns_timeout``.
            DnsFailed: ``dns_failed``.
            ModuleNotFoundError: dnspython is not installed (``samljit[dns]``).
        """
        try:
            import dns.exception
            import dns.resolver
        except ImportError as error:
            raise missing_extra(__name__, "dns", error) from error
        resolver = dns.resolver.Resolver(configure=self.nameservers is None)
        if self.nameservers is not None:
            resolver.nameservers = self.nameservers
        resolver.port = self.port
        resolver.lifetime = self.timeout
        resolver.timeout = self.timeout
        try:
            answer = resolver.resolve(name, "TXT", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.Timeout as error:
            raise DnsTimeout(
                f"no DNS server answered the TXT lookup of {name} within {self.timeout} s: "
                "try again; if it lasts, check the DNS servers the app uses",
                found=name,
            ) from error
        except dns.exception.DNSException as error:
            raise DnsFailed(
                f"the TXT lookup of {name} failed at the DNS servers "
                f"({type(error).__name__}): try again later",
                found=name,
            ) from error
        return [
            b"".join(record.strings).decode("utf-8", "replace") for record in answer.rrset or ()
        ]
