"""The package as pip installs it: what each extra brings, what an adapter says when its extra is
missing, what the sdist holds, and ``python -m samljit``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import textwrap
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from trove_classifiers import classifiers as known_classifiers

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# (module, the third-party package it imports, the extra that installs it, what an app built as
# docs/ and examples/ show also imports)
ADAPTERS = [
    (
        "samljit.integrations.fastapi",
        "starlette",
        "fastapi",
        ["fastapi", "fastapi.responses", "starlette.middleware.sessions", "uvicorn"],
    ),
    ("samljit.integrations.flask", "flask", "flask", ["flask"]),
    ("samljit.integrations.django", "django", "django", ["django.contrib.auth", "django.urls"]),
    ("samljit.stores.sqlalchemy", "sqlalchemy", "sqlalchemy", ["sqlalchemy"]),
    ("samljit.stores.redis", "redis", "redis", ["redis.asyncio"]),
    ("samljit.scim", "scim2_models", "scim", ["scim2_models"]),
]
IDS = [extra for _, _, extra, _ in ADAPTERS]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )


@pytest.mark.parametrize(("module", "dependency", "extra", "app_imports"), ADAPTERS, ids=IDS)
def test_an_adapter_without_its_extra_names_the_extra_to_install(
    module: str, dependency: str, extra: str, app_imports: list[str]
) -> None:
    done = _python(
        textwrap.dedent(f"""
            import sys
            sys.modules[{dependency!r}] = None  # not installed
            try:
                import {module}
            except ModuleNotFoundError as exc:
                print(exc.name, exc, sep="\\n")
            """)
    )
    name, message = done.stdout.splitlines()
    assert name.partition(".")[0] == dependency
    assert f"needs {dependency!r}" in message
    assert f"pip install 'samljit[{extra}]'" in message


def _closure(extra: str) -> set[str]:
    """The distributions ``pip install 'samljit[extra]'`` installs, read from the installed
    metadata: samljit's own requirements for ``extra``, then theirs, transitively."""
    found: set[str] = set()
    todo = [("samljit", frozenset({extra}))]
    while todo:
        name, extras = todo.pop()
        key = canonicalize_name(name)
        if key in found and not extras:
            continue
        found.add(key)
        for line in metadata.requires(name) or []:
            req = Requirement(line)
            wanted = req.marker is None or any(
                req.marker.evaluate({"extra": e}) for e in {"", *extras}
            )
            if wanted:
                todo.append((req.name, frozenset(req.extras)))
    return found


@pytest.mark.parametrize(("module", "dependency", "extra", "app_imports"), ADAPTERS, ids=IDS)
def test_each_extra_installs_what_its_adapter_and_documented_app_import(
    module: str, dependency: str, extra: str, app_imports: list[str]
) -> None:
    """Every importable third-party package outside ``samljit[extra]``'s dependencies is hidden,
    as on a machine where only that extra was installed; the adapter and the imports of the
    documented app must still work (a [fastapi] that installed only starlette did not)."""
    allowed = _closure(extra)
    hidden = sorted(
        top
        for top, dists in metadata.packages_distributions().items()
        if not {canonicalize_name(d) for d in dists} & allowed
    )
    done = _python(
        textwrap.dedent(f"""
            import importlib, importlib.abc, sys
            HIDDEN = set({hidden!r})

            class NotInstalled(importlib.abc.MetaPathFinder):
                def find_spec(self, name, path=None, target=None):
                    if name.partition(".")[0] in HIDDEN:
                        raise ModuleNotFoundError(f"no module named {{name!r}}", name=name)
                    return None

            sys.meta_path.insert(0, NotInstalled())
            for name in [{module!r}, *{app_imports!r}]:
                importlib.import_module(name)
            print("ok")
            """)
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_development_tools_are_a_dependency_group_not_an_extra() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    # Every extra is a runtime one: the adapters above, and dns, imported only when a TXT
    # lookup runs (its missing-extra error is tested in tests/test_domains.py).
    assert set(extras) == set(IDS) | {"dns"}
    tools = " ".join(PYPROJECT["dependency-groups"]["dev"])
    assert all(tool in tools for tool in ("pytest", "ruff", "mypy", "selenium"))


def test_the_build_backend_reads_the_spdx_license_expression() -> None:
    # `license = "MIT"` (PEP 639) is understood from setuptools 77 on.
    assert PYPROJECT["project"]["license"] == "MIT"
    assert "setuptools>=77" in PYPROJECT["build-system"]["requires"]


def test_every_classifier_is_a_known_trove_classifier() -> None:
    classifiers = PYPROJECT["project"]["classifiers"]
    assert not [c for c in classifiers if c not in known_classifiers]
    assert any(c.startswith("Development Status ::") for c in classifiers)
    for framework in ("Django", "FastAPI", "Flask"):
        assert f"Framework :: {framework}" in classifiers


def test_the_sdist_ships_the_package_and_no_test_suite(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "MANIFEST.in", "README.md", "LICENSE", "CHANGELOG.md"):
        shutil.copy(ROOT / name, tree / name)
    for folder in ("src", "tests"):
        shutil.copytree(
            ROOT / folder,
            tree / folder,
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".hypothesis"),
        )
    build = "from setuptools import build_meta; print(build_meta.build_sdist(%r))"
    done = subprocess.run(
        [sys.executable, "-c", build % str(tmp_path)],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    sdist = tmp_path / done.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as archive:
        names = [name.partition("/")[2] for name in archive.getnames()]
        member = archive.extractfile(f"{archive.getnames()[0].partition('/')[0]}/PKG-INFO")
        assert member is not None
        pkg_info = member.read().decode()
    assert "src/samljit/__init__.py" in names
    assert "src/samljit/py.typed" in names
    assert "src/samljit/__main__.py" in names
    assert "src/samljit/integrations/django/templates/samljit/admin/layout.html" in names
    assert not [name for name in names if name.startswith("tests")]
    assert "License-Expression: MIT" in pkg_info
    assert 'extra == "dev"' not in pkg_info
    assert "defusedxml" not in pkg_info


def test_python_dash_m_samljit_runs_the_console_script() -> None:
    version = subprocess.run(
        [sys.executable, "-m", "samljit", "--version"], capture_output=True, text=True, check=False
    )
    assert (version.returncode, version.stdout.split()[0]) == (0, "samljit")
    usage = subprocess.run(
        [sys.executable, "-m", "samljit", "verify", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert usage.returncode == 2
    assert json.loads(usage.stdout)["error"]["code"] == "usage_error"
