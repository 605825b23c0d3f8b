"""RFC 7643/7644 compliance by a third party: every check of ``scim2-tester`` (discovery,
create, read, replace, delete, PATCH add/replace/remove of every attribute of User, the
enterprise extension and Group, ``attributes``/``excludedAttributes``, a random URL) run
over HTTP against :class:`~samljit.scim.ScimService` served by uvicorn on 127.0.0.1.

Each check must pass, or fail only on a feature the service declares unsupported and
docs/scim.md documents:

- ``POST /.search`` (RFC 7644 §3.4.3, optional): answered 501; the tester then skips.
- changing a password (``changePassword`` false in ServiceProviderConfig): a PATCH of
  ``password`` is answered 501. Users sign in at their IdP.

The honest adaptation (docs/scim.md, "Compliance"): scim2-tester fills attributes with
random values, so ``userName`` would be a UUID, which this service refuses
(``email_invalid``: the userName is the user's email). The tester's filler is given random
addresses for ``userName`` instead, and the account's mapping takes unaccepted ``roles``
values as its default role (``unaccepted_role="default"``), since the random ``roles`` are
no role the app knows. Everything else is the tester's own.
"""

from __future__ import annotations

import collections
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import CheckResult, Status, check_server
from scim2_tester import filling as tester_filling
from scim2_tester.checkers import patch_add, patch_replace

from samljit.testing import TestIdP

from .scim_support import MAPPING, ScimApp, new_app, serving


@pytest.fixture
def served(test_idp: TestIdP) -> Iterator[tuple[ScimApp, str]]:
    """The app's SCIM endpoint served by uvicorn on 127.0.0.1 (a free port): the app and the
    root URL of acme's endpoint."""
    mapping = MAPPING.with_changes(unaccepted_role="default", default_role="viewer")
    scim = new_app(test_idp, mapping=mapping)
    with serving(scim) as root:
        yield scim, f"{root}/acme/"


@pytest.fixture
def addresses_for_user_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """The adaptation: the tester's random ``userName`` values are random addresses."""
    original = tester_filling.generate_random_value

    def generate(context: Any, path: Any, *args: Any, **kwargs: Any) -> Any:
        value = original(context, path, *args, **kwargs)
        if value is not None and str(path).rsplit(":", 1)[-1] == "userName":
            return f"{uuid.uuid4().hex}@acme.example"
        return value

    for module in (tester_filling, patch_add, patch_replace):
        monkeypatch.setattr(module, "generate_random_value", generate)


def password_change(result: CheckResult) -> bool:
    """A check refused only because it changes the password: declared unsupported (501)."""
    return (
        isinstance(result.data, dict)
        and result.data.get("urn") == "password"
        and "scim_not_supported: changing a password is not supported" in str(result.reason)
    )


def test_scim2_tester_finds_no_fault(
    served: tuple[ScimApp, str], addresses_for_user_names: None
) -> None:
    scim, root = served
    with httpx2.Client(
        base_url=root, headers={"Authorization": f"Bearer {scim.secrets['acme']}"}
    ) as http:
        results = check_server(SyncSCIMClient(http))

    by_status = collections.Counter(r.status for r in results)
    faults = [
        f"{r.resource_type} {r.title}: {r.reason}"
        for r in results
        if r.status in (Status.ERROR, Status.DEVIATION) and not password_change(r)
    ]
    assert faults == []
    skipped = {r.reason for r in results if r.status == Status.SKIPPED}
    assert skipped == {
        "POST /.search: searching several resource types at once is not supported by the server"
    }
    declared = [r for r in results if r.status == Status.ERROR]
    assert {(r.resource_type, r.title) for r in declared} <= {
        ("User", "check_add_attribute"),
        ("User", "check_replace_attribute"),
    }
    assert by_status[Status.SUCCESS] >= 120  # 129 of 133 with scim2-tester 0.5.2
    # The tester's users are real users of the account, written like any other.
    assert scim.users.users_of("acme")
    assert {e.source for e in scim.events} == {"scim"}


def test_without_the_adaptation_user_creation_is_refused_as_email_invalid(
    served: tuple[ScimApp, str],
) -> None:
    """Why the adaptation exists: the tester's UUID userName is no email."""
    scim, root = served
    with httpx2.Client(
        base_url=root, headers={"Authorization": f"Bearer {scim.secrets['acme']}"}
    ) as http:
        results = check_server(
            SyncSCIMClient(http), include_tags={"crud:create"}, resource_types=["User"]
        )
    (creation,) = [r for r in results if r.title == "object_creation"]
    assert creation.status == Status.ERROR
    assert "email_invalid" in str(creation.reason)
