"""Encrypted assertions (SAML core 6.2, XML Encryption 1.1): the test IdP encrypts with every
algorithm and KeyInfo shape real IdPs use, and ``verify_response`` decrypts them with the SP's
key(s); every decryption failure is one ``decryption_failed``, whatever went wrong."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

import samljit
from samljit import _encryption
from samljit.cli import main
from samljit.stores.memory import (
    MemoryAccountStore,
    MemoryReplayCache,
    MemorySessionIssuer,
    MemoryUserStore,
)
from samljit.testing import (
    DataEncryption,
    EncryptedKeyPlacement,
    IssuedResponse,
    TestIdP,
    encrypt_assertion,
    make_certificate,
)

from .conftest import ACS_URL, INTEROP, NOW, SP_ENTITY_ID

SAML = "{urn:oasis:names:tc:SAML:2.0:assertion}"
XENC = "{http://www.w3.org/2001/04/xmlenc#}"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
NS_SAML = "urn:oasis:names:tc:SAML:2.0:assertion"

DATA_ENCRYPTIONS: tuple[str, ...] = get_args(DataEncryption)
KEY_PLACEMENTS: tuple[str, ...] = get_args(EncryptedKeyPlacement)
LEGACY_DATA = {"tripledes-cbc"}
LEGACY_TRANSPORT = {"rsa-1_5"}
# (key_transport, oaep_digest, mgf): every OAEP variant an IdP may send, and PKCS#1 v1.5.
TRANSPORTS = [
    ("rsa-oaep-mgf1p", "sha1", "sha1"),
    ("rsa-oaep-mgf1p", "sha256", "sha1"),
    ("rsa-oaep", "sha1", "sha1"),
    ("rsa-oaep", "sha256", "sha256"),
    ("rsa-oaep", "sha256", "sha1"),
    ("rsa-oaep", "sha1", "sha256"),
    ("rsa-1_5", "sha1", "sha1"),
]

Key = tuple[rsa.RSAPrivateKey, x509.Certificate]


def _rsa_pair(common_name: str) -> Key:
    key, certificate = make_certificate(common_name=common_name)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key, certificate


@pytest.fixture(scope="module")
def sp_key() -> Key:
    """The SP's encryption key pair (its certificate is in the SP metadata)."""
    return _rsa_pair("SP encryption")


@pytest.fixture(scope="module")
def new_sp_key() -> Key:
    """The SP's next key pair, during a key rollover."""
    return _rsa_pair("SP encryption 2027")


@pytest.fixture
def encrypted(issue: Callable[..., IssuedResponse], sp_key: Key) -> Callable[..., IssuedResponse]:
    """Issue a response whose assertion is encrypted for ``sp_key``."""

    def _encrypted(**knobs: Any) -> IssuedResponse:
        knobs.setdefault("encrypt_for", sp_key[1])
        return issue(**knobs)

    return _encrypted


@pytest.fixture
def decrypt(
    verify: Callable[..., samljit.Assertion], sp_key: Key
) -> Callable[..., samljit.Assertion]:
    """Verify with ``sp_key`` as the SP's decryption key unless told otherwise."""

    def _decrypt(message: str | bytes, **options: Any) -> samljit.Assertion:
        options.setdefault("decryption_keys", [sp_key[0]])
        return verify(message, **options)

    return _decrypt


def refused(
    check: Callable[..., samljit.Assertion], message: str | bytes, **options: Any
) -> samljit.SamlError:
    with pytest.raises(samljit.SamlError) as caught:
        check(message, **options)
    return caught.value


def legacy(sp: samljit.SPConfig) -> samljit.SPConfig:
    return dataclasses.replace(sp, allow_legacy_encryption=True)


def _cipher_value(document: etree._Element, which: str) -> etree._Element:
    data = document.find(f".//{XENC}EncryptedData")
    assert data is not None
    holder = data if which == "data" else document.find(f".//{XENC}EncryptedKey")
    assert holder is not None
    value = holder.find(f"{XENC}CipherData/{XENC}CipherValue")
    assert value is not None
    return value


def with_cipher_value(xml: bytes, which: str, change: Callable[[bytes], bytes]) -> bytes:
    """The response with the CipherValue of the data (or of the key) changed."""
    document = etree.fromstring(xml)
    value = _cipher_value(document, which)
    value.text = base64.b64encode(change(base64.b64decode(value.text or ""))).decode("ascii")
    return etree.tostring(document)


def flip(index: int) -> Callable[[bytes], bytes]:
    def _flip(raw: bytes) -> bytes:
        changed = bytearray(raw)
        changed[index] ^= 0x01
        return bytes(changed)

    return _flip


def replace_encrypted_assertion(replacement: etree._Element) -> Callable[[etree._Element], None]:
    """An ``edit_response`` hook putting ``replacement`` where the EncryptedAssertion was."""

    def _edit(response: etree._Element) -> None:
        current = response.find(f"{SAML}EncryptedAssertion")
        assert current is not None
        response.replace(current, replacement)

    return _edit


# --- every algorithm round-trips ----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "transport", "digest", "mgf"),
    [
        pytest.param(
            data, *transport, id=f"{data}-{transport[0]}-{transport[1]}-mgf1{transport[2]}"
        )
        for data in DATA_ENCRYPTIONS
        for transport in TRANSPORTS
    ],
)
def test_every_data_algorithm_and_key_transport_round_trips(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    sp: samljit.SPConfig,
    data: str,
    transport: str,
    digest: str,
    mgf: str,
) -> None:
    """AES-CBC and AES-GCM with RSA-OAEP are accepted by default; 3DES and RSA PKCS#1 v1.5
    only with allow_legacy_encryption, else algorithm_forbidden."""
    issued = encrypted(data_encryption=data, key_transport=transport, oaep_digest=digest, mgf=mgf)
    if data in LEGACY_DATA or transport in LEGACY_TRANSPORT:
        assert refused(decrypt, issued.form_value).code == "algorithm_forbidden"
        sp = legacy(sp)
    assertion = decrypt(issued.form_value, sp=sp)
    assert assertion.name_id.value == "ada@acme.test"
    assert assertion.values("role") == ("developer",)
    assert assertion.assertion_id == issued.assertion_id
    assert assertion.signed_parts == ("assertion",)


def test_the_default_is_aes256_gcm_with_rsa_oaep_mgf1p_and_sha1(
    encrypted: Callable[..., IssuedResponse],
) -> None:
    document = etree.fromstring(encrypted().xml)
    methods = [m.get("Algorithm") for m in document.iter(f"{XENC}EncryptionMethod")]
    assert methods == [
        "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    ]
    digest = document.find(f".//{XENC}EncryptedKey/{XENC}EncryptionMethod/{DS}DigestMethod")
    assert digest is not None
    assert digest.get("Algorithm") == "http://www.w3.org/2000/09/xmldsig#sha1"


@pytest.mark.parametrize("data", ["aes128-cbc", "aes256-cbc", "tripledes-cbc"])
def test_cbc_padding_is_iso10126_last_byte_the_length(
    test_idp: TestIdP, sp_key: Key, data: str
) -> None:
    """XML Encryption 1.1 5.2: only the last padding byte is defined (the length)."""
    issued = test_idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        encrypt_for=sp_key[1],
        data_encryption=data,
    )
    raw = base64.b64decode(_cipher_value(etree.fromstring(issued.xml), "data").text or "")
    block = 8 if data == "tripledes-cbc" else 16
    assert len(raw) % block == 0
    assert len(raw) >= 2 * block  # IV + at least one block


