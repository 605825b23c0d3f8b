"""The ``samljit`` console script: a thin layer over the public API.

Exit codes are a contract: 0 success, 1 the input was rejected (the JSON says why), 2 usage.
One module per command group: ``_verify``, ``_metadata`` (inspect, check), ``_mapping``
(test) and ``_sp`` (login-url, sp-metadata); ``_common`` holds what they share.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from . import _mapping, _metadata, _sp, _verify
from ._common import (
    COMMAND_HELP,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_USAGE,
    _in_cli_terms,
    _Parser,
    _print_json,
    _Usage,
)
from ._metadata import metadata_json
from ._verify import assertion_json

__all__ = [
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "assertion_json",
    "main",
    "metadata_json",
]


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


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="samljit", description="SAML 2.0 SSO tools for administrators")
    parser.set_defaults(parser=parser)
    parser.add_argument("--version", action="version", version=f"samljit {__version__}")
    commands = parser.add_subparsers(
        parser_class=_Parser, title="commands", metavar="COMMAND", help=COMMAND_HELP
    )
    for group in (_verify, _metadata, _mapping, _sp):
        group.add_commands(commands)
    return parser
