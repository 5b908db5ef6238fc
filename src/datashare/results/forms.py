from __future__ import annotations

from django import forms

from datashare.results.services import CHECKLIST


class SubmitForm(forms.Form):
    title = forms.CharField(max_length=200, label="Title of the product")
    file = forms.FileField(label="Draft product (PDF, Word .docx, Excel .xlsx or CSV)")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for key, text in CHECKLIST:
            self.fields[key] = forms.BooleanField(required=True, label=text, error_messages={"required": "Confirm this before sending."})

    def checklist_fields(self) -> list[forms.BoundField]:
        return [self[key] for key, _ in CHECKLIST]


class VersionForm(forms.Form):
    file = forms.FileField(label="Corrected product")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="What changed")


class ReviewForm(forms.Form):
    action = forms.ChoiceField(choices=[("comment", "Comment"), ("request_changes", "Request changes"), ("clear", "Clear for release")])
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}), label="Message to the researcher")


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Your note to the agency")
