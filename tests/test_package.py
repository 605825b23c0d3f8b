"""The package as users meet it: its public names, its footprint, its error codes."""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import samljit
import samljit.errors

ROOT = Path(__file__).resolve().parents[1]

REFERENCE = ROOT / "docs" / "reference.md"


def _isort_key(name: str) -> tuple[int, str]:
    """How ruff (RUF022) sorts ``__all__``: CONSTANTS, then Classes, then functions."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_every_public_name_of_the_package_is_exported() -> None:
    """Derived from the module, as httpx's tests/test_exported_members.py does: whatever
    ``samljit`` defines or imports without a leading underscore, except submodules."""
    public = {
        name
        for name, value in vars(samljit).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public == set(samljit.__all__) - {"__version__"}


def test_every_exported_name_exists_once_and_all_is_sorted() -> None:
    assert all(hasattr(samljit, name) for name in samljit.__all__)
    assert len(set(samljit.__all__)) == len(samljit.__all__)
    assert samljit.__all__ == sorted(samljit.__all__, key=_isort_key)


def test_every_error_class_is_exported() -> None:
    errors = {cls.__name__ for cls in _error_classes()} | {"SamlWarning"}
    assert errors <= set(samljit.__all__)


def _documented_public_names() -> set[str]:
    """The names in the first column of docs/reference.md's "All public names" table."""
    text = REFERENCE.read_text().split("## All public names", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            first_column = re.findall(r"`([A-Za-z_][A-Za-z0-9_.]*)`", line.split(" | ", 1)[0])
            # A row of a submodule's names (`samljit.stores.redis.RedisReplayCache`, ...)
            # documents that module, not the package.
            if not any("." in name for name in first_column):
                names.update(first_column)
    return names


def test_the_reference_lists_every_exported_name() -> None:
    assert set(samljit.__all__) - _documented_public_names() == set()


def test_the_reference_lists_no_name_that_is_not_exported() -> None:
    assert _documented_public_names() - set(samljit.__all__) == set()


def test_the_docs_name_no_unexported_samljit_attribute() -> None:
    """``samljit.X`` in any page is an exported name, a submodule (``samljit.testing``) or a
    logger (``samljit.audit``); file names and strings such as ``"samljit.sqlite3"`` aside."""
    loggers = {name for name in logging.Logger.manager.loggerDict if name.startswith("samljit.")}
    wrong = set()
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for name in re.findall(r"(?<![\w\"'/.])samljit\.([A-Za-z][A-Za-z0-9_]*)", page.read_text()):
            if (
                name not in samljit.__all__
                and f"samljit.{name}" not in loggers
                and importlib.util.find_spec(f"samljit.{name}") is None
            ):
                wrong.add(f"{page.name}: samljit.{name}")
    assert not wrong


_SIGNATURE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\(", re.M)


def _documented_signatures() -> list[tuple[str, str, list[str]]]:
    """(heading, name, parameter names) of each ``name(...)`` at the start of a line in the
    ```text blocks of docs/reference.md."""
    found = []
    heading = ""
    for part in re.split(r"^```text\n(.*?)^```", REFERENCE.read_text(), flags=re.S | re.M)[:]:
        headings = re.findall(r"^### (.*)$", part, re.M)
        if headings:
            heading = headings[-1]
        for match in _SIGNATURE.finditer(part):
            depth, end = 1, match.end()
            while depth and end < len(part):
                depth += {"(": 1, ")": -1}.get(part[end], 0)
                end += 1
            inner = part[match.end() : end - 1]
            found.append((heading, match.group(1), _parameter_names(inner)))
    return found


def _parameter_names(text: str) -> list[str]:
    names, depth, current = [], 0, ""
    for char in text + ",":
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == "," and depth == 0:
            name = re.split(r"[:=]", current.strip(), maxsplit=1)[0].strip()
            if name and name not in ("*", "/"):
                names.append(name)
            current = ""
        else:
            current += char
    return names


def _documented_object(heading: str, name: str) -> Any:
    if hasattr(samljit, name):
        return getattr(samljit, name)
    for owner in re.findall(r"`([A-Za-z_][A-Za-z0-9_.]*)`", heading):
        cls = getattr(samljit, owner.split(".")[0], None)
        if cls is not None and hasattr(cls, name):
            return getattr(cls, name)
    raise AssertionError(f"docs/reference.md ({heading}) documents {name}(), which is not found")


def test_the_reference_has_signatures_to_check() -> None:
    names = {name for _, name, _ in _documented_signatures()}
    assert {"parse_idp_metadata", "verify_response", "verify_response_xml", "LoginService"} <= names


@pytest.mark.parametrize(
    ("heading", "name", "documented"),
    _documented_signatures(),
    ids=[f"{name}-{n}" for n, (_, name, _) in enumerate(_documented_signatures())],
)
def test_each_documented_signature_has_the_real_parameters(
    heading: str, name: str, documented: list[str]
) -> None:
    real = [
        p
        for p in inspect.signature(_documented_object(heading, name)).parameters
        if p not in ("self", "cls")
    ]
    assert documented == real


def test_importing_samljit_loads_no_web_framework_or_database_driver() -> None:
    probe = (
        "import json, sys, samljit, samljit.testing, samljit.cli, samljit.integrations, "
        "samljit.stores.sqlite; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    forbidden = {
        "flask",
        "django",
        "fastapi",
        "starlette",
        "redis",
        "sqlalchemy",
        "requests",
        "uvicorn",
    }
    assert not loaded & forbidden
    assert "xmlsec" not in loaded  # no libxmlsec1 binding: pure signxml + cryptography


def test_the_package_is_typed() -> None:
    assert (Path(samljit.__file__).parent / "py.typed").is_file()


def _error_classes() -> list[type[samljit.SamlError]]:
    return [
        cls
        for _, cls in inspect.getmembers(samljit.errors, inspect.isclass)
        if issubclass(cls, samljit.SamlError)
    ]


def test_every_error_has_its_own_stable_snake_case_code() -> None:
    codes = [cls.code for cls in _error_classes()]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", code) for code in codes)


def test_every_error_code_is_documented() -> None:
    text = (ROOT / "docs" / "errors.md").read_text()
    missing = [cls.code for cls in _error_classes() if f"`{cls.code}`" not in text]
    assert not missing


def test_errors_carry_expected_and_found_without_the_document() -> None:
    err = samljit.AudienceMismatch("meant for someone else", expected="a", found=["b"])
    assert err.to_dict() == {
        "code": "audience_mismatch",
        "message": "meant for someone else",
        "expected": "a",
        "found": ["b"],
    }
    assert str(err) == "meant for someone else"
