"""Users, their organizations and their roles in the data sharing process."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class OrganizationKind(models.TextChoices):
    STATE_EDUCATION_AGENCY = "sea", "State education agency"
    LEGISLATURE = "legislature", "Legislature"
    STATE_AGENCY = "state_agency", "Other state agency"
    UNIVERSITY = "university", "University"
    RESEARCH_NONPROFIT = "nonprofit", "Research nonprofit"
    SCHOOL_DISTRICT = "district", "School district"
    OTHER = "other", "Other"


# "OSPI is prioritizing requests from agency and legislative staff": these kinds go first.
PRIORITY_KINDS: frozenset[str] = frozenset(
    {
        OrganizationKind.STATE_EDUCATION_AGENCY,
        OrganizationKind.LEGISLATURE,
        OrganizationKind.STATE_AGENCY,
    }
)


class Organization(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=OrganizationKind.choices)
    mailing_address = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_priority(self) -> bool:
        return self.kind in PRIORITY_KINDS


class Role(models.TextChoices):
    REQUESTOR = "requestor", "Requestor"
    DATA_STEWARD = "data_steward", "Data steward"
    DEPARTMENT_REVIEWER = "department_reviewer", "Department reviewer"
    AGENCY_SIGNATORY = "agency_signatory", "Agency signatory"
    AUDITOR = "auditor", "Auditor"
    ADMINISTRATOR = "administrator", "Administrator"


# Roles that act for the agency: they see other people's requests, so they must use MFA.
STAFF_ROLES: frozenset[str] = frozenset(set(Role.values) - {Role.REQUESTOR})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    # The organization is self-declared at sign-up, and its kind decides queue priority
    # (agency and legislative staff first): a data steward confirms the person really works
    # there before the priority applies. Cleared when the person changes organization.
    affiliation_verified_at = models.DateTimeField(null=True, blank=True)
    affiliation_verified_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(default=True)  # type: ignore[misc]
    # Django admin access only; agency roles are RoleGrants.
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []  # type: ignore[misc]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def role_set(self) -> frozenset[str]:
        cached = getattr(self, "_role_cache", None)
        if cached is None:
            cached = (
                frozenset(self.role_grants.values_list("role", flat=True))
                if self.pk
                else frozenset()
            )
            self._role_cache = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_set & set(roles))

    @property
    def is_agency_staff(self) -> bool:
        return bool(self.role_set & STAFF_ROLES)

    def forget_roles(self) -> None:
        self.__dict__.pop("_role_cache", None)


class RoleGrant(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=30, choices=Role.choices)
    granted_at = models.DateTimeField(default=timezone.now)
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], name="unique_role_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.get_role_display()}"


class ApiToken(models.Model):
    """A bearer token for a service account calling /api/v1/.

    Only the SHA-256 of the token is stored: the token itself is shown once, when issued.
    SHA-256 (not a slow password hash) is enough because tokens are 256 random bits.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The first characters of the token, to tell tokens apart in listings without the secret.
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…) for {self.user}"
