"""Two synthetic yearly extracts (different years and seeds) into one warehouse: the second
keeps every row of the first, and loading an extract again changes nothing."""

from __future__ import annotations

from pathlib import Path

from pht.registry.load import load_extract
from pht.registry.schema import TABLES
from pht.registry.warehouse import Warehouse
from pht.synth import generate

EVENTS = ("contacts", "admissions", "survey_responses", "persons", "list_memberships")


def rows(wh: Warehouse, table: str, where: str = "TRUE") -> list[tuple[object, ...]]:
    cols = ", ".join(f'"{c.name}"' for c in TABLES[table].columns)
    return wh.sql(f'SELECT {cols} FROM "{table}" WHERE {where} ORDER BY ALL')


def test_2021_2022_after_2019_2020_keeps_every_earlier_row(tmp_path: Path) -> None:
    early = tmp_path / "pilot_2019_2020"
    late = tmp_path / "pilot_2021_2022"
    generate("pilot", (2019, 2020), 3, early, persons=800)
    generate("pilot", (2021, 2022), 4, late, persons=800)
    with Warehouse.open(":memory:") as wh:
        wh.init()
        first = load_extract(wh, early)
        assert first.imported, [str(p) for p in first.validation.problems[:5]]
        before = {t: rows(wh, t) for t in EVENTS}
        assert before["contacts"]
        second = load_extract(wh, late)
        assert second.imported, [str(p) for p in second.validation.problems[:5]]
        assert second.batch is not None
        assert all(c.deleted == 0 for c in second.batch.changes.values())
        for t in ("contacts", "admissions", "survey_responses"):
            kept = rows(wh, t, f"\"{TABLES[t].event_id}\" LIKE 'pilot_2019_2020:%'")
            assert kept == before[t], t
            assert len(rows(wh, t)) == len(before[t]) + second.batch.changes[t].inserted
        for t in ("persons", "list_memberships"):  # nothing of the first extract is lost
            assert set(before[t]) <= set(rows(wh, t)) or second.batch.changes[t].updated
        again = {t: rows(wh, t) for t in TABLES}
        third = load_extract(wh, late)
        assert third.imported and third.batch is not None
        assert all(c.inserted == c.updated == c.deleted == 0 for c in third.batch.changes.values())
        assert {t: rows(wh, t) for t in TABLES} == again
