"""Pages of the retention app. Thin: check the role, read through selectors, render."""

from __future__ import annotations

import csv
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from datashare.accounts.models import Role
from datashare.accounts.permissions import require_roles
from datashare.retention.models import RecordKind
from datashare.retention.selectors import RecordFilters, csv_rows, search_records
from datashare.retention.services import retention_years

RECORD_READERS = (Role.DATA_STEWARD, Role.AUDITOR, Role.ADMINISTRATOR)


class RecordSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    kind = forms.ChoiceField(required=False, choices=[("", "Any"), *RecordKind.choices])
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))


def _filters(request: HttpRequest) -> tuple[RecordSearchForm, RecordFilters]:
    form = RecordSearchForm(request.GET or None)
    if form.is_valid():
        data: dict[str, Any] = form.cleaned_data
        return form, RecordFilters(
            q=data["q"], kind=data["kind"], date_from=data["date_from"], date_to=data["date_to"]
        )
    return form, RecordFilters()


@require_roles(*RECORD_READERS)
def disclosure_record(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    page = Paginator(search_records(filters), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "retention/disclosures.html",
        {"form": form, "page": page, "querystring": query.urlencode(), "retention_years": retention_years()},
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_roles(*RECORD_READERS)
def disclosure_record_csv(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse("Bad search: " + "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()), status=400, content_type="text/plain")
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in csv_rows(search_records(filters))), content_type="text/csv"
    )
    response["Content-Disposition"] = 'attachment; filename="record-of-disclosures.csv"'
    return response  # type: ignore[return-value]  # streamed: the record may be long
