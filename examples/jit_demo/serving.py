"""The wsgiref plumbing of the JIT demo (app.py): a threaded server that gives up on slow
clients, and the reading of a request's query, cookies and bounded body.

Standard library only; nothing here knows about SAML.
"""

from __future__ import annotations

import email.policy
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from http.cookies import CookieError, SimpleCookie
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.types import StartResponse, WSGIEnvironment

__all__ = [
    "READ_TIMEOUT",
    "QuietRequestHandler",
    "Request",
    "RequestHandler",
    "Response",
    "Server",
    "TooLarge",
    "cookies",
    "first_values",
    "read_body",
    "read_raw",
    "send",
]

READ_TIMEOUT = 10.0
"""Seconds the server waits for a client that has stopped sending before it hangs up."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    account: str
    query: Mapping[str, str]
    form: Mapping[str, str]
    cookies: Mapping[str, str]
    files: Mapping[str, bytes] = field(default_factory=dict)
    query_string: str = ""
    rest: str = ""
    """The part of the path after an admin page's account."""


@dataclass
class Response:
    body: str | bytes
    status: str = "200 OK"
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "text/html; charset=utf-8"


def send(response: Response, start_response: StartResponse) -> list[bytes]:
    """Start the WSGI response: the app's headers over safe defaults (no caching, no
    framing, no sniffing, no referrer)."""
    body = response.body if isinstance(response.body, bytes) else response.body.encode()
    headers = {
        "Content-Type": response.content_type,
        "Content-Length": str(len(body)),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
    }
    extra = [(k, v) for k, v in response.headers if k not in headers]
    headers.update((k, v) for k, v in response.headers if k in headers)
    start_response(response.status, [*headers.items(), *extra])
    return [body]


class TooLarge(ValueError):
    """The request body is larger than the app reads."""


class Server(ThreadingMixIn, WSGIServer):
    """wsgiref's server with a thread per connection (a slow client holds up only its own)
    and a read timeout per connection."""

    daemon_threads = True  # a connection still open does not keep the process alive
    read_timeout = READ_TIMEOUT


class RequestHandler(WSGIRequestHandler):
    def setup(self) -> None:
        assert isinstance(self.server, Server)
        self.timeout = self.server.read_timeout  # StreamRequestHandler applies it to the socket
        super().setup()

    def handle(self) -> None:
        try:
            super().handle()
        except TimeoutError:  # the request line or headers never arrived whole: hang up
            self.close_connection = True


class QuietRequestHandler(RequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def first_values(encoded: str) -> dict[str, str]:
    parsed = parse_qs(encoded, keep_blank_values=True, max_num_fields=100)
    return {name: values[0] for name, values in parsed.items()}


def read_body(environ: WSGIEnvironment, limit: int) -> tuple[dict[str, str], dict[str, bytes]]:
    """The form fields (first value of each) and uploaded files of a POST, urlencoded or
    multipart, read only when at most ``limit`` bytes. TooLarge, or ValueError if unusable."""
    content_type = environ.get("CONTENT_TYPE", "")
    if environ["REQUEST_METHOD"] != "POST" or not content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return {}, {}
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > limit:
        raise TooLarge(f"{length} bytes")
    try:
        body = environ["wsgi.input"].read(length) if length > 0 else b""
    except OSError as exc:  # TimeoutError: the client stopped sending (read_timeout)
        raise ValueError("the body did not arrive") from exc
    if len(body) != length:
        raise ValueError("the body ended early")
    if content_type.startswith("application/"):
        return first_values(body.decode("utf-8", "replace")), {}
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ValueError("not multipart")
    form: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for part in message.iter_parts():
        name, value = (
            part.get_param("name", header="content-disposition"),
            part.get_payload(decode=True),
        )
        if isinstance(name, str) and isinstance(value, bytes):
            if part.get_filename() is None:
                form.setdefault(name, value.decode("utf-8", "replace"))
            else:
                files.setdefault(name, value)
    return form, files


def read_raw(environ: WSGIEnvironment, limit: int) -> bytes:
    """The body as it came (the SCIM endpoint's JSON), read only when its Content-Length is
    at most ``limit`` bytes. TooLarge, or ValueError if it did not arrive."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError as exc:
        raise ValueError("a Content-Length that is no number") from exc
    if length > limit:
        raise TooLarge(f"{length} bytes")
    try:
        body = environ["wsgi.input"].read(length) if length > 0 else b""
    except OSError as exc:  # TimeoutError: the client stopped sending (read_timeout)
        raise ValueError("the body did not arrive") from exc
    if len(body) != length:
        raise ValueError("the body ended early")
    return body


def cookies(environ: WSGIEnvironment) -> dict[str, str]:
    try:
        jar = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}
