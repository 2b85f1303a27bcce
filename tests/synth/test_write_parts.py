"""Large tables are written one row group at a time: the files must not depend on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pht.synth import generate
from pht.synth import write as synth_write
from pht.synth.write import Sliced, TableWriter, write_table


def _table(n: int) -> pa.Table:
    """A table like the contacts: identifiers, codes, dates and money."""
    rng = np.random.default_rng(3)
    ids = np.array([f"{i:011d}".encode() for i in rng.integers(0, 10**11, 50)], dtype="S11")
    person = synth_write._Identifiers(ids).take(rng.integers(0, 50, n))
    codes = synth_write._Codes(np.array(["T90", "R95", "K86", "T90"], dtype=object))
    return pa.table(
        {
            "contact_id": synth_write._ids("K", n),
            "person_id": person,
            "diagnoses": codes.take(rng.integers(0, 4, n)),
            "date": synth_write._dates(rng.integers(16_000, 19_000, n).astype(np.int32)),
            "copay_nok": synth_write._decimals(synth_write._wide(rng.integers(0, 400, n))),
        }
    )


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_table_written_in_parts_is_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.setattr(synth_write, "ROW_GROUP", 1_000)
    table = _table(2_500)
    whole = tmp_path / f"whole.{fmt}"
    write_table(table, whole, fmt)
    parts = Sliced(table.num_rows, lambda lo, hi: table.slice(lo, hi - lo))
    assert [p.num_rows for p in parts.parts()] == [1_000, 1_000, 500]
    in_parts = tmp_path / f"parts.{fmt}"
    writer = TableWriter(in_parts, fmt)
    for part in parts.parts():
        writer.write(part)
    writer.close()
    assert in_parts.read_bytes() == whole.read_bytes()
    if fmt == "parquet":
        meta = pq.ParquetFile(whole).metadata
        assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1_000] * 2 + [
            500
        ]
        back = pq.read_table(whole)
        assert back.column("person_id").type == pa.string()
        assert back.column("person_id").to_pylist() == table.column("person_id").to_pylist()


def test_an_empty_table_in_parts_still_has_its_columns(tmp_path: Path) -> None:
    table = _table(0)
    path = tmp_path / "empty.parquet"
    writer = TableWriter(path, "parquet")
    for part in Sliced(0, lambda lo, hi: table.slice(lo, hi - lo)).parts():
        writer.write(part)
    writer.close()
    assert pq.read_table(path).column_names == table.column_names


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(-(10**5), 10**5)), min_size=0, max_size=60
    )
)
def test_packed_order_is_the_lexsort_order(pairs: list[tuple[int, int]]) -> None:
    first = np.array([p[0] for p in pairs], dtype=np.int64)
    then = np.array([p[1] for p in pairs], dtype=np.int64)
    expected = np.lexsort((then, first))
    assert synth_write._order_by(first, then).tolist() == expected.tolist()


def test_row_groups_of_a_large_extract_do_not_change_its_contents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Generated with tiny row groups, the tables hold the same rows as with the default."""
    a = generate("pilot", "2018-2018", 4, tmp_path / "a", persons=1_500)
    monkeypatch.setattr(synth_write, "ROW_GROUP", 777)
    b = generate("pilot", "2018-2018", 4, tmp_path / "b", persons=1_500)
    for name in ("contacts.parquet", "truth/person_quarters.parquet"):
        ta, tb = pq.read_table(a.out / name), pq.read_table(b.out / name)
        assert ta.num_rows > 777
        assert pq.ParquetFile(b.out / name).metadata.num_row_groups > 1
        assert ta.equals(tb)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**11), st.integers(0, 300))
@example(9_990, 30)
@example(99_999_990, 30)
@example(0, 0)
def test_row_ids_are_the_zero_padded_row_numbers(start: int, count: int) -> None:
    total = start + count + 7
    width = len(str(total))
    got = synth_write._ids("K", count, start, total).to_pylist()
    assert got == [f"K{i:0{width}d}" for i in range(start + 1, start + count + 1)]
