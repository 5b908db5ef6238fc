"""Portal pages. Public pages (catalog, dataset, downloads, data.json) need no sign-in and are
cacheable; custom aggregate requests need a signed-in requestor (their own only: another
user's request is a 404); staff actions need a data steward."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from datashare.accounts.models import Role
from datashare.accounts.permissions import require_roles
from datashare.aggregate import definitions
from datashare.core.errors import DomainError
from datashare.portal import chart, dcat, selectors, services
from datashare.portal.forms import (
    EVERY_TABLE,
    AggregateRequestForm,
    BuildForm,
    CatalogSearch,
    DecisionForm,
)
from datashare.portal.models import (
    AggregateRequest,
    AggregateStatus,
    Dataset,
    DatasetVersion,
    VersionStatus,
)

PUBLIC_CACHE = cache_control(public=True, max_age=300)


@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    form = CatalogSearch(request.GET or None)
    data: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    datasets = selectors.public_datasets(q=data.get("q") or "", topic=data.get("topic") or "",
                                         year=data.get("year"))
    items = [(ds, selectors.current_versions(ds)) for ds in datasets]
    return render(request, "portal/catalog.html", {"form": form, "items": items})


def _version_for(dataset: Dataset, year: str | None) -> DatasetVersion:
    versions = selectors.current_versions(dataset)
    if not versions:
        raise Http404("no published version")
    if year:
        for v in versions:
            if v.year_label == year:
                return v
        raise Http404("no published version for that year")
    return versions[0]


@require_GET
def dataset_detail(request: HttpRequest, slug: str) -> HttpResponse:
    dataset = get_object_or_404(Dataset, slug=slug)
    version = _version_for(dataset, request.GET.get("year"))
    tdef = definitions.table(dataset.table_key)
    rate = tdef.kind == definitions.RATE
    filters = {c: request.GET.get(c, "") for c in selectors.FILTER_COLUMNS}
    if not any(filters.values()):
        filters["organization_level"] = "state"
    page_no = max(1, _int(request.GET.get("page"), 1))
    page = selectors.rows(version, filters=filters, limit=25, offset=(page_no - 1) * 25)
    chart_filters = {"organization_level": "state"}
    if "grade" in version.columns:
        chart_filters["grade"] = "All Grades"
    if tdef.slice_name:
        chart_filters["subject"] = filters.get("subject") or (
            selectors.distinct_values(version, "subject") or [""])[0]
    chart_rows = selectors.rows(version, filters=chart_filters, limit=60).rows
    picture = chart.bar_chart(
        f"{tdef.title}, state, by student group, {version.year_label}"
        + (f", {chart_filters['subject']}" if tdef.slice_name else ""),
        chart_rows, label="student_group", rate=rate)
    labels = {"organization_level": "Organization level", "student_group": "Student group",
              "grade": "Grade", "subject": "Subject"}
    choices = [(c, labels[c], selectors.distinct_values(version, c)) for c in labels
               if c in version.columns]
    query = request.GET.copy()
    query.pop("page", None)
    shown = [c for c in page.columns if c not in ("school_year", "suppression")]
    # The proof's attacker model has its own section; the notes keep the rest.
    model_texts = {m.get("text") for m in version.proof_models}
    return render(request, "portal/dataset.html", {
        "notes": [line for line in version.notes if line not in model_texts],
        "dataset": dataset, "version": version, "tdef": tdef, "rate": rate,
        "page": page, "page_no": page_no, "pages": max(1, -(-page.total // 25)),
        "shown": shown, "filters": filters, "choices": choices, "chart": picture,
        "versions": selectors.public_versions(dataset), "querystring": query.urlencode(),
        "current_years": [v.year_label for v in selectors.current_versions(dataset)],
        "column_help": _column_help(tdef),
    })


def _column_help(tdef: definitions.TableDef) -> list[tuple[str, str]]:
    cols = [("school_year", "School year, e.g. 2024-25"),
            ("organization_level", "state, district or school"),
            ("organization", "WA for the state, else the district or school code"),
            ("organization_name", "The organization's name"),
            ("student_group_type", "The partition the group belongs to (All Students, Gender, …)"),
            ("student_group", "The student group")]
    if tdef.by_grade:
        cols.append(("grade", "Grade, or All Grades"))
    if tdef.slice_name:
        cols.append((tdef.slice_name, "Test subject"))
    if tdef.kind == definitions.COUNT:
        cols.append(("count", "Number of students (blank when suppressed)"))
    else:
        cols += [("numerator", f"Number of {tdef.numerator_label} (blank when suppressed)"),
                 ("denominator", f"Number of {tdef.denominator_label} (blank when suppressed)")]
    cols += [("suppression", "Why a cell is hidden: primary (small), complementary, top_bottom"),
             ("display", "What is published: a number or rate, or a suppression label")]
    return cols


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


@require_GET
@PUBLIC_CACHE
def version_download(request: HttpRequest, slug: str, version_id: int,
                     fmt: str) -> HttpResponseBase:
    version = get_object_or_404(DatasetVersion, pk=version_id, dataset__slug=slug,
                                status__in=selectors.PUBLIC_STATUSES)
    stem = f"{version.dataset.slug}-{version.year_label}-v{version.number}"
    if fmt == "certificate.json":
        response = JsonResponse(version.certificate, json_dumps_params={"indent": 2})
        response["Content-Disposition"] = f'attachment; filename="{stem}-certificate.json"'
        return response
    field = {"csv": version.csv_file, "parquet": version.parquet_file}.get(fmt)
    if field is None or not field:
        raise Http404("no such file")
    content_type = "text/csv" if fmt == "csv" else "application/vnd.apache.parquet"
    return FileResponse(services.storage_open(field.name), as_attachment=True,
                        filename=f"{stem}.{fmt}", content_type=content_type)


@require_GET
@PUBLIC_CACHE
def data_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(dcat.catalog(request), json_dumps_params={"indent": 1})


# --- stewards -----------------------------------------------------------------------------

@require_roles(Role.DATA_STEWARD)
@require_http_methods(["GET", "POST"])
def staff_versions(request: HttpRequest) -> HttpResponse:
    form = BuildForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        year = form.cleaned_data["school_year"]
        try:
            if form.cleaned_data["dataset"] == EVERY_TABLE:
                queued = services.request_year(actor=request.user,  # type: ignore[arg-type]
                                               school_year=year)
                done = (f"Building {len(queued)} tables for "
                        f"{definitions.year_label(year)}. Each will wait here for approval.")
            else:
                services.ensure_datasets()
                dataset = Dataset.objects.get(table_key=form.cleaned_data["dataset"])
                version = services.request_build(actor=request.user,  # type: ignore[arg-type]
                                                 dataset=dataset, school_year=year)
                done = f"Building {version}. It will wait here for approval."
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
            return redirect("portal:staff_versions")
    versions = DatasetVersion.objects.select_related("dataset", "requested_by", "approved_by")
    page = Paginator(versions.order_by("-created_at"), 50).get_page(request.GET.get("page"))
    return render(request, "portal/staff_versions.html", {"form": form, "page": page})


@require_roles(Role.DATA_STEWARD)
@require_POST
def staff_approve_version(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(DatasetVersion, pk=version_id)
    try:
        services.approve_version(actor=request.user, version=version)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, exc.message)
        return render(request, "portal/refused.html", {"message": exc.message},
                      status=exc.status)
    messages.success(request, f"{version} is published.")
    return redirect("portal:staff_versions")


@require_roles(Role.DATA_STEWARD)
@require_GET
def staff_version_certificate(request: HttpRequest, version_id: int) -> HttpResponse:
    version = get_object_or_404(DatasetVersion, pk=version_id)
    return render(request, "portal/staff_version.html", {
        "version": version, "certificate": json.dumps(version.certificate, indent=2)})


# --- custom aggregate requests -----------------------------------------------------------

@require_roles(Role.REQUESTOR)
@require_http_methods(["GET", "POST"])
def my_aggregate_requests(request: HttpRequest) -> HttpResponse:
    form = AggregateRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            req = services.submit_aggregate_request(
                actor=request.user,  # type: ignore[arg-type]
                purpose=d["purpose"], table_key=d["table_key"], level=d["level"],
                groups=d["groups"], by_grade=d["by_grade"], district=d["district"],
                grades=[], years=d["years"])
        except DomainError as exc:
            for name, errs in exc.fields.items():
                for e in errs:
                    form.add_error(name if name in form.fields else None, e)
            if not exc.fields:
                form.add_error(None, exc.message)
        else:
            messages.success(request, f"{req.reference} is being computed.")
            return redirect("portal:aggregate_detail", request_id=req.pk)
    mine = AggregateRequest.objects.filter(requestor_id=request.user.pk)
    return render(request, "portal/aggregate_list.html", {"form": form, "mine": mine},
                  status=400 if form.is_bound and not form.is_valid() else 200)


def _visible(request: HttpRequest, request_id: int) -> AggregateRequest:
    """The requestor's own request, or any request for a steward; everyone else gets 404."""
    qs = AggregateRequest.objects.select_related("requestor")
    if not request.user.has_role(Role.DATA_STEWARD):  # type: ignore[union-attr]
        qs = qs.filter(requestor_id=request.user.pk)
    return get_object_or_404(qs, pk=request_id)


