"""The audit actions about the data catalog (see ``datashare.audit.registry``)."""

from __future__ import annotations

from datashare.audit.registry import register

ELEMENT_CREATED = register("catalog.element_created", "Catalog element added")
ELEMENT_CHANGED = register("catalog.element_changed", "Catalog element changed")
FILE_CREATED = register("catalog.file_created", "Catalog file added")
FILE_CHANGED = register("catalog.file_changed", "Catalog file changed")
SOURCE_LOAD_ADDED = register("catalog.source_load_added", "School year loaded")
SOURCE_LOAD_REMOVED = register("catalog.source_load_removed", "Loaded school year removed")
