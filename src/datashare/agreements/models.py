"""Data Sharing Agreements: generated from an approved request, e-signed in order, sealed, executed.

Status changes only through ``datashare.agreements.services`` (see ``transitions.py``).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from datashare.accounts.models import Organization
from datashare.intake.models import DataRequest

# "Destroy the data within 45 days of the end of the agreement" (the reference agency's DSA).
DESTRUCTION_DAYS = 45


class AgreementStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OUT_FOR_SIGNATURE = "out_for_signature", "Out for signature"
    DECLINED = "declined", "Declined by a signer"
    EXECUTED = "executed", "Executed"
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    TERMINATED = "terminated", "Terminated"
    VOIDED = "voided", "Voided"


class AgreementTemplate(models.Model):
    """The agency's agreement text (a Django template rendering HTML for the PDF).

    Editing never changes a row: it adds the next version of the same ``key``, and every
    agreement keeps the version it was generated from (FERPA: the signed text must be reproducible).
    """

    key = models.SlugField(max_length=50, default="dsa")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Django template source rendered to HTML, then PDF.")
    security_terms = models.TextField(help_text="The agency's standard security terms (Exhibit B).")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["key", "-version"]
        constraints = [models.UniqueConstraint(fields=["key", "version"], name="unique_agreement_template_version")]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class NumberSequence(models.Model):
    """The last number given per year (``DSA-YYYY-NNNN``), taken under a row lock."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


def _document_path(instance: Agreement, filename: str) -> str:
    return f"agreements/{uuid.uuid4().hex}.pdf"


class Agreement(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Shared by every version of the agreement; a re-issue after a void keeps the number.
    number = models.CharField(max_length=20)
    version = models.PositiveIntegerField(default=1)
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    data_request = models.ForeignKey(DataRequest, on_delete=models.PROTECT, related_name="agreements")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="agreements")
    template = models.ForeignKey(AgreementTemplate, on_delete=models.PROTECT, related_name="agreements")
    status = models.CharField(max_length=20, choices=AgreementStatus.choices, default=AgreementStatus.DRAFT)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    # -- the terms, copied from the approved request (the request may change later; this may not)
    title = models.CharField(max_length=200)
    purpose = models.TextField(blank=True)
    scope = models.TextField(blank=True)  # research questions and analyses
    ferpa_exception = models.CharField(max_length=30, blank=True)
    term_start = models.DateField(null=True, blank=True)
    term_end = models.DateField(null=True, blank=True)
    # Exhibit A: {element identifier: [ending school years]}, the steward's approved (narrowed) set.
    exhibit_a = models.JSONField(default=dict, blank=True)
    # Exhibit B: the request's security answers {field: answer}; the standard terms are the template's.
    exhibit_b = models.JSONField(default=dict, blank=True)
    # The files delivered besides Parquet and CSV (intake's DeliveryFormat values), as the
    # requestor chose them on the request, or the agency's default when they did not answer,
    # fixed when the agreement is drafted (stated in Exhibit B). None only for an agreement
    # already out for signature when this term was added: its package follows the request.
    delivery_formats = models.JSONField(null=True, blank=True)
    destruction_days = models.PositiveSmallIntegerField(default=DESTRUCTION_DAYS)
    # Who signs first for the requesting organization (default: the request's creator).
    requestor_signatory = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    # -- signature envelope
    envelope_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    external_envelope_id = models.CharField(max_length=200, blank=True)  # set by an e-signature adapter
    sent_at = models.DateTimeField(null=True, blank=True)
    document = models.FileField(upload_to=_document_path, max_length=200, blank=True)  # as sent for signature
    document_sha256 = models.CharField(max_length=64, blank=True)
    sealed_document = models.FileField(upload_to=_document_path, max_length=200, blank=True)  # certificate + PAdES
    sealed_sha256 = models.CharField(max_length=64, blank=True)

    # -- execution and term
    executed_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    # The day the agreement ended (expiry, early termination): starts the destruction clock.
    termination_date = models.DateField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["number", "version"], name="unique_agreement_number_version")]
        indexes = [
            models.Index(fields=["status", "term_end"], name="agreements_status_term_end"),
            models.Index(fields=["status", "term_start"], name="agreements_status_term_start"),
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.title}"

    @property
    def label(self) -> str:
        return self.number if self.version == 1 else f"{self.number} (v{self.version})"

    @property
    def destruction_due(self) -> dt.date | None:
        """The last day to destroy the data: ``destruction_days`` after the termination date."""
        if self.termination_date is None:
            return None
        return self.termination_date + dt.timedelta(days=self.destruction_days)


