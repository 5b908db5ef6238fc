"""Typed domain errors of agreements (``core.errors.DomainError``: the API answers them with their
status and code; views show the message)."""

from __future__ import annotations

from datashare.core.errors import DomainError


class AgreementError(DomainError):
    """Base: a change the service refuses, with a message fit for the user."""

    default_status = 409

    def __init__(self, message: str, *, code: str = "agreement.refused", status: int | None = None, **kwargs: object) -> None:
        super().__init__(code, message, status, **kwargs)  # type: ignore[arg-type]


class InvalidTransition(AgreementError):
    def __init__(self, *, action: str, status: str) -> None:
        self.action, self.agreement_status = action, status
        super().__init__(
            f"cannot {action.replace('_', ' ')} an agreement that is {status.replace('_', ' ')}", code="agreement.not_allowed"
        )


class NotPermitted(AgreementError):
    """The actor may not do this to this agreement."""

    default_status = 403

    def __init__(self, message: str) -> None:
        super().__init__(message, code="agreement.forbidden")


class PreflightFailed(AgreementError):
    """Sending refused: ``missing`` names each FERPA-required element or exhibit that is absent."""

    default_status = 422

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(
            "The agreement cannot be sent: missing " + "; ".join(missing) + ".",
            code="agreement.preflight",
            fields={"preflight": missing},
        )


class OutOfOrder(AgreementError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="agreement.out_of_order")


class AlreadySigned(AgreementError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="agreement.already_signed")
