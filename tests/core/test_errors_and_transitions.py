"""One domain error for web and API; the transition table helper."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import HttpRequest
from django.test import RequestFactory
from ninja import NinjaAPI
from ninja.testing import TestClient

from datashare.core.api import install
from datashare.core.errors import (
    DomainError,
    Forbidden,
    NotFound,
    TransitionNotAllowed,
    ValidationFailed,
)
from datashare.core.middleware import DomainErrorMiddleware
from datashare.core.transitions import TransitionTable


def test_each_kind_of_refusal_carries_its_http_status() -> None:
    assert DomainError("x.conflict", "no").status == 409
    assert TransitionNotAllowed("x.not_allowed", "no").status == 409
    assert Forbidden("x.forbidden", "no").status == 403
    assert NotFound("x.not_found", "no").status == 404
    assert ValidationFailed("x.invalid", "no").status == 422
    assert DomainError("x.gone", "no", 410).status == 410


def test_the_api_answers_a_domain_error_with_its_code_message_fields_and_status() -> None:
    api = NinjaAPI(urls_namespace="test-domain-errors")
    install(api)

    @api.post("/sign")
    def sign(request: HttpRequest) -> None:
        raise ValidationFailed("agreement.invalid", "Fix the dates.", fields={"ends_on": ["must be after the start"]})

    response = TestClient(api).post("/sign")
    assert response.status_code == 422
    assert response.json() == {
        "code": "agreement.invalid",
        "detail": "Fix the dates.",
        "errors": {"body": {"ends_on": ["must be after the start"]}},
    }


@pytest.mark.django_db
def test_a_view_that_lets_a_domain_error_through_renders_a_page_with_its_status_not_a_500() -> None:
    request = RequestFactory().post("/agreements/x/sign")
    request.user = AnonymousUser()
    request.session = {}  # type: ignore[assignment]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    error = TransitionNotAllowed("agreement.not_allowed", "You cannot sign an expired agreement.")
    middleware = DomainErrorMiddleware(lambda r: None)  # type: ignore[arg-type, return-value]
    response = middleware.process_exception(request, error)
    assert response is not None
    assert response.status_code == 409
    assert "You cannot sign an expired agreement." in response.content.decode()
    assert middleware.process_exception(request, ValueError("not ours")) is None


def test_the_real_api_registers_the_handler() -> None:
    from datashare.api import api

    assert DomainError in api._exception_handlers


AGREEMENT = TransitionTable(
    "agreement",
    {
        "sign": ({"sent"}, "signed"),
        "expire": ({"sent", "signed"}, "expired"),
    },
)


def test_the_table_says_where_an_action_leads_and_what_is_open() -> None:
    assert AGREEMENT.target("sign", "sent") == "signed"
    assert AGREEMENT.target("sign", "expired") is None
    assert AGREEMENT.allowed("sent") == ["sign", "expire"]
    assert AGREEMENT.allowed("expired") == []
    assert AGREEMENT.check("expire", "signed") == "expired"


def test_a_move_the_table_does_not_allow_is_a_409_with_a_readable_message() -> None:
    with pytest.raises(TransitionNotAllowed) as caught:
        AGREEMENT.check("sign", "expired")
    assert caught.value.status == 409
    assert caught.value.code == "agreement.not_allowed"
    assert str(caught.value) == "cannot sign: the agreement is expired"
    assert json.dumps(caught.value.as_dict())


def test_intakes_errors_are_domain_errors_with_their_status_and_a_code() -> None:
    from datashare.intake.errors import AlreadyDecided, NotPermitted

    refused = NotPermitted("Only the requestor may withdraw this request.")
    assert isinstance(refused, DomainError)
    assert (refused.code, refused.status, str(refused)) == (
        "intake.not_permitted",
        403,
        "Only the requestor may withdraw this request.",
    )
    assert AlreadyDecided(by="a steward", status="approved").status == 409
