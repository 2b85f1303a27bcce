"""FHIR R4 in and out: Synthea-style and HL7 Norway-style data load; the export is valid R4."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from typer.testing import CliRunner

from pht.cli import app
from pht.core.errors import PhtError
from pht.registry.batches import list_batches
from pht.registry.fhir import (
    FHIR_CONDITIONS_TABLE,
    FollowUpPlan,
    FollowUpTask,
    export_practice,
    load_fhir,
)
from pht.registry.fhir import write as fhir_write
from pht.registry.fhir.write import FHIR_CONDITIONS_SCHEMA
from pht.registry.schema import TABLES
from pht.registry.warehouse import Warehouse
from tests.registry.fhir.bundles import (
    DNR,
    FNR,
    GP_HPR,
    NURSE_HPR,
    ORGNR,
    norway_bundle,
    synthea_bundle,
    synthea_ndjson,
)


@pytest.fixture
def wh() -> Warehouse:
    w = Warehouse.open(":memory:")
    w.init()
    return w


def _rows(wh: Warehouse, table: str) -> list[tuple[Any, ...]]:
    """The rows of *table*, its schema's columns only (no bookkeeping columns), sorted."""
    cols = (
        [f.name for f in FHIR_CONDITIONS_SCHEMA]
        if table == FHIR_CONDITIONS_TABLE
        else [c.name for c in TABLES[table].columns]
    )
    names = ", ".join(f'"{c}"' for c in cols)
    return sorted(wh.sql(f'SELECT {names} FROM "{table}"'), key=repr)


def test_norway_bundle_maps_identifiers_codes_and_list(tmp_path: Path, wh: Warehouse) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(norway_bundle()), encoding="utf-8")
    report = load_fhir(wh, path, source="norway")
    assert report.skipped["Appointment"] == 1  # not used by pht: counted, not fatal
    persons = {r[0]: r for r in _rows(wh, "persons")}
    assert persons[FNR][1:4] == (dt.date(1948, 3, 21), "F", "4204")
    assert DNR in persons
    # the example's masked fødselsnummer is reported and replaced by a stable pseudonym
    assert any("210377xxxxx" in p.reason for p in report.problems)
    assert report.pseudonymised_patients == 1
    roles = {r[0]: r[2] for r in _rows(wh, "practitioners")}
    assert roles == {GP_HPR: "gp", NURSE_HPR: "nurse"}
    assert {r[1] for r in _rows(wh, "practices")} == {"Sørlandet legesenter"}
    contacts = {r[0]: r for r in _rows(wh, "contacts")}
    assert contacts["norway:fhir:konsultasjon-1"][2:7] == (
        GP_HPR,
        ORGNR,
        dt.date(2021, 3, 2),
        "office",
        "T90 K86",
    )
    assert contacts["norway:fhir:hjemmebesok-1"][2:6] == (
        NURSE_HPR,
        ORGNR,
        dt.date(2021, 4, 12),
        "home",
    )
    (admission,) = _rows(wh, "admissions")
    assert admission[1:7] == (FNR, dt.date(2021, 6, 1), dt.date(2021, 6, 5), "I210a", None, True)
    lists = {r[0]: (r[1], r[2]) for r in _rows(wh, "list_memberships")}
    assert lists[DNR] == (GP_HPR, dt.date(2019, 5, 1))  # from the EpisodeOfCare
    assert lists[FNR][0] == GP_HPR  # from Patient.generalPractitioner


def test_synthea_bulk_export_loads_with_pseudonyms_and_snomed(
    tmp_path: Path, wh: Warehouse
) -> None:
    folder = synthea_ndjson(tmp_path / "bulk", patients=3)
    report = load_fhir(wh, folder)
    assert report.skipped["Immunization"] == 3
    assert report.unknown_codes[("SNOMED CT (not mapped)", "91302008")] == 3
    persons = _rows(wh, "persons")
    assert len(persons) == 3 and all(p[0].startswith("fp-") for p in persons)
    contacts = _rows(wh, "contacts")
    assert {c[6] for c in contacts} == {"T90"}  # SNOMED 44054006 → ICPC-2 T90
    assert {a[4] for a in _rows(wh, "admissions")} == {"I219"}  # 22298006 → I219
    problem_list = _rows(wh, "fhir_conditions")
    assert {(c[2], c[3]) for c in problem_list} == {("K86", "I10")}
    # the same patients get the same pseudonyms again; loading twice changes nothing
    before = {t: _rows(wh, t) for t in ("persons", "contacts", "admissions", "fhir_conditions")}
    load_fhir(wh, folder)
    assert {t: _rows(wh, t) for t in before} == before


def test_synthea_transaction_bundle_with_uuid_references_loads(
    tmp_path: Path, wh: Warehouse
) -> None:
    path = tmp_path / "synthea.json"
    path.write_text(json.dumps(synthea_bundle(tmp_path / "nd", patients=2)), encoding="utf-8")
    report = load_fhir(wh, path)
    # only the Immunizations (not imported) and the practitioner without encounters
    assert {(p.resource, p.field) for p in report.problems} == {
        ("Immunization", ""),
        ("PractitionerRole/role-idle", "period.start"),
        ("Practitioner/prac-idle", ""),
    }, [str(p) for p in report.problems]
    assert report.written["contacts"] == 2 and report.written["admissions"] == 2


