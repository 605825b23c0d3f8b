"""What every admin page handler shares: the app's hooks and the reading of metadata."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from .._accounts import AccountConfig
from .._fetch import MetadataFetcher, urllib_fetcher
from ..directory import ScimTokens
from ..domains import DomainVerifier
from ..errors import (
    ConfigError,
    MetadataFetchFailed,
    MetadataTooLarge,
    SamlError,
)
from ..metadata import ParsedMetadata, parse_idp_metadata
from ..metadata_source import MetadataSource
from ..protocols import AccountStore, LoginHistory
from ._admin_domains import DomainPages
from ._admin_model import (
    DEFAULT_MAX_METADATA_BYTES,
    HEADERS,
    AdminEvent,
    AdminRequest,
    audit_log,
    when,
)
from ._admin_pages import (
    Templates,
)
from ._admin_scim import ScimPages
from ._admin_test import AdminService, TestPages
from ._web import WebResponse, outbound


class _AdminBase:
    """The constructor and helpers of :class:`~samljit.integrations.admin.AdminPages`."""

    def __init__(
        self,
        *,
        accounts: AccountStore,
        can_administer: Callable[[object, str], bool],
        new_account: Callable[[str], AccountConfig],
        audit: Callable[[AdminEvent], None] | None = None,
        history: LoginHistory | None = None,
        metadata_source: Callable[[AccountConfig], MetadataSource | None] | None = None,
        sp_metadata: Callable[[str], bytes] | None = None,
        sp_metadata_url: Callable[[str], str | None] | None = None,
        fetcher: MetadataFetcher | None = None,
        allow_http: bool = False,
        allow_private_addresses: bool = False,
        max_metadata_bytes: int = DEFAULT_MAX_METADATA_BYTES,
        fetch_timeout: float = 10.0,
        templates: Templates | None = None,
        clock: Callable[[], datetime] | None = None,
        domains: DomainVerifier | None = None,
        service: AdminService | None = None,
        scim_tokens: ScimTokens | None = None,
        scim_url: Callable[[str], str] | None = None,
    ) -> None:
        if not callable(can_administer):
            raise ConfigError("AdminPages needs a can_administer(request, account_id) hook")
        if (scim_tokens is None) != (scim_url is None):
            raise ConfigError("AdminPages needs both scim_tokens and scim_url(account_id)")
        self._accounts = accounts
        self._can_administer = can_administer
        self._new_account = new_account
        self._audit = audit
        self._history = history
        if service is not None:
            metadata_source = metadata_source or service.metadata_source
            sp_metadata = sp_metadata or service.sp_metadata
        self._metadata_source = metadata_source
        self._sp_metadata = sp_metadata
        self._sp_metadata_url = sp_metadata_url
        self._allow_http = allow_http
        self._fetcher = fetcher or urllib_fetcher(
            allow_http=allow_http, allow_private_addresses=allow_private_addresses
        )
        self._max_bytes = max_metadata_bytes
        self._timeout = fetch_timeout
        self._templates = templates or Templates()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._domains = domains
        self._domain_pages = (
            DomainPages(domains, self._templates, self._page, self._emit) if domains else None
        )
        self._test_pages = (
            TestPages(service, self._templates, self._page, outbound) if service else None
        )
        self._scim_pages = (
            ScimPages(scim_tokens, scim_url, self._templates, self._page, self._emit, when)
            if scim_tokens is not None and scim_url is not None
            else None
        )

    @property
    def max_metadata_bytes(self) -> int:
        """The largest metadata document these pages accept (an adapter bounds the request
        body by it before reading the body)."""
        return self._max_bytes

    @property
    def max_body_bytes(self) -> int:
        """The largest request body an adapter should read for these pages: a pasted
        document percent-encoded (up to three bytes per byte), or an uploaded one, plus the
        other fields."""
        return 3 * self._max_bytes + 64 * 1024

    def _draft(self, account_id: str) -> tuple[AccountConfig, bool]:
        config = self._accounts.get(account_id)
        if config is not None:
            return config, True
        return self._new_account(account_id), False

    # --- helpers --------------------------------------------------------------------------

    def _page(self, title: str, body: str, base: str | None, status: int = 200) -> WebResponse:
        document = self._templates.layout(title, body, base=base)
        return WebResponse(
            status=status,
            body=document.encode("utf-8"),
            headers=HEADERS,
            page=self._templates.parts(title, body, base=base),
        )

    def _bounded(self, xml: bytes) -> bytes:
        if len(xml) > self._max_bytes:
            raise MetadataTooLarge(
                f"the metadata is {len(xml)} bytes; these pages accept at most {self._max_bytes}",
                expected=self._max_bytes,
                found=len(xml),
            )
        return xml

    def _fetch(self, url: str) -> bytes:
        try:
            return self._bounded(
                self._fetcher(url, timeout=self._timeout, max_bytes=self._max_bytes)
            )
        except SamlError:
            raise
        except Exception as exc:  # a fetcher of the app's: reported as a fetch failure
            raise MetadataFetchFailed(
                f"cannot fetch the metadata: {exc}", found="unreachable"
            ) from exc

    def _parse(self, xml: bytes, entity_id: str | None) -> ParsedMetadata:
        return parse_idp_metadata(xml, entity_id=entity_id, now=self._clock())

    def _emit(
        self, name: str, request: AdminRequest, changes: Mapping[str, tuple[str | None, str | None]]
    ) -> None:
        event = AdminEvent(
            name=name,
            at=self._clock(),
            account_id=request.account_id,
            admin_id=request.admin_id,
            changes={k: v for k, v in changes.items() if v[0] != v[1]},
        )
        audit_log.info(
            "admin %s account=%s admin=%s changed=%s",
            name,
            event.account_id,
            event.admin_id,
            sorted(event.changes),
        )
        if self._audit is not None:
            self._audit(event)
