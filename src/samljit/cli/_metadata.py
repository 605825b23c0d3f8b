"""``samljit metadata inspect`` and ``samljit metadata check``."""

from __future__ import annotations

import argparse
import math
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .._certificates import fingerprint, load_certificate
from ..errors import ConfigError, SamlError
from ..metadata import ParsedMetadata, parse_idp_metadata
from ..metadata_source import MetadataFinding, MetadataSource, check_metadata
from ._common import (
    AT_HELP,
    COMMAND_HELP,
    EXIT_OK,
    EXIT_REJECTED,
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
    metadata = command(commands, "metadata", "IdP metadata tools")
    metadata_commands = metadata.add_subparsers(
        parser_class=_Parser, title="commands", metavar="COMMAND", help=COMMAND_HELP
    )
    inspect = command(metadata_commands, "inspect", "show what samljit reads from metadata")
    inspect.add_argument("file", help="the IdP metadata XML, or -")
    inspect.add_argument(
        "--idp-entity-id",
        "--entity-id",
        dest="entity_id",
        metavar="ID",
        help="pick an IdP from an aggregate",
    )
    inspect.add_argument("--at", metavar="ISO8601", help=AT_HELP)
    json_option(inspect)
    inspect.set_defaults(run=_inspect)
    check = command(
        metadata_commands,
        "check",
        "report expiring certificates and expired or unreadable metadata (exit 1), for cron",
    )
    check.add_argument(
        "sources", nargs="+", metavar="FILE_OR_URL", help="metadata files (or -) and https URLs"
    )
    check.add_argument(
        "--days", type=int, default=30, metavar="N", help="report certificates expiring within N"
    )
    check.add_argument("--at", metavar="ISO8601", help=AT_HELP)
    check.add_argument(
        "--idp-entity-id",
        "--entity-id",
        dest="entity_id",
        metavar="ID",
        help="pick an IdP from an aggregate",
    )
    check.add_argument(
        "--metadata-cert",
        action="append",
        default=[],
        metavar="FILE",
        help="PEM certificate that must have signed the metadata (repeatable)",
    )
    check.add_argument("--allow-http", action="store_true", help="also fetch http:// URLs")
    check.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="for each URL: connecting, each read, the whole body (default 10)",
    )
    json_option(check)
    check.set_defaults(run=_check)


def _inspect(args: argparse.Namespace) -> int:
    data = _read(args.file)
    try:
        parsed = parse_idp_metadata(data, entity_id=args.entity_id, now=_instant(args.at))
    except SamlError as exc:
        return _rejected(_explained(exc, args), args.json)
    report = metadata_json(parsed)
    if args.json:
        _print_json({"ok": True, "metadata": report})
        return EXIT_OK
    print(f"entity ID:        {report['entity_id']}")
    for endpoint in report["sso_services"]:
        print(f"SSO:              {endpoint['binding'].rsplit(':', 1)[-1]}  {endpoint['location']}")
    for endpoint in report["slo_services"]:
        print(f"SLO:              {endpoint['binding'].rsplit(':', 1)[-1]}  {endpoint['location']}")
    for cert in report["signing_certificates"]:
        print(f"signing cert:     sha256 {cert['sha256']}")
        print(f"                  {cert['subject']}, {cert['key']}, expires {cert['not_after']}")
    if report["name_id_formats"]:
        print(f"NameID formats:   {', '.join(report['name_id_formats'])}")
    print(
        f"signed requests:  {'wanted' if report['want_authn_requests_signed'] else 'not required'}"
    )
    if report["valid_until"]:
        print(f"valid until:      {report['valid_until']}")
    for warning in report["warnings"]:
        print(f"warning: {warning['code']}: {warning['message']}")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    now = _instant(args.at)
    if args.days < 0:
        raise _Usage("--days must be 0 or more")
    if not (math.isfinite(args.timeout) and 0 < args.timeout <= 600):
        raise _Usage("--timeout must be a number of seconds between 0 and 600")
    pinned = []
    for path in args.metadata_cert:
        try:
            pinned.append(load_certificate(_read(path)))
        except ValueError as exc:
            raise _Usage(f"{path} is not a PEM certificate: {exc}") from exc
    findings: list[MetadataFinding] = []
    checked: list[dict[str, Any]] = []
    for location in args.sources:
        source = _checked_source(location, args, pinned, now)
        if isinstance(source, str):
            findings.append(
                MetadataFinding(source=location, code="metadata_fetch_failed", message=source)
            )
            continue
        found = check_metadata([source], now=now, days=args.days)
        findings += found
        idp = source.idp
        if idp is not None:
            checked.append(
                {
                    "source": source.name,
                    "entity_id": idp.entity_id,
                    "valid_until": _iso(idp.valid_until),
                    "certificates": [
                        {"sha256": fingerprint(c), "not_after": _iso(c.not_valid_after_utc)}
                        for c in idp.signing_certificates
                    ],
                }
            )
            if not found and not args.json:
                last = min(c.not_valid_after_utc for c in idp.signing_certificates)
                print(f"OK {source.name}: {idp.entity_id}, first certificate expiry {_iso(last)}")
    if args.json:
        _print_json(
            {
                "ok": not findings,
                "findings": [f.to_dict() for f in findings],
                "checked": checked,
            }
        )
    else:
        for finding in findings:
            print(f"ACTION [{finding.code}] {finding.source}: {finding.message}")
    return EXIT_REJECTED if findings else EXIT_OK