class AuthorizedUser(models.Model):
    """A person of the requesting organization allowed to access the data (34 CFR 99.31(a)(6)(iii)(C)(3))."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="authorized_users")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=200)  # e.g. "Principal investigator", "Data manager"

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"


class SignerParty(models.TextChoices):
    REQUESTOR_SIGNATORY = "requestor_signatory", "Requesting organization's authorized signatory"
    DATA_MANAGER = "data_manager", "Data manager"
    AGENCY = "agency", "Agency signatory"


class SignatureRoute(models.Model):
    """The agency's routing order: the active route is copied into each agreement's signers when
    it is sent. Default: requestor's signatory, data manager, then the agency signatories."""

    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-active", "-created_at"]

    def __str__(self) -> str:
        return self.name


class SignatureRouteStep(models.Model):
    route = models.ForeignKey(SignatureRoute, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    party = models.CharField(max_length=30, choices=SignerParty.choices)
    # Agency steps name the person; the requestor's steps are resolved per agreement.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    role_label = models.CharField(max_length=200)  # e.g. "Student Information", "Legal/Privacy"

    class Meta:
        ordering = ["route", "position"]
        constraints = [models.UniqueConstraint(fields=["route", "position"], name="unique_route_step_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.role_label}"


class SignerStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for earlier signers"
    SENT = "sent", "Sent"
    VIEWED = "viewed", "Viewed"
    SIGNED = "signed", "Signed"
    DECLINED = "declined", "Declined"


class Signer(models.Model):
    """One signature on one agreement version, in ``position`` order; its row is also the
    certificate of completion's line (who, how authenticated, from where, when)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)  # in the email link
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="signers")
    position = models.PositiveSmallIntegerField()
    party = models.CharField(max_length=30, choices=SignerParty.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures")
    name = models.CharField(max_length=200)
    email = models.EmailField()
    role_label = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=SignerStatus.choices, default=SignerStatus.WAITING)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    viewed_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    typed_name = models.CharField(max_length=200, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    auth_method = models.CharField(max_length=100, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    decline_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["agreement", "position"]
        constraints = [models.UniqueConstraint(fields=["agreement", "position"], name="unique_signer_position")]

    def __str__(self) -> str:
        return f"{self.name} ({self.role_label}) on {self.agreement.label}"


class Department(models.TextChoices):
    STUDENT_INFORMATION = "student_information", "Student Information"
    DATA_GOVERNANCE = "data_governance", "Data Governance"
    LEGAL_PRIVACY = "legal_privacy", "Legal/Privacy"
    ASSESSMENT = "assessment", "Assessment"
    SPECIAL_EDUCATION = "special_education", "Special Education"


class WorkItemKind(models.TextChoices):
    PREPARE_EXTRACT = "prepare_extract", "Prepare the extract"
    REVIEW_SECURITY = "review_security", "Review the security plan"
    SET_UP_DELIVERY = "set_up_delivery", "Set up delivery"
    OTHER = "other", "Other"


class WorkItemRule(models.Model):
    """Which departments get work when an agreement is executed (agency-configurable).
    Without any active rule, Student Information prepares the extract in five business days."""

    department = models.CharField(max_length=30, choices=Department.choices)
    kind = models.CharField(max_length=30, choices=WorkItemKind.choices)
    business_days = models.PositiveSmallIntegerField(default=5)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.get_department_display()}: {self.get_kind_display()}"


class WorkItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class WorkItem(models.Model):
    """A department's task created when an agreement is executed (e.g. prepare the extract)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="work_items")
    department = models.CharField(max_length=30, choices=Department.choices)
    kind = models.CharField(max_length=30, choices=WorkItemKind.choices)
    title = models.CharField(max_length=200)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="work_items")
    due_date = models.DateField()
    status = models.CharField(max_length=20, choices=WorkItemStatus.choices, default=WorkItemStatus.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "pk"]
        indexes = [models.Index(fields=["department", "status", "due_date"], name="agreements_work_queue")]

    def __str__(self) -> str:
        return f"{self.get_department_display()}: {self.title}"


class Amendment(models.Model):
    """An amendment request: added years or elements go through review as a new intake request
    that references the agreement (a new purpose needs a new request, not an amendment)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="amendments")
    data_request = models.OneToOneField(DataRequest, on_delete=models.PROTECT, related_name="amends")
    description = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Amendment of {self.agreement.label}"