def test_gcm_ciphertext_is_iv_then_ciphertext_then_tag(
    encrypted: Callable[..., IssuedResponse],
) -> None:
    issued = encrypted(data_encryption="aes128-gcm")
    raw = base64.b64decode(_cipher_value(etree.fromstring(issued.xml), "data").text or "")
    # 12-byte IV + plaintext + 16-byte tag: GCM does not pad.
    plaintext_length = len(raw) - 12 - 16
    assert plaintext_length > 0


def test_rsa_oaep_names_its_digest_and_mgf(encrypted: Callable[..., IssuedResponse]) -> None:
    document = etree.fromstring(
        encrypted(key_transport="rsa-oaep", oaep_digest="sha256", mgf="sha256").xml
    )
    method = document.find(f".//{XENC}EncryptedKey/{XENC}EncryptionMethod")
    assert method is not None
    assert method.get("Algorithm") == "http://www.w3.org/2009/xmlenc11#rsa-oaep"
    assert method.find(f"{DS}DigestMethod").get("Algorithm") == (  # type: ignore[union-attr]
        "http://www.w3.org/2001/04/xmlenc#sha256"
    )
    mgf = method.find("{http://www.w3.org/2009/xmlenc11#}MGF")
    assert mgf is not None
    assert mgf.get("Algorithm") == "http://www.w3.org/2009/xmlenc11#mgf1sha256"


@pytest.mark.parametrize(
    ("knobs", "problem"),
    [
        ({"data_encryption": "aes512-cbc"}, ValueError),
        ({"key_transport": "rsa-oaep-sha3"}, ValueError),
        ({"encrypted_key_placement": "header"}, ValueError),
        ({"oaep_digest": "md5"}, ValueError),
        ({"key_transport": "rsa-oaep-mgf1p", "mgf": "sha256"}, ValueError),
    ],
)
def test_the_test_idp_refuses_unknown_encryption_knobs(
    encrypted: Callable[..., IssuedResponse], knobs: dict[str, Any], problem: type[Exception]
) -> None:
    with pytest.raises(problem):
        encrypted(**knobs)


def test_the_test_idp_needs_an_rsa_certificate_to_encrypt_for(
    encrypted: Callable[..., IssuedResponse],
) -> None:
    _, ec_certificate = make_certificate(key_type="ec")
    with pytest.raises(TypeError):
        encrypted(encrypt_for=ec_certificate)


# --- where the EncryptedKey is --------------------------------------------------------------


@pytest.mark.parametrize("placement", KEY_PLACEMENTS)
@pytest.mark.parametrize(("sign_response", "sign_assertion"), [(False, True), (True, False)])
def test_each_encrypted_key_placement_decrypts(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    placement: str,
    sign_response: bool,
    sign_assertion: bool,
) -> None:
    """SAML core 6.2: the EncryptedKey in the EncryptedData's KeyInfo, or beside it (pointed at
    by a RetrievalMethod, as Okta does, or not)."""
    issued = encrypted(
        encrypted_key_placement=placement,
        sign_response=sign_response,
        sign_assertion=sign_assertion,
    )
    document = etree.fromstring(issued.xml)
    container = document.find(f"{SAML}EncryptedAssertion")
    assert container is not None
    data = container.find(f"{XENC}EncryptedData")
    assert data is not None
    inline = data.find(f"{DS}KeyInfo/{XENC}EncryptedKey")
    retrieval = data.find(f"{DS}KeyInfo/{DS}RetrievalMethod")
    siblings = container.findall(f"{XENC}EncryptedKey")
    if placement == "inline":
        assert inline is not None
        assert retrieval is None
        assert not siblings
    else:
        assert inline is None
        assert len(siblings) == 1
        references = siblings[0].findall(f"{XENC}ReferenceList/{XENC}DataReference")
        assert [r.get("URI") for r in references] == [f"#{data.get('Id')}"]
        if placement == "retrieval-method":
            assert retrieval is not None
            assert retrieval.get("URI") == f"#{siblings[0].get('Id')}"
            assert retrieval.get("Type") == "http://www.w3.org/2001/04/xmlenc#EncryptedKey"
        else:
            assert retrieval is None
    assert decrypt(issued.form_value).name_id.value == "ada@acme.test"


def test_the_encrypted_key_names_the_sp_as_recipient(
    encrypted: Callable[..., IssuedResponse],
) -> None:
    key = etree.fromstring(encrypted().xml).find(f".//{XENC}EncryptedKey")
    assert key is not None
    assert key.get("Recipient") == SP_ENTITY_ID


def test_no_plaintext_assertion_is_left_in_the_response(
    encrypted: Callable[..., IssuedResponse],
) -> None:
    issued = encrypted(sign_response=True)
    document = etree.fromstring(issued.xml)
    assert document.find(f"{SAML}Assertion") is None
    assert b"ada@acme.test" not in issued.xml
    assert b"Ada Lovelace" not in issued.xml


# --- SP keys and rollover -------------------------------------------------------------------


@pytest.mark.parametrize("hint", [True, False], ids=["hint", "no-hint"])
@pytest.mark.parametrize("order", ["old-new", "new-old"])
@pytest.mark.parametrize("encrypted_for", ["old", "new"])
@pytest.mark.parametrize("with_certificates", [True, False], ids=["pairs", "bare-keys"])
def test_during_a_key_rollover_both_sp_keys_decrypt_in_either_order(
    issue: Callable[..., IssuedResponse],
    verify: Callable[..., samljit.Assertion],
    sp_key: Key,
    new_sp_key: Key,
    hint: bool,
    order: str,
    encrypted_for: str,
    with_certificates: bool,
) -> None:
    keys = {"old": sp_key, "new": new_sp_key}
    issued = issue(encrypt_for=keys[encrypted_for][1], include_key_hint=hint)
    ordered = [keys[name] for name in order.split("-")]
    decryption_keys = ordered if with_certificates else [key for key, _ in ordered]
    assertion = verify(issued.form_value, decryption_keys=decryption_keys)
    assert assertion.name_id.value == "ada@acme.test"


