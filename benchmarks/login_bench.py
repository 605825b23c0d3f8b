"""Median time of one whole JIT login: verify + map + provision in SQLite + issue a session.

    .venv/bin/python benchmarks/login_bench.py [--logins N] [--users N] [--smoke]

Responses are signed beforehand (signing is the IdP's cost, not the SP's); each timed call is
LoginService.complete_login on a distinct assertion, against SQLite stores in a file on disk
(WAL, synchronous=NORMAL), with a replay cache in the same database. The first login of each
user creates it; later ones update last_sso_login (and the role, every tenth login).

In the same run, next to each login, the same response is verified alone
(samljit.verify_response with the account's IdP and SP, a fresh MemoryReplayCache), the two
calls taking turns going first, so that the ratio whole login / verification (target: at most
2) is read from one interleaved run, whatever the load on the machine.
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

import samljit
from samljit.stores.sqlite import SQLiteAccountStore, SQLiteReplayCache, SQLiteUserStore
from samljit.testing import TestIdP

ROLES = ["account_administrator", "developer", "media_library_full_access", "finance"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=3000, help="logins timed (default 3000)")
    parser.add_argument("--users", type=int, default=300, help="distinct users (default 300)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI smoke run (make bench-smoke): samljit only, one tiny round; exit 1 if it fails",
    )
    args = parser.parse_args()
    if args.smoke:
        args.logins, args.users = 40, 4

    now = datetime.now(UTC)
    idp = TestIdP(entity_id="https://idp.acme.test/metadata")
    sp = samljit.SPConfig(
        entity_id="https://app.example.com/saml/acme",
        acs_url="https://app.example.com/saml/acme/acs",
    )
    print(f"signing {args.logins} responses ...", flush=True)
    forms = [
        {
            "SAMLResponse": idp.issue_response(
                sp_entity_id=sp.entity_id,
                acs_url=sp.acs_url,
                now=now,
                name_id=f"user{i % args.users}@acme.test",
                attributes={
                    "full_name": [f"User {i % args.users}"],
                    "role": [ROLES[1] if (i // args.users) % 10 == 9 else ROLES[0]],
                    "imagekit_id": ["acme"],
                },
            ).form_value
        }
        for i in range(args.logins)
    ]
    provider = samljit.parse_idp_metadata(idp.metadata_xml).idp
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "app.db"
        accounts = SQLiteAccountStore(database)
        accounts.save(
            samljit.AccountConfig(
                account_id="acme",
                idp_metadata=idp.metadata_xml,
                sp=sp,
                mapping=samljit.ClaimMapping.from_dict(
                    {"preset": "okta", "accepted_roles": ROLES, "account_attributes": "imagekit_id"}
                ),
            )
        )
        service = samljit.LoginService(
            accounts=accounts,
            users=SQLiteUserStore(database),
            sessions=samljit.MemorySessionIssuer(),
            replay_cache=SQLiteReplayCache(database),
            clock=lambda: now,
        )
        timings: list[float] = []
        verifications: list[float] = []
        outcomes: dict[str, int] = {}

        def login(form: dict[str, str]) -> None:
            start = time.perf_counter()
            result = service.complete_login(form, account_id="acme")
            timings.append(time.perf_counter() - start)
            outcomes[result.outcome.action] = outcomes.get(result.outcome.action, 0) + 1

        def verify(form: dict[str, str]) -> None:
            start = time.perf_counter()
            samljit.verify_response(
                form["SAMLResponse"],
                idp=provider,
                sp=sp,
                now=now,
                replay_cache=samljit.MemoryReplayCache(),
                allow_unsolicited=True,
            )
            verifications.append(time.perf_counter() - start)

        for i, form in enumerate(forms):
            for step in (login, verify) if i % 2 else (verify, login):
                step(form)
    load_after = os.getloadavg()
    timings.sort()
    verifications.sort()
    median = statistics.median(timings) * 1e6
    p99 = timings[int(len(timings) * 0.99)] * 1e6
    verify_median = statistics.median(verifications) * 1e6
    print(f"logins: {len(timings)} ({', '.join(f'{k} {v}' for k, v in sorted(outcomes.items()))})")
    print(
        f"whole login median: {median:,.0f} µs   p99: {p99:,.0f} µs   (target: median ≤ 1,000 µs)"
    )
    print(
        f"verification alone, same responses, same run: median {verify_median:,.0f} µs   "
        f"p99: {verifications[int(len(verifications) * 0.99)] * 1e6:,.0f} µs"
    )
    ratio = median / verify_median
    print(
        f"whole login / verification: {ratio:.2f}   (target: ≤ 2.00) "
        + ("ok" if ratio <= 2.0 else "MISS")
    )
    print(
        "load average (1, 5, 15 min): "
        + " at start, ".join(
            ", ".join(f"{x:.2f}" for x in load) for load in (load_before, load_after)
        )
        + " at end"
    )
    # Every login is of a known user or creates one: anything else means the script rotted.
    expected = {"created": args.users} if args.logins >= args.users else {"created": args.logins}
    if args.smoke and outcomes.get("created") != expected["created"]:
        print(f"smoke run failed: outcomes {outcomes}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
