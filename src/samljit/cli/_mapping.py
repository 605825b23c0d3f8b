"""``samljit mapping test``: a NameID and attributes mapped to an identity, without XML."""

from __future__ import annotations

import argparse
import json
import tomllib
from typing import Any

from .._claims import ClaimMapping, Claims
from ..errors import AccountMismatch, ConfigError, SamlError
from ._common import (
    COMMAND_HELP,
    EXIT_OK,
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
    mapping = command(commands, "mapping", "claim mapping tools")
    mapping_commands = mapping.add_subparsers(
        parser_class=_Parser, title="commands", metavar="COMMAND", help=COMMAND_HELP
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
