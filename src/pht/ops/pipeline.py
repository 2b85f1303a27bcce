"""The national pipeline on a chosen backend: DuckDB (the warehouse file) or Spark.

One entry, :func:`run_pipeline`, runs every analytic room on whatever holds the extract-format
tables (``.table(name)``): the population room (target groups with evidence, frailty, admission
risk and expected need, annual checks, every practice's worklist and the summary), the financing
room (the fee model and the operating-grant model for a year, and the comparison, with target
groups and need weights from the population room) and the evaluation's indicators (the
person-quarter panel and every indicator per practice, quarter and target group). The rooms' code
is the same on both backends; nothing here knows Spark but :func:`connect`.

The tables come from the warehouse itself (DuckDB) or from its Parquet export on shared storage
(:mod:`pht.registry.parquet`), registered on the backend with the registry schema's types.
``pht pipeline export`` / ``pht pipeline run`` (docs/scale.md); under ``spark-submit`` this file
is the application: ``spark-submit .../pht/ops/pipeline.py run --backend spark ...``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pht.core.errors import PhtError
from pht.core.folders import written_folder
from pht.core.money import Money
from pht.core.tables import Tables, materialise, release, spark_double_literals

__all__ = [
    "BACKENDS",
    "OUTPUTS",
    "PipelineResult",
    "connect",
    "default_period",
    "run_pipeline",
    "spark_session",
    "write_result",
]

BACKENDS = ("duckdb", "spark")

#: Every output of the pipeline, in the order it is made (one Parquet file each).
OUTPUTS = (
    "target_groups",
    "frailty",
    "scores",
    "annual_checks",
    "worklists",
    "summary",
    "fee_model",
    "grant_model",
    "comparison",
    "indicators",
)

#: Spark settings for a local master (one machine): no web UI, Arrow between Python and the JVM
#: (the reference tables go to Spark without a Python worker), UTC, and the driver bound to the
#: loopback interface; :func:`spark_session` adds one shuffle partition per local core instead of
#: Spark's 200. ``--spark-conf`` overrides them; a cluster's master gets only ``--spark-conf``
#: and the cluster's own settings.
SPARK_LOCAL_CONF: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}


def spark_session(
    *,
    master: str | None = None,
    remote: str | None = None,
    conf: dict[str, str] | None = None,
    app_name: str = "pht-pipeline",
) -> Any:
    """A Spark session: Spark Connect at *remote* (``sc://host:15002``), else a classic session
    on *master* (``local[2]``, ``spark://host:7077``, ``yarn``; none: what ``spark-submit`` or
    the environment set, else local). A running session of this process is reused.

    *conf* adds Spark settings; a local master also gets :data:`SPARK_LOCAL_CONF`.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise PhtError(
            "PySpark is not installed: install the spark group (uv sync --group spark)"
        ) from None
    if remote:
        try:
            import grpc  # noqa: F401  # Spark Connect's client needs gRPC
        except ImportError:
            raise PhtError(
                "Spark Connect needs PySpark's connect client (pip install 'pyspark[connect]' "
                "in pht's environment); without it use --spark-master or spark-submit"
            ) from None
    builder = SparkSession.builder.appName(app_name)
    settings: dict[str, str] = {}
    if remote:
        builder = builder.remote(remote)
    else:
        if master:
            builder = builder.master(master)
        if master is None or master.startswith("local"):
            cores = _local_cores(master)
            settings.update(SPARK_LOCAL_CONF)
            settings["spark.sql.shuffle.partitions"] = str(cores)
            settings["spark.default.parallelism"] = str(cores)
    settings.update(conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _local_cores(master: str | None) -> int:
    """Cores of a local master: ``local`` 1, ``local[4]`` 4, ``local[*]`` (and none) all."""
    found = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\s*\d+)?\])?", master or "local[*]")
    if found is None or found.group(1) in (None, "*"):
        return 1 if master == "local" else (os.cpu_count() or 1)
    return max(1, int(found.group(1)))


def connect(
    backend: str,
    *,
    spark_master: str | None = None,
    spark_remote: str | None = None,
    spark_conf: dict[str, str] | None = None,
    session: Any = None,
) -> ibis.BaseBackend:
    """An Ibis connection of *backend* (``duckdb``: in memory, for a Parquet export; ``spark``:
    see :func:`spark_session`, or the given *session*)."""
    if backend == "duckdb":
        return ibis.duckdb.connect()
    if backend == "spark":
        if session is None:
            session = spark_session(master=spark_master, remote=spark_remote, conf=spark_conf)
        spark_double_literals()
        return ibis.pyspark.connect(session)
    raise PhtError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


@dataclass
class PipelineResult:
    """Every output of one run (Arrow tables), its dates and the seconds each step took."""

    backend: str
    as_of: dt.date
    year: int
    first_quarter: int
    last_quarter: int
    outputs: dict[str, pa.Table] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def rows(self) -> dict[str, int]:
        """Rows per output."""
        return {name: t.num_rows for name, t in self.outputs.items()}


def default_period(tables: Tables) -> tuple[dt.date, int, int, int]:
    """(as-of date, financing year, first quarter, last quarter) from the contacts: the day
    after the last contact, the calendar year it ends, and the quarters with contacts."""
    from pht.evaluation.indicators import quarter_index

    c = tables.table("contacts")
    lo, hi = c.aggregate(lo=c.date.min(), hi=c.date.max()).to_pandas().iloc[0]
    if pd.isna(lo) or pd.isna(hi):
        raise PhtError("there are no contacts: load an extract first")
    first, last = pd.Timestamp(lo).date(), pd.Timestamp(hi).date()
    return (
        last + dt.timedelta(days=1),
        last.year,
        quarter_index(first),
        quarter_index(last),
    )


