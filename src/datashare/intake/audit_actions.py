"""The audit actions of request intake (see ``datashare.audit.registry``)."""

from __future__ import annotations

from datashare.audit.registry import register

DRAFT_CREATED = register("intake.draft_created", "Draft request started")
DRAFT_UPDATED = register("intake.draft_updated", "Draft request edited")
DATA_MANAGER_DESIGNATED = register("intake.data_manager_designated", "Data manager designated")
DATA_MANAGER_ACCEPTED = register("intake.data_manager_accepted", "Data manager accepted")
ATTACHMENT_ADDED = register("intake.attachment_added", "Attachment added")
SUBMITTED = register("intake.submitted", "Request submitted")
ASSIGNED = register("intake.assigned", "Request assigned")
APPROVED = register("intake.approved", "Request approved")
DENIED = register("intake.denied", "Request denied")
CHANGES_REQUESTED = register("intake.changes_requested", "Changes requested")
WITHDRAWN = register("intake.withdrawn", "Request withdrawn")
COMMENTS_REQUESTED = register("intake.comments_requested", "Comments requested")
COMMENTS_GIVEN = register("intake.comments_given", "Comments given")
CHANGES_REPLIED = register("intake.changes_replied", "Requestor replied to requested changes")
COMMENTS_CANCELLED = register("intake.comments_cancelled", "Request for comments cancelled")
