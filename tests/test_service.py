"""LoginService end to end: a signed response from ``samljit.testing.TestIdP`` in, a
provisioned user and the app's session out, or a code and nothing written.

Every test runs against the in-memory stores and the SQLite stores (one file in tmp_path), and
against LoginService (``[sync]``) and AsyncLoginService over async stores (``[async]``).
"Nothing written" means: the users are exactly as before, the replay cache did not record the
assertion, and no session was issued; where the rule allows, the very same assertion then
logs in once the configuration is fixed.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import logging
import sqlite3
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

import samljit
from samljit import (
    AccountConfig,
    AuditEvent,
    ClaimMapping,
    LoginResult,
    LoginService,
    NewUser,
    SamlError,
    SPConfig,
    UserRecord,
)
from samljit._xml import NS_DS, NS_MD, NS_SAML
from samljit.stores.memory import MemoryAccountStore, MemoryReplayCache, MemoryUserStore
from samljit.stores.sqlite import SQLiteAccountStore, SQLiteReplayCache, SQLiteUserStore
from samljit.testing import (
    FixedClock,
    IssuedResponse,
    RecordingSessionIssuer,
    TestIdP,
    make_certificate,
)

from .conftest import ACS_URL, NOW, SP_ENTITY_ID

ACCEPTED = [
    "account_administrator",
    "developer",
    "media_library_full_access",
    "media_library_view_only_access",
    "media_library_restricted_access",
    "finance",
]
MAPPING = ClaimMapping.from_dict(
    {"accepted_roles": ACCEPTED, "account_attributes": ["imagekit_id"]}
)
PLAIN = ClaimMapping.from_dict({"accepted_roles": ["developer"]})
SP = SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL)
PASSWORD = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
MFA = "http://schemas.microsoft.com/claims/multipleauthn"
GLOBEX_IDP_ENTITY_ID = "https://idp.globex.test/metadata"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
PAIRWISE_ID = "a3f9c2d1-7b6e-4f0a-9c8d-2e1f0b3a4c5d"


@dataclass
class App:
    """A host app: its stores, a session issuer, an audit hook and the login service."""

    kind: str
    accounts: Any
    users: Any
    replay_cache: Any
    acme_idp: TestIdP
    globex_idp: TestIdP
    db: Path | None = None
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    sessions: RecordingSessionIssuer = field(default_factory=RecordingSessionIssuer)
    events: list[AuditEvent] = field(default_factory=list)
    login_service: Callable[..., LoginService] = LoginService
    """The service under test (the ``login_service`` fixture): sync or async."""
    service: LoginService = field(init=False)

    def __post_init__(self) -> None:
        self.service = self.login_service(
            accounts=self.accounts,
            users=self.users,
            sessions=self.sessions,
            replay_cache=self.replay_cache,
            clock=self.clock,
            audit=self.events.append,
        )

    def respond(self, idp: TestIdP | None = None, **knobs: Any) -> IssuedResponse:
        """A response from ``idp`` (acme's by default) for Ada, a developer of acme."""
        knobs.setdefault("sp_entity_id", SP_ENTITY_ID)
        knobs.setdefault("acs_url", ACS_URL)
        knobs.setdefault("now", self.clock.now)
        knobs.setdefault("name_id", "ada@acme.test")
        knobs.setdefault(
            "attributes",
            {"full_name": ["Ada Lovelace"], "role": ["developer"], "imagekit_id": ["acme"]},
        )
        return (idp or self.acme_idp).issue_response(**knobs)

    def login(
        self,
        issued: IssuedResponse,
        *,
        account_id: str | None = "acme",
        relay_state: str | None = None,
        in_response_to: str | None = None,
    ) -> LoginResult:
        form = {"SAMLResponse": issued.form_value}
        if relay_state is not None:
            form["RelayState"] = relay_state
        return self.service.complete_login(
            form, account_id=account_id, in_response_to=in_response_to
        )

    def refused(self, issued: IssuedResponse, **options: Any) -> SamlError:
        with pytest.raises(SamlError) as caught:
            self.login(issued, **options)
        return caught.value

    def configure(self, account_id: str = "acme", **changes: Any) -> None:
        """What an administrator does on the SSO settings page."""
        config = self.accounts.get(account_id)
        assert config is not None
        self.accounts.save(dataclasses.replace(config, **changes))

    def policy(self, account_id: str = "acme", **changes: Any) -> None:
        config = self.accounts.get(account_id)
        self.configure(account_id, policy=dataclasses.replace(config.policy, **changes))

    def all_users(self) -> list[UserRecord]:
        users = [*self.users.users_of("acme"), *self.users.users_of("globex")]
        return sorted(users, key=lambda u: (u.account_id, u.email))

    def recorded_assertions(self) -> int:
        if self.db is None:
            return len(self.replay_cache)
        with contextlib.closing(sqlite3.connect(self.db)) as connection:
            (count,) = connection.execute("SELECT COUNT(*) FROM samljit_replay").fetchone()
        return int(count)

    @contextlib.contextmanager
    def writes_nothing(self) -> Iterator[None]:
        users, recorded = self.all_users(), self.recorded_assertions()
        sessions, created = len(self.sessions.issued), self._provisioning_events()
        yield
        assert self.all_users() == users
        assert self.recorded_assertions() == recorded
        assert len(self.sessions.issued) == sessions
        assert self._provisioning_events() == created

    def _provisioning_events(self) -> int:
        return sum(e.name in ("user_created", "user_updated") for e in self.events)


@pytest.fixture(scope="module")
def globex_idp() -> TestIdP:
    # RSA like acme's test IdP: a key of the same type, so that only trust tells them apart.
    return TestIdP(entity_id=GLOBEX_IDP_ENTITY_ID)


@pytest.fixture(scope="module")
def rotated_idp(test_idp: TestIdP) -> TestIdP:
    """Acme's IdP after a key rotation: same entity ID, a new RSA key."""
    return TestIdP(entity_id=test_idp.entity_id)


def _account(account_id: str, idp: TestIdP) -> AccountConfig:
    return AccountConfig(
        account_id=account_id, idp_metadata=idp.metadata_xml, sp=SP, mapping=MAPPING
    )


@pytest.fixture(params=["memory", "sqlite"])
def app(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    test_idp: TestIdP,
    globex_idp: TestIdP,
    login_service: Callable[..., LoginService],
) -> Iterator[App]:
    if request.param == "memory":
        made = App(
            kind="memory",
            accounts=MemoryAccountStore(),
            users=MemoryUserStore(),
            replay_cache=MemoryReplayCache(),
            acme_idp=test_idp,
            globex_idp=globex_idp,
            login_service=login_service,
        )
    else:
        db = tmp_path / "app.sqlite3"
        made = App(
            kind="sqlite",
            accounts=SQLiteAccountStore(db),
            users=SQLiteUserStore(db),
            replay_cache=SQLiteReplayCache(db),
            acme_idp=test_idp,
            globex_idp=globex_idp,
            db=db,
            login_service=login_service,
        )
    made.accounts.save(_account("acme", test_idp))
    made.accounts.save(_account("globex", globex_idp))
    yield made
    if made.db is not None:
        for store in (made.accounts, made.users, made.replay_cache):
            store.close()


def globex_response(app: App, **knobs: Any) -> IssuedResponse:
    knobs.setdefault(
        "attributes",
        {"full_name": ["Ada of Globex"], "role": ["finance"], "imagekit_id": ["globex"]},
    )
    return app.respond(app.globex_idp, **knobs)


# --- creating, updating, unchanged ----------------------------------------------------------


def test_a_first_idp_initiated_login_creates_the_user_in_the_account(app: App) -> None:
    result = app.login(app.respond())
    assert result.outcome.action == "created"
    assert dict(result.outcome.changes) == {
        "full_name": (None, "Ada Lovelace"),
        "role": (None, "developer"),
    }
    assert (result.user.email, result.user.full_name, result.user.role) == (
        "ada@acme.test",
        "Ada Lovelace",
        "developer",
    )
    assert result.user.account_id == result.account_id == "acme"
    assert app.all_users() == [result.user]


def test_the_session_comes_from_the_session_issuer_with_the_login_context(app: App) -> None:
    result = app.login(app.respond())
    assert result.session == "session-1"
    [(user, context)] = app.sessions.issued
    assert user == result.user
    assert context.account_id == "acme"
    assert context.idp_initiated is True
    assert context.identity == result.identity
    assert context.identity.email == "ada@acme.test"
    # The IdP owns MFA: the app sees how the IdP authenticated the user.
    assert context.assertion.authn_context_class == PASSWORD


def test_the_first_login_records_the_last_sso_login(app: App) -> None:
    result = app.login(app.respond())
    assert result.user.last_sso_login == NOW
    assert app.users.get_by_email("ada@acme.test").last_sso_login == NOW


def test_a_later_login_with_a_changed_name_and_role_updates_the_user_and_reports_the_diff(
    app: App,
) -> None:
    created = app.login(app.respond()).user
    app.clock.now = NOW + timedelta(days=1)
    result = app.login(
        app.respond(
            attributes={
                "full_name": ["Ada King"],
                "role": ["account_administrator"],
                "imagekit_id": ["acme"],
            }
        )
    )
    assert result.outcome.action == "updated"
    assert dict(result.outcome.changes) == {
        "full_name": ("Ada Lovelace", "Ada King"),
        "role": ("developer", "account_administrator"),
    }
    stored = app.users.get_by_email("ada@acme.test")
    assert stored == result.user
    assert (stored.user_id, stored.full_name, stored.role) == (
        created.user_id,
        "Ada King",
        "account_administrator",
    )
    assert stored.last_sso_login == NOW + timedelta(days=1)


def test_a_later_login_with_the_same_claims_is_unchanged_but_records_the_login(app: App) -> None:
    created = app.login(app.respond()).user
    app.clock.now = NOW + timedelta(hours=5)
    result = app.login(app.respond())
    assert result.outcome.action == "unchanged"
    assert dict(result.outcome.changes) == {}
    assert result.user == dataclasses.replace(created, last_sso_login=NOW + timedelta(hours=5))
    assert app.all_users() == [result.user]


def test_update_users_false_keeps_name_and_role_but_records_the_login(app: App) -> None:
    app.login(app.respond())
    app.policy(update_users=False)
    app.clock.now = NOW + timedelta(hours=1)
    result = app.login(
        app.respond(
            attributes={"full_name": ["Ada King"], "role": ["finance"], "imagekit_id": ["acme"]}
        )
    )
    assert result.outcome.action == "unchanged"
    stored = app.users.get_by_email("ada@acme.test")
    assert (stored.full_name, stored.role) == ("Ada Lovelace", "developer")
    assert stored.last_sso_login == NOW + timedelta(hours=1)


def test_an_sp_initiated_login_of_an_existing_user_succeeds_by_default(app: App) -> None:
    app.login(app.respond())
    app.clock.now = NOW + timedelta(hours=1)
    result = app.login(app.respond(in_response_to="_req-1"), in_response_to="_req-1")
    assert result.outcome.action == "unchanged"
    assert app.sessions.issued[-1][1].idp_initiated is False


def test_relay_state_is_passed_through(app: App) -> None:
    assert app.login(app.respond(), relay_state="/media/library?folder=2").relay_state == (
        "/media/library?folder=2"
    )


def test_without_relay_state_the_result_has_none(app: App) -> None:
    assert app.login(app.respond()).relay_state is None


# --- a concurrent first login ---------------------------------------------------------------


class LosingTheRace:
    """A UserStore through which another worker creates the user between this login's lookup
    and its insert, as two first logins of the same person on two workers do."""

    def __init__(self, users: Any, rival: NewUser) -> None:
        self.users = users
        self.rival: NewUser | None = rival

    def get_by_email(self, email: str) -> UserRecord | None:
        found = self.users.get_by_email(email)
        if found is None and self.rival is not None:
            self.users.create(self.rival, now=NOW - timedelta(seconds=1))
            self.rival = None
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.users, name)


