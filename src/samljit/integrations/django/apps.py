"""The Django app of samljit (``INSTALLED_APPS += ["samljit.integrations.django"]``)."""

from __future__ import annotations

from django.apps import AppConfig


class SamljitConfig(AppConfig):
    """The Django app of :mod:`samljit.integrations.django`."""

    name = "samljit.integrations.django"
    label = "samljit"
    verbose_name = "SAML single sign-on"
    default_auto_field = "django.db.models.BigAutoField"
