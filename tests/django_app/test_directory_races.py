"""SCIM and SAML at the same time, on the SQL stores on SQLite and PostgreSQL: threads
released together by a barrier, each with its own database connection, drive the real
``ScimService`` and ``LoginService``.

- a SCIM create and SAML first logins for one email end with one user;
- concurrent first SAML logins end with one user;
- two PATCHes of one user are both applied (one retried if they collided), and the version
  grows by 2.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from samljit import AccountConfig, LoginResult, LoginService, ProvisioningPolicy
from samljit.directory import ScimTokens
from samljit.protocols import StaleWrite
from samljit.scim import ScimRequest, ScimResponse, ScimService
from samljit.stores.memory import MemoryAccountStore, MemoryReplayCache, MemorySessionIssuer
from samljit.testing import TestIdP

from ..conftest import NOW
from .conftest import MAPPING, SP
from .directory_kinds import KINDS, SQL_KINDS, Stores, stores

THREADS = 6
ROUNDS = 3
BASE_URL = "https://app.example.com/scim/v2/acme"


class Site:
    """The SCIM endpoint and the SAML login service of account ``acme`` over one family of
    stores."""

    def __init__(self, family: Stores, test_idp: TestIdP) -> None:
        self.family = family
        self.idp = test_idp
        self.accounts = accounts = MemoryAccountStore()
        accounts.save(
            AccountConfig(
                account_id="acme",
                idp_metadata=test_idp.metadata_xml,
                sp=SP,
                mapping=MAPPING,
                policy=ProvisioningPolicy(create_users="always"),
            )
        )
        self.logins = LoginService(
            accounts=accounts,
            users=family.users,
            sessions=MemorySessionIssuer(),
            replay_cache=MemoryReplayCache(),
            clock=lambda: NOW,
        )
        self.tokens = tokens = ScimTokens(family.tokens, clock=lambda: NOW)
        self.service = self.scim_service(family.directory)
        self.secret, _ = tokens.issue("acme")

    def saml_login(self, email: str) -> Callable[[], LoginResult]:
        """A first login of ``email``, its response issued now (each one a new assertion)."""
        response = self.idp.issue_response(
            sp_entity_id=SP.entity_id,
            acs_url=SP.acs_url,
            now=NOW,
            name_id=email,
            attributes={"full_name": ["Ada Lovelace"], "role": ["developer"]},
        ).form_value
        return lambda: self.logins.complete_login({"SAMLResponse": response}, account_id="acme")

    def scim_service(self, directory: Any) -> ScimService:
        """A SCIM service of the site over ``directory``."""
        return ScimService(
            accounts=self.accounts, directory=directory, tokens=self.tokens, clock=lambda: NOW
        )

    def scim(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        service: ScimService | None = None,
    ) -> ScimResponse:
        """A SCIM request with the account's token, answered by ``service`` (the site's)."""
        return (service or self.service).handle(
            ScimRequest(
                method=method,
                account_id="acme",
                path=path,
                base_url=BASE_URL,
                authorization=f"Bearer {self.secret}",
                body=json.dumps(body).encode() if body is not None else b"",
            )
        )

    def scim_create(self, email: str) -> ScimResponse:
        return self.scim(
            "POST",
            "Users",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": email,
                "externalId": f"okta-{email}",
                "name": {"givenName": "Ada", "familyName": "Lovelace"},
                "displayName": "Ada Lovelace",
                "emails": [{"value": email, "primary": True, "type": "work"}],
                "roles": [{"value": "developer", "primary": True}],
                "active": True,
            },
        )

    def release(self) -> None:
        """Close the calling thread's connections."""
        for store in (self.family.users, self.family.directory, self.family.tokens):
            close = getattr(store, "close", None)
            if close is not None:
                close()
        connections.close_all()


def patch(attribute: str, value: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": attribute, "value": value}],
    }


@pytest.fixture(params=SQL_KINDS)
def site(request: pytest.FixtureRequest, tmp_path: Path, test_idp: TestIdP) -> Iterator[Site]:
    with stores(request.param, request, tmp_path) as family:
        yield Site(family, test_idp)


