"""``pht pipeline``: the warehouse to Parquet on shared storage, and the national pipeline on
DuckDB or Spark (logic in pht.ops.pipeline and pht.registry.parquet; docs/scale.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from pht.cli.output import Format, console, emit_json, emit_rows, err_console
from pht.core.errors import PhtError
from pht.core.settings import get_settings

app = typer.Typer(no_args_is_help=True)

WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", "-w", help="Warehouse file (default: $PHT_WAREHOUSE)."),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


@app.command("export", help="Write every warehouse table as Parquet (one folder per table).")
def export(
    out: Annotated[str, typer.Option("--out", "-o", help="Folder to write (shared storage).")],
    warehouse: WarehouseOption = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an export already there.")
    ] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    from pht.registry.parquet import export_parquet
    from pht.registry.warehouse import Warehouse

    path = warehouse or get_settings().warehouse
    with Warehouse.open(path, read_only=True) as wh:
        done = export_parquet(wh, out, overwrite=overwrite)
    if fmt is Format.JSON:
        emit_json({"out": str(done.root), "rows": done.rows})
        return
    emit_rows(
        [{"table": t, "rows": n} for t, n in done.rows.items()],
        fmt=fmt,
        title=f"Parquet export {done.root}",
    )


def _conf(values: list[str] | None) -> dict[str, str]:
    out = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise PhtError(f"--spark-conf {item!r}: write key=value")
        out[key.strip()] = value.strip()
    return out


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise PhtError(f"--as-of {value!r} is not a date (YYYY-MM-DD)") from None


@app.command("run", help="Run the pipeline on DuckDB or Spark and write every output as Parquet.")
def run(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the outputs.")],
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            help="Parquet export to read (folder or URL); default: the warehouse (DuckDB only).",
        ),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option("--backend", "-b", help="duckdb or spark (default: $PHT_BACKEND, duckdb)."),
    ] = None,
    spark_remote: Annotated[
        str | None,
        typer.Option(
            "--spark-remote",
            help="Spark Connect URL, sc://host:15002 (default: $PHT_SPARK_REMOTE).",
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            "--spark-master",
            help="Spark master, e.g. local[2], spark://host:7077, yarn (default: "
            "$PHT_SPARK_MASTER, else what spark-submit set).",
        ),
    ] = None,
    spark_conf: Annotated[
        list[str] | None,
        typer.Option("--spark-conf", help="A Spark setting key=value (repeatable)."),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Population date (default: after last contact).")
    ] = None,
    year: Annotated[
        int | None, typer.Option("--year", "-y", help="Financing year (default: of last contact).")
    ] = None,
    warehouse: WarehouseOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    from pht.ops.pipeline import BACKENDS, connect, run_pipeline, write_result

    settings = get_settings()
    kind = backend or settings.backend
    if kind not in BACKENDS:
        raise PhtError(f"unknown backend {kind!r}; choose one of {', '.join(BACKENDS)}")
    remote = spark_remote or settings.spark_remote
    master = spark_master or settings.spark_master
    if kind == "spark" and data is None:
        raise PhtError("Spark reads the Parquet export: give --data (see pht pipeline export)")
    session = None
    created = False
    if kind == "spark":
        from pht.ops.pipeline import spark_session

        try:
            from pyspark.sql import SparkSession

            before = SparkSession.getActiveSession()
        except ImportError:
            before = None
        session = spark_session(master=master, remote=remote, conf=_conf(spark_conf))
        created = before is None
    try:
        if data is None:
            from pht.registry.warehouse import Warehouse

            wh = Warehouse.open(warehouse or settings.warehouse, read_only=True)
            wh.require_initialised()
            tables = wh
        else:
            from pht.registry.parquet import parquet_tables

            tables = parquet_tables(connect(kind, session=session), data)  # type: ignore[assignment]
        with console.status("pipeline …") as status:
            result = run_pipeline(
                tables,
                as_of=_date(as_of),
                year=year,
                log=lambda step: status.update(f"pipeline on {kind}: {step} …"),
            )
        if data is None:
            wh.close()
    finally:
        if created and session is not None:
            session.stop()
    path = write_result(result, out)
    seconds = sum(result.seconds.values())
    if fmt is Format.JSON:
        emit_json(
            {
                "out": str(path),
                "backend": result.backend,
                "as_of": result.as_of.isoformat(),
                "year": result.year,
                "rows": result.rows(),
                "seconds": result.seconds,
            }
        )
        return
    err_console.print(
        f"{result.backend}: population as of {result.as_of}, financing {result.year}; "
        f"{seconds:.1f} s -> {path}"
    )
    emit_rows(
        [{"output": n, "rows": r} for n, r in result.rows().items()],
        fmt=fmt,
        title=f"pipeline on {result.backend}",
    )
    emit_rows(
        [{"step": n, "seconds": round(s, 1)} for n, s in result.seconds.items()],
        fmt=fmt,
        title="seconds per step",
    )
