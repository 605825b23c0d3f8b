"""What an unauthenticated POST can cost: the worst inputs found within the default limits.

Each hostile input is sent to the ACS (LoginService.complete_login, with a request store, an SP
decryption key and two trusted IdP keys: the shape that does the most work before a key is
used) and its rejection time is printed beside the target: 2 x (parsing a benign response of
the same size + verifying one normal response), measured in the same run.

    bash benchmarks/run.sh hostile            # fastest of 9 runs per input
    bash benchmarks/run.sh hostile --smoke    # each input once (CI)
"""

from __future__ import annotations

import argparse
import base64
import copy
import gc
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

import samljit
from samljit._xml import parse_xml
from samljit.stores.memory import MemoryRequestStore
from samljit.testing import TestIdP, make_certificate

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SP = samljit.SPConfig(
    entity_id="https://app.example.com/saml/acme", acs_url="https://app.example.com/saml/acme/acs"
)
LIMIT = SP.limits.max_bytes
DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"

IDP = TestIdP(entity_id="https://idp.acme.test/metadata")
ROLLOVER = TestIdP(entity_id="https://idp.acme.test/metadata")  # a second trusted key
FORGER = make_certificate()
SP_KEY, SP_CERT = make_certificate()


def metadata_with_two_keys() -> bytes:
    root = etree.fromstring(IDP.metadata_xml)
    descriptor = root.find(".//{urn:oasis:names:tc:SAML:2.0:metadata}KeyDescriptor")
    assert descriptor is not None
    other = etree.fromstring(ROLLOVER.metadata_xml).find(
        ".//{urn:oasis:names:tc:SAML:2.0:metadata}KeyDescriptor"
    )
    assert other is not None
    descriptor.addnext(other)
    return etree.tostring(root)


def service() -> samljit.LoginService:
    accounts = samljit.MemoryAccountStore()
    accounts.save(
        samljit.AccountConfig(
            account_id="acme",
            idp_metadata=metadata_with_two_keys(),
            sp=SP,
            mapping=samljit.ClaimMapping.from_dict(
                {"preset": "okta", "accepted_roles": ["developer"]}
            ),
        )
    )
    return samljit.LoginService(
        accounts=accounts,
        users=samljit.MemoryUserStore(),
        sessions=samljit.MemorySessionIssuer(),
        replay_cache=samljit.MemoryReplayCache(),
        request_store=MemoryRequestStore(),
        decryption_keys=[(SP_KEY, SP_CERT)],  # type: ignore[list-item]
        clock=lambda: NOW,
    )


def issue(**knobs: object) -> bytes:
    return IDP.issue_response(
        sp_entity_id=SP.entity_id,
        acs_url=SP.acs_url,
        now=NOW,
        name_id="ada@acme.test",
        attributes={"role": ["developer"], "full_name": ["Ada Lovelace"]},
        **knobs,
    ).xml  # type: ignore[arg-type]


def forged(**knobs: object) -> bytes:
    key, certificate = FORGER
    return issue(signing_key=key, signing_certificate=certificate, **knobs)


