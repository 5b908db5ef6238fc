"""The agency's configuration in the Django admin: the routing order and which departments get
work on execution. Templates are read-only here: an edit must make a new version, which the
staff page /agreements/template/ does (services.edit_template)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from datashare.agreements.models import (
    AgreementTemplate,
    SignatureRoute,
    SignatureRouteStep,
    WorkItemRule,
)


class StepInline(admin.TabularInline):  # type: ignore[type-arg]
    model = SignatureRouteStep
    extra = 1
    ordering = ["position"]


@admin.register(SignatureRoute)
class SignatureRouteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "active", "created_at"]
    inlines = [StepInline]


@admin.register(WorkItemRule)
class WorkItemRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["department", "kind", "business_days", "assignee", "active"]


@admin.register(AgreementTemplate)
class AgreementTemplateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["key", "version", "title", "created_at", "created_by"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
