"""Any sequence of loads and undos gives the warehouse that loading, in order, only the batches
still in place gives; replaying the sequence gives the same warehouse."""

from __future__ import annotations

import copy
import datetime as dt
import tempfile
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pht.core.errors import PhtError
from pht.registry.batches import list_batches, undo_batch
from pht.registry.load import load_extract
from pht.registry.schema import TABLES
from pht.registry.warehouse import Warehouse
from tests.registry.importers.factory import tables, write_csv

PERIOD = (dt.date(2020, 1, 1), dt.date(2021, 12, 31))


@cache
def extracts() -> list[tuple[Path, str, tuple[dt.date, dt.date] | None]]:
    """A few small extracts that overlap: (folder, source, declared period)."""
    root = Path(tempfile.mkdtemp(prefix="pht-batch-prop-"))
    base = tables(5)
    changed = copy.deepcopy(tables(6))
    changed["contacts"] = changed["contacts"][2:]
    changed["contacts"][0]["tariffs"] = "2ad"
    changed["persons"][1]["municipality_code"] = "4204"
    more = tables(7)
    more = {"persons": more["persons"], "contacts": more["contacts"][3:]}
    moved = copy.deepcopy(tables(4))
    moved["persons"][0]["death_date"] = "2023-01-01"
    return [
        (write_csv(root / "a1", base), "a", None),
        (write_csv(root / "a2", changed), "a", PERIOD),
        (write_csv(root / "b1", more), "b", PERIOD),
        (write_csv(root / "a3", moved), "a", None),
    ]


def contents(wh: Warehouse) -> list[list[tuple[object, ...]]]:
    """Every table's rows in order, without the batch column (batch ids differ on replay)."""
    out = []
    for t in TABLES:
        cols = ", ".join(f'"{c.name}"' for c in TABLES[t].columns)
        out.append(wh.sql(f'SELECT {cols} FROM "{t}" ORDER BY ALL'))
    return out


def run(ops: list[tuple[str, int]]) -> tuple[Warehouse, list[int]]:
    """Apply *ops*; returns the warehouse and the extracts of the batches still in place."""
    wh = Warehouse.open(":memory:")
    wh.init()
    loaded: dict[int, int] = {}  # batch id -> extract
    for op, arg in ops:
        if op == "load":
            folder, source, period = extracts()[arg]
            report = load_extract(wh, folder, source=source, period=period, replace=True)
            if report.imported and report.batch is not None and report.batch.batch_id:
                loaded[report.batch.batch_id] = arg
        else:
            applied = [b.batch_id for b in list_batches(wh) if b.status == "applied"]
            if not applied:
                continue
            target = applied[arg % len(applied)]
            try:
                undo_batch(wh, target, cascade=op == "undo-cascade")
            except PhtError:
                continue  # refused: a later batch built on it
    still = [
        loaded[b.batch_id]
        for b in list_batches(wh)
        if b.status == "applied" and b.batch_id in loaded
    ]
    return wh, still


operations = st.lists(
    st.one_of(
        st.tuples(st.just("load"), st.integers(0, 3)),
        st.tuples(st.sampled_from(["undo", "undo-cascade"]), st.integers(0, 5)),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
@example([("load", 0), ("load", 2), ("undo", 1), ("load", 1), ("load", 3), ("undo-cascade", 0)])
@example([("load", 0), ("load", 0), ("undo", 0), ("undo", 1), ("load", 1)])
def test_loads_and_undos_equal_loading_what_is_left(ops: list[tuple[str, int]]) -> None:
    wh, still = run(ops)
    again, _ = run(ops)
    assert contents(again) == contents(wh)  # replaying gives the same warehouse
    fresh, _ = run([("load", i) for i in still])
    assert contents(fresh) == contents(wh)  # undo is the exact inverse of its load
