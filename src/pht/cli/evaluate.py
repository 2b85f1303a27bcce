"""``pht evaluate``: indicators, difference-in-differences and the published report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from pht.cli.output import Format, console, emit_json, emit_rows, err_console
from pht.core.errors import PhtError
from pht.core.settings import get_settings
from pht.registry.warehouse import Warehouse

app = typer.Typer(no_args_is_help=True)

FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", "-w", help="Warehouse file (default: $PHT_WAREHOUSE)."),
]
TruthOption = Annotated[
    Path | None,
    typer.Option(
        "--truth", help="Target groups from a synthetic extract's truth/ folder (validation)."
    ),
]
IncomeOption = Annotated[
    Path | None,
    typer.Option(
        "--income",
        help="Model income per practice and year (CSV/Parquet: practice_id, year, "
        "income_nok) for cost per listed person.",
    ),
]


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict(orient="records"):
        out.append(
            {str(k): (None if isinstance(v, float) and v != v else v) for k, v in rec.items()}
        )
    return out


_TABLE_COLUMNS = (
    "split",
    "att",
    "ci_low",
    "ci_high",
    "p_value",
    "pretrend_p",
    "treated_practices",
    "comparison_practices",
    "treated_persons",
    "suppressed",
)


def _short(value: Any) -> Any:
    """Four significant digits for a table a person reads."""
    if isinstance(value, float):
        return float(f"{value:.4g}")
    return value


def _income(path: Path | None) -> pd.DataFrame | None:
    if path is None:
        return None
    if not path.exists():
        raise PhtError("no such file", where=str(path))
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def _open(warehouse: Path | None) -> Warehouse:
    path = warehouse or get_settings().warehouse
    wh = Warehouse.open(path, read_only=True)
    wh.require_initialised()
    return wh


def _study(wh: Warehouse, truth: Path | None, income: Path | None) -> Any:
    from pht.evaluation.study import Study

    with console.status("bygger panelet og velger sammenligningskontor ...", spinner="dots"):
        return Study.open(wh, truth_dir=truth, income=_income(income))


@app.command("indicators", help="Indicator definitions, or values per practice, quarter and group.")
def indicators(
    indicator: Annotated[
        str | None,
        typer.Option("--indicator", "-i", help="Compute this indicator (name), or 'all'."),
    ] = None,
    warehouse: WarehouseOption = None,
    truth: TruthOption = None,
    income: IncomeOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    from pht.evaluation.indicators import indicator as find_indicator
    from pht.evaluation.indicators import load_indicators
    from pht.evaluation.report import indicator_values

    known = load_indicators()
    if indicator is None:
        rows = [
            {
                "name": i.name,
                "goal": i.goal.value,
                "kind": i.kind,
                "population": i.population,
                "numerator": i.numerator,
                "denominator": i.denominator,
                "period": i.period,
                "source": i.source,
            }
            for i in known.values()
        ]
        emit_rows(rows, fmt=fmt, title="Evaluation indicators")
        return
    chosen = list(known.values()) if indicator == "all" else [find_indicator(indicator)]
    with _open(warehouse) as wh:
        study = _study(wh, truth, income)
        table = pd.concat([indicator_values(study, i) for i in chosen], ignore_index=True)
        study.release()
    emit_rows(_records(table), fmt=fmt, title=f"Indicators {study.period}")


@app.command("did", help="Difference-in-differences for one indicator: effect, CI, pre-trend.")
def did(
    indicator: Annotated[str, typer.Option("--indicator", "-i", help="Indicator name.")],
    by: Annotated[
        str | None,
        typer.Option("--by", help="Split by financing_model or target_group."),
    ] = None,
    level: Annotated[
        str | None, typer.Option("--level", help="person or practice (default: the indicator's).")
    ] = None,
    estimator: Annotated[
        str | None, typer.Option("--estimator", help="etwfe (default), sun_abraham or twfe.")
    ] = None,
    event: Annotated[bool, typer.Option("--event", help="Also show the event study.")] = False,
    warehouse: WarehouseOption = None,
    truth: TruthOption = None,
    income: IncomeOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    from pht.evaluation.indicators import indicator as find_indicator
    from pht.evaluation.report import estimates_table, event_table

    ind = find_indicator(indicator)
    if level not in (None, "person", "practice"):
        raise PhtError(f"level {level!r}: choose person or practice")
    with _open(warehouse) as wh:
        study = _study(wh, truth, income)
        ests = study.estimate(ind, level=level, by=by, estimator=estimator)
        study.release()
    table = _records(estimates_table(ests))
    events = _records(event_table(ests[0])) if event else []
    if fmt is Format.JSON:
        emit_json({"period": study.period, "estimates": table, "event_study": events})
        return
    if fmt is Format.TABLE:
        table = [{k: _short(r.get(k)) for k in _TABLE_COLUMNS} for r in table]
        events = [{k: _short(v) for k, v in r.items() if k != "indicator"} for r in events]
    emit_rows(table, fmt=fmt, title=f"{ind.title_en} ({study.period})")
    if event:
        emit_rows(events, fmt=fmt, title="Event study (quarters relative to start)")


@app.command("report", help="Write the evaluation report: HTML and PDF, one page per effect goal.")
def report(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the report into.")],
    warehouse: WarehouseOption = None,
    truth: TruthOption = None,
    income: IncomeOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    from pht.evaluation.report import build_report, published_estimates

    with _open(warehouse) as wh:
        study = _study(wh, truth, income)
        with console.status("estimerer og skriver rapporten ...", spinner="dots"):
            result = build_report(study, out)
        study.release()
    estimates = published_estimates(result)
    if fmt is Format.JSON:
        emit_json(
            {
                "html": str(result.html_path),
                "pdf": str(result.pdf_path),
                "pages": result.pages,
                "period": study.period,
                "estimates": estimates,
            }
        )
        return
    if fmt is Format.CSV:
        emit_rows(estimates, fmt=fmt)
        return
    err_console.print(
        f"wrote {result.html_path} and {result.pdf_path} ({result.pages} pages, {study.period})"
    )
    emit_rows(
        [
            {
                k: r.get(k)
                for k in (
                    "indicator",
                    "split",
                    "att",
                    "ci_low",
                    "ci_high",
                    "p_value",
                    "pretrend_p",
                    "suppressed",
                )
            }
            for r in estimates
        ],
        fmt=fmt,
        title="Estimates",
    )