class CountingKey(rsa.RSAPrivateKey):
    """An SP key that counts how often it is asked to decrypt."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.key = key
        self.decryptions = 0

    def decrypt(self, ciphertext: bytes, padding: Any) -> bytes:
        self.decryptions += 1
        return self.key.decrypt(ciphertext, padding)

    @property
    def key_size(self) -> int:
        return self.key.key_size

    def public_key(self) -> rsa.RSAPublicKey:
        return self.key.public_key()

    def sign(self, data: bytes, padding: Any, algorithm: Any) -> bytes:
        return self.key.sign(data, padding, algorithm)

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        return self.key.private_numbers()

    def private_bytes(self, encoding: Any, format: Any, encryption_algorithm: Any) -> bytes:
        return self.key.private_bytes(encoding, format, encryption_algorithm)

    def __copy__(self) -> CountingKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> CountingKey:
        return self


def test_the_key_info_certificate_picks_the_sp_key_to_try_first(
    issue: Callable[..., IssuedResponse],
    verify: Callable[..., samljit.Assertion],
    sp_key: Key,
    new_sp_key: Key,
) -> None:
    old, new = CountingKey(sp_key[0]), CountingKey(new_sp_key[0])
    issued = issue(encrypt_for=new_sp_key[1])
    verify(issued.form_value, decryption_keys=[(old, sp_key[1]), (new, new_sp_key[1])])
    assert (old.decryptions, new.decryptions) == (0, 1)


def test_without_a_hint_the_sp_keys_are_tried_in_order(
    issue: Callable[..., IssuedResponse],
    verify: Callable[..., samljit.Assertion],
    sp_key: Key,
    new_sp_key: Key,
) -> None:
    old, new = CountingKey(sp_key[0]), CountingKey(new_sp_key[0])
    issued = issue(encrypt_for=new_sp_key[1], include_key_hint=False)
    verify(issued.form_value, decryption_keys=[(old, sp_key[1]), (new, new_sp_key[1])])
    assert (old.decryptions, new.decryptions) == (1, 1)


def test_the_key_hint_is_the_sp_certificate(
    encrypted: Callable[..., IssuedResponse], sp_key: Key
) -> None:
    with_hint = etree.fromstring(encrypted().xml)
    certificate = with_hint.find(
        f".//{XENC}EncryptedKey/{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate"
    )
    assert certificate is not None
    assert base64.b64decode(certificate.text or "") == sp_key[1].public_bytes(
        serialization.Encoding.DER
    )
    without = etree.fromstring(encrypted(include_key_hint=False).xml)
    assert without.find(f".//{XENC}EncryptedKey/{DS}KeyInfo") is None


def edited(xml: bytes, change: Callable[[etree._Element], None]) -> bytes:
    """The response with its EncryptedAssertion changed in place (outside any signature)."""
    document = etree.fromstring(xml)
    container = document.find(f"{SAML}EncryptedAssertion")
    assert container is not None
    change(container)
    return etree.tostring(document)


def _method(container: etree._Element, where: str) -> etree._Element:
    method = container.find(f".//{XENC}{where}/{XENC}EncryptionMethod")
    assert method is not None
    return method


def _drop(path: str) -> Callable[[etree._Element], None]:
    def change(container: etree._Element) -> None:
        for element in container.findall(path):
            element.getparent().remove(element)  # type: ignore[union-attr]

    return change


def _retarget(type_: str | None, uri: str | None) -> Callable[[etree._Element], None]:
    def change(container: etree._Element) -> None:
        retrieval = container.find(f".//{DS}RetrievalMethod")
        assert retrieval is not None
        for name, value in (("Type", type_), ("URI", uri)):
            if value is not None:
                retrieval.set(name, value)

    return change


def _set_hint(text: str) -> Callable[[etree._Element], None]:
    def change(container: etree._Element) -> None:
        hint = container.find(f".//{XENC}EncryptedKey/{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
        assert hint is not None
        hint.text = text

    return change


def _two_encrypted_data(container: etree._Element) -> None:
    data = container.find(f"{XENC}EncryptedData")
    assert data is not None
    container.append(copy.deepcopy(data))


def _set_algorithm(where: str, child: str | None, uri: str) -> Callable[[etree._Element], None]:
    def change(container: etree._Element) -> None:
        method = _method(container, where)
        target = method if child is None else method.find(child)
        assert target is not None
        target.set("Algorithm", uri)

    return change


def _add_oaep_label(container: etree._Element) -> None:
    etree.SubElement(_method(container, "EncryptedKey"), f"{XENC}OAEPparams").text = "bGFiZWw="


@pytest.mark.parametrize(
    ("knobs", "change"),
    [
        pytest.param(
            {},
            _drop(f".//{XENC}EncryptedKey/{XENC}EncryptionMethod/{DS}DigestMethod"),
            id="oaep-without-digest-method-is-sha1",
        ),
        pytest.param(
            {"key_transport": "rsa-oaep"},
            _drop(".//{http://www.w3.org/2009/xmlenc11#}MGF"),
            id="rsa-oaep-without-mgf-is-mgf1-sha1",
        ),
        pytest.param(
            {"encrypted_key_placement": "retrieval-method"},
            _retarget(None, "#_elsewhere"),
            id="retrieval-method-to-nowhere-then-the-sibling",
        ),
        pytest.param(
            {"encrypted_key_placement": "retrieval-method"},
            _retarget("http://www.w3.org/2000/09/xmldsig#X509Data", None),
            id="retrieval-method-of-another-type-then-the-sibling",
        ),
        pytest.param({}, _set_hint("not base64!"), id="unreadable-key-hint"),
        pytest.param(
            {}, _set_hint(base64.b64encode(b"not a certificate").decode()), id="unknown-key-hint"
        ),
    ],
)
def test_shapes_that_still_decrypt(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    sp_key: Key,
    knobs: dict[str, Any],
    change: Callable[[etree._Element], None],
) -> None:
    xml = edited(encrypted(**knobs).xml, change)
    assertion = decrypt(xml, decryption_keys=[(sp_key[0], sp_key[1])])
    assert assertion.name_id.value == "ada@acme.test"


@pytest.mark.parametrize(
    ("knobs", "change", "code"),
    [
        pytest.param({}, _two_encrypted_data, "decryption_failed", id="two-encrypted-data"),
        pytest.param(
            {}, _drop(f".//{XENC}EncryptedKey"), "decryption_failed", id="no-encrypted-key"
        ),
        pytest.param(
            {"encrypted_key_placement": "sibling"},
            _drop(f"{XENC}EncryptedKey"),
            "decryption_failed",
            id="sibling-key-removed",
        ),
        pytest.param(
            {},
            _set_algorithm(
                "EncryptedKey", f"{DS}DigestMethod", "http://www.w3.org/2001/04/xmldsig-more#md5"
            ),
            "algorithm_forbidden",
            id="unknown-oaep-digest",
        ),
        pytest.param(
            {"key_transport": "rsa-oaep"},
            _set_algorithm(
                "EncryptedKey",
                "{http://www.w3.org/2009/xmlenc11#}MGF",
                "http://www.w3.org/2009/xmlenc11#mgf1md5",
            ),
            "algorithm_forbidden",
            id="unknown-mgf",
        ),
        pytest.param({}, _add_oaep_label, "decryption_failed", id="oaep-label-not-used-to-encrypt"),
        pytest.param(
            {},
            _set_algorithm("EncryptedData", None, "http://www.w3.org/2001/04/xmlenc#kw-aes256"),
            "algorithm_forbidden",
            id="unknown-data-algorithm",
        ),
        pytest.param(
            {},
            _drop(f"{XENC}EncryptedData/{XENC}EncryptionMethod"),
            "algorithm_forbidden",
            id="no-data-algorithm",
        ),
        pytest.param(
            {},
            _set_algorithm("EncryptedKey", None, "http://www.w3.org/2001/04/xmlenc#kw-aes256"),
            "algorithm_forbidden",
            id="key-wrap-transport",
        ),
        pytest.param(
            {},
            _drop(f".//{XENC}EncryptedKey/{XENC}EncryptionMethod"),
            "algorithm_forbidden",
            id="no-key-transport",
        ),
    ],
)
def test_shapes_that_do_not_decrypt(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    knobs: dict[str, Any],
    change: Callable[[etree._Element], None],
    code: str,
) -> None:
    xml = edited(encrypted(**knobs).xml, change)
    assert refused(decrypt, xml).code == code


def test_a_wrong_sp_key_fails_to_decrypt(
    encrypted: Callable[..., IssuedResponse],
    verify: Callable[..., samljit.Assertion],
    new_sp_key: Key,
) -> None:
    issued = encrypted()
    for keys in ([new_sp_key[0]], [new_sp_key]):
        assert refused(verify, issued.form_value, decryption_keys=keys).code == "decryption_failed"


def test_an_encrypted_assertion_without_any_sp_key_fails_to_decrypt(
    encrypted: Callable[..., IssuedResponse], verify: Callable[..., samljit.Assertion]
) -> None:
    assert refused(verify, encrypted().form_value).code == "decryption_failed"


# --- no oracle ------------------------------------------------------------------------------

CORRUPTIONS = {
    "data-first-byte": ("data", flip(0)),
    "data-middle": ("data", flip(40)),
    "data-last-byte": ("data", flip(-1)),
    "key-first-byte": ("key", flip(0)),
    "key-last-byte": ("key", flip(-1)),
}


@pytest.mark.parametrize("data", ["aes256-gcm", "aes128-gcm", "aes256-cbc", "aes128-cbc"])
def test_every_ciphertext_failure_has_the_same_code_and_message(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    sp_key: Key,
    new_sp_key: Key,
    data: str,
) -> None:
    """Bad padding, bad key, bad tag and bad plaintext must look the same, code and message
    (no padding or format oracle, Jager and Somorovsky 2011). Only the assertion is signed,
    inside the ciphertext, so nothing authenticates the ciphertext before it is decrypted."""
    issued = encrypted(data_encryption=data)
    errors = [
        refused(decrypt, with_cipher_value(issued.xml, w, c)) for w, c in CORRUPTIONS.values()
    ]
    errors.append(refused(decrypt, issued.xml, decryption_keys=[new_sp_key[0]]))
    for plaintext in ("doctype-entity", "not-xml", "two-elements", "text-before"):
        hostile = encrypted(
            data_encryption=data,
            edit_response=replace_encrypted_assertion(
                encrypt_assertion(
                    HOSTILE_PLAINTEXTS[plaintext], certificate=sp_key[1], data_encryption=data
                )
            ),
        )
        errors.append(refused(decrypt, hostile.xml))
    unsigned = encrypted(data_encryption=data, sign_assertion=False)
    errors.append(refused(decrypt, unsigned.xml))
    assert {(err.code, str(err)) for err in errors} == {("decryption_failed", str(errors[0]))}


@pytest.mark.parametrize("data", ["aes256-gcm", "aes256-cbc"])
@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_every_corruption_is_decryption_failed(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    data: str,
    corruption: str,
) -> None:
    which, change = CORRUPTIONS[corruption]
    xml = with_cipher_value(encrypted(data_encryption=data).xml, which, change)
    assert refused(decrypt, xml).code == "decryption_failed"


@pytest.mark.parametrize("cut", [1, 8, 16, 40])
def test_a_truncated_gcm_tag_fails_to_decrypt(
    encrypted: Callable[..., IssuedResponse], decrypt: Callable[..., samljit.Assertion], cut: int
) -> None:
    xml = with_cipher_value(encrypted(data_encryption="aes256-gcm").xml, "data", lambda r: r[:-cut])
    assert refused(decrypt, xml).code == "decryption_failed"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda raw: b"", id="empty"),
        pytest.param(lambda raw: raw[:11], id="shorter-than-the-iv"),
        pytest.param(lambda raw: raw[:-3], id="not-whole-blocks"),
        pytest.param(lambda raw: raw + b"\x00", id="one-byte-more"),
    ],
)
@pytest.mark.parametrize("data", ["aes256-gcm", "aes256-cbc"])
def test_ciphertext_of_the_wrong_length_fails_to_decrypt(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    change: Callable[[bytes], bytes],
    data: str,
) -> None:
    xml = with_cipher_value(encrypted(data_encryption=data).xml, "data", change)
    assert refused(decrypt, xml).code == "decryption_failed"


def test_a_cipher_value_that_is_not_base64_fails_to_decrypt(
    encrypted: Callable[..., IssuedResponse], decrypt: Callable[..., samljit.Assertion]
) -> None:
    document = etree.fromstring(encrypted().xml)
    _cipher_value(document, "data").text = "not base64 at all!"
    assert refused(decrypt, etree.tostring(document)).code == "decryption_failed"


def test_the_detail_of_a_failure_goes_to_the_debug_log_only(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    caplog: pytest.LogCaptureFixture,
) -> None:
    xml = with_cipher_value(encrypted().xml, "data", flip(-1))
    with caplog.at_level("DEBUG", logger="samljit.decryption"):
        err = refused(decrypt, xml)
    assert "GCM" not in str(err)
    assert any("GCM" in record.getMessage() for record in caplog.records)
    assert all(
        record.levelname == "DEBUG"
        for record in caplog.records
        if record.name == "samljit.decryption"
    )


@pytest.mark.parametrize(
    ("data", "transport"),
    [("tripledes-cbc", "rsa-oaep-mgf1p"), ("aes256-cbc", "rsa-1_5"), ("tripledes-cbc", "rsa-1_5")],
)
def test_legacy_algorithms_fail_like_the_others_once_allowed(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    sp: samljit.SPConfig,
    new_sp_key: Key,
    data: str,
    transport: str,
) -> None:
    issued = encrypted(data_encryption=data, key_transport=transport)
    for which in ("data", "key"):
        xml = with_cipher_value(issued.xml, which, flip(-1))
        assert refused(decrypt, xml, sp=legacy(sp)).code == "decryption_failed"
    wrong = refused(decrypt, issued.xml, sp=legacy(sp), decryption_keys=[new_sp_key[0]])
    assert wrong.code == "decryption_failed"


def test_3des_decryption_raises_no_deprecation_warning(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    sp: samljit.SPConfig,
) -> None:
    """3DES comes from cryptography's ``decrepit`` module (pytest turns warnings into errors)."""
    issued = encrypted(data_encryption="tripledes-cbc")
    assert decrypt(issued.form_value, sp=legacy(sp)).name_id.value == "ada@acme.test"


