"""Every rate and rule of the scheme in force on a day, each with its period, status and source.

Read from the reference data (``pht.reference.financing``, ``pht.reference.scheme``): the
basistilskudd of the day's period (flat, knekkpunkt with list cap, or patient-adjusted with its
indicator weights), the grunntilskudd, the co-payment ceiling of the year and the age below which
children pay nothing, every tariff amount valid that day (fee, refund, co-payment), how nurse
work is priced (the trial's nurse tariffs or delegated consultations), the project funds, the
staffing norm, and the operating-grant model's parameters. ``pht finance rates --date``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from pht.core.errors import ReferenceDataError
from pht.reference.financing import (
    BasisPeriod,
    activity_equivalents,
    financing_years,
    load_financing_rates,
    load_patient_adjusted_weights,
    load_tariff_amounts,
)
from pht.reference.scheme import load_scheme_rules

__all__ = ["RateFigure", "rates_in_force"]

_STATUS = {"C", "D", "U", "A"}


@dataclass(frozen=True, slots=True)
class RateFigure:
    """One figure in force on a day."""

    group: str
    name: str
    label_nb: str
    value: Decimal | int | str
    unit: str
    valid_from: dt.date
    last_day: dt.date | None
    status: str
    sources: tuple[str, ...]
    note: str = ""

    def as_row(self) -> dict[str, Any]:
        """A plain dict (dates ISO, amounts as strings)."""
        row = asdict(self)
        row["value"] = str(self.value)
        row["valid_from"] = self.valid_from.isoformat()
        row["last_day"] = self.last_day.isoformat() if self.last_day else None
        row["sources"] = list(self.sources)
        return row


def _same(a: BasisPeriod, b: BasisPeriod) -> bool:
    keep = (
        "kind",
        "rate",
        "rate_below_knekkpunkt",
        "knekkpunkt",
        "list_cap",
        "grunntilskudd_below",
        "status",
        "statuses",
    )
    return all(getattr(a, k) == getattr(b, k) for k in keep)


def _span(seg: BasisPeriod) -> tuple[dt.date, dt.date]:
    """The whole period of *seg*'s figures: year files split periods at 31 December."""
    first, last = seg.valid_from, seg.last_day
    years = set(financing_years())
    while first.month == 1 and first.day == 1 and first.year - 1 in years:
        prev = load_financing_rates(first.year - 1).basistilskudd[-1]
        if not _same(prev, seg):
            break
        first = prev.valid_from
    while last.month == 12 and last.day == 31 and last.year + 1 in years:
        nxt = load_financing_rates(last.year + 1).basistilskudd[0]
        if not _same(nxt, seg):
            break
        last = nxt.last_day
    return first, last


def _basis(day: dt.date) -> list[RateFigure]:
    rates = load_financing_rates(day.year)
    seg = next(p for p in rates.basistilskudd if day in p.period)
    first, last = _span(seg)
    out: list[RateFigure] = []

    def fig(name: str, label: str, value: Any, unit: str, field: str, note: str = "") -> None:
        out.append(
            RateFigure(
                "basistilskudd",
                name,
                label,
                value,
                unit,
                first,
                last,
                seg.status_of(field),
                tuple(seg.sources),
                note or seg.note,
            )
        )

    per = "NOK per listeinnbygger og år"
    if seg.kind == "flat":
        fig("basistilskudd", "Basistilskudd", seg.rate, per, "rate")
    elif seg.kind == "knekkpunkt":
        fig(
            "basistilskudd_below_knekkpunkt",
            f"Basistilskudd opptil knekkpunktet ({seg.knekkpunkt} listeinnbyggere)",
            seg.rate_below_knekkpunkt,
            per,
            "rate_below_knekkpunkt",
        )
        fig(
            "basistilskudd_above_knekkpunkt",
            f"Basistilskudd fra listeinnbygger {(seg.knekkpunkt or 0) + 1}"
            + (f" til {seg.list_cap}" if seg.list_cap else ""),
            seg.rate,
            per,
            "rate",
        )
        fig("knekkpunkt", "Knekkpunkt", seg.knekkpunkt, "listeinnbyggere", "knekkpunkt")
        if seg.list_cap:
            fig(
                "list_cap",
                "Høyeste antall listeinnbyggere med basistilskudd",
                seg.list_cap,
                "listeinnbyggere",
                "list_cap",
            )
    else:
        fig(
            "patient_adjusted_basistilskudd",
            "Pasienttilpasset basistilskudd, nasjonal gjennomsnittssats",
            seg.rate,
            per + " (× personens vekt)",
            "rate",
        )
        weights = load_patient_adjusted_weights()
        sa = weights.sex_age
        for band in sa.bands:
            ages = f"{band.age_from}–{band.age_to}" if band.age_to < 130 else f"{band.age_from}+"
            for sex, label, w in (("F", "kvinner", band.female), ("M", "menn", band.male)):
                out.append(
                    RateFigure(
                        "pasienttilpasset_vekt",
                        f"weight_{sex}_{band.age_from}",
                        f"Vekt {label} {ages} år",
                        w,
                        "vekt",
                        weights.valid_from,
                        None,
                        sa.status,
                        tuple(sa.sources),
                        sa.note,
                    )
                )
        for ind in weights.indicators:
            out.append(
                RateFigure(
                    "pasienttilpasset_vekt",
                    ind.name,
                    f"Vekt: {ind.label_nb}",
                    ind.weight,
                    "vekt",
                    weights.valid_from,
                    None,
                    ind.status,
                    tuple(ind.sources),
                    f"indikator bekreftet ({ind.structure_status}); vekten er ikke publisert",
                )
            )
    if seg.grunntilskudd_below:
        fig(
            "grunntilskudd",
            f"Grunntilskudd: liste under {seg.grunntilskudd_below} betales som "
            f"{seg.grunntilskudd_below} listeinnbyggere i de første {seg.grunntilskudd_years} "
            "årene av fastlegeavtalen",
            seg.grunntilskudd_rate,
            per,
            "grunntilskudd_below",
        )
    return out


