"""The one error tree of samljit.

Every failure is a :class:`SamlError` with a stable, machine-readable ``code``. ``str(err)`` is
meant for administrators and logs: it says what was expected and what was found, and never
contains keys or whole documents. Browsers should get a generic page keyed by ``code``.

::

    SamlError
    ├── ConfigError                 configuration_invalid
    ├── InputError                  the POSTed value or XML cannot be used at all
    │   ├── ResponseTooLarge        response_too_large
    │   ├── InvalidBase64           invalid_base64
    │   ├── CompressedPayload       compressed_payload
    │   ├── XmlMalformed            xml_malformed
    │   ├── XmlForbiddenConstruct   xml_forbidden_construct (DTD, entity, processing instruction)
    │   ├── XmlTooDeep              xml_too_deep
    │   ├── XmlTooLarge             xml_too_large (too many elements or attributes)
    │   └── QueryInvalid            query_invalid (a Redirect-binding query that is not ASCII)
    ├── MetadataError               IdP metadata an administrator pasted
    │   ├── MetadataInvalid         metadata_invalid
    │   ├── MetadataIsSP            metadata_is_sp
    │   ├── MetadataNoIdP           metadata_no_idp
    │   ├── MetadataAmbiguous       metadata_ambiguous
    │   ├── MetadataEntityNotFound  metadata_entity_not_found
    │   ├── MetadataNoSigningKey    metadata_no_signing_key
    │   ├── MetadataBadCertificate  metadata_bad_certificate
    │   ├── MetadataSignatureInvalid metadata_signature_invalid (signed metadata)
    │   ├── MetadataFetchFailed     metadata_fetch_failed (a URL or file cannot be read)
    │   └── MetadataTooLarge        metadata_too_large (pasted or uploaded on the admin pages)
    ├── StructureError              the Response is not shaped as SAML requires
    │   ├── MalformedResponse       malformed_response
    │   ├── AssertionMissing        assertion_missing
    │   ├── MultipleAssertions      multiple_assertions
    │   ├── DuplicateId             duplicate_id
    │   ├── EncryptionNotSupported  encryption_not_supported
    │   ├── DecryptionFailed        decryption_failed
    │   ├── EncryptionRequired      encryption_required
    │   └── SignatureMisplaced      signature_misplaced
    ├── SignatureError              XML-DSig
    │   ├── SignatureMissing        signature_missing
    │   ├── SignatureInvalid        signature_invalid
    │   ├── UntrustedKey            untrusted_key
    │   ├── AlgorithmForbidden      algorithm_forbidden
    │   ├── TransformForbidden      transform_forbidden
    │   └── ReferenceMismatch       reference_mismatch
    ├── ValidationError             SAML protocol rules
    │   ├── StatusNotSuccess        status_not_success
    │   ├── DestinationMismatch     destination_mismatch
    │   ├── IssuerMismatch          issuer_mismatch
    │   ├── AudienceMismatch        audience_mismatch
    │   ├── NotYetValid             not_yet_valid
    │   ├── Expired                 expired
    │   ├── SubjectInvalid          subject_invalid
    │   ├── RecipientMismatch       recipient_mismatch
    │   ├── AuthnStatementMissing   authn_statement_missing
    │   ├── InResponseToMismatch    in_response_to_mismatch
    │   ├── UnsolicitedResponse     unsolicited_response
    │   ├── TestLoginResponse       test_login (answers a Test connection: never a login)
    │   └── TestLoginForbidden      test_login_forbidden (another administrator's test)
    ├── Replayed                    replayed
    ├── StoreUnavailable            store_unavailable (a shared store did not answer)
    ├── StoreFull                   store_full (too many requests pending: a new one is refused)
    ├── DomainError                 verified domains (samljit.domains)
    │   ├── DomainInvalid           domain_invalid
    │   ├── DomainTaken             domain_taken
    │   ├── DomainNotAdded          domain_not_added
    │   ├── DomainNotVerified       domain_not_verified
    │   ├── DnsTimeout              dns_timeout
    │   └── DnsFailed               dns_failed
    ├── ClaimError                  the signed claims cannot make an identity
    │   ├── EmailMissing            email_missing
    │   ├── EmailInvalid            email_invalid
    │   ├── RoleNotAccepted         role_not_accepted
    │   └── AccountClaimMissing     account_missing
    ├── ProvisioningError           the identity may not log in here
    │   ├── SsoDisabled             sso_disabled
    │   ├── AccountNotFound         account_not_found
    │   ├── AccountMismatch         account_mismatch
    │   ├── DomainNotOwned          domain_not_owned
    │   ├── UserNotProvisioned      user_not_provisioned
    │   ├── UserDeactivated         user_deactivated
    │   └── AuthnContextNotAccepted authn_context_not_accepted
    └── ScimError                   SCIM requests (samljit.scim), with an HTTP status
        ├── ScimUnauthorized        scim_unauthorized (401)
        ├── ScimNotFound            scim_not_found (404)
        ├── ScimInvalid             scim_invalid (400, scimType)
        ├── ScimConflict            scim_conflict (409 uniqueness)
        ├── ScimMethodNotAllowed    scim_method_not_allowed (405)
        ├── ScimTooLarge            scim_too_large (413)
        ├── ScimRateLimited         scim_rate_limited (429)
        └── ScimNotSupported        scim_not_supported (501)
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AccountClaimMissing",
    "AccountMismatch",
    "AccountNotFound",
    "AlgorithmForbidden",
    "AssertionMissing",
    "AudienceMismatch",
    "AuthnContextNotAccepted",
    "AuthnStatementMissing",
    "ClaimError",
    "CompressedPayload",
    "ConfigError",
    "DecryptionFailed",
    "DestinationMismatch",
    "DnsFailed",
    "DnsTimeout",
    "DomainError",
    "DomainInvalid",
    "DomainNotAdded",
    "DomainNotOwned",
    "DomainNotVerified",
    "DomainTaken",
    "DuplicateId",
    "EmailInvalid",
    "EmailMissing",
    "EncryptionNotSupported",
    "EncryptionRequired",
    "Expired",
    "InResponseToMismatch",
    "InputError",
    "InvalidBase64",
    "IssuerMismatch",
    "MalformedResponse",
    "MetadataAmbiguous",
    "MetadataBadCertificate",
    "MetadataEntityNotFound",
    "MetadataError",
    "MetadataFetchFailed",
    "MetadataInvalid",
    "MetadataIsSP",
    "MetadataNoIdP",
    "MetadataNoSigningKey",
    "MetadataSignatureInvalid",
    "MetadataTooLarge",
    "MultipleAssertions",
    "NotYetValid",
    "ProvisioningError",
    "QueryInvalid",
    "RecipientMismatch",
    "ReferenceMismatch",
    "Replayed",
    "ResponseTooLarge",
    "RoleNotAccepted",
    "SamlError",
    "SamlWarning",
    "ScimConflict",
    "ScimError",
    "ScimInvalid",
    "ScimMethodNotAllowed",
    "ScimNotFound",
    "ScimNotSupported",
    "ScimRateLimited",
    "ScimTooLarge",
    "ScimUnauthorized",
    "SignatureError",
    "SignatureInvalid",
    "SignatureMisplaced",
    "SignatureMissing",
    "SsoDisabled",
    "StatusNotSuccess",
    "StoreFull",
    "StoreUnavailable",
    "StructureError",
    "SubjectInvalid",
    "TestLoginForbidden",
    "TestLoginResponse",
    "TransformForbidden",
    "UnsolicitedResponse",
    "UntrustedKey",
    "UserDeactivated",
    "UserNotProvisioned",
    "ValidationError",
    "XmlForbiddenConstruct",
    "XmlMalformed",
    "XmlTooDeep",
    "XmlTooLarge",
]

Found = str | int | list[str] | None


class SamlWarning(UserWarning):
    """Risky but accepted input, returned with a result rather than raised: an expiring or
    SHA-1 certificate, stale metadata (see :class:`~samljit.metadata.MetadataWarning`)."""


class SamlError(Exception):
    """Base of every samljit error.

    Attributes:
        code: stable snake_case identifier, safe to show, log and branch on.
        expected: what samljit required, when that is a single value or list.
        found: what the message or document actually had.
    """

    code: ClassVar[str] = "saml_error"

    def __init__(self, message: str, *, expected: Found = None, found: Found = None) -> None:
        super().__init__(message)
        self.message = message
        self.expected = expected
        self.found = found

    def to_dict(self) -> dict[str, Found]:
        """The JSON-ready form used by the CLI and audit logs."""
        out: dict[str, Found] = {"code": self.code, "message": self.message}
        if self.expected is not None:
            out["expected"] = self.expected
        if self.found is not None:
            out["found"] = self.found
        return out


class ConfigError(SamlError):
    """Invalid `SPConfig`, or a naive `now`."""

    code = "configuration_invalid"


# --- input -------------------------------------------------------------------------------


class InputError(SamlError):
    """Group: the posted value or XML cannot be used at all."""

    code = "input_invalid"


class ResponseTooLarge(InputError):
    """The `SAMLResponse` is over `limits.max_bytes`."""

    code = "response_too_large"


class InvalidBase64(InputError):
    """The `SAMLResponse` is empty or not strict base64."""

    code = "invalid_base64"


class CompressedPayload(InputError):
    """The `SAMLResponse` is compressed, which HTTP-POST never is."""

    code = "compressed_payload"


class XmlMalformed(InputError):
    """Not well-formed XML."""

    code = "xml_malformed"


class XmlForbiddenConstruct(InputError):
    """A DTD, entity or processing instruction."""

    code = "xml_forbidden_construct"


class XmlTooDeep(InputError):
    """Elements nested deeper than `limits.max_depth`."""

    code = "xml_too_deep"


class XmlTooLarge(InputError):
    """Over `limits.max_bytes` or `limits.max_nodes`."""

    code = "xml_too_large"


class QueryInvalid(InputError):
    """A Redirect-binding query string that cannot be what a sender put on the wire: a
    character outside ASCII, or a SAML parameter whose percent-escapes are not UTF-8. The
    query signature covers the raw bytes, so such a query is refused, never repaired."""

    code = "query_invalid"


# --- metadata ----------------------------------------------------------------------------


class MetadataError(SamlError):
    """Group: the IdP metadata cannot be used."""

    code = "metadata_error"


class MetadataInvalid(MetadataError):
    """Not XML, or not SAML metadata."""

    code = "metadata_invalid"


class MetadataIsSP(MetadataError):
    """SP metadata where the IdP's was expected."""

    code = "metadata_is_sp"


