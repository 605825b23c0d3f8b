"""Which element of an IdP metadata document describes the IdP, and whether the document's
signature verifies: the steps of :func:`~samljit.parse_idp_metadata` before it reads the
descriptor's keys and endpoints."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime

from cryptography import x509
from lxml import etree

from ._certificates import fingerprint
from ._signature import signature_child, verify_enveloped
from ._xml import NS_MD, NS_SAMLP, NSMAP, qname
from .errors import (
    MetadataAmbiguous,
    MetadataEntityNotFound,
    MetadataInvalid,
    MetadataIsSP,
    MetadataNoIdP,
    MetadataSignatureInvalid,
    SamlError,
    SignatureInvalid,
    UntrustedKey,
)

__all__ = ["entity_alone", "idp_descriptor", "pick_entity", "verify_metadata_signature"]

_ENTITY = qname(NS_MD, "EntityDescriptor")
_ENTITIES = qname(NS_MD, "EntitiesDescriptor")
_IDP = qname(NS_MD, "IDPSSODescriptor")
_SP = qname(NS_MD, "SPSSODescriptor")


def verify_metadata_signature(
    root: etree._Element, certificates: tuple[x509.Certificate, ...]
) -> etree._Element:
    """The metadata root re-read from what its enveloped signature covers (metadata 3.1)."""
    _check_root(root)
    trusted = [fingerprint(c) for c in certificates]
    try:
        signature = signature_child(root, "metadata")
        if signature is None:
            raise MetadataSignatureInvalid(
                "the metadata is not signed, but a metadata signing certificate is configured: "
                "fetch the signed metadata (for a federation, its signed aggregate)",
                expected=trusted,
            )
        return verify_enveloped(
            root, signature, certificates=certificates, allow_sha1=False, what="metadata"
        ).element
    except MetadataSignatureInvalid:
        raise
    except (UntrustedKey, SignatureInvalid) as exc:
        if isinstance(exc, SignatureInvalid) and exc.expected is None:
            message = exc.message  # a digest mismatch: changed after signing
        else:
            message = (
                f"the metadata signature does not verify with the {len(certificates)} pinned "
                "metadata signing certificate(s): another key signed it (if the signer rotated "
                "its key, pin the new certificate), or it was changed after signing"
            )
        raise MetadataSignatureInvalid(message, expected=trusted, found=exc.found) from exc
    except SamlError as exc:
        raise MetadataSignatureInvalid(
            f"the metadata signature cannot be accepted: {exc.message}",
            expected=exc.expected,
            found=exc.found,
        ) from exc


def _check_root(root: etree._Element) -> None:
    if root.tag not in (_ENTITY, _ENTITIES):
        local = etree.QName(root).localname
        raise MetadataInvalid(
            f"this is not SAML metadata: the document is a <{local}>, expected an "
            "<EntityDescriptor> or <EntitiesDescriptor>",
            found=local,
        )


def pick_entity(root: etree._Element, entity_id: str | None) -> etree._Element:
    if root.tag == _ENTITY:
        if entity_id is not None and root.get("entityID") != entity_id:
            raise MetadataEntityNotFound(
                f"the metadata describes {root.get('entityID')!r}, not {entity_id!r}",
                expected=entity_id,
                found=[root.get("entityID", "")],
            )
        return root
    _check_root(root)
    entities = list(root.iter(_ENTITY))
    idps = [e for e in entities if _has_saml2_idp(e)]
    if entity_id is not None:
        chosen = [e for e in idps if e.get("entityID") == entity_id]
        if not chosen:
            raise MetadataEntityNotFound(
                f"no IdP with entity ID {entity_id!r} in this metadata "
                f"({len(idps)} IdP entities present)",
                expected=entity_id,
                found=[e.get("entityID", "") for e in idps],
            )
        idps = chosen[:1]
    if not idps:
        if any(e.find(_SP) is not None for e in entities):
            raise MetadataIsSP(_SP_MESSAGE)
        raise MetadataNoIdP("the metadata holds no SAML 2.0 identity provider (IDPSSODescriptor)")
    if len(idps) > 1:
        ids = [e.get("entityID", "") for e in idps]
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        raise MetadataAmbiguous(
            f"the metadata holds {len(ids)} identity providers ({shown}); choose one by entity ID",
            found=ids,
        )
    return idps[0]


_SP_MESSAGE = (
    "this is service provider (SP) metadata, not the identity provider's: paste the metadata "
    "your IdP publishes for this app (it has an IDPSSODescriptor)"
)


# An IdP supports SAML 2.0 when its protocolSupportEnumeration lists the protocol's URI
# (metadata 2.4.1), which is the samlp namespace name (metadata.PROTOCOL_SAML2).
def _has_saml2_idp(entity: etree._Element) -> bool:
    return any(
        NS_SAMLP in d.get("protocolSupportEnumeration", "").split()
        for d in entity.iterfind("md:IDPSSODescriptor", NSMAP)
    )


def idp_descriptor(entity: etree._Element) -> etree._Element:
    for descriptor in entity.iterfind("md:IDPSSODescriptor", NSMAP):
        if NS_SAMLP in descriptor.get("protocolSupportEnumeration", "").split():
            return descriptor
    if entity.find(_IDP) is not None:
        raise MetadataNoIdP("the IDPSSODescriptor does not support the SAML 2.0 protocol")
    if entity.find(_SP) is not None:
        raise MetadataIsSP(_SP_MESSAGE)
    raise MetadataNoIdP(
        f"entity {entity.get('entityID')!r} has no IDPSSODescriptor: it is not an identity provider"
    )


def entity_alone(
    entity: etree._Element, read_time: Callable[[etree._Element, str], datetime | None]
) -> etree._Element:
    """A copy of ``entity`` as a document of its own, still bounded as it was inside its
    aggregate: the earliest ``validUntil`` of its enclosing elements (metadata 2.3.1), and the
    root's ``cacheDuration`` when it has none (as :func:`~samljit.parse_idp_metadata` reads
    it). The namespaces in scope stay declared (QName values such as ``xsi:type`` use them).
    """
    alone = copy.deepcopy(entity)
    ancestors = list(entity.iterancestors())
    own = read_time(entity, "validUntil")
    bounds = [(moment, e) for e in ancestors if (moment := read_time(e, "validUntil"))]
    if bounds:
        moment, earliest = min(bounds, key=lambda bound: bound[0])
        if own is None or moment < own:
            alone.set("validUntil", earliest.get("validUntil", ""))
    if ancestors and alone.get("cacheDuration") is None:
        duration = ancestors[-1].get("cacheDuration")
        if duration is not None:
            alone.set("cacheDuration", duration)
    return alone
