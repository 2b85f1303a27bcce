"""The national pipeline runs unchanged on Spark and gives DuckDB's answer (docs/scale.md).

The test runs the commands of docs/scale.md's tested block as they are written there: a small
synthetic extract (the project's generator, a few hundred persons) is loaded into the
warehouse, exported to Parquet, and the pipeline runs on DuckDB (from the warehouse) and on
Spark in local mode (from the Parquet export, registered by the registry schema). Every output
is then compared: the same columns with the same types, the same rows, amounts equal to the øre
(decimals compared exactly) and other numbers to 1e-9.

One Spark session (local[1], small-data settings) serves the module; the pipeline's commands
find it running and use it.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pht.cli import app
from pht.ops.pipeline import OUTPUTS

pytestmark = pytest.mark.spark

DOC = Path(__file__).resolve().parents[2] / "docs" / "scale.md"
runner = CliRunner()


def _tested_block() -> list[str]:
    """The commands of docs/scale.md's block marked as run by this test."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(
        r"<!-- tested by tests/ops/test_spark_pipeline.py -->\s*```sh\n(.*?)```", text, re.S
    )
    assert found, "docs/scale.md has no block marked as tested by this test"
    lines = []
    for line in found.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark.sql")
    from pht.ops.pipeline import spark_session

    session = spark_session(
        master="local[1]",
        conf={
            "spark.sql.shuffle.partitions": "1",
            "spark.default.parallelism": "1",
            # a few hundred rows: compiling generated code and adaptive re-planning cost more
            # than they save
            "spark.sql.codegen.wholeStage": "false",
            "spark.sql.codegen.factoryMode": "NO_CODEGEN",
            "spark.sql.adaptive.enabled": "false",
            "spark.sql.constraintPropagation.enabled": "false",
            "spark.driver.memory": "1g",
        },
        app_name="pht-test",
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def outputs(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The doc's commands, run in order; the two output folders."""
    root = tmp_path_factory.mktemp("scale")
    env = {
        "EXTRACT": str(root / "extract"),
        "WAREHOUSE": str(root / "warehouse.duckdb"),
        "EXPORT": str(root / "export"),
        "OUT": str(root / "out"),
    }
    commands = _tested_block()
    assert any("--backend spark" in c for c in commands)
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "pht", command
        args = [re.sub(r"\$(\w+)", lambda m: env[m.group(1)], w) for w in words[1:]]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, f"{command}\n{result.output}\n{result.exception!r}"
    return {"duckdb": root / "out" / "duckdb", "spark": root / "out" / "spark"}


def _key(row: tuple[Any, ...]) -> str:
    return repr(tuple(round(v, 6) if isinstance(v, float) else v for v in row))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("name", OUTPUTS)
def test_output_on_spark_equals_duckdb(outputs: dict[str, Path], name: str) -> None:
    duck = pq.read_table(outputs["duckdb"] / f"{name}.parquet")
    spark = pq.read_table(outputs["spark"] / f"{name}.parquet")
    assert spark.schema == duck.schema
    assert duck.num_rows > 0
    rows_d = sorted((tuple(r.values()) for r in duck.to_pylist()), key=_key)
    rows_s = sorted((tuple(r.values()) for r in spark.to_pylist()), key=_key)
    assert len(rows_s) == len(rows_d)
    for d, s in zip(rows_d, rows_s, strict=True):
        assert all(_same(x, y) for x, y in zip(d, s, strict=True)), (d, s)


def test_the_outputs_hold_what_is_compared(outputs: dict[str, Path]) -> None:
    """Every kind of result is there to compare: the three kinds of target group, worklists,
    both models' money, and every panel indicator split by target group."""
    tg = pq.read_table(outputs["spark"] / "target_groups.parquet").to_pydict()
    assert {"chronic_disease", "frail_elderly", "weak_demanders"} <= set(tg["target_group"])
    worklists = pq.read_table(outputs["spark"] / "worklists.parquet").to_pydict()
    assert len(set(worklists["practice_id"])) > 10
    fee = pq.read_table(outputs["spark"] / "fee_model.parquet").to_pydict()
    grant = pq.read_table(outputs["spark"] / "grant_model.parquet").to_pydict()
    assert sum(fee["refunds"]) > Decimal(0) and sum(fee["per_capita"]) > Decimal(0)
    assert sum(grant["list_grant"]) > Decimal(0) and sum(grant["copay_ceiling"]) > Decimal(0)
    assert fee["total"][0].as_tuple().exponent == -2  # kroner and øre
    ind = pq.read_table(outputs["spark"] / "indicators.parquet").to_pydict()
    assert {"gp_hours", "continuity", "list_length", "annual_checks"} <= set(ind["indicator"])
    assert "chronic_disease" in set(ind["target_group"])
