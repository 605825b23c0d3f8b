"""Test connection on the admin pages, without a framework: the status page's button starts
an SP-initiated test login at the IdP; the IdP's response, posted on by the ACS to
``test/result``, shows the verified claims, the identity and what a real sign-in would do;
nothing is written and only the administrator who started the test may see its result."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from samljit import (
    AccountConfig,
    ClaimMapping,
    LoginContext,
    LoginService,
    NewUser,
    ProvisioningPolicy,
    SPConfig,
    UserRecord,
)
from samljit.errors import SamlError
from samljit.integrations import _web
from samljit.integrations.admin import AdminPages, AdminRequest, WebResponse
from samljit.stores.memory import (
    MemoryAccountStore,
    MemoryReplayCache,
    MemoryRequestStore,
    MemoryUserStore,
)
from samljit.testing import FixedClock, TestIdP

from .conftest import NOW
from .sp_flows import redirect_message

BASE = "/sso/admin/acme/"
CSRF = '<input type="hidden" name="csrf" value="t0ken">'
ROOT = "https://app.example.test/sso/acme"
SP = SPConfig(entity_id=f"{ROOT}/metadata", acs_url=f"{ROOT}/acs", slo_url=f"{ROOT}/slo")
ADMINS = {"ada@acme.test": "acme", "alan@acme.test": "acme", "bob@globex.test": "globex"}


class NoSessions:
    """A SessionIssuer that fails the test if called."""

    def issue(self, user: UserRecord, context: LoginContext) -> object:
        pytest.fail(f"a Test connection issued a session to {user.email}")


@dataclass
class Site:
    """The admin pages of an app with a login service, and what they wrote."""

    idp: TestIdP
    accounts: MemoryAccountStore
    users: MemoryUserStore
    requests: MemoryRequestStore
    service: LoginService
    pages: AdminPages
    events: list[Any] = field(default_factory=list)

    def call(
        self, method: str, path: str, form: dict[str, str] | None = None, **knobs: Any
    ) -> WebResponse:
        knobs.setdefault("admin_id", "ada@acme.test")
        knobs.setdefault("csrf_ok", method == "POST")
        return self.pages.handle(
            AdminRequest(
                method=method,
                account_id=knobs.pop("account_id", "acme"),
                path=path,
                form=form or {},
                csrf_field=CSRF,
                native=knobs["admin_id"],
                base=BASE,
                **knobs,
            )
        )

    def start(self, admin_id: str = "ada@acme.test", **form: str) -> str:
        """Press Test connection; the ID of the AuthnRequest sent to the IdP."""
        response = self.call("POST", "test", form, admin_id=admin_id)
        assert response.status == 303
        assert response.location is not None
        assert response.location.startswith(self.idp.sso_url + "?SAMLRequest=")
        request_id = redirect_message(response.location).get("ID")
        assert request_id
        return request_id

    def answer(self, request_id: str, **knobs: Any) -> dict[str, str]:
        """The IdP's signed response to ``request_id``, as the ACS posts it on."""
        knobs.setdefault("name_id", "grace@acme.test")
        knobs.setdefault(
            "attributes",
            {"full_name": ["Grace Hopper"], "role": ["developer"], "imagekit_id": ["acme"]},
        )
        issued = self.idp.issue_response(
            sp_entity_id=SP.entity_id,
            acs_url=SP.acs_url,
            now=NOW,
            in_response_to=request_id,
            **knobs,
        )
        return {"SAMLResponse": issued.form_value, "RelayState": ""}


def _config(idp: TestIdP, **changes: Any) -> AccountConfig:
    changes.setdefault(
        "mapping",
        ClaimMapping.from_dict(
            {"accepted_roles": ["developer", "finance"], "account_attributes": ["imagekit_id"]}
        ),
    )
    changes.setdefault("policy", ProvisioningPolicy(create_users="always"))
    return AccountConfig(account_id="acme", idp_metadata=idp.metadata_xml, sp=SP, **changes)


def _site(idp: TestIdP, *, with_service: bool = True, connected: bool = True) -> Site:
    accounts = MemoryAccountStore([_config(idp)] if connected else [])
    users, requests = MemoryUserStore(), MemoryRequestStore()
    service = LoginService(
        accounts=accounts,
        users=users,
        sessions=NoSessions(),
        replay_cache=MemoryReplayCache(),
        request_store=requests,
        clock=lambda: NOW,
    )
    events: list[Any] = []
    pages = AdminPages(
        accounts=accounts,
        can_administer=lambda who, account_id: ADMINS.get(str(who)) == account_id,
        new_account=lambda account_id: _config(idp),
        clock=FixedClock(NOW),
        audit=events.append,
        service=service if with_service else None,
    )
    return Site(idp, accounts, users, requests, service, pages, events)


