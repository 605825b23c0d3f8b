"""The whole core flow on an embedded default: a test IdP signs a response, samljit verifies it.

Run with ``make demo``. Every step prints what happened; the script exits 0 when the story
completed as expected (a good login accepted, each attack rejected with its code).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import samljit
from samljit.testing import TestIdP

SP = samljit.SPConfig(
    entity_id="https://app.example.com/saml/acme", acs_url="https://app.example.com/saml/acme/acs"
)


def main() -> int:
    now = datetime.now(UTC)
    test_idp = TestIdP(entity_id="https://idp.acme.test/metadata")
    print("1. The account admin pastes the IdP metadata into the settings page.")
    parsed = samljit.parse_idp_metadata(test_idp.metadata_xml, now=now)
    idp = parsed.idp
    print(f"   IdP {idp.entity_id}, {len(idp.signing_certificates)} signing certificate(s)")

    replay_cache = samljit.MemoryReplayCache()

    def acs(form_value: str, at: datetime = now) -> samljit.Assertion:
        return samljit.verify_response(
            form_value, idp=idp, sp=SP, now=at, replay_cache=replay_cache, allow_unsolicited=True
        )

    print("2. A user clicks the app tile in the IdP portal (IdP-initiated login).")
    good = test_idp.issue_response(
        sp_entity_id=SP.entity_id,
        acs_url=SP.acs_url,
        now=now,
        name_id="ada@acme.test",
        attributes={"full_name": ["Ada Lovelace"], "role": ["developer"], "account_id": ["acme"]},
    )
    assertion = acs(good.form_value)
    print(f"   ACCEPTED {assertion.name_id.value}: {dict(assertion.attributes)}")

    failures = 0
    attacks = {
        "the same response posted again": (good.form_value, now),
        "a response for another SP": (
            test_idp.issue_response(
                sp_entity_id=SP.entity_id, acs_url=SP.acs_url, now=now, audience="https://evil.test"
            ).form_value,
            now,
        ),
        "a response signed by another key": (
            TestIdP(entity_id=idp.entity_id)
            .issue_response(sp_entity_id=SP.entity_id, acs_url=SP.acs_url, now=now)
            .form_value,
            now,
        ),
        "a response presented an hour late": (
            test_idp.issue_response(
                sp_entity_id=SP.entity_id, acs_url=SP.acs_url, now=now
            ).form_value,
            now + timedelta(hours=1),
        ),
        "a response whose name was edited after signing": (
            _tamper(good.xml, b"ada@acme.test", b"eve@acme.test"),
            now,
        ),
    }
    for step, (label, (form_value, at)) in enumerate(attacks.items(), start=3):
        print(f"{step}. An attacker tries {label}.")
        try:
            acs(form_value, at)
        except samljit.SamlError as exc:
            print(f"   REJECTED [{exc.code}] {exc.message}")
        else:
            print("   ACCEPTED, which is wrong")
            failures += 1
    print("Done: every check behaved." if not failures else f"{failures} check(s) misbehaved.")
    return 1 if failures else 0


def _tamper(xml: bytes, old: bytes, new: bytes) -> str:
    import base64

    return base64.b64encode(xml.replace(old, new)).decode("ascii")


if __name__ == "__main__":
    raise SystemExit(main())
