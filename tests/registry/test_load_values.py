"""Rules on repeated values (codes, practitioners, settings) checked once per distinct value.

A Parquet file read through Arrow keeps these columns dictionary-encoded; their rules run over
the values the rows use. A value only in a dictionary must not be reported; a used bad value is
reported on every line that holds it, as when the rows themselves are checked.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pht.registry import staging
from pht.registry.load import load_extract, validate_extract
from pht.registry.warehouse import Warehouse
from tests.registry.importers.factory import GP1, tables, write_parquet


def _with_dictionary_contacts(folder: Path, setting: list[str], unused: str) -> Path:
    """Rewrite contacts.parquet with ``setting`` and ``practitioner_id`` as dictionaries whose
    dictionaries also hold *unused*, a value no row uses."""
    path = folder / "contacts.parquet"
    data = pq.read_table(path)
    n = data.num_rows
    assert len(setting) == n
    values = [*sorted(set(setting) - {unused}), unused]
    indices = pa.array([values.index(v) for v in setting], pa.int32())
    data = data.set_column(
        data.schema.get_field_index("setting"),
        "setting",
        pa.DictionaryArray.from_arrays(indices, pa.array(values)),
    )
    gps = data.column("practitioner_id").to_pylist()
    gp_values = [*sorted(set(gps)), "9999999"]  # an unknown HPR number, unused
    data = data.set_column(
        data.schema.get_field_index("practitioner_id"),
        "practitioner_id",
        pa.DictionaryArray.from_arrays(
            pa.array([gp_values.index(v) for v in gps], pa.int32()), pa.array(gp_values)
        ),
    )
    pq.write_table(data, path)
    return folder


def test_values_only_in_a_dictionary_are_not_problems(tmp_path: Path) -> None:
    data = tables()
    folder = write_parquet(tmp_path / "x", data)
    settings = [r["setting"] for r in data["contacts"]]
    _with_dictionary_contacts(folder, settings, unused="not-a-setting")
    with Warehouse.open(":memory:") as wh:
        wh.init()
        report = load_extract(wh, folder)
        assert report.ok, [str(p) for p in report.validation.problems]
        assert wh.sql("SELECT count(*) FROM contacts")[0][0] == len(settings)


@pytest.mark.parametrize("through_arrow", [True, False], ids=["arrow", "in-place"])
def test_used_bad_values_are_reported_on_every_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, through_arrow: bool
) -> None:
    if not through_arrow:
        monkeypatch.setattr(staging, "ARROW_MAX_ROW_GROUPS", 0)
    data = tables()
    contacts = data["contacts"]
    assert len(contacts) >= 3
    contacts[0]["diagnoses"] = "T90 XXX"
    contacts[2]["diagnoses"] = "T90 XXX"
    contacts[1]["practitioner_id"] = "1234567"  # not in practitioners
    folder = write_parquet(tmp_path / "x", data)
    settings = [r["setting"] for r in contacts]
    settings[1] = "sofa"
    _with_dictionary_contacts(folder, settings, unused="office")
    report = validate_extract(folder)
    got = {(p.line, p.column, p.reason) for p in report.problems if p.file == "contacts.parquet"}
    assert (2, "diagnoses", "ukjent ICPC-2-kode: XXX") in got
    assert (4, "diagnoses", "ukjent ICPC-2-kode: XXX") in got
    assert any(line == 3 and col == "setting" and "ikke en av" in r for line, col, r in got)
    assert any(
        line == 3 and col == "practitioner_id" and "finnes ikke i practitioners" in r
        for line, col, r in got
    )
    assert {line for line, _, _ in got} == {2, 3, 4}
    assert GP1 not in {p.value for p in report.problems}