@pytest.fixture
def site(test_idp: TestIdP) -> Site:
    return _site(test_idp)


def _text(response: WebResponse) -> str:
    return response.body.decode("utf-8")


def _action(response: WebResponse) -> str:
    found = re.search(r'id="test-action" data-action="([^"]*)"', _text(response))
    assert found is not None, _text(response)
    return found.group(1)


def _row(response: WebResponse, table: str, key: str) -> list[str]:
    """The cells of the row ``key`` (data-field or data-name) of ``table#table``."""
    body = _text(response)
    section = body[body.index(f'id="{table}"') :]
    section = section[: section.index("</table>")]
    row = re.search(rf'<tr data-(?:field|name)="{re.escape(key)}">(.*?)</tr>', section)
    assert row is not None, (table, key, section)
    return [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row.group(1))]


# --- the button ------------------------------------------------------------------------------


def test_the_status_page_offers_test_connection_with_the_csrf_field(site: Site) -> None:
    body = _text(site.call("GET", ""))
    form = body[body.index('<form class="card" id="test-connection"') :]
    form = form[: form.index("</form>")]
    assert f'action="{BASE}test"' in form
    assert CSRF in form
    assert 'id="test-connection-start"' in form
    assert 'name="force_authn"' in form


def test_without_the_login_service_there_is_no_test_connection(test_idp: TestIdP) -> None:
    site = _site(test_idp, with_service=False)
    assert 'id="test-connection"' not in _text(site.call("GET", ""))
    assert site.call("POST", "test").status == 404
    assert site.call("POST", "test/result", {"SAMLResponse": "x"}).status == 404


def test_an_account_without_sso_offers_no_test(test_idp: TestIdP) -> None:
    site = _site(test_idp, connected=False)
    assert 'id="test-connection"' not in _text(site.call("GET", ""))
    response = site.call("POST", "test")
    assert response.status == 400
    assert "<code>sso_disabled</code>" in _text(response)


def test_starting_a_test_needs_the_csrf_check(site: Site) -> None:
    response = site.call("POST", "test", csrf_ok=False)
    assert response.status == 403
    assert site.requests._requests == {}


def test_starting_a_test_remembers_a_request_bound_to_the_administrator(site: Site) -> None:
    request_id = site.start(force_authn="yes")
    pending = site.requests.get(request_id)
    assert pending is not None
    assert (pending.kind, pending.test_admin, pending.relay_state) == (
        "test_login",
        "ada@acme.test",
        BASE + "test/result",
    )


def test_force_authn_asks_the_idp_for_a_fresh_sign_in(site: Site) -> None:
    plain = site.call("POST", "test")
    forced = site.call("POST", "test", {"force_authn": "yes"})
    assert plain.location is not None
    assert forced.location is not None
    assert redirect_message(plain.location).get("ForceAuthn") is None
    assert redirect_message(forced.location).get("ForceAuthn") == "true"


# --- the result --------------------------------------------------------------------------------


def test_the_result_shows_the_claims_the_identity_and_would_create(site: Site) -> None:
    form = site.answer(site.start())
    response = site.call("POST", "test/result", form, csrf_ok=False)
    assert response.status == 200
    assert _action(response) == "create"
    assert '<code id="test-name-id">grace@acme.test</code>' in _text(response)
    assert _row(response, "test-attributes", "role") == ["developer"]
    assert _row(response, "test-attributes", "imagekit_id") == ["acme"]
    assert _row(response, "test-identity", "email") == ["grace@acme.test"]
    assert _row(response, "test-identity", "account_id") == ["acme"]
    assert _row(response, "test-changes", "role") == ["", "developer"]


def test_a_test_writes_no_user_and_issues_no_session(site: Site) -> None:
    site.call("POST", "test/result", site.answer(site.start()))
    assert site.users.get_by_email("grace@acme.test") is None
    assert list(site.users.users_of("acme")) == []


def test_an_existing_user_with_new_claims_would_be_updated_and_stays_as_is(site: Site) -> None:
    grace = NewUser(
        email="grace@acme.test", account_id="acme", full_name="Grace Murray", role="finance"
    )
    site.users.create(grace, now=NOW)
    response = site.call("POST", "test/result", site.answer(site.start()))
    assert _action(response) == "update"
    assert _row(response, "test-changes", "role") == ["finance", "developer"]
    assert _row(response, "test-changes", "full_name") == ["Grace Murray", "Grace Hopper"]
    user = site.users.get_by_email("grace@acme.test")
    assert user is not None
    assert (user.role, user.full_name) == ("finance", "Grace Murray")


