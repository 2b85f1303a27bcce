"""Plausibility rules: what cannot be true is refused with its file:line:column."""

from __future__ import annotations

import copy
import re
from pathlib import Path

from typer.testing import CliRunner

from pht.cli import app
from pht.registry.load import MAX_LINE_BYTES, load_extract
from pht.registry.warehouse import Warehouse
from tests.registry.importers.factory import tables, write_csv


def test_implausible_values_are_refused_with_their_place(tmp_path: Path) -> None:
    data = copy.deepcopy(tables(6))
    data["persons"][1]["birth_date"] = "1951-01-01"  # the number says 1950-…
    data["persons"][2]["death_date"] = "2020-01-05"
    data["contacts"][2]["date"] = "2020-03-12"  # after that death
    data["contacts"][3]["copay_nok"] = "-160.00"
    data["contacts"][4]["refund_nok"] = "250000"
    data["municipal_services"][0]["hours_per_week"] = "200"
    data["practices"][0]["pht_start"] = "1899-12-31"
    folder = write_csv(tmp_path / "x", data)
    with Warehouse.open(":memory:") as wh:
        wh.init()
        result = load_extract(wh, folder)
        assert not result.imported
        found = {(p.file, p.line, p.column): p.reason for p in result.validation.problems}
        assert re.fullmatch(
            r"stemmer ikke: fødselsnummeret gir fødselsdato \d\d\.\d\d\.1950",
            found[("persons.csv", 3, "birth_date")],
        )
        assert found[("contacts.csv", 4, "date")] == "etter personens død (05.01.2020)"
        assert found[("contacts.csv", 5, "copay_nok")] == "negativt beløp"
        assert (
            found[("contacts.csv", 6, "refund_nok")]
            == "usannsynlig stort beløp (over kr 100 000 for ett krav)"
        )
        assert (
            found[("municipal_services.csv", 2, "hours_per_week")] == "timer per uke må være 0–168"
        )
        assert found[("practices.csv", 2, "pht_start")] == "dato før 1900 er ikke plausibel"
        assert wh.sql("SELECT count(*) FROM contacts")[0][0] == 0


def test_a_garbage_line_of_52_mb_is_reported_not_dropped(tmp_path: Path) -> None:
    folder = write_csv(tmp_path / "x", tables(4))
    contacts = folder / "contacts.csv"
    lines = contacts.read_text(encoding="utf-8").splitlines(keepends=True)
    assert MAX_LINE_BYTES < 52 << 20
    with contacts.open("w", encoding="utf-8") as fh:
        fh.writelines(lines[:3])
        fh.write("x" * (52 << 20) + "\n")  # line 4
        fh.writelines(lines[3:])
    target = tmp_path / "wh.duckdb"
    out = CliRunner().invoke(
        app, ["registry", "load", str(folder), "-w", str(target), "-f", "json"]
    )
    assert out.exit_code == 1
    report = out.output[out.output.index("{") :]
    assert '"line": 4' in report and "linjen er for lang og ble ikke lest" in report
    with Warehouse.open(target, read_only=True) as wh:
        assert wh.sql("SELECT count(*) FROM contacts")[0][0] == 0
    with Warehouse.open(target) as wh:  # with --accept-valid the other rows load, line 4 aside
        result = load_extract(wh, folder, accept_valid=True, rejects_path=tmp_path / "r.csv")
        assert result.imported and result.written["contacts"] == 4
        rows = {r[0] for r in wh.sql("SELECT contact_id FROM contacts")}
        assert rows == {"x:c0", "x:c1", "x:c2", "x:c3"}
    assert "linjen er for lang og ble ikke lest" in (tmp_path / "r.csv").read_text(encoding="utf-8")
