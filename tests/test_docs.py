"""Every ```python block in README.md and docs/ runs as written (blocks of a file share state,
in order), so the documentation cannot drift from the code."""

from __future__ import annotations

import ast
import re
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    # Django's page runs in a configured project (tests/django_app/test_docs.py).
    *(ROOT / "docs" / "integrations" / f"{name}.md" for name in ("flask", "fastapi")),
]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_python_examples_in_the_docs_run(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = BLOCK.findall(path.read_text())
    # A real module, so that dataclasses and pickling in the examples behave as in an app.
    module = types.ModuleType(f"docs_{path.stem.replace('-', '_')}")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for number, block in enumerate(blocks, start=1):
        code = compile(block, f"{path.name} block {number}", "exec")
        exec(code, module.__dict__)  # noqa: S102 - our own documentation
    capsys.readouterr()


def test_the_index_links_every_page() -> None:
    index = (ROOT / "docs" / "index.md").read_text()
    linked = set(re.findall(r"\]\(([^)#]+\.md)(?:#[^)]*)?\)", index))
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert pages - {"index.md"} - linked == set()


def test_every_test_that_security_md_names_exists() -> None:
    """docs/security.md links each property to the tests that enforce it: each
    ``tests/<file>.py::<test>`` it names is a test function of that file."""
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", (ROOT / "docs" / "security.md").read_text())
    assert len(named) >= 10
    missing = []
    for file, test in named:
        path = ROOT / file
        functions = (
            {
                node.name
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            }
            if path.is_file()
            else set()
        )
        if test not in functions:
            missing.append(f"{file}::{test}")
    assert missing == []