def fill(
    template: bytes,
    marker: bytes,
    unit: bytes,
    *,
    budget: int = LIMIT - 4096,
    most: int = 1_000_000,
) -> bytes:
    """``template`` with ``marker`` replaced by as many ``unit`` as fit in ``budget`` bytes
    (at most ``most``)."""
    count = min(most, max(0, (budget - len(template)) // len(unit)))
    return template.replace(marker, unit * count, 1)


def mark(
    xml: bytes, path: str, *, where: str = "inside", ns: dict[str, str] | None = None
) -> bytes:
    """A marker comment placed in (or as the attributes of) the element at ``path``."""
    root = etree.fromstring(xml)
    found = root.find(path, ns or {"ds": DS, "saml": SAML, "xenc": XENC})
    assert found is not None, path
    if where == "inside":
        found.insert(0, etree.Comment("MARK"))
        return etree.tostring(root).replace(b"<!--MARK-->", b"@@MARK@@")
    found.set("MARK", "1")
    return etree.tostring(root).replace(b'MARK="1"', b"@@MARK@@")


def mark_bytes(xml: bytes, before: bytes) -> bytes:
    assert before in xml
    return xml.replace(before, b"@@MARK@@" + before, 1)


def b64(xml: bytes) -> str:
    return base64.b64encode(xml).decode()


@dataclass(frozen=True)
class Case:
    name: str
    form_value: str

    @property
    def size(self) -> int:
        return len(self.form_value) * 3 // 4


def hostile_cases() -> list[Case]:
    signed = issue()
    assertion_sig = "saml:Assertion/ds:Signature"
    cases: list[tuple[str, bytes | str]] = []
    # Namespace floods: one start tag, over the document limit; then just under it, over the
    # in-scope limit; then exactly at the in-scope limit on the signed element.
    root_attrs = mark(forged(), ".", where="attributes")
    cases.append(("namespace flood, one tag", fill(root_attrs, b"@@MARK@@", b'xmlns:p0="u" ')))
    under = b"".join(b'xmlns:p%d="u" ' % i for i in range(4000))
    cases.append(("4,000 namespaces in scope", root_attrs.replace(b"@@MARK@@", under)))
    at_limit = b" ".join(b'xmlns:p%d="urn:p:%d"' % (i, i) for i in range(60))
    in_scope = mark(forged(), "saml:Assertion", where="attributes")
    in_scope = in_scope.replace(b"@@MARK@@", at_limit)
    cases.append(
        (
            "60 namespaces in scope of the signature, padded",
            fill(
                mark_bytes(in_scope, b"</saml:AttributeStatement>"),
                b"@@MARK@@",
                b"<saml:Attribute Name='a'><saml:AttributeValue>"
                + b"v" * 64
                + b"</saml:AttributeValue></saml:Attribute>",
            ),
        )
    )
    signed_info = mark(forged(), f"{assertion_sig}/ds:SignedInfo")
    cases.append(
        (
            "SignedInfo children",
            fill(signed_info, b"@@MARK@@", b"<ds:Object/>", most=SP.limits.max_nodes - 1_000),
        )
    )
    transform = mark(forged(), f"{assertion_sig}/ds:SignedInfo/ds:Reference/ds:Transforms")
    cases.append(
        (
            "Transform flood",
            fill(transform, b"@@MARK@@", b"<ds:Transform/>", most=SP.limits.max_nodes - 1_000),
        )
    )
    prefixes = signed.replace(b'PrefixList="', b'PrefixList="@@MARK@@', 1)
    if b"@@MARK@@" not in prefixes:
        prefixes = mark(
            forged(),
            f"{assertion_sig}/ds:SignedInfo/ds:Reference/ds:Transforms/"
            "ds:Transform[@Algorithm='http://www.w3.org/2001/10/xml-exc-c14n#']",
        ).replace(
            b"@@MARK@@",
            b'<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" '
            b'PrefixList="@@MARK@@"/>',
        )
    cases.append(("PrefixList of 100,000 prefixes", fill(prefixes, b"@@MARK@@", b"p ")))
    key_info = mark(forged(), f"{assertion_sig}/ds:KeyInfo")
    cert = base64.b64encode(FORGER[1].public_bytes(encoding=_der()))
    cases.append(
        (
            "KeyInfo of certificates",
            fill(
                key_info,
                b"@@MARK@@",
                b"<ds:X509Data><ds:X509Certificate>"
                + cert
                + b"</ds:X509Certificate></ds:X509Data>",
            ),
        )
    )
    attrs = mark(forged(), "saml:Assertion", where="attributes")
    cases.append(
        (
            "attribute flood (19,000)",
            attrs.replace(b"@@MARK@@", b" ".join(b'a%d="v"' % i for i in range(19_000))),
        )
    )
    ids = mark(forged(), "saml:Assertion/saml:AttributeStatement")
    cases.append(
        (
            "duplicate IDs (6,000)",
            ids.replace(
                b"@@MARK@@",
                b"".join(b'<saml:Attribute ID="i%d" Name="n"/>' % i for i in range(6_000))
                + b'<saml:Attribute ID="i0" Name="n"/>',
            ),
        )
    )
    deep = mark(
        forged(), "saml:Assertion/saml:AttributeStatement/saml:Attribute/saml:AttributeValue"
    )
    nest = b"<a>" * 24 + b"x" + b"</a>" * 24
    cases.append(
        (
            "deep nesting, wide",
            fill(deep, b"@@MARK@@", nest, most=(SP.limits.max_nodes - 1_000) // 24),
        )
    )
    cases.append(
        (
            "benign-looking forged response, 500 KB",
            fill(
                mark(forged(), "saml:Assertion/saml:AttributeStatement"),
                b"@@MARK@@",
                b"<saml:Attribute Name='group'><saml:AttributeValue>engineering-team-"
                + b"x" * 40
                + b"</saml:AttributeValue></saml:Attribute>",
            ),
        )
    )
    encrypted = etree.fromstring(
        IDP.issue_response(
            sp_entity_id=SP.entity_id,
            acs_url=SP.acs_url,
            now=NOW,
            name_id="ada@acme.test",
            encrypt_for=SP_CERT,
            encrypted_key_placement="sibling",
        ).xml
    )
    container = encrypted.find(f"{{{SAML}}}EncryptedAssertion")
    assert container is not None
    key = container.find(f"{{{XENC}}}EncryptedKey")
    assert key is not None
    at_cap = copy.deepcopy(encrypted)
    cap_key = at_cap.find(f"{{{SAML}}}EncryptedAssertion/{{{XENC}}}EncryptedKey")
    assert cap_key is not None
    for _ in range(3):
        cap_key.addprevious(copy.deepcopy(cap_key))
    for useless in at_cap.iterfind(f".//{{{XENC}}}CipherData/{{{XENC}}}CipherValue"):
        if useless.getparent().getparent().tag == f"{{{XENC}}}EncryptedKey":  # type: ignore[union-attr]
            useless.text = base64.b64encode(b"\x01" * 256).decode()
    cases.append(("4 useless EncryptedKeys (the cap)", etree.tostring(at_cap)))
    for _ in range(150):
        key.addprevious(copy.deepcopy(key))
    cases.append(("EncryptedKey flood (150)", etree.tostring(encrypted)))
    peek = b"<samlp:Response " * (LIMIT // 20)
    cases.append(("request-ID peek: open Response tags", peek))
    peek2 = b"<samlp:Response " + b" InResponseTo  " * (LIMIT // 20) + b">"
    cases.append(("request-ID peek: attribute names", peek2))
    cases.append(("10 MB of base64 garbage", "A" * 10_000_000))
    cases.append(("10 MB of non-ASCII text", "\u00e9" * 10_000_000))
    return [Case(name, value if isinstance(value, str) else b64(value)) for name, value in cases]


def _der() -> object:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def timed(function: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs, with the cyclic collector off, as timeit measures:
    the same for the hostile inputs and the baselines."""
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    finally:
        gc.enable()
    return min(times)


def benign_of_size(size: int) -> bytes:
    """A valid response grown with ordinary attributes to ``size`` bytes."""
    unit = b"<saml:Attribute Name='group'><saml:AttributeValue>engineering-" + b"x" * 40
    unit += b"</saml:AttributeValue></saml:Attribute>"
    template = mark(issue(), "saml:Assertion/saml:AttributeStatement")
    return fill(template, b"@@MARK@@", unit, budget=max(size, len(template)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="each input once (CI)")
    parser.add_argument(
        "--repeats", type=int, default=9, help="runs per input (the fastest counts)"
    )
    args = parser.parse_args(argv)
    repeats = 1 if args.smoke else args.repeats
    login = service()

    normal_form = b64(issue())  # issued (signed) once, outside the timing

    def verify_normal() -> None:
        login.replay_cache = samljit.MemoryReplayCache()  # type: ignore[misc]
        login.complete_login({"SAMLResponse": normal_form}, account_id="acme")

    verify_normal()
    normal = timed(verify_normal, repeats)
    print(f"normal verification (4.5 KB, IdP-initiated, JIT create/update): {normal * 1e3:.2f} ms")
    print()
    print("| hostile input | bytes | refused with | time (ms) | target (ms) | ratio |")
    print("|---|---:|---|---:|---:|---:|")
    worst = 0.0
    for case in hostile_cases():
        code = "accepted!"

        def attempt(case: Case = case) -> None:
            nonlocal code
            try:
                login.complete_login({"SAMLResponse": case.form_value}, account_id="acme")
            except samljit.SamlError as err:
                code = err.code

        elapsed = timed(attempt, repeats)
        size = min(case.size, LIMIT)
        benign = benign_of_size(size)
        parse = timed(lambda benign=benign: parse_xml(benign, SP.limits), repeats)
        target = 2 * (parse + normal)
        ratio = elapsed / target
        worst = max(worst, ratio)
        print(
            f"| {case.name} | {case.size:,} | {code} | {elapsed * 1e3:.2f} | "
            f"{target * 1e3:.2f} | {ratio:.2f} |"
        )
        if code == "accepted!":
            print(f"hostile input accepted: {case.name}", file=sys.stderr)
            return 1
    print()
    print(f"worst ratio: {worst:.2f} (target: at most 1.00)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
