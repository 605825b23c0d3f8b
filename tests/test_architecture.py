"""The rules of docs/architecture.md: the modules of src/samljit stand in layers, each imports
only from its own layer or lower ones, and the core imports no web framework or database
driver. Imports are read with ``ast``, without importing anything."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# The layers, lowest first. A module may import from its own layer and the ones below it.
LAYERS: dict[str, set[str]] = {
    "foundation": {
        "samljit.errors",
        "samljit._extras",
        "samljit._fetch",
        "samljit._certificates",
        "samljit._models",
        "samljit.presets",
        "samljit._relay_state",
    },
    "parsing": {"samljit._xml", "samljit._time"},
    "building blocks": {
        "samljit._config",
        "samljit._schema",
        "samljit._signed_info",
        "samljit._signature",
        "samljit._lean_signature",
        "samljit._encryption",
        "samljit._keys",
        "samljit.bindings",
        "samljit._claims",
        "samljit._email",
        "samljit._domains",
    },
    "SAML documents and ports": {
        "samljit._metadata_document",
        "samljit.metadata",
        "samljit._expiry",
        "samljit._accounts",
        "samljit.setup_guides",
        "samljit._setup_vendors",
        "samljit.messages",
        "samljit.protocols",
        "samljit._admin_protocols",
        "samljit._async_protocols",
        "samljit._directory_protocols",
        "samljit._flow",
        "samljit._peek",
    },
    "verification and decisions": {
        "samljit._web_sso",
        "samljit._ports",
        "samljit._idp_cache",
        "samljit._response",
        "samljit.logout",
        "samljit.metadata_source",
        "samljit._monitoring",
        "samljit._refresh",
        "samljit.provisioning",
        "samljit.directory",
    },
    "flows": {"samljit._results", "samljit._context", "samljit.history"},
    "feature flows": {
        "samljit._acs_steps",
        "samljit._acs",
        "samljit._sp_initiated",
        "samljit._slo",
    },
    "test connection": {"samljit._test_login"},
    "service": {"samljit._service_base", "samljit._async_service", "samljit._service"},
    # samljit.domains imports dnspython (the [dns] extra) lazily, as the stores do theirs.
    "edges": {"samljit", "samljit.__main__", "samljit.cli", "samljit.domains"},
}

# Whole packages at the edges: a new module under them needs no entry.
EDGE_PACKAGES = (
    "samljit.stores",
    "samljit.integrations",
    "samljit.scim",
    "samljit.testing",
    "samljit.cli",
)

# What the layers below the edges may import from outside the standard library.
CORE_THIRD_PARTY = {"lxml", "signxml", "cryptography"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "samljit").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _layer(module: str) -> int:
    if module.startswith(tuple(f"{package}." for package in EDGE_PACKAGES)) or (
        module in EDGE_PACKAGES
    ):
        return len(LAYERS) - 1
    for number, members in enumerate(LAYERS.values()):
        if module in members:
            return number
    raise AssertionError(
        f"{module} is in no layer: add it to LAYERS in tests/test_architecture.py, in the "
        "lowest layer whose modules it needs, and to the diagram of docs/architecture.md"
    )


def _imports(module: str) -> set[str]:
    """The absolute names of what ``module`` imports (``from . import x`` gives the module
    ``x`` when it is one, else the package)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = {f"{target}.{alias.name}" for alias in node.names} & MODULES.keys()
            if node.module or len(submodules) < len(node.names):
                names.add(target)
            names.update(
                f"{target}.{alias.name}"
                for alias in node.names
                if f"{target}.{alias.name}" in MODULES
            )
    return names


def _own(name: str) -> str | None:
    """The samljit module ``name`` is, or is in (``samljit.errors.SamlError``)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_stands_in_a_layer(module: str) -> None:
    assert 0 <= _layer(module) < len(LAYERS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_from_a_higher_layer(module: str) -> None:
    names = list(LAYERS)
    upward = {
        f"{target} ({names[_layer(target)]})"
        for name in _imports(module)
        if name.split(".")[0] == "samljit"
        and (target := _own(name)) is not None
        and _layer(target) > _layer(module)
    }
    assert upward == set(), f"{module} ({names[_layer(module)]}) imports from a higher layer"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) < len(LAYERS) - 1))
def test_the_core_imports_no_framework_or_database_driver(module: str) -> None:
    """Below the edges, only the standard library and lxml, signxml and cryptography. (The
    adapters and stores import theirs lazily, and ``import samljit`` loads none of them:
    tests/test_package.py checks ``sys.modules`` in a subprocess.)"""
    outside = {
        top
        for name in _imports(module)
        if (top := name.split(".")[0]) not in sys.stdlib_module_names and top not in ("samljit", "")
    }
    assert outside <= CORE_THIRD_PARTY, module


def test_an_unplaced_module_is_refused_with_a_hint() -> None:
    with pytest.raises(AssertionError, match="add it to LAYERS"):
        _layer("samljit._new_module")


def test_an_upward_import_is_seen() -> None:
    """The rule can fail: the service imports the verification layer, not the reverse."""
    assert _layer("samljit._response") < _layer("samljit._service_base")
    assert "samljit._response" in {_own(name) for name in _imports("samljit._service_base")}


# Modules stay small enough to read in one sitting (docs/architecture.md).
MAX_LINES = 400
# errors.py is the one error tree, drawn at its top and documented as one page: a flat list of
# small classes, kept whole on purpose (STYLE.md, "Errors").
LONGER_ON_PURPOSE = {"samljit.errors"}


def _lines(module: str) -> int:
    return len(MODULES[module].read_text().splitlines())


@pytest.mark.parametrize(
    "module",
    sorted(m for m in MODULES if m not in LONGER_ON_PURPOSE),
)
def test_no_module_is_longer_than_the_limit(module: str) -> None:
    """Split a module that grows past the limit along a real seam, into a private module its
    public namespace re-exports (as protocols.py re-exports _async_protocols.py)."""
    assert _lines(module) <= MAX_LINES, f"{module} has {_lines(module)} lines"


@pytest.mark.parametrize("module", sorted(LONGER_ON_PURPOSE))
def test_a_module_allowed_to_be_longer_still_needs_it(module: str) -> None:
    """An exception that no longer applies is removed, so the limit covers the module again."""
    assert _lines(module) > MAX_LINES