def test_a_first_login_that_loses_the_creation_race_updates_the_winners_user(app: App) -> None:
    rival = NewUser(email="ada@acme.test", account_id="acme", full_name="Ada", role="finance")
    service = app.login_service(
        accounts=app.accounts,
        users=LosingTheRace(app.users, rival),
        sessions=app.sessions,
        replay_cache=app.replay_cache,
        clock=app.clock,
    )
    result = service.complete_login({"SAMLResponse": app.respond().form_value}, account_id="acme")
    assert result.outcome.action == "updated"
    assert dict(result.outcome.changes) == {
        "full_name": ("Ada", "Ada Lovelace"),
        "role": ("finance", "developer"),
    }
    [stored] = app.all_users()
    assert stored == result.user
    assert (stored.full_name, stored.role, stored.last_sso_login) == (
        "Ada Lovelace",
        "developer",
        NOW,
    )


def test_a_first_login_that_loses_the_creation_race_to_another_accounts_user_is_refused(
    app: App,
) -> None:
    """The winner's user belongs to globex: the loser is not logged into it (never moved)."""
    rival = NewUser(email="ada@acme.test", account_id="globex", full_name="Ada", role="finance")
    service = app.login_service(
        accounts=app.accounts,
        users=LosingTheRace(app.users, rival),
        sessions=app.sessions,
        replay_cache=app.replay_cache,
        clock=app.clock,
    )
    with pytest.raises(SamlError) as caught:
        service.complete_login({"SAMLResponse": app.respond().form_value}, account_id="acme")
    assert caught.value.code == "account_mismatch"
    [stored] = app.all_users()
    assert (stored.account_id, stored.full_name, stored.role, stored.last_sso_login) == (
        "globex",
        "Ada",
        "finance",
        NOW - timedelta(seconds=1),
    )
    assert app.sessions.issued == []