class MetadataNoIdP(MetadataError):
    """No SAML 2.0 `IDPSSODescriptor`."""

    code = "metadata_no_idp"


class MetadataAmbiguous(MetadataError):
    """Several IdPs, none chosen."""

    code = "metadata_ambiguous"


class MetadataEntityNotFound(MetadataError):
    """The chosen entity ID is not there."""

    code = "metadata_entity_not_found"


class MetadataNoSigningKey(MetadataError):
    """No signing certificate."""

    code = "metadata_no_signing_key"


class MetadataBadCertificate(MetadataError):
    """A certificate cannot be read."""

    code = "metadata_bad_certificate"


class MetadataSignatureInvalid(MetadataError):
    """Metadata that must be signed by a pinned certificate is unsigned, or its signature
    does not verify with any of those certificates."""

    code = "metadata_signature_invalid"


class MetadataFetchFailed(MetadataError):
    """Metadata could not be fetched from its URL (or read from its file): a timeout, an HTTP
    error, a body over the size limit, a redirect off https. ``found`` says which."""

    code = "metadata_fetch_failed"


class MetadataTooLarge(MetadataError):
    """Metadata pasted or uploaded on the admin pages is larger than they accept
    (``AdminPages(max_metadata_bytes=...)``). ``expected`` is the limit, ``found`` the size."""

    code = "metadata_too_large"


