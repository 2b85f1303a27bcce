"""``pht population``: worklists, summaries and model calibration (logic in pht.population)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from pht.cli.output import Format, console, emit_json, emit_rows
from pht.core.errors import PhtError
from pht.core.settings import get_settings
from pht.population import summary as population_summary
from pht.population import worklist as population_worklist
from pht.population.calibrate import calibrate as calibrate_models
from pht.population.calibrate import data_end
from pht.registry.warehouse import Warehouse

app = typer.Typer(no_args_is_help=True)

WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", "-w", help="Warehouse file (default: $PHT_WAREHOUSE)."),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Date the lists are made on (default: after the last contact)."),
]


def _open(path: Path | None) -> Warehouse:
    wh = Warehouse.open(path or get_settings().warehouse, read_only=False)
    wh.require_initialised()
    return wh


def _as_of(wh: Warehouse, value: str | None) -> dt.date:
    if value is None:
        return data_end(wh)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PhtError(f"--as-of {value!r} is not a date (YYYY-MM-DD)") from None


def _plain(v: Any) -> Any:
    if v is None or v is pd.NaT or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if hasattr(v, "tolist"):
        return v.tolist()
    return v


@app.command("worklist", help="A practice's worklist: persons ranked by priority, with reasons.")
def worklist(
    practice: Annotated[str, typer.Option("--practice", "-p", help="Organisation number.")],
    member: Annotated[
        str | None, typer.Option("--member", "-m", help="HPR number of a team member.")
    ] = None,
    as_of: AsOfOption = None,
    language: Annotated[str, typer.Option("--language", "-l", help="nb or en.")] = "nb",
    limit: Annotated[int, typer.Option("--limit", "-n", help="Rows to show (0: all).")] = 0,
    warehouse: WarehouseOption = None,
    fmt: FormatOption = Format.TABLE,
    as_user: Annotated[
        str | None, typer.Option("--as", help="pht user name (default: the OS user); audited.")
    ] = None,
    purpose: Annotated[str, typer.Option("--purpose", help="Why (in the audit log).")] = "",
) -> None:
    from pht.app.audit.cli import audited  # identified patient data: every print is audited

    with _open(warehouse) as wh:
        day = _as_of(wh, as_of)
        t = population_worklist(wh, practice, day, member, language=language).order_by("rank")
        if limit:
            t = t.limit(limit)
        df = t.execute()
    rows = [{k: _plain(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
    for r in rows:
        for k in ("target_groups", "annual_check_due", "annual_check_overdue"):
            r[k] = list(r[k] or [])
    with audited(
        action="worklist.view",
        practice_id=practice,
        as_user=as_user,
        purpose=purpose,
        detail={"command": "pht population worklist", "rows": len(rows), "as_of": str(day)},
    ):
        _emit_worklist(rows, fmt, practice, day)


def _emit_worklist(rows: list[dict[str, Any]], fmt: Format, practice: str, day: Any) -> None:
    if fmt is Format.TABLE:
        for r in rows:
            for k in ("target_groups", "annual_check_due", "annual_check_overdue"):
                r[k] = ", ".join(r[k])
        cols = ["rank", "person_id", "gp_id", "priority", "reasons", "frailty_band", "risk"]
        emit_rows(rows, fmt=fmt, title=f"Arbeidsliste {practice} per {day}", columns=cols)
        return
    if fmt is Format.CSV:
        for r in rows:
            for k in ("target_groups", "annual_check_due", "annual_check_overdue"):
                r[k] = " ".join(r[k])
    emit_rows(rows, fmt=fmt)


@app.command("summary", help="Persons per target group, condition, frailty and risk band.")
def summary(
    practice: Annotated[
        str | None, typer.Option("--practice", "-p", help="Organisation number (default: all).")
    ] = None,
    as_of: AsOfOption = None,
    warehouse: WarehouseOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    with _open(warehouse) as wh:
        day = _as_of(wh, as_of)
        df = population_summary(wh, day, practice).execute()
    rows = [{k: _plain(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
    emit_rows(rows, fmt=fmt, title=f"Målgrupper per {day}")


@app.command("calibrate", help="Estimate risk and need models from the warehouse; write versions.")
def calibrate(
    split: Annotated[
        str | None, typer.Option("--split", help="Validation split date T (default: end − 12 m).")
    ] = None,
    models_dir: Annotated[
        Path | None, typer.Option("--models-dir", help="Where model versions are kept.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only; write nothing.")] = False,
    warehouse: WarehouseOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    with _open(warehouse) as wh:
        t = dt.date.fromisoformat(split) if split else None
        result = calibrate_models(
            wh, split=t, models_dir=models_dir, write=not dry_run, estimated_from=str(wh.path)
        )
    f = result.figures
    if fmt is Format.JSON:
        emit_json({**f, "written": [str(p) for p in result.written]})
        return
    rows = [
        {
            "model": f"admission_risk v{result.risk.version}",
            "auc": f["admission_risk"]["auc"],
            "observed": f["admission_risk"]["observed_rate"],
            "predicted": f["admission_risk"]["predicted_rate"],
            "o_e": f["admission_risk"]["observed_over_expected"],
        },
        {
            "model": f"expected_need v{result.need.version}",
            "auc": f["expected_need"]["auc_top_decile"],
            "observed": f["expected_need"]["observed_mean"],
            "predicted": f["expected_need"]["predicted_mean"],
            "o_e": f["expected_need"]["observed_over_expected"],
        },
    ]
    emit_rows(rows, fmt=fmt, title=f"Out-of-sample figures, split {f['split']}")
    for p in result.written:
        console.print(f"wrote {p}")