# --- rejections: a code, and nothing written ------------------------------------------------


def test_an_unaccepted_role_is_refused_and_writes_nothing(app: App) -> None:
    issued = app.respond(
        attributes={"full_name": ["Ada Lovelace"], "role": ["superuser"], "imagekit_id": ["acme"]}
    )
    with app.writes_nothing():
        err = app.refused(issued)
    assert err.code == "role_not_accepted"
    assert err.found == ["superuser"]
    app.configure(mapping=MAPPING.with_changes(role_values={"superuser": "account_administrator"}))
    assert app.login(issued).user.role == "account_administrator"


def test_an_unaccepted_role_leaves_an_existing_user_untouched(app: App) -> None:
    app.login(app.respond())
    app.clock.now = NOW + timedelta(hours=1)
    issued = app.respond(
        attributes={"full_name": ["Ada King"], "role": ["superuser"], "imagekit_id": ["acme"]}
    )
    with app.writes_nothing():
        assert app.refused(issued).code == "role_not_accepted"


def test_an_account_claim_naming_another_account_is_refused_and_writes_nothing(app: App) -> None:
    issued = app.respond(
        attributes={"full_name": ["Ada Lovelace"], "role": ["developer"], "imagekit_id": ["globex"]}
    )
    with app.writes_nothing():
        err = app.refused(issued)
    assert err.code == "account_mismatch"
    assert (err.expected, err.found) == ("acme", "globex")


def test_a_missing_account_claim_is_refused_and_writes_nothing(app: App) -> None:
    issued = app.respond(attributes={"full_name": ["Ada Lovelace"], "role": ["developer"]})
    with app.writes_nothing():
        assert app.refused(issued).code == "account_missing"


def test_a_user_of_another_account_is_refused_never_moved(app: App) -> None:
    globex_user = app.login(globex_response(app), account_id="globex").user
    app.clock.now = NOW + timedelta(hours=1)
    with app.writes_nothing():
        err = app.refused(app.respond())
    assert err.code == "account_mismatch"
    assert (err.expected, err.found) == ("acme", "globex")
    assert app.users.get_by_email("ada@acme.test") == globex_user


def test_a_response_signed_by_another_accounts_idp_is_refused_at_this_accounts_acs(
    app: App,
) -> None:
    """An account's IdP can only log users into that account."""
    issued = globex_response(
        app,
        attributes={"full_name": ["Ada"], "role": ["developer"], "imagekit_id": ["acme"]},
    )
    with app.writes_nothing():
        err = app.refused(issued, account_id="acme")
    assert err.code == "untrusted_key"


def test_a_replayed_assertion_is_refused_and_writes_nothing(app: App) -> None:
    issued = app.respond()
    app.login(issued)
    app.clock.now = NOW + timedelta(minutes=1)
    with app.writes_nothing():
        err = app.refused(issued)
    assert err.code == "replayed"
    assert app.users.get_by_email("ada@acme.test").last_sso_login == NOW


def test_deleting_the_account_configuration_disables_sso_and_writes_nothing(app: App) -> None:
    app.login(app.respond())
    config = app.accounts.get("acme")
    app.accounts.delete("acme")
    app.clock.now = NOW + timedelta(minutes=1)
    issued = app.respond()
    with app.writes_nothing():
        err = app.refused(issued)
    assert err.code == "sso_disabled"
    assert app.users.get_by_email("ada@acme.test") is not None, "SSO never deletes users"
    app.accounts.save(config)
    assert app.login(issued).outcome.action == "unchanged"


def test_an_unknown_account_has_sso_disabled(app: App) -> None:
    with app.writes_nothing():
        assert app.refused(app.respond(), account_id="initech").code == "sso_disabled"


def test_an_unsolicited_response_is_refused_where_the_account_disallows_idp_initiated(
    app: App,
) -> None:
    app.policy(allow_idp_initiated=False)
    issued = app.respond()
    with app.writes_nothing():
        assert app.refused(issued).code == "unsolicited_response"
    app.policy(allow_idp_initiated=True)
    assert app.login(issued).outcome.action == "created"


def test_a_first_sp_initiated_login_is_not_provisioned_by_default(app: App) -> None:
    issued = app.respond(in_response_to="_req-1")
    with app.writes_nothing():
        err = app.refused(issued, in_response_to="_req-1")
    assert err.code == "user_not_provisioned"
    app.policy(create_users="always")
    result = app.login(issued, in_response_to="_req-1")
    assert result.outcome.action == "created"
    assert app.sessions.issued[-1][1].idp_initiated is False


def test_create_users_never_refuses_even_an_idp_initiated_first_login(app: App) -> None:
    app.policy(create_users="never")
    with app.writes_nothing():
        assert app.refused(app.respond()).code == "user_not_provisioned"


