from django.contrib import admin

from datashare.catalog.models import DataElement, DataFile, SourceLoad


@admin.register(DataFile)
class DataFileAdmin(admin.ModelAdmin):
    list_display = ["name", "identifier", "yearly", "position"]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # Identifiers are the extract engine's stable names: editable only when creating.
        return ["identifier"] if obj else []


@admin.register(DataElement)
class DataElementAdmin(admin.ModelAdmin):
    list_display = ["name", "identifier", "file", "dtype", "tier", "first_year", "last_year"]
    list_filter = ["file", "tier"]
    search_fields = ["name", "identifier", "definition"]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return ["identifier"] if obj else []


@admin.register(SourceLoad)
class SourceLoadAdmin(admin.ModelAdmin):
    list_display = ["__str__", "loaded_at"]
