"""The account administrator's SSO pages, written once for every framework.

An adapter mounts ``{prefix}/admin/{account}/{path}`` (GET and POST), turns each request into
an :class:`AdminRequest` and :meth:`AdminPages.handle`'s :class:`WebResponse` into its own.
Paths, relative to the account's admin root:

=====================  =====  ==============================================================
path                   verb   what
=====================  =====  ==============================================================
(empty)                GET    status: SSO on/off, IdP, certificates, metadata source, logins
``setup``              GET    which IdP; ``setup/{vendor}``: the values to copy into it
``sp-metadata.xml``    GET    the SP metadata to give the IdP
``connect``            both   paste / upload / URL; POST shows what was read, saves nothing
``connect/confirm``    POST   saves the previewed metadata
``mapping``            both   claim mapping; POST previews on sample claims or saves
``disable``            both   GET asks for confirmation; POST deletes the SSO configuration
``domains``            GET    verified domains (only with ``domains=``); POST ``domains/add``,
                              ``domains/verify``, ``domains/remove``
``test``               POST   Test connection (only with ``service=``): to the IdP
``test/result``        POST   the IdP's response, posted on by the ACS: what a login would do
``scim/tokens``        POST   a new SCIM token, its secret shown once (only with
                              ``scim_tokens=``); ``scim/tokens/revoke``
=====================  =====  ==============================================================

Every request is first put to the app's ``can_administer`` hook (403 otherwise); every POST
but ``test/result`` needs the adapter's CSRF check to have passed (403 otherwise); every
change is an :class:`AdminEvent` given to ``audit`` and logged on ``samljit.audit``.
``test/result`` carries the IdP's signed response instead of a token: it shows a dry run of
a test that this administrator started, and changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable

from .._fetch import _display, _scheme_allowed
from ..errors import (
    MetadataFetchFailed,
    MetadataInvalid,
    SamlError,
)
from ..messages import build_sp_metadata
from ..metadata import ParsedMetadata, extract_idp_entity
from ..setup_guides import VENDORS, guided_setup
from ._admin_mapping_pages import _MappingPages
from ._admin_model import (
    DEFAULT_MAX_METADATA_BYTES,
    HEADERS,
    AdminEvent,
    AdminRequest,
    digest,
    entity_or_blank,
    idp_view,
    problem_of,
    vendors,
    when,
)
from ._admin_pages import (
    ConnectView,
    GuideView,
    LoginView,
    Problem,
    StatusView,
)
from ._admin_test import RESULT_PATH
from ._web import WebResponse

__all__ = ["DEFAULT_MAX_METADATA_BYTES", "AdminEvent", "AdminPages", "AdminRequest"]


class AdminPages(_MappingPages):
    """The admin pages of every account, for one app.

    Args:
        accounts: where the SSO configurations are saved (``save`` on confirm, ``delete``
            on disable).
        can_administer: the app's decision, ``(native_request, account_id) -> bool``: may
            the current user administer this account? Asked first on every page and action;
            anything but ``True`` is a 403. Required: the pages cannot be built without it.
        new_account: the configuration an account without SSO starts from (its
            ``SPConfig``, mapping and policy; its ``idp_metadata`` is ignored), for the setup
            guide and the first connection.
        audit: called with every :class:`AdminEvent`.
        history: the accounts' recent logins, for the status page.
        metadata_source: e.g. ``LoginService.metadata_source``: the refresh state of an
            account's metadata URL, for the status page.
        sp_metadata: e.g. ``LoginService.sp_metadata``: the SP metadata of a saved account
            (with the SP's certificates); an unsaved one gets metadata without certificates.
        sp_metadata_url: where the app serves an account's SP metadata, for the IdPs that
            import it by URL (e.g. the entity ID with the adapters' URLs); without it the
            guides offer the downloaded file.
        fetcher: how metadata URLs are fetched; :func:`~samljit.metadata_source.urllib_fetcher`
            (https only, public addresses only) with the two options below when omitted.
        allow_http, allow_private_addresses: as for :func:`urllib_fetcher` (tests, intranets).
        max_metadata_bytes: the largest metadata pasted, uploaded or fetched.
        fetch_timeout: seconds a metadata URL may take.
        templates: the HTML (see :class:`~samljit.integrations.admin.Templates`).
        clock: the current time.
        domains: adds, verifies and removes the accounts' domains on the ``domains`` page
            (linked from the status page); without it that page is not there (404).
        service: the login service (e.g. a :class:`~samljit.LoginService`): with it, the
            status page offers Test connection, and ``metadata_source`` and ``sp_metadata``
            default to the service's.
        scim_tokens: the accounts' SCIM tokens (:class:`~samljit.directory.ScimTokens`):
            with it, the status page shows the SCIM base URL and issues and revokes tokens.
        scim_url: ``account_id ->`` the account's SCIM base URL; required with
            ``scim_tokens`` (e.g. ``lambda a: f"https://app.example.com/scim/v2/{a}"``).

    Raises:
        ConfigError: ``configuration_invalid``, ``can_administer`` is not callable, or
            one of ``scim_tokens`` and ``scim_url`` without the other.
    """

    # --- dispatch -------------------------------------------------------------------------

    def handle(self, request: AdminRequest) -> WebResponse:
        """Answer one request: authorization, then CSRF for a POST, then the page."""
        if self._can_administer(request.native, request.account_id) is not True:
            return self._page(
                "Not allowed",
                self._templates.message("You may not administer single sign-on for this account."),
                None,
                403,
            )
        method = request.method.upper()
        path = request.path.strip("/")
        if method == "POST" and not request.csrf_ok and path != RESULT_PATH:
            return self._page(
                "Request refused",
                self._templates.message(
                    "This form was not sent from this site's page, so nothing was changed. "
                    "Reload the page and try again."
                ),
                request.base,
                403,
            )
        if path.startswith("setup/") and method == "GET":
            return self._guide(request, path.removeprefix("setup/"))
        routes: dict[tuple[str, str], Callable[[AdminRequest], WebResponse]] = {
            ("GET", ""): self._status,
            ("GET", "setup"): self._guide_index,
            ("GET", "sp-metadata.xml"): self._sp_metadata_file,
            ("GET", "connect"): lambda r: self._connect_form(r, None),
            ("POST", "connect"): self._connect_preview,
            ("POST", "connect/confirm"): self._connect_confirm,
            ("GET", "mapping"): self._mapping_form,
            ("POST", "mapping"): self._mapping_post,
            ("GET", "disable"): self._disable_form,
            ("POST", "disable"): self._disable,
        }
        if self._domain_pages is not None:
            routes.update(self._domain_pages.routes())
        if self._test_pages is not None:
            routes.update(self._test_pages.routes())
        if self._scim_pages is not None:
            routes.update(self._scim_pages.routes())
        handler = routes.get((method, path))
        if handler is not None:
            return handler(request)
        allowed = sorted(m for m, p in routes if p == path)
        if allowed:
            response = self._page("Method not allowed", "", request.base, 405)
            return dataclasses.replace(
                response, headers={**response.headers, "Allow": ", ".join(allowed)}
            )
        return self._page("Not found", self._templates.message("No such page."), request.base, 404)

    # --- pages ----------------------------------------------------------------------------

    def _status(self, request: AdminRequest) -> WebResponse:
        config = self._accounts.get(request.account_id)
        logins = [
            LoginView(
                at=when(r.at),
                outcome=r.outcome,
                email=r.email or "",
                code=r.code or "",
                reason=r.reason or "",
            )
            for r in (self._history.recent(request.account_id, 20) if self._history else [])
        ]
        domains = (
            [(c.domain, c.verified) for c in self._domains.store.domains_of(request.account_id)]
            if self._domains is not None
            else None
        )
        scim = self._scim_pages.view(request) if self._scim_pages is not None else None
        if config is None:
            view = StatusView(
                account_id=request.account_id,
                base=request.base,
                csrf_field=request.csrf_field,
                enabled=False,
                logins=logins,
                domains=domains,
                scim=scim,
            )
            return self._page("Single sign-on", self._templates.status(view), request.base)
        source = self._metadata_source(config) if self._metadata_source else None
        facts: list[tuple[str, str]] = []
        parsed: ParsedMetadata | None = source.metadata if source is not None else None
        problem = None
        if source is not None:
            last = source.last_result
            facts = [
                ("Last refresh", when(source.fetched_at)),
                ("Next refresh", when(source.next_refresh)),
                ("Last error", f"{last.code}: {last.message}" if last and not last.ok else "none"),
            ]
        if parsed is None:
            try:
                parsed = self._parse(config.idp_metadata, config.idp_entity_id)
            except SamlError as exc:
                problem = problem_of(exc)
        view = StatusView(
            account_id=request.account_id,
            base=request.base,
            csrf_field=request.csrf_field,
            enabled=True,
            test_connection=self._test_pages is not None and parsed is not None,
            idp=idp_view(parsed, self._clock()) if parsed is not None else None,
            problem=problem,
            source=f"Fetched from {config.idp_metadata_url}"
            if config.idp_metadata_url
            else "Pasted or uploaded by an administrator",
            source_facts=facts,
            logins=logins,
            domains=domains,
            scim=scim,
        )
        return self._page("Single sign-on", self._templates.status(view), request.base)

    def _guide_index(self, request: AdminRequest) -> WebResponse:
        body = self._templates.guide_index(
            request.base, vendors(self._draft(request.account_id)[0])
        )
        return self._page("Set up single sign-on", body, request.base)

    def _guide(self, request: AdminRequest, vendor: str) -> WebResponse:
        if vendor not in VENDORS:
            return self._page("Not found", self._templates.message("No such guide."), None, 404)
        config, _ = self._draft(request.account_id)
        url = self._sp_metadata_url(request.account_id) if self._sp_metadata_url else None
        guide = guided_setup(vendor, config=config, sp_metadata_url=url)
        view = GuideView(
            account_id=request.account_id,
            base=request.base,
            display_name=guide.display_name,
            create_app=guide.create_app,
            fields=[(f.label, f.value, f.help) for f in guide.fields],
            attributes_section=guide.attributes_section,
            attributes=[(a.name, a.value, a.help) for a in guide.attributes],
            steps=guide.steps,
            vendors=vendors(config),
        )
        title = f"Set up {guide.display_name}"
        return self._page(title, self._templates.guide(view), request.base)

    def _sp_metadata_file(self, request: AdminRequest) -> WebResponse:
        config, saved = self._draft(request.account_id)
        if saved and self._sp_metadata is not None:
            xml = self._sp_metadata(request.account_id)
        else:
            xml = build_sp_metadata(
                entity_id=config.sp.entity_id,
                acs_url=config.sp.acs_url,
                slo_url=config.sp.slo_url,
                name_id_format=config.name_id_format,
            )
        return WebResponse(
            body=xml,
            content_type="application/samlmetadata+xml",
            headers={**HEADERS, "Content-Disposition": 'attachment; filename="sp-metadata.xml"'},
        )

    def _connect_form(self, request: AdminRequest, problem: Problem | None) -> WebResponse:
        view = ConnectView(
            account_id=request.account_id,
            base=request.base,
            csrf_field=request.csrf_field,
            problem=problem,
            metadata_url=request.form.get("metadata_url", ""),
            entity_id=request.form.get("entity_id", ""),
            max_bytes=self._max_bytes,
        )
        return self._page(
            "Connect your IdP",
            self._templates.connect(view),
            request.base,
            200 if not problem else 400,
        )

    def _connect_preview(self, request: AdminRequest) -> WebResponse:
        """Read the document and show it; nothing is saved here."""
        form = request.form
        url = form.get("metadata_url", "").strip()
        entity_id = form.get("entity_id", "").strip()
        try:
            upload = request.files.get("metadata_file") or b""
            pasted = form.get("metadata", "")
            if upload:
                xml = self._bounded(upload)
                url = ""
            elif pasted.strip():
                xml = self._bounded(pasted.encode("utf-8", "surrogateescape"))
                url = ""
            elif url:
                xml = self._fetch(url)
            else:
                raise MetadataInvalid("paste the metadata, upload its file or give its URL")
            parsed = self._parse(xml, entity_id or None)
            if url:
                # AccountConfig refuses what it could not keep fresh; say so before saving.
                dataclasses.replace(self._draft(request.account_id)[0], idp_metadata_url=url)
        except SamlError as exc:
            return self._connect_form(request, problem_of(exc))
        view = ConnectView(
            account_id=request.account_id,
            base=request.base,
            csrf_field=request.csrf_field,
            idp=idp_view(parsed, self._clock()),
            metadata_b64=base64.b64encode(xml).decode("ascii"),
            metadata_url=url,
            entity_id=entity_id,
            max_bytes=self._max_bytes,
        )
        return self._page("Check your IdP", self._templates.preview(view), request.base)

    def _connect_confirm(self, request: AdminRequest) -> WebResponse:
        """Save the previewed document, read again with every check of the preview."""
        form = request.form
        url = form.get("metadata_url", "").strip() or None
        entity_id = form.get("entity_id", "").strip() or None
        try:
            try:
                xml = base64.b64decode(form.get("metadata_b64", ""), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise MetadataInvalid("the previewed metadata did not come back intact") from exc
            self._parse(self._bounded(xml), entity_id)
            # Only the chosen IdP is stored: every login reads the configuration, and an
            # aggregate may be megabytes (a URL keeps serving the whole aggregate).
            xml = extract_idp_entity(xml, entity_id=entity_id)
            if url is not None and not _scheme_allowed(url, self._allow_http):
                # The preview fetched it; a form posted with another URL is refused alike.
                raise MetadataFetchFailed(
                    f"{_display(url)} is not an https URL", expected="https", found="insecure_url"
                )
            old, saved = self._draft(request.account_id)
            config = dataclasses.replace(
                old, idp_metadata=xml, idp_metadata_url=url, idp_entity_id=entity_id
            )
        except SamlError as exc:
            return self._connect_form(request, problem_of(exc))
        self._accounts.save(config)
        changes = {
            "idp_metadata": (digest(old.idp_metadata) if saved else None, digest(xml)),
            "idp_metadata_url": (old.idp_metadata_url if saved else None, url),
            "idp_entity_id": (old.idp_entity_id if saved else None, entity_id),
        }
        self._emit("idp_connected", request, changes)
        return self._page(
            "IdP connected",
            self._templates.message("The IdP is saved: the next sign-in uses it."),
            request.base,
        )

    def _disable_form(self, request: AdminRequest, status: int = 200) -> WebResponse:
        config = self._accounts.get(request.account_id)
        if config is None:
            return self._page(
                "Single sign-on is off",
                self._templates.message("This account has no IdP connected."),
                request.base,
                status,
            )
        entity = config.idp_entity_id or entity_or_blank(config.idp_metadata)
        body = self._templates.disable(request.base, request.csrf_field, entity)
        return self._page("Disable single sign-on", body, request.base, status)

    def _disable(self, request: AdminRequest) -> WebResponse:
        config = self._accounts.get(request.account_id)
        if config is None or request.form.get("confirm") != "yes":
            return self._disable_form(request, 400)
        self._accounts.delete(request.account_id)
        changes = {
            "idp_metadata": (digest(config.idp_metadata), None),
            "idp_metadata_url": (config.idp_metadata_url, None),
        }
        self._emit("sso_disabled", request, changes)
        return self._page(
            "Single sign-on disabled",
            self._templates.message(
                "The IdP settings are deleted. Users stay; they can no longer sign in by SSO."
            ),
            request.base,
        )
