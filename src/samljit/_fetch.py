"""Fetching IdP metadata over HTTP: the :class:`MetadataFetcher` protocol and the default
:func:`urllib_fetcher`, which refuses what is not https and what is not at a public address
(SSRF), stops at a size and a deadline, and names URLs without their credentials or query."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from .errors import MetadataFetchFailed

if TYPE_CHECKING:
    import ssl

__all__ = ["MetadataFetcher", "Resolver", "check_public_host", "system_resolver", "urllib_fetcher"]

Resolver = Callable[[str, int], Sequence[str]]
"""Name resolution: ``(host, port)`` to the IP addresses (text) a connection may go to."""

_CHUNK = 64 * 1024
# How a checked address is connected to (tests route made-up public addresses to loopback).
_open_socket = socket.create_connection
# The metadata media type (metadata 4.1.1), then what web servers label XML files with.
_ACCEPT = "application/samlmetadata+xml, application/xml, text/xml;q=0.9, */*;q=0.1"


class MetadataFetcher(Protocol):
    """Gets the bytes at ``url``: one GET, no caching. Plug in your own HTTP client.

    Return the body. Raise :class:`~samljit.errors.MetadataFetchFailed` (or any exception: it is
    reported as ``metadata_fetch_failed``) when the document cannot be had. Honour
    ``timeout`` (seconds) and stop reading past ``max_bytes``; :class:`MetadataSource` refuses a
    larger body anyway. Refuse redirects that leave ``https``.

    A sample implementation over httpx::

        def httpx_fetcher(url: str, *, timeout: float, max_bytes: int) -> bytes:
            with httpx.stream("GET", url, timeout=timeout, follow_redirects=False) as r:
                if r.status_code != 200:
                    raise MetadataFetchFailed(f"HTTP {r.status_code}", found=r.status_code)
                body = bytearray()
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise MetadataFetchFailed("too large", found="too_large")
                return bytes(body)
    """

    def __call__(self, url: str, *, timeout: float, max_bytes: int) -> bytes:
        """Fetch ``url``: at most ``max_bytes`` bytes, within ``timeout`` seconds."""


def urllib_fetcher(
    *,
    allow_http: bool = False,
    ssl_context: ssl.SSLContext | None = None,
    allow_private_addresses: bool = False,
    resolve: Resolver | None = None,
) -> MetadataFetcher:
    """The default :class:`MetadataFetcher`, over the standard library's ``urllib``.

    Args:
        allow_http: also fetch ``http://`` URLs and follow redirects to them. Without it only
            ``https`` is fetched, and a redirect to anything else is refused.
        ssl_context: the TLS settings; the system's trusted CAs with hostname checks when
            omitted.
        allow_private_addresses: also connect to loopback, private, link-local and other
            non-public addresses (an IdP on the same host or network: tests, intranets).
            Without it, the host of the URL and of every redirect is resolved, every address
            it resolves to must be public, and the connection goes to one of the addresses
            checked (a second lookup could give another). The environment's proxy settings
            are then ignored: with a proxy, the proxy would choose where to connect.
        resolve: name resolution for that check, ``(host, port)`` to IP addresses;
            :func:`system_resolver` when omitted.

    Returns:
        A fetcher that sends one GET and follows at most 5 redirects. Connecting and each
        read wait at most ``timeout``, and reading the body stops once ``timeout`` has passed
        since the request started, so a server that trickles a byte at a time cannot hold
        it. The body is read in chunks and refused as soon as it passes ``max_bytes``.

    The fetcher raises :class:`~samljit.errors.MetadataFetchFailed` whose ``found`` is
    ``"timeout"``,
    ``"too_large"``, ``"insecure_url"``, ``"insecure_redirect"``, ``"private_address"``,
    ``"unreachable"`` or the HTTP status code (an ``int``).
    """
    # urllib.request pulls in http.client, email and ssl: loaded on first use, not on import.
    import http.client
    import urllib.error
    import urllib.request

    resolver = resolve or system_resolver

    def connect_checked(
        address: tuple[str, int], timeout: Any = None, source_address: Any = None
    ) -> socket.socket:
        host, port = address
        *first, last = check_public_host(host, port, resolver)
        for ip in first:  # as socket.create_connection does: the next address on failure
            with contextlib.suppress(OSError):
                return _open_socket((ip, port), timeout, source_address)
        return _open_socket((last, port), timeout, source_address)

    class _CheckedHTTPS(http.client.HTTPSConnection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = connect_checked

    class _CheckedHTTP(http.client.HTTPConnection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = connect_checked

    class _CheckedHTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(_CheckedHTTPS, req, context=ssl_context)

    class _CheckedHTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(_CheckedHTTP, req)

    class _Redirects(urllib.request.HTTPRedirectHandler):
        max_redirections = 5

        def redirect_request(
            self,
            req: urllib.request.Request,
            fp: Any,
            code: int,
            msg: str,
            headers: Any,
            newurl: str,
        ) -> urllib.request.Request | None:
            if not _scheme_allowed(newurl, allow_http):
                fp.close()
                raise MetadataFetchFailed(
                    f"{_display(req.full_url)} redirects to {_display(newurl)}, which is not "
                    "https: refused, as the metadata could be changed on the way",
                    expected="https",
                    found="insecure_redirect",
                )
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    handlers: list[urllib.request.BaseHandler] = [_Redirects()]
    if not allow_private_addresses:
        # Every connection, the redirects' too, goes to an address checked just before.
        handlers += [urllib.request.ProxyHandler({}), _CheckedHTTPSHandler(), _CheckedHTTPHandler()]
    elif ssl_context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
    opener = urllib.request.build_opener(*handlers)

    def fetch(url: str, *, timeout: float, max_bytes: int) -> bytes:
        where = _display(url)
        if not _scheme_allowed(url, allow_http):
            raise MetadataFetchFailed(
                f"{where} is not an https URL (allow_http permits http)",
                expected="https",
                found="insecure_url",
            )
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked just above
            url,
            headers={
                "User-Agent": "samljit",
                "Accept": _ACCEPT,
            },
        )
        deadline = time.monotonic() + timeout
        try:
            with opener.open(request, timeout=timeout) as response:
                return _read_limited(response, where, max_bytes, deadline, timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise MetadataFetchFailed(
                f"{where} answered HTTP {exc.code}", expected=200, found=exc.code
            ) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc  # URLError wraps the socket's error
            if isinstance(reason, TimeoutError):
                raise _timed_out(where, timeout) from exc
            raise MetadataFetchFailed(
                f"cannot fetch {where}: {reason}", found="unreachable"
            ) from exc

    return fetch


def system_resolver(host: str, port: int) -> list[str]:
    """The IP addresses ``host`` resolves to with the system's resolver (``getaddrinfo``)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.partition("%")[0])  # an IPv6 zone is not an address
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv4 address inside IPv6 (::ffff:10.0.0.1, 6to4) reaches that IPv4 address.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            ip = embedded
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def check_public_host(host: str, port: int, resolve: Resolver) -> list[str]:
    """The addresses of ``host``, when every one is public (SSRF guard).

    Raises:
        MetadataFetchFailed: ``metadata_fetch_failed`` with ``found="private_address"``, the
            host resolves to a loopback, private, link-local, reserved, multicast or
            unspecified address (any one of them: the connection could go to it), or to none.
        OSError: the name does not resolve.
    """
    addresses = [str(address) for address in resolve(host, port)]
    refused = [address for address in addresses if not _public(address)]
    if refused or not addresses:
        raise MetadataFetchFailed(
            f"the metadata host {host!r} resolves to "
            + (f"{refused[0]}, which is not a public address" if refused else "no address")
            + ": refused (an app whose IdP is on its own network may allow private addresses)",
            expected="public_address",
            found="private_address",
        )
    return addresses


def _read_limited(
    response: Any, where: str, max_bytes: int, deadline: float, timeout: float
) -> bytes:
    length = response.headers.get("Content-Length", "").strip()
    if length.isdigit() and int(length) > max_bytes:
        raise _too_large(where, max_bytes)
    chunks: list[bytes] = []
    size = 0
    while True:
        # read1 returns after one receive, so a server sending a byte at a time cannot stretch
        # the download past the deadline by more than one socket timeout.
        chunk: bytes = response.read1(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(where, max_bytes)
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise _timed_out(where, timeout)


def _too_large(where: str, max_bytes: int) -> MetadataFetchFailed:
    return MetadataFetchFailed(
        f"{where} sent more than the metadata limit of {max_bytes} bytes",
        expected=max_bytes,
        found="too_large",
    )


def _timed_out(where: str, timeout: float) -> MetadataFetchFailed:
    return MetadataFetchFailed(
        f"{where} did not deliver the metadata within {timeout:g} s", found="timeout"
    )


def _scheme_allowed(url: str, allow_http: bool) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    return bool(parts.hostname) and (scheme == "https" or (allow_http and scheme == "http"))


def _display(url: str) -> str:
    """The URL without credentials, query or fragment, which may hold secrets."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the metadata URL"
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"
