"""The ports of the administrators' features, re-exported by :mod:`samljit.protocols`: verified
email domains (:class:`DomainStore`, :class:`TxtResolver`) and the login history
(:class:`LoginHistory`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

__all__ = ["DomainChallenge", "DomainStore", "LoginHistory", "LoginRecord", "TxtResolver"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainChallenge:
    """A domain an account has added, with the token that proves it: the account owns the
    domain once ``record_value`` was found in the TXT records of ``record_name``."""

    account_id: str
    domain: str
    """Normalized: ASCII lower case, an internationalized domain as its ``xn--`` A-label."""
    token: str
    created_at: datetime
    verified_at: datetime | None = None
    """When the TXT record was found; None while the domain is not verified."""

    @property
    def record_name(self) -> str:
        """The DNS name of the TXT record to publish: ``_samljit-challenge.<domain>``."""
        return f"_samljit-challenge.{self.domain}"

    @property
    def record_value(self) -> str:
        """The TXT record's value: ``samljit-domain-verification=<token>``."""
        return f"samljit-domain-verification={self.token}"

    @property
    def verified(self) -> bool:
        """Whether the account owns the domain."""
        return self.verified_at is not None


@runtime_checkable
class DomainStore(Protocol):
    """The domains accounts have added and verified (:class:`samljit.domains.DomainVerifier`).

    Several accounts may hold a challenge for one domain; at most one of them has verified
    it. ``mark_verified`` must be atomic across processes: of two accounts verifying one
    domain at once, one wins (SQL: a unique index on the domain of verified rows).
    """

    def add(self, challenge: DomainChallenge) -> DomainChallenge:
        """Keep ``challenge``, or return the one the account already holds for the domain."""
        ...

    def get(self, account_id: str, domain: str) -> DomainChallenge | None:
        """The account's challenge for ``domain`` (normalized), or None."""
        ...

    def domains_of(self, account_id: str) -> list[DomainChallenge]:
        """The account's domains, verified or not, sorted by domain."""
        ...

    def owner(self, domain: str) -> str | None:
        """The account that has verified exactly ``domain``, or None."""
        ...

    def mark_verified(self, account_id: str, domain: str, *, at: datetime) -> bool:
        """Record that the account proved ``domain``; False (and nothing changed) when another
        account has verified it, or the account holds no challenge for it."""
        ...

    def remove(self, account_id: str, domain: str) -> None:
        """Forget the account's challenge (and so its ownership) for ``domain``."""


@runtime_checkable
class TxtResolver(Protocol):
    """Looks TXT records up (the default is :class:`samljit.domains.DnsTxtResolver`).

    Tests and apps with their own DNS client plug in any object with this method::

        class FixedTxt:
            def __init__(self, records: dict[str, list[str]]) -> None:
                self.records = records

            def txt(self, name: str) -> list[str]:
                return self.records.get(name, [])
    """

    def txt(self, name: str) -> list[str]:
        """The values of the TXT records of ``name`` (each record's strings joined); an empty
        list when the name does not exist or has none.

        Raises:
            DnsTimeout: ``dns_timeout``, no answer in time.
            DnsFailed: ``dns_failed``, the servers answered with a failure.
        """
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginRecord:
    """One SSO login or refusal, as the account's administrators see it."""

    at: datetime
    account_id: str
    outcome: str
    """``"succeeded"`` or ``"refused"``."""
    email: str | None = None
    """The verified address (the IdP's signed word); None when the refusal came before the
    response was verified."""
    code: str | None = None
    """The refusal's error code (docs/errors.md)."""
    reason: str | None = None
    """The refusal in plain words (:data:`samljit.history.REFUSAL_REASONS`)."""


@runtime_checkable
class LoginHistory(Protocol):
    """Each account's recent SSO logins and refusals, bounded: a store keeps the last N of
    each account (the reference stores: 200) and drops older ones as it records."""

    def record(self, record: LoginRecord) -> None:
        """Keep ``record``, dropping the account's oldest beyond the bound."""

    def recent(self, account_id: str, limit: int = 50) -> list[LoginRecord]:
        """The account's last ``limit`` records, newest first."""
        ...
