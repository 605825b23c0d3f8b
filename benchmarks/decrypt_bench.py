"""Side-by-side benchmark: the cost of decrypting an encrypted SAML assertion per login.

One Okta-like response (about 5 KB, 6 attributes, the assertion signed with RSA-SHA256) is
timed in several forms, on every library that can decrypt:

* plain   the signed assertion as it is: the baseline
* gcm     the signed assertion encrypted with AES-256-GCM, its key wrapped for the SP's
          RSA-2048 certificate with ``rsa-oaep-mgf1p`` (SHA-1)
* gcm11   AES-256-GCM, the key wrapped with XML Encryption 1.1 ``rsa-oaep`` (SHA-256 digest)
* cbc     AES-256-CBC, the key wrapped with ``rsa-oaep-mgf1p`` (SHA-1): the combination
          most IdPs send

A library's decryption cost per login is its median on an encrypted form minus its median
on the plain form. Libraries:

* samljit       ``samljit.verify_response(..., decryption_keys=[sp_key])``, and, as a
                cross-check, its decryption step alone
* python3-saml  ``OneLogin_Saml2_Response`` with the SP private key in its settings
                (decrypts with the xmlsec binding, libxmlsec1)
* pysaml2       ``Saml2Client.parse_authn_request_response`` with ``encryption_keypairs``
                (decrypts by running the ``xmlsec1`` binary)
* minisaml      timed on the plain form only: it has no XML Encryption support

The encryption is done here with ``cryptography`` (see :class:`Encryptor`) after the IdP
signed the assertion, as an IdP does. Before it is timed, every library must accept each form
and return the expected NameID and attributes, and must refuse the same form with the NameID
changed after signing and before encrypting.

Run through ``bash benchmarks/run.sh decrypt [options]``, which builds the venv holding the
peers, or directly with ``benchmarks/.venv-peers/bin/python benchmarks/decrypt_bench.py``.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import verify_bench as vb  # the shared response generators and timing helpers
from verify_bench import (
    ACS_URL,
    IDP_ENTITY_ID,
    IDP_SSO_URL,
    NS_DS,
    NS_SAML,
    SP_ENTITY_ID,
    VALIDITY,
    Cell,
    Unavailable,
    _dist_version,
    _fmt_us,
    _short,
    render_table,
)

NS_XENC = "http://www.w3.org/2001/04/xmlenc#"
NS_XENC11 = "http://www.w3.org/2009/xmlenc11#"

SHAPE = vb.SHAPES[0]  # (a) Okta-like: assertion signed, 6 attributes

PEER_ORDER = ("samljit", "python3-saml", "pysaml2", "minisaml")
DECRYPTING_PEERS = ("samljit", "python3-saml", "pysaml2")


# --------------------------------------------------------------------------------------
# The encrypted forms
# --------------------------------------------------------------------------------------

KEY_TRANSPORTS = {
    # name: (Algorithm URI, OAEP digest URI, MGF URI or None (= MGF1 with SHA-1), label)
    "oaep-sha256": (f"{NS_XENC11}rsa-oaep", f"{NS_XENC}sha256", None, "RSA-OAEP (SHA-256)"),
    "oaep-sha256-mgf1sha256": (
        f"{NS_XENC11}rsa-oaep",
        f"{NS_XENC}sha256",
        f"{NS_XENC11}mgf1sha256",
        "RSA-OAEP (SHA-256, MGF1-SHA-256)",
    ),
    "mgf1p": (
        f"{NS_XENC}rsa-oaep-mgf1p",
        "http://www.w3.org/2000/09/xmldsig#sha1",
        None,
        "RSA-OAEP-MGF1P (SHA-1)",
    ),
}


@dataclass(frozen=True)
class Variant:
    key: str
    data: str  # "gcm" | "cbc" | "" (plain)
    transport: str  # a KEY_TRANSPORTS key, or "" (plain)

    @property
    def label(self) -> str:
        if not self.data:
            return "signed, not encrypted"
        return f"AES-256-{self.data.upper()} + {KEY_TRANSPORTS[self.transport][3]}"


@dataclass(frozen=True)
class Case:
    variant: Variant
    xml: bytes
    form_value: str


class Encryptor:
    """Encrypts the (already signed) Assertion of a Response for the SP's RSA certificate.

    With ``samljit.testing.encrypt_assertion`` when it is importable (``--encryptor auto``,
    the default, or ``samljit``), else (or with ``--encryptor builtin``) with the code below,
    which writes the same structure, XML Encryption 1.1 as IdPs send it::

        <saml:EncryptedAssertion>
          <xenc:EncryptedData Type="...xmlenc#Element">
            <xenc:EncryptionMethod Algorithm="...aes256-gcm | ...aes256-cbc"/>
            <ds:KeyInfo>
              <xenc:EncryptedKey Recipient="SP entity ID">
                <xenc:EncryptionMethod Algorithm="...rsa-oaep | ...rsa-oaep-mgf1p">
                  <ds:DigestMethod Algorithm="..."/> [<xenc11:MGF Algorithm="..."/>]
                </xenc:EncryptionMethod>
                <ds:KeyInfo><ds:X509Data><ds:X509Certificate>SP cert (a hint, as Okta,
                  AD FS and Entra ID send it; --no-key-hint leaves it out)
                <xenc:CipherData><xenc:CipherValue>RSA-OAEP(session key)
            <xenc:CipherData><xenc:CipherValue>IV || ciphertext [|| GCM tag]

    AES-GCM: 12-byte IV prefix, 16-byte tag suffix, no associated data. AES-CBC: 16-byte IV
    prefix and ISO 10126 padding (random bytes, the last one the pad length). A fresh
    256-bit session key for every encryption.
    """

    def __init__(self, certificate_pem: bytes, key_hint: bool, choice: str = "auto") -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        self.certificate = x509.load_pem_x509_certificate(certificate_pem)
        self.public_key = self.certificate.public_key()
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        self.certificate_b64 = base64.b64encode(der).decode()
        self.key_hint = key_hint
        self.samljit_encrypt: Callable[..., Any] | None = None
        self.name = "decrypt_bench.py's Encryptor (cryptography)"
        self.note: str | None = None
        if choice != "builtin":
            try:
                from samljit.testing import encrypt_assertion
            except ImportError as exc:
                if choice == "samljit":
                    raise
                self.note = f"samljit.testing.encrypt_assertion unavailable ({_short(exc)})"
            else:
                self.samljit_encrypt = encrypt_assertion
                self.name = "samljit.testing.encrypt_assertion"

    def encrypt_response(self, xml: bytes, variant: Variant) -> bytes:
        from lxml import etree

        root = etree.fromstring(xml)
        assertion = root.find(f"{{{NS_SAML}}}Assertion")
        if assertion is None:
            raise RuntimeError("no Assertion to encrypt")
        if self.samljit_encrypt is not None:
            key_transport, oaep_digest, mgf = {
                "mgf1p": ("rsa-oaep-mgf1p", "sha1", "sha1"),
                "oaep-sha256": ("rsa-oaep", "sha256", "sha1"),
                "oaep-sha256-mgf1sha256": ("rsa-oaep", "sha256", "sha256"),
            }[variant.transport]
            encrypted = self.samljit_encrypt(
                assertion,
                certificate=self.certificate,
                data_encryption=f"aes256-{variant.data}",
                key_transport=key_transport,
                oaep_digest=oaep_digest,
                mgf=mgf,
                encrypted_key_placement="inline",
                include_key_hint=self.key_hint,
                recipient=SP_ENTITY_ID,
            )
        else:
            # Serialized on its own, the element carries every namespace declaration it uses.
            plaintext = etree.tostring(assertion, encoding="UTF-8", xml_declaration=False)
            encrypted = etree.fromstring(self._encrypted_assertion(plaintext, variant, assertion))
        root.replace(assertion, encrypted)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")

    def _encrypted_assertion(self, plaintext: bytes, variant: Variant, assertion: Any) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        session_key = os.urandom(32)
        if variant.data == "gcm":
            iv = os.urandom(12)
            cipher_value = iv + AESGCM(session_key).encrypt(iv, plaintext, None)
            data_algorithm = f"{NS_XENC11}aes256-gcm"
        elif variant.data == "cbc":
            iv = os.urandom(16)
            pad = 16 - len(plaintext) % 16  # 1..16: a full block when already aligned
            padded = plaintext + os.urandom(pad - 1) + bytes([pad])
            encryptor = Cipher(algorithms.AES(session_key), modes.CBC(iv)).encryptor()
            cipher_value = iv + encryptor.update(padded) + encryptor.finalize()
            data_algorithm = f"{NS_XENC}aes256-cbc"
        else:
            raise ValueError(f"unknown data encryption {variant.data!r}")

        transport, digest_uri, mgf_uri, _ = KEY_TRANSPORTS[variant.transport]
        digest = {
            f"{NS_XENC}sha256": hashes.SHA256,
            "http://www.w3.org/2000/09/xmldsig#sha1": hashes.SHA1,
        }[digest_uri]
        mgf_digest = hashes.SHA256 if mgf_uri == f"{NS_XENC11}mgf1sha256" else hashes.SHA1
        wrapped = self.public_key.encrypt(
            session_key,
            padding.OAEP(mgf=padding.MGF1(algorithm=mgf_digest()), algorithm=digest(), label=None),
        )

        prefix = assertion.prefix or "saml2"
        mgf = f'<xenc11:MGF xmlns:xenc11="{NS_XENC11}" Algorithm="{mgf_uri}"/>' if mgf_uri else ""
        hint = (
            f"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{self.certificate_b64}"
            f"</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
            if self.key_hint
            else ""
        )
        return (
            f'<{prefix}:EncryptedAssertion xmlns:{prefix}="{NS_SAML}">'
            f'<xenc:EncryptedData xmlns:xenc="{NS_XENC}" Id="_{secrets.token_hex(16)}" '
            f'Type="{NS_XENC}Element">'
            f'<xenc:EncryptionMethod Algorithm="{data_algorithm}"/>'
            f'<ds:KeyInfo xmlns:ds="{NS_DS}">'
            f'<xenc:EncryptedKey Id="_{secrets.token_hex(16)}" Recipient="{SP_ENTITY_ID}">'
            f'<xenc:EncryptionMethod Algorithm="{transport}">'
            f'<ds:DigestMethod Algorithm="{digest_uri}"/>{mgf}'
            f"</xenc:EncryptionMethod>{hint}"
            f"<xenc:CipherData><xenc:CipherValue>{base64.b64encode(wrapped).decode()}"
            f"</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>"
            f"<xenc:CipherData><xenc:CipherValue>{base64.b64encode(cipher_value).decode()}"
            f"</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>"
            f"</{prefix}:EncryptedAssertion>"
        ).encode()


def make_sp_keypair() -> tuple[bytes, bytes]:
    """The SP's RSA-2048 decryption key and self-signed certificate, both PEM."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app.example.com SAML SP")])
    start = datetime.now(UTC) - timedelta(days=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # "RSA PRIVATE KEY": every peer reads it
        serialization.NoEncryption(),
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


# --------------------------------------------------------------------------------------
# The libraries, configured with the SP's decryption key
# --------------------------------------------------------------------------------------

Result = tuple[str, Mapping[str, Sequence[str]] | None]


@dataclass
class Context:
    metadata_xml: bytes
    idp_certificate_pem: str
    sp_key_pem: bytes
    sp_certificate_pem: bytes
    workdir: Path


class Peer:
    name = ""
    note = ""

    def setup(self, ctx: Context) -> None:
        raise NotImplementedError

    def bind(self, case: Case) -> Callable[[], Result]:
        raise NotImplementedError

    def version(self) -> str:
        return _dist_version(self.name)


class SamljitPeer(Peer):
    name = "samljit"

    def __init__(self, replay_cache: str) -> None:
        self.replay_cache = replay_cache
        self.note = "verify_response(form_value, ..., decryption_keys=[sp_key]); " + (
            "a fresh MemoryReplayCache() per call (timed)"
            if replay_cache == "fresh"
            else "no-op replay cache"
        )

    def setup(self, ctx: Context) -> None:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        import samljit

        self.samljit = samljit
        self.provider = samljit.parse_idp_metadata(ctx.metadata_xml).idp
        self.sp = samljit.SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL)
        self.keys = [load_pem_private_key(ctx.sp_key_pem, password=None)]
        noop = vb._NoopReplayCache()
        self.new_cache: Callable[[], Any] = (
            samljit.MemoryReplayCache if self.replay_cache == "fresh" else (lambda: noop)
        )

    def bind(self, case: Case) -> Callable[[], Result]:
        verify, provider, sp, keys = self.samljit.verify_response, self.provider, self.sp, self.keys
        form_value, new_cache = case.form_value, self.new_cache

        def call() -> Result:
            assertion = verify(
                form_value,
                idp=provider,
                sp=sp,
                now=datetime.now(UTC),
                replay_cache=new_cache(),
                allow_unsolicited=True,
                decryption_keys=keys,
            )
            return assertion.name_id.value, assertion.attributes

        return call


