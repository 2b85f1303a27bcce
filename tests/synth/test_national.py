"""The national scenario: every municipality, about 4,900 GPs, practices from solo to large."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb

from pht.registry.load import validate_extract
from pht.synth import generate


def test_national_scenario_covers_the_country_and_passes_validation(tmp_path: Path) -> None:
    result = generate("national", "2022", 4, tmp_path / "nat", persons=8_000)
    out = result.out
    con = duckdb.connect()
    munis = con.sql(
        f"select count(*), count(distinct municipality_code), sum(population) "
        f"from '{out / 'municipalities.parquet'}'"
    ).fetchone()
    assert munis[0] == munis[1] == 357
    assert 5_200_000 < munis[2] < 5_800_000
    gps = con.sql(
        f"select count(*) from '{out / 'practitioners.parquet'}' "
        f"where role = 'gp' and start <= date '{dt.date(2022, 1, 1)}'"
    ).fetchone()[0]
    assert 4_600 <= gps <= 5_300
    sizes = [
        n
        for (n,) in con.sql(
            f"select count(*) from '{out / 'practitioners.parquet'}' "
            f"where role = 'gp' and start <= date '2022-01-01' group by practice_id"
        ).fetchall()
    ]
    assert min(sizes) == 1 and max(sizes) >= 10
    pilot = con.sql(
        f"select count(*) from '{out / 'practices.parquet'}' where pht_start is not null"
    ).fetchone()[0]
    assert pilot == 17
    report = validate_extract(out)
    assert report.ok, [str(p) for p in report.problems[:10]]
    # Deterministic at national scale too: the same seed gives the same files.
    again = generate("national", "2022", 4, tmp_path / "again", persons=8_000)
    for name in ("persons.parquet", "contacts.parquet", "truth/conditions.parquet"):
        first = hashlib.sha256((out / name).read_bytes()).hexdigest()
        assert first == hashlib.sha256((again.out / name).read_bytes()).hexdigest(), name
