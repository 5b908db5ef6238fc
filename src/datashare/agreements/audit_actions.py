"""The audit actions about agreements (see ``datashare.audit.registry``)."""

from __future__ import annotations

from datashare.audit.registry import register

CREATED = register("agreements.created", "Agreement drafted")
DRAFT_UPDATED = register("agreements.draft_updated", "Agreement draft changed")
AUTHORIZED_USER_ADDED = register("agreements.authorized_user_added", "Authorized user added")
AUTHORIZED_USER_REMOVED = register("agreements.authorized_user_removed", "Authorized user removed")
TEMPLATE_EDITED = register("agreements.template_edited", "Agreement template edited")
SENT = register("agreements.sent", "Agreement sent for signature")
VIEWED = register("agreements.viewed", "Agreement viewed by a signer")
SIGNED = register("agreements.signed", "Agreement signed")
DECLINED = register("agreements.declined", "Agreement declined")
REMINDED = register("agreements.reminded", "Signature reminder sent")
EXECUTED = register("agreements.executed", "Agreement executed")
SEALED = register("agreements.sealed", "Agreement PDF sealed")
ACTIVATED = register("agreements.activated", "Agreement term started")
EXPIRED = register("agreements.expired", "Agreement expired")
TERMINATED = register("agreements.terminated", "Agreement terminated")
VOIDED = register("agreements.voided", "Agreement voided")
REISSUED = register("agreements.reissued", "Agreement re-issued")
AMENDMENT_REQUESTED = register("agreements.amendment_requested", "Amendment requested")
WORK_ITEM_CREATED = register("agreements.work_item_created", "Work item created")
WORK_ITEM_UPDATED = register("agreements.work_item_updated", "Work item updated")
ROUTE_CONFIGURED = register("agreements.route_configured", "Signature route configured")
