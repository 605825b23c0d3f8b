"""What every ``samljit`` command shares: usage errors, reading inputs, printing results."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from .._time import require_aware
from ..errors import InvalidBase64, SamlError

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2

COMMAND_HELP = "the command; COMMAND --help shows its options"
AT_HELP = "the instant to judge at: ISO 8601 (UTC without an offset) or now (the default)"


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


def command(
    group: argparse._SubParsersAction[_Parser], name: str, help: str
) -> argparse.ArgumentParser:
    """A subcommand ``name`` of ``group``, which knows its own parser (for usage errors)."""
    sub = group.add_parser(name, help=help, description=help)
    sub.set_defaults(parser=sub)
    return sub


def json_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--json", action="store_true", help="print one JSON object (see docs/cli.md)")


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise _Usage(f"cannot read {path}: {exc.strerror}") from exc


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


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _print_json(payload: dict[str, Any]) -> None:
    json.dump(payload, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
