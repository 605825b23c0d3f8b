"""Each account's recent SSO logins and refusals, for its administrators' status page.

A :class:`~samljit.protocols.LoginHistory` (memory and SQLite ones in :mod:`samljit.stores`)
is fed by the login services' audit events through :func:`record_logins`::

    history = SQLiteLoginHistory("app.sqlite3")
    service = LoginService(..., audit=record_logins(history))

Each refusal carries its error code and a plain-language reason from
:data:`REFUSAL_REASONS` (the wording of docs/errors.md, shortened for a table).
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from ._results import AuditEvent
from .protocols import LoginHistory, LoginRecord

__all__ = ["REFUSAL_REASONS", "login_record", "record_logins", "refusal_reason"]

REFUSAL_REASONS = MappingProxyType(
    {
        "saml_error": "The login could not be completed.",
        "configuration_invalid": "The app's SSO settings are not valid.",
        "input_invalid": "The browser sent something that is not a SAML response.",
        "response_too_large": "The IdP's response was larger than the app accepts.",
        "invalid_base64": "The browser sent an empty or damaged SAML response.",
        "compressed_payload": "The SAML response was compressed, which the POST binding never is.",
        "xml_malformed": "The SAML response is not well-formed XML.",
        "xml_forbidden_construct": "The SAML response holds a DTD, entity or processing "
        "instruction, which are refused.",
        "xml_too_deep": "The SAML response is nested deeper than allowed.",
        "xml_too_large": "The SAML response has too many elements or attributes.",
        "query_invalid": "The redirect's query string was altered on its way.",
        "metadata_error": "The IdP metadata cannot be used.",
        "metadata_invalid": "The IdP metadata is not SAML metadata.",
        "metadata_is_sp": "The metadata saved is a service provider's, not the IdP's.",
        "metadata_no_idp": "The metadata has no identity provider in it.",
        "metadata_ambiguous": "The metadata describes several IdPs; choose one.",
        "metadata_entity_not_found": "The chosen IdP is not in the metadata.",
        "metadata_no_signing_key": "The IdP metadata has no signing certificate.",
        "metadata_bad_certificate": "A certificate in the IdP metadata cannot be read.",
        "metadata_signature_invalid": "The IdP metadata's signature is not valid.",
        "metadata_fetch_failed": "The IdP metadata could not be fetched.",
        "metadata_too_large": "The IdP metadata is larger than the settings pages accept.",
        "structure_invalid": "The SAML response is not shaped as SAML requires.",
        "malformed_response": "The SAML response is not shaped as SAML requires.",
        "assertion_missing": "The IdP's response holds no assertion about the user.",
        "multiple_assertions": "The IdP's response holds more than one assertion.",
        "duplicate_id": "Two elements of the response share one ID (a forgery attempt "
        "or a broken IdP).",
        "encryption_not_supported": "The assertion is encrypted in a way the app does not support.",
        "decryption_failed": "The encrypted assertion could not be decrypted with the app's keys.",
        "encryption_required": "The account requires encrypted assertions and this one was not.",
        "signature_misplaced": "The signature does not cover the assertion that was read.",
        "signature_error": "The response's signature could not be checked.",
        "signature_missing": "The IdP did not sign the response or the assertion.",
        "signature_invalid": "The signature does not match the content (altered, or a "
        "wrong certificate).",
        "untrusted_key": "The response was signed with a key that is not in the IdP "
        "metadata (key rollover?).",
        "algorithm_forbidden": "The IdP signed with an algorithm the app does not accept (SHA-1?).",
        "transform_forbidden": "The signature uses a transform the app refuses.",
        "reference_mismatch": "The signature does not reference the element that was read.",
        "validation_failed": "The response breaks a SAML protocol rule.",
        "status_not_success": "The IdP reported that the login did not succeed.",
        "destination_mismatch": "The response was sent to another URL than this app's ACS.",
        "issuer_mismatch": "The response comes from another IdP than the account's.",
        "audience_mismatch": "The assertion is meant for another application.",
        "not_yet_valid": "The assertion is not valid yet (clocks out of sync?).",
        "expired": "The assertion has expired (slow login, or clocks out of sync).",
        "subject_invalid": "The assertion's subject is missing or not usable.",
        "recipient_mismatch": "The assertion is meant for another ACS URL.",
        "authn_statement_missing": "The assertion does not say how the user signed in.",
        "in_response_to_mismatch": "The response answers a login request the app did not "
        "send or no longer waits for.",
        "unsolicited_response": "A login started at the IdP, and the account does not allow "
        "IdP-initiated logins.",
        "test_login": "The response answered an administrator's Test connection, which never "
        "signs anyone in.",
        "test_login_forbidden": "Another administrator started this Test connection; only they "
        "can see its result.",
        "replayed": "This assertion was already used to sign in (back button, or a replay).",
        "store_unavailable": "A shared store of the app did not answer; try again.",
        "store_full": "Too many logins are pending; try again later.",
        "domain_error": "The domain cannot be added or verified.",
        "domain_invalid": "The text entered is not a domain.",
        "domain_taken": "Another account has verified this domain.",
        "domain_not_added": "The domain was not added to this account.",
        "domain_not_verified": "The domain's TXT record does not hold this account's token.",
        "dns_timeout": "The DNS servers did not answer in time.",
        "dns_failed": "The DNS servers answered with a failure.",
        "claim_error": "The IdP's claims cannot make a user.",
        "email_missing": "The IdP sent no email address for the user.",
        "email_invalid": "The IdP sent an email address the app does not accept.",
        "role_not_accepted": "The user has none of the roles the account accepts.",
        "account_missing": "The IdP did not send the account attribute.",
        "provisioning_error": "The user may not sign in to this account.",
        "sso_disabled": "Single sign-on is not set up for this account.",
        "account_not_found": "No account was found for this email address.",
        "account_mismatch": "The user belongs to another account.",
        "domain_not_owned": "The email's domain is verified by another account.",
        "user_not_provisioned": "The user does not exist in the app, and this login may "
        "not create users.",
        "authn_context_not_accepted": "The user did not sign in the way the account requires "
        "(e.g. with multi-factor).",
        "user_deactivated": "The IdP deactivated the user (SCIM): they may not sign in.",
        "scim_error": "The directory request could not be completed.",
        "scim_unauthorized": "The directory request had no valid token of this account.",
        "scim_not_found": "The directory has no such user or group in this account.",
        "scim_invalid": "The directory request is not valid SCIM.",
        "scim_conflict": "Another user already has this email address.",
        "scim_method_not_allowed": "The directory endpoint does not take this method.",
        "scim_too_large": "The directory request is larger than the app accepts.",
        "scim_rate_limited": "Too many directory requests: the IdP should retry later.",
        "scim_not_supported": "The IdP asked for a SCIM feature this app does not offer.",
    }
)
"""A short plain-language reason for each error code, for administrators (the code's entry
in docs/errors.md says more and what to do)."""


def refusal_reason(code: str | None) -> str:
    """The plain-language reason for ``code``; a generic sentence for a code samljit does
    not know (one a host app's own store raised)."""
    return REFUSAL_REASONS.get(code or "", REFUSAL_REASONS["saml_error"])


def login_record(event: AuditEvent) -> LoginRecord | None:
    """The history record of ``event``: ``login_succeeded`` and ``login_rejected`` events of
    a known account; None for others (user changes, a response no account was found for,
    Test connections and their answers posted to the ACS: ``test_login``).

    The email of a rejection is the event's, set only once the response was verified.
    """
    if event.account_id is None or event.name not in ("login_succeeded", "login_rejected"):
        return None
    if event.code == "test_login":
        return None  # the ACS handing a Test connection's answer on: no login was tried
    if event.code == "sso_disabled":
        # No such account (or none configured): anyone can name one in the ACS URL, so
        # recording these would let unauthenticated POSTs add accounts to the history.
        return None
    refused = event.name == "login_rejected"
    return LoginRecord(
        at=event.at,
        account_id=event.account_id,
        outcome="refused" if refused else "succeeded",
        email=event.email,
        code=event.code if refused else None,
        reason=refusal_reason(event.code) if refused else None,
    )


def record_logins(
    history: LoginHistory, *, then: Callable[[AuditEvent], None] | None = None
) -> Callable[[AuditEvent], None]:
    """An ``audit`` callable for the login services that records logins in ``history``.

    Args:
        history: where the records go.
        then: the app's own audit callable, called with every event afterwards.
    """

    def audit(event: AuditEvent) -> None:
        record = login_record(event)
        if record is not None:
            history.record(record)
        if then is not None:
            then(event)

    return audit
