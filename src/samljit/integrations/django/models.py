"""What samljit keeps in the host app's database: the SSO facts of each user, and each
account's SSO configuration."""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["SsoAccount", "SsoProfile"]


class SsoProfile(models.Model):
    """The SSO side of a Django user: which account the user belongs to and what the IdP
    said about them. A Django user without one (a local, password user) is never taken
    over by an SSO login."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_profile"
    )
    email = models.CharField(max_length=320, unique=True)
    """The samljit user key, ASCII-lower-cased (samljit normalizes it): the unique index is
    what makes two concurrent first logins create one user, not two. Compared exactly: give
    the column a binary (or case- and accent-sensitive) collation on MySQL."""
    account_id = models.CharField(max_length=200, db_index=True)
    full_name = models.CharField(max_length=500, null=True, blank=True)
    """The IdP's full name as given (None: the IdP sent none); first_name and last_name on
    the user are split from it for Django's display."""
    role = models.CharField(max_length=200)
    """The IdP's role; the user is also in the Group of that name (permissions go there)."""
    created_at = models.DateTimeField()
    last_sso_login = models.DateTimeField(null=True, blank=True)

    class Meta:
        """Django model options."""

        verbose_name = "SSO profile"

    def __str__(self) -> str:
        return f"{self.email} ({self.account_id})"


class SsoAccount(models.Model):
    """One account's SSO configuration: ``AccountConfig.to_dict()`` as JSON text.

    Text rather than a JSONField: the metadata is kept byte for byte, and a document in
    another encoding than UTF-8 becomes lone surrogate escapes that PostgreSQL's jsonb
    refuses.
    """

    account_id = models.CharField(max_length=200, primary_key=True)
    idp_entity_id = models.CharField(max_length=1024, db_index=True)
    config = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        """Django model options."""

        verbose_name = "SSO account"

    def __str__(self) -> str:
        return f"{self.account_id} -> {self.idp_entity_id}"
