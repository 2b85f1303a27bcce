"""The warehouse as Parquet on shared storage: one folder per table, written whole or not at all,
read back with the registry schema's types (docs/scale.md)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import ibis
import pyarrow.parquet as pq
import pytest

from pht.core.errors import PhtError
from pht.ops.pipeline import OUTPUTS, run_pipeline
from pht.registry import TABLES, Warehouse
from pht.registry.parquet import EXPORT_MANIFEST, export_parquet, parquet_tables, spark_ddl
from pht.registry.schema import BATCH_COLUMN
from tests.population.builder import Population


@pytest.fixture(scope="module")
def warehouse() -> Warehouse:
    b = Population()
    p = b.practice("91234568")
    q = b.practice("98765432", model="grant")
    gp = b.practitioner("1000001", p)
    nurse = b.practitioner("2000001", p, "nurse")
    gp2 = b.practitioner("1000003", q)
    anna = b.person("1950-05-05", "F", gp=gp)
    b.contact(anna, "2022-03-15", "T90", "2ad 2cd", practitioner=gp, practice=p)
    b.contact(anna, "2022-06-01", "T90 K86", "2ad", practitioner=gp, practice=p)
    bjorn = b.person("1940-02-02", "M", gp=gp)
    b.contact(bjorn, "2022-01-10", "K77 K78", "2ad", practitioner=gp, practice=p)
    b.contact(bjorn, "2022-11-20", "", "pht01", practitioner=nurse, practice=p)
    b.admission(bjorn, "2022-05-01", "I500")
    b.service(bjorn, "home_nursing", "2022-01-01")
    hans = b.person("1960-10-10", "M", gp=gp2, death="2022-12-01")
    b.contact(hans, "2022-10-01", "R95", "2ad", practitioner=gp2, practice=q)
    wh = b.warehouse()
    wh.sql("UPDATE contacts SET copay_nok = 160.50, refund_nok = 0.05")
    return wh


def _rows(t: object) -> list[tuple[object, ...]]:
    return sorted((tuple(r.values()) for r in t.to_pylist()), key=repr)  # type: ignore[attr-defined]


def test_export_writes_every_table_with_the_schema_types(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    done = export_parquet(warehouse, tmp_path / "export")
    root = done.root
    assert (root / EXPORT_MANIFEST).exists()
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == sorted(TABLES)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial folder
    for name, spec in TABLES.items():
        stored = pq.read_table(root / name)
        expected = spec.schema.to_pyarrow()
        assert stored.schema.names == [*expected.names, BATCH_COLUMN]
        for field in expected:
            assert stored.schema.field(field.name).type == field.type, (name, field.name)
        assert done.rows[name] == stored.num_rows
    copay = pq.read_table(root / "contacts").column("copay_nok").to_pylist()
    assert set(copay) == {Decimal("160.50")}
    assert "`copay_nok` decimal(12, 2)" in spark_ddl("contacts")
    assert spark_ddl("persons").endswith(f"`{BATCH_COLUMN}` int")


def test_an_export_is_replaced_only_when_asked(warehouse: Warehouse, tmp_path: Path) -> None:
    export_parquet(warehouse, tmp_path / "export")
    with pytest.raises(PhtError, match="already there"):
        export_parquet(warehouse, tmp_path / "export")
    (tmp_path / "export" / "stale.txt").write_text("from before")
    export_parquet(warehouse, tmp_path / "export", overwrite=True)
    assert not (tmp_path / "export" / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_registered_tables_equal_the_warehouse_and_the_pipeline_agrees(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    export_parquet(warehouse, tmp_path / "export")
    tables = parquet_tables(ibis.duckdb.connect(), tmp_path / "export")
    for name, spec in TABLES.items():
        t = tables.table(name)
        assert dict(t.schema().items()) == {
            **dict(spec.schema.items()),
            BATCH_COLUMN: t[BATCH_COLUMN].type(),
        }
        cols = list(t.columns)
        assert _rows(t.to_pyarrow()) == _rows(warehouse.table(name).select(cols).to_pyarrow())
    with pytest.raises(PhtError, match="no table"):
        tables.table("not_a_table")
    from_files = run_pipeline(tables)
    from_warehouse = run_pipeline(warehouse)
    for name in OUTPUTS:
        assert from_files.outputs[name].equals(from_warehouse.outputs[name]), name
    assert from_files.outputs["target_groups"].num_rows > 0
    assert from_files.outputs["fee_model"].num_rows == 2