# --- response structure ------------------------------------------------------------------


class StructureError(SamlError):
    """Group: the Response is not shaped as SAML requires."""

    code = "structure_invalid"


class MalformedResponse(StructureError):
    """Not a SAML 2.0 Response, or a required part is malformed."""

    code = "malformed_response"


class AssertionMissing(StructureError):
    """No assertion."""

    code = "assertion_missing"


class MultipleAssertions(StructureError):
    """More than one assertion, or one out of place."""

    code = "multiple_assertions"


class DuplicateId(StructureError):
    """An `ID` value appears twice."""

    code = "duplicate_id"


class EncryptionNotSupported(StructureError):
    """An encrypted assertion or NameID."""

    code = "encryption_not_supported"


class DecryptionFailed(StructureError):
    """An encrypted assertion no SP key opens (one message for every cause)."""

    code = "decryption_failed"


class EncryptionRequired(StructureError):
    """The account requires encrypted assertions."""

    code = "encryption_required"


class SignatureMisplaced(StructureError):
    """A signature where SAML allows none, or two on one element."""

    code = "signature_misplaced"


# --- signatures --------------------------------------------------------------------------


class SignatureError(SamlError):
    """Group: XML signature failures."""

    code = "signature_error"


class SignatureMissing(SignatureError):
    """Neither the Response nor the Assertion is signed."""

    code = "signature_missing"


