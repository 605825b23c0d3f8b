"""A small HTTP "browser" for the end-to-end tests: a cookie jar, redirects, HTML forms.

It talks only to the origins it is told it may visit (the IdP under test). A redirect or an
auto-submitting form that leads anywhere else (the SP's ACS or SLO URL, which the tests never
serve) is not followed: the browser stops there and hands the test the URL or the form, exactly
what a real browser would have sent to the SP.
"""

from __future__ import annotations

import http.cookiejar
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

__all__ = ["Browser", "BrowserError", "Form", "Page"]

_REDIRECTS = (301, 302, 303, 307, 308)


class BrowserError(AssertionError):
    """The flow did not go as a browser user would expect (wrong page, too many redirects)."""


@dataclass(frozen=True, slots=True)
class Form:
    """One HTML form as a browser would submit it: absolute action, method, and the fields
    that have a name (hidden and text inputs with their values, in document order)."""

    action: str
    method: str
    fields: dict[str, str]

    def has_fields(self, *names: str) -> bool:
        return all(name in self.fields for name in names)


@dataclass(frozen=True, slots=True)
class Page:
    """A response the browser stopped at.

    ``redirect_to`` is set when the response was a redirect to an origin the browser may not
    visit (the SP): the URL is what the browser would have requested next.
    """

    url: str
    status: int
    headers: Mapping[str, str]
    text: str
    redirect_to: str | None = None
    forms: tuple[Form, ...] = field(default=())

    def form_with(self, *names: str) -> Form:
        """The only form with all of ``names`` among its fields."""
        found = [f for f in self.forms if f.has_fields(*names)]
        if len(found) != 1:
            raise BrowserError(
                f"expected one form with fields {list(names)} at {self.url} (HTTP {self.status}),"
                f" found {len(found)}; page starts: {self.text[:2000]!r}"
            )
        return found[0]

    def auto_submit_form(self) -> Form:
        """The auto-submitting POST form of a SAML HTTP-POST binding page."""
        found = [
            f
            for f in self.forms
            if f.method == "post" and ("SAMLResponse" in f.fields or "SAMLRequest" in f.fields)
        ]
        if len(found) != 1:
            raise BrowserError(
                f"expected one SAML POST form at {self.url} (HTTP {self.status}), found "
                f"{len(found)}; page starts: {self.text[:2000]!r}"
            )
        return found[0]


class _FormParser(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.forms: list[Form] = []
        self._current: Form | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            action = urljoin(self.base_url, attributes.get("action") or self.base_url)
            self._current = Form(
                action=action,
                method=(attributes.get("method") or "get").lower(),
                fields={},
            )
            self.forms.append(self._current)
        elif self._current is None:
            return
        elif tag == "input":
            name = attributes.get("name")
            kind = attributes.get("type", "text").lower()
            if name and kind not in ("submit", "button", "image", "reset", "file"):
                if kind in ("checkbox", "radio") and "checked" not in attributes:
                    return
                self._current.fields[name] = attributes.get("value", "")
        elif tag == "textarea" and attributes.get("name"):
            self._textarea, self._text = attributes["name"], []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None and self._current is not None:
            self._current.fields[self._textarea] = "".join(self._text)
            self._textarea = None
        elif tag == "form":
            self._current = None


def parse_forms(html: str, base_url: str) -> tuple[Form, ...]:
    parser = _FormParser(base_url)
    parser.feed(html)
    parser.close()
    return tuple(parser.forms)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects come back as responses; :class:`Browser` decides whether to follow them."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class Browser:
    """A cookie-keeping client that may visit only ``origins`` (e.g. ``http://127.0.0.1:8123``).

    No proxy is ever used, whatever the environment says: everything is on 127.0.0.1.
    """

    def __init__(
        self, origins: Iterable[str], *, timeout: float = 5.0, max_redirects: int = 10
    ) -> None:
        self.origins = frozenset(_origin(o) for o in origins)
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(self.cookies),
            _NoRedirect(),
        )

    # --- requests -----------------------------------------------------------------------

    def get(self, url: str) -> Page:
        return self._navigate(url, None)

    def post(self, url: str, fields: Mapping[str, str]) -> Page:
        return self._navigate(url, dict(fields))

    def submit(self, form: Form, **values: str) -> Page:
        """Submit ``form`` with ``values`` filled in (each must be one of its fields)."""
        unknown = sorted(set(values) - set(form.fields))
        if unknown:
            raise BrowserError(f"the form at {form.action} has no fields {unknown}")
        fields = {**form.fields, **values}
        if form.method == "post":
            return self.post(form.action, fields)
        separator = "&" if urlsplit(form.action).query else "?"
        return self.get(form.action.split("#")[0].rstrip("?&") + separator + urlencode(fields))

    # --- SimpleSAMLphp --------------------------------------------------------------------

    def log_in(self, page: Page, username: str, password: str) -> Page:
        """Fill in and submit the IdP's login form on ``page``; the page after the login.

        Raises:
            BrowserError: there is no login form, or the IdP showed it again (wrong password).
        """
        form = page.form_with("username", "password")
        after = self.submit(form, username=username, password=password)
        if any(f.has_fields("username", "password") for f in after.forms):
            raise BrowserError(f"the IdP refused the login of {username!r}: {after.text[:2000]!r}")
        return after

    # --- machinery ------------------------------------------------------------------------

    def _navigate(self, url: str, data: dict[str, str] | None) -> Page:
        for _ in range(self.max_redirects + 1):
            self._check_origin(url)
            body = urlencode(data).encode("ascii") if data is not None else None
            status, headers, text = self._fetch(url, body)
            location = headers.get("location")
            if status not in _REDIRECTS or not location:
                return Page(
                    url=url,
                    status=status,
                    headers=headers,
                    text=text,
                    forms=parse_forms(text, url),
                )
            target = urljoin(url, location)
            if _origin(target) not in self.origins:
                return Page(url=url, status=status, headers=headers, text=text, redirect_to=target)
            if status in (301, 302, 303):
                data = None  # what browsers do: the next request is a GET
            url = target
        raise BrowserError(f"more than {self.max_redirects} redirects, last to {url}")

    def _check_origin(self, url: str) -> None:
        if _origin(url) not in self.origins:
            raise BrowserError(f"the browser may not visit {url} (allowed: {sorted(self.origins)})")

    def _fetch(self, url: str, body: bytes | None) -> tuple[int, dict[str, str], str]:
        # _navigate checked the URL against the allowed http origins first.
        request = urllib.request.Request(  # noqa: S310
            url, data=body, method="GET" if body is None else "POST"
        )
        if body is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            response = self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            response = exc  # 3xx (not followed here), 4xx, 5xx: still a page
        with response:
            status = response.status
            headers = {k.lower(): v for k, v in response.headers.items()}
            charset = response.headers.get_content_charset() or "utf-8"
            text = response.read().decode(charset, "replace")
        return int(status), headers, text