# --- signature rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sign_response", "sign_assertion", "signed_parts"),
    [
        (True, False, ("response",)),
        (False, True, ("assertion",)),
        (True, True, ("response", "assertion")),
    ],
)
def test_a_signature_over_the_ciphertext_or_inside_the_plaintext_is_enough(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    sign_response: bool,
    sign_assertion: bool,
    signed_parts: tuple[str, ...],
) -> None:
    """The Response signature covers the EncryptedAssertion; an assertion signed before it
    was encrypted is verified after decryption."""
    issued = encrypted(sign_response=sign_response, sign_assertion=sign_assertion)
    assertion = decrypt(issued.form_value)
    assert assertion.signed_parts == signed_parts
    assert assertion.first("full_name") == "Ada Lovelace"


def test_the_assertion_is_signed_before_it_is_encrypted(
    encrypted: Callable[..., IssuedResponse], sp_key: Key
) -> None:
    """SAML core 6.2: the signature is inside the plaintext, the Response's outside."""
    document = etree.fromstring(encrypted(sign_response=True).xml)
    signatures = [s.getparent().tag for s in document.iter(f"{DS}Signature")]  # type: ignore[union-attr]
    assert signatures == ["{urn:oasis:names:tc:SAML:2.0:protocol}Response"]


def test_an_encrypted_assertion_nothing_signed_is_refused_as_decryption_failed(
    encrypted: Callable[..., IssuedResponse], decrypt: Callable[..., samljit.Assertion]
) -> None:
    """Unauthenticated ciphertext: whatever it decrypts to, the answer is decryption_failed."""
    issued = encrypted(sign_assertion=False, sign_response=False)
    assert refused(decrypt, issued.form_value).code == "decryption_failed"