class SignatureInvalid(SignatureError):
    """The signature does not verify, or is malformed."""

    code = "signature_invalid"


class UntrustedKey(SignatureError):
    """Signed with a certificate the metadata does not list."""

    code = "untrusted_key"


class AlgorithmForbidden(SignatureError):
    """A signature or digest algorithm not on the allow-list."""

    code = "algorithm_forbidden"


class TransformForbidden(SignatureError):
    """A transform or canonicalization not on the allow-list."""

    code = "transform_forbidden"


class ReferenceMismatch(SignatureError):
    """The signature does not reference exactly its own element."""

    code = "reference_mismatch"


# --- protocol validation -----------------------------------------------------------------


class ValidationError(SamlError):
    """Group: SAML protocol rules."""

    code = "validation_failed"


class StatusNotSuccess(ValidationError):
    """The IdP did not answer Success."""

    code = "status_not_success"


class DestinationMismatch(ValidationError):
    """`Destination` is not the ACS URL."""

    code = "destination_mismatch"


class IssuerMismatch(ValidationError):
    """`Issuer` is not the IdP's entity ID."""

    code = "issuer_mismatch"


class AudienceMismatch(ValidationError):
    """The assertion is not meant for this SP."""

    code = "audience_mismatch"


class NotYetValid(ValidationError):
    """Before `NotBefore`."""

    code = "not_yet_valid"


class Expired(ValidationError):
    """At or after `NotOnOrAfter` or `SessionNotOnOrAfter`."""

    code = "expired"


class SubjectInvalid(ValidationError):
    """No usable NameID or bearer confirmation."""

    code = "subject_invalid"


class RecipientMismatch(ValidationError):
    """`Recipient` is not the ACS URL."""

    code = "recipient_mismatch"


class AuthnStatementMissing(ValidationError):
    """No `AuthnStatement`."""

    code = "authn_statement_missing"


class InResponseToMismatch(ValidationError):
    """The response does not answer the pending request."""

    code = "in_response_to_mismatch"


class UnsolicitedResponse(ValidationError):
    """IdP-initiated, and not allowed."""

    code = "unsolicited_response"


class TestLoginResponse(ValidationError):
    """The response answers an administrator's Test connection: it is never a login
    (complete it with ``complete_test_login``)."""

    __test__ = False  # not a pytest test class, despite the name
    code = "test_login"


class TestLoginForbidden(ValidationError):
    """The Test connection was started by another administrator: only they see its result."""

    __test__ = False  # not a pytest test class, despite the name
    code = "test_login_forbidden"


class Replayed(SamlError):
    """This assertion was already accepted."""

    code = "replayed"


class StoreUnavailable(SamlError):
    """A store shared by the workers (Redis, a database) did not answer in time or dropped
    the connection. The login fails closed: an assertion that could not be recorded as used
    is never accepted, and nothing is written to the app's users."""

    code = "store_unavailable"


class StoreFull(SamlError):
    """The request store holds as many unexpired pending requests as it may
    (``max_pending``): a new login or logout is refused rather than pushing out a request
    that a user is completing at the IdP."""

    code = "store_full"


# --- verified domains --------------------------------------------------------------------


class DomainError(SamlError):
    """Group: a domain cannot be added or verified (:mod:`samljit.domains`)."""

    code = "domain_error"


class DomainInvalid(DomainError):
    """The text is not a domain samljit accepts (an ASCII host name of two or more labels;
    an internationalized one as its ``xn--`` A-label)."""

    code = "domain_invalid"


class DomainTaken(DomainError):
    """Another account has already verified the domain."""

    code = "domain_taken"


