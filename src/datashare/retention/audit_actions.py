"""The retention app's audit actions (see ``audit.registry``)."""

from datashare.audit.registry import register

DISCLOSURE_RECORDED = register("disclosure_record.added", "Entry added to the record of disclosures")
DISCLOSURE_PURGED = register("disclosure_record.purged", "Entry removed from the record of disclosures after its retention")
