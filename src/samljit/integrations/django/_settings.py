"""A setting that names one object: resolved on first use, once, and again when it changes."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

T = TypeVar("T")


class SettingObject(Generic[T]):
    """The object a setting names: the object itself, a zero-argument callable returning one,
    or the dotted path of either. Resolved on first use; forgotten when the setting changes
    (Django's ``override_settings``), so tests can swap it."""

    def __init__(self, name: str, kind: type[T], described: str) -> None:
        self._name = name
        self._kind = kind
        self._described = described
        self._value: T | None = None
        self._lock = threading.Lock()
        setting_changed.connect(self._forget, dispatch_uid=f"samljit_forget_{name}")

    def get(self) -> T | None:
        """The object; None when the setting is absent."""
        with self._lock:
            if self._value is None:
                setting = getattr(settings, self._name, None)
                self._value = None if setting is None else self._resolve(setting)
            return self._value

    def require(self) -> T:
        """The object.

        Raises:
            ImproperlyConfigured: the setting is absent or names something else.
        """
        value = self.get()
        return value if value is not None else self._resolve(None)

    def _resolve(self, setting: object) -> T:
        target = import_string(setting) if isinstance(setting, str) else setting
        if not isinstance(target, self._kind) and callable(target):
            target = target()
        if not isinstance(target, self._kind):
            raise ImproperlyConfigured(
                f"{self._name} must be {self._described}, a zero-argument callable returning "
                f"one, or the dotted path of either; got {target!r}"
            )
        return target

    def _forget(self, *, setting: str, **_: object) -> None:
        if setting == self._name:
            with self._lock:
                self._value = None
