"""The ``samljit`` console script: a thin layer over the public API.

Exit codes are a contract: 0 success, 1 the input was rejected (the JSON says why), 2 usage.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import math
import re
import sys
import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from . import __version__
from ._certificates import fingerprint, load_certificate
from ._time import require_aware
from .bindings import encode_redirect, post_form
from .claims import ClaimMapping, Claims
from .config import SPConfig
from .errors import AccountMismatch, ConfigError, InvalidBase64, SamlError
from .messages import build_authn_request
from .metadata import (
    BINDING_HTTP_POST,
    BINDING_HTTP_REDIRECT,
    ParsedMetadata,
    build_sp_metadata,
    parse_idp_metadata,
)
from .metadata_source import MetadataFinding, MetadataSource, check_metadata
from .models import Assertion
from .response import verify_response
from .stores.memory import (
    MemoryReplayCache,
)

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


class _Usage(Exception):
    def __init__(self, message: str, parser: argparse.ArgumentParser | None = None) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Usage(message, self)


# Library messages name SPConfig settings; the CLI's user sets them with these options.
_FLAGS = {
    "SPConfig.entity_id": "--sp-entity-id",
    "SPConfig.acs_url": "--acs-url",
    "SPConfig.slo_url": "--slo-url",
    "SPConfig.clock_skew": "--clock-skew",
    "allow_sha1": "--allow-sha1",
    "allow_legacy_encryption": "--allow-legacy-encryption",
}
_SETTING = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, _FLAGS)) + r")\b")


def _in_cli_terms(message: str) -> str:
    return _SETTING.sub(lambda m: _FLAGS[m.group(1)], message)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``samljit`` command line; returns the exit code (0, 1 or 2)."""
    _quiet_library_logs()
    parser = _build_parser()
    args_list = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args_list
    failed: argparse.ArgumentParser = parser
    try:
        args = parser.parse_args(args_list)
        failed = args.parser
        if not hasattr(args, "run"):
            choices = ", ".join(_commands(failed))
            raise _Usage(f"choose a command: {choices}")
        code: int = args.run(args)
        return code
    except _Usage as exc:
        failed = exc.parser or failed
        message = _in_cli_terms(str(exc))
        if as_json:
            _print_json({"ok": False, "error": {"code": "usage_error", "message": message}})
        else:
            failed.print_usage(sys.stderr)
            print(f"{failed.prog}: error: {message}", file=sys.stderr)
        return EXIT_USAGE


def _quiet_library_logs() -> None:
    # Every failure is in the output already; without a handler anywhere, logging's "last
    # resort" would print the library's warnings (a failed metadata refresh) to stderr again.
    library = logging.getLogger("samljit")
    if not any(isinstance(h, logging.NullHandler) for h in library.handlers):
        library.addHandler(logging.NullHandler())


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    return [
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    ]