@login_required
@require_GET
def aggregate_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    req = _visible(request, request_id)
    steward = request.user.has_role(Role.DATA_STEWARD)  # type: ignore[union-attr]
    base = "staff_base.html" if steward else "base.html"
    return render(request, "portal/aggregate_detail.html", {
        "req": req, "base": base, "steward": steward, "decision": DecisionForm(),
        "tdef": definitions.BY_KEY.get(req.table_key),
        "years": [definitions.year_label(int(y)) for y in req.years],
        "certificate": json.dumps(req.certificate, indent=2)})


@login_required
@require_GET
def aggregate_download(request: HttpRequest, request_id: int, fmt: str) -> HttpResponseBase:
    req = _visible(request, request_id)
    if req.status != AggregateStatus.APPROVED:
        raise Http404("not released")
    if fmt == "certificate.json":
        response = JsonResponse(req.certificate, json_dumps_params={"indent": 2})
        response["Content-Disposition"] = f'attachment; filename="{req.reference}-certificate.json"'
        return response
    if fmt != "csv":
        raise Http404("no such file")
    services.record_download(actor=request.user, req=req)  # type: ignore[arg-type]
    return FileResponse(services.storage_open(req.csv_file.name), as_attachment=True,
                        filename=f"{req.reference}.csv", content_type="text/csv")


