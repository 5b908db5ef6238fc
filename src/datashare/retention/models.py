"""The record of requests for and disclosures of education records (34 CFR 99.32).

A record is a frozen snapshot (names and lists as text, not foreign keys): 99.32(a)(2) has the
agency keep it as long as the education records themselves, so it must outlive the agreement,
the request and the user accounts it came from.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class RecordKind(models.TextChoices):
    # 99.32(a)(1): each request for access and each disclosure.
    REQUEST = "request", "Request for access"
    DISCLOSURE = "disclosure", "Disclosure"


class DisclosureRecord(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # What produced the record ("agreement:<uuid>", "request:<uuid>"): re-recording the same
    # event (a signal sent twice, a retried task) finds the existing row instead of adding one.
    source_key = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=RecordKind.choices)
    occurred_on = models.DateField()
    agreement_number = models.CharField(max_length=40, blank=True)
    organization = models.CharField(max_length=200)
    # 99.32(a)(3)(i): the parties who requested or received the information.
    parties = models.JSONField(default=list)
    # 99.32(a)(3)(ii): their legitimate interests, and the FERPA exception relied on.
    legitimate_interest = models.TextField()
    ferpa_exception = models.CharField(max_length=60, blank=True)
    elements = models.JSONField(default=list)
    school_years = models.JSONField(default=list)
    # 99.32(b): the additional parties to whom the recipient may re-disclose, and their interests.
    redisclosure_parties = models.JSONField(default=list)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retain_until = models.DateField()

    class Meta:
        ordering = ["-occurred_on", "-id"]
        indexes = [models.Index(fields=["occurred_on"]), models.Index(fields=["retain_until"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on} {self.organization}"


# -- Destruction (step 6): Exhibit C from the researcher, our own copies from us ---------------


class DestructionStatus(models.TextChoices):
    PENDING = "pending", "Awaiting the certificate"
    CERTIFIED = "certified", "Certificate signed, awaiting verification"
    VERIFIED = "verified", "Destruction verified"


class DestructionMethod(models.TextChoices):
    OVERWRITE = "overwrite", "Overwriting (clearing)"
    DEGAUSS = "degauss", "Degaussing"
    PHYSICAL = "physical", "Physical destruction of the medium"
    CRYPTO_ERASE = "crypto_erase", "Cryptographic erase (destroying the key)"
    SHREDDING = "shredding", "Shredding (paper)"


# Days before the due date on which the researcher is reminded.
REMINDER_DAYS = (30, 14, 7, 1)


class Destruction(models.Model):
    """One agreement's destruction: due 45 days after it ended (the agreement's own setting)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    agreement = models.OneToOneField("agreements.Agreement", on_delete=models.PROTECT, related_name="destruction")
    termination_date = models.DateField()
    due = models.DateField()
    status = models.CharField(max_length=20, choices=DestructionStatus.choices, default=DestructionStatus.PENDING)
    # The sweep's deadline: the next reminder or escalation; null once certified.
    next_reminder_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.JSONField(default=list)  # the REMINDER_DAYS already sent
    escalated_at = models.DateTimeField(null=True, blank=True)
    # Exhibit C's signature: who, the name they typed, when, and a digest of what they signed.
    certified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    certified_at = models.DateTimeField(null=True, blank=True)
    typed_name = models.CharField(max_length=200, blank=True)
    certificate_sha256 = models.CharField(max_length=64, blank=True)
    signer_ip = models.GenericIPAddressField(null=True, blank=True)
    # As the agreement's own e-signature records it: consent to sign electronically, how the
    # signer proved who they were at the moment of signing, and their browser.
    consented_at = models.DateTimeField(null=True, blank=True)
    auth_method = models.CharField(max_length=100, blank=True)
    signer_user_agent = models.CharField(max_length=500, blank=True)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)
    return_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due"]
        indexes = [models.Index(fields=["status", "due"]), models.Index(fields=["next_reminder_at"])]

    def __str__(self) -> str:
        return f"Destruction for agreement {self.agreement_id}, due {self.due}"


class DestructionItem(models.Model):
    """One line of Exhibit C: a copy of the data, the medium it was on, how and when it was destroyed."""

    destruction = models.ForeignKey(Destruction, on_delete=models.CASCADE, related_name="items")
    copy = models.CharField(max_length=300)  # e.g. "Analysis extract on the enclave's project share"
    medium = models.CharField(max_length=200)  # e.g. "Network storage", "Laptop SSD", "Paper printouts"
    method = models.CharField(max_length=20, choices=DestructionMethod.choices)
    destroyed_on = models.DateField()
    destroyed_by = models.CharField(max_length=200)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.copy} ({self.get_method_display()})"


class AgencyCopyErasure(models.Model):
    """Our own certificate: each of the agency's copies ended (SFTP access, package key, files,
    crosswalk key), with what was done and when (pretix's shredders say what they erase)."""

    destruction = models.ForeignKey(Destruction, on_delete=models.CASCADE, related_name="agency_erasures")
    what = models.CharField(max_length=200)
    method = models.CharField(max_length=20, choices=DestructionMethod.choices)
    detail = models.TextField(blank=True)
    done_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.what}: {self.get_method_display()}"
