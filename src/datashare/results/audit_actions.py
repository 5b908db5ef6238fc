"""The results app's audit actions (see ``audit.registry``)."""

from datashare.audit.registry import register

SUBMITTED = register("results.submitted", "Results submitted for review")
VERSION_ADDED = register("results.version_added", "New version of results uploaded")
SCANNED = register("results.scanned", "Results scanned for disclosure")
COMMENTED = register("results.commented", "Comment on results")
CHANGES_REQUESTED = register("results.changes_requested", "Changes requested to results")
CLEARED = register("results.cleared", "Results cleared for release")
WITHDRAWN = register("results.withdrawn", "Results withdrawn")
