"""``samljit verify``: a captured SAMLResponse, verified as the ACS would."""

from __future__ import annotations

import argparse
import math
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .._config import SPConfig
from .._models import Assertion
from .._response import verify_response
from ..errors import SamlError
from ..metadata import parse_idp_metadata
from ..stores.memory import MemoryReplayCache
from ._common import (
    AT_HELP,
    EXIT_OK,
    _explained,
    _instant,
    _iso,
    _Parser,
    _print_json,
    _read,
    _rejected,
    _Usage,
    command,
    json_option,
)


def add_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    """Add this group's commands to the ``samljit`` parser."""
    verify = command(
        commands, "verify", "verify a captured SAMLResponse as the ACS would, at a given instant"
    )
    verify.add_argument("response", help="file holding the POSTed SAMLResponse value, or -")
    verify.add_argument(
        "--idp-metadata", required=True, metavar="FILE", help="the IdP metadata XML, or -"
    )
    verify.add_argument("--idp-entity-id", metavar="ID", help="pick an IdP from an aggregate")
    verify.add_argument(
        "--sp-entity-id", required=True, metavar="ID", help="the SP entity ID (the audience)"
    )
    verify.add_argument(
        "--acs-url", required=True, metavar="URL", help="the ACS URL (Destination, Recipient)"
    )
    verify.add_argument("--at", metavar="ISO8601", help=AT_HELP)
    verify.add_argument(
        "--in-response-to", metavar="ID", help="the ID of the AuthnRequest the SP sent"
    )
    verify.add_argument(
        "--no-unsolicited", action="store_true", help="refuse IdP-initiated responses"
    )
    verify.add_argument(
        "--allow-sha1", action="store_true", help="accept SHA-1 signatures and digests"
    )
    verify.add_argument(
        "--sp-key",
        action="append",
        default=[],
        metavar="FILE",
        help="PEM private key to decrypt encrypted assertions (repeatable, for rollover)",
    )
    verify.add_argument(
        "--allow-legacy-encryption",
        action="store_true",
        help="accept RSA 1.5 key transport and 3DES in encrypted assertions",
    )
    verify.add_argument(
        "--clock-skew",
        type=float,
        default=180.0,
        metavar="SECONDS",
        help="tolerance of every time comparison, 0 to 900 (default 180)",
    )
    json_option(verify)
    verify.set_defaults(run=_verify)


def _rsa_key(path: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as exc:
        raise _Usage(f"{path} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _Usage(f"{path} is not an RSA key (XML Encryption key transport needs RSA)")
    return key


def _verify(args: argparse.Namespace) -> int:
    response = _read(args.response)
    metadata_xml = _read(args.idp_metadata)
    now = _instant(args.at)
    if not math.isfinite(args.clock_skew) or not 0 <= args.clock_skew <= 900:
        raise _Usage("--clock-skew must be a number of seconds between 0 and 900")
    try:
        sp = SPConfig(
            entity_id=args.sp_entity_id,
            acs_url=args.acs_url,
            allow_sha1=args.allow_sha1,
            allow_legacy_encryption=args.allow_legacy_encryption,
            clock_skew=timedelta(seconds=args.clock_skew),
        )
    except SamlError as exc:
        raise _Usage(exc.message) from exc
    keys = [_rsa_key(path) for path in args.sp_key]
    try:
        parsed = parse_idp_metadata(metadata_xml, entity_id=args.idp_entity_id, now=now)
        assertion = verify_response(
            response.strip(),
            idp=parsed.idp,
            sp=sp,
            now=now,
            replay_cache=MemoryReplayCache(),
            in_response_to=args.in_response_to,
            allow_unsolicited=not args.no_unsolicited,
            decryption_keys=keys,
        )
    except SamlError as exc:
        return _rejected(_explained(exc, args, response.strip()), args.json)
    warnings = [{"code": w.code, "message": w.message} for w in parsed.warnings]
    if args.json:
        _print_json({"ok": True, "assertion": assertion_json(assertion), "warnings": warnings})
    else:
        print("ACCEPTED")
        _print_assertion(assertion)
        for warning in warnings:
            print(f"warning: {warning['code']}: {warning['message']}")
    return EXIT_OK


def assertion_json(assertion: Assertion) -> dict[str, Any]:
    """The JSON form of an assertion used by ``samljit verify --json``."""
    return {
        "name_id": assertion.name_id.value,
        "name_id_format": assertion.name_id.format,
        "issuer": assertion.issuer,
        "assertion_id": assertion.assertion_id,
        "response_id": assertion.response_id,
        "in_response_to": assertion.in_response_to,
        "session_index": assertion.session_index,
        "authn_instant": _iso(assertion.authn_instant),
        "authn_context_class": assertion.authn_context_class,
        "not_on_or_after": _iso(assertion.not_on_or_after),
        "audiences": list(assertion.audiences),
        "attributes": {name: list(values) for name, values in assertion.attributes.items()},
        "friendly_names": {
            a.name: a.friendly_name for a in assertion.attribute_details if a.friendly_name
        },
        "signed_parts": list(assertion.signed_parts),
        "signing_certificate_sha256": assertion.signing_certificate_sha256,
    }


def _print_assertion(assertion: Assertion) -> None:
    print(f"  NameID:        {assertion.name_id.value} ({assertion.name_id.format or 'no format'})")
    print(f"  issuer:        {assertion.issuer}")
    print(f"  signed:        {', '.join(assertion.signed_parts)}")
    print(f"  valid until:   {_iso(assertion.not_on_or_after)}")
    if assertion.in_response_to:
        print(f"  answers:       {assertion.in_response_to}")
    for name, values in assertion.attributes.items():
        print(f"  {name}: {', '.join(values)}")
