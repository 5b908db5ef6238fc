"""Audit events for what allauth and Django's auth do outside our services: sign-out, a refused
two-factor code, and authenticators added, removed or reset. Only the kind of authenticator is
recorded, never a secret, code or recovery code."""

from __future__ import annotations

from typing import Any

from allauth.mfa import signals as mfa_signals
from django.contrib.auth.signals import user_logged_out
from django.http import HttpRequest

from datashare.accounts import audit_actions
from datashare.audit.services import record_event


def _kind(authenticator: Any) -> str:
    return str(getattr(authenticator, "type", "") or "unknown")


def on_signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None and getattr(user, "pk", None):
        record_event(actor=user, action=audit_actions.SIGNED_OUT, target=user, request=request)


def on_mfa_added(sender: Any, request: HttpRequest | None, user: Any, authenticator: Any, **kwargs: Any) -> None:
    record_event(actor=user, action=audit_actions.MFA_ADDED, target=user, new={"type": _kind(authenticator)}, request=request)


def on_mfa_removed(sender: Any, request: HttpRequest | None, user: Any, authenticator: Any, **kwargs: Any) -> None:
    record_event(actor=user, action=audit_actions.MFA_REMOVED, target=user, old={"type": _kind(authenticator)}, request=request)


def on_mfa_reset(sender: Any, request: HttpRequest | None, user: Any, authenticator: Any, **kwargs: Any) -> None:
    record_event(actor=user, action=audit_actions.MFA_RESET, target=user, new={"type": _kind(authenticator)}, request=request)


def on_mfa_failed(sender: Any, request: HttpRequest | None, user: Any, authenticator: Any = None, **kwargs: Any) -> None:
    record_event(
        actor=None, action=audit_actions.MFA_FAILED, target=user, new={"type": _kind(authenticator)}, request=request
    )


def connect() -> None:
    user_logged_out.connect(on_signed_out, dispatch_uid="datashare.audit.signed_out")
    mfa_signals.authenticator_added.connect(on_mfa_added, dispatch_uid="datashare.audit.mfa_added")
    mfa_signals.authenticator_removed.connect(on_mfa_removed, dispatch_uid="datashare.audit.mfa_removed")
    mfa_signals.authenticator_reset.connect(on_mfa_reset, dispatch_uid="datashare.audit.mfa_reset")
    mfa_signals.authentication_failed.connect(on_mfa_failed, dispatch_uid="datashare.audit.mfa_failed")
