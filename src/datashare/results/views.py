"""Results pages: thin views over ``access`` (who sees what) and ``services`` (every change)."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from datashare.accounts.permissions import require_roles
from datashare.core.errors import DomainError, Forbidden
from datashare.intake.uploads import oversized, too_large_message
from datashare.results import services
from datashare.results.access import (
    READ_ALL_ROLES,
    REVIEWER_ROLES,
    can_review,
    get_submission_for,
    is_researcher_on,
    submittable_agreements,
    visible_submissions,
)
from datashare.results.forms import CommentForm, ReviewForm, SubmitForm, VersionForm
from datashare.results.models import ResultsSubmission
from datashare.results.selectors import review_queue, version_diff


def _base(request: HttpRequest) -> str:
    return "staff_base.html" if request.user.has_role(*READ_ALL_ROLES) else "base.html"  # type: ignore[union-attr]


def _apply_errors(form: object, exc: DomainError) -> None:
    for field, messages in exc.fields.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)  # type: ignore[attr-defined]
    if not exc.fields:
        form.add_error(None, exc.message)  # type: ignore[attr-defined]


@login_required
def my_results(request: HttpRequest) -> HttpResponse:
    submissions = visible_submissions(request.user).select_related("agreement").order_by("-created_at")  # type: ignore[arg-type]
    agreements = submittable_agreements(request.user)  # type: ignore[arg-type]
    return render(request, "results/list.html", {"base": _base(request), "submissions": submissions, "agreements": agreements})


@require_roles(*READ_ALL_ROLES)
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "results/queue.html", {"rows": review_queue()})


@login_required
@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest, agreement_id: str) -> HttpResponse:
    agreement = get_object_or_404(submittable_agreements(request.user), public_id=agreement_id)  # type: ignore[arg-type]
    form = SubmitForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if "file" in oversized(request):
            form.add_error("file", too_large_message())
        elif form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                submission = services.submit_results(
                    actor=request.user,  # type: ignore[arg-type]
                    agreement=agreement,
                    title=form.cleaned_data["title"],
                    checklist={k: bool(form.cleaned_data.get(k)) for k, _ in services.CHECKLIST},
                    upload=upload,
                    name=upload.name,
                    size=upload.size,
                )
            except DomainError as exc:
                _apply_errors(form, exc)
            else:
                return redirect("results:detail", public_id=submission.public_id)
    status = 422 if request.method == "POST" else 200
    return render(request, "results/submit.html", {"form": form, "agreement": agreement}, status=status)


def _detail_context(request: HttpRequest, submission: object) -> dict[str, object]:
    s = submission
    versions = list(s.versions.all())  # type: ignore[attr-defined]
    user = request.user
    reviewer = can_review(user) and s.submitted_by_id != user.pk and not is_researcher_on(user, s.agreement)  # type: ignore[attr-defined, arg-type]
    researcher = is_researcher_on(user, s.agreement)  # type: ignore[attr-defined, arg-type]
    return {
        "base": _base(request),
        "s": s,
        "versions": versions,
        "latest": versions[-1] if versions else None,
        "comments": s.comments.select_related("author"),  # type: ignore[attr-defined]
        "reviewer": reviewer,
        "researcher": researcher,
        "is_open": s.status in ("in_review", "changes_requested"),  # type: ignore[attr-defined]
        "review_form": ReviewForm(),
        "version_form": VersionForm(),
        "comment_form": CommentForm(),
    }


@login_required
def detail(request: HttpRequest, public_id: str) -> HttpResponse:
    submission = get_submission_for(request.user, public_id)  # type: ignore[arg-type]
    return render(request, "results/detail.html", _detail_context(request, submission))


def _on_detail(request: HttpRequest, submission: ResultsSubmission, form: forms.Form, context_key: str,
               act: Callable[[], object] | None) -> HttpResponse:
    """Run ``act`` (a service call) when the form is valid and return to the submission; else
    the detail page again with the form's errors (422). A refusal by the service is a 403."""
    if act is not None and form.is_valid():
        try:
            act()
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from None
        except DomainError as exc:
            _apply_errors(form, exc)
        else:
            return redirect("results:detail", public_id=submission.public_id)
    context = _detail_context(request, submission)
    context[context_key] = form
    return render(request, "results/detail.html", context, status=422)


def _researcher_submission(request: HttpRequest, public_id: str, refusal: str) -> ResultsSubmission:
    submission = get_submission_for(request.user, public_id)  # type: ignore[arg-type]
    if not is_researcher_on(request.user, submission.agreement):  # type: ignore[arg-type]
        raise PermissionDenied(refusal)
    return submission


@require_POST
@require_roles(*REVIEWER_ROLES)
def review(request: HttpRequest, public_id: str) -> HttpResponse:
    submission = get_submission_for(request.user, public_id)  # type: ignore[arg-type]
    form = ReviewForm(request.POST)
    actions = {"comment": services.comment, "request_changes": services.request_changes}

    def act() -> object:
        service = actions.get(form.cleaned_data["action"], services.clear_for_release)
        return service(actor=request.user, submission=submission, body=form.cleaned_data["body"])  # type: ignore[arg-type]

    return _on_detail(request, submission, form, "review_form", act)


@require_POST
@login_required
def upload_version(request: HttpRequest, public_id: str) -> HttpResponse:
    submission = _researcher_submission(request, public_id, "Only the agreement's authorized users send its results.")
    form = VersionForm(request.POST, request.FILES)
    if "file" in oversized(request):
        form.add_error("file", too_large_message())
        return _on_detail(request, submission, form, "version_form", None)

    def act() -> object:
        upload = form.cleaned_data["file"]
        return services.add_version(actor=request.user, submission=submission, upload=upload, name=upload.name, size=upload.size, note=form.cleaned_data["note"])  # type: ignore[arg-type]

    return _on_detail(request, submission, form, "version_form", act)


@require_POST
@login_required
def respond(request: HttpRequest, public_id: str) -> HttpResponse:
    submission = _researcher_submission(request, public_id, "Only the agreement's authorized users answer here.")
    form = CommentForm(request.POST)
    return _on_detail(request, submission, form, "comment_form",
                      lambda: services.comment(actor=request.user, submission=submission, body=form.cleaned_data["body"]))  # type: ignore[arg-type]


@require_POST
@login_required
def withdraw(request: HttpRequest, public_id: str) -> HttpResponse:
    submission = get_submission_for(request.user, public_id)  # type: ignore[arg-type]
    try:
        services.withdraw(actor=request.user, submission=submission)  # type: ignore[arg-type]
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from None
    except DomainError:
        pass  # already closed: the page shows the status
    return redirect("results:detail", public_id=submission.public_id)


@login_required
def download(request: HttpRequest, public_id: str, number: int) -> FileResponse:
    submission = get_submission_for(request.user, public_id)  # type: ignore[arg-type]
    version = submission.versions.filter(number=number).first()
    if version is None:
        raise Http404("No such version")
    # Served only as a download, never rendered inline (a PDF or HTML-ish CSV cannot run here).
    return FileResponse(version.file.open("rb"), as_attachment=True, filename=version.original_name, content_type="application/octet-stream")


@login_required
def diff(request: HttpRequest, public_id: str, old: int, new: int) -> HttpResponse:
    submission = get_submission_for(request.user, public_id)  # type: ignore[arg-type]
    versions = {v.number: v for v in submission.versions.filter(number__in=[old, new])}
    if old not in versions or new not in versions:
        raise Http404("No such version")
    return render(request, "results/diff.html", {"base": _base(request), "s": submission, "d": version_diff(versions[old], versions[new])})
