"""One form per step of the Data Sharing Request Form. Forms parse input only: every rule about
what is complete or allowed lives in ``validation.py`` (shared with the API and submission)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from datashare.accounts.models import OrganizationKind
from datashare.intake.models import AttachmentPurpose, DataRequest, DeliveryFormat, FerpaException
from datashare.intake.validation import CONTACT_FIELDS


class RequestStepForm(forms.ModelForm):
    class Meta:
        model = DataRequest
        fields = ["title", "kind", "legislative_requirement", "legislative_citation", "ferpa_exception", "ferpa_explanation"]
        widgets = {"kind": forms.RadioSelect, "ferpa_exception": forms.RadioSelect, "ferpa_explanation": forms.Textarea(attrs={"rows": 4})}
        labels = {
            "legislative_requirement": "This request pertains to a legislative requirement",
            "legislative_citation": "Legislative requirement (bill, section or budget proviso)",
            "ferpa_exception": "FERPA exception (identifiable data only)",
            "ferpa_explanation": "How the project meets that exception",
        }

    # Asked only of identifiable requests: shown when that kind is chosen (see step_form.html).
    IDENTIFIABLE_ONLY = ("ferpa_exception", "ferpa_explanation")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ferpa = self.fields["ferpa_exception"]
        assert isinstance(ferpa, forms.ChoiceField)
        ferpa.choices = [("", "Not chosen"), *FerpaException.choices]
        for f in self.fields.values():
            f.required = False

    def chosen_kind(self) -> str:
        """The kind as posted (the page is redrawn for it) or as saved."""
        if self.is_bound:
            return str(self.data.get("kind") or (self.instance.kind if self.instance else ""))
        return str(self.initial.get("kind") or (self.instance.kind if self.instance and self.instance.pk else ""))


class NewRequestForm(RequestStepForm):
    """The first step and the start of the request in one page: nothing asked twice."""

    organization_name = forms.CharField(
        max_length=200, required=False, label="Your organization", help_text="The organization requesting the data."
    )
    organization_kind = forms.ChoiceField(
        choices=[("", "Choose...")] + [c for c in OrganizationKind.choices if c[0] != OrganizationKind.STATE_EDUCATION_AGENCY],
        required=False,
        label="Kind of organization",
    )

    def __init__(self, *args: Any, needs_organization: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["title"].required = True
        self.fields["title"].help_text = "A short name for your project."
        self.fields["kind"].required = True
        if not needs_organization:
            del self.fields["organization_name"]
            del self.fields["organization_kind"]
        else:
            self.fields["organization_name"].required = True
            self.fields["organization_kind"].required = True
        # The organization first: it is who asks.
        self.order_fields(["organization_name", "organization_kind", "title", "kind"])


class ContactsStepForm(forms.Form):
    data_manager_email = forms.EmailField(
        required=False,
        label="Email of the person directly responsible for managing the data",
        help_text="They must be registered here and will be asked to accept the role.",
    )

    def __init__(self, *args: Any, short_form: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        prefixes = ["primary"] if short_form else ["primary", "secondary"]
        for prefix in prefixes:
            for key, name in CONTACT_FIELDS:
                field: forms.Field
                if key == "email":
                    field = forms.EmailField(required=False, label=name)
                elif key == "mailing_address":
                    field = forms.CharField(required=False, label=name, widget=forms.Textarea(attrs={"rows": 3}))
                else:
                    field = forms.CharField(required=False, label=name, max_length=200)
                self.fields[f"{prefix}_{key}"] = field
        if short_form:
            del self.fields["data_manager_email"]
        self.prefixes = prefixes

    def contact_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (f"{p.title()} contact", [self[f"{p}_{k}"] for k, _ in CONTACT_FIELDS]) for p in self.prefixes
        ]

    @staticmethod
    def initial_for(r: DataRequest) -> dict[str, Any]:
        initial: dict[str, Any] = {"data_manager_email": r.data_manager.email if r.data_manager else ""}
        for prefix, contact in (("primary", r.primary_contact), ("secondary", r.secondary_contact)):
            for key, _ in CONTACT_FIELDS:
                initial[f"{prefix}_{key}"] = (contact or {}).get(key, "")
        return initial

    def contacts(self) -> dict[str, dict[str, str]]:
        out = {}
        for prefix in self.prefixes:
            out[f"{prefix}_contact"] = {k: str(self.cleaned_data.get(f"{prefix}_{k}") or "").strip() for k, _ in CONTACT_FIELDS}
        return out


class ProjectStepForm(forms.ModelForm):
    class Meta:
        model = DataRequest
        fields = [
            "purpose", "research_questions", "analyses", "benefit", "products", "sharing_plan",
            "pledge_to_share", "start_date", "end_date", "duration_justification",
        ]
        widgets = {
            **{f: forms.Textarea(attrs={"rows": 4}) for f in ["purpose", "research_questions", "analyses", "benefit", "products", "sharing_plan", "duration_justification"]},
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }
        labels = {
            "purpose": "Purpose of the project",
            "research_questions": "Research questions",
            "analyses": "Analyses planned",
            "benefit": "How the project benefits education in the state",
            "products": "Expected products (reports, articles, dashboards...)",
            "sharing_plan": "How the products will be shared",
            "pledge_to_share": "I will give the agency a copy of every product before it is released, published or otherwise made available",
            "start_date": "Start date",
            "end_date": "End date",
            "duration_justification": "Why the project needs more than two years (if it does)",
        }
        help_texts = {"end_date": "At most three years after the start; more than two needs a justification."}

    # The suppressed-aggregate short form asks only what the tables are for: no agreement is
    # signed for them, so there is no term (start and end dates).
    SHORT_FORM_FIELDS = ("purpose", "products")

    def __init__(self, *args: Any, short_form: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if short_form:
            for name in [n for n in self.fields if n not in self.SHORT_FORM_FIELDS]:
                del self.fields[name]
        for f in self.fields.values():
            f.required = False


class TablesStepForm(forms.ModelForm):
    """The short form's data step: the suppressed aggregate tables wanted, in words."""

    class Meta:
        model = DataRequest
        fields = ["tables_requested"]
        widgets = {"tables_requested": forms.Textarea(attrs={"rows": 8})}
        labels = {"tables_requested": "The tables you need"}
        help_texts = {
            "tables_requested": "For each table: what is counted or measured, the groups (e.g. grade, race/ethnicity), "
            "the level (school, district or state) and the school years (2009-10 and later)."
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            f.required = False


class SecurityStepForm(forms.ModelForm):
    delivery_formats = forms.MultipleChoiceField(
        required=False,
        choices=DeliveryFormat.choices,
        widget=forms.CheckboxSelectMultiple,
        label="File formats wanted besides Parquet and CSV (every package has those two)",
    )
    security_policy = forms.FileField(
        required=False, label="Your organization's security policy (PDF or DOCX)", widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.docx"})
    )
    irb_document = forms.FileField(
        required=False, label="IRB approval letter (PDF or DOCX, optional)", widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.docx"})
    )

    class Meta:
        model = DataRequest
        fields = [
            "storage_location", "encryption_at_rest", "encryption_in_transit", "access_controls",
            "software", "delivery_formats", "people_with_access", "irb_approved", "irb_expires",
        ]
        widgets = {
            **{f: forms.Textarea(attrs={"rows": 3}) for f in ["storage_location", "encryption_at_rest", "encryption_in_transit", "access_controls", "software"]},
            "people_with_access": forms.Textarea(attrs={"rows": 4}),
            "irb_expires": forms.DateInput(attrs={"type": "date"}),
        }
        labels = {
            "storage_location": "Where the data will be stored",
            "encryption_at_rest": "Encryption at rest",
            "encryption_in_transit": "Encryption in transit",
            "access_controls": "Access controls",
            "software": "Software used with the data",
            "people_with_access": "People who will have access, and their roles (one per line)",
            "irb_approved": "The project has IRB approval",
            "irb_expires": "IRB approval expires on",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            f.required = False
        if self.instance.delivery_formats is None:  # not answered yet: the agency's default, ticked
            self.initial["delivery_formats"] = [f for f in settings.EXTRACT_FORMATS if f in DeliveryFormat.values]

    UPLOADS = {"security_policy": AttachmentPurpose.SECURITY_POLICY, "irb_document": AttachmentPurpose.IRB_APPROVAL}


class DenyForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="Reason (sent to the requestor)")


class CommentRequestForm(forms.Form):
    reviewer = forms.ChoiceField(label="Department reviewer")
    question = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="What to look at", help_text="The reviewer gets this in the email: say what you want them to check.")
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Deadline", help_text="Blank: five business days from today.")
