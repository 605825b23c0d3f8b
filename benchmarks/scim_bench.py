"""Median time of a SCIM create and of a deactivation through ScimService.

    .venv/bin/python benchmarks/scim_bench.py [--users N] [--smoke]

Each timed call is ``ScimService.handle`` of one request as an adapter passes it (bearer
token checked, JSON parsed and validated by scim2-models, the claim mapping applied, the
audit event emitted): ``POST /Users`` of a new user as Okta sends it, then
``PATCH /Users/{id}`` with ``{"op": "replace", "path": "active", "value": false}`` (its
sessions revoked through a MemorySessionStore). On the memory stores and on the SQLite
stores (one file on disk, WAL, synchronous=NORMAL): directory, users, accounts and tokens.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import samljit
from samljit.directory import ScimTokens
from samljit.integrations.sessions import MemorySessionStore
from samljit.scim import ScimRequest, ScimService
from samljit.stores.memory import MemoryDirectoryStore, MemoryScimTokenStore
from samljit.stores.sqlite import SQLiteAccountStore, SQLiteDirectoryStore, SQLiteScimTokenStore
from samljit.testing import TestIdP

BASE = "https://app.example.com/scim/v2/acme"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
IDP = TestIdP(entity_id="https://idp.acme.example/metadata")


def account(idp: TestIdP) -> samljit.AccountConfig:
    return samljit.AccountConfig(
        account_id="acme",
        idp_metadata=idp.metadata_xml,
        sp=samljit.SPConfig(
            entity_id="https://app.example.com/sso/acme/metadata",
            acs_url="https://app.example.com/sso/acme/acs",
        ),
        mapping=samljit.ClaimMapping.from_dict({"accepted_roles": ["admin", "developer"]}),
    )


def create_body(n: int) -> bytes:
    return json.dumps(
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"user{n}@acme.example",
            "name": {"givenName": "User", "familyName": str(n)},
            "emails": [{"primary": True, "value": f"user{n}@acme.example", "type": "work"}],
            "displayName": f"User {n}",
            "externalId": f"00u{n:08d}",
            "roles": [{"value": "developer"}],
            "active": True,
        }
    ).encode()


DEACTIVATE = json.dumps(
    {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]}
).encode()


def run(kind: str, users: int, stores: Callable[[], tuple[Any, Any, Any]]) -> dict[str, Any]:
    accounts, directory, token_store = stores()
    accounts.save(account(IDP))
    tokens = ScimTokens(token_store)
    secret, _ = tokens.issue("acme", label="bench")
    sessions = MemorySessionStore()
    service = ScimService(
        accounts=accounts, directory=directory, tokens=tokens, session_revoker=sessions
    )

    def call(method: str, path: str, body: bytes) -> tuple[int, bytes, float]:
        request = ScimRequest(
            method=method,
            account_id="acme",
            path=path,
            base_url=BASE,
            authorization=f"Bearer {secret}",
            body=body,
        )
        start = time.perf_counter()
        response = service.handle(request)
        return response.status, response.body, time.perf_counter() - start

    creates, deactivations, ids, failures = [], [], [], 0
    for n in range(users):
        status, body, seconds = call("POST", "Users", create_body(n))
        failures += status != 201
        creates.append(seconds)
        ids.append(json.loads(body).get("id"))
    for user_id in ids:
        status, body, seconds = call("PATCH", f"Users/{user_id}", DEACTIVATE)
        failures += status != 200 or json.loads(body).get("active") is not False
        deactivations.append(seconds)
    inactive = sum(not u.user.active for u in directory.users("acme"))
    failures += inactive != users
    return {
        "stores": kind,
        "users": users,
        "create_us": statistics.median(creates) * 1e6,
        "deactivate_us": statistics.median(deactivations) * 1e6,
        "failures": failures,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000, help="users created (default 1000)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI smoke run (make bench-smoke): a few users; exit 1 if a request fails",
    )
    args = parser.parse_args()
    if args.smoke:
        args.users = 5

    def memory() -> tuple[Any, Any, Any]:
        users = samljit.MemoryUserStore()
        return samljit.MemoryAccountStore(), MemoryDirectoryStore(users), MemoryScimTokenStore()

    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "app.db"

        def sqlite() -> tuple[Any, Any, Any]:
            return (
                SQLiteAccountStore(database),
                SQLiteDirectoryStore(database),
                SQLiteScimTokenStore(database),
            )

        rows = [run("memory", args.users, memory), run("sqlite", args.users, sqlite)]

    print(f"SCIM through ScimService.handle, {args.users} users, {datetime.now(UTC):%Y-%m-%d}")
    print(f"{'stores':<8} {'create (POST /Users)':>22} {'deactivate (PATCH)':>20}")
    for row in rows:
        print(f"{row['stores']:<8} {row['create_us']:>19,.0f} µs {row['deactivate_us']:>17,.0f} µs")
    failed = [row for row in rows if row["failures"]]
    for row in failed:
        print(f"{row['stores']}: {row['failures']} requests failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
