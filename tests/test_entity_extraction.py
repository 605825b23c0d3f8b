"""One IdP taken out of a federation aggregate (``samljit.metadata.extract_idp_entity``), and
the administrator's connect pages storing only the IdP chosen, never the whole aggregate.

The extracted document must read as the same IdP as the aggregate did with that entity ID
(keys, endpoints, and the bounds the aggregate put on it); the aggregate's signature does not
cover it, so it is checked on the aggregate before the entity is taken out.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from lxml import etree

import samljit
from samljit.integrations._admin_model import digest
from samljit.metadata import extract_idp_entity
from samljit.testing import TestIdP, make_certificate

from .conftest import INTEROP, NOW
from .test_admin_core import Admin, _confirm_form, _paste
from .test_metadata_source import aggregate, sign

SWAMID = (INTEROP / "metadata" / "swamid-federation-aggregate.xml").read_bytes()
NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata"


@pytest.fixture(scope="module")
def idps() -> list[TestIdP]:
    return [TestIdP(entity_id=f"https://idp{i}.test/metadata", key_type="ec") for i in range(3)]


def _same_idp(one: samljit.IdentityProvider, other: samljit.IdentityProvider) -> bool:
    return dataclasses.astuple(one) == dataclasses.astuple(other)


@pytest.mark.parametrize(
    "entity_id",
    [
        "https://idp.umu.se/saml2/idp/metadata.php",
        "https://login.liu.se/idp/shibboleth",
        "https://idp.nordu.net/idp/shibboleth",
    ],
)
def test_an_idp_taken_out_of_a_real_aggregate_reads_as_it_did_inside(entity_id: str) -> None:
    alone = extract_idp_entity(SWAMID, entity_id=entity_id)
    inside = samljit.parse_idp_metadata(SWAMID, entity_id=entity_id, now=NOW)
    outside = samljit.parse_idp_metadata(alone, now=NOW)
    assert _same_idp(outside.idp, inside.idp)
    assert outside.warnings == inside.warnings
    assert etree.fromstring(alone).tag == f"{{{NS_MD}}}EntityDescriptor"
    assert len(alone) < len(SWAMID) / 20


def test_a_single_entity_document_is_returned_byte_for_byte(idps: list[TestIdP]) -> None:
    pasted = b"\n  " + idps[0].metadata_xml
    assert extract_idp_entity(pasted) == pasted
    assert extract_idp_entity(pasted, entity_id=idps[0].entity_id) == pasted


def test_the_bounds_of_the_aggregate_are_kept_on_the_entity(idps: list[TestIdP]) -> None:
    """validUntil of an enclosing EntitiesDescriptor bounds the entity (metadata 2.3.1), and
    the aggregate's cacheDuration is the entity's when it has none: both survive."""
    root = etree.fromstring(aggregate(*(idp.metadata_xml for idp in idps)))
    root.set("validUntil", "2027-01-01T00:00:00Z")
    root.set("cacheDuration", "PT6H")
    nested = etree.SubElement(
        root, f"{{{NS_MD}}}EntitiesDescriptor", validUntil="2026-12-31T00:00:00Z"
    )
    nested.append(root[2])  # the third IdP, in a nested group with an earlier bound
    root[0].set("validUntil", "2030-01-01T00:00:00Z")  # its own, later than the aggregate's
    xml = etree.tostring(root)
    for idp, until in zip(idps, ["2027-01-01", "2027-01-01", "2026-12-31"], strict=True):
        alone = samljit.parse_idp_metadata(extract_idp_entity(xml, entity_id=idp.entity_id))
        inside = samljit.parse_idp_metadata(xml, entity_id=idp.entity_id)
        assert alone.idp.valid_until == datetime.fromisoformat(until).replace(tzinfo=UTC)
        assert _same_idp(alone.idp, inside.idp)
        assert alone.idp.cache_duration == "PT6H"


@pytest.mark.parametrize(
    ("entity_id", "code"),
    [
        (None, "metadata_ambiguous"),
        ("https://idp.unknown.test/metadata", "metadata_entity_not_found"),
    ],
)
def test_an_aggregate_without_one_chosen_idp_is_refused(
    idps: list[TestIdP], entity_id: str | None, code: str
) -> None:
    with pytest.raises(samljit.SamlError) as caught:
        extract_idp_entity(aggregate(*(idp.metadata_xml for idp in idps)), entity_id=entity_id)
    assert caught.value.code == code


def test_the_aggregates_signature_does_not_cover_the_entity_taken_out(
    idps: list[TestIdP],
) -> None:
    """The documented consequence: verify the aggregate, then take the entity out; the
    entity alone no longer verifies against the federation's key."""
    federation = make_certificate()
    signed = sign(aggregate(*(idp.metadata_xml for idp in idps)), federation)
    chosen = idps[1].entity_id
    verified = samljit.parse_idp_metadata(
        signed, entity_id=chosen, signing_certificates=[federation[1]], now=NOW
    )
    alone = extract_idp_entity(signed, entity_id=chosen)
    assert _same_idp(samljit.parse_idp_metadata(alone, now=NOW).idp, verified.idp)
    with pytest.raises(samljit.SamlError) as caught:
        samljit.parse_idp_metadata(alone, signing_certificates=[federation[1]], now=NOW)
    assert caught.value.code == "metadata_signature_invalid"