def test_the_response_signature_is_checked_before_decrypting(
    encrypted: Callable[..., IssuedResponse], decrypt: Callable[..., samljit.Assertion]
) -> None:
    """A ciphertext changed under the Response signature is a bad signature, not a
    decryption question."""
    issued = encrypted(sign_response=True, sign_assertion=False)
    for which in ("data", "key"):
        xml = with_cipher_value(issued.xml, which, flip(-1))
        assert refused(decrypt, xml).code == "signature_invalid"


@pytest.fixture(scope="module")
def impostor() -> tuple[Any, x509.Certificate]:
    return make_certificate(common_name="impostor")


@pytest.mark.parametrize(
    ("sign_response", "code"), [(True, "untrusted_key"), (False, "decryption_failed")]
)
def test_an_inner_signature_by_another_key_is_refused(
    test_idp: TestIdP,
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    impostor: tuple[Any, x509.Certificate],
    sp_key: Key,
    sign_response: bool,
    code: str,
) -> None:
    """With the Response signed, the inner signature is judged as the core judges it; without,
    nothing authenticated the ciphertext and the failure is decryption_failed."""
    impostor_key, impostor_certificate = impostor
    signed_by_impostor = test_idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        name_id="admin@acme.test",
        signing_key=impostor_key,
        signing_certificate=impostor_certificate,
    )
    forged = etree.fromstring(signed_by_impostor.xml).find(f"{SAML}Assertion")
    assert forged is not None
    replacement = encrypt_assertion(forged, certificate=sp_key[1])
    issued = encrypted(
        sign_response=sign_response,
        sign_assertion=True,
        edit_response=replace_encrypted_assertion(replacement),
    )
    assert refused(decrypt, issued.form_value).code == code


@pytest.mark.parametrize(
    ("sign_response", "code"), [(True, "signature_invalid"), (False, "decryption_failed")]
)
def test_an_assertion_changed_after_signing_and_before_encrypting_is_refused(
    issue: Callable[..., IssuedResponse],
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    sp_key: Key,
    sign_response: bool,
    code: str,
) -> None:
    genuine = etree.fromstring(issue().xml).find(f"{SAML}Assertion")
    assert genuine is not None
    tampered = copy.deepcopy(genuine)
    name_id = tampered.find(f"{SAML}Subject/{SAML}NameID")
    assert name_id is not None
    name_id.text = "admin@acme.test"
    issued = encrypted(
        sign_response=sign_response,
        edit_response=replace_encrypted_assertion(
            encrypt_assertion(tampered, certificate=sp_key[1])
        ),
    )
    assert refused(decrypt, issued.form_value).code == code


# --- the decrypted assertion gets the same structure checks ---------------------------------


def _nest_an_assertion(assertion: etree._Element) -> None:
    """XSW inside the plaintext: a second (forged) assertion inside the genuine one."""
    inner = copy.deepcopy(assertion)
    inner.set("ID", "_forged")
    for signature in inner.iter(f"{DS}Signature"):
        signature.getparent().remove(signature)  # type: ignore[union-attr]
    subject = assertion.find(f"{SAML}Subject")
    assert subject is not None
    subject.append(inner)


def _duplicate_the_id(assertion: etree._Element) -> None:
    conditions = assertion.find(f"{SAML}Conditions")
    assert conditions is not None
    conditions.set("ID", assertion.get("ID", ""))


def _nest_an_encrypted_assertion(assertion: etree._Element) -> None:
    subject = assertion.find(f"{SAML}Subject")
    assert subject is not None
    etree.SubElement(subject, f"{SAML}EncryptedAssertion")


def _signature_in_the_subject(assertion: etree._Element) -> None:
    subject = assertion.find(f"{SAML}Subject")
    assert subject is not None
    etree.SubElement(subject, f"{DS}Signature")


@pytest.mark.parametrize(
    ("edit", "code_when_response_signed"),
    [
        pytest.param(_nest_an_assertion, "multiple_assertions", id="nested-assertion"),
        pytest.param(_duplicate_the_id, "duplicate_id", id="duplicate-id"),
        pytest.param(_signature_in_the_subject, "signature_misplaced", id="misplaced-signature"),
        pytest.param(
            _nest_an_encrypted_assertion, "multiple_assertions", id="nested-encrypted-assertion"
        ),
    ],
)
@pytest.mark.parametrize(
    "sign_response", [True, False], ids=["response-signed", "assertion-signed-only"]
)
def test_signature_wrapping_inside_the_decrypted_assertion_is_refused(
    issue: Callable[..., IssuedResponse],
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    sp_key: Key,
    edit: Callable[[etree._Element], None],
    code_when_response_signed: str,
    sign_response: bool,
) -> None:
    """A genuinely signed assertion, wrapped after signing and then encrypted: the plaintext
    is held to the shape rules of a plain response. When only its own signature could vouch
    for it, every failure is decryption_failed."""
    assertion = etree.fromstring(issue().xml).find(f"{SAML}Assertion")
    assert assertion is not None
    edit(assertion)
    issued = encrypted(
        sign_response=sign_response,
        edit_response=replace_encrypted_assertion(
            encrypt_assertion(assertion, certificate=sp_key[1])
        ),
    )
    code = refused(decrypt, issued.form_value).code
    assert code == (code_when_response_signed if sign_response else "decryption_failed")


def test_a_plain_assertion_beside_the_encrypted_one_is_refused(
    issue: Callable[..., IssuedResponse],
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
) -> None:
    forged = etree.fromstring(issue(name_id="admin@acme.test").xml).find(f"{SAML}Assertion")
    assert forged is not None

    def add_plain(response: etree._Element) -> None:
        response.append(forged)

    issued = encrypted(sign_response=True, sign_assertion=False, edit_response=add_plain)
    assert refused(decrypt, issued.form_value).code == "multiple_assertions"


@pytest.mark.parametrize(
    ("sign_response", "code"), [(True, "malformed_response"), (False, "decryption_failed")]
)
def test_plaintext_that_is_not_an_assertion_is_refused(
    test_idp: TestIdP,
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    sp_key: Key,
    sign_response: bool,
    code: str,
) -> None:
    # A whole signed Response, encrypted where the assertion belongs.
    whole = etree.fromstring(
        test_idp.issue_response(
            sp_entity_id=SP_ENTITY_ID, acs_url=ACS_URL, now=NOW, sign_response=True
        ).xml
    )
    replacement = encrypt_assertion(whole, certificate=sp_key[1])
    issued = encrypted(
        sign_response=sign_response,
        sign_assertion=not sign_response,
        edit_response=replace_encrypted_assertion(replacement),
    )
    assert refused(decrypt, issued.form_value).code == code


# --- the plaintext goes through the hardened parser -----------------------------------------

