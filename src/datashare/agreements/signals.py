"""Signals agreements sends for the apps above it (delivery, results, retention).

Each is sent in ``transaction.on_commit`` of the service that made the change, so a receiver
sees the committed rows and a rolled-back change sends nothing. Receivers run in their own
transactions; one that fails does not undo the agreement's change.

- ``agreement_created(agreement, actor)``: a draft agreement was generated for an approved request.
- ``agreement_executed(agreement, actor)``: the last signature landed and the sealed PDF is stored;
  the work items exist.
- ``agreement_ended(agreement, termination_date, actor)``: expired, terminated early (or voided
  after execution never happens: voiding sends nothing). ``termination_date`` starts the 45-day
  destruction clock (``Agreement.destruction_due``).
"""

from __future__ import annotations

from django.dispatch import Signal

agreement_created = Signal()
agreement_executed = Signal()
agreement_ended = Signal()
# Sent by retention (in a task after ``agreement_ended``) to whoever holds the agency's own
# copies of an ended agreement's data (delivery: SFTP access, the package's data key, then its
# files; extracts: the crosswalk key when no amendment is pending). Defined here, below both,
# because delivery and retention are sibling layers that may not import each other. A receiver
# erases and returns a list of {"what", "method" (retention's DestructionMethod), "detail"}: the
# lines of the agency's own destruction certificate.
agency_copies_due = Signal()
