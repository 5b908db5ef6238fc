from __future__ import annotations

from django import forms

from datashare.retention.models import DestructionMethod

ITEM_ROWS = 4


class ItemForm(forms.Form):
    copy = forms.CharField(max_length=300, required=False, label="Copy of the data")
    medium = forms.CharField(max_length=200, required=False, label="Medium")
    method = forms.ChoiceField(choices=[("", "Choose…"), *DestructionMethod.choices], required=False, label="Method")
    destroyed_on = forms.DateField(required=False, label="Date destroyed", widget=forms.DateInput(attrs={"type": "date"}))
    destroyed_by = forms.CharField(max_length=200, required=False, label="Destroyed by")

    def is_blank(self) -> bool:
        return not any(self.data.get(self.add_prefix(name)) for name in self.fields)


class SignForm(forms.Form):
    consent = forms.BooleanField(label="I agree to sign this certificate electronically", error_messages={"required": "Confirm that you agree to sign electronically."})
    typed_name = forms.CharField(max_length=200, label="Type your full name to sign")
    password = forms.CharField(widget=forms.PasswordInput, label="Your password")


class ReturnForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="What must be corrected")
