"""Signals intake sends for the apps above it (agreements and later), so intake never imports them.

``request_submitted(data_request, actor)`` is sent in ``transaction.on_commit`` of
``services.submit`` (each submission, the first and every resubmission).

``request_approved(data_request, actor)`` is sent in ``transaction.on_commit`` of
``services.approve``: receivers see the committed approval (``approved_selections``, the
steward's narrowed elements by years) and a rolled-back approval sends nothing.
"""

from __future__ import annotations

from django.dispatch import Signal

request_submitted = Signal()
request_approved = Signal()