def _ordered(t: ir.Table, *keys: str) -> pa.Table:
    return t.order_by(list(keys)).to_pyarrow()


def _money_rows(rows: list[dict[str, Any]]) -> pa.Table:
    """Report rows with :class:`Money` and :class:`Decimal` values as decimal(18, 2)/(18, 3)."""
    if not rows:
        return pa.table({})
    fields = []
    for key, value in rows[0].items():
        if isinstance(value, Money):
            fields.append(pa.field(key, pa.decimal128(18, 2)))
        elif isinstance(value, Decimal):
            fields.append(pa.field(key, pa.decimal128(18, 3)))
        elif isinstance(value, bool):
            fields.append(pa.field(key, pa.bool_()))
        elif isinstance(value, int):
            fields.append(pa.field(key, pa.int64()))
        else:
            fields.append(pa.field(key, pa.string()))
    plain = [
        {k: (v.amount if isinstance(v, Money) else v) for k, v in r.items()}
        for r in sorted(rows, key=lambda r: str(r["practice_id"]))
    ]
    return pa.Table.from_pylist(plain, schema=pa.schema(fields))


@contextmanager
def _step(result: PipelineResult, name: str, log: Callable[[str], None] | None) -> Iterator[None]:
    if log is not None:
        log(name)
    start = time.perf_counter()
    yield
    result.seconds[name] = time.perf_counter() - start


def run_pipeline(
    tables: Tables,
    *,
    as_of: dt.date | None = None,
    year: int | None = None,
    first_quarter: int | None = None,
    last_quarter: int | None = None,
    log: Callable[[str], None] | None = None,
) -> PipelineResult:
    """Run every room on *tables* and collect each output (see :data:`OUTPUTS`).

    Defaults (:func:`default_period`): the population as of the day after the last contact, the
    financing models for the calendar year of the last contact, the indicators over every
    quarter with contacts. *log* is told the name of each step as it starts.
    """
    from pht.evaluation.indicators import indicator_tables, load_indicators, person_quarter_panel
    from pht.financing.compare import compare_parts, model_parts
    from pht.population import PopulationView
    from pht.population.worklist import summary_table, worklist_table

    backend = tables.table("contacts").get_backend().name
    day, last_year, q0, q1 = default_period(tables)
    result = PipelineResult(
        backend="spark" if backend == "pyspark" else backend,
        as_of=as_of or day,
        year=year or last_year,
        first_quarter=first_quarter if first_quarter is not None else q0,
        last_quarter=last_quarter if last_quarter is not None else q1,
    )
    out = result.outputs
    view = PopulationView(tables, result.as_of)
    with _step(result, "target_groups", log):
        out["target_groups"] = _ordered(view.target_groups, "person_id", "condition")
    with _step(result, "frailty", log):
        out["frailty"] = _ordered(view.frailty, "person_id")
    with _step(result, "scores", log):
        out["scores"] = _ordered(view.scores, "person_id")
    with _step(result, "annual_checks", log):
        out["annual_checks"] = _ordered(view.annual_checks, "person_id", "condition")
    with _step(result, "worklists", log):
        out["worklists"] = _ordered(worklist_table(view), "practice_id", "rank")
    with _step(result, "summary", log):
        out["summary"] = _ordered(summary_table(view), "practice_id", "measure", "name")
    with _step(result, "financing", log):
        parts = model_parts(tables, result.year, use_population=True)
        comparison = compare_parts(tables, parts)
        fee = [{**p.fee.as_row(), "lines": p.fee.lines} for p in comparison.practices]
        grant = [
            {**p.grant.as_row(), "need_weighted_person_years": p.grant.need_weighted_person_years}
            for p in comparison.practices
        ]
        out["fee_model"] = _money_rows(fee)
        out["grant_model"] = _money_rows(grant)
        out["comparison"] = _money_rows(comparison.rows())
    with _step(result, "indicators", log):
        panel = materialise(
            person_quarter_panel(
                tables, first_quarter=result.first_quarter, last_quarter=result.last_quarter
            )
        )
        table = indicator_tables(
            tables,
            panel,
            list(load_indicators().values()),
            first_quarter=result.first_quarter,
            last_quarter=result.last_quarter,
        )
        out["indicators"] = pa.Table.from_pandas(table, preserve_index=False)
        release(panel)
    return result


def write_result(result: PipelineResult, out: str | Path) -> Path:
    """Write every output as ``<out>/<name>.parquet`` and ``<out>/pipeline.json`` (backend,
    dates, rows, seconds); written into a hidden folder beside *out* and renamed at the end."""
    target = Path(out)
    with written_folder(target) as tmp:
        for name, table in result.outputs.items():
            pq.write_table(table, tmp / f"{name}.parquet")
        meta = {
            "backend": result.backend,
            "as_of": result.as_of.isoformat(),
            "year": result.year,
            "first_quarter": result.first_quarter,
            "last_quarter": result.last_quarter,
            "rows": result.rows(),
            "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
        }
        (tmp / "pipeline.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return target


if __name__ == "__main__":  # spark-submit .../pht/ops/pipeline.py run --backend spark ...
    from pht.cli import main

    sys.argv = ["pht", "pipeline", *sys.argv[1:]]
    main()
