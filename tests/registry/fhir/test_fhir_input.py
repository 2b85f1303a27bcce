"""Real FHIR input: bulk exports as delivered, Norwegian patients known only by their number,
a problem line for everything skipped, counts of rows written, ids qualified by the source."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from pht.core.errors import PhtError
from pht.registry.fhir import MAPPINGS, FhirLoadReport, load_fhir
from pht.registry.warehouse import Warehouse
from tests.registry.fhir.bundles import (
    BAD_CHECK,
    DINA,
    DINA_D,
    JANNICE,
    RITA,
    norway_bundle,
    norway_patients,
    synthea_ndjson,
    write_ndjson,
)


@pytest.fixture
def wh() -> Warehouse:
    w = Warehouse.open(":memory:")
    w.init()
    return w


def _count(wh: Warehouse, table: str) -> int:
    return int(wh.sql(f'SELECT count(*) FROM "{table}"')[0][0])


def _assert_nothing_vanishes(report: FhirLoadReport) -> None:
    """Every resource read is used or skipped; every skipped one of a type pht imports has its
    own problem line, every other type one line."""
    for kind, n in report.read.items():
        assert report.used[kind] + report.skipped[kind] == n, kind
    lines = {p.resource for p in report.problems}
    for kind, n in report.skipped.items():
        if kind not in MAPPINGS or kind == "Observation":
            assert kind in lines, kind
        else:
            assert sum(1 for r in lines if r.startswith(f"{kind}/")) >= n, kind


def test_bulk_export_folder_loads_as_delivered_with_its_log_reported(
    tmp_path: Path, wh: Warehouse
) -> None:
    folder = synthea_ndjson(tmp_path / "bulk", patients=2)
    (folder / "README.txt").write_text("exported 2024-08-06\n", encoding="utf-8")
    report = load_fhir(wh, folder)
    assert report.skipped_files == ["README.txt", "log.ndjson"]
    log = next(p for p in report.problems if p.where == "log.ndjson")
    assert log.reason == (
        "2 linjer som ikke er FHIR-ressurser (uten resourceType, "
        "f.eks. en logg fra bulk-eksporten): hoppet over"
    )
    assert _count(wh, "contacts") == 2 and _count(wh, "admissions") == 2
    # the role's logical references (identifier only) resolve: the GP is placed in the practice
    # and starts with the first encounter there
    (gp,) = wh.sql("SELECT role, start FROM practitioners")
    assert gp == ("gp", dt.date(2020, 10, 4))
    # the practitioner without encounters and without a role period does not vanish silently
    reasons = {(p.resource, p.field): p for p in report.problems}
    assert reasons[("PractitionerRole/role-idle", "period.start")].where == (
        "PractitionerRole.000.ndjson:2"
    )
    assert (
        "ingen praksis å plassere behandleren i" in reasons[("Practitioner/prac-idle", "")].reason
    )
    assert report.skipped["Practitioner"] == 1
    _assert_nothing_vanishes(report)


def test_a_folder_without_any_resource_is_refused(tmp_path: Path, wh: Warehouse) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "log.ndjson").write_text('{"eventId": "kickoff"}\n', encoding="utf-8")
    with pytest.raises(PhtError, match="ingen FHIR-ressurser her"):
        load_fhir(wh, folder)


def test_norwegian_patients_take_birth_date_and_sex_from_the_number(
    tmp_path: Path, wh: Warehouse
) -> None:
    report = load_fhir(wh, write_ndjson(tmp_path / "no", norway_patients()))
    persons = {r[0]: r[1:3] for r in wh.sql("SELECT person_id, birth_date, sex FROM persons")}
    assert persons == {
        RITA: (dt.date(2013, 3, 13), "F"),  # fødselsnummer only
        JANNICE: (dt.date(2005, 3, 21), "F"),  # twice, one person
        DINA_D: (dt.date(1990, 7, 2), "M"),  # D-number only
        DINA: (dt.date(1990, 7, 2), "M"),  # the number wins over a birthDate that disagrees
    }
    assert report.pseudonymised_patients == 0
    where = {(p.resource, p.field): p for p in report.problems}
    assert where[("Patient/Feil-dato", "birthDate")].where == "Patient.000.ndjson:8"
    assert "JanniceSoreng" in where[("Patient/JanniceSorengTo", "")].reason
    assert where[("Patient/JanniceSorengTo", "")].reason.startswith(
        f"gir samme rad i persons ({JANNICE}) som Patient/JanniceSoreng"
    )
    assert where[("Patient/Feil-dato", "birthDate")].reason == (
        "02.07.1991 stemmer ikke med fødselsdatoen i nummeret (02.07.1990): nummerets brukes"
    )
    # counts are rows written: 8 patients read, 5 in the 4 person rows, 3 skipped
    assert report.read["Patient"] == 8 and report.used["Patient"] == 5
    assert report.written["persons"] == _count(wh, "persons") == 4
    _assert_nothing_vanishes(report)


def test_invalid_numbers_are_reported_with_where_and_field(tmp_path: Path, wh: Warehouse) -> None:
    report = load_fhir(wh, write_ndjson(tmp_path / "no", norway_patients()))
    lines = [p for p in report.problems if p.resource == "Patient/Pasient-Middle-Name-1"]
    assert [(p.where, p.field) for p in lines] == [
        ("Patient.000.ndjson:5", "identifier"),
        ("Patient.000.ndjson:5", "birthDate"),
    ]
    assert (
        BAD_CHECK in lines[0].reason
        and "(andre kontrollsiffer er 6, skulle vært 5): et pseudonym brukes" in lines[0].reason
    )
    assert lines[1].reason == (
        "mangler gyldig fødselsnummer/D-nummer, fødselsdato og kjønn (female/male): hoppet over"
    )
    masked = next(p for p in report.problems if p.resource == "Patient/EspenEksempel")
    assert masked.where == "Patient.000.ndjson:6" and "kan bare inneholde sifre" in masked.reason
    assert any(
        p.resource == "Patient/PatientExample" and p.field == "birthDate" for p in report.problems
    )


def _bundle_file(folder: Path, bundle: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


def test_two_sources_same_encounter_id_give_two_rows(tmp_path: Path, wh: Warehouse) -> None:
    first = load_fhir(wh, _bundle_file(tmp_path / "legekontor-a", norway_bundle()))
    second = load_fhir(wh, _bundle_file(tmp_path / "b", norway_bundle()), source="server-b")
    assert (first.source, second.source) == ("legekontor-a", "server-b")
    ids = {r[0] for r in wh.sql("SELECT contact_id FROM contacts")}
    assert {"legekontor-a:fhir:konsultasjon-1", "server-b:fhir:konsultasjon-1"} <= ids
    assert len(ids) == 4 and _count(wh, "admissions") == 2
    assert _count(wh, "persons") == 3  # people are the same people: keyed by their number
    # the same source again changes nothing
    load_fhir(wh, _bundle_file(tmp_path / "c", norway_bundle()), source="server-b")
    assert _count(wh, "contacts") == 4
    # a folder name is made a usable source name; a name given must be one
    third = load_fhir(wh, _bundle_file(tmp_path / "Legekontor C (mars)", norway_bundle()))
    assert third.source == "Legekontor-C-mars" and third.files == ["bundle.json"]
    with pytest.raises(PhtError, match="ikke et brukbart navn"):
        load_fhir(wh, tmp_path / "c", source="server b:1")


def test_a_dropped_reference_is_reported_with_its_field(tmp_path: Path, wh: Warehouse) -> None:
    bundle = norway_bundle()
    visit = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "konsultasjon-1")
    visit["participant"].insert(0, {"individual": {"reference": "Practitioner/vikar"}})
    visit["serviceProvider"] = {"reference": "Organization/borte"}
    report = load_fhir(wh, _bundle_file(tmp_path / "x", bundle))
    found = [
        (p.where, p.field, p.reason)
        for p in report.problems
        if p.resource == "Encounter/konsultasjon-1"
    ]
    where = next(w for w, _, _ in found)
    assert where.startswith("bundle.json#")
    assert found == [
        (
            where,
            "participant[0].individual",
            "referansen 'Practitioner/vikar' finnes ikke i dataene: referansen er utelatt",
        ),
        (
            where,
            "serviceProvider",
            "referansen 'Organization/borte' finnes ikke i dataene: "
            "praksisen hentes fra deltakerens rolle (participant)",
        ),
        # the GP is named directly, not by a role: without the provider there is no practice
        (where, "serviceProvider", "Encounter uten kjent praksis: hoppet over"),
    ]
    assert report.written["contacts"] == 1 == _count(wh, "contacts")
    _assert_nothing_vanishes(report)


def test_a_reference_to_another_type_is_reported_with_both_types(
    tmp_path: Path, wh: Warehouse
) -> None:
    bundle = norway_bundle()
    visit = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "konsultasjon-1")
    patient = visit["subject"]["reference"]
    visit["participant"].insert(0, {"individual": {"reference": patient}})
    report = load_fhir(wh, _bundle_file(tmp_path / "x", bundle))
    found = [
        (p.field, p.reason) for p in report.problems if p.resource == "Encounter/konsultasjon-1"
    ]
    assert found == [
        (
            "participant[0].individual",
            f"referansen {patient!r} er en Patient, ikke en Practitioner eller PractitionerRole: "
            "referansen er utelatt",
        )
    ]
    # the next participant is the GP: the contact is written
    assert _count(wh, "contacts") == 2
