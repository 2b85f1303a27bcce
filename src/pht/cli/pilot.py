"""``pht pilot``: the 2018 pilot as reference data."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from pht.cli.output import Format, console, emit_json, emit_rows
from pht.core import StaffingAssessment
from pht.financing.project_funds import project_funds_for_year
from pht.reference import load_pilot, load_scheme_rules
from pht.reference.pilot import Pilot

app = typer.Typer(no_args_is_help=True)

FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def staffing_row(norm: StaffingAssessment) -> dict[str, Any]:
    """The staffing norm's figures under both readings (the primary one decides)."""
    return {
        "nurse_fte_norm": norm.required_fte,
        "meets_norm": norm.meets_norm,
        "norm_reading": norm.reading,
        "nurse_fte_norm_by_listed": norm.required_fte_by_listed,
        "meets_by_listed": norm.meets_by_listed,
        "nurse_fte_norm_by_lists": norm.required_fte_by_lists,
        "meets_by_lists": norm.meets_by_lists,
    }


def pilot_summary(pilot: Pilot) -> dict[str, Any]:
    """The pilot in figures, with its municipalities and practices."""
    by_model = pilot.practices_by_model()
    rules = load_scheme_rules()
    norm = rules.staffing_norm
    whole = norm.assess(gp_lists=pilot.gps, nurse_fte=pilot.nurse_fte, listed=pilot.listed)
    return {
        "name": pilot.name,
        "start": pilot.start,
        "end": pilot.last_day,
        "municipalities": len(pilot.municipalities),
        "practices": len(pilot.practices),
        "gps": pilot.gps,
        "nurse_fte": pilot.nurse_fte,
        "listed": pilot.listed,
        "financing_models": {m.value: n for m, n in by_model.items()},
        "staffing": {
            **staffing_row(whole),
            "primary_reading": norm.primary,
            "primary_status": rules.staffing_primary_status,
            "primary_sources": list(rules.staffing_primary_sources),
        },
        "municipality_list": [
            {
                "code": m.code,
                "name": m.name,
                "name_at_start": m.name_at_start,
                "population": m.population,
                "size_class": m.size_class.value,
            }
            for m in pilot.municipalities
        ],
        "practice_list": [
            {
                "practice_id": p.practice_id,
                "name": p.name,
                "municipality": pilot.municipality(p.municipality).name,
                "district": pilot.district(p.district).name if p.district else None,
                "joined": p.joined,
                "financing_model": p.financing_model.value,
                "gps": p.gps,
                "nurse_fte": p.nurse_fte,
                "listed": p.listed,
                **staffing_row(norm.assess(gp_lists=p.gps, nurse_fte=p.nurse_fte, listed=p.listed)),
            }
            for p in pilot.practices
        ],
    }


@app.command("show", help="The pilot: municipalities, practices, GPs, nurse FTEs, listed, models.")
def show(fmt: FormatOption = Format.TABLE) -> None:
    summary = pilot_summary(load_pilot())
    if fmt is Format.JSON:
        emit_json(summary)
        return
    if fmt is Format.TABLE:
        models = ", ".join(f"{n} {m}" for m, n in summary["financing_models"].items())
        console.print(
            f"[bold]{summary['name']}[/] {summary['start']} – {summary['end']}: "
            f"{summary['municipalities']} municipalities, {summary['practices']} practices, "
            f"{summary['gps']} GPs, {summary['nurse_fte']} nurse FTEs, "
            f"{summary['listed']} listed; {models}"
        )
        st = summary["staffing"]
        console.print(
            f"Staffing norm ({st['primary_reading']} reading, {st['primary_status']}: "
            f"{', '.join(st['primary_sources'])}): {st['nurse_fte_norm']} FTE required, "
            f"{'met' if st['meets_norm'] else 'not met'}; by GP lists "
            f"{st['nurse_fte_norm_by_lists']} FTE, {'met' if st['meets_by_lists'] else 'not met'}"
        )
        emit_rows(summary["municipality_list"], fmt=fmt, title="Municipalities")
    emit_rows(summary["practice_list"], fmt=fmt, title="Practices")


@app.command("funds", help="Project funds per practice and municipality for a year, with totals.")
def funds(
    year: Annotated[int, typer.Option("--year", "-y", help="Calendar year.")],
    fmt: FormatOption = Format.TABLE,
) -> None:
    result = project_funds_for_year(load_pilot(), load_scheme_rules(), year)
    practices = [
        {
            "practice_id": p.practice_id,
            "practice": p.practice,
            "municipality": p.municipality,
            "gps": p.gps,
            "months": p.months,
            "to_practice": p.to_practice,
            "to_municipality": p.to_municipality,
        }
        for p in result.practices
    ]
    municipalities = [
        {
            "municipality_code": m.municipality_code,
            "municipality": m.municipality,
            "practices": m.practices,
            "gps": m.gps,
            "to_municipality": m.to_municipality,
        }
        for m in result.municipalities
    ]
    totals = {
        "gps": result.gps,
        "to_practices": result.total_to_practices,
        "to_municipalities": result.total_to_municipalities,
    }
    if fmt is Format.JSON:
        emit_json(
            {
                "year": year,
                "practices": practices,
                "municipalities": municipalities,
                "totals": totals,
            }
        )
        return
    if fmt is Format.CSV:
        emit_rows(practices, fmt=fmt)
        return
    emit_rows(
        practices,
        fmt=fmt,
        title=f"Project funds {year}: practices",
        footer={
            "practice": "total",
            "gps": result.gps,
            "to_practice": totals["to_practices"],
            "to_municipality": totals["to_municipalities"],
        },
    )
    emit_rows(
        municipalities,
        fmt=fmt,
        title=f"Project funds {year}: municipalities",
        footer={
            "municipality": "total",
            "gps": result.gps,
            "to_municipality": totals["to_municipalities"],
        },
    )
