"""A host app with a SCIM endpoint, for the SCIM tests: the accounts, the users (which SAML
logins and SCIM write alike), the directory, the tokens, the sessions, the audit events, a
real :class:`~samljit.LoginService` and the :class:`~samljit.scim.ScimService`, with helpers
that send a request the way an adapter would and read the JSON back."""

from __future__ import annotations

import dataclasses
import functools
import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import samljit
from samljit import AccountConfig, AuditEvent, ClaimMapping, LoginService, SPConfig
from samljit.directory import ScimTokens
from samljit.integrations.sessions import SESSION_KEY, MemorySessionStore
from samljit.scim import ScimRequest, ScimResponse, ScimService
from samljit.stores.memory import (
    MemoryAccountStore,
    MemoryDirectoryStore,
    MemoryReplayCache,
    MemoryScimTokenStore,
    MemoryUserStore,
)
from samljit.testing import FixedClock, RecordingSessionIssuer, TestIdP

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
ROLES = ("admin", "developer", "viewer")
BASE = "https://app.example.com/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAPPING = ClaimMapping.from_dict(
    {
        "accepted_roles": list(ROLES),
        "role_values": {"Engineering": "developer"},
        "group_roles": [["Admins", "admin"], ["Engineers", "developer"]],
    }
)


def sp_of(account_id: str) -> SPConfig:
    """The SP of an account."""
    return SPConfig(
        entity_id=f"https://app.example.com/sso/{account_id}/metadata",
        acs_url=f"https://app.example.com/sso/{account_id}/acs",
    )


@dataclass
class Reply:
    """A SCIM response, its JSON read."""

    response: ScimResponse

    @property
    def status(self) -> int:
        return self.response.status

    @property
    def json(self) -> Any:
        return json.loads(self.response.body) if self.response.body else None

    @property
    def headers(self) -> Mapping[str, str]:
        return self.response.headers

    @property
    def detail(self) -> str:
        """The ``detail`` of an RFC 7644 §3.12 error document."""
        return str(self.json["detail"])

    @property
    def code(self) -> str:
        """samljit's error code: the ``detail`` begins with it."""
        return self.detail.split(":", 1)[0]

    def __getitem__(self, key: str) -> Any:
        return self.json[key]


