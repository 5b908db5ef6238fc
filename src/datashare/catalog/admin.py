"""The Django admin for the catalog: every save goes through ``catalog.services`` (audited, and
refused when a direct identifier would be re-tiered); nothing is deleted from here but a loaded
school year (elements and files are referenced by requests and extracts)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from datashare.catalog import services
from datashare.catalog.models import DataElement, DataFile, SourceLoad
from datashare.elements import FIRST_SCHOOL_YEAR


class DataElementForm(forms.ModelForm):
    class Meta:
        model = DataElement
        fields = [
            "identifier", "name", "file", "dtype", "tier", "definition", "first_year", "last_year", "value_labels", "position",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        element = self.instance
        for name, value in cleaned.items():
            setattr(element, name, value)
        for field, message in services.element_problems(element).items():
            self.add_error(field if field in self.fields else None, message)
        return cleaned


@admin.register(DataFile)
class DataFileAdmin(admin.ModelAdmin):
    list_display = ["name", "identifier", "yearly", "position"]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # Identifiers are the extract engine's stable names: editable only when creating.
        return ["identifier"] if obj else []

    def save_model(self, request: HttpRequest, obj: DataFile, form: Any, change: bool) -> None:
        services.save_file(actor=request.user, data_file=obj, changed=list(form.changed_data) if change else None)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DataElement)
class DataElementAdmin(admin.ModelAdmin):
    form = DataElementForm
    list_display = ["name", "identifier", "file", "dtype", "tier", "first_year", "last_year"]
    list_filter = ["file", "tier"]
    search_fields = ["name", "identifier", "definition"]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return ["identifier"] if obj else []

    def save_model(self, request: HttpRequest, obj: DataElement, form: Any, change: bool) -> None:
        services.save_element(actor=request.user, element=obj, changed=list(form.changed_data) if change else None)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SourceLoadForm(forms.ModelForm):
    class Meta:
        model = SourceLoad
        fields = ["school_year"]

    def clean_school_year(self) -> int:
        year = int(self.cleaned_data["school_year"])
        if not FIRST_SCHOOL_YEAR <= year <= 2100:
            raise forms.ValidationError("Give a school year from 2010 (2009-10) to 2100.")
        return year


@admin.register(SourceLoad)
class SourceLoadAdmin(admin.ModelAdmin):
    form = SourceLoadForm
    list_display = ["__str__", "loaded_at"]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return ["school_year"] if obj else []

    def save_model(self, request: HttpRequest, obj: SourceLoad, form: Any, change: bool) -> None:
        if not change:
            saved = services.add_source_load(actor=request.user, school_year=obj.school_year)
            obj.pk = saved.pk

    def delete_model(self, request: HttpRequest, obj: SourceLoad) -> None:
        services.remove_source_load(actor=request.user, load=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for load in list(queryset):
            services.remove_source_load(actor=request.user, load=load)
