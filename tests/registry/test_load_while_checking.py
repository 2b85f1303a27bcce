"""A Parquet or Arrow load writes its batch while its rules run and keeps it only when they find
nothing (``pht.registry.load._Speculation``): every outcome, and the warehouse after every step,
equals the load that checks first and writes after (``PHT_LOAD_WHILE_CHECKING=0``)."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from pht.registry import load as load_module
from pht.registry.batches import BatchReport, list_batches, write_batch
from pht.registry.load import LoadReport, load_extract
from pht.registry.warehouse import Warehouse
from tests.registry.importers.factory import tables, write_csv, write_parquet
from tests.registry.test_batches import dump

PERIOD = (dt.date(2020, 1, 1), dt.date(2020, 12, 31))


def _outcome(result: LoadReport | BatchReport) -> tuple[Any, ...]:
    """What a user sees of a load: imported or not, why refused, the changes per table, and
    the problems with their lines."""
    batch = result.batch if isinstance(result, LoadReport) else result
    imported = result.imported if isinstance(result, LoadReport) else result.applied
    assert batch is not None
    changes = {
        t: (c.inserted, c.updated, c.deleted, c.unchanged, sorted(c.by_year.items()))
        for t, c in batch.changes.items()
    }
    problems = [str(p) for p in batch.problems]
    return imported, batch.refused, batch.dry_run, changes, problems


def _steps(root: Path) -> list[tuple[str, Callable[[Warehouse], LoadReport | BatchReport]]]:
    data = tables(12)
    data["survey_responses"][0]["date"] = "2020-05-01"  # every event inside 2020
    first = write_parquet(root / "reg", data)
    # the same period again without two contacts and with one changed: 3 of 24 stored rows
    newer = copy.deepcopy(data)
    newer["contacts"] = newer["contacts"][2:]
    newer["contacts"][0]["tariffs"] = "2ad"
    second = write_parquet(root / "reg2", newer)
    future = copy.deepcopy(data)
    future["contacts"][5]["date"] = "2031-03-05"
    typo = write_parquet(root / "typo", future)
    sofa = copy.deepcopy(data)
    sofa["contacts"][1]["setting"] = "sofa"
    with_reject = write_parquet(root / "sofa", sofa)
    arrow = {
        "contacts": pa.table(
            {k: [r[k] or None for r in data["contacts"][:3]] for k in data["contacts"][0]}
        )
    }
    arrow["contacts"] = arrow["contacts"].set_column(
        0, "contact_id", pa.array([f"a{i}" for i in range(3)])
    )
    reg: dict[str, Any] = {"source": "reg", "period": PERIOD}
    return [
        ("a first valid load", lambda wh: load_extract(wh, first, source="reg")),
        ("the same again: nothing changes", lambda wh: load_extract(wh, first, source="reg")),
        ("a 2031 date: refused", lambda wh: load_extract(wh, typo, source="reg")),
        ("dry run of the newer extract", lambda wh: load_extract(wh, second, dry_run=True, **reg)),
        ("over the threshold: refused", lambda wh: load_extract(wh, second, **reg)),
        ("with --replace", lambda wh: load_extract(wh, second, replace=True, **reg)),
        (
            "one bad row, valid rows accepted",
            lambda wh: load_extract(
                wh, with_reject, source="sofa", accept_valid=True, rejects_path=root / "r.csv"
            ),
        ),
        ("Arrow tables", lambda wh: write_batch(wh, arrow, source="arrow")),
    ]


def test_writing_while_checking_gives_what_checking_first_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept: list[str] = []
    real_finish = load_module._Speculation.finish

    def finish(self: Any, keep: bool) -> BatchReport | None:
        report = real_finish(self, keep)
        if report is not None:
            kept.append(step)
        return report

    monkeypatch.setattr(load_module._Speculation, "finish", finish)
    results: dict[str, list[tuple[Any, ...]]] = {}
    for mode in ("1", "0"):
        monkeypatch.setenv("PHT_LOAD_WHILE_CHECKING", mode)
        with Warehouse.open(tmp_path / f"w{mode}.duckdb") as wh:
            wh.init()
            states = results.setdefault(mode, [])
            for step, run in _steps(tmp_path / f"x{mode}"):
                outcome = _outcome(run(wh))
                states.append((step, outcome, dump(wh)))
            states.append(("batches", tuple((b.batch_id, b.status) for b in list_batches(wh))))
    assert results["1"] == results["0"]
    # the first load, the reload, the dry run, the refusal by threshold, the replacement and
    # the Arrow tables were written while checking; the 2031 date and the bad row were not
    assert kept == [
        "a first valid load",
        "the same again: nothing changes",
        "dry run of the newer extract",
        "over the threshold: refused",
        "with --replace",
        "Arrow tables",
    ]
    steps = {s[0]: s for s in results["1"][:-1]}
    assert steps["a 2031 date: refused"][2] == steps["the same again: nothing changes"][2]
    assert steps["over the threshold: refused"][1][1] is not None  # refused by the threshold


def test_a_csv_extract_is_checked_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CSV is staged in tables only the loader's connection sees: no write while checking."""
    started: list[bool] = []
    real_start = load_module._Speculation.start

    def start(self: Any, stage: Any) -> None:
        real_start(self, stage)
        started.append(self.thread is not None)

    monkeypatch.setattr(load_module._Speculation, "start", start)
    with Warehouse.open(":memory:") as wh:
        wh.init()
        assert load_extract(wh, write_csv(tmp_path / "reg", tables(6))).imported
        assert load_extract(wh, write_parquet(tmp_path / "pq", tables(6))).imported
    assert started == [False, True]
