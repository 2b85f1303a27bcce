"""Pseudonymised analytic copies, and the code systems kept as reference data."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pht.cli import app
from pht.core.errors import PhtError
from pht.reference.codes import (
    code_systems,
    icd10_codes,
    icd10_known,
    icpc2_codes,
    install_full_lists,
    snomed_concepts,
    snomed_map,
    verhoeff_ok,
)
from pht.reference.sources import load_sources
from pht.registry.load import load_extract, validate_extract
from pht.registry.pseudonymise import pseudonym, pseudonymise_warehouse, read_key
from pht.registry.warehouse import Warehouse
from tests.registry.importers.factory import tables, write_csv

KEY = b"a-secret-key-of-32-bytes-length!"

PERSON_TABLES = (
    "persons",
    "list_memberships",
    "contacts",
    "admissions",
    "municipal_services",
    "survey_responses",
)


@pytest.fixture
def loaded(tmp_path: Path) -> Warehouse:
    wh = Warehouse.open(tmp_path / "w.duckdb")
    wh.init()
    assert load_extract(wh, write_csv(tmp_path / "x", tables())).imported
    return wh


def test_copy_replaces_every_person_id_consistently_and_keeps_birth_month(
    tmp_path: Path, loaded: Warehouse
) -> None:
    original = {r[0]: r[1] for r in loaded.sql("SELECT person_id, birth_date FROM persons")}
    out = tmp_path / "analytic.duckdb"
    report = pseudonymise_warehouse(loaded, out, KEY)
    assert report.persons == len(original)
    with Warehouse.open(out, read_only=True) as copy:
        for table in PERSON_TABLES:
            ids = {r[0] for r in copy.sql(f'SELECT person_id FROM "{table}"')}
            assert ids and not ids & set(original), table
            assert ids <= {pseudonym(p, KEY) for p in original}, table
        births = dict(copy.sql("SELECT person_id, birth_date FROM persons"))
        for pid, birth in original.items():
            assert births[pseudonym(pid, KEY)] == birth.replace(day=1)
        contacts = copy.sql("SELECT count(*) FROM contacts")[0][0]
    assert contacts == loaded.sql("SELECT count(*) FROM contacts")[0][0]


def test_parquet_copy_loads_again_as_an_extract(tmp_path: Path, loaded: Warehouse) -> None:
    out = tmp_path / "analytic"
    pseudonymise_warehouse(loaded, out, KEY)
    report = validate_extract(out)
    assert report.ok, [str(p) for p in report.problems]


def test_no_key_no_copy(tmp_path: Path, loaded: Warehouse) -> None:
    with pytest.raises(PhtError, match="no pseudonymisation key"):
        read_key(None, env={})
    short = tmp_path / "short.key"
    short.write_text("abc", encoding="utf-8")
    with pytest.raises(PhtError, match="too short"):
        read_key(short)
    assert read_key(None, env={"PHT_PSEUDONYM_KEY": KEY.decode()}) == KEY
    runner = CliRunner(env={"PHT_PSEUDONYM_KEY": ""})
    res = runner.invoke(
        app, ["registry", "pseudonymise", "--out", str(tmp_path / "o.duckdb"), "-w", loaded.path]
    )
    assert res.exit_code != 0 and not (tmp_path / "o.duckdb").exists()


def test_cli_pseudonymise_with_key_file(tmp_path: Path, loaded: Warehouse) -> None:
    key_file = tmp_path / "keys" / "pht.key"
    key_file.parent.mkdir()
    key_file.write_bytes(KEY)
    path = loaded.path
    loaded.close()
    res = CliRunner().invoke(
        app,
        [
            "registry",
            "pseudonymise",
            "--out",
            str(tmp_path / "a.duckdb"),
            "-w",
            path,
            "--key-file",
            str(key_file),
            "-f",
            "json",
        ],
    )
    assert res.exit_code == 0, res.stdout
    assert json.loads(res.stdout)["persons"] == len(tables()["persons"])


def test_icpc2_is_complete_and_icd10_knows_norwegian_codes() -> None:
    codes = icpc2_codes()
    needed = "T90 T89 R95 R96 K77 K74 K75 K76 K78 K86 K87 K90 P70 P72 P73 P74 P76 P15 P16 P19 P85"
    assert all(c in codes for c in needed.split())
    assert len(codes) >= 700 and codes["T90"] == "Diabetes type 2"
    assert icd10_known("I210a") and icd10_known("E119") and icd10_known("J449")
    assert not icd10_known("E11")  # a category: claims carry a full code
    assert not icd10_known("I21.0") and not icd10_known("XX1")
    assert "I210a" in icd10_codes()


def test_every_code_system_has_source_and_licence() -> None:
    sources = load_sources()
    for system in code_systems().values():
        assert system.source in sources and "©" in system.licence and system.system
    assert all(verhoeff_ok(c) for c in snomed_map())
    assert snomed_concepts()["44054006"].startswith("Diabetes mellitus type 2")
    assert all(c.icpc2 in icpc2_codes() and icd10_known(c.icd10) for c in snomed_map().values())


def test_full_lists_install_from_the_npm_tarball(tmp_path: Path) -> None:
    tgz = tmp_path / "diagnosekoder.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        for name, rows in (
            ("package/lib/ICPC2.json", [{"code": "T90", "text": "Diabetes type 2"}]),
            ("package/lib/ICD10.json", [{"code": "E119", "text": "Diabetes mellitus type 2"}]),
        ):
            data = json.dumps(rows).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    written = install_full_lists(tgz, tmp_path / "codes")
    assert written == {"icpc2": 1, "icd10": 1}
    assert (tmp_path / "codes" / "icd10.csv").read_text(encoding="utf-8").splitlines()[1] == (
        "E119,Diabetes mellitus type 2"
    )