def _year_rules(day: dt.date) -> list[RateFigure]:
    rates = load_financing_rates(day.year)
    year_start, year_end = dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    cp = rates.copayment
    out = [
        RateFigure(
            "egenandel",
            "egenandelstak",
            "Egenandelstak (frikort)",
            cp.ceiling,
            "NOK per person og kalenderår",
            year_start,
            year_end,
            cp.ceiling_status,
            tuple(cp.ceiling_sources),
            cp.ceiling_note,
        ),
        RateFigure(
            "egenandel",
            "free_below_age",
            "Barn under denne alderen betaler ingen egenandel hos fastlegen",
            cp.free_below_age,
            "år",
            year_start,
            year_end,
            "C",
            tuple(cp.free_below_age_sources),
        ),
    ]
    gm = rates.grant_model
    for name, label, value, unit in (
        (
            "grant_base_rate",
            "Driftstilskuddsmodellen: sats per behovsvektet listeinnbygger",
            gm.base_rate,
            "NOK per år",
        ),
        (
            "grant_quality_share",
            "Driftstilskuddsmodellen: kvalitetstilskudd, høyeste andel",
            gm.quality_share,
            "andel av listetilskuddet",
        ),
        (
            "grant_target_group_factor",
            "Driftstilskuddsmodellen: behovsfaktor for målgruppe",
            gm.target_group_factor,
            "faktor",
        ),
    ):
        out.append(
            RateFigure(
                "driftstilskuddsmodellen",
                name,
                label,
                value,
                unit,
                year_start,
                year_end,
                gm.status,
                tuple(gm.sources),
            )
        )
    out.append(
        RateFigure(
            "kostnad",
            "nurse_cost_per_fte",
            "Sykepleierårsverk, kostnad med sosiale kostnader",
            rates.nurse.cost_per_fte,
            "NOK per årsverk og år",
            year_start,
            year_end,
            rates.nurse.status,
            tuple(rates.nurse.sources),
        )
    )
    return out


def _tariffs(day: dt.date) -> list[RateFigure]:
    out = []
    for t in sorted(load_tariff_amounts(day.year), key=lambda t: t.code):
        if day not in t.valid:
            continue
        for name, label, value in (
            ("honorar", "honorar", t.fee),
            ("refusjon", "refusjon", t.refund),
            ("egenandel", "egenandel", t.copay),
        ):
            out.append(
                RateFigure(
                    "takst",
                    f"{t.code}.{name}",
                    f"Takst {t.code} ({t.description}): {label}",
                    value,
                    "NOK",
                    t.valid.start,
                    t.valid.last_day,
                    t.status,
                    (t.source,),
                )
            )
    return out


def _scheme(day: dt.date) -> list[RateFigure]:
    rules = load_scheme_rules()
    out = []
    for p in rules.periods:
        if day in p.period:
            out.append(
                RateFigure(
                    "ordning",
                    p.name,
                    p.label_nb,
                    "i kraft",
                    "regel",
                    p.valid_from,
                    p.last_day,
                    p.status,
                    tuple(p.sources),
                    p.note,
                )
            )
    for f in rules.project_funds:
        if day in f.period:
            for name, label, value in (
                (
                    "project_funds_practice",
                    "Prosjektmidler til legekontoret per fastlege",
                    f.to_practice_per_gp,
                ),
                (
                    "project_funds_municipality",
                    "Prosjektmidler til kommunen per fastlege",
                    f.to_municipality_per_gp,
                ),
            ):
                out.append(
                    RateFigure(
                        "ordning",
                        name,
                        label,
                        value,
                        "NOK per fastlege og år",
                        f.valid_from,
                        f.last_day,
                        "C",
                        tuple(f.sources),
                    )
                )
    norm = rules.staffing_norm
    out.append(
        RateFigure(
            "ordning",
            "staffing_norm",
            "Bemanningsnorm: fastlegelister per sykepleierårsverk",
            norm.lists_per_nurse,
            "lister",
            dt.date(2018, 4, 1),
            None,
            "C",
            rules.staffing_sources,
        )
    )
    eqs = activity_equivalents(day.year)
    in_force = {t.code for t in load_tariff_amounts(day.year) if day in t.valid}
    nurse = sorted(
        {c for (code, prov), eq in eqs.items() if prov == "nurse" for c in eq.fee_codes} & in_force
    )
    if nurse:
        out.append(
            RateFigure(
                "ordning",
                "nurse_work_priced_as",
                "Sykepleierens arbeid prises som (honorarmodellen)",
                " ".join(nurse),
                "takstkoder",
                dt.date(day.year, 1, 1),
                dt.date(day.year, 12, 31),
                max((eq.status for eq in eqs.values() if eq.provider == "nurse"), key="CDUA".index),
                tuple(sorted({eq.source for eq in eqs.values() if eq.provider == "nurse"})),
            )
        )
    return out


def rates_in_force(day: dt.date) -> list[RateFigure]:
    """Every rate and rule in force on *day* (see the module docstring)."""
    if day.year not in financing_years():
        known = f"{financing_years()[0]}–{financing_years()[-1]}"
        raise ReferenceDataError(f"no rates for {day.isoformat()}; rates exist for {known}")
    figures = _basis(day) + _year_rules(day) + _tariffs(day) + _scheme(day)
    for f in figures:
        if f.status not in _STATUS or not f.sources:
            raise ReferenceDataError(f"{f.name} has no status or source", where=f.group)
    return figures
