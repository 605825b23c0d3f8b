"""What samljit keeps in the host app's database: the SSO facts of each user, each account's
SSO configuration, and what SCIM provisioning adds (the IdP's groups and the accounts'
tokens)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

__all__ = ["ScimBearerToken", "ScimGroup", "ScimGroupMember", "SsoAccount", "SsoProfile"]


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
    active = models.BooleanField(default=True)
    """False once the IdP deactivated the user by SCIM (mirrored to the user's
    ``is_active``): SAML logins are refused and the app stops counting the user."""
    external_id = models.CharField(max_length=500, null=True, blank=True)
    """The IdP's own ID of the user (SCIM ``externalId``)."""
    scim_resource = models.TextField(null=True, blank=True)
    """The SCIM attributes the IdP last wrote, as JSON text (None: only SAML wrote)."""
    version = models.PositiveIntegerField(default=0)
    """Grows with every SCIM write, which applies only at the version it read."""
    updated_at = models.DateTimeField(null=True, blank=True)
    """When SCIM last wrote the user."""

    class Meta:
        """Django model options."""

        verbose_name = "SSO profile"
        indexes = [  # noqa: RUF012 - Django reads Meta options from plain class attributes
            models.Index(fields=["account_id", "external_id"], name="samljit_profile_external"),
        ]

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


class ScimGroup(models.Model):
    """A group the account's IdP pushed by SCIM; its members' roles follow the account's
    group-to-role rules."""

    account_id = models.CharField(max_length=200, db_index=True)
    display_name = models.CharField(max_length=500)
    external_id = models.CharField(max_length=500, null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        """Django model options."""

        verbose_name = "SCIM group"

    def __str__(self) -> str:
        return f"{self.display_name} ({self.account_id})"


class ScimGroupMember(models.Model):
    """A user in a :class:`ScimGroup`, at the place the IdP listed them."""

    group = models.ForeignKey(ScimGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scim_memberships"
    )
    position = models.PositiveIntegerField()

    class Meta:
        """Django model options."""

        verbose_name = "SCIM group member"
        constraints = [  # noqa: RUF012 - Django reads Meta options from plain class attributes
            models.UniqueConstraint(fields=["group", "user"], name="samljit_scim_member_once"),
        ]


class ScimBearerToken(models.Model):
    """One of an account's SCIM bearer tokens: the SHA-256 of its secret, never the secret."""

    token_id = models.CharField(max_length=100, unique=True)
    account_id = models.CharField(max_length=200, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        """Django model options."""

        verbose_name = "SCIM token"

    def __str__(self) -> str:
        return f"{self.token_id} ({self.account_id})"
