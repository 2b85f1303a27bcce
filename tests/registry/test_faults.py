"""kill -9 in the middle of a load, an undo and a pseudonymisation: the warehouse is exactly as
before or exactly as after, the rejects file is never lost, a half copy is never loaded."""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pht.core.errors import PhtError
from pht.registry.batches import list_batches
from pht.registry.load import load_extract
from pht.registry.pseudonymise import INCOMPLETE_MARKER
from pht.registry.schema import TABLES
from pht.registry.warehouse import Warehouse
from tests.registry.importers.factory import tables, write_csv, write_parquet

KEY = "k" * 32

# Runs one operation on a warehouse file in a child process; PHT_KILL_AT=<function>:<n> makes
# the child SIGKILL itself when the n-th call of that function starts (the function is patched
# in its module), else it runs to the end.
CHILD = r"""
import os, signal, sys
from pathlib import Path
from pht.registry import batches, load, pseudonymise
from pht.registry.warehouse import Warehouse

target, where = os.environ.get("PHT_KILL_AT", ":").split(":")
modules = {"apply_table": load, "finish_batch": load, "_write_rejects": load,
           "_undo_one": batches, "_fsync": pseudonymise, "_select": pseudonymise}
if target:
    module = modules[target]
    real = getattr(module, target)
    calls = [0]
    def dying(*args, **kwargs):
        calls[0] += 1
        if calls[0] == int(where):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    setattr(module, target, dying)

op, warehouse = sys.argv[1], sys.argv[2]
with Warehouse.open(warehouse) as wh:
    if op == "load":
        report = load.load_extract(wh, sys.argv[3], accept_valid=True,
                                   rejects_path=sys.argv[4], replace=True)
        assert report.imported, report.validation.problems
    elif op == "undo":
        batches.undo_batch(wh, int(sys.argv[3]), cascade=True)
    elif op == "pseudonymise":
        pseudonymise.pseudonymise_warehouse(wh, sys.argv[3], b"{KEY}")
print("done")
""".replace("{KEY}", KEY)


def dump(path: Path) -> str:
    digest = hashlib.sha256()
    with Warehouse.open(path) as wh:
        for t in TABLES:
            for row in wh.sql(f'SELECT * FROM "{t}" ORDER BY ALL'):
                digest.update(repr(row).encode())
        applied = [b.batch_id for b in list_batches(wh) if b.status == "applied"]
    digest.update(repr(applied).encode())
    return digest.hexdigest()


def run(*args: str, kill_at: str = "", after: float | None = None) -> int:
    env = {"PHT_KILL_AT": kill_at or ":"}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    if after is not None:
        time.sleep(after)
        proc.kill()
    proc.communicate(timeout=300)
    return proc.returncode


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("faults")
    first = write_csv(root / "reg", tables(30))
    newer = copy.deepcopy(tables(40))
    newer["contacts"] = newer["contacts"][5:]
    newer["contacts"][0]["setting"] = "sofa"  # one rejected row: a rejects file
    newer["persons"][3]["municipality_code"] = "4204"
    second = write_csv(root / "reg2", newer)
    (second / "manifest.json").write_text('{"source": "reg"}', encoding="utf-8")
    return first, second


def killed_loads(
    tmp_path: Path, first: Path, second: Path, points: list[str], timed: list[float]
) -> Iterator[tuple[str, str, Path, str, str]]:
    """Load *first* into a warehouse, then load *second* (with ``--accept-valid`` and
    ``--replace``) on copies of it: once to the end, then killed at each of *points* and after
    each of *timed* seconds. Yields, per kill, where it was, the warehouse's state after it,
    the rejects file asked for, and the states before and after the whole load."""
    base = tmp_path / "base.duckdb"
    with Warehouse.open(base) as wh:
        wh.init()
        assert load_extract(wh, first).imported
    before = dump(base)
    done = tmp_path / "done.duckdb"
    done.write_bytes(base.read_bytes())
    assert run("load", str(done), str(second), str(tmp_path / "r.csv")) == 0
    after = dump(done)
    assert after != before
    kills: list[tuple[str, float | None]] = [
        *((p, None) for p in points),
        *(("", t) for t in timed),
    ]
    for i, (point, after_s) in enumerate(kills):
        wh_path = tmp_path / f"w{i}.duckdb"
        wh_path.write_bytes(base.read_bytes())
        rejects = tmp_path / f"rejects{i}.csv"
        code = run("load", str(wh_path), str(second), str(rejects), kill_at=point, after=after_s)
        if point:
            assert code == -9
        yield point or f"{after_s} s", dump(wh_path), rejects, before, after