def test_a_weaker_authn_context_than_required_is_refused_and_writes_nothing(app: App) -> None:
    app.policy(required_authn_contexts=(MFA,))
    issued = app.respond()
    with app.writes_nothing():
        err = app.refused(issued)
    assert err.code == "authn_context_not_accepted"
    assert (err.expected, err.found) == ([MFA], PASSWORD)
    app.policy(required_authn_contexts=(MFA, PASSWORD))
    assert app.login(issued).outcome.action == "created"


def test_the_required_authn_context_is_accepted(app: App) -> None:
    app.policy(required_authn_contexts=(MFA,))
    result = app.login(app.respond(authn_context_class=MFA))
    assert result.assertion.authn_context_class == MFA


def test_a_post_without_saml_response_is_malformed(app: App) -> None:
    with app.writes_nothing(), pytest.raises(SamlError) as caught:
        app.service.complete_login({"RelayState": "/"}, account_id="acme")
    assert caught.value.code == "malformed_response"


# --- vendor claims through the whole login ---------------------------------------------------

KEYCLOAK_ATTRIBUTES = [
    # (Name, FriendlyName, value): X500 mappers send OID Names; role_list one Role per role.
    ("urn:oid:1.2.840.113549.1.9.1", "email", "Ada@Acme.test"),
    ("urn:oid:2.5.4.42", "givenName", "Ada"),
    ("urn:oid:2.5.4.4", "surname", "Lovelace"),
    ("Role", None, "offline_access"),
    ("Role", None, "developer"),
    ("Role", None, "uma_authorization"),
    ("imagekit_id", None, "acme"),
]


def _keycloak_statement(assertion: etree._Element) -> None:
    statement = etree.SubElement(assertion, f"{{{NS_SAML}}}AttributeStatement")
    for name, friendly_name, value in KEYCLOAK_ATTRIBUTES:
        attribute = etree.SubElement(statement, f"{{{NS_SAML}}}Attribute", Name=name)
        if friendly_name is not None:
            attribute.set("FriendlyName", friendly_name)
        etree.SubElement(attribute, f"{{{NS_SAML}}}AttributeValue").text = value


def test_a_keycloak_response_logs_in_through_the_keycloak_preset(app: App) -> None:
    """FriendlyName lookup and repeated Attribute elements, from signed XML to the user."""
    app.configure(
        mapping=ClaimMapping.from_dict(
            {
                "preset": "keycloak",
                "accepted_roles": ACCEPTED,
                "account_attributes": ["imagekit_id"],
            }
        )
    )
    issued = app.respond(
        name_id="ada",
        name_id_format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        attributes=None,
        edit_assertion=_keycloak_statement,
    )
    user = app.login(issued).user
    assert (user.email, user.full_name, user.role) == ("ada@acme.test", "Ada Lovelace", "developer")


def _oid_statement(assertion: etree._Element) -> None:
    """Shibboleth-style attributes: OID Names, each with a FriendlyName."""
    statement = etree.SubElement(assertion, f"{{{NS_SAML}}}AttributeStatement")
    for name, friendly_name, value in [
        ("urn:oid:0.9.2342.19200300.100.1.3", "mail", "ada@acme.test"),
        ("urn:oid:2.16.840.1.113730.3.1.241", "displayName", "Ada Lovelace"),
        ("urn:oid:1.3.6.1.4.1.5923.1.1.1.7", "eduPersonEntitlement", "developer"),
        ("imagekit_id", None, "acme"),
    ]:
        attribute = etree.SubElement(statement, f"{{{NS_SAML}}}Attribute", Name=name)
        if friendly_name is not None:
            attribute.set("FriendlyName", friendly_name)
        etree.SubElement(attribute, f"{{{NS_SAML}}}AttributeValue").text = value


def test_a_mapping_may_name_the_signed_attributes_by_their_friendly_names(app: App) -> None:
    app.configure(
        mapping=ClaimMapping.from_dict(
            {
                "accepted_roles": ACCEPTED,
                "email_attributes": ["mail"],
                "full_name_attributes": ["displayName"],
                "role_attributes": ["eduPersonEntitlement"],
                "account_attributes": ["imagekit_id"],
            }
        )
    )
    issued = app.respond(
        name_id=PAIRWISE_ID,
        name_id_format=PERSISTENT,
        attributes=None,
        edit_assertion=_oid_statement,
    )
    user = app.login(issued).user
    assert (user.email, user.full_name, user.role) == ("ada@acme.test", "Ada Lovelace", "developer")


# --- shared ACS: the account chosen by the verified Issuer ----------------------------------


def test_with_a_shared_acs_the_issuer_chooses_the_account(app: App) -> None:
    acme = app.login(app.respond(), account_id=None)
    globex = app.login(
        globex_response(app, name_id="grace@globex.test"),
        account_id=None,
    )
    assert (acme.account_id, acme.user.account_id) == ("acme", "acme")
    assert (globex.account_id, globex.user.account_id) == ("globex", "globex")


def test_with_a_shared_acs_a_forged_issuer_does_not_borrow_another_accounts_trust(
    app: App,
) -> None:
    """The Issuer only selects an account; that account's keys must verify the signature."""
    forged = globex_response(
        app,
        issuer=app.acme_idp.entity_id,
        attributes={"full_name": ["Mallory"], "role": ["developer"], "imagekit_id": ["acme"]},
    )
    with app.writes_nothing():
        err = app.refused(forged, account_id=None)
    assert err.code == "untrusted_key"


def test_with_a_shared_acs_an_unknown_issuer_has_sso_disabled(app: App) -> None:
    stranger = TestIdP(entity_id="https://idp.initech.test/metadata", key_type="ec")
    with app.writes_nothing():
        err = app.refused(app.respond(stranger), account_id=None)
    assert err.code == "sso_disabled"
    assert err.found == "https://idp.initech.test/metadata"


def test_with_a_shared_acs_an_issuer_shared_by_two_accounts_is_refused(app: App) -> None:
    app.accounts.save(_account("initech", app.acme_idp))
    with app.writes_nothing():
        assert app.refused(app.respond(), account_id=None).code == "sso_disabled"


def _without_response_issuer(response: etree._Element) -> None:
    # The Response's own Issuer is optional (SAML core 3.2.2); the Assertion's is not.
    response.remove(response.find(f"{{{NS_SAML}}}Issuer"))


