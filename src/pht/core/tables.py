"""What the analytic rooms share about the tables they read: the protocol and materialising.

The rooms build Ibis expressions over anything with ``.table(name)`` (a
:class:`pht.registry.Warehouse`, or the Parquet export registered on Spark), so the same code
runs on DuckDB and on PySpark. :func:`materialise` keeps an intermediate table once (a temporary
table on DuckDB, a cached DataFrame on Spark) on either backend.
"""

from __future__ import annotations

import itertools
import math
import uuid
from typing import Any, Protocol

import ibis.expr.types as ir

__all__ = ["Tables", "materialise", "release", "spark_double_literals"]


class Tables(Protocol):
    """Anything that hands out the extract-format tables by name as Ibis tables."""

    def table(self, name: str) -> ir.Table: ...


_VIEWS = itertools.count()
_RUN = uuid.uuid4().hex[:8]
_KEPT: dict[str, Any] = {}  # view name -> the checkpointed Spark DataFrame behind it


def materialise(table: ir.Table) -> ir.Table:
    """*table* computed once and kept for the expressions built on it.

    On DuckDB: Ibis's cache (a temporary table). On PySpark: the query's result checkpointed
    (``DataFrame.localCheckpoint``: computed now and kept in Spark's block manager) under a
    temporary view, so that the plans of the expressions built on it start from the kept rows.
    Ibis's own cache keeps the whole plan behind each cached table, which Spark analyses again
    for every query that reads it, and uncaches with a plan comparison against every other
    cached table when the expression is dropped; with the pipeline's dozens of kept tables
    that cost more than the queries (minutes on a few hundred persons).
    """
    backend = table.get_backend()
    if backend.name != "pyspark":
        return table.cache()
    spark_double_literals()
    # the reference tables made with ibis.memtable go to Spark first (what Ibis's execute does)
    backend._register_in_memory_tables(table)
    session = backend._session
    frame = session.sql(backend.compile(table)).localCheckpoint(eager=True)
    name = f"pht_keep_{_RUN}_{next(_VIEWS)}"
    frame.createOrReplaceTempView(name)
    _KEPT[name] = frame
    return backend.table(name)


def release(table: ir.Table) -> None:
    """Free what :func:`materialise` kept for *table* (the temporary table, or the Spark view
    and its checkpoint); a table that was not kept is left alone."""
    if isinstance(table, ir.CachedTable):
        table.release()
        return
    op = table.op()
    name = getattr(op, "name", None)
    if isinstance(name, str) and name in _KEPT:
        frame = _KEPT.pop(name)
        frame.sparkSession.catalog.dropTempView(name)
        frame.unpersist()


def spark_double_literals() -> None:
    """Make Ibis write float literals for Spark as doubles (idempotent).

    Ibis 12 writes ``ibis.literal(0.5)`` (float64) into Spark SQL as a bare ``0.5``, which Spark
    reads as DECIMAL(1,1): ``n / 60.0`` of an integer column becomes a decimal rounded to six
    places and a sum of such literals a DECIMAL column, where DuckDB computes in doubles. Written
    as ``CAST(0.5 AS DOUBLE)`` (the same double: the literal is the float's shortest exact
    text), Spark computes what DuckDB does. Called by everything that hands the rooms Spark
    tables (:func:`materialise`, ``pht.registry.parquet.parquet_tables``,
    ``pht.ops.pipeline.connect``). The same bug is open for PostgreSQL in Ibis (#11947).
    """
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler

    if getattr(PySparkCompiler, "_pht_double_literals", False):
        return
    import sqlglot.expressions as sge

    original = PySparkCompiler.visit_NonNullLiteral

    def visit_non_null_literal(self: Any, op: Any, *, value: Any, dtype: Any) -> Any:
        if dtype.is_floating() and math.isfinite(value):
            return self.cast(sge.convert(value), dtype)
        return original(self, op, value=value, dtype=dtype)

    PySparkCompiler.visit_NonNullLiteral = visit_non_null_literal
    PySparkCompiler._pht_double_literals = True
