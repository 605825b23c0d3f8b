"""The package as users meet it: its public names, its footprint, its error codes."""

from __future__ import annotations

import importlib
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

REFERENCE = ROOT / "docs" / "reference"


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


def test_every_error_class_is_exported_from_samljit_errors() -> None:
    errors = {cls.__name__ for cls in _error_classes()} | {"SamlWarning"}
    assert errors <= set(samljit.errors.__all__)


def test_the_top_level_exports_the_branches_of_the_error_tree_only() -> None:
    """A host app catches SamlError (or a branch); leaf classes live in samljit.errors."""
    errors = {
        name
        for name in samljit.__all__
        if isinstance(getattr(samljit, name), type)
        and issubclass(getattr(samljit, name), (samljit.SamlError, samljit.SamlWarning))
    }
    branches = {cls.__name__ for cls in samljit.SamlError.__subclasses__()}
    assert errors == branches | {"SamlError", "SamlWarning"}


def test_the_top_level_stays_small() -> None:
    """What a host app needs, about fifty names; everything else in a public namespace."""
    assert len(samljit.__all__) <= 61  # 60, and the SCIM branch of the error tree


# The public namespaces, each documented by one generated page of docs/reference/.
PUBLIC_NAMESPACES = {
    "samljit",
    "samljit.errors",
    "samljit.protocols",
    "samljit.presets",
    "samljit.setup_guides",
    "samljit.testing",
    "samljit.testing.attacks",
    "samljit.stores.memory",
    "samljit.stores.sqlite",
    "samljit.stores.redis",
    "samljit.stores.sqlalchemy",
    "samljit.integrations.flask",
    "samljit.integrations.fastapi",
    "samljit.integrations.django",
    "samljit.integrations.django.scim_views",
    "samljit.integrations.sessions",
    "samljit.integrations.admin",
    "samljit.messages",
    "samljit.logout",
    "samljit.bindings",
    "samljit.metadata",
    "samljit.metadata_source",
    "samljit.domains",
    "samljit.history",
    "samljit.provisioning",
    "samljit.scim",
    "samljit.directory",
}

_DIRECTIVE = re.compile(r"^::: ([\w.]+)\n((?:[ \t]+.*\n)*)", re.M)


def _reference_directives() -> dict[str, str]:
    """Each ``::: module`` directive of docs/reference/*.md, with its indented options."""
    found: dict[str, str] = {}
    for page in sorted(REFERENCE.glob("*.md")):
        for match in _DIRECTIVE.finditer(page.read_text() + "\n"):
            assert match.group(1) not in found, f"{match.group(1)} documented twice"
            found[match.group(1)] = match.group(2)
    return found


def test_the_reference_documents_every_public_namespace_once() -> None:
    assert set(_reference_directives()) == PUBLIC_NAMESPACES


def test_the_reference_follows_all_rather_than_a_hand_kept_list() -> None:
    """No directive names its members: mkdocstrings renders each namespace's ``__all__``."""
    assert {name: options for name, options in _reference_directives().items() if options} == {}
    assert "members:" not in (ROOT / "mkdocs.yml").read_text()
    for name in PUBLIC_NAMESPACES - {"samljit.integrations.django"}:
        assert hasattr(importlib.import_module(name), "__all__"), name


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


def _public_callables() -> list[tuple[str, Any]]:
    """Every function, class and method a public namespace exports, by its documented name."""
    found: dict[str, Any] = {}
    for namespace in sorted(PUBLIC_NAMESPACES - {"samljit.integrations.django"}):
        module = importlib.import_module(namespace)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value):
                found.setdefault(f"{value.__module__}.{value.__qualname__}", value)
                for attr, member in vars(value).items():
                    if inspect.isfunction(member) and not attr.startswith("_"):
                        found.setdefault(f"{value.__module__}.{member.__qualname__}", member)
            elif inspect.isfunction(value):
                found.setdefault(f"{value.__module__}.{value.__qualname__}", value)
    return sorted(found.items())


_ARGS = re.compile(r"^( *)Args:\n((?:\1 {4}.*\n|\n)+)", re.M)


def _documented_parameters(obj: Any) -> list[str]:
    """The names the ``Args:`` section of the docstring describes (Google style)."""
    match = _ARGS.search((inspect.getdoc(obj) or "") + "\n")
    if match is None:
        return []
    return re.findall(r"^ {4}(\*{0,2}\w+)(?: \(.*?\))?:", match.group(2), re.M)


def test_the_reference_has_arguments_to_check() -> None:
    documented = {name for name, obj in _public_callables() if _documented_parameters(obj)}
    assert {
        "samljit._response.verify_response",
        "samljit.metadata.parse_idp_metadata",
    } <= documented


@pytest.mark.parametrize(("name", "obj"), _public_callables(), ids=lambda v: str(v)[:60])
def test_each_documented_argument_is_a_real_parameter(name: str, obj: Any) -> None:
    """The generated reference shows the real signature; the ``Args:`` of its docstring may
    not describe a parameter that the code does not have."""
    try:
        real = set(inspect.signature(obj).parameters)
    except ValueError:  # a builtin without a signature documents no Args
        real = set()
    assert set(_documented_parameters(obj)) - real == set(), name


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
    err = samljit.errors.AudienceMismatch("meant for someone else", expected="a", found=["b"])
    assert err.to_dict() == {
        "code": "audience_mismatch",
        "message": "meant for someone else",
        "expected": "a",
        "found": ["b"],
    }
    assert str(err) == "meant for someone else"