def test_pseudonyms_follow_the_key_when_one_is_given(tmp_path: Path) -> None:
    folder = synthea_ndjson(tmp_path / "bulk", patients=1)
    ids = []
    for key in (b"k" * 32, b"j" * 32):
        w = Warehouse.open(":memory:")
        w.init()
        load_fhir(w, folder, key=key)
        ids.append(w.sql("SELECT person_id FROM persons")[0][0])
    assert ids[0] != ids[1] and all(i.startswith("ps-") for i in ids)


def test_unknown_systems_and_invalid_resources_are_reported_not_fatal(
    tmp_path: Path, wh: Warehouse
) -> None:
    bundle = norway_bundle()
    entries = bundle["entry"]
    entries.append(
        {"resource": {"resourceType": "Encounter", "id": "x", "period": {"start": "late"}}}
    )
    consult = next(e for e in entries if e["resource"]["id"] == "konsultasjon-1")
    consult["resource"]["reasonCode"].append(
        {"coding": [{"system": "http://loinc.org", "code": "1234-5"}]}
    )
    consult["resource"]["reasonCode"].append(
        {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7170", "code": "Q99"}]}
    )
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    report = load_fhir(wh, path)
    assert report.unknown_codes[("http://loinc.org", "1234-5")] == 1
    assert report.unknown_codes[("ICPC-2", "Q99")] == 1
    assert any(p.resource == "Encounter/x" and "period" in p.reason for p in report.problems)
    assert len(_rows(wh, "contacts")) == 2


def test_broken_json_is_a_clear_error(tmp_path: Path, wh: Warehouse) -> None:
    path = tmp_path / "b.json"
    path.write_text('{"resourceType": "Bundle", "entry": [', encoding="utf-8")
    with pytest.raises(PhtError, match="ikke JSON"):
        load_fhir(wh, path)
    assert _rows(wh, "persons") == []


def test_export_is_valid_r4_with_population_conditions_plans_and_tasks(
    tmp_path: Path, wh: Warehouse
) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(norway_bundle()), encoding="utf-8")
    load_fhir(wh, path)
    plan = FollowUpPlan(
        "p1",
        FNR,
        "Gå tur hver dag",
        "Sykepleier Hansen",
        3,
        dt.date(2021, 9, 1),
        dt.date(2021, 6, 10),
        partners=("home_nursing",),
        conditions=("T90",),
    )
    task = FollowUpTask(
        "t1",
        FNR,
        "Årskontroll diabetes",
        "annual_check",
        "open",
        dt.date(2021, 9, 1),
        dt.date(2021, 6, 10),
        plan_id="p1",
        condition="diabetes",
    )
    data = export_practice(wh, ORGNR, as_of=dt.date(2021, 7, 1), plans=[plan], tasks=[task])
    parsed = Bundle.model_validate_json(json.dumps(data))  # round trip through the R4 models
    kinds = [e.resource.get_resource_type() for e in parsed.entry]
    assert kinds.count("Patient") == 2  # Kari and Ola are listed with the GP on 1 July 2021
    assert {"Organization", "Practitioner", "Condition", "CarePlan", "Task"} <= set(kinds)
    conditions = [e.resource for e in parsed.entry if e.resource.get_resource_type() == "Condition"]
    codes = {c.code.coding[0].code for c in conditions}
    assert {"T90", "K86", "I210a"} <= codes
    patient_ids = {
        e.resource.identifier[0].value
        for e in parsed.entry
        if e.resource.get_resource_type() == "Patient"
    }
    assert patient_ids == {FNR, DNR}
    task_res = next(e.resource for e in parsed.entry if e.resource.get_resource_type() == "Task")
    assert task_res.status == "requested" and task_res.basedOn[0].reference.startswith("urn:uuid:")


@pytest.mark.django_db
def test_cli_load_fhir_and_export(tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(norway_bundle()), encoding="utf-8")
    target = tmp_path / "w.duckdb"
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["registry", "load-fhir", str(path), "-w", str(target), "-f", "json", "-s", "legekontor"],
    )
    assert res.exit_code == 0, res.stdout
    out = json.loads(res.stdout)
    assert out["written"]["persons"] == 3 and out["source"] == "legekontor"
    res = runner.invoke(app, ["registry", "load-fhir", str(path), "-w", str(target)])
    assert res.exit_code == 0, res.stdout
    assert "rader skrevet" in res.stdout
    out = tmp_path / "export.json"
    res = runner.invoke(
        app,
        [
            "registry",
            "export-fhir",
            "--practice",
            ORGNR,
            "--out",
            str(out),
            "-w",
            str(target),
            "--as-of",
            "2021-07-01",
        ],
    )
    assert res.exit_code != 0 and not out.exists()  # identified data: a purpose is required
    res = runner.invoke(
        app,
        [
            "registry",
            "export-fhir",
            "--practice",
            ORGNR,
            "--out",
            str(out),
            "-w",
            str(target),
            "--as-of",
            "2021-07-01",
            "--purpose",
            "overføring til journalsystemet",
        ],
    )
    assert res.exit_code == 0, res.stdout
    Bundle.model_validate_json(out.read_text(encoding="utf-8"))
    from pht.app.audit.models import AuditEntry

    entry = AuditEntry.objects.get(action="patient.export")
    assert entry.reason == "overføring til journalsystemet" and entry.practice_id == ORGNR