def test_with_a_shared_acs_a_response_without_its_own_issuer_is_matched_by_the_assertions(
    app: App,
) -> None:
    result = app.login(app.respond(edit_response=_without_response_issuer), account_id=None)
    assert result.account_id == "acme"


def test_with_a_shared_acs_whitespace_around_the_issuer_is_ignored(app: App) -> None:
    """Pretty-printing IdPs wrap the Issuer in newlines; verification trims it, so must the
    account lookup."""
    issued = app.respond(issuer=f"\n    {app.acme_idp.entity_id}\n  ")
    assert app.login(issued, account_id=None).account_id == "acme"


def _b64(xml: bytes) -> str:
    return base64.b64encode(xml).decode("ascii")


UNREADABLE = [
    pytest.param("not base64 at all", "invalid_base64", id="not-base64"),
    pytest.param("A" * (1024 * 1024), "response_too_large", id="too-large"),
    pytest.param(_b64(zlib.compress(b"<samlp:Response/>")), "compressed_payload", id="deflated"),
    pytest.param(_b64(b"<samlp:Response"), "xml_malformed", id="malformed"),
    pytest.param(
        _b64(b'<!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>'), "xml_forbidden_construct", id="dtd"
    ),
    pytest.param(_b64(b"<a>" * 100 + b"</a>" * 100), "xml_too_deep", id="too-deep"),
]


@pytest.mark.parametrize(("value", "code"), UNREADABLE)
def test_with_a_shared_acs_a_response_that_does_not_decode_or_parse_says_why(
    app: App, value: str, code: str
) -> None:
    """The cause of bad input is reported as it is with an account in the URL, not as an
    account without SSO: there is no Issuer to look an account up by."""
    with app.writes_nothing(), pytest.raises(SamlError) as caught:
        app.service.complete_login({"SAMLResponse": value}, account_id=None)
    assert caught.value.code == code


def test_with_a_shared_acs_the_idp_of_a_deleted_account_has_sso_disabled(app: App) -> None:
    app.accounts.delete("acme")
    with app.writes_nothing():
        assert app.refused(app.respond(), account_id=None).code == "sso_disabled"


# --- audit events ---------------------------------------------------------------------------


def test_audit_hook_receives_created_then_succeeded(app: App) -> None:
    app.login(app.respond())
    assert [(e.name, e.account_id, e.email) for e in app.events] == [
        ("user_created", "acme", "ada@acme.test"),
        ("login_succeeded", "acme", "ada@acme.test"),
    ]
    assert dict(app.events[0].changes) == {
        "full_name": (None, "Ada Lovelace"),
        "role": (None, "developer"),
    }
    assert all(e.at == NOW for e in app.events)


def test_audit_hook_receives_updated_with_the_changes(app: App) -> None:
    app.login(app.respond())
    app.events.clear()
    app.login(
        app.respond(
            attributes={"full_name": ["Ada Lovelace"], "role": ["finance"], "imagekit_id": ["acme"]}
        )
    )
    assert [e.name for e in app.events] == ["user_updated", "login_succeeded"]
    assert dict(app.events[0].changes) == {"role": ("developer", "finance")}


def test_audit_hook_receives_only_succeeded_for_an_unchanged_login(app: App) -> None:
    app.login(app.respond())
    app.events.clear()
    app.login(app.respond())
    assert [e.name for e in app.events] == ["login_succeeded"]


def test_audit_hook_receives_rejected_with_the_code(app: App) -> None:
    issued = app.respond(
        attributes={"full_name": ["Ada"], "role": ["superuser"], "imagekit_id": ["acme"]}
    )
    app.refused(issued)
    [event] = app.events
    assert (event.name, event.account_id, event.code) == (
        "login_rejected",
        "acme",
        "role_not_accepted",
    )
    assert event.message


def test_a_rejection_after_verification_names_the_account_and_the_signed_email(
    app: App,
) -> None:
    """With a shared ACS the account is known once the Issuer chose it and its keys verified."""
    issued = app.respond(
        attributes={"full_name": ["Ada"], "role": ["superuser"], "imagekit_id": ["acme"]},
    )
    app.refused(issued, account_id=None)
    [event] = app.events
    assert (event.account_id, event.email, event.code) == (
        "acme",
        "ada@acme.test",
        "role_not_accepted",
    )


def test_one_users_accepted_and_rejected_logins_are_audited_under_one_email(app: App) -> None:
    """An administrator searching the audit log for a user finds every login of theirs, so a
    rejection names the user's email as a success does: normalised, not the raw NameID."""
    app.login(app.respond(name_id="Ada@Acme.test"))
    app.refused(
        app.respond(
            name_id="Ada@Acme.test",
            attributes={"full_name": ["Ada"], "role": ["superuser"], "imagekit_id": ["acme"]},
        )
    )
    assert {(e.name, e.email) for e in app.events} == {
        ("user_created", "ada@acme.test"),
        ("login_succeeded", "ada@acme.test"),
        ("login_rejected", "ada@acme.test"),
    }


def test_a_rejection_before_verification_names_no_email(app: App) -> None:
    """An unverified response is the sender's word only: the audit does not repeat it."""
    forged = globex_response(
        app,
        issuer=app.acme_idp.entity_id,
        attributes={"full_name": ["Mallory"], "role": ["developer"], "imagekit_id": ["acme"]},
    )
    app.refused(forged)
    [event] = app.events
    assert (event.account_id, event.email, event.code) == ("acme", None, "untrusted_key")


def test_a_rejection_after_mapping_names_the_email_mapped_from_the_attributes(app: App) -> None:
    """With a persistent NameID the user's email is an attribute; a rejection after mapping
    (here the authentication context) names that email, as a success would."""
    app.policy(required_authn_contexts=(MFA,))
    app.refused(
        app.respond(
            name_id=PAIRWISE_ID,
            name_id_format=PERSISTENT,
            attributes={"email": ["Ada@Acme.test"], "role": ["developer"], "imagekit_id": ["acme"]},
        )
    )
    [event] = app.events
    assert (event.name, event.email, event.code) == (
        "login_rejected",
        "ada@acme.test",
        "authn_context_not_accepted",
    )


