"""examples/django_project as the browser suite meets it: ``python
examples/django_project/app.py`` with PORT, IDP_METADATA_URL and DATABASE, against a
``TestIdP`` whose metadata a local HTTP server hands out. The example's own glue logs users
in (IdP- and SP-initiated), shows them, and logs them out."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree

from samljit.testing import IssuedResponse, TestIdP

from ..sp_flows import NS, redirect_message

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "examples" / "django_project" / "app.py"
GLUE = ROOT / "examples" / "django_project" / "mysite" / "sso.py"
ADMIN_MARKER = r"^# --- samljit glue \(admin pages\).*$"


@pytest.fixture(scope="module")
def metadata_url(test_idp: TestIdP) -> Iterator[str]:
    metadata = test_idp.metadata_xml

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(metadata)))
            self.end_headers()
            self.wfile.write(metadata)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/metadata.xml"
    server.shutdown()
    server.server_close()
    thread.join()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Example:
    base: str
    database: Path
    idp: TestIdP

    def respond(self, **knobs: Any) -> IssuedResponse:
        attributes = {"full_name": ["Ada Lovelace"], "role": ["developer"], "imagekit_id": ["acme"]}
        knobs.setdefault("attributes", attributes)
        knobs.setdefault("name_id", "ada@acme.test")
        return self.idp.issue_response(
            sp_entity_id=f"{self.base}/sso/acme/metadata",
            acs_url=f"{self.base}/sso/acme/acs",
            now=datetime.now(UTC),
            **knobs,
        )


@pytest.fixture(scope="module")
def example(
    metadata_url: str, test_idp: TestIdP, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Example]:
    port = free_port()
    database = tmp_path_factory.mktemp("django-example") / "app.sqlite3"
    env = {
        "PATH": "/usr/bin:/bin",
        "PORT": str(port),
        "IDP_METADATA_URL": metadata_url,
        "DATABASE": str(database),
    }
    process = subprocess.Popen(
        [sys.executable, str(APP)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once the socket listens
        assert line.strip() == f"serving on http://127.0.0.1:{port}", line
        yield Example(base=f"http://127.0.0.1:{port}", database=database, idp=test_idp)
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def browser(example: Example) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=example.base, timeout=30) as client:
        yield client


def span(page: httpx.Response, element_id: str) -> str:
    found = re.search(rf'<span id="{element_id}">(.*?)</span>', page.text)
    assert found is not None, page.text
    return found.group(1)


def csrf_token(page: httpx.Response) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


def test_the_sso_glue_is_at_most_30_lines_of_code() -> None:
    """sso.py down to its admin pages marker, and the lines marked ``# samljit`` in
    settings.py and urls.py."""
    sso, _ = re.split(ADMIN_MARKER, GLUE.read_text(), flags=re.M)
    assert len(marked_lines("# samljit")) == 3
    assert len(code_lines(sso)) + len(marked_lines("# samljit")) <= 30


def test_the_glue_with_the_admin_pages_is_at_most_45_lines_of_code() -> None:
    """All of sso.py, and every line marked ``# samljit`` or ``# samljit admin pages``."""
    _, admin = re.split(ADMIN_MARKER, GLUE.read_text(), flags=re.M)
    marked = marked_lines("# samljit") + marked_lines("# samljit admin pages")
    assert 10 <= len(code_lines(admin)) + len(marked_lines("# samljit admin pages")) <= 20
    assert len(code_lines(GLUE.read_text())) + len(marked) <= 45


def marked_lines(marker: str) -> list[str]:
    return [
        line
        for name in ("settings.py", "urls.py")
        for line in code_lines((GLUE.parent / name).read_text())
        if line.endswith(marker)
    ]


def code_lines(source: str) -> list[str]:
    """Lines of code: no blank lines, comments or docstrings."""
    without_docstrings = re.sub(r'^\s*""".*?"""\s*$', "", source, flags=re.S | re.M)
    return [
        line
        for line in without_docstrings.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_nobody_is_signed_in_at_first(browser: httpx.Client) -> None:
    page = browser.get("/")
    assert page.status_code == 200
    assert "Not signed in" in page.text
    assert 'href="/sso/"' in page.text


def test_the_sp_metadata_is_served_at_the_entity_id(
    browser: httpx.Client, example: Example
) -> None:
    page = browser.get("/sso/acme/metadata")
    root = etree.fromstring(page.content)
    assert root.get("entityID") == f"{example.base}/sso/acme/metadata"
    assert root.find(".//md:SingleLogoutService", NS) is not None
    assert root.find(".//md:KeyDescriptor", NS) is not None


def test_an_idp_initiated_login_signs_in_shows_the_user_and_logs_out(
    browser: httpx.Client, example: Example
) -> None:
    done = browser.post("/sso/acme/acs", data={"SAMLResponse": example.respond().form_value})
    assert (done.status_code, done.headers["location"]) == (303, "/")
    home = browser.get("/")
    assert (span(home, "email"), span(home, "full-name"), span(home, "role")) == (
        "ada@acme.test",
        "Ada Lovelace",
        "developer",
    )
    users = browser.get("/users").text
    assert '<tr data-email="ada@acme.test">' in users
    assert '<td class="full-name">Ada Lovelace</td><td class="role">developer</td>' in users

    out = browser.post("/sso/logout", data={"csrfmiddlewaretoken": csrf_token(home)})
    assert out.status_code == 303
    assert out.headers["location"].startswith(example.idp.slo_url + "?SAMLRequest=")
    assert "Not signed in" in browser.get("/").text


def test_an_sp_initiated_login_from_the_sso_page_updates_the_role(
    browser: httpx.Client, example: Example
) -> None:
    page = browser.get("/sso/")
    sent = browser.post(
        "/sso/", data={"email": "ada@acme.test", "csrfmiddlewaretoken": csrf_token(page)}
    )
    assert sent.status_code == 303
    request = redirect_message(sent.headers["location"])
    answer = example.respond(
        in_response_to=request.get("ID"),
        attributes={"full_name": ["Ada King"], "role": ["finance"], "imagekit_id": ["acme"]},
    )
    browser.post("/sso/acme/acs", data={"SAMLResponse": answer.form_value})
    home = browser.get("/")
    assert (span(home, "full-name"), span(home, "role")) == ("Ada King", "finance")


def test_a_login_for_another_customer_account_is_refused(
    browser: httpx.Client, example: Example
) -> None:
    other = example.respond(
        name_id="eve@acme.test",
        attributes={"full_name": ["Eve"], "role": ["developer"], "imagekit_id": ["globex"]},
    )
    page = browser.post("/sso/acme/acs", data={"SAMLResponse": other.form_value})
    assert page.status_code == 403
    assert "<h1>Single sign-on failed</h1>" in page.text
    assert 'data-email="eve@acme.test"' not in browser.get("/users").text
