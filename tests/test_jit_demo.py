"""The JIT demo (examples/jit_demo): the story runs to exit 0, and the app escapes what it
echoes and refuses SP metadata."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest

DEMO = Path(__file__).resolve().parents[1] / "examples" / "jit_demo"
HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
SP_METADATA = f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    entityID="https://sp.example.test"><!-- </textarea>{HOSTILE} -->
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="https://sp.example.test/acs" index="0"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>"""


def test_story_runs_to_exit_0() -> None:
    done = subprocess.run(
        [sys.executable, str(DEMO / "story.py")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for expected in (
        "CREATED ada@acme.test",
        "UPDATED ada@acme.test: full_name: Ada Lovelace -> Ada King; role: developer -> finance",
        "REJECTED role_not_accepted",
        "REJECTED account_mismatch",
        "REJECTED replayed",
        "REJECTED sso_disabled",
        "OK:",
    ):
        assert expected in done.stdout


def _load_app_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("jit_demo_app", DEMO / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with _load_app_module().running(tmp_path_factory.mktemp("jit") / "demo.sqlite") as app:
        yield app


def _request(url: str, form: dict[str, str] | None = None) -> tuple[int, str]:
    data = None if form is None else urlencode(form).encode("ascii")
    try:
        with urlopen(url, data=data, timeout=10) as response:  # noqa: S310 - http://127.0.0.1
            return response.status, response.read().decode("utf-8")
    except HTTPError as error:
        with error:
            return error.code, error.read().decode("utf-8")


def _enable_sso(app: Any, account: str) -> None:
    metadata = app.test_idp.metadata_xml.decode("utf-8")
    status, body = _request(
        f"{app.base_url}/admin/{account}/sso", {"action": "save", "metadata": metadata}
    )
    assert status == 200
    assert "SSO is <b>enabled</b>" in body


def _login_form(app: Any, account: str, relay_state: str, **attributes: str) -> dict[str, str]:
    sp = app.sp_config(account)
    issued = app.test_idp.issue_response(
        sp_entity_id=sp.entity_id,
        acs_url=sp.acs_url,
        now=datetime.now(UTC),
        name_id="mallory@initech.test",
        attributes={"role": ["developer"], "imagekit_id": [account]}
        | {name: [value] for name, value in attributes.items()},
    )
    return {"SAMLResponse": issued.form_value, "RelayState": relay_state}


@pytest.mark.parametrize(
    ("relay_state", "is_link"),
    [
        (HOSTILE, False),
        ("javascript:alert(1)", False),
        ("//evil.example/phish", False),
        ("/\\evil.example/phish", False),
        ("/ evil", False),
        ("/dashboard?q=<b>&x=1", True),
    ],
)
def test_acs_page_escapes_relay_state_and_claims(app: Any, relay_state: str, is_link: bool) -> None:
    _enable_sso(app, "initech")
    form = _login_form(app, "initech", relay_state, full_name=HOSTILE)
    status, body = _request(f"{app.base_url}/saml/initech/acs", form)
    assert status == 200
    assert "<script>alert" not in body
    assert "<img src=x" not in body
    assert escape(HOSTILE) in body  # the full name, shown as text
    assert escape(relay_state) in body
    assert ('<a id="relay-state"' in body) is is_link
    status, users = _request(f"{app.base_url}/users?account=initech")
    assert status == 200
    assert "<script>alert" not in users
    assert escape(HOSTILE) in users


def test_acs_error_page_shows_only_the_code(app: Any) -> None:
    form = {"SAMLResponse": "bm90IFhNTA==", "RelayState": HOSTILE}
    status, body = _request(f"{app.base_url}/saml/acme/acs", form)
    assert status == 403
    assert '<code id="error-code">sso_disabled</code>' in body
    assert "alert" not in body
    assert "not configured" not in body  # the message is for the log, not the browser


def test_test_idp_escapes_what_it_posts(app: Any) -> None:
    fields = {
        "email": HOSTILE,
        "full_name": HOSTILE,
        "role": "developer",
        "imagekit_id": HOSTILE,
        "relay_state": HOSTILE,
    }
    status, body = _request(f"{app.base_url}/test-idp", fields)
    assert status == 200
    assert "<script>alert" not in body
    assert f'name="RelayState" value="{escape(HOSTILE)}"' in body


def test_settings_refuse_sp_metadata(app: Any) -> None:
    url = f"{app.base_url}/admin/globex/sso"
    status, body = _request(url, {"action": "save", "metadata": SP_METADATA})
    assert status == 400
    assert '<li class="error" id="metadata-error"><code>metadata_is_sp</code>' in body
    assert "</textarea><script>" not in body
    assert escape(SP_METADATA) in body  # kept in the textarea for the admin to fix
    status, body = _request(url)
    assert status == 200
    assert "SSO is <b>disabled</b>" in body


def test_settings_delete_disables_sso(app: Any) -> None:
    _enable_sso(app, "hooli")
    url = f"{app.base_url}/admin/hooli/sso"
    status, body = _request(url, {"action": "delete"})
    assert status == 200
    assert "SSO is <b>disabled</b>" in body
    status, body = _request(f"{app.base_url}/saml/hooli/acs", _login_form(app, "hooli", ""))
    assert status == 403
    assert '<code id="error-code">sso_disabled</code>' in body


def test_unknown_pages_and_accounts(app: Any) -> None:
    assert _request(f"{app.base_url}/nope")[0] == 404
    assert _request(f"{app.base_url}/admin/%3Cscript%3E/sso")[0] == 404
    assert _request(f"{app.base_url}/users?account=<script>")[0] == 404
    assert _request(f"{app.base_url}/saml/acme/acs")[0] == 405