def test_kill_9_during_a_load_leaves_before_or_after(
    tmp_path: Path, extracts: tuple[Path, Path]
) -> None:
    points = ["apply_table:1", "apply_table:4", "finish_batch:1", "_write_rejects:1"]
    for point, state, rejects, before, after in killed_loads(
        tmp_path, *extracts, points, [0.5, 2.5]
    ):
        assert state in (before, after), point
        if state == after:  # the load happened: its rejects file is there, whole
            lines = rejects.read_text(encoding="utf-8").splitlines()
            assert len(lines) == 2 and "sofa" in lines[1]


def test_kill_9_while_a_load_writes_during_its_checks_leaves_before_or_after(
    tmp_path: Path, extracts: tuple[Path, Path]
) -> None:
    """A valid Parquet extract is written on a second connection while its rules run
    (``pht.registry.load._Speculation``): killed there, nothing of it remains."""
    first, _ = extracts
    newer = copy.deepcopy(tables(40))
    newer["contacts"] = newer["contacts"][5:]
    newer["persons"][3]["municipality_code"] = "4204"
    second = write_parquet(tmp_path / "reg2", newer)
    (second / "manifest.json").write_text('{"source": "reg"}', encoding="utf-8")
    points = ["apply_table:5", "finish_batch:1"]  # in the contacts write; before the commit
    for point, state, _, before, after in killed_loads(tmp_path, first, second, points, [1.0]):
        assert state in (before, after), point


def test_kill_9_during_an_undo_leaves_before_or_after(
    tmp_path: Path, extracts: tuple[Path, Path]
) -> None:
    first, second = extracts
    base = tmp_path / "base.duckdb"
    with Warehouse.open(base) as wh:
        wh.init()
        assert load_extract(wh, first).imported
        assert load_extract(wh, second, accept_valid=True, replace=True).imported
    before = dump(base)
    with Warehouse.open(tmp_path / "e.duckdb") as wh:
        wh.init()
    empty = dump(tmp_path / "e.duckdb")
    for i, (point, after_s) in enumerate([("_undo_one:2", None), ("", 2.5)]):
        wh_path = tmp_path / f"u{i}.duckdb"
        wh_path.write_bytes(base.read_bytes())
        run("undo", str(wh_path), "1", kill_at=point, after=after_s)
        state = dump(wh_path)
        assert state in (before, empty), point
    wh_path = tmp_path / "u-done.duckdb"
    wh_path.write_bytes(base.read_bytes())
    assert run("undo", str(wh_path), "1") == 0
    assert dump(wh_path) == empty


@pytest.mark.parametrize("suffix", ["", ".duckdb"], ids=["parquet", "duckdb"])
def test_kill_9_during_pseudonymise_leaves_no_loadable_half(
    tmp_path: Path, extracts: tuple[Path, Path], suffix: str
) -> None:
    first, _ = extracts
    base = tmp_path / "base.duckdb"
    with Warehouse.open(base) as wh:
        wh.init()
        assert load_extract(wh, first).imported
    for point in ("_select:4", "_fsync:1"):
        out = tmp_path / f"copy-{point.replace(':', '')}{suffix}"
        assert run("pseudonymise", str(base), str(out), kill_at=point) == -9
        assert not out.exists()
        halves = list(tmp_path.glob(f".{out.name}.partial-*"))
        assert halves
        if not suffix:  # the half folder is marked, and the loader refuses it
            assert (halves[0] / INCOMPLETE_MARKER).exists()
            with Warehouse.open(":memory:") as wh:
                wh.init()
                with pytest.raises(PhtError, match="uferdig kopi fra `pht registry pseudonymise`"):
                    load_extract(wh, halves[0])
    out = tmp_path / f"whole{suffix}"
    assert run("pseudonymise", str(base), str(out)) == 0
    assert out.exists()
    if not suffix:
        assert not (out / INCOMPLETE_MARKER).exists()
        with Warehouse.open(":memory:") as wh:
            wh.init()
            assert load_extract(wh, out).imported
