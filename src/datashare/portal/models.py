"""Datasets (one per standard table), their yearly versions, and custom aggregate requests.

A version's files (CSV and Parquet of the suppressed table) and its certificate (the
disclosure engine's audits, ``datashare.aggregate.publish``) are stored together and never
change once built; publishing a newer version of the same year supersedes the older one, which
stays downloadable with its certificate.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from datashare.aggregate.definitions import year_label
from datashare.aggregate.publish import labels_accounted


class Dataset(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    table_key = models.CharField(max_length=60, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField()
    topic = models.CharField(max_length=60)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["topic", "title"]

    def __str__(self) -> str:
        return self.title


class VersionStatus(models.TextChoices):
    BUILDING = "building", "Building"
    DRAFT = "draft", "Awaiting approval"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"
    FAILED = "failed", "Failed"


class DatasetVersion(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    school_year = models.PositiveSmallIntegerField(help_text="ending year: 2025 for 2024-25")
    number = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=20, choices=VersionStatus.choices,
                              default=VersionStatus.BUILDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    built_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    csv_file = models.FileField(upload_to="portal/", max_length=200, blank=True)
    parquet_file = models.FileField(upload_to="portal/", max_length=200, blank=True)
    certificate = models.JSONField(default=dict, blank=True)
    notes = models.JSONField(default=list, blank=True)
    columns = models.JSONField(default=list, blank=True)
    rows = models.PositiveIntegerField(default=0)
    cells_suppressed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["dataset", "-school_year", "-number"]
        constraints = [models.UniqueConstraint(fields=["dataset", "school_year", "number"],
                                               name="unique_dataset_version")]

    def __str__(self) -> str:
        return f"{self.dataset.title} {self.year_label} v{self.number}"

    @property
    def year_label(self) -> str:
        return year_label(self.school_year)

    @property
    def proof_models(self) -> list[dict[str, Any]]:
        """Per measure, the attacker model this version's proof used (from its certificate:
        what the disclosure report said when it was built), with a plain-language text."""
        models = (self.certificate or {}).get("attacker_model") or {}
        return [{"measure": name, **m} for name, m in models.items()]

    @property
    def labels_accounted(self) -> bool:
        """Whether the proof covers what the suppression labels reveal; a version built
        before models were recorded does not claim it."""
        return labels_accounted(self.certificate or {})


class AggregateStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    COMPUTING = "computing", "Computing"
    READY = "ready", "Awaiting steward approval"
    APPROVED = "approved", "Approved: ready to download"
    REJECTED = "rejected", "Not released"
    FAILED = "failed", "Could not be computed"


class AggregateRequest(models.Model):
    """A requestor's own table: measure, group-bys, years, level, filters; no student rows."""

    requestor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="aggregate_requests")
    purpose = models.CharField(max_length=500)
    table_key = models.CharField(max_length=60)
    level = models.CharField(max_length=20, default="district")
    groups = models.JSONField(default=list)
    by_grade = models.BooleanField(default=False)
    district = models.CharField(max_length=20, blank=True)
    grades = models.JSONField(default=list, blank=True)
    years = models.JSONField(default=list)
    status = models.CharField(max_length=20, choices=AggregateStatus.choices,
                              default=AggregateStatus.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    computed_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    csv_file = models.FileField(upload_to="portal/requests/", max_length=200, blank=True)
    certificate = models.JSONField(default=dict, blank=True)
    notes = models.JSONField(default=list, blank=True)
    rows = models.PositiveIntegerField(default=0)
    cells_suppressed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"AGG-{self.pk}"

    @property
    def reference(self) -> str:
        return f"AGG-{self.pk:05d}"
