"""The retention app's audit actions (see ``audit.registry``)."""

from datashare.audit.registry import register

DISCLOSURE_RECORDED = register("disclosure_record.added", "Entry added to the record of disclosures")
DISCLOSURE_PURGED = register("disclosure_record.purged", "Entry removed from the record of disclosures after its retention")
DESTRUCTION_SCHEDULED = register("destruction.scheduled", "Destruction of data scheduled (agreement ended)")
DESTRUCTION_REMINDED = register("destruction.reminded", "Destruction reminder sent")
DESTRUCTION_ESCALATED = register("destruction.escalated", "Overdue destruction escalated to stewards")
DESTRUCTION_CERTIFIED = register("destruction.certified", "Certificate of data destruction (Exhibit C) signed")
DESTRUCTION_RETURNED = register("destruction.returned", "Certificate of data destruction returned for correction")
DESTRUCTION_VERIFIED = register("destruction.verified", "Data destruction verified")
AGENCY_COPY_ERASED = register("destruction.agency_copy_erased", "Agency copy of the data erased")
