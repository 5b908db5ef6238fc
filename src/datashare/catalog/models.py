"""The data catalog: the state's student-level files and their elements, as the agency publishes them.

Seeded from ``datashare.elements`` (the one Django-free list the extract engine maps too);
administrators edit names, definitions, tiers and availability here. Identifiers never change.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from datashare.elements import DataType, Tier, effective_tier, format_school_year


class DataFile(models.Model):
    identifier = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    yearly = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "identifier"]

    def __str__(self) -> str:
        return self.name


class DataElement(models.Model):
    class TierChoices(models.TextChoices):
        STANDARD = Tier.STANDARD.value, "Standard (in the standard base file)"
        SENSITIVE = Tier.SENSITIVE.value, "Sensitive (justification required)"
        DIRECT_IDENTIFIER = Tier.DIRECT_IDENTIFIER.value, "Direct identifier"

    class TypeChoices(models.TextChoices):
        STRING = DataType.STRING.value, "Text"
        INTEGER = DataType.INTEGER.value, "Whole number"
        DECIMAL = DataType.DECIMAL.value, "Decimal number"
        BOOLEAN = DataType.BOOLEAN.value, "Yes/No"
        DATE = DataType.DATE.value, "Date"

    identifier = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    file = models.ForeignKey(DataFile, on_delete=models.PROTECT, related_name="elements")
    dtype = models.CharField("data type", max_length=20, choices=TypeChoices.choices)
    tier = models.CharField(max_length=20, choices=TierChoices.choices)
    definition = models.TextField()
    # School years are named by the year they end in (2010 = 2009-10); the last available
    # year is the latest loaded one (SourceLoad), never typed in.
    first_year = models.PositiveSmallIntegerField(default=2010)
    last_year = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Blank while the element is still collected."
    )
    value_labels = models.JSONField(default=dict, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["file__position", "position", "identifier"]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_tier(self) -> Tier:
        """The tier that governs requests (``elements.effective_tier``: direct identifiers
        defined in ``datashare.elements`` stay direct identifiers whatever this row says)."""
        return effective_tier(self.identifier, self.tier)

    @property
    def is_sensitive(self) -> bool:
        return self.effective_tier == Tier.SENSITIVE

    @property
    def is_direct_identifier(self) -> bool:
        return self.effective_tier == Tier.DIRECT_IDENTIFIER

    def available_in(self, end_year: int, latest: int) -> bool:
        last = min(self.last_year or latest, latest)
        return self.first_year <= end_year <= last

    @property
    def first_year_label(self) -> str:
        return format_school_year(self.first_year)


class SourceLoad(models.Model):
    """One school year of source data loaded into the longitudinal system.

    The latest loaded year bounds every request's year grid.
    """

    school_year = models.PositiveSmallIntegerField(unique=True, help_text="Ending year: 2025 is 2024-25.")
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["school_year"]

    def __str__(self) -> str:
        return format_school_year(self.school_year)
