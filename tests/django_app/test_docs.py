"""docs/integrations/django.md runs as written, in a configured Django project (the
generic tests/test_docs.py runs docs/*.md without Django settings)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from samljit import AccountConfig, LoginService
from samljit.integrations.django import (
    DjangoAccountStore,
    DjangoSessionIssuer,
    DjangoUserStore,
    current_session_revoker,
    login_service,
)
from samljit.stores.memory import MemoryReplayCache

from ..test_docs import BLOCK

PAGE = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "django.md"


def test_the_python_blocks_of_the_django_page_run(monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = BLOCK.findall(PAGE.read_text())
    assert len(blocks) >= 4
    module = types.ModuleType("docs_integrations_django")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"django.md block {number}", "exec"), module.__dict__)  # noqa: S102
    assert isinstance(DjangoAccountStore().get("acme"), AccountConfig)


def test_login_service_fills_in_the_django_parts_and_takes_the_rest() -> None:
    cache = MemoryReplayCache()
    service = login_service(replay_cache=cache)
    assert isinstance(service, LoginService)
    assert isinstance(service.accounts, DjangoAccountStore)
    assert isinstance(service.users, DjangoUserStore)
    assert isinstance(service.sessions, DjangoSessionIssuer)
    assert service.session_revoker is current_session_revoker
    assert service.replay_cache is cache
    users = DjangoUserStore(group_prefix="sso:")
    assert login_service(replay_cache=cache, users=users).users is users
