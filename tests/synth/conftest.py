"""One small pilot extract per test session, built by code (the generator itself)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pht.synth import SynthResult, generate

TABLES = (
    "municipalities",
    "practices",
    "practitioners",
    "persons",
    "list_memberships",
    "contacts",
    "admissions",
    "municipal_services",
    "survey_responses",
)


@pytest.fixture(scope="session")
def pilot_extract(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    """The pilot scenario 2015-2023, scaled to 20,000 listed persons."""
    out = tmp_path_factory.mktemp("synth") / "pilot"
    return generate("pilot", (2015, 2023), 11, out, persons=20_000)


@pytest.fixture(scope="session")
def db(pilot_extract: SynthResult) -> duckdb.DuckDBPyConnection:
    """DuckDB views over the pilot extract's files and truth."""
    con = duckdb.connect()
    out: Path = pilot_extract.out
    for t in TABLES:
        con.execute(f"create view {t} as select * from '{out / (t + '.parquet')}'")
    for t in ("persons", "conditions", "person_quarters"):
        con.execute(f"create view truth_{t} as select * from '{out / 'truth' / (t + '.parquet')}'")
    con.execute("create view roles as select distinct practitioner_id, role from practitioners")
    return con