class SamljitDecryptOnly(Peer):
    """samljit's decryption step alone (private ``_encryption.decrypt_element``): a cross-check
    of the difference of medians. The EncryptedAssertion is parsed outside the timing."""

    name = "samljit decrypt only"
    note = "samljit._encryption.decrypt_element(EncryptedAssertion) alone: private API, cross-check"

    def setup(self, ctx: Context) -> None:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        import samljit
        from samljit._encryption import decrypt_element

        self.decrypt = decrypt_element
        self.limits = samljit.SPConfig(entity_id=SP_ENTITY_ID, acs_url=ACS_URL).limits
        self.keys = [(load_pem_private_key(ctx.sp_key_pem, password=None), None)]

    def bind(self, case: Case) -> Callable[[], Result]:
        from lxml import etree

        if not case.variant.data:
            raise Unavailable("nothing to decrypt")
        source = etree.fromstring(case.xml).find(f"{{{NS_SAML}}}EncryptedAssertion")
        decrypt, keys, limits = self.decrypt, self.keys, self.limits

        def call() -> Result:
            assertion = decrypt(source, keys=keys, allow_legacy=False, limits=limits)
            return assertion.findtext(f"{{{NS_SAML}}}Subject/{{{NS_SAML}}}NameID"), None

        return call

    def version(self) -> str:
        return _dist_version("samljit")