def test_a_rejection_before_mapping_does_not_name_a_persistent_nameid_as_the_email(
    app: App,
) -> None:
    """A persistent NameID shaped like an address is not the user's email: the audit of a
    login refused in the mapping names no email rather than someone else's."""
    app.refused(
        app.respond(
            name_id="ceo@acme.test",
            name_id_format=PERSISTENT,
            attributes={"email": ["ada@acme.test"], "role": ["superuser"], "imagekit_id": ["acme"]},
        )
    )
    [event] = app.events
    assert (event.name, event.email, event.code) == ("login_rejected", None, "role_not_accepted")


def test_audit_events_go_to_the_samljit_audit_logger(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="samljit.audit")
    app.login(app.respond())
    app.refused(
        app.respond(attributes={"role": ["superuser"], "imagekit_id": ["acme"]}),
    )
    records = [r for r in caplog.records if r.name == "samljit.audit"]
    assert [(r.levelname, r.samljit_event.name) for r in records] == [
        ("INFO", "user_created"),
        ("INFO", "login_succeeded"),
        ("WARNING", "login_rejected"),
    ]
    assert records[2].samljit_event.code == "role_not_accepted"
    assert "role_not_accepted" in records[2].getMessage()


_REFUSED_WITHOUT_LOGGING = """
import samljit
from samljit.integrations import _web
from samljit.stores.memory import MemoryAccountStore

service = samljit.LoginService(
    accounts=MemoryAccountStore(),
    users=samljit.MemoryUserStore(),
    sessions=samljit.MemorySessionIssuer(),
    replay_cache=samljit.MemoryReplayCache(),
)
for account_id in ("acme", None):
    try:
        service.complete_login({"SAMLResponse": "PHNhbWxwOlJlc3BvbnNlLz4="}, account_id=account_id)
    except samljit.SamlError as err:
        print(err.code)
        _web.failure(err, step="acs", account_id=account_id)
"""