# --- the admin pages store the chosen IdP only ------------------------------------------------


def _connect(admin: Admin, form: dict[str, str]) -> Any:
    _, preview = admin.call("POST", "connect", form=form)
    response, _ = admin.call("POST", "connect/confirm", form=_confirm_form(preview))
    assert response.status == 200
    return admin.accounts.get("acme")


def test_connecting_one_idp_of_a_pasted_aggregate_stores_that_idp_only() -> None:
    entity_id = "https://login.liu.se/idp/shibboleth"
    admin = Admin()
    saved = _connect(admin, {"metadata": SWAMID.decode("utf-8"), "entity_id": entity_id})
    assert saved.idp_metadata == extract_idp_entity(SWAMID, entity_id=entity_id)
    assert saved.idp_entity_id == entity_id
    inside = samljit.parse_idp_metadata(SWAMID, entity_id=entity_id, now=NOW).idp
    assert _same_idp(samljit.parse_idp_metadata(saved.idp_metadata, now=NOW).idp, inside)
    [event] = admin.events
    assert event.changes["idp_metadata"][1] == digest(saved.idp_metadata)


def test_connecting_an_aggregate_by_url_stores_the_idp_and_keeps_the_url(
    idps: list[TestIdP],
) -> None:
    """The stored copy is the chosen IdP; the account's metadata source keeps fetching the
    whole aggregate from the URL and picks the IdP out of it."""
    url = "https://federation.test/aggregate.xml"
    published = aggregate(*(idp.metadata_xml for idp in idps))
    admin = Admin(fetcher=lambda url, **_: published)
    saved = _connect(admin, {"metadata_url": url, "entity_id": idps[2].entity_id})
    assert saved.idp_metadata == extract_idp_entity(published, entity_id=idps[2].entity_id)
    assert saved.idp_metadata_url == url
    service = samljit.LoginService(
        accounts=admin.accounts,
        users=samljit.MemoryUserStore(),
        sessions=samljit.MemorySessionIssuer(),
        replay_cache=samljit.MemoryReplayCache(),
        clock=lambda: NOW,
        metadata_fetcher=lambda url, **_: published,
    )
    assert service.identity_provider(saved).entity_id == idps[2].entity_id
    source = service.metadata_source(saved)
    assert source is not None
    assert source.xml == published


def test_connecting_a_single_idp_document_stores_it_byte_for_byte(idps: list[TestIdP]) -> None:
    saved = _connect(Admin(), _paste(idps[0]))
    assert saved.idp_metadata == idps[0].metadata_xml