def _pem_body(pem: bytes | str) -> str:
    text = pem.decode() if isinstance(pem, bytes) else pem
    return "".join(line for line in text.splitlines() if line and "-----" not in line)


class Python3SamlPeer(Peer):
    name = "python3-saml"
    note = (
        "OneLogin_Saml2_Response(settings, b64).is_valid(request_data), strict=True, "
        "sp.privateKey set: decrypts with the xmlsec binding"
    )

    def setup(self, ctx: Context) -> None:
        import xmlsec  # noqa: F401
        from onelogin.saml2.response import OneLogin_Saml2_Response
        from onelogin.saml2.settings import OneLogin_Saml2_Settings

        self.settings = OneLogin_Saml2_Settings(
            {
                "strict": True,
                "debug": False,
                "sp": {
                    "entityId": SP_ENTITY_ID,
                    "assertionConsumerService": {
                        "url": ACS_URL,
                        "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                    },
                    "NameIDFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                    "x509cert": _pem_body(ctx.sp_certificate_pem),
                    "privateKey": _pem_body(ctx.sp_key_pem),
                },
                "idp": {
                    "entityId": IDP_ENTITY_ID,
                    "singleSignOnService": {
                        "url": IDP_SSO_URL,
                        "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
                    },
                    "x509cert": _pem_body(ctx.idp_certificate_pem),
                },
                "security": {
                    "wantAssertionsSigned": True,
                    "wantAssertionsEncrypted": False,  # one settings object for every form
                    "wantMessagesSigned": False,
                    "wantNameId": True,
                    "rejectDeprecatedAlgorithm": True,
                },
            },
            sp_validation_only=True,
        )
        self.Response = OneLogin_Saml2_Response
        acs = urlsplit(ACS_URL)
        self.request_base = {
            "https": "on" if acs.scheme == "https" else "off",
            "http_host": acs.netloc,
            "script_name": acs.path,
            "get_data": {},
        }

    def bind(self, case: Case) -> Callable[[], Result]:
        settings, response_cls, b64 = self.settings, self.Response, case.form_value
        request_data = dict(self.request_base, post_data={"SAMLResponse": b64})
        encrypted = bool(case.variant.data)

        def call() -> Result:
            response = response_cls(settings, b64)
            response.is_valid(request_data, raise_exceptions=True)
            if encrypted and not response.encrypted:
                raise Unavailable("did not see the EncryptedAssertion")
            return response.get_nameid(), response.get_attributes()

        return call


class Pysaml2Peer(Peer):
    name = "pysaml2"
    note = (
        "Saml2Client.parse_authn_request_response, allow_unsolicited, encryption_keypairs: "
        "runs xmlsec1 --decrypt, then xmlsec1 --verify, as subprocesses"
    )

    def setup(self, ctx: Context) -> None:
        xmlsec1 = shutil.which("xmlsec1")
        if xmlsec1 is None:
            raise Unavailable("xmlsec1 binary not found (apt-get install xmlsec1)")
        from saml2 import BINDING_HTTP_POST
        from saml2.client import Saml2Client
        from saml2.config import SPConfig

        for name in ("saml2", "saml2.response", "saml2.client_base", "saml2.sigver"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        key_file = ctx.workdir / "sp-key.pem"
        cert_file = ctx.workdir / "sp-cert.pem"
        key_file.write_bytes(ctx.sp_key_pem)
        cert_file.write_bytes(ctx.sp_certificate_pem)
        config = SPConfig()
        config.load(
            {
                "entityid": SP_ENTITY_ID,
                "xmlsec_binary": xmlsec1,
                "metadata": {"inline": [ctx.metadata_xml.decode()]},
                "allow_unknown_attributes": True,
                "key_file": str(key_file),
                "cert_file": str(cert_file),
                "encryption_keypairs": [{"key_file": str(key_file), "cert_file": str(cert_file)}],
                "service": {
                    "sp": {
                        "endpoints": {
                            "assertion_consumer_service": [(ACS_URL, BINDING_HTTP_POST)],
                        },
                        "allow_unsolicited": True,
                        "want_assertions_signed": True,
                        "want_response_signed": False,
                        "authn_requests_signed": False,
                    }
                },
            }
        )
        self.client = Saml2Client(config)
        self.binding = BINDING_HTTP_POST

    def bind(self, case: Case) -> Callable[[], Result]:
        client, binding, b64 = self.client, self.binding, case.form_value

        def call() -> Result:
            response = client.parse_authn_request_response(b64, binding)
            if response is None:
                raise Unavailable("parse_authn_request_response returned None")
            return response.name_id.text, response.ava

        return call


class MinisamlPeer(Peer):
    name = "minisaml"
    note = "validate_response(data=b64, certificate, expected_audience, idp_issuer)"

    def setup(self, ctx: Context) -> None:
        from cryptography import x509
        from minisaml.response import validate_response

        self.validate = validate_response
        self.certificate = x509.load_pem_x509_certificate(ctx.idp_certificate_pem.encode())

    def bind(self, case: Case) -> Callable[[], Result]:
        validate, certificate, b64 = self.validate, self.certificate, case.form_value

        def call() -> Result:
            response = validate(
                data=b64,
                certificate=certificate,
                expected_audience=SP_ENTITY_ID,
                idp_issuer=IDP_ENTITY_ID,
            )
            return response.name_id, {a.name: a.values for a in response.attributes}

        return call


# --------------------------------------------------------------------------------------
# Checks and timing
# --------------------------------------------------------------------------------------


def check(call: Callable[[], Result]) -> None:
    vb.check(None, call, SHAPE)  # type: ignore[arg-type]  (the peer argument is unused)


def check_refuses(peer: Peer, tampered: Case) -> None:
    try:
        name_id, _ = peer.bind(tampered)()
    except Exception:
        return
    raise Unavailable(
        f"accepted an assertion whose NameID was changed after signing ({name_id!r}): "
        "the signature inside the encrypted assertion is not checked"
    )


def measure(
    calls: Mapping[str, Callable[[], Any]], rounds: int, batch_ms: float, min_batch: int
) -> dict[str, Cell]:
    """verify_bench's scheme: interleaved rounds, one batch per call per round, the order
    rotating every round, every call timed on its own, gc off inside a batch."""
    import gc

    cells = {key: Cell() for key in calls}
    sizes = {
        key: max(min_batch, round(batch_ms * 1e6 / vb.estimate_ns(call, budget_s=0.2)))
        for key, call in calls.items()
    }
    keys = list(calls)
    for r in range(rounds):
        shift = r % len(keys)
        for key in keys[shift:] + keys[:shift]:
            vb.run_batch(calls[key], sizes[key], cells[key].samples_ns)
            gc.collect()
    return cells


# --------------------------------------------------------------------------------------


FORMS = {
    "plain": Variant("plain", "", ""),
    "gcm": Variant("gcm", "gcm", "mgf1p"),
    "gcm11": Variant("gcm11", "gcm", "oaep-sha256"),
    "cbc": Variant("cbc", "cbc", "mgf1p"),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds (default 20)")
    parser.add_argument(
        "--batch-ms",
        type=float,
        default=100.0,
        help="target wall time of one batch of one library on one form (default 100)",
    )
    parser.add_argument(
        "--min-batch", type=int, default=3, help="fewest calls in one batch (default 3)"
    )
    parser.add_argument(
        "--peers",
        default=",".join(PEER_ORDER),
        help=f"comma-separated subset of {','.join(PEER_ORDER)}",
    )
    parser.add_argument(
        "--forms",
        default=",".join(k for k in FORMS if k != "plain"),
        help="comma-separated encrypted forms to time beside plain: gcm, gcm11, cbc (default all)",
    )
    parser.add_argument(
        "--gcm11-mgf",
        choices=("sha1", "sha256"),
        default="sha1",
        help="MGF1 digest of the gcm11 form's xmlenc11 rsa-oaep: sha1 (the default, no MGF "
        "element) or sha256 (an explicit xenc11:MGF mgf1sha256)",
    )
    parser.add_argument(
        "--no-key-hint",
        action="store_true",
        help="leave the SP certificate out of the EncryptedKey's KeyInfo",
    )
    parser.add_argument(
        "--no-decrypt-only",
        action="store_true",
        help="do not time samljit's decryption step alone (the cross-check row)",
    )
    parser.add_argument(
        "--generator",
        choices=("auto", "samljit", "builtin"),
        default="auto",
        help="who signs the assertion: samljit.testing.TestIdP or verify_bench's signxml one",
    )
    parser.add_argument(
        "--encryptor",
        choices=("auto", "samljit", "builtin"),
        default="auto",
        help="who encrypts the assertion: samljit.testing.encrypt_assertion (auto: when "
        "importable) or this script's own cryptography code",
    )
    parser.add_argument(
        "--replay-cache",
        choices=("fresh", "noop"),
        default="fresh",
        help="samljit replay cache: a fresh MemoryReplayCache per call (default) or a no-op",
    )
    parser.add_argument("--json", metavar="PATH", help="also write raw results as JSON")
    parser.add_argument("--quick", action="store_true", help="short run: 3 rounds of 20 ms batches")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI smoke run (make bench-smoke): samljit only, one tiny round; exit 1 if it fails",
    )
    return parser.parse_args(argv)


def xmlsec1_decrypt_error(case: Case, workdir: Path) -> str | None:
    """What ``xmlsec1 --decrypt`` (Debian's libxmlsec1, which the xmlsec binding links too)
    says about a form: None when it decrypts. Explains a peer's refusal; not timed."""
    xmlsec1 = shutil.which("xmlsec1")
    if xmlsec1 is None:
        return None
    document = workdir / f"probe-{case.variant.key}.xml"
    document.write_bytes(case.xml)
    out = subprocess.run(
        [
            xmlsec1,
            "--decrypt",
            "--privkey-pem",
            str(workdir / "sp-key.pem"),
            "--id-attr:Id",
            "EncryptedKey",
            str(document),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if out.returncode == 0:
        return None
    for line in out.stderr.splitlines():
        if "href=" in line or "not supported" in line:
            detail = line.split("error=", 1)[-1]
            return detail.split(":", 1)[-1].strip()
    return _short(out.stderr or f"exit status {out.returncode}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.quick:
        args.rounds, args.batch_ms = 3, 20.0
    if args.smoke:
        args.rounds, args.batch_ms, args.min_batch, args.peers = 1, 5.0, 1, "samljit"
    warnings.simplefilter("ignore")  # peers' deprecation chatter is not what is measured
    debug = bool(os.environ.get("BENCH_DEBUG"))
    wanted = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = sorted(set(wanted) - set(PEER_ORDER))
    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    unknown += sorted(set(forms) - (set(FORMS) - {"plain"}))
    if unknown:
        print(f"unknown peers or forms: {unknown}", file=sys.stderr)
        return 2
    if args.gcm11_mgf == "sha256":
        FORMS["gcm11"] = Variant("gcm11", "gcm", "oaep-sha256-mgf1sha256")
    variants = [FORMS["plain"], *(FORMS[k] for k in FORMS if k in forms)]
    encrypted_variants = variants[1:]

    idp, idp_note = vb.make_idp(args.generator)
    sp_key_pem, sp_certificate_pem = make_sp_keypair()
    workdir = tempfile.TemporaryDirectory(prefix="samljit-decrypt-bench-")
    ctx = Context(
        idp.metadata_xml, idp.certificate_pem, sp_key_pem, sp_certificate_pem, Path(workdir.name)
    )
    (ctx.workdir / "sp-key.pem").write_bytes(sp_key_pem)
    encryptor = Encryptor(sp_certificate_pem, key_hint=not args.no_key_hint, choice=args.encryptor)

    factories: dict[str, Callable[[], Peer]] = {
        "samljit": lambda: SamljitPeer(args.replay_cache),
        "python3-saml": Python3SamlPeer,
        "pysaml2": Pysaml2Peer,
        "minisaml": MinisamlPeer,
    }
    peers: list[Peer] = [factories[name]() for name in wanted]
    if "samljit" in wanted and not args.no_decrypt_only:
        peers.insert(wanted.index("samljit") + 1, SamljitDecryptOnly())
    setup_errors: dict[str, str] = {}
    for peer in peers:
        try:
            peer.setup(ctx)
        except Exception as exc:
            setup_errors[peer.name] = _short(exc)
            if debug:
                traceback.print_exc()

    # One signed response in every form; and every form with the NameID changed after
    # signing and before encrypting, which every library must refuse.
    signed = idp.issue(SHAPE, datetime.now(UTC))
    tampered_plain = vb.tamper(signed)
    cases: dict[str, Case] = {}
    tampered: dict[str, Case] = {}
    for variant in variants:
        for source, out in ((signed, cases), (tampered_plain, tampered)):
            xml = encryptor.encrypt_response(source.xml, variant) if variant.data else source.xml
            out[variant.key] = Case(variant, xml, base64.b64encode(xml).decode("ascii"))

    print("samljit decryption benchmark: median µs per call to verify a SAML Response, decrypting")
    print("its assertion when encrypted, and extract its NameID and attributes (lower is better)")
    print(
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs; {vb.libxml2_versions()}; {vb.xmlsec1_version()}"
    )
    print(f"assertion signed by: {idp.name}" + (f"  [{idp_note}]" if idp_note else ""))
    print(
        f"assertion encrypted by: {encryptor.name}"
        + (f"  [{encryptor.note}]" if encryptor.note else "")
        + ", for the SP's RSA-2048 certificate, EncryptedKey in the EncryptedData's KeyInfo, "
        + ("without" if args.no_key_hint else "with")
        + " the SP certificate as a hint"
    )
    print(
        f"timing: {args.rounds} interleaved rounds x ~{args.batch_ms:g} ms batch per library "
        f"and form, each call timed alone, gc off inside a batch"
    )
    print("forms of the same Okta-like response (6 attributes, assertion signed RSA-SHA256):")
    for variant in variants:
        print(f"  {variant.key:<6} {variant.label:<46} {len(cases[variant.key].xml):,} bytes")
    print()

    # Gates: accept with the right NameID and attributes; refuse the tampered form.
    calls: dict[str, Callable[[], Any]] = {}
    errors: dict[tuple[str, str], str] = {}
    short: dict[tuple[str, str], str] = {}  # what the cell says instead of a number
    probes: dict[str, str | None] = {}
    for peer in peers:
        if peer.name in setup_errors:
            continue
        for variant in variants:
            where = (peer.name, variant.key)
            decrypt_only = isinstance(peer, SamljitDecryptOnly)
            if decrypt_only and not variant.data:
                continue
            try:
                call = peer.bind(cases[variant.key])
                check(call)
                if not decrypt_only:  # decrypting alone checks no signature, by design
                    check_refuses(peer, tampered[variant.key])
                calls[f"{peer.name}|{variant.key}"] = call
            except Exception as exc:
                errors[where] = message = _short(exc)
                if debug:
                    traceback.print_exc()
                if isinstance(peer, MinisamlPeer) and variant.data:
                    message = re.sub(r",? ?<Element [^>]*>", "", message)
                    errors[where] = f"cannot decrypt: no XML Encryption support ({message})"
                    short[where] = "cannot decrypt"
                elif peer.name in ("python3-saml", "pysaml2") and variant.data:
                    if variant.key not in probes:
                        probes[variant.key] = xmlsec1_decrypt_error(cases[variant.key], ctx.workdir)
                    if probes[variant.key]:
                        errors[where] = (
                            f"{message} [libxmlsec1 cannot decrypt this form: "
                            f"xmlsec1 --decrypt says {probes[variant.key]}]"
                        )
                        short[where] = "unsupported by libxmlsec1"

    started = time.monotonic()
    print(f"timing {len(calls)} library x form pairs ...", flush=True)
    cells = measure(calls, args.rounds, args.batch_ms, args.min_batch)
    elapsed = time.monotonic() - started
    if timedelta(seconds=elapsed) > VALIDITY - vb.REISSUE_MARGIN:
        print(f"  warning: timing took {elapsed:.0f}s, near the validity window", file=sys.stderr)
    for key, call in calls.items():  # still accepted after the whole timing run?
        try:
            check(call)
        except Exception as exc:
            name, variant_key = key.split("|")
            errors[(name, variant_key)] = f"stopped accepting during timing: {_short(exc)}"
            cells.pop(key, None)
    print(f"timed in {elapsed:.0f} s")
    print()

    def cell(name: str, variant_key: str) -> Cell | None:
        found = cells.get(f"{name}|{variant_key}")
        return found if found is not None and found.samples_ns else None

    def text(name: str, variant_key: str) -> str:
        if name in setup_errors:
            return "unavailable"
        if (name, variant_key) in errors:
            return short.get((name, variant_key), "unavailable")
        found = cell(name, variant_key)
        return "-" if found is None else _fmt_us(found.median_us)

    def cost(name: str, variant_key: str) -> float | None:
        if name == SamljitDecryptOnly.name:
            found = cell(name, variant_key)
            return None if found is None else found.median_us
        plain, encrypted = cell(name, "plain"), cell(name, variant_key)
        if plain is None or encrypted is None:
            return None
        return encrypted.median_us - plain.median_us

    names = [peer.name for peer in peers]
    keys = [v.key for v in variants]
    encrypted_keys = [v.key for v in encrypted_variants]

    print("Median µs per call (verify, decrypt when encrypted, read NameID and attributes)")
    print(render_table([[n, *(text(n, k) for k in keys)] for n in names], ["library", *keys]))

    print()
    print("Decryption cost per login: median(form) - median(plain), µs  [form / plain]")
    rows = []
    for name in names:
        row = [name]
        for key in encrypted_keys:
            value = cost(name, key)
            if value is None:
                row.append(text(name, key) if cell(name, key) is None else "-")
            elif name == SamljitDecryptOnly.name:
                row.append(f"{_fmt_us(value)}  [alone]")
            else:
                factor = cell(name, key).median_us / cell(name, "plain").median_us  # type: ignore[union-attr]
                row.append(f"{'+' if value >= 0 else '-'}{_fmt_us(abs(value))}  [x{factor:.2f}]")
        rows.append(row)
    print(render_table(rows, ["library", *encrypted_keys]))

    others = [n for n in names if n not in ("samljit", SamljitDecryptOnly.name)]
    if "samljit" in names and others:
        print()
        print("Ratios samljit / peer: the whole call on each form, then the decryption cost")
        header = ["peer", *keys, *(f"cost {k}" for k in encrypted_keys)]
        rows = []
        for other in others:
            row = [other]
            for key in keys:
                mine, theirs = cell("samljit", key), cell(other, key)
                row.append(
                    f"{mine.median_us / theirs.median_us:.3f}"
                    if mine and theirs
                    else short.get((other, key), "-")
                )
            for key in encrypted_keys:
                mine_cost, their_cost = cost("samljit", key), cost(other, key)
                row.append(
                    f"{mine_cost / their_cost:.3f}"
                    if mine_cost is not None and their_cost is not None and their_cost > 0
                    else "-"
                )
            rows.append(row)
        print(render_table(rows, header))

    print()
    print("Spread: p25 / p75 µs and samples per cell")
    rows = []
    for name in names:
        row = [name]
        for key in keys:
            found = cell(name, key)
            row.append(
                "-"
                if found is None
                else f"{_fmt_us(found.quantile_us(0.25))} / {_fmt_us(found.quantile_us(0.75))}"
                f" n={len(found.samples_ns)}"
            )
        rows.append(row)
    print(render_table(rows, ["library", *keys]))

    print()
    print("Libraries:")
    for peer in peers:
        status = f"unavailable: {setup_errors[peer.name]}" if peer.name in setup_errors else "ok"
        print(f"  {peer.name:<21}{peer.version():<14} {status}")
        print(f"  {'':<21}{peer.note}")
    if errors:
        print()
        print("Cells without a number:")
        for (name, key), message in errors.items():
            print(f"  {name} on {key}: {message}")

    if args.smoke and (setup_errors or errors):
        broken = [*setup_errors.values(), *(f"{n} on {k}: {m}" for (n, k), m in errors.items())]
        print(f"smoke run failed: {'; '.join(broken)}", file=sys.stderr)
        workdir.cleanup()
        return 1

    if args.json:
        payload = {
            "generator": idp.name,
            "encryptor": encryptor.name,
            "replay_cache": args.replay_cache,
            "rounds": args.rounds,
            "batch_ms": args.batch_ms,
            "key_hint": not args.no_key_hint,
            "forms": {v.key: {"label": v.label, "bytes": len(cases[v.key].xml)} for v in variants},
            "setup_errors": setup_errors,
            "results": {
                name: {
                    key: (
                        {"error": errors[(name, key)]}
                        if (name, key) in errors
                        else {
                            "median_us": c.median_us,
                            "p25_us": c.quantile_us(0.25),
                            "p75_us": c.quantile_us(0.75),
                            "samples": len(c.samples_ns),
                        }
                        if (c := cell(name, key)) is not None
                        else None
                    )
                    for key in keys
                }
                for name in names
            },
            "decryption_cost_us": {
                name: {key: cost(name, key) for key in encrypted_keys} for name in names
            },
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
        print(f"\nraw results written to {args.json}")
    workdir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
