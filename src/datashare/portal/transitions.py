"""The allowed moves of a dataset version and of an aggregate request (visible tables)."""

from __future__ import annotations

from datashare.core.transitions import TransitionTable
from datashare.portal.models import AggregateStatus as A
from datashare.portal.models import VersionStatus as V

VERSION = TransitionTable("dataset version", {
    "built": ({V.BUILDING}, V.DRAFT),
    "fail": ({V.BUILDING}, V.FAILED),
    "publish": ({V.DRAFT}, V.PUBLISHED),
    "supersede": ({V.PUBLISHED}, V.SUPERSEDED),
})

AGGREGATE = TransitionTable("aggregate request", {
    "start": ({A.QUEUED}, A.COMPUTING),
    "computed": ({A.COMPUTING}, A.READY),
    "fail": ({A.QUEUED, A.COMPUTING}, A.FAILED),
    "approve": ({A.READY}, A.APPROVED),
    "reject": ({A.READY}, A.REJECTED),
})