_ASSERTION_START = f'<saml:Assertion xmlns:saml="{NS_SAML}" ID="_x" Version="2.0">'.encode()
HOSTILE_PLAINTEXTS = {
    "doctype-entity": b'<!DOCTYPE a [<!ENTITY e "ada">]>'
    + _ASSERTION_START
    + b"&e;</saml:Assertion>",
    "external-entity": (
        b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        + _ASSERTION_START
        + b"&e;</saml:Assertion>"
    ),
    "billion-laughs": (
        b'<!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        + _ASSERTION_START
        + b"&c;</saml:Assertion>"
    ),
    "undeclared-entity": _ASSERTION_START + b"&e;</saml:Assertion>",
    "too-deep": _ASSERTION_START + b"<a>" * 40 + b"</a>" * 40 + b"</saml:Assertion>",
    "too-many-nodes": _ASSERTION_START + b"<a/>" * 25_000 + b"</saml:Assertion>",
    "not-xml": b"\x00\x01 definitely not XML",
    "two-elements": _ASSERTION_START
    + b"</saml:Assertion>"
    + _ASSERTION_START
    + b"</saml:Assertion>",
    "text-before": b"hello " + _ASSERTION_START + b"</saml:Assertion>",
    "empty": b"",
}


@pytest.mark.parametrize("plaintext", list(HOSTILE_PLAINTEXTS))
@pytest.mark.parametrize("sign_response", [True, False], ids=["response-signed", "unsigned"])
def test_hostile_plaintext_goes_through_the_hardened_parser(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    sp_key: Key,
    plaintext: str,
    sign_response: bool,
) -> None:
    """A DOCTYPE, an entity or a bomb inside the plaintext is never expanded: the plaintext is
    parsed inside an element, where a DOCTYPE is not well-formed, so it is refused as
    decryption_failed, whether or not the Response signature vouches for the ciphertext."""
    replacement = encrypt_assertion(HOSTILE_PLAINTEXTS[plaintext], certificate=sp_key[1])
    issued = encrypted(
        sign_response=sign_response,
        sign_assertion=False,
        edit_response=replace_encrypted_assertion(replacement),
    )
    err = refused(decrypt, issued.form_value)
    assert err.code == "decryption_failed"
    assert "passwd" not in str(err)