class DomainNotAdded(DomainError):
    """``verify`` for a domain the account never added (so no token to look for)."""

    code = "domain_not_added"


class DomainNotVerified(DomainError):
    """The domain's TXT record does not hold the account's token."""

    code = "domain_not_verified"


class DnsTimeout(DomainError):
    """The DNS lookup got no answer within its timeout."""

    code = "dns_timeout"


class DnsFailed(DomainError):
    """The DNS servers answered the lookup with a failure (SERVFAIL, REFUSED)."""

    code = "dns_failed"


# --- claims and provisioning -------------------------------------------------------------


class ClaimError(SamlError):
    """Group: the signed claims cannot make an identity."""

    code = "claim_error"


class EmailMissing(ClaimError):
    """No email address in the NameID or the email attributes."""

    code = "email_missing"


class EmailInvalid(ClaimError):
    """An address samljit will not make a user key of: outside RFC 5321/6531, or with
    characters that Unicode case folding or compatibility normalization would collapse."""

    code = "email_invalid"


class RoleNotAccepted(ClaimError):
    """No accepted role, and no default."""

    code = "role_not_accepted"


class AccountClaimMissing(ClaimError):
    """The configured account claim is absent."""

    code = "account_missing"


class ProvisioningError(SamlError):
    """Group: the identity may not log in here."""

    code = "provisioning_error"


class SsoDisabled(ProvisioningError):
    """The account has no SSO configuration."""

    code = "sso_disabled"


class AccountNotFound(ProvisioningError):
    """Home-realm discovery found no account for the typed email."""

    code = "account_not_found"


class AccountMismatch(ProvisioningError):
    """Another account's claim (or several), or a user of another account."""

    code = "account_mismatch"


class DomainNotOwned(ProvisioningError):
    """The email's domain is owned by another account than the one whose IdP asserted it."""

    code = "domain_not_owned"


class UserNotProvisioned(ProvisioningError):
    """Unknown user, and the policy creates none on this login."""

    code = "user_not_provisioned"


class UserDeactivated(ProvisioningError):
    """The IdP deactivated the user by SCIM: it may not log in until reactivated."""

    code = "user_deactivated"


class AuthnContextNotAccepted(ProvisioningError):
    """The IdP's authentication is not one the account requires."""

    code = "authn_context_not_accepted"


# --- SCIM --------------------------------------------------------------------------------


class ScimError(SamlError):
    """Group: a SCIM request is refused (RFC 7644 §3.12): ``status`` is its HTTP status and
    ``scim_type`` its ``scimType``, when the RFC defines one."""

    code = "scim_error"
    status: ClassVar[int] = 400
    scim_type: ClassVar[str | None] = None


class ScimUnauthorized(ScimError):
    """No bearer token, or not an active token of the account."""

    code = "scim_unauthorized"
    status = 401


class ScimNotFound(ScimError):
    """No such resource in this account (another account's resources are not found)."""

    code = "scim_not_found"
    status = 404


class ScimInvalid(ScimError):
    """The request's JSON, attribute values, filter or patch are not valid."""

    code = "scim_invalid"
    status = 400
    scim_type = "invalidValue"

    def __init__(
        self,
        message: str,
        *,
        scim_type: str = "invalidValue",
        expected: Found = None,
        found: Found = None,
    ) -> None:
        super().__init__(message, expected=expected, found=found)
        self.scim_type = scim_type  # type: ignore[misc]


class ScimConflict(ScimError):
    """The ``userName`` (email) is another user's (RFC 7644 ``uniqueness``)."""

    code = "scim_conflict"
    status = 409
    scim_type = "uniqueness"


class ScimMethodNotAllowed(ScimError):
    """The endpoint does not take this HTTP method."""

    code = "scim_method_not_allowed"
    status = 405


class ScimTooLarge(ScimError):
    """The request body or the page asked for is over the limit."""

    code = "scim_too_large"
    status = 413


class ScimRateLimited(ScimError):
    """The app's rate-limit hook refused the request."""

    code = "scim_rate_limited"
    status = 429


class ScimNotSupported(ScimError):
    """A SCIM feature this service declares unsupported (bulk, sort, ETags, password)."""

    code = "scim_not_supported"
    status = 501