@dataclass
class ScimApp:
    """Two accounts, acme and globex, each with a test IdP and a SCIM token."""

    idps: dict[str, TestIdP]
    mapping: ClaimMapping = MAPPING
    clock: FixedClock = field(default_factory=lambda: FixedClock(NOW))
    users: MemoryUserStore = field(default_factory=MemoryUserStore)
    sessions: MemorySessionStore = field(init=False)
    events: list[AuditEvent] = field(default_factory=list)
    limits: dict[str, Any] = field(default_factory=dict)
    domain_owners: dict[str, str] = field(default_factory=dict)
    http_root: str | None = None
    """When set (:func:`serving`), :meth:`send` goes over HTTP to the endpoint served there."""

    def __post_init__(self) -> None:
        self.sessions = MemorySessionStore(clock=self.clock)
        self.accounts = MemoryAccountStore(
            [
                AccountConfig(
                    account_id=account_id,
                    idp_metadata=idp.metadata_xml,
                    sp=sp_of(account_id),
                    mapping=self.mapping,
                )
                for account_id, idp in self.idps.items()
            ]
        )
        self.directory = MemoryDirectoryStore(self.users)
        self.tokens = ScimTokens(MemoryScimTokenStore(), clock=self.clock)
        self.secrets = {a: self.tokens.issue(a, label="IdP")[0] for a in self.idps}
        self.service = self.make_service()
        self.issued = RecordingSessionIssuer()
        self.login_service = LoginService(
            accounts=self.accounts,
            users=self.users,
            sessions=self.issued,
            replay_cache=MemoryReplayCache(),
            clock=self.clock,
            account_for_domain=self.domain_owners.get,
        )

    def make_service(self, **options: Any) -> ScimService:
        """A ScimService over this app's stores; ``options`` as the constructor's."""
        options = {**self.limits, **options}
        options.setdefault("session_revoker", self.sessions)
        options.setdefault("account_for_domain", self.domain_owners.get)
        return ScimService(
            accounts=self.accounts,
            directory=self.directory,
            tokens=self.tokens,
            audit=self.events.append,
            clock=self.clock,
            **options,
        )

    # --- requests -------------------------------------------------------------------------

    def send(
        self,
        method: str,
        target: str,
        body: Any = None,
        *,
        account: str = "acme",
        token: str | None = "",
        authorization: str | None = None,
        raw: bytes | None = None,
        service: ScimService | None = None,
    ) -> Reply:
        """``method target`` at the account's SCIM root, as an adapter would pass it.

        ``target`` may carry a query string; ``token`` "" is the account's own, None none;
        ``authorization`` is the header as it is, instead."""
        parts = urlsplit(target)
        secret = self.secrets[account] if token == "" else token
        header = (
            authorization
            if authorization is not None
            else (f"Bearer {secret}" if secret is not None else None)
        )
        payload = raw if raw is not None else (json.dumps(body).encode() if body else b"")
        if self.http_root is not None and service is None:
            return self._over_http(method, f"{account}/{target}", header, payload)
        request = ScimRequest(
            method=method,
            account_id=account,
            path=parts.path,
            base_url=f"{BASE}/{account}",
            query=dict(parse_qsl(parts.query)),
            authorization=authorization
            if authorization is not None
            else (f"Bearer {secret}" if secret is not None else None),
            body=raw if raw is not None else (json.dumps(body).encode() if body else b""),
        )
        return Reply((service or self.service).handle(request))

    def _over_http(
        self, method: str, target: str, authorization: str | None, payload: bytes
    ) -> Reply:
        headers = {"Content-Type": "application/scim+json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        answer = httpx.request(
            method, f"{self.http_root}/{target}", headers=headers, content=payload, timeout=30
        )
        return Reply(
            ScimResponse(
                status=answer.status_code,
                body=answer.content,
                content_type=answer.headers.get("content-type", ""),
                headers=dict(answer.headers),
            )
        )

    def create_user(
        self, user_name: str = "ada@acme.example", *, account: str = "acme", **attributes: Any
    ) -> Reply:
        """POST /Users of a user with a role the mapping accepts; 201 expected."""
        attributes.setdefault("roles", [{"value": "developer", "primary": True}])
        body = {"schemas": [USER_SCHEMA], "userName": user_name, **attributes}
        reply = self.send("POST", "Users", body, account=account)
        assert reply.status == 201, reply.json
        return reply

    def patch(self, target: str, *operations: dict[str, Any], account: str = "acme") -> Reply:
        """PATCH ``target`` with these operations."""
        body = {"schemas": [PATCH_OP], "Operations": list(operations)}
        return self.send("PATCH", target, body, account=account)

    def user(self, email: str) -> samljit.UserRecord:
        """The app's user row of this email."""
        record = self.users.get_by_email(email)
        assert record is not None, email
        return record

    # --- SAML -----------------------------------------------------------------------------

    def saml_login(
        self,
        email: str,
        *,
        account: str = "acme",
        role: str = "developer",
        full_name: str = "Ada Lovelace",
        in_response_to: str | None = None,
    ) -> samljit.LoginResult:
        """A SAML login of ``email`` at ``account`` through the real LoginService:
        IdP-initiated, or SP-initiated when it answers ``in_response_to``."""
        issued = self.idps[account].issue_response(
            sp_entity_id=sp_of(account).entity_id,
            acs_url=sp_of(account).acs_url,
            now=self.clock.now,
            name_id=email,
            attributes={"full_name": [full_name], "role": [role]},
            in_response_to=in_response_to,
        )
        return self.login_service.complete_login(
            {"SAMLResponse": issued.form_value}, account_id=account, in_response_to=in_response_to
        )

    def saml_refused(self, email: str, **options: Any) -> samljit.SamlError:
        """The error of a SAML login that is refused."""
        with pytest.raises(samljit.SamlError) as caught:
            self.saml_login(email, **options)
        return caught.value

    def open_session(self, email: str, account: str = "acme") -> str:
        """The app's session of a user who signed in by SSO (as the adapters keep it)."""
        return self.sessions.create(
            {SESSION_KEY: {"account_id": account, "email": email, "session_index": "s1"}}
        )

    def scim_events(self, name: str | None = None) -> list[AuditEvent]:
        """The audit events of SCIM (of this name)."""
        return [e for e in self.events if e.source == "scim" and (name is None or e.name == name)]

    def with_policy(self, account: str = "acme", **changes: Any) -> None:
        """Change the account's provisioning policy, as an administrator would."""
        config = self.accounts.get(account)
        assert config is not None
        policy = dataclasses.replace(config.policy, **changes)
        self.accounts.save(dataclasses.replace(config, policy=policy))

    def with_mapping(self, mapping: ClaimMapping, account: str = "acme") -> None:
        """Change the account's claim mapping."""
        config = self.accounts.get(account)
        assert config is not None
        self.accounts.save(dataclasses.replace(config, mapping=mapping))


@functools.cache
def globex_idp() -> TestIdP:
    """Globex's IdP (a key of its own), made once."""
    return TestIdP(entity_id="https://idp.globex.example/metadata")


def new_app(acme_idp: TestIdP, **options: Any) -> ScimApp:
    """A fresh app with acme (``acme_idp``) and globex, each with one SCIM token."""
    return ScimApp(idps={"acme": acme_idp, "globex": globex_idp()}, **options)


def asgi_app(scim: ScimApp) -> Starlette:
    """A minimal adapter: ``/scim/v2/{account}/{path}`` to ``ScimService.handle``."""

    async def endpoint(request: Request) -> Response:
        account = request.path_params["account"]
        answer = scim.service.handle(
            ScimRequest(
                method=request.method,
                account_id=account,
                path=request.path_params["path"],
                base_url=f"{str(request.base_url).rstrip('/')}/scim/v2/{account}",
                query=dict(request.query_params),
                authorization=request.headers.get("authorization"),
                body=await request.body(),
            )
        )
        headers = dict(answer.headers)
        if answer.content_type:
            headers["content-type"] = answer.content_type
        return Response(answer.body, status_code=answer.status, headers=headers)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/scim/v2/{account}/{path:path}", endpoint, methods=methods)])


@contextmanager
def serving(scim: ScimApp) -> Iterator[str]:
    """``scim``'s endpoint served by uvicorn on 127.0.0.1 (a free port), its ``/scim/v2``
    root URL yielded and set as ``scim.http_root`` while it runs."""
    server = uvicorn.Server(
        uvicorn.Config(asgi_app(scim), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    scim.http_root = f"http://127.0.0.1:{port}/scim/v2"
    try:
        yield scim.http_root
    finally:
        scim.http_root = None
        server.should_exit = True
        thread.join(timeout=30)