_COMMAND_HELP = "the command; COMMAND --help shows its options"


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="samljit", description="SAML 2.0 SSO tools for administrators")
    parser.set_defaults(parser=parser)
    parser.add_argument("--version", action="version", version=f"samljit {__version__}")
    commands = parser.add_subparsers(
        parser_class=_Parser, title="commands", metavar="COMMAND", help=_COMMAND_HELP
    )

    def command(
        group: argparse._SubParsersAction[_Parser], name: str, help: str
    ) -> argparse.ArgumentParser:
        sub = group.add_parser(name, help=help, description=help)
        sub.set_defaults(parser=sub)
        return sub

    def json_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--json", action="store_true", help="print one JSON object (see docs/cli.md)"
        )

    at_help = "the instant to judge at: ISO 8601 (UTC without an offset) or now (the default)"

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
    verify.add_argument("--at", metavar="ISO8601", help=at_help)
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

    metadata = command(commands, "metadata", "IdP metadata tools")
    metadata_commands = metadata.add_subparsers(
        parser_class=_Parser, title="commands", metavar="COMMAND", help=_COMMAND_HELP
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
    inspect.add_argument("--at", metavar="ISO8601", help=at_help)
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
    check.add_argument("--at", metavar="ISO8601", help=at_help)
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

    mapping = command(commands, "mapping", "claim mapping tools")
    mapping_commands = mapping.add_subparsers(
        parser_class=_Parser, title="commands", metavar="COMMAND", help=_COMMAND_HELP
    )
    test = command(
        mapping_commands, "test", "map a NameID and attributes to an identity, without any XML"
    )
    source = test.add_mutually_exclusive_group()
    source.add_argument("--preset", metavar="NAME", help="a vendor preset, e.g. okta, entra")
    source.add_argument("--config", metavar="FILE", help="a ClaimMapping as JSON or TOML")
    test.add_argument("--name-id", default="", metavar="VALUE", help="the NameID the IdP sends")
    test.add_argument("--name-id-format", metavar="URI", help="the NameID's Format")
    test.add_argument(
        "--attributes", metavar="FILE.json", help='attributes as JSON: {"Name": ["value", ...]}'
    )
    test.add_argument(
        "--attribute",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="one attribute value (repeatable)",
    )
    test.add_argument(
        "--accepted-role",
        action="append",
        default=[],
        metavar="ROLE",
        help="repeatable; without it (and without accepted_roles in --config) any role is shown",
    )
    test.add_argument("--account", metavar="ID", help="the account the login is for")
    json_option(test)
    test.set_defaults(run=_mapping_test)

    login_url = command(
        commands, "login-url", "build an SP-initiated login request to test an IdP by hand"
    )
    login_url.add_argument(
        "--idp-metadata", required=True, metavar="FILE", help="the IdP metadata XML, or -"
    )
    login_url.add_argument("--idp-entity-id", metavar="ID", help="pick an IdP from an aggregate")
    login_url.add_argument(
        "--sp-entity-id", required=True, metavar="ID", help="the SP entity ID (the Issuer)"
    )
    login_url.add_argument(
        "--acs-url", required=True, metavar="URL", help="where the IdP posts the response"
    )
    login_url.add_argument(
        "--relay-state", metavar="S", help="a RelayState the IdP sends back with the response"
    )
    login_url.add_argument(
        "--binding",
        choices=("redirect", "post"),
        default="redirect",
        help="how the request goes to the IdP (default redirect)",
    )
    login_url.add_argument("--sp-key", metavar="FILE", help="PEM private key to sign with")
    json_option(login_url)
    login_url.set_defaults(run=_login_url)

    sp_metadata = command(commands, "sp-metadata", "print this SP's metadata XML")
    sp_metadata.add_argument(
        "--sp-entity-id",
        "--entity-id",
        dest="entity_id",
        required=True,
        metavar="ID",
        help="the SP entity ID",
    )
    sp_metadata.add_argument(
        "--acs-url", required=True, metavar="URL", help="the ACS URL (HTTP-POST)"
    )
    sp_metadata.add_argument("--cert", metavar="FILE", help="PEM signing certificate")
    sp_metadata.add_argument(
        "--encryption-cert", metavar="FILE", help="PEM certificate IdPs encrypt assertions for"
    )
    sp_metadata.add_argument(
        "--slo-url", metavar="URL", help="the Single Logout URL (HTTP-Redirect and HTTP-POST)"
    )
    sp_metadata.add_argument(
        "--want-assertions-signed", action="store_true", help="ask the IdP to sign assertions"
    )
    sp_metadata.set_defaults(run=_sp_metadata)
    return parser


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise _Usage(f"cannot read {path}: {exc.strerror}") from exc


def _rsa_key(path: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as exc:
        raise _Usage(f"{path} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _Usage(f"{path} is not an RSA key (XML Encryption key transport needs RSA)")
    return key


def _instant(value: str | None) -> datetime:
    if value is None or value.strip().lower() == "now":
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return require_aware(moment, "--at")
    except (ValueError, OverflowError) as exc:
        raise _Usage(
            f"--at {value!r} is not now or an ISO 8601 date-time SAML can express"
        ) from exc
    except SamlError as exc:
        raise _Usage(exc.message) from exc


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


_URL_ENCODED = re.compile(rb"%(2B|2F|3D|0A|0D)", re.IGNORECASE)


def _explained(exc: SamlError, args: argparse.Namespace, pasted: bytes = b"") -> SamlError:
    """The error, with what to do about it in terms of this command's options."""
    hint = ""
    if isinstance(exc, InvalidBase64) and pasted:
        if pasted[:1] == b"<":
            hint = (
                "this is XML: give the SAMLResponse form value as POSTed (the base64 of the "
                "XML), e.g. from the browser's network panel"
            )
        elif _URL_ENCODED.search(pasted):
            hint = (
                "this is URL-encoded (it holds %2B, %2F or %3D): URL-decode it first, or copy "
                "the form value from the parsed form data rather than the raw request body"
            )
    elif exc.code == "unsolicited_response" and getattr(args, "no_unsolicited", False):
        hint = "give the AuthnRequest ID with --in-response-to, or drop --no-unsolicited"
    elif exc.code == "in_response_to_mismatch" and getattr(args, "in_response_to", "") is None:
        hint = "give the ID of the AuthnRequest it answers with --in-response-to"
    elif exc.code in ("metadata_ambiguous", "metadata_entity_not_found"):
        hint = "choose the IdP with --idp-entity-id"
    message = _in_cli_terms(exc.message) + (f"; {hint}" if hint else "")
    if message == exc.message:
        return exc
    explained = type(exc)(message, expected=exc.expected, found=exc.found)
    return explained


def _mapping_test(args: argparse.Namespace) -> int:
    settings = _mapping_settings(args)
    attributes: dict[str, list[str]] = {}
    if args.attributes:
        try:
            loaded = json.loads(_read(args.attributes))
            for name, values in dict(loaded).items():
                attributes[str(name)] = [values] if isinstance(values, str) else list(values)
        except (ValueError, TypeError) as exc:
            raise _Usage(f"--attributes must be a JSON object of name -> values: {exc}") from exc
    for item in args.attribute:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise _Usage(f"--attribute takes NAME=VALUE, got {item!r}")
        attributes.setdefault(name, []).append(value)
    claims = Claims(name_id=args.name_id, name_id_format=args.name_id_format, attributes=attributes)
    notes: list[str] = []
    if args.accepted_role:
        settings["accepted_roles"] = args.accepted_role
    any_role = not settings.get("accepted_roles")
    try:
        if any_role:
            # Nothing to check roles against: accept whatever the IdP sent, and the roles the
            # mapping itself names, so that the role is shown as the mapping would make it.
            settings = _accepting_any_role(settings, claims)
            notes.append("no accepted roles configured: the role is shown as the IdP sent it")
        mapping = ClaimMapping.from_dict(settings)
    except ConfigError as exc:
        raise _Usage(exc.message) from exc
    try:
        identity = mapping.map(claims)
        if args.account is not None and identity.account_id not in (None, args.account):
            raise AccountMismatch(
                f"the claims name account {identity.account_id!r}, not {args.account!r}",
                expected=args.account,
                found=identity.account_id,
            )
    except SamlError as exc:
        return _rejected(exc, args.json)
    role: str | None = identity.role
    warnings = [*identity.warnings, *notes]
    if any_role and role == _NO_ROLE:
        role = None
        warnings = [w for w in warnings if _NO_ROLE not in w]
        warnings.append(
            f"the IdP sent no role (attribute {' or '.join(mapping.role_attributes)}): a login "
            "would be refused with role_not_accepted unless the mapping has a default_role"
        )
    report: dict[str, Any] = {
        "email": identity.email,
        "full_name": identity.full_name,
        "role": role,
        "account_id": identity.account_id,
        "extra": {key: list(values) for key, values in identity.extra.items()},
        "warnings": warnings,
    }
    if args.json:
        _print_json({"ok": True, "identity": report})
    else:
        print("MAPPED")
        for key in ("email", "full_name", "role", "account_id"):
            print(f"  {key + ':':12} {report[key]}")
        for key, values in report["extra"].items():
            print(f"  {key}: {', '.join(values)}")
        for warning in report["warnings"]:
            print(f"warning: {warning}")
    return EXIT_OK


_NO_ROLE = "(no role sent)"


def _accepting_any_role(settings: dict[str, Any], claims: Claims) -> dict[str, Any]:
    """``settings`` with accepted roles made of the roles sent and the roles the mapping names;
    a claim without any role maps to the placeholder :data:`_NO_ROLE`, never shown."""
    probe = ClaimMapping.from_dict(
        {
            **{k: v for k, v in settings.items() if k not in _ROLE_SETTINGS},
            "accepted_roles": [_NO_ROLE],
        }
    )
    named: list[str] = [value.strip() for value in claims.values(probe.role_attributes)]
    role_values = settings.get("role_values")
    if isinstance(role_values, dict):
        named += [str(role) for role in role_values.values()]
    for rule in settings.get("group_roles") or ():
        if isinstance(rule, dict) and "role" in rule:
            named.append(str(rule["role"]))
        elif isinstance(rule, list | tuple) and len(rule) == 2:
            named.append(str(rule[1]))
    if isinstance(settings.get("default_role"), str):
        named.append(settings["default_role"])
    accepted = list(dict.fromkeys(role for role in named if role))
    out = {**settings, "accepted_roles": [*accepted, _NO_ROLE]}
    if "default_role" not in settings:
        out |= {"unaccepted_role": "default", "default_role": _NO_ROLE}
    return out


_ROLE_SETTINGS = frozenset(
    {"accepted_roles", "role_values", "group_roles", "default_role", "unaccepted_role"}
)


def _mapping_settings(args: argparse.Namespace) -> dict[str, Any]:
    if args.config:
        text = _read(args.config)
        try:
            if args.config.endswith(".toml"):
                loaded: Any = tomllib.loads(text.decode("utf-8"))
            else:
                loaded = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Usage(f"cannot read the mapping in {args.config}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise _Usage(f"{args.config} must hold an object of mapping settings")
        return dict(loaded.get("mapping", loaded))
    return {"preset": args.preset or "generic"}


def _login_url(args: argparse.Namespace) -> int:
    metadata_xml = _read(args.idp_metadata)
    key = None
    if args.sp_key:
        try:
            loaded = serialization.load_pem_private_key(_read(args.sp_key), password=None)
        except (ValueError, TypeError) as exc:
            raise _Usage(f"--sp-key is not an unencrypted PEM private key: {exc}") from exc
        if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise _Usage("--sp-key must be an RSA or EC key")
        key = loaded
    try:
        sp = SPConfig(entity_id=args.sp_entity_id, acs_url=args.acs_url)
    except SamlError as exc:
        raise _Usage(exc.message) from exc
    try:
        idp = parse_idp_metadata(metadata_xml, entity_id=args.idp_entity_id).idp
    except SamlError as exc:
        return _rejected(_explained(exc, args), args.json)
    wanted = BINDING_HTTP_POST if args.binding == "post" else BINDING_HTTP_REDIRECT
    endpoint = idp.sso_service(wanted)
    if endpoint is None:
        other = "redirect" if args.binding == "post" else "post"
        raise _Usage(
            f"the IdP metadata has no SingleSignOnService for --binding {args.binding}; "
            f"try --binding {other}"
        )
    post = args.binding == "post"
    request = build_authn_request(
        sp=sp,
        destination=endpoint.location,
        now=datetime.now(UTC),
        signing_key=key if post else None,
    )
    relay = {} if args.relay_state is None else {"RelayState": args.relay_state}
    fields = {"SAMLRequest": base64.b64encode(request.xml).decode("ascii"), **relay}
    url = None
    if not post:
        url = encode_redirect(
            request.xml, destination=endpoint.location, relay_state=args.relay_state, key=key
        )
    if args.json:
        _print_json(
            {
                "ok": True,
                "request_id": request.request_id,
                "binding": args.binding,
                "destination": endpoint.location,
                "url": url,
                "form_fields": fields if post else None,
                "idp_entity_id": idp.entity_id,
            }
        )
        return EXIT_OK
    print(url if url is not None else post_form(endpoint.location, fields))
    print(f"request ID: {request.request_id}", file=sys.stderr)
    return EXIT_OK


def _sp_metadata(args: argparse.Namespace) -> int:
    def certificate(path: str | None) -> x509.Certificate | None:
        if path is None:
            return None
        try:
            return load_certificate(_read(path))
        except ValueError as exc:
            raise _Usage(f"{path} is not a PEM certificate: {exc}") from exc

    try:
        SPConfig(entity_id=args.entity_id, acs_url=args.acs_url)
    except SamlError as exc:
        raise _Usage(exc.message) from exc
    xml = build_sp_metadata(
        entity_id=args.entity_id,
        acs_url=args.acs_url,
        slo_url=args.slo_url,
        signing_certificate=certificate(args.cert),
        encryption_certificate=certificate(args.encryption_cert),
        want_assertions_signed=args.want_assertions_signed,
    )
    sys.stdout.write(xml.decode("utf-8"))
    return EXIT_OK


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


def _rejected(exc: SamlError, as_json: bool) -> int:
    if as_json:
        _print_json({"ok": False, "error": exc.to_dict()})
    else:
        print(f"REJECTED [{exc.code}] {exc.message}")
        if exc.expected is not None:
            print(f"  expected: {exc.expected}")
        if exc.found is not None:
            print(f"  found:    {exc.found}")
    return EXIT_REJECTED


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


def _print_assertion(assertion: Assertion) -> None:
    print(f"  NameID:        {assertion.name_id.value} ({assertion.name_id.format or 'no format'})")
    print(f"  issuer:        {assertion.issuer}")
    print(f"  signed:        {', '.join(assertion.signed_parts)}")
    print(f"  valid until:   {_iso(assertion.not_on_or_after)}")
    if assertion.in_response_to:
        print(f"  answers:       {assertion.in_response_to}")
    for name, values in assertion.attributes.items():
        print(f"  {name}: {', '.join(values)}")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _print_json(payload: dict[str, Any]) -> None:
    json.dump(payload, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
