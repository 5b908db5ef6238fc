"""Typed domain errors of agreements; views, the API and the CLI turn them into messages/codes."""

from __future__ import annotations


class AgreementError(Exception):
    """Base: a change the service refuses, with a message fit for the user."""


class InvalidTransition(AgreementError):
    def __init__(self, *, action: str, status: str) -> None:
        self.action, self.status = action, status
        super().__init__(f"cannot {action.replace('_', ' ')} an agreement that is {status.replace('_', ' ')}")


class NotPermitted(AgreementError):
    """The actor may not do this to this agreement."""


class PreflightFailed(AgreementError):
    """Sending refused: ``missing`` names each FERPA-required element or exhibit that is absent."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        super().__init__("The agreement cannot be sent: missing " + "; ".join(missing) + ".")


class OutOfOrder(AgreementError):
    pass


class AlreadySigned(AgreementError):
    pass
