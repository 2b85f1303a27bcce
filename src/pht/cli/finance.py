"""``pht finance``: the fee model and the operating-grant model side by side."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from pht.cli.output import Format, console, emit_json, emit_rows
from pht.core.errors import NotFound, PhtError
from pht.core.money import Money
from pht.core.settings import get_settings
from pht.financing.calibrate import calibrate_base_rate
from pht.financing.charts import comparison_chart, drivers_chart
from pht.financing.compare import ModelParts, compare_parts, model_parts, scheme_practices
from pht.financing.fee_model import practice_facts
from pht.financing.inputs import FinancingInputs
from pht.financing.rates import rates_in_force
from pht.financing.rollout import rollout as rollout_figures
from pht.financing.scenarios import run_scenario, scenario_names
from pht.financing.whatif import WhatIf, what_if
from pht.reference.financing import read_tariff_file
from pht.registry.warehouse import Warehouse

app = typer.Typer(no_args_is_help=True)

YearOption = Annotated[int, typer.Option("--year", "-y", help="Calendar year.")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", "-w", help="Warehouse file (default: $PHT_WAREHOUSE)."),
]
PracticeOption = Annotated[
    list[str] | None,
    typer.Option("--practice", "-p", help="Organisation number of a practice (repeatable)."),
]
AllOption = Annotated[
    bool, typer.Option("--all-practices", help="Every practice, not only those in the scheme.")
]
TariffOption = Annotated[
    Path | None,
    typer.Option("--tariffs", help="Tariff file in Helfo's open format (CSV or JSON) to use."),
]
PopulationOption = Annotated[
    bool,
    typer.Option(
        "--population/--no-population",
        help="Target groups and need weights from population analytics (default on).",
    ),
]


def _decimal(value: str, option: str) -> Decimal:
    try:
        return Decimal(value.strip().replace(",", "."))
    except InvalidOperation:
        raise PhtError(f"{option}: {value!r} is not a number") from None


def _parts(wh: Warehouse, year: int, tariffs: Path | None, population: bool) -> ModelParts:
    inputs = FinancingInputs.for_year(year, tariffs=read_tariff_file(tariffs) if tariffs else None)
    with console.status(f"Beregner begge finansieringsmodeller for {year} …"):
        return model_parts(wh, year, inputs=inputs, use_population=population)


def _practices(wh: Warehouse, given: list[str] | None, every: bool) -> list[str] | None:
    if given:
        known = set(practice_facts(wh))
        unknown = [p for p in given if p not in known]
        if unknown:
            raise NotFound(f"no practice with organisation number {', '.join(unknown)}")
        return given
    if every:
        return None
    return scheme_practices(wh) or None


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise PhtError(f"--date: {value!r} is not a date (YYYY-MM-DD)") from None


def _open(path: Path | None) -> Warehouse:
    wh = Warehouse.open(path or get_settings().warehouse, read_only=True)
    wh.require_initialised()
    return wh


@app.command("compare", help="Each practice's income under both models, the difference and why.")
def compare(
    year: YearOption,
    practice: PracticeOption = None,
    all_practices: AllOption = False,
    fmt: FormatOption = Format.TABLE,
    warehouse: WarehouseOption = None,
    tariffs: TariffOption = None,
    population: PopulationOption = True,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Also write the Vega-Lite chart here (.json).")
    ] = None,
) -> None:
    with _open(warehouse) as wh:
        chosen = _practices(wh, practice, all_practices)
        parts = _parts(wh, year, tariffs, population)
        result = compare_parts(wh, parts, practices=chosen)
    if chart:
        chart.write_text(
            json.dumps({"comparison": comparison_chart(result), "drivers": drivers_chart(result)}),
            encoding="utf-8",
        )
    rows = result.rows()
    if fmt is Format.JSON:
        emit_json(
            {
                "year": year,
                "base_rate": result.base_rate,
                "target_groups_from": result.target_groups_from,
                "need_weights_from": result.need_weights_from,
                "practices": [
                    {
                        **p.as_row(),
                        "fee": p.fee.as_row(),
                        "grant": {
                            **p.grant.as_row(),
                            "goals": [g.__dict__ for g in p.grant.goals],
                        },
                    }
                    for p in result.practices
                ],
                "totals": result.totals(),
            }
        )
        return
    columns = [
        "practice",
        "financing_model",
        "fee_model",
        "grant_model",
        "difference",
        "driver_list_and_need",
        "driver_activity",
        "driver_quality",
    ]
    emit_rows(
        rows,
        fmt=fmt,
        columns=None if fmt is Format.CSV else columns,
        title=f"Honorarmodell og driftstilskuddsmodell {year} (grunnsats {result.base_rate})",
        footer={
            "practice": "sum",
            **{k: v for k, v in result.totals().items() if k != "practices"},
        },
    )


@app.command("calibrate", help="The base rate that makes the grant model budget-neutral.")
def calibrate(
    year: YearOption,
    practice: PracticeOption = None,
    all_practices: AllOption = False,
    fmt: FormatOption = Format.TABLE,
    warehouse: WarehouseOption = None,
    tariffs: TariffOption = None,
    population: PopulationOption = True,
) -> None:
    with _open(warehouse) as wh:
        chosen = _practices(wh, practice, all_practices)
        parts = _parts(wh, year, tariffs, population)
        result = calibrate_base_rate(wh, parts, practices=chosen)
    data = {
        "year": year,
        "practices": len(result.practices),
        "reference_base_rate": result.reference_base_rate,
        "base_rate": result.base_rate,
        "fee_total": result.fee_total,
        "grant_total": result.grant_total,
        "residual": result.residual,
        "grant_total_at_reference_rate": result.grant_total_at_reference,
    }
    if fmt is Format.JSON:
        emit_json(data)
        return
    emit_rows([data], fmt=fmt, title=f"Budsjettnøytral grunnsats {year}")


@app.command("whatif", help="Change activity, list size or population mix and see both models.")
def whatif(
    year: YearOption,
    nurse_consultations: Annotated[
        str,
        typer.Option(
            "--nurse-consultations",
            help="Extra nurse consultations per target-group patient a year.",
        ),
    ] = "0",
    list_size: Annotated[
        str, typer.Option("--list-size", help="Factor on every list, e.g. 1.10 for +10 %.")
    ] = "1",
    target_share: Annotated[
        str,
        typer.Option("--target-share", help="Factor on target-group patients (population mix)."),
    ] = "1",
    practice: PracticeOption = None,
    all_practices: AllOption = False,
    fmt: FormatOption = Format.TABLE,
    warehouse: WarehouseOption = None,
    tariffs: TariffOption = None,
    population: PopulationOption = True,
) -> None:
    change = WhatIf(
        nurse_consultations=_decimal(nurse_consultations, "--nurse-consultations"),
        list_size=_decimal(list_size, "--list-size"),
        target_share=_decimal(target_share, "--target-share"),
    )
    with _open(warehouse) as wh:
        chosen = _practices(wh, practice, all_practices)
        parts = _parts(wh, year, tariffs, population)
        result = what_if(wh, parts, change, practices=chosen)
    if fmt is Format.JSON:
        emit_json(
            {
                "year": year,
                "change": change.__dict__,
                "target_groups_from": parts.target_groups_from,
                "rows": result.rows(),
                "totals": result.totals(),
            }
        )
        return
    emit_rows(
        result.rows(),
        fmt=fmt,
        title=f"Hva om {year}: +{change.nurse_consultations} sykepleierkonsultasjoner, "
        f"liste × {change.list_size}, målgruppe × {change.target_share}",
        footer={"practice": "sum", **result.totals()},
    )


@app.command(
    "rollout", help="National roll-out: nurse FTEs, their cost, both models, project funds."
)
def rollout(
    year: YearOption,
    cost_per_fte: Annotated[
        str | None, typer.Option("--cost-per-fte", help="Annual cost of a nurse FTE, NOK.")
    ] = None,
    fmt: FormatOption = Format.TABLE,
    warehouse: WarehouseOption = None,
    tariffs: TariffOption = None,
    population: Annotated[
        bool,
        typer.Option(
            "--population/--no-population",
            help="Target groups and need weights from population analytics (default off).",
        ),
    ] = False,
) -> None:
    cost = _decimal(cost_per_fte, "--cost-per-fte") if cost_per_fte is not None else None
    with _open(warehouse) as wh:
        parts = _parts(wh, year, tariffs, population)
        result = rollout_figures(wh, parts, cost_per_fte=cost)
    rows = [m.as_row() for m in result.municipalities]
    if fmt is Format.JSON:
        emit_json(
            {
                "year": year,
                "cost_per_fte": result.cost_per_fte,
                "municipalities": rows,
                "totals": result.totals(),
            }
        )
        return
    emit_rows(
        rows,
        fmt=fmt,
        title=f"Nasjonal utrulling {year} (sykepleierårsverk à {result.cost_per_fte})",
        footer=result.totals(),
    )


@app.command("rates", help="Every rate and rule in force on a day, with period, status and source.")
def rates(
    date: Annotated[str, typer.Option("--date", "-d", help="The day (YYYY-MM-DD).")],
    fmt: FormatOption = Format.TABLE,
) -> None:
    day = _day(date)
    figures = rates_in_force(day)
    if fmt is Format.JSON:
        emit_json(
            {
                "date": day,
                "statuses": {
                    "C": "confirmed in the source",
                    "D": "derived from confirmed figures",
                    "U": "uncertain",
                    "A": "assumption of this project",
                },
                "rates": [f.as_row() for f in figures],
            }
        )
        return
    rows = [
        {
            "gruppe": f.group,
            "sats": f.label_nb,
            "verdi": str(f.value).replace(".", ","),
            "enhet": f.unit,
            "fra": f.valid_from.strftime("%d.%m.%Y"),
            "til": f.last_day.strftime("%d.%m.%Y") if f.last_day else "",
            "status": f.status,
            "kilde": " ".join(f.sources),
        }
        for f in figures
    ]
    emit_rows(rows, fmt=fmt, title=f"Satser og regler i kraft {day.strftime('%d.%m.%Y')}")


@app.command("scenario", help="A policy scenario (Meld. St. 23, teams everywhere, GPs or teams).")
def scenario(
    name: Annotated[str, typer.Argument(help="meld-st-23, team-overalt or fastleger-eller-team.")],
    year: YearOption,
    municipality: Annotated[
        str | None,
        typer.Option("--municipality", "-m", help="Municipality number (default: every practice)."),
    ] = None,
    fmt: FormatOption = Format.TABLE,
    warehouse: WarehouseOption = None,
    tariffs: TariffOption = None,
    population: Annotated[
        bool,
        typer.Option(
            "--population/--no-population",
            help="Target groups and need weights from population analytics (default off).",
        ),
    ] = False,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Also write the Vega-Lite chart here (.json).")
    ] = None,
) -> None:
    if name not in scenario_names():
        raise NotFound(f"no scenario {name!r}; scenarios: {', '.join(scenario_names())}")
    with _open(warehouse) as wh:
        parts = _parts(wh, year, tariffs, population)
        result = run_scenario(wh, parts, name, municipality=municipality)
    if chart:
        chart.write_text(json.dumps(result.chart, ensure_ascii=False), encoding="utf-8")
    if fmt is Format.JSON:
        emit_json(
            {
                "scenario": result.name,
                "title": result.title_nb,
                "year": result.year,
                "area": result.area,
                "status": result.status,
                "sources": list(result.sources),
                "notes": list(result.notes),
                "figures": [f.as_row() for f in result.figures],
                "rows": list(result.rows),
                "summary": result.summary_nb,
                "chart": result.chart,
            }
        )
        return
    emit_rows(
        [
            {
                "tall": f.label_nb,
                "verdi": str(f.value).replace(".", ",")
                if not isinstance(f.value, Money)
                else f.value,
                "enhet": f.unit,
                "status": f.status,
            }
            for f in result.figures
        ],
        fmt=fmt,
        title=f"{result.title_nb} — {result.year}, {result.area}",
    )
    if fmt is Format.TABLE:
        console.print(result.summary_nb)
