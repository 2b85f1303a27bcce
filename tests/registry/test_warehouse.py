"""The warehouse: tables of the extract format, schema version, all-or-nothing writes."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pht.core.errors import PhtError
from pht.reference import load_pilot
from pht.registry import SCHEMA_VERSION, TABLES, Warehouse
from pht.registry.load import load_extract
from pht.registry.reference_load import load_pilot_reference
from pht.registry.schema import STORAGE_METHODS
from pht.registry.warehouse import STORAGE_VERSION
from tests.registry.importers.factory import tables, write_parquet

DATA_MD_TABLES = {
    "municipalities": "municipality_code name population centrality",
    "practices": "practice_id name municipality_code district financing_model pht_start pht_end",
    "practitioners": "practitioner_id practice_id role fte start end team_lead",
    "persons": "person_id birth_date sex municipality_code death_date",
    "list_memberships": "person_id gp_id start end",
    "contacts": "contact_id person_id practitioner_id practice_id date setting diagnoses tariffs "
    "copay_nok refund_nok",
    "admissions": "admission_id person_id admitted discharged main_diagnosis other_diagnoses acute",
    "municipal_services": "person_id service start end hours_per_week",
    "survey_responses": "response_id person_id practice_id date instrument item value",
}


def test_schema_has_exactly_the_columns_of_the_extract_format() -> None:
    assert {n: " ".join(c.name for c in t.columns) for n, t in TABLES.items()} == DATA_MD_TABLES


def test_init_creates_every_table_once_and_records_the_version(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        assert wh.schema_version() is None
        assert wh.init() is True
        assert wh.init() is False
        info = wh.info()
    assert info.schema_version == SCHEMA_VERSION
    assert [t.name for t in info.tables] == list(TABLES)
    assert all(t.rows == 0 for t in info.tables)
    with Warehouse.open(path, read_only=True) as wh:
        assert set(TABLES) <= set(wh.con.list_tables())


def test_a_warehouse_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        wh.init()
        wh.sql("UPDATE pht_meta SET value = '99' WHERE key = 'schema_version'")
    with Warehouse.open(path) as wh, pytest.raises(PhtError, match="schema version 99"):
        wh.init()


def test_opening_a_missing_warehouse_read_only_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(PhtError, match="pht registry init"):
        Warehouse.open(tmp_path / "none.duckdb", read_only=True)


def test_a_failure_inside_a_transaction_leaves_the_warehouse_as_it_was(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        load_pilot_reference(wh, load_pilot())
        before = wh.info()
        rows = pa.table(
            {"municipality_code": ["9999"], "name": ["X"], "population": [1], "centrality": [None]}
        )
        with pytest.raises(RuntimeError), wh.transaction():
            wh.replace_rows("municipalities", rows, key=("municipality_code",))
            wh.sql("DELETE FROM practices")
            raise RuntimeError("interrupted")
        assert wh.info() == before


def test_loading_the_pilot_twice_changes_nothing(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        first = load_pilot_reference(wh, load_pilot())
        snapshot = wh.table("practices").order_by("practice_id").to_pyarrow()
        load_pilot_reference(wh, load_pilot())
        assert wh.table("practices").order_by("practice_id").to_pyarrow() == snapshot
        assert first == {"municipalities": 9, "practices": 17}
        models = dict(wh.sql("SELECT financing_model, count(*) FROM practices GROUP BY 1"))
        assert models == {"fee": 12, "grant": 5}


def _methods(wh: Warehouse, table: str) -> dict[str, str]:
    """Compression method of each text column of *table* as stored (after a checkpoint)."""
    wh.sql("CHECKPOINT")
    rows = wh.sql(
        f"SELECT column_name, string_agg(DISTINCT compression) FROM pragma_storage_info('{table}') "
        "WHERE segment_type = 'VARCHAR' AND compression <> 'Constant' GROUP BY 1"
    )
    return {str(c): str(m) for c, m in rows}


def _expected_methods(table: str, layout: str) -> dict[str, str]:
    """The methods the schema pins for *table* in *layout* (others are DuckDB's choice)."""
    names = {"uncompressed": "Uncompressed", "fsst": "FSST", "dictionary": "Dictionary"}
    methods = STORAGE_METHODS[layout]
    return {
        c.name: names[methods[c.storage]] for c in TABLES[table].columns if methods.get(c.storage)
    }


def _pinned(stored: dict[str, str], expected: dict[str, str]) -> dict[str, str]:
    return {c: m for c, m in stored.items() if c in expected}


def test_init_creates_the_tables_the_loader_writes_and_loading_keeps_them(
    tmp_path: Path,
) -> None:
    """One definition: init makes every table with the schema's types and storage methods."""
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        wh.init()
        version = wh.sql(
            "SELECT tags['storage_version'] FROM duckdb_databases() "
            "WHERE database_name = current_database()"
        )[0][0]
        assert version.startswith(STORAGE_VERSION)
        for name, spec in TABLES.items():
            stored = wh.table(name).schema()
            assert stored["_batch"].is_integer(), name  # the batch that wrote each row
            assert wh.table(name).drop("_batch").schema() == spec.schema, name
        # a column of fixed values is a DuckDB ENUM underneath, text to every reader
        assert wh.sql(
            "SELECT data_type FROM duckdb_columns() WHERE table_name = 'contacts' "
            "AND column_name = 'setting'"
        )[0][0].startswith("ENUM")
        report = load_extract(wh, write_parquet(tmp_path / "x", tables()))
        assert report.ok and report.written["contacts"] > 0
        settings = wh.table("contacts").setting.to_pyarrow()
        assert settings.type == "string" and set(settings.to_pylist()) == {"office"}
        for name in ("persons", "contacts", "list_memberships"):
            assert wh.table(name).drop("_batch").schema() == TABLES[name].schema, name
            expected = _expected_methods(name, "current")
            assert expected and _pinned(_methods(wh, name), expected) == expected, name


def test_a_warehouse_file_in_an_older_storage_format_gets_the_legacy_methods(
    tmp_path: Path,
) -> None:
    """A file made before pht chose its storage format keeps it; its tables still compress."""
    path = tmp_path / "old.duckdb"
    duckdb.connect(str(path)).close()  # DuckDB's default format (v1.0)
    with Warehouse.open(path) as wh:
        wh.init()
        assert load_extract(wh, write_parquet(tmp_path / "x", tables())).ok
        expected = _expected_methods("contacts", "legacy")
        assert _methods(wh, "contacts") == expected and "Dictionary" in expected.values()
        assert wh.sql("SELECT count(*) FROM contacts")[0][0] > 0


def test_an_in_memory_warehouse_copies_into_a_file_of_the_default_format(tmp_path: Path) -> None:
    """COPY FROM DATABASE into a file DuckDB made with its defaults keeps working."""
    with Warehouse.open(":memory:") as wh:
        wh.init()
        assert load_extract(wh, write_parquet(tmp_path / "x", tables())).ok
        wh.sql(f"ATTACH '{tmp_path / 'copy.duckdb'}' AS copy")
        wh.sql("COPY FROM DATABASE memory TO copy")
        assert wh.sql("SELECT count(*) FROM copy.contacts") == wh.sql(
            "SELECT count(*) FROM contacts"
        )
