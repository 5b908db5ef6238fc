"""Data sharing requests: the Data Sharing Request Form, its versions, attachments and reviews.

Status changes only through ``datashare.intake.services`` (see ``transitions.py``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from datashare.accounts.models import Organization


class RequestKind(models.TextChoices):
    DEIDENTIFIED = "deidentified", "De-identified student-level data"
    IDENTIFIABLE = "identifiable", "Identifiable student-level data (FERPA exception)"
    AGGREGATE = "aggregate", "Aggregate data without disclosure avoidance"
    SUPPRESSED_AGGREGATE = "suppressed_aggregate", "Suppressed aggregate data not on the public portal"


# The short form: no data manager, no security plan, no duration rules beyond dates.
SHORT_FORM_KINDS = frozenset({RequestKind.SUPPRESSED_AGGREGATE})
STUDENT_LEVEL_KINDS = frozenset({RequestKind.DEIDENTIFIED, RequestKind.IDENTIFIABLE})


class FerpaException(models.TextChoices):
    # 34 CFR 99.31(a)(6): organizations conducting studies for, or on behalf of, the agency.
    STUDIES = "studies", "Studies on behalf of the agency or districts (34 CFR 99.31(a)(6))"
    # 34 CFR 99.31(a)(3) and 99.35: audit or evaluation of federal or state supported programs.
    AUDIT_EVALUATION = "audit_evaluation", "Audit or evaluation of education programs (34 CFR 99.35)"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    IN_REVIEW = "in_review", "In review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    DENIED = "denied", "Denied"
    WITHDRAWN = "withdrawn", "Withdrawn"


# Queue order: "OSPI is prioritizing requests from agency and legislative staff", and among
# them requests pertaining to a legislative requirement; everyone else in the order received.
PRIORITY_LEGISLATIVE = 0
PRIORITY_AGENCY = 1
PRIORITY_OTHER = 2
PRIORITY_LABELS = {
    PRIORITY_LEGISLATIVE: "Agency/legislative, legislative requirement",
    PRIORITY_AGENCY: "Agency/legislative staff",
    PRIORITY_OTHER: "As capacity allows",
}


class DeliveryFormat(models.TextChoices):
    """Files a researcher may ask for besides Parquet and CSV, which every package has."""

    DTA = "dta", "Stata (.dta)"
    SAV = "sav", "SPSS (.sav)"
    XPT = "xpt", "SAS transport (.xpt)"


def delivery_formats_text(formats: list[str] | None) -> str:
    """What a package will hold, in words: 'Parquet, CSV, Stata (.dta)'."""
    if formats is None:
        return "the agency's default"
    labels = dict(DeliveryFormat.choices)
    return ", ".join(["Parquet", "CSV", *(str(labels.get(f, f)) for f in formats)])


class DataRequest(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="data_requests")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="data_requests")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)

    # -- step: the request
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=RequestKind.choices, default=RequestKind.DEIDENTIFIED)
    ferpa_exception = models.CharField(max_length=30, choices=FerpaException.choices, blank=True)
    ferpa_explanation = models.TextField(blank=True)
    legislative_requirement = models.BooleanField(default=False)
    legislative_citation = models.CharField(max_length=300, blank=True)

    # -- step: contacts (name, email, phone, organization, title, mailing_address)
    primary_contact = models.JSONField(default=dict, blank=True)
    secondary_contact = models.JSONField(default=dict, blank=True)
    data_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="managed_requests"
    )
    data_manager_accepted_at = models.DateTimeField(null=True, blank=True)

    # -- step: project
    purpose = models.TextField(blank=True)
    research_questions = models.TextField(blank=True)
    analyses = models.TextField(blank=True)
    benefit = models.TextField(blank=True)
    products = models.TextField(blank=True)
    sharing_plan = models.TextField(blank=True)
    pledge_to_share = models.BooleanField(default=False)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    duration_justification = models.TextField(blank=True)

    # -- step: data. {element identifier: [ending years]} and {element identifier: justification}
    selections = models.JSONField(default=dict, blank=True)
    justifications = models.JSONField(default=dict, blank=True)
    # The suppressed-aggregate short form asks for tables, not student-level elements.
    tables_requested = models.TextField(blank=True)

    # -- step: security
    storage_location = models.TextField(blank=True)
    encryption_at_rest = models.TextField(blank=True)
    encryption_in_transit = models.TextField(blank=True)
    access_controls = models.TextField(blank=True)
    software = models.TextField(blank=True)
    people_with_access = models.TextField(blank=True)
    irb_approved = models.BooleanField(default=False)
    irb_expires = models.DateField(null=True, blank=True)
    # The requestor's choice of DeliveryFormat values (besides Parquet and CSV); None: not
    # answered, and the agency's default (settings.EXTRACT_FORMATS) applies.
    delivery_formats = models.JSONField(null=True, blank=True)

    # -- review
    submitted_at = models.DateTimeField(null=True, blank=True)  # first submission: queue order
    priority_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_requests"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    change_comments = models.JSONField(default=dict, blank=True)  # {section: comment}
    # The requestor's answer to the requested changes (a question, or what they changed).
    changes_reply = models.TextField(blank=True)
    approved_selections = models.JSONField(default=dict, blank=True)
    minimization = models.JSONField(default=dict, blank=True)  # {element: [years removed]} or removed elements

    class Meta:
        indexes = [
            models.Index(fields=["priority_rank", "submitted_at", "id"], name="intake_queue_order"),
            # Covers the per-status counts above the queue.
            models.Index(fields=["status", "submitted_at"], name="intake_status_counts"),
            # The default queue (open requests) reads its first page straight off this partial
            # index, in review order, without sorting the whole backlog.
            models.Index(
                fields=["priority_rank", "submitted_at", "id"],
                name="intake_queue_open",
                condition=models.Q(status__in=["submitted", "in_review"]),
            ),
        ]

    def __str__(self) -> str:
        return self.title or "Untitled request"

    @property
    def is_short_form(self) -> bool:
        return self.kind in SHORT_FORM_KINDS

    @property
    def priority_label(self) -> str:
        return PRIORITY_LABELS.get(self.priority_rank, "") if self.priority_rank is not None else ""


class RequestVersion(models.Model):
    """The frozen form as submitted; a resubmission adds the next number."""

    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    submitted_at = models.DateTimeField(default=timezone.now)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["request", "number"], name="unique_request_version")]

    def __str__(self) -> str:
        return f"{self.request} v{self.number}"


class AttachmentPurpose(models.TextChoices):
    SECURITY_POLICY = "security_policy", "Organization security policy"
    IRB_APPROVAL = "irb_approval", "IRB approval"


def _attachment_path(instance: Attachment, filename: str) -> str:
    # Random names: the uploader's file name never reaches the file system.
    return f"intake/{uuid.uuid4().hex}"


class Attachment(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="attachments")
    purpose = models.CharField(max_length=30, choices=AttachmentPurpose.choices)
    file = models.FileField(upload_to=_attachment_path, max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return self.original_name


class CommentRequest(models.Model):
    """A steward asking a department reviewer for comments, with a deadline."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    request = models.ForeignKey(DataRequest, on_delete=models.CASCADE, related_name="comment_requests")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comment_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    question = models.TextField(blank=True)
    due_date = models.DateField()
    response = models.TextField(blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    # A duplicate or mistaken request for comments, withdrawn by a steward; kept for the record.
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at"]

    def __str__(self) -> str:
        return f"Comments from {self.reviewer} on {self.request}"
