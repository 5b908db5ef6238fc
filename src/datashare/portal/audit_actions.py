"""The portal's audit actions (see ``audit.registry``)."""

from datashare.audit.registry import register

VERSION_REQUESTED = register("dataset_version.requested", "Dataset version build requested")
VERSION_BUILT = register("dataset_version.built", "Dataset version built and audited")
VERSION_FAILED = register("dataset_version.failed", "Dataset version build failed")
VERSION_PUBLISHED = register("dataset_version.published", "Dataset version approved and published")
VERSION_SUPERSEDED = register("dataset_version.superseded", "Dataset version superseded")
AGGREGATE_SUBMITTED = register("aggregate_request.submitted", "Aggregate request submitted")
AGGREGATE_COMPUTED = register("aggregate_request.computed", "Aggregate request computed and suppressed")
AGGREGATE_FAILED = register("aggregate_request.failed", "Aggregate request could not be computed")
AGGREGATE_APPROVED = register("aggregate_request.approved", "Aggregate request approved for release")
AGGREGATE_REJECTED = register("aggregate_request.rejected", "Aggregate request not released")
AGGREGATE_DOWNLOADED = register("aggregate_request.downloaded", "Aggregate request downloaded")
