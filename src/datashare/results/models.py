"""A results submission, its versions (each file scanned once) and the review's comments."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from datashare.agreements.models import Agreement


class ResultsStatus(models.TextChoices):
    IN_REVIEW = "in_review", "Awaiting the agency's review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    CLEARED = "cleared", "Cleared for release"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ScanStatus(models.TextChoices):
    PENDING = "pending", "Being checked"
    DONE = "done", "Checked"
    FAILED = "failed", "Could not be read"


def _results_path(instance: ResultsVersion, filename: str) -> str:
    # A random name: the researcher's file name is kept in original_name, never used on disk.
    return f"results/{uuid.uuid4().hex}"


class ResultsSubmission(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="results")
    title = models.CharField(max_length=200)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=30, choices=ResultsStatus.choices, default=ResultsStatus.IN_REVIEW)
    # The pre-submission checklist as answered: {item key: True}.
    checklist = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    # The agency reviews within RESULTS_REVIEW_DAYS of the latest version.
    review_due = models.DateField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "review_due"])]

    def __str__(self) -> str:
        return self.title

    @property
    def latest(self) -> ResultsVersion | None:
        return self.versions.order_by("-number").first()


class ResultsVersion(models.Model):
    submission = models.ForeignKey(ResultsSubmission, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    file = models.FileField(upload_to=_results_path, max_length=200)
    original_name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    note = models.TextField(blank=True)  # what changed, in the researcher's words
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    scan_status = models.CharField(max_length=20, choices=ScanStatus.choices, default=ScanStatus.PENDING)
    scan_error = models.CharField(max_length=300, blank=True)
    findings = models.JSONField(default=list)  # outputcheck.Finding.as_dict() each
    notes = models.JSONField(default=list)  # parts the scanner could not read
    blocks = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    scanned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["submission", "number"], name="unique_results_version")]

    def __str__(self) -> str:
        return f"{self.submission} v{self.number}"


class CommentKind(models.TextChoices):
    COMMENT = "comment", "Comment"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    CLEARED = "cleared", "Cleared for release"
    RESPONSE = "response", "Researcher's note"


class ResultsComment(models.Model):
    submission = models.ForeignKey(ResultsSubmission, on_delete=models.CASCADE, related_name="comments")
    version_number = models.PositiveIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30, choices=CommentKind.choices)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.submission} v{self.version_number}"