def test_a_role_the_mapping_refuses_shows_the_code_and_the_reason(site: Site) -> None:
    attributes = {"full_name": ["Grace"], "role": ["Finance Team"], "imagekit_id": ["acme"]}
    response = site.call("POST", "test/result", site.answer(site.start(), attributes=attributes))
    assert response.status == 200
    assert _action(response) == "refuse"
    code = re.search(r'<code id="test-code">([^<]*)</code>', _text(response))
    assert code is not None
    assert code.group(1) == "role_not_accepted"
    assert "Finance Team" in html.unescape(_text(response))
    assert f'href="{BASE}mapping"' in _text(response)
    assert 'id="test-identity"' not in _text(response)


def test_a_response_that_does_not_verify_is_a_problem_with_its_code(site: Site) -> None:
    request_id = site.start()
    other = TestIdP(entity_id=site.idp.entity_id)  # same issuer, another key
    issued = other.issue_response(
        sp_entity_id=SP.entity_id,
        acs_url=SP.acs_url,
        now=NOW,
        in_response_to=request_id,
        name_id="grace@acme.test",
    )
    response = site.call("POST", "test/result", {"SAMLResponse": issued.form_value})
    assert response.status == 400
    assert 'id="test-action"' not in _text(response)
    assert "<code>untrusted_key</code>" in _text(response)


def test_the_result_is_only_for_the_administrator_who_started_the_test(site: Site) -> None:
    form = site.answer(site.start(admin_id="ada@acme.test"))
    other = site.call("POST", "test/result", form, admin_id="alan@acme.test")
    assert other.status == 400
    assert "<code>test_login_forbidden</code>" in _text(other)
    # Nothing was used up: the administrator who started it still sees the result.
    mine = site.call("POST", "test/result", form, admin_id="ada@acme.test")
    assert _action(mine) == "create"


def test_a_result_cannot_be_shown_twice(site: Site) -> None:
    form = site.answer(site.start())
    assert _action(site.call("POST", "test/result", form)) == "create"
    again = site.call("POST", "test/result", form)
    assert again.status == 400
    assert 'id="test-action"' not in _text(again)


def test_another_accounts_administrator_gets_403_for_the_result(site: Site) -> None:
    form = site.answer(site.start())
    response = site.call("POST", "test/result", form, admin_id="bob@globex.test")
    assert response.status == 403
    assert "test-action" not in _text(response)


def test_a_test_response_never_logs_in_through_the_acs(site: Site) -> None:
    form = site.answer(site.start())
    refusal = _refusal(site, form)
    assert refusal.code == "test_login"
    response = _web.acs_refused(refusal, form, account_id="acme", admin_base=None)
    assert response.status == 403
    assert site.users.get_by_email("grace@acme.test") is None


def test_the_acs_posts_a_test_response_on_to_the_result_page(site: Site) -> None:
    form = site.answer(site.start())
    response = _web.acs_refused(_refusal(site, form), form, account_id="acme", admin_base=BASE)
    body = _text(response)
    assert response.status == 200
    assert f'<form method="post" action="{BASE}test/result">' in body
    assert f'name="SAMLResponse" value="{form["SAMLResponse"]}"' in body
    assert response.headers["Cache-Control"] == "no-store"


def test_the_acs_posts_on_nothing_but_a_test_response(site: Site) -> None:
    site.start()
    form = site.answer("unknown-request")
    assert _refusal(site, form).code == "in_response_to_mismatch"
    response = _web.acs_refused(_refusal(site, form), form, account_id="acme", admin_base=BASE)
    assert response.status == 403
    assert "test/result" not in _text(response)


def test_the_values_on_the_result_page_are_escaped(site: Site) -> None:
    attributes = {"full_name": ["<script>alert(1)</script>"], "role": ["developer"]}
    attributes["imagekit_id"] = ["acme"]
    response = site.call("POST", "test/result", site.answer(site.start(), attributes=attributes))
    assert "<script>alert(1)</script>" not in _text(response)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in _text(response)


def _refusal(site: Site, form: dict[str, str]) -> SamlError:
    """What the ACS's ``complete_login`` raises for ``form``."""
    with pytest.raises(SamlError) as caught:
        site.service.complete_login(form, account_id="acme")
    return caught.value


def test_the_reason_reads_as_sentences(site: Site) -> None:
    attributes = {"full_name": ["Grace"], "role": ["Finance Team"], "imagekit_id": ["acme"]}
    response = site.call("POST", "test/result", site.answer(site.start(), attributes=attributes))
    reason = re.search(r'<p id="test-reason">([^<]*)</p>', _text(response))
    assert reason is not None
    sentences = html.unescape(reason.group(1)).split(". ")
    assert len(sentences) >= 2
    assert all(s[:1].isupper() for s in sentences)