@require_roles(Role.DATA_STEWARD)
@require_GET
def staff_aggregate_queue(request: HttpRequest) -> HttpResponse:
    reqs = AggregateRequest.objects.select_related("requestor").order_by("-created_at")
    return render(request, "portal/staff_aggregates.html", {"reqs": reqs[:200]})


@require_roles(Role.DATA_STEWARD)
@require_POST
def staff_decide_aggregate(request: HttpRequest, request_id: int) -> HttpResponse:
    req = get_object_or_404(AggregateRequest, pk=request_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/refused.html", {"message": "Choose release or not."},
                      status=400)
    try:
        services.decide_aggregate_request(
            actor=request.user, req=req,  # type: ignore[arg-type]
            approve=form.cleaned_data["decision"] == "approve", note=form.cleaned_data["note"])
    except DomainError as exc:
        return render(request, "portal/refused.html", {"message": exc.message},
                      status=exc.status)
    messages.success(request, f"{req.reference}: decision recorded.")
    return redirect(reverse("portal:aggregate_detail", args=[req.pk]))


def suggestions(request: HttpRequest) -> HttpResponse:
    """"Is it already public?": published datasets matching the words given (a partial the
    intake form includes by name; works without JavaScript too)."""
    # The request form's own fields arrive by name (htmx hx-include); q is for anyone else.
    text = " ".join(request.GET.get(name, "")[:2000]
                    for name in ("q", "title", "purpose", "tables_requested", "products"))
    found = selectors.suggest(text)
    return render(request, "portal/_suggestions.html", {"found": found})


__all__ = ["VersionStatus"]
