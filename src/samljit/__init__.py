"""samljit: SAML 2.0 single sign-on with Just-In-Time provisioning for any Python web app.

The top level holds what a host app needs: the services and their results, the configuration,
the protocols it implements with their records and in-memory implementations, the verified
assertion and identity, metadata and verification, and the error tree's branches. More lives in
a few public namespaces: ``samljit.errors`` (every error class), ``samljit.protocols`` (the
async protocols too), ``samljit.bindings`` (HTTP-Redirect and HTTP-POST codecs, RelayState),
``samljit.messages`` (builders), ``samljit.logout``, ``samljit.metadata``,
``samljit.metadata_source``, ``samljit.provisioning``, ``samljit.presets``,
``samljit.setup_guides``, ``samljit.stores``,
``samljit.testing`` and ``samljit.integrations``.
"""

import logging

from ._accounts import AccountConfig, ProvisioningPolicy
from ._claims import ClaimMapping, Claims, GroupRole, Identity, normalize_email
from ._config import METADATA_LIMITS, RESPONSE_LIMITS, Limits, SPConfig
from ._keys import load_or_create_key_pair
from ._models import Assertion, Attribute, NameID
from ._response import VerifiedResponse, verify_response, verify_response_xml
from ._service import (
    AsyncLoginService,
    AuditEvent,
    LoginResult,
    LoginService,
    LogoutResult,
    OutboundMessage,
)
from .errors import (
    ClaimError,
    ConfigError,
    DomainError,
    InputError,
    MetadataError,
    ProvisioningError,
    Replayed,
    SamlError,
    SamlWarning,
    ScimError,
    SignatureError,
    StoreFull,
    StoreUnavailable,
    StructureError,
    ValidationError,
)
from .metadata import IdentityProvider, ParsedMetadata, parse_idp_metadata
from .metadata_source import MetadataSource, urllib_fetcher
from .protocols import (
    AccountStore,
    LoginContext,
    NewUser,
    PendingRequest,
    ReplayCache,
    RequestStore,
    SessionIssuer,
    SessionRevoker,
    UserRecord,
    UserStore,
    in_thread,
)
from .stores.memory import (
    MemoryAccountStore,
    MemoryReplayCache,
    MemoryRequestStore,
    MemorySessionIssuer,
    MemoryUserStore,
)

__version__ = "0.1.0.dev0"

# A library leaves logging to the app: without this, Python's last-resort handler would print
# every refused login (a WARNING on samljit.audit) to stderr of an app that configured none.
# Records still propagate to the handlers the app sets up. Covers every samljit.* logger.
logging.getLogger("samljit").addHandler(logging.NullHandler())

__all__ = [
    "METADATA_LIMITS",
    "RESPONSE_LIMITS",
    "AccountConfig",
    "AccountStore",
    "Assertion",
    "AsyncLoginService",
    "Attribute",
    "AuditEvent",
    "ClaimError",
    "ClaimMapping",
    "Claims",
    "ConfigError",
    "DomainError",
    "GroupRole",
    "Identity",
    "IdentityProvider",
    "InputError",
    "Limits",
    "LoginContext",
    "LoginResult",
    "LoginService",
    "LogoutResult",
    "MemoryAccountStore",
    "MemoryReplayCache",
    "MemoryRequestStore",
    "MemorySessionIssuer",
    "MemoryUserStore",
    "MetadataError",
    "MetadataSource",
    "NameID",
    "NewUser",
    "OutboundMessage",
    "ParsedMetadata",
    "PendingRequest",
    "ProvisioningError",
    "ProvisioningPolicy",
    "ReplayCache",
    "Replayed",
    "RequestStore",
    "SPConfig",
    "SamlError",
    "SamlWarning",
    "ScimError",
    "SessionIssuer",
    "SessionRevoker",
    "SignatureError",
    "StoreFull",
    "StoreUnavailable",
    "StructureError",
    "UserRecord",
    "UserStore",
    "ValidationError",
    "VerifiedResponse",
    "__version__",
    "in_thread",
    "load_or_create_key_pair",
    "normalize_email",
    "parse_idp_metadata",
    "urllib_fetcher",
    "verify_response",
    "verify_response_xml",
]