def race(site: Site, work: list[Callable[[], object]]) -> list[object]:
    """Run each callable in its own thread, all released together; exceptions are results."""
    barrier = threading.Barrier(len(work))
    results: list[object] = [None] * len(work)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work[index]()
        except Exception as exc:  # reported to the test
            results[index] = exc
        finally:
            site.release()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_a_scim_create_and_first_saml_logins_for_one_email_make_one_user(site: Site) -> None:
    for round_ in range(ROUNDS):
        email = f"ada{round_}@acme.example"
        scim_creates = THREADS // 2
        logins = [site.saml_login(email) for _ in range(THREADS - scim_creates)]
        work: list[Callable[[], object]] = [lambda e=email: site.scim_create(e)] * scim_creates
        results = race(site, [*work, *logins])
        statuses = Counter(r.status for r in results[:scim_creates])  # type: ignore[union-attr]
        assert statuses == {201: 1, 409: scim_creates - 1}, results
        assert all(isinstance(r, LoginResult) for r in results[scim_creates:]), results
        actions = Counter(r.outcome.action for r in results[scim_creates:])  # type: ignore[union-attr]
        assert actions["created"] <= 1
        users = [u for u in site.family.directory.users("acme") if u.user.email == email]
        assert len(users) == 1
        (user,) = users
        assert (user.external_id, user.user.active, user.user.role) == (
            f"okta-{email}",
            True,
            "developer",
        )
        assert {r.user.user_id for r in results[scim_creates:]} == {user.user.user_id}  # type: ignore[union-attr]
        assert site.family.users.get_by_email(email) == user.user


def test_concurrent_first_saml_logins_make_one_user(site: Site) -> None:
    logins = [site.saml_login("ada@acme.example") for _ in range(THREADS)]
    results = race(site, list(logins))
    assert all(isinstance(r, LoginResult) for r in results), results
    actions = Counter(r.outcome.action for r in results)  # type: ignore[union-attr]
    assert actions == {"created": 1, "unchanged": THREADS - 1}
    assert len(list(site.family.directory.users("acme"))) == 1


class CountingDirectory:
    """The directory, counting the writes it refused as stale."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.stale = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write_user(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self.inner.write_user(*args, **kwargs)
        except StaleWrite:
            self.stale += 1
            raise


def test_two_concurrent_patches_of_one_user_are_both_applied(site: Site) -> None:
    created = site.scim_create("ada@acme.example")
    assert created.status == 201
    user_id = json.loads(created.body)["id"]
    counting = CountingDirectory(site.family.directory)
    service = site.scim_service(counting)
    for round_ in range(ROUNDS):
        before = site.family.directory.get_user("acme", user_id)
        assert before is not None
        results = race(
            site,
            [
                lambda r=round_: site.scim(
                    "PATCH", f"Users/{user_id}", patch("title", f"T{r}"), service=service
                ),
                lambda r=round_: site.scim(
                    "PATCH", f"Users/{user_id}", patch("nickName", f"N{r}"), service=service
                ),
            ],
        )
        assert [r.status for r in results] == [200, 200], results  # type: ignore[union-attr]
        after = site.family.directory.get_user("acme", user_id)
        assert after is not None
        assert (after.resource["title"], after.resource["nickName"]) == (f"T{round_}", f"N{round_}")
        assert after.version == before.version + 2
    assert len(list(site.family.directory.users("acme"))) == 1
    print(f"{site.family.kind}: {counting.stale} of {2 * ROUNDS} PATCHes were retried")


class CuttingIn(CountingDirectory):
    """The directory, with another write of the user slipped in between the first read and
    the first write: a lost update unless the write is refused as stale and retried."""

    def __init__(self, inner: Any, cut_in: Callable[[], object]) -> None:
        super().__init__(inner)
        self.cut_in: Callable[[], object] | None = cut_in

    def write_user(self, *args: Any, **kwargs: Any) -> Any:
        if self.cut_in is not None:
            cut_in, self.cut_in = self.cut_in, None
            cut_in()
        return super().write_user(*args, **kwargs)


@pytest.fixture(params=KINDS)
def any_site(request: pytest.FixtureRequest, tmp_path: Path, test_idp: TestIdP) -> Iterator[Site]:
    with stores(request.param, request, tmp_path) as family:
        yield Site(family, test_idp)


def test_a_patch_that_read_an_older_version_is_retried_on_the_new_one(any_site: Site) -> None:
    site = any_site
    user_id = json.loads(site.scim_create("ada@acme.example").body)["id"]
    cutting_in = CuttingIn(
        site.family.directory,
        lambda: site.scim("PATCH", f"Users/{user_id}", patch("title", "Countess")),
    )
    answer = site.scim(
        "PATCH", f"Users/{user_id}", patch("nickName", "Ada"), service=site.scim_service(cutting_in)
    )
    assert answer.status == 200
    assert cutting_in.stale == 1
    after = site.family.directory.get_user("acme", user_id)
    assert after is not None
    assert (after.resource["title"], after.resource["nickName"], after.version) == (
        "Countess",
        "Ada",
        3,
    )