def test_a_crash_while_writing_fhir_leaves_the_warehouse_as_before(
    tmp_path: Path, wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(norway_bundle()), encoding="utf-8")
    real = fhir_write.apply_table
    calls = {"n": 0}

    def crashing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(fhir_write, "apply_table", crashing)
    with pytest.raises(KeyboardInterrupt):
        load_fhir(wh, path)
    assert calls["n"] == 4
    assert all(_rows(wh, t) == [] for t in ("municipalities", "practices", "persons"))
    assert list_batches(wh) == []


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "fullUrl": f"http://example.no/fhir/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
    }


def _answer(rid: str, code: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "survey",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "urn:pht:survey-item", "code": code}]},
        "subject": {"reference": "Patient/kari"},
        **fields,
    }


def test_survey_observations_become_survey_responses_and_claims_are_known_skips(
    tmp_path: Path, wh: Warehouse
) -> None:
    bundle = norway_bundle()
    bundle["entry"] += [
        _entry(
            _answer(
                "prem-1",
                "prem.coordination",
                effectiveDateTime="2021-05-03T10:00:00+02:00",
                valueInteger=4,
                performer=[{"reference": "Organization/legesenter"}],
            )
        ),
        _entry(  # the practice from the encounter the answer was given in
            _answer(
                "eq5d-1",
                "eq5d5l.index",
                effectiveDateTime="2021-03-02",
                valueQuantity={"value": 0.812},
                encounter={"reference": "Encounter/konsultasjon-1"},
            )
        ),
        _entry(_answer("no-number", "pam.score", effectiveDateTime="2021-03-02")),
        _entry(_answer("no-item", "pam", effectiveDateTime="2021-03-02", valueInteger=50)),
        _entry(  # a vital sign: an Observation pht does not use
            {
                "resourceType": "Observation",
                "id": "bp-1",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
                "subject": {"reference": "Patient/kari"},
            }
        ),
        _entry(
            {
                "resourceType": "Claim",
                "id": "claim-1",
                "status": "active",
                "use": "claim",
                "type": {"coding": [{"code": "professional"}]},
                "patient": {"reference": "Patient/kari"},
                "created": "2021-03-02",
                "provider": {"reference": "Organization/legesenter"},
                "priority": {"coding": [{"code": "normal"}]},
                "insurance": [
                    {"sequence": 1, "focal": True, "coverage": {"display": "Folketrygden"}}
                ],
            }
        ),
    ]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    report = load_fhir(wh, path, source="norway")
    answers = {r[0]: r for r in _rows(wh, "survey_responses")}
    assert answers == {
        "norway:fhir:prem-1": (
            "norway:fhir:prem-1",
            FNR,
            ORGNR,
            dt.date(2021, 5, 3),
            "prem",
            "coordination",
            4.0,
        ),
        "norway:fhir:eq5d-1": (
            "norway:fhir:eq5d-1",
            FNR,
            ORGNR,
            dt.date(2021, 3, 2),
            "eq5d5l",
            "index",
            0.812,
        ),
    }
    # 5 read: 2 written, 2 survey answers that cannot be used, 1 vital sign not imported
    assert report.read["Observation"] == 5 and report.used["Observation"] == 2
    assert report.skipped["Observation"] == 3 and report.skipped["Claim"] == 1
    assert report.skipped_known == {"Observation": 1, "Claim": 1}
    assert report.as_dict()["skipped_known"]["Claim"]["count"] == 1
    reasons = {p.resource: p.reason for p in report.problems}
    assert reasons["Observation/no-number"] == (
        "skjemasvar uten tallverdi (valueQuantity/valueInteger): hoppet over"
    )
    assert "<instrument>.<item>" in reasons["Observation/no-item"]
    assert reasons["Observation/no-item"] == (
        "skjemakoden 'pam' er ikke på formen <instrument>.<item>: hoppet over"
    )
    assert reasons["Claim"] == (
        "1 ressurs hoppet over "
        "(refusjonskrav leses ikke: takstene kommer fra registeruttrekk (KUHR-kontakter))"
    )
    # loading again changes nothing
    again = load_fhir(wh, path, source="norway")
    assert again.written == {} and again.changes["survey_responses"]["unchanged"] == 2
    assert len(_rows(wh, "survey_responses")) == 2
