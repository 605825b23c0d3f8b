"""Median time of one whole login for an account configured from a ~1 MB federation aggregate:
with and without the per-worker configuration cache, storing the aggregate or the chosen IdP.

    .venv/bin/python benchmarks/account_bench.py [--rounds N] [--logins N] [--mb N] [--smoke]

Four subjects, timed in interleaved rounds of the same run (each round times each subject's
next batch of logins, in a rotating order), each on its own SQLite file (WAL,
synchronous=NORMAL) holding the account, the users and the replay cache:

- ``aggregate, no cache``: the account store without ``config_version`` (an app's own store
  that cannot tell versions, or samljit before the cache): every login reads the account's
  row (the whole aggregate, JSON-decoded) and hashes the metadata to find its parsed IdP.
- ``aggregate, cache``: ``SQLiteAccountStore`` as shipped: a login reads the row's version
  (``updated_at``) and nothing else while it is unchanged.
- ``entity, no cache`` and ``entity, cache``: the same with only the chosen IdP stored
  (``samljit.metadata.extract_idp_entity``, what the admin pages now save).

Responses are signed beforehand (the IdP's cost); each timed call is
``LoginService.complete_login`` on a distinct assertion of one of ``--users`` users (the
first login of each creates it, later ones update ``last_sso_login``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

import samljit
from samljit.metadata import extract_idp_entity
from samljit.stores.sqlite import SQLiteAccountStore, SQLiteReplayCache, SQLiteUserStore
from samljit.testing import TestIdP

NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
SUBJECTS = ["aggregate, no cache", "aggregate, cache", "entity, no cache", "entity, cache"]


class WithoutVersions:
    """An account store that cannot tell versions: every login reads the configuration."""

    def __init__(self, store: SQLiteAccountStore) -> None:
        self.store = store

    def get(self, account_id: str) -> samljit.AccountConfig | None:
        return self.store.get(account_id)

    def find_by_idp_entity_id(self, entity_id: str) -> list[samljit.AccountConfig]:
        return self.store.find_by_idp_entity_id(entity_id)

    def save(self, config: samljit.AccountConfig) -> None:
        self.store.save(config)

    def delete(self, account_id: str) -> None:
        self.store.delete(account_id)


def federation_aggregate(idp: TestIdP, megabytes: float) -> bytes:
    """An EntitiesDescriptor of about ``megabytes``: ``idp`` in the middle of other IdPs."""
    root = etree.Element(f"{{{NS_MD}}}EntitiesDescriptor", nsmap={"md": NS_MD})
    root.set("Name", "https://federation.example.org")
    size = len(idp.metadata_xml)
    members = max(2, int(megabytes * 1_000_000 / size))
    for member in range(members):
        entity = etree.fromstring(idp.metadata_xml)
        if member != members // 2:
            entity.set("entityID", f"https://idp{member}.member.example.org/idp/shibboleth")
        root.append(entity)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (default 10)")
    parser.add_argument("--logins", type=int, default=100, help="logins per subject per round")
    parser.add_argument("--users", type=int, default=50, help="distinct users (default 50)")
    parser.add_argument("--mb", type=float, default=1.0, help="aggregate size in MB (default 1)")
    parser.add_argument(
        "--smoke", action="store_true", help="CI smoke run: one tiny round; exit 1 if it fails"
    )
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.logins, args.users, args.mb = 1, 6, 3, 0.1
    return run(args)


def run(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    idp = TestIdP(entity_id="https://idp.university.example.org/idp/shibboleth")
    sp = samljit.SPConfig(
        entity_id="https://app.example.com/saml/acme",
        acs_url="https://app.example.com/saml/acme/acs",
    )
    aggregate = federation_aggregate(idp, args.mb)
    entity = extract_idp_entity(aggregate, entity_id=idp.entity_id)
    per_subject = args.rounds * args.logins
    print(
        f"aggregate: {len(aggregate):,} bytes, {aggregate.count(b'<md:EntityDescriptor'):,} "
        f"entities; the chosen IdP alone: {len(entity):,} bytes",
        flush=True,
    )
    print(f"signing {per_subject * len(SUBJECTS):,} responses ...", flush=True)
    forms = {
        subject: [
            {
                "SAMLResponse": idp.issue_response(
                    sp_entity_id=sp.entity_id,
                    acs_url=sp.acs_url,
                    now=now,
                    name_id=f"user{i % args.users}@university.example.org",
                    attributes={"role": ["developer"]},
                ).form_value
            }
            for i in range(per_subject)
        ]
        for subject in SUBJECTS
    }
    mapping = samljit.ClaimMapping.from_dict({"accepted_roles": ["developer"]})
    timings: dict[str, list[float]] = {subject: [] for subject in SUBJECTS}
    outcomes: dict[str, dict[str, int]] = {subject: {} for subject in SUBJECTS}
    with tempfile.TemporaryDirectory() as folder:
        services: dict[str, samljit.LoginService] = {}
        for number, subject in enumerate(SUBJECTS):
            database = Path(folder) / f"app{number}.db"
            store = SQLiteAccountStore(database)
            store.save(
                samljit.AccountConfig(
                    account_id="acme",
                    idp_metadata=aggregate if subject.startswith("aggregate") else entity,
                    idp_entity_id=idp.entity_id,
                    sp=sp,
                    mapping=mapping,
                    policy=samljit.ProvisioningPolicy(create_users="always"),
                )
            )
            accounts: Any = store if subject.endswith(", cache") else WithoutVersions(store)
            services[subject] = samljit.LoginService(
                accounts=accounts,
                users=SQLiteUserStore(database),
                sessions=samljit.MemorySessionIssuer(),
                replay_cache=SQLiteReplayCache(database),
                clock=lambda: now,
            )
        for round_number in range(args.rounds):
            shift = round_number % len(SUBJECTS)
            for subject in SUBJECTS[shift:] + SUBJECTS[:shift]:
                service = services[subject]
                start = round_number * args.logins
                for form in forms[subject][start : start + args.logins]:
                    began = time.perf_counter()
                    result = service.complete_login(form, account_id="acme")
                    timings[subject].append(time.perf_counter() - began)
                    action = result.outcome.action
                    outcomes[subject][action] = outcomes[subject].get(action, 0) + 1
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"{per_subject:,} logins per subject, {args.rounds} interleaved rounds; load {load}")
    base = statistics.median(timings[SUBJECTS[0]])
    print(f"{'subject':<22}{'median µs':>11}{'p90 µs':>9}{'vs first':>10}")
    for subject in SUBJECTS:
        ordered = sorted(timings[subject])
        median = statistics.median(ordered)
        p90 = ordered[int(len(ordered) * 0.9)]
        print(f"{subject:<22}{median * 1e6:>11,.0f}{p90 * 1e6:>9,.0f}{median / base:>9.2f}x")
    expected = {"created": min(args.users, per_subject)}
    wrong = {s: o for s, o in outcomes.items() if o.get("created") != expected["created"]}
    if wrong:
        print(f"unexpected outcomes: {wrong}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
