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