def test_an_app_that_configures_no_logging_gets_nothing_on_stderr_from_a_refusal() -> None:
    """samljit's loggers have a NullHandler: Python's last-resort handler would otherwise
    print every refused login (a WARNING on samljit.audit) to stderr."""
    done = subprocess.run(
        [sys.executable, "-c", _REFUSED_WITHOUT_LOGGING],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.split() == ["sso_disabled", "xml_malformed"]
    assert done.stderr == ""


def test_an_app_that_configures_logging_still_gets_the_audit_records() -> None:
    configured = "import logging; logging.basicConfig(level=logging.INFO)\n"
    done = subprocess.run(
        [sys.executable, "-c", configured + _REFUSED_WITHOUT_LOGGING],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stderr.count("WARNING:samljit.audit:login_rejected") == 2
    assert done.stderr.count("WARNING:samljit.integrations:sso acs failed") == 2


# --- metadata: parsed once per document, replaced on change ---------------------------------


def test_a_metadata_change_takes_effect_on_the_next_login(app: App, rotated_idp: TestIdP) -> None:
    """The IdP rotated its key; the administrator pastes the new metadata."""
    app.login(app.respond())
    app.configure(idp_metadata=rotated_idp.metadata_xml)
    app.clock.now = NOW + timedelta(minutes=1)
    with app.writes_nothing():
        assert app.refused(app.respond()).code == "untrusted_key"
    assert app.login(app.respond(rotated_idp)).outcome.action == "unchanged"


def _without_key_info(response: etree._Element) -> None:
    # KeyInfo is outside what the enveloped signature covers; several IdPs leave it out.
    for key_info in list(response.iter(f"{{{NS_DS}}}KeyInfo")):
        key_info.getparent().remove(key_info)


@pytest.mark.parametrize("key_info", [True, False], ids=["with KeyInfo", "without KeyInfo"])
def test_during_a_rollover_to_another_key_type_the_new_key_logs_in(
    app: App, key_info: bool
) -> None:
    """Metadata lists the old RSA and the new EC certificate (in that order) while the IdP
    switches; a response signed with the new key logs in whether or not it names its key."""
    new = TestIdP(entity_id=app.acme_idp.entity_id, key_type="ec")
    app.configure(idp_metadata=app.acme_idp.metadata(extra_certificates=[new.certificate]))
    issued = app.respond(new, edit_response=None if key_info else _without_key_info)
    assert app.login(issued).outcome.action == "created"


def test_a_thousand_accounts_parse_each_metadata_once(
    monkeypatch: pytest.MonkeyPatch, login_service: Callable[..., LoginService]
) -> None:
    parsed: list[bytes] = []
    parse = samljit._idp_cache.parse_idp_metadata

    def counting_parse(xml: bytes, **options: Any) -> samljit.ParsedMetadata:
        parsed.append(xml)
        return parse(xml, **options)

    monkeypatch.setattr(samljit._idp_cache, "parse_idp_metadata", counting_parse)
    key, certificate = make_certificate(key_type="ec")
    idps = [
        TestIdP(entity_id=f"https://idp{i}.test/metadata", key=key, certificate=certificate)
        for i in range(1000)
    ]
    accounts = MemoryAccountStore(
        AccountConfig(
            account_id=f"account-{i}", idp_metadata=idp.metadata_xml, sp=SP, mapping=PLAIN
        )
        for i, idp in enumerate(idps)
    )
    service = login_service(
        accounts=accounts,
        users=MemoryUserStore(),
        sessions=RecordingSessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=lambda: NOW,
    )

    def login_everyone() -> None:
        for i, idp in enumerate(idps):
            issued = idp.issue_response(
                sp_entity_id=SP_ENTITY_ID,
                acs_url=ACS_URL,
                now=NOW,
                name_id=f"user{i}@account-{i}.test",
                attributes={"role": ["developer"]},
            )
            service.complete_login({"SAMLResponse": issued.form_value}, account_id=f"account-{i}")

    login_everyone()
    assert len(parsed) == 1000
    assert len(set(parsed)) == 1000
    login_everyone()
    assert len(parsed) == 1000

    rotated = TestIdP(entity_id=idps[7].entity_id, key_type="ec")
    accounts.save(dataclasses.replace(accounts.get("account-7"), idp_metadata=rotated.metadata_xml))
    issued = rotated.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        name_id="user7@account-7.test",
        attributes={"role": ["developer"]},
    )
    service.complete_login({"SAMLResponse": issued.form_value}, account_id="account-7")
    assert parsed[1000:] == [rotated.metadata_xml]


def _aggregate(*idps: TestIdP) -> bytes:
    """A federation aggregate: one EntitiesDescriptor holding each IdP's EntityDescriptor."""
    root = etree.Element(f"{{{NS_MD}}}EntitiesDescriptor", nsmap={"md": NS_MD})
    for idp in idps:
        root.append(etree.fromstring(idp.metadata_xml))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_accounts_sharing_one_aggregate_each_trust_the_idp_they_picked_from_it(app: App) -> None:
    """The parsed IdP is cached by document and entity ID, never by the document alone."""
    aggregate = _aggregate(app.acme_idp, app.globex_idp)
    app.configure("acme", idp_metadata=aggregate, idp_entity_id=app.acme_idp.entity_id)
    app.configure("globex", idp_metadata=aggregate, idp_entity_id=app.globex_idp.entity_id)
    acme = app.login(app.respond())
    globex = app.login(globex_response(app, name_id="grace@globex.test"), account_id="globex")
    assert (acme.user.account_id, globex.user.account_id) == ("acme", "globex")


def _counting_parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    parsed: list[bytes] = []
    parse = samljit._idp_cache.parse_idp_metadata

    def counting_parse(xml: bytes, **options: Any) -> samljit.ParsedMetadata:
        parsed.append(xml)
        return parse(xml, **options)

    monkeypatch.setattr(samljit._idp_cache, "parse_idp_metadata", counting_parse)
    return parsed


def _small_cache_service_and_accounts() -> tuple[LoginService, dict[str, AccountConfig]]:
    key, certificate = make_certificate(key_type="ec")
    configs = {
        name: AccountConfig(
            account_id=name,
            idp_metadata=TestIdP(
                entity_id=f"https://idp.{name}.test/metadata", key=key, certificate=certificate
            ).metadata_xml,
            sp=SP,
            mapping=PLAIN,
        )
        for name in ("a", "b", "c")
    }
    service = LoginService(
        accounts=MemoryAccountStore(),
        users=MemoryUserStore(),
        sessions=RecordingSessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=lambda: NOW,
        metadata_cache_size=2,
    )
    return service, configs


def test_the_metadata_cache_keeps_at_most_metadata_cache_size_documents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed = _counting_parses(monkeypatch)
    service, configs = _small_cache_service_and_accounts()
    for name in ("a", "b", "c", "a"):
        service.identity_provider(configs[name])
    assert parsed == [configs[name].idp_metadata for name in ("a", "b", "c", "a")]


def test_the_metadata_cache_evicts_the_least_recently_used_document(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed = _counting_parses(monkeypatch)
    service, configs = _small_cache_service_and_accounts()
    for name in ("a", "b", "a", "c", "a"):
        service.identity_provider(configs[name])
    assert parsed == [configs[name].idp_metadata for name in ("a", "b", "c")]


# --- stale users ----------------------------------------------------------------------------


def test_stale_users_lists_the_accounts_users_without_a_recent_sso_login(app: App) -> None:
    def login_at(when: datetime, email: str, *, account: str = "acme") -> None:
        app.clock.now = when
        if account == "acme":
            app.login(app.respond(name_id=email))
        else:
            app.login(globex_response(app, name_id=email), account_id="globex")

    login_at(NOW - timedelta(days=200), "gone@acme.test")
    login_at(NOW - timedelta(days=90), "edge@acme.test")
    login_at(NOW - timedelta(days=91), "left@acme.test")
    login_at(NOW - timedelta(days=5), "active@acme.test")
    login_at(NOW - timedelta(days=300), "other@globex.test", account="globex")
    app.clock.now = NOW
    report = app.service.stale_users("acme", days=90)
    assert [u.email for u in report] == ["gone@acme.test", "left@acme.test"]


def test_a_login_takes_a_user_off_the_stale_report(app: App) -> None:
    app.clock.now = NOW - timedelta(days=100)
    app.login(app.respond())
    app.clock.now = NOW
    assert [u.email for u in app.service.stale_users("acme", days=30)] == ["ada@acme.test"]
    app.login(app.respond())
    assert app.service.stale_users("acme", days=30) == []


# --- one identity per person ----------------------------------------------------------------


def _acme(attributes: dict[str, list[str]] | None = None, **changes: list[str]) -> dict[str, Any]:
    base = {"full_name": ["Mallory"], "role": ["account_administrator"], "imagekit_id": ["acme"]}
    return {**base, **(attributes or {}), **changes}


@pytest.mark.parametrize(
    ("existing", "forged"),
    [
        ("ceo@acme.test", "ceo@acme.test\u3000"),
        ("ceo@acme.test", "ceo@acme.test\u00a0"),
        ("ceo@acme.test", "ceo@acme.test\u0085"),
        ("ceo@acme.test", "ceo@acme.test\u2007"),
        ("ceo@acme.test", "\u3000ceo@acme.test"),
        ("kate@acme.test", "\u212aate@acme.test"),
        ("ceo@acme.test", "\uff43eo@acme.test"),
    ],
    ids=[
        "ideographic space",
        "no-break space",
        "next line",
        "figure space",
        "leading ideographic space",
        "kelvin sign",
        "fullwidth letter",
    ],
)
def test_a_nameid_that_unicode_folding_would_make_an_existing_user_is_refused(
    app: App, existing: str, forged: str
) -> None:
    """Another person's NameID never becomes the existing user whose name and role the login
    would then rewrite: it is refused as it is, and the existing user is untouched."""
    app.login(app.respond(name_id=existing))
    app.clock.now = NOW + timedelta(minutes=1)
    with app.writes_nothing():
        err = app.refused(app.respond(name_id=forged, attributes=_acme()))
    assert err.code == "email_invalid"


def test_ascii_case_and_surrounding_ascii_whitespace_are_the_same_user(app: App) -> None:
    created = app.login(app.respond(name_id="ada@acme.test")).user
    app.clock.now = NOW + timedelta(minutes=1)
    result = app.login(app.respond(name_id=" \tAda@ACME.test\r\n"))
    assert result.user.user_id == created.user_id
    assert result.outcome.action == "unchanged"


def test_a_role_padded_with_a_unicode_space_is_not_the_administrator_role(app: App) -> None:
    issued = app.respond(attributes=_acme(role=["account_administrator\u3000"]))
    with app.writes_nothing():
        err = app.refused(issued)
    assert err.code == "role_not_accepted"


def test_an_account_claim_padded_with_a_unicode_space_is_another_account(app: App) -> None:
    issued = app.respond(attributes=_acme(role=["developer"], imagekit_id=["acme\u3000"]))
    with app.writes_nothing():
        err = app.refused(issued)
    assert err.code == "account_mismatch"


@pytest.mark.parametrize(
    "values", [["acme", "globex"], ["globex", "acme"]], ids=["own first", "other first"]
)
def test_an_account_claim_whose_values_disagree_is_refused(app: App, values: list[str]) -> None:
    """Neither value wins: the order of values must not choose the account."""
    issued = app.respond(attributes=_acme(role=["developer"], imagekit_id=values))
    with app.writes_nothing():
        err = app.refused(issued)
    assert err.code == "account_mismatch"
    assert err.found == values


def test_an_account_claim_repeating_the_same_account_is_accepted(app: App) -> None:
    issued = app.respond(attributes=_acme(role=["developer"], imagekit_id=["acme", " acme "]))
    assert app.login(issued).account_id == "acme"


def test_a_persistent_nameid_shaped_like_another_users_address_is_not_that_user(
    app: App,
) -> None:
    """A persistent NameID is an opaque ID: the email comes from the mapped attribute."""
    ada = app.login(app.respond()).user
    app.clock.now = NOW + timedelta(minutes=1)
    result = app.login(
        app.respond(
            name_id="ada@acme.test",
            name_id_format=PERSISTENT,
            attributes=_acme(role=["developer"], email=["mallory@acme.test"]),
        )
    )
    assert result.user.email == "mallory@acme.test"
    assert result.outcome.action == "created"
    assert app.users.get_by_email("ada@acme.test") == ada


def test_a_mapping_that_says_so_takes_a_persistent_nameid_as_the_email(app: App) -> None:
    app.configure(mapping=MAPPING.with_changes(name_id_is_email=True))
    result = app.login(app.respond(name_id="Ada@acme.test", name_id_format=PERSISTENT))
    assert result.user.email == "ada@acme.test"


# --- domain owners ----------------------------------------------------------------------------


def own_domains(app: App, owners: dict[str, str], **options: Any) -> None:
    """The host app's table of verified domains (domain -> owning account), given to the
    service as ``account_for_domain``."""
    app.service = app.login_service(
        accounts=app.accounts,
        users=app.users,
        sessions=app.sessions,
        replay_cache=app.replay_cache,
        clock=app.clock,
        audit=app.events.append,
        account_for_domain=owners.get,
        **options,
    )


def test_another_accounts_idp_cannot_provision_an_address_at_an_owned_domain(app: App) -> None:
    own_domains(app, {"acme.test": "acme"})
    issued = globex_response(app, name_id="newhire@acme.test")
    with app.writes_nothing():
        err = app.refused(issued, account_id="globex")
    assert err.code == "domain_not_owned"
    assert (err.expected, err.found) == ("acme", "globex")
    # The real person then logs in through acme's IdP, into acme.
    result = app.login(app.respond(name_id="newhire@acme.test"))
    assert (result.user.email, result.account_id) == ("newhire@acme.test", "acme")


def test_the_owner_check_reads_the_mapped_email_not_the_nameid(app: App) -> None:
    own_domains(app, {"acme.test": "acme"})
    issued = globex_response(
        app,
        name_id=PAIRWISE_ID,
        name_id_format=PERSISTENT,
        attributes={"email": ["NewHire@ACME.test"], "role": ["finance"], "imagekit_id": ["globex"]},
    )
    with app.writes_nothing():
        assert app.refused(issued, account_id="globex").code == "domain_not_owned"


def test_a_subdomain_of_an_owned_domain_is_owned_too(app: App) -> None:
    own_domains(app, {"acme.test": "acme"})
    issued = globex_response(app, name_id="newhire@eu.acme.test")
    with app.writes_nothing():
        assert app.refused(issued, account_id="globex").code == "domain_not_owned"


def test_without_subdomain_coverage_a_subdomain_is_not_owned(app: App) -> None:
    own_domains(app, {"acme.test": "acme"}, domain_owner_covers_subdomains=False)
    result = app.login(globex_response(app, name_id="newhire@eu.acme.test"), account_id="globex")
    assert result.account_id == "globex"


def test_an_address_at_a_domain_nobody_owns_is_provisioned_as_before(app: App) -> None:
    own_domains(app, {"acme.test": "acme"})
    result = app.login(globex_response(app, name_id="ada@gmail.test"), account_id="globex")
    assert (result.user.email, result.account_id) == ("ada@gmail.test", "globex")


def test_a_user_created_before_ownership_no_longer_logs_in_through_the_other_account(
    app: App,
) -> None:
    """What the operator meets (docs/jit.md): the stale user refuses both IdPs until it is
    deleted; then the owner's IdP creates the real person in the owner's account."""
    squatted = app.login(globex_response(app, name_id="cfo@acme.test"), account_id="globex").user
    own_domains(app, {"acme.test": "acme"})
    app.clock.now = NOW + timedelta(minutes=1)
    with app.writes_nothing():
        err = app.refused(globex_response(app, name_id="cfo@acme.test"), account_id="globex")
    assert err.code == "domain_not_owned"
    with app.writes_nothing():
        err = app.refused(app.respond(name_id="cfo@acme.test"))
    assert err.code == "account_mismatch"
    assert app.users.get_by_email("cfo@acme.test") == squatted
    app.users.delete("cfo@acme.test")
    result = app.login(app.respond(name_id="cfo@acme.test"))
    assert (result.account_id, result.outcome.action) == ("acme", "created")


def test_a_domain_not_owned_rejection_is_audited_with_the_signed_email(app: App) -> None:
    own_domains(app, {"acme.test": "acme"})
    app.refused(globex_response(app, name_id="newhire@acme.test"), account_id="globex")
    [event] = app.events
    assert (event.name, event.account_id, event.email, event.code) == (
        "login_rejected",
        "globex",
        "newhire@acme.test",
        "domain_not_owned",
    )
