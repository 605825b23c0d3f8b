"""Fetching IdP metadata over HTTP: the :class:`MetadataFetcher` protocol and the default
:func:`urllib_fetcher`, which refuses what is not https, stops at a size and a deadline, and
names URLs without their credentials or query."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from .errors import MetadataFetchFailed

if TYPE_CHECKING:
    import ssl

__all__ = ["MetadataFetcher", "urllib_fetcher"]

_CHUNK = 64 * 1024
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
    *, allow_http: bool = False, ssl_context: ssl.SSLContext | None = None
) -> MetadataFetcher:
    """The default :class:`MetadataFetcher`, over the standard library's ``urllib``.

    Args:
        allow_http: also fetch ``http://`` URLs and follow redirects to them. Without it only
            ``https`` is fetched, and a redirect to anything else is refused.
        ssl_context: the TLS settings; the system's trusted CAs with hostname checks when
            omitted.

    Returns:
        A fetcher that sends one GET and follows at most 5 redirects. Connecting and each
        read wait at most ``timeout``, and reading the body stops once ``timeout`` has passed
        since the request started, so a server that trickles a byte at a time cannot hold
        it. The body is read in chunks and refused as soon as it passes ``max_bytes``.

    The fetcher raises :class:`~samljit.errors.MetadataFetchFailed` whose ``found`` is
    ``"timeout"``,
    ``"too_large"``, ``"insecure_url"``, ``"insecure_redirect"``, ``"unreachable"`` or the HTTP
    status code (an ``int``).
    """
    # urllib.request pulls in http.client, email and ssl: loaded on first use, not on import.
    import http.client
    import urllib.error
    import urllib.request

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
    if ssl_context is not None:
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
