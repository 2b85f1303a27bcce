"""Forms of the quality pages (Norwegian; dates dd.mm.åååå, decimal comma)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms

from pht.app.quality.models import PdsaStage
from pht.reference.quality import load_quality_catalogue

DATE_FORMATS = ["%d.%m.%Y", "%Y-%m-%d"]


class GoalForm(forms.Form):
    """A goal: indicator, target in per cent, period."""

    indicator = forms.ChoiceField(label="Indikator")
    target = forms.CharField(label="Mål (%)", max_length=6)
    period_start = forms.DateField(label="Fra", input_formats=DATE_FORMATS)
    period_end = forms.DateField(label="Til", input_formats=DATE_FORMATS)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["indicator"].choices = [  # type: ignore[attr-defined]
            (i.key, i.name) for i in load_quality_catalogue().indicator
        ]

    def clean_target(self) -> Decimal:
        """Per cent → share."""
        raw = self.cleaned_data["target"].strip().replace(",", ".").rstrip("%").strip()
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise forms.ValidationError("Skriv målet i prosent, for eksempel 70.") from None
        if not Decimal(0) < value <= Decimal(100):
            raise forms.ValidationError("Målet må være mellom 0 og 100 %.")
        return (value / 100).quantize(Decimal("0.001"))


class NoteForm(forms.Form):
    """A PDSA note."""

    stage = forms.ChoiceField(label="Fase", choices=PdsaStage.choices)
    date = forms.DateField(label="Dato", input_formats=DATE_FORMATS)
    text = forms.CharField(label="Notat", widget=forms.Textarea(attrs={"rows": 3}))


class MeasurementForm(forms.Form):
    """A quarter's count."""

    quarter = forms.CharField(label="Kvartal (2023Q1)", max_length=6)
    numerator = forms.IntegerField(label="Antall som oppfyller", min_value=0)
    denominator = forms.IntegerField(label="Antall pasienter", min_value=1)