def _checked_source(
    location: str, args: argparse.Namespace, pinned: list[x509.Certificate], now: datetime
) -> MetadataSource | str:
    """The metadata at ``location``, fetched or read, and loaded; why a file cannot be read."""
    if "://" in location:
        try:
            source = MetadataSource(
                location,
                entity_id=args.entity_id,
                signing_certificates=pinned,
                allow_http=args.allow_http,
                # The operator typed this URL: no one else chose where it points (no SSRF).
                allow_private_addresses=True,
                timeout=args.timeout,
            )
        except ConfigError as exc:
            hint = "" if args.allow_http else " (--allow-http permits http)"
            raise _Usage(f"{location} is not an https URL with a host{hint}") from exc
        source.refresh(now=now)
        return source
    try:
        data = sys.stdin.buffer.read() if location == "-" else Path(location).read_bytes()
    except OSError as exc:
        return f"cannot read {location}: {exc.strerror}"
    source = MetadataSource(
        None, entity_id=args.entity_id, signing_certificates=pinned, name=location
    )
    source.load(data, now=now)
    return source


def metadata_json(parsed: ParsedMetadata) -> dict[str, Any]:
    """The JSON form of parsed metadata used by ``samljit metadata inspect --json``."""
    idp = parsed.idp
    certificates = []
    for cert in idp.signing_certificates:
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            key_text = f"RSA {key.key_size}"
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key_text = f"EC {key.curve.name}"
        else:
            key_text = type(key).__name__
        algorithm = cert.signature_hash_algorithm
        certificates.append(
            {
                "sha256": fingerprint(cert),
                "subject": cert.subject.rfc4514_string(),
                "not_before": _iso(cert.not_valid_before_utc),
                "not_after": _iso(cert.not_valid_after_utc),
                "key": key_text,
                "signature_hash": algorithm.name if algorithm else None,
            }
        )
    return {
        "entity_id": idp.entity_id,
        "sso_services": [{"binding": e.binding, "location": e.location} for e in idp.sso_services],
        "slo_services": [{"binding": e.binding, "location": e.location} for e in idp.slo_services],
        "signing_certificates": certificates,
        "name_id_formats": list(idp.name_id_formats),
        "want_authn_requests_signed": idp.want_authn_requests_signed,
        "valid_until": _iso(idp.valid_until),
        "warnings": [{"code": w.code, "message": w.message} for w in parsed.warnings],
    }
