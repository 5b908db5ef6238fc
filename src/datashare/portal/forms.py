from __future__ import annotations

from django import forms

from datashare.aggregate import definitions, groups
from datashare.portal import selectors


class CatalogSearch(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    topic = forms.ChoiceField(required=False, label="Topic")
    year = forms.TypedChoiceField(required=False, label="School year", coerce=int,
                                  empty_value=None)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        topic = self.fields["topic"]
        year = self.fields["year"]
        assert isinstance(topic, forms.ChoiceField) and isinstance(year, forms.ChoiceField)
        topic.choices = [("", "Any topic"), *((t, t) for t in selectors.topics())]
        year.choices = [("", "Any year"), *(
            (y, definitions.year_label(y)) for y in selectors.published_years())]


EVERY_TABLE = "*"


class BuildForm(forms.Form):
    dataset = forms.ChoiceField(label="Table")
    school_year = forms.CharField(label="School year", max_length=7,
                                  help_text="For example 2024-25")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["dataset"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [*((t.key, t.title) for t in definitions.TABLES),
                         (EVERY_TABLE, "Every table (the whole year)")]

    def clean_school_year(self) -> int:
        try:
            return definitions.parse_year(self.cleaned_data["school_year"])
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None


LEVELS = [("state", "State only"), ("district", "State and districts"),
          ("school", "State, districts and schools")]


class AggregateRequestForm(forms.Form):
    purpose = forms.CharField(max_length=500, label="What is the table for?",
                              widget=forms.Textarea(attrs={"rows": 2}))
    table_key = forms.ChoiceField(label="Measure")
    level = forms.ChoiceField(label="Organization level", choices=LEVELS, initial="district")
    district = forms.CharField(required=False, max_length=20, label="Only this district (code)",
                               help_text="Optional, for example 11111")
    groups = forms.MultipleChoiceField(required=False, label="Student groups",
                                       widget=forms.CheckboxSelectMultiple,
                                       choices=[(p.key, p.name) for p in groups.PARTITIONS])
    by_grade = forms.BooleanField(required=False, label="Break down by grade")
    years = forms.CharField(label="School years", max_length=60,
                            help_text="One or more, separated by commas: 2023-24, 2024-25")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["table_key"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(t.key, t.title) for t in definitions.TABLES]

    def clean_years(self) -> list[int]:
        out = []
        for part in self.cleaned_data["years"].replace(";", ",").split(","):
            if part.strip():
                try:
                    out.append(definitions.parse_year(part))
                except ValueError as exc:
                    raise forms.ValidationError(str(exc)) from None
        if not out:
            raise forms.ValidationError("Give at least one school year.")
        return out


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Release"), ("reject", "Do not release")])
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
