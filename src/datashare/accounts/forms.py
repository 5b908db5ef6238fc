"""The extra questions on the sign-up form (allauth's ACCOUNT_SIGNUP_FORM_CLASS)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest

from datashare.accounts.models import OrganizationKind


class SignupDetailsForm(forms.Form):
    field_order = ["full_name", "email", "organization", "organization_kind", "password1", "password2"]

    full_name = forms.CharField(max_length=200, label="Full name", widget=forms.TextInput(attrs={"autocomplete": "name"}))
    organization = forms.CharField(
        max_length=200,
        label="Organization",
        help_text="Where you work or study, e.g. a university, a legislative committee or a school district.",
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    organization_kind = forms.ChoiceField(
        choices=[("", "Choose one"), *OrganizationKind.choices],
        label="Kind of organization",
        help_text="Agency and legislative requests are handled first; staff check this before relying on it.",
    )

    def signup(self, request: HttpRequest, user: Any) -> None:
        from datashare.accounts.services import join_organization, update_profile

        update_profile(actor=user, user=user, full_name=self.cleaned_data["full_name"].strip())
        join_organization(
            actor=user,
            user=user,
            name=self.cleaned_data["organization"].strip(),
            kind=self.cleaned_data["organization_kind"],
        )
