"""Pages of the retention app. Thin: check the role, read through selectors, render."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from datashare.accounts.models import Role
from datashare.accounts.permissions import require_roles
from datashare.audit.context import current_origin
from datashare.core.csvexport import csv_response
from datashare.core.errors import DomainError, Forbidden
from datashare.retention import destruction as services
from datashare.retention.forms import ITEM_ROWS, ItemForm, ReturnForm, SignForm
from datashare.retention.models import Destruction, RecordKind
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


@require_roles(*RECORD_READERS)
def disclosure_record_csv(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse("Bad search: " + "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items()), status=400, content_type="text/plain")
    response = csv_response(csv_rows(search_records(filters)), "record-of-disclosures.csv")
    return response  # type: ignore[return-value]  # streamed: the record may be long


# -- Destruction --------------------------------------------------------------------------------

STAFF_READERS = (Role.DATA_STEWARD, Role.AUDITOR, Role.ADMINISTRATOR)


def _destruction_for(request: HttpRequest, public_id: str) -> Destruction:
    d = Destruction.objects.select_related("agreement__organization", "agreement__data_request").filter(public_id=public_id).first()
    user = request.user
    if d is None or not (user.has_role(*STAFF_READERS) or services.is_researcher_on(user, d.agreement)):  # type: ignore[union-attr, arg-type]
        raise Http404("No such destruction")
    return d


def _page(request: HttpRequest, d: Destruction, *, items: list[ItemForm] | None = None, sign: SignForm | None = None, ret: ReturnForm | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    researcher = services.is_researcher_on(user, d.agreement)  # type: ignore[arg-type]
    verifier = user.has_role(Role.DATA_STEWARD, Role.ADMINISTRATOR) and not researcher  # type: ignore[union-attr]
    return render(
        request,
        "retention/destruction.html",
        {
            "base": "staff_base.html" if user.has_role(*STAFF_READERS) else "base.html",  # type: ignore[union-attr]
            "d": d,
            "researcher": researcher,
            "verifier": verifier,
            "items": items or [ItemForm(prefix=f"item-{i}") for i in range(1, ITEM_ROWS + 1)],
            "sign": sign or SignForm(),
            "ret": ret or ReturnForm(),
            "today": services._today(services.clock.now()),
        },
        status=status,
    )


@login_required
def destruction(request: HttpRequest, public_id: str) -> HttpResponse:
    return _page(request, _destruction_for(request, public_id))


@require_POST
@login_required
def certify(request: HttpRequest, public_id: str) -> HttpResponse:
    d = _destruction_for(request, public_id)
    if not services.is_researcher_on(request.user, d.agreement):  # type: ignore[arg-type]
        raise PermissionDenied("Only the agreement's authorized users certify its destruction.")
    items = [ItemForm(request.POST, prefix=f"item-{i}") for i in range(1, ITEM_ROWS + 1)]
    sign = SignForm(request.POST)
    valid = [f.is_valid() for f in items] + [sign.is_valid()]
    if all(valid):
        lines = [f.cleaned_data for f in items if not f.is_blank()]
        origin = current_origin.get()
        try:
            services.certify_destruction(actor=request.user, destruction=d, items=lines, typed_name=sign.cleaned_data["typed_name"], password=sign.cleaned_data["password"], consent=sign.cleaned_data["consent"], ip=getattr(origin, "ip", None) if origin else None, user_agent=request.headers.get("User-Agent", ""))  # type: ignore[arg-type]
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from None
        except DomainError as exc:
            blank = [f for f in items if f.is_blank()]
            filled = [f for f in items if not f.is_blank()]
            for key, messages in exc.fields.items():
                if key.startswith("item-") and key[5:].isdigit() and int(key[5:]) <= len(filled):
                    for m in messages:
                        filled[int(key[5:]) - 1].add_error(None, m)
                elif key in sign.fields:
                    for m in messages:
                        sign.add_error(key, m)
                else:
                    for m in messages or [exc.message]:
                        sign.add_error(None, m)
            if not exc.fields:
                sign.add_error(None, exc.message)
            return _page(request, d, items=filled + blank, sign=sign, status=422)
        return redirect("retention:destruction", public_id=d.public_id)
    return _page(request, d, items=items, sign=sign, status=422)


@require_POST
@require_roles(Role.DATA_STEWARD, Role.ADMINISTRATOR)
def verify(request: HttpRequest, public_id: str) -> HttpResponse:
    d = _destruction_for(request, public_id)
    ret = None
    try:
        if request.POST.get("action") == "return":
            ret = ReturnForm(request.POST)
            services.return_certificate(actor=request.user, destruction=d, reason=request.POST.get("reason", ""))  # type: ignore[arg-type]
        else:
            services.verify_destruction(actor=request.user, destruction=d)  # type: ignore[arg-type]
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None
    except DomainError as exc:
        ret = ret or ReturnForm()
        ret.add_error(None, exc.message)
        return _page(request, d, ret=ret, status=422 if exc.status == 422 else 409)
    return redirect("retention:destruction", public_id=d.public_id)


@require_roles(*STAFF_READERS)
def destructions(request: HttpRequest) -> HttpResponse:
    rows = Destruction.objects.select_related("agreement__organization").order_by("status", "due")
    return render(request, "retention/destructions.html", {"rows": rows, "today": services._today(services.clock.now())})


# -- Public register and reports ---------------------------------------------------------------


def public_register(request: HttpRequest) -> HttpResponse:
    from django.conf import settings

    from datashare.core import clock
    from datashare.retention.reports import register_rows

    if not getattr(settings, "PUBLIC_REGISTER_ENABLED", True):
        raise Http404("The register is not published")
    return render(request, "retention/register.html", {"rows": register_rows(clock.now().date())})


@require_roles(Role.DATA_STEWARD, Role.ADMINISTRATOR, Role.AUDITOR)
def reports_page(request: HttpRequest) -> HttpResponse:
    from datashare.core import clock
    from datashare.retention.reports import reports

    return render(request, "retention/reports.html", {"charts": reports(clock.now())})