def test_a_doctype_in_the_plaintext_is_refused_by_the_hardened_parser(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    sp_key: Key,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Decryption itself succeeds; it is the parser that refuses the DTD (debug log only)."""
    replacement = encrypt_assertion(HOSTILE_PLAINTEXTS["doctype-entity"], certificate=sp_key[1])
    issued = encrypted(
        sign_response=True,
        sign_assertion=False,
        edit_response=replace_encrypted_assertion(replacement),
    )
    with caplog.at_level("DEBUG", logger="samljit.decryption"):
        err = refused(decrypt, issued.form_value)
    assert err.code == "decryption_failed"
    assert "DOCTYPE" not in str(err)
    assert any("DOCTYPE" in record.getMessage() for record in caplog.records)


# --- the per-account encryption policy ------------------------------------------------------


def test_require_encryption_refuses_a_plain_assertion(
    issue: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    sp: samljit.SPConfig,
) -> None:
    strict = dataclasses.replace(sp, require_encryption=True)
    for knobs in ({}, {"sign_response": True}):
        assert refused(decrypt, issue(**knobs).form_value, sp=strict).code == "encryption_required"


@pytest.mark.parametrize("sign_response", [True, False])
def test_require_encryption_accepts_an_encrypted_assertion(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    sp: samljit.SPConfig,
    sign_response: bool,
) -> None:
    strict = dataclasses.replace(sp, require_encryption=True)
    issued = encrypted(sign_response=sign_response)
    assert decrypt(issued.form_value, sp=strict).name_id.value == "ada@acme.test"


def test_a_replayed_encrypted_assertion_is_refused(
    encrypted: Callable[..., IssuedResponse], decrypt: Callable[..., samljit.Assertion]
) -> None:
    cache = samljit.MemoryReplayCache()
    issued = encrypted()
    decrypt(issued.form_value, replay_cache=cache)
    assert refused(decrypt, issued.form_value, replay_cache=cache).code == "replayed"


# --- SP metadata and LoginService -----------------------------------------------------------


def test_sp_metadata_publishes_the_encryption_certificate(sp_key: Key) -> None:
    metadata = etree.fromstring(
        samljit.messages.build_sp_metadata(
            entity_id=SP_ENTITY_ID, acs_url=ACS_URL, encryption_certificate=sp_key[1]
        )
    )
    [descriptor] = metadata.iter("{urn:oasis:names:tc:SAML:2.0:metadata}KeyDescriptor")
    assert descriptor.get("use") == "encryption"
    value = descriptor.find(f"{DS}KeyInfo/{DS}X509Data/{DS}X509Certificate")
    assert value is not None
    assert base64.b64decode(value.text or "") == sp_key[1].public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("require_encryption", [False, True])
def test_login_service_creates_a_user_from_an_encrypted_assertion(
    test_idp: TestIdP,
    sp_key: Key,
    new_sp_key: Key,
    require_encryption: bool,
    login_service: Callable[..., samljit.LoginService],
) -> None:
    accounts = MemoryAccountStore()
    users = MemoryUserStore()
    accounts.save(
        samljit.AccountConfig(
            account_id="acme",
            idp_metadata=test_idp.metadata_xml,
            sp=samljit.SPConfig(
                entity_id=SP_ENTITY_ID, acs_url=ACS_URL, require_encryption=require_encryption
            ),
            mapping=samljit.ClaimMapping.from_dict({"accepted_roles": ["developer"]}),
        )
    )
    service = login_service(
        accounts=accounts,
        users=users,
        sessions=MemorySessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=lambda: NOW,
        decryption_keys=[new_sp_key, sp_key],  # the next key first, the current one still kept
    )
    issued = test_idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        name_id="ada@acme.test",
        attributes={"full_name": ["Ada Lovelace"], "role": ["developer"]},
        encrypt_for=sp_key[1],
        encrypted_key_placement="retrieval-method",
        data_encryption="aes128-cbc",
    )
    result = service.complete_login({"SAMLResponse": issued.form_value}, account_id="acme")
    assert result.outcome.action == "created"
    assert (result.user.email, result.user.full_name, result.user.role) == (
        "ada@acme.test",
        "Ada Lovelace",
        "developer",
    )
    assert [u.email for u in users.users_of("acme")] == ["ada@acme.test"]


def test_login_service_without_decryption_keys_writes_nothing(
    test_idp: TestIdP, sp_key: Key, login_service: Callable[..., samljit.LoginService]
) -> None:
    accounts = MemoryAccountStore()
    users = MemoryUserStore()
    accounts.save(
        samljit.AccountConfig(
            account_id="acme",
            idp_metadata=test_idp.metadata_xml,
            sp=samljit.SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL),
            mapping=samljit.ClaimMapping.from_dict({"accepted_roles": ["developer"]}),
        )
    )
    service = login_service(
        accounts=accounts,
        users=users,
        sessions=MemorySessionIssuer(),
        replay_cache=MemoryReplayCache(),
        clock=lambda: NOW,
    )
    issued = test_idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        name_id="ada@acme.test",
        attributes={"role": ["developer"]},
        encrypt_for=sp_key[1],
    )
    with pytest.raises(samljit.SamlError) as caught:
        service.complete_login({"SAMLResponse": issued.form_value}, account_id="acme")
    assert caught.value.code == "decryption_failed"
    assert users.users_of("acme") == []


# --- the CLI --------------------------------------------------------------------------------

OKTA = INTEROP / "cases" / "okta-encrypted-retrievalmethod"


def _okta_args() -> list[str]:
    case: dict[str, Any] = json.loads((OKTA / "case.json").read_text())
    return [
        "verify",
        str(OKTA / case["response"]),
        "--idp-metadata",
        str(OKTA / case["idp_metadata"]),
        "--sp-entity-id",
        case["sp"]["entity_id"],
        "--acs-url",
        case["sp"]["acs_url"],
        "--at",
        case["now"],
        "--in-response-to",
        case["in_response_to"],
        "--json",
    ]


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(list(args))
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return code, report


def test_cli_decrypts_the_okta_retrieval_method_case_with_the_sp_key(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = _cli(capsys, *_okta_args(), "--sp-key", str(OKTA / "sp-key.pem"))
    assert code == 0
    assert report["ok"] is True
    assert report["assertion"]["name_id"] == "user1"
    assert report["assertion"]["attributes"] == {"hello": ["world"], "test": ["passed"]}


def test_cli_without_the_sp_key_says_decryption_failed(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _cli(capsys, *_okta_args())
    assert code == 1
    assert report["ok"] is False
    assert report["error"]["code"] == "decryption_failed"


def test_cli_takes_several_sp_keys_and_the_legacy_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, new_sp_key: Key
) -> None:
    other = tmp_path / "other-key.pem"
    other.write_bytes(
        new_sp_key[0].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    code, report = _cli(
        capsys,
        *_okta_args(),
        "--sp-key",
        str(other),
        "--sp-key",
        str(OKTA / "sp-key.pem"),
        "--allow-legacy-encryption",
    )
    assert code == 0
    assert report["assertion"]["name_id"] == "user1"


def test_cli_legacy_encryption_needs_the_flag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, test_idp: TestIdP, sp_key: Key
) -> None:
    issued = test_idp.issue_response(
        sp_entity_id=SP_ENTITY_ID,
        acs_url=ACS_URL,
        now=NOW,
        encrypt_for=sp_key[1],
        key_transport="rsa-1_5",
    )
    (tmp_path / "response.b64").write_text(issued.form_value)
    (tmp_path / "idp.xml").write_bytes(test_idp.metadata_xml)
    (tmp_path / "sp-key.pem").write_bytes(
        sp_key[0].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    args = [
        "verify",
        str(tmp_path / "response.b64"),
        "--idp-metadata",
        str(tmp_path / "idp.xml"),
        "--sp-entity-id",
        SP_ENTITY_ID,
        "--acs-url",
        ACS_URL,
        "--at",
        NOW.isoformat(),
        "--sp-key",
        str(tmp_path / "sp-key.pem"),
        "--json",
    ]
    code, report = _cli(capsys, *args)
    assert (code, report["error"]["code"]) == (1, "algorithm_forbidden")
    code, report = _cli(capsys, *args, "--allow-legacy-encryption")
    assert code == 0
    assert report["assertion"]["name_id"] == "user@example.test"


def test_cli_refuses_a_non_rsa_sp_key_as_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ec_key, _ = make_certificate(key_type="ec")
    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    code, report = _cli(capsys, *_okta_args(), "--sp-key", str(path))
    assert code == 2
    assert report["error"]["code"] == "usage_error"


def test_a_wrong_pkcs1_key_that_decrypts_to_noise_does_not_stop_the_right_one(
    sp: samljit.SPConfig, test_idp: TestIdP, sp_key: Key, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenSSL's implicit rejection turns a wrong RSA PKCS#1 v1.5 key into random bytes, which
    now and then pass the CBC padding check: the plaintext must parse before a key is taken."""
    from samljit import _encryption

    issued = test_idp.issue_response(
        sp_entity_id=sp.entity_id,
        acs_url=sp.acs_url,
        now=NOW,
        name_id="ada@acme.test",
        encrypt_for=sp_key[1],
        data_encryption="aes256-cbc",
        key_transport="rsa-1_5",
        include_key_hint=False,
    )
    other, _ = make_certificate()
    assert isinstance(other, rsa.RSAPrivateKey)
    real_unwrap, real_decrypt = _encryption._unwrap, _encryption._decrypt_data
    fake_session_key = b"\x00" * 32
    calls: list[str] = []

    def unwrap(encrypted_key: Any, wrapped: bytes, key: rsa.RSAPrivateKey) -> bytes:
        # The wrong key "succeeds", as OpenSSL's implicit rejection makes it do.
        calls.append("wrong" if key is other else "right")
        return fake_session_key if key is other else real_unwrap(encrypted_key, wrapped, key)

    def decrypt_data(method: str, session_key: bytes, data: bytes) -> bytes:
        if session_key == fake_session_key:
            return b"\x93\x07garbage that is not XML"  # padding-valid noise
        return real_decrypt(method, session_key, data)

    monkeypatch.setattr(_encryption, "_unwrap", unwrap)
    monkeypatch.setattr(_encryption, "_decrypt_data", decrypt_data)
    assertion = samljit.verify_response(
        issued.form_value,
        idp=samljit.parse_idp_metadata(test_idp.metadata_xml, now=NOW).idp,
        sp=dataclasses.replace(sp, allow_legacy_encryption=True),
        now=NOW,
        replay_cache=samljit.MemoryReplayCache(),
        allow_unsolicited=True,
        decryption_keys=[other, sp_key[0]],
    )
    assert calls == ["wrong", "right"]
    assert assertion.name_id.value == "ada@acme.test"


# --- key sizes, padding and key transport, checked on hand-made ciphertexts -----------------

PLAIN_ASSERTION = f'<saml:Assertion xmlns:saml="{NS_SAML}" ID="_plain" Version="2.0"/>'.encode()
XENC_URI = "http://www.w3.org/2001/04/xmlenc#"


def _decrypt_unit(
    container: etree._Element, sp_key: Key, *, allow_legacy: bool = False
) -> etree._Element:
    from samljit._config import RESPONSE_LIMITS
    from samljit._encryption import decrypt_element

    return decrypt_element(
        container, keys=[sp_key], allow_legacy=allow_legacy, limits=RESPONSE_LIMITS
    )


def _unit_refused(container: etree._Element, sp_key: Key, **options: Any) -> samljit.SamlError:
    with pytest.raises(samljit.SamlError) as caught:
        _decrypt_unit(container, sp_key, **options)
    return caught.value


def _relabelled(container: etree._Element, data: str) -> etree._Element:
    _set_algorithm("EncryptedData", None, f"{XENC_URI}{data}")(container)
    return container


@pytest.mark.parametrize(
    ("made_with", "labelled"),
    [("aes128-gcm", "aes256-gcm"), ("aes128-cbc", "aes256-cbc"), ("aes256-cbc", "aes192-cbc")],
)
def test_a_session_key_shorter_or_longer_than_the_algorithm_says_fails_to_decrypt(
    sp_key: Key, made_with: str, labelled: str
) -> None:
    """aes256 must mean a 256-bit key: a 128-bit key under that label is not quietly used."""
    uri_base = "http://www.w3.org/2009/xmlenc11#" if "gcm" in labelled else XENC_URI
    genuine = encrypt_assertion(PLAIN_ASSERTION, certificate=sp_key[1], data_encryption=made_with)
    assert _decrypt_unit(copy.deepcopy(genuine), sp_key).get("ID") == "_plain"
    _set_algorithm("EncryptedData", None, f"{uri_base}{labelled}")(genuine)
    assert _unit_refused(genuine, sp_key).code == "decryption_failed"


def _cbc_by_hand(
    sp_key: Key, session_key: bytes, padded: bytes, *, data: DataEncryption, block: int
) -> etree._Element:
    """An EncryptedAssertion whose data is ``padded`` (already padded) under ``session_key``
    in CBC mode, the key wrapped with RSA-OAEP (MGF1 SHA-1) for ``sp_key``."""
    import os
    import warnings

    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    with warnings.catch_warnings():  # two-key 3DES is deprecated: that is the point here
        warnings.simplefilter("ignore")
        cipher = TripleDES(session_key) if block == 8 else algorithms.AES(session_key)
    iv = os.urandom(block)
    encryptor = Cipher(cipher, modes.CBC(iv)).encryptor()
    data_value = iv + encryptor.update(padded) + encryptor.finalize()
    public = sp_key[1].public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    sha1 = hashes.SHA1()  # noqa: S303 - rsa-oaep-mgf1p is OAEP with SHA-1
    wrapped = public.encrypt(session_key, padding.OAEP(padding.MGF1(sha1), sha1, None))
    container = encrypt_assertion(PLAIN_ASSERTION, certificate=sp_key[1], data_encryption=data)
    _cipher_value(container, "data").text = base64.b64encode(data_value).decode()
    _cipher_value(container, "key").text = base64.b64encode(wrapped).decode()
    return container


def _iso_padded(plaintext: bytes, block: int, pad: int | None = None) -> bytes:
    pad = pad or block - len(plaintext) % block
    return plaintext + bytes(pad - 1) + bytes([pad])


@pytest.mark.parametrize("key_size", [8, 16], ids=["single-des", "two-key-3des"])
def test_3des_with_a_key_shorter_than_three_keys_fails_to_decrypt(
    sp_key: Key, key_size: int
) -> None:
    import os

    good = _cbc_by_hand(
        sp_key, os.urandom(24), _iso_padded(PLAIN_ASSERTION, 8), data="tripledes-cbc", block=8
    )
    assert _decrypt_unit(good, sp_key, allow_legacy=True).get("ID") == "_plain"
    short = _cbc_by_hand(
        sp_key, os.urandom(key_size), _iso_padded(PLAIN_ASSERTION, 8), data="tripledes-cbc", block=8
    )
    assert _unit_refused(short, sp_key, allow_legacy=True).code == "decryption_failed"


def test_iso_10126_padding_longer_than_a_block_fails_to_decrypt(sp_key: Key) -> None:
    import os

    key = os.urandom(32)
    exact = _cbc_by_hand(sp_key, key, _iso_padded(PLAIN_ASSERTION, 16), data="aes256-cbc", block=16)
    assert _decrypt_unit(exact, sp_key).get("ID") == "_plain"
    pad = 16 - len(PLAIN_ASSERTION) % 16 + 16
    long_pad = _cbc_by_hand(
        sp_key, key, _iso_padded(PLAIN_ASSERTION, 16, pad), data="aes256-cbc", block=16
    )
    assert _unit_refused(long_pad, sp_key).code == "decryption_failed"


@pytest.mark.parametrize("data", ["aes256-cbc", "aes128-cbc"])
def test_cbc_ciphertext_that_is_only_the_iv_fails_to_decrypt(
    encrypted: Callable[..., IssuedResponse], decrypt: Callable[..., samljit.Assertion], data: str
) -> None:
    xml = with_cipher_value(encrypted(data_encryption=data).xml, "data", lambda raw: raw[:16])
    assert refused(decrypt, xml).code == "decryption_failed"


def test_a_cipher_value_with_non_base64_characters_mixed_in_fails_to_decrypt(
    encrypted: Callable[..., IssuedResponse], decrypt: Callable[..., samljit.Assertion]
) -> None:
    document = etree.fromstring(encrypted().xml)
    value = _cipher_value(document, "data")
    text = "".join((value.text or "").split())
    value.text = text[:20] + "*!" + text[20:]
    assert refused(decrypt, etree.tostring(document)).code == "decryption_failed"


def test_a_legacy_key_transport_behind_an_oaep_decoy_is_algorithm_forbidden(
    encrypted: Callable[..., IssuedResponse], decrypt: Callable[..., samljit.Assertion]
) -> None:
    """Every EncryptedKey is held to the allow-list, not only the first one tried."""

    def decoy_first(container: etree._Element) -> None:
        legacy_key = container.find(f".//{XENC}EncryptedKey")
        assert legacy_key is not None
        decoy = copy.deepcopy(legacy_key)
        method = decoy.find(f"{XENC}EncryptionMethod")
        assert method is not None
        method.set("Algorithm", f"{XENC_URI}rsa-oaep-mgf1p")
        cipher = decoy.find(f"{XENC}CipherData/{XENC}CipherValue")
        assert cipher is not None
        cipher.text = base64.b64encode(bytes(256)).decode()
        parent = legacy_key.getparent()
        assert parent is not None
        parent.insert(parent.index(legacy_key), decoy)

    xml = edited(encrypted(key_transport="rsa-1_5").xml, decoy_first)
    err = refused(decrypt, xml)
    assert err.code == "algorithm_forbidden"
    assert err.found == f"{XENC_URI}rsa-1_5"


def test_the_ciphertext_is_read_from_the_signed_view_of_the_response(
    encrypted: Callable[..., IssuedResponse], decrypt: Callable[..., samljit.Assertion]
) -> None:
    """A comment slipped into the CipherValue of a signed Response leaves the signature intact
    (comments are not signed) and must not change what is decrypted: the ciphertext is read
    from what the signature covers, not from the document as received."""
    document = etree.fromstring(encrypted(sign_response=True, sign_assertion=False).xml)
    value = _cipher_value(document, "data")
    text = "".join((value.text or "").split())
    value.text = text[:40]
    comment = etree.Comment(" not signed ")
    comment.tail = text[40:]
    value.append(comment)
    assertion = decrypt(etree.tostring(document))
    assert assertion.name_id.value == "ada@acme.test"


@pytest.mark.parametrize("copies", [1, 4], ids=["one key", "the most that are tried"])
def test_up_to_four_encrypted_keys_are_tried(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    copies: int,
) -> None:
    document = etree.fromstring(encrypted(encrypted_key_placement="sibling").xml)
    container = document.find(f"{SAML}EncryptedAssertion")
    assert container is not None
    key = container.find(f"{XENC}EncryptedKey")
    assert key is not None
    for _ in range(copies - 1):
        key.addprevious(copy.deepcopy(key))
    assert decrypt(etree.tostring(document)).name_id.value == "ada@acme.test"


def test_more_encrypted_keys_are_refused_before_any_rsa_operation(
    encrypted: Callable[..., IssuedResponse],
    decrypt: Callable[..., samljit.Assertion],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each EncryptedKey costs an RSA private-key operation per SP key, before anything is
    authenticated: a flood of them is refused on sight."""
    unwrapped: list[object] = []
    real_unwrap = _encryption._unwrap
    monkeypatch.setattr(
        _encryption, "_unwrap", lambda *args: unwrapped.append(args) or real_unwrap(*args)
    )
    document = etree.fromstring(encrypted(encrypted_key_placement="sibling").xml)
    container = document.find(f"{SAML}EncryptedAssertion")
    assert container is not None
    key = container.find(f"{XENC}EncryptedKey")
    assert key is not None
    for _ in range(_encryption.MAX_ENCRYPTED_KEYS):
        key.addprevious(copy.deepcopy(key))
    with pytest.raises(samljit.SamlError) as caught:
        decrypt(etree.tostring(document))
    assert caught.value.code == "decryption_failed"
    assert unwrapped == []
