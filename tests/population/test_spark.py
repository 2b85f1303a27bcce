"""The target-group query and the frailty index run unchanged on PySpark and give the DuckDB
answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import pht.population as pop
from pht.registry import TABLES
from tests.population.conftest import AS_OF, NEED, RISK, World

pytestmark = pytest.mark.spark


class SparkTables:
    """The extract tables as Spark temporary views, through Ibis."""

    def __init__(self, con: object, names: list[str]) -> None:
        self.con = con
        self.names = names

    def table(self, name: str):  # type: ignore[no-untyped-def]
        return self.con.table(name)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("pht-population-test")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        # a few rows: compiling generated code and adaptive re-planning cost more than they save
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.host", "127.0.0.1")  # loopback only
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _rows(df: object) -> set[tuple[object, ...]]:
    cols = ["person_id", "target_group", "condition", "code", "code_system", "source", "records"]
    out = set()
    for r in df[[*cols, "evidence_date"]].to_dict(orient="records"):  # type: ignore[index]
        d = r["evidence_date"]
        day = None if d is None or str(d) == "NaT" else str(d)[:10]
        out.add((*(r[c] for c in cols), day))
    return out


def test_target_groups_on_spark_equal_duckdb(world: World, spark: object) -> None:
    import ibis

    con = ibis.pyspark.connect(spark)
    for name in TABLES:
        # the extract's columns (the warehouse adds its own, e.g. the load batch)
        arrow = world.wh.table(name).select([c.name for c in TABLES[name].columns]).to_pyarrow()
        rows = [tuple(r.values()) for r in arrow.to_pylist()]
        frame = spark.createDataFrame(rows, schema=_ddl(name))  # type: ignore[attr-defined]
        frame.createOrReplaceTempView(name)
    # The whole target-group query (coded conditions, frail elderly, weak demanders, each with
    # its evidence) and the frailty index, with the intermediate tables cached as on DuckDB.
    spark_view = pop.PopulationView(
        SparkTables(con, list(TABLES)), AS_OF, need_model=NEED, risk_model=RISK
    )
    duck_view = pop.PopulationView(world.wh, AS_OF, need_model=NEED, risk_model=RISK)
    on_spark = spark_view.target_groups.execute()
    on_duckdb = duck_view.target_groups.execute()
    assert set(on_duckdb["target_group"]) >= {"chronic_disease", "frail_elderly", "weak_demanders"}
    assert _rows(on_spark) == _rows(on_duckdb)
    assert _frailty(spark_view.frailty.execute()) == _frailty(duck_view.frailty.execute())


def _frailty(df: object) -> set[tuple[object, ...]]:
    out = set()
    for r in df.to_dict(orient="records"):  # type: ignore[attr-defined]
        d = r["last_evidence"]
        day = None if d is None or str(d) == "NaT" else str(d)[:10]
        out.add((r["person_id"], round(float(r["efi"]), 4), r["band"], int(r["deficits"]), day))
    return out


def _ddl(name: str) -> str:
    types = {
        "string": "string",
        "date": "date",
        "int64": "bigint",
        "float64": "double",
        "boolean": "boolean",
    }
    parts = []
    for c in TABLES[name].columns:
        t = str(c.dtype).lower().rstrip("!")
        parts.append(f"`{c.name}` {types.get(t, 'decimal(12,2)')}")
    return ", ".join(parts)
