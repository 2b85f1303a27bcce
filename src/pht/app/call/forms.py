"""Forms of the call. Every field is optional to Django: a draft may be incomplete; the domain's
validation (:mod:`pht.call.validation`) decides what is missing, field by field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from pht.call.application import Application

_TEXT = {"rows": 3}

#: Domain field path (prefix) → form field; the longest matching prefix wins.
FIELD_OF_PATH = {
    "applicant.municipality_code": "municipality_code",
    "applicant.municipality": "municipality",
    "applicant.population": "population",
    "applicant.address.street": "street",
    "applicant.address.postcode": "postcode",
    "applicant.address.city": "city",
    "applicant.orgnr": "orgnr",
    "applicant.bank_account": "bank_account",
    "applicant.contact.name": "contact_name",
    "applicant.contact.title": "contact_title",
    "applicant.contact.email": "contact_email",
    "applicant.contact.phone": "contact_phone",
    "purpose": "purpose",
    "project_description": "project_description",
    "gp_service_organisation": "gp_service_organisation",
    "internal_control": "internal_control",
    "external_control": "external_control",
    "practices": "practice_name",
    "practices[0].name": "practice_name",
    "practices[0].orgnr": "practice_orgnr",
    "practices[0].bank_account": "practice_bank_account",
    "practices[0].daily_leader_hpr": "daily_leader_hpr",
    "practices[0].planned_nurse_fte": "planned_nurse_fte",
    "practices[0].financing_model": "financing_model",
    "practices[0].gps": "gps",
    "signature.name": "signature_name",
    "signature.title": "signature_title",
    "signature.role": "signature_role",
    "signature.signed_on": "signed_on",
    "signature.delegation": "delegation",
}


def form_field_for(path: str) -> str | None:
    """The form field that shows the message for domain field *path*."""
    best = None
    for prefix, name in FIELD_OF_PATH.items():
        if (path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, name)
    return None if best is None else best[1]


class ApplicationForm(forms.Form):
    """The application form (one joining practice; more come by import)."""

    municipality = forms.CharField(label=_("Kommune"), required=False)
    municipality_code = forms.CharField(label=_("Kommunenummer"), required=False, max_length=4)
    population = forms.IntegerField(label=_("Innbyggertall"), required=False, min_value=0)
    street = forms.CharField(label=_("Adresse"), required=False)
    postcode = forms.CharField(label=_("Postnummer"), required=False, max_length=4)
    city = forms.CharField(label=_("Poststed"), required=False)
    orgnr = forms.CharField(label=_("Organisasjonsnummer"), required=False)
    bank_account = forms.CharField(label=_("Kontonummer"), required=False)
    contact_name = forms.CharField(label=_("Kontaktperson"), required=False)
    contact_title = forms.CharField(label=_("Kontaktpersonens stilling"), required=False)
    contact_email = forms.CharField(label=_("E-post"), required=False)
    contact_phone = forms.CharField(label=_("Telefon"), required=False)
    purpose = forms.CharField(
        label=_("Formålet med tilskuddet"), required=False, widget=forms.Textarea(attrs=_TEXT)
    )
    project_description = forms.CharField(
        label=_("Prosjektbeskrivelse"), required=False, widget=forms.Textarea(attrs=_TEXT)
    )
    gp_service_organisation = forms.CharField(
        label=_("Organisering av fastlegeordningen"),
        required=False,
        widget=forms.Textarea(attrs=_TEXT),
    )
    internal_control = forms.CharField(
        label=_("Interne kontrolltiltak"), required=False, widget=forms.Textarea(attrs=_TEXT)
    )
    external_control = forms.CharField(
        label=_("Eksterne kontrolltiltak"), required=False, widget=forms.Textarea(attrs=_TEXT)
    )
    practice_name = forms.CharField(label=_("Praksis som deltar"), required=False)
    practice_orgnr = forms.CharField(label=_("Praksisens organisasjonsnummer"), required=False)
    practice_bank_account = forms.CharField(label=_("Praksisens kontonummer"), required=False)
    practice_district = forms.CharField(label=_("Bydel (Oslo)"), required=False)
    daily_leader_hpr = forms.CharField(label=_("Daglig leder (HPR-nummer)"), required=False)
    planned_nurse_fte = forms.DecimalField(
        label=_("Planlagte sykepleierårsverk"),
        required=False,
        min_value=Decimal(0),
        decimal_places=2,
        max_digits=5,
    )
    financing_model = forms.ChoiceField(
        label=_("Finansieringsmodell"),
        required=False,
        choices=[("", "—"), ("fee", _("honorarmodell")), ("grant", _("driftstilskuddsmodell"))],
    )
    gps = forms.CharField(
        label=_("Fastlegene i praksisen"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Én fastlege per linje: HPR-nummer; navn; listelengde; deltar (ja/nei)"),
    )
    signature_name = forms.CharField(label=_("Signert av"), required=False)
    signature_title = forms.CharField(label=_("Stilling"), required=False)
    signature_role = forms.ChoiceField(
        label=_("Signerer som"),
        required=False,
        choices=[
            ("", "—"),
            ("chief_executive", _("rådmann")),
            ("delegate", _("delegert myndighet")),
        ],
    )
    signed_on = forms.DateField(label=_("Dato signert (ÅÅÅÅ-MM-DD)"), required=False)
    delegation = forms.CharField(
        label=_("Delegering (ved delegert myndighet)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_gps(self) -> list[dict[str, Any]]:
        """GP lines → GP dicts; a malformed line is an error on this field."""
        out: list[dict[str, Any]] = []
        for n, line in enumerate(str(self.cleaned_data.get("gps") or "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split(";")]
            if len(parts) < 3:
                raise forms.ValidationError(
                    _("Linje %(n)d: skriv HPR-nummer; navn; listelengde"), params={"n": n}
                )
            try:
                size = int(parts[2]) if parts[2] else None
            except ValueError:
                raise forms.ValidationError(
                    _("Linje %(n)d: listelengden må være et heltall"), params={"n": n}
                ) from None
            takes_part = len(parts) < 4 or parts[3].lower() not in {"nei", "n", "no"}
            out.append(
                {"hpr": parts[0], "name": parts[1], "list_size": size, "takes_part": takes_part}
            )
        return out

    def to_application_data(self) -> dict[str, Any]:
        """The cleaned form as a dict of :class:`pht.call.Application` fields."""
        c = self.cleaned_data
        practice = {
            "name": c["practice_name"],
            "orgnr": c["practice_orgnr"],
            "bank_account": c["practice_bank_account"],
            "district": c["practice_district"] or None,
            "daily_leader_hpr": c["daily_leader_hpr"],
            "planned_nurse_fte": c["planned_nurse_fte"],
            "financing_model": c["financing_model"] or None,
            "gps": c["gps"],
        }
        has_practice = any(v for k, v in practice.items() if k != "gps") or c["gps"]
        return {
            "applicant": {
                "municipality_code": c["municipality_code"],
                "municipality": c["municipality"],
                "population": c["population"],
                "address": {"street": c["street"], "postcode": c["postcode"], "city": c["city"]},
                "orgnr": c["orgnr"],
                "bank_account": c["bank_account"],
                "contact": {
                    "name": c["contact_name"],
                    "title": c["contact_title"],
                    "email": c["contact_email"],
                    "phone": c["contact_phone"],
                },
            },
            "purpose": c["purpose"],
            "project_description": c["project_description"],
            "gp_service_organisation": c["gp_service_organisation"],
            "internal_control": c["internal_control"],
            "external_control": c["external_control"],
            "practices": [practice] if has_practice else [],
            "signature": {
                "name": c["signature_name"],
                "title": c["signature_title"],
                "role": c["signature_role"] or None,
                "signed_on": c["signed_on"],
                "delegation": c["delegation"],
            },
        }


def initial_from(app: Application) -> dict[str, Any]:
    """Form initial values from an application."""
    a = app.applicant
    p = app.practices[0] if app.practices else None
    gps = ""
    if p is not None:
        gps = "\n".join(
            f"{g.hpr}; {g.name}; {'' if g.list_size is None else g.list_size}; "
            f"{'ja' if g.takes_part else 'nei'}"
            for g in p.gps
        )
    return {
        "municipality": a.municipality,
        "municipality_code": a.municipality_code,
        "population": a.population,
        "street": a.address.street,
        "postcode": a.address.postcode,
        "city": a.address.city,
        "orgnr": a.orgnr,
        "bank_account": a.bank_account,
        "contact_name": a.contact.name,
        "contact_title": a.contact.title,
        "contact_email": a.contact.email,
        "contact_phone": a.contact.phone,
        "purpose": app.purpose,
        "project_description": app.project_description,
        "gp_service_organisation": app.gp_service_organisation,
        "internal_control": app.internal_control,
        "external_control": app.external_control,
        "practice_name": p.name if p else "",
        "practice_orgnr": p.orgnr if p else "",
        "practice_bank_account": p.bank_account if p else "",
        "practice_district": (p.district or "") if p else "",
        "daily_leader_hpr": p.daily_leader_hpr if p else "",
        "planned_nurse_fte": p.planned_nurse_fte if p else None,
        "financing_model": (p.financing_model.value if p and p.financing_model else ""),
        "gps": gps,
        "signature_name": app.signature.name,
        "signature_title": app.signature.title,
        "signature_role": app.signature.role.value if app.signature.role else "",
        "signed_on": app.signature.signed_on,
        "delegation": app.signature.delegation,
    }


class ScoreForm(forms.Form):
    """One criterion's score with its reason."""

    criterion = forms.CharField(widget=forms.HiddenInput)
    score = forms.IntegerField(label=_("Poeng"), min_value=1, max_value=5)
    comment = forms.CharField(label=_("Begrunnelse"), widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(forms.Form):
    """A free-text reason (accepting a late application, a conflict of interest)."""

    reason = forms.CharField(label=_("Begrunnelse"), widget=forms.Textarea(attrs={"rows": 2}))


class WhatIfForm(forms.Form):
    """Quotas, GP target and band for a what-if selection (empty: the call's own)."""

    quota_small = forms.IntegerField(label=_("Små kommuner"), required=False, min_value=0)
    quota_medium = forms.IntegerField(label=_("Mellomstore"), required=False, min_value=0)
    quota_large = forms.IntegerField(label=_("Store"), required=False, min_value=0)
    gp_target = forms.IntegerField(label=_("Mål, fastleger"), required=False, min_value=0)
    band = forms.IntegerField(label=_("Bånd ±"), required=False, min_value=0)

    def what_if(self) -> dict[str, int | None]:
        """The values given (None where empty)."""
        if not self.is_valid():
            return {}
        return {k: self.cleaned_data.get(k) for k in self.fields}
