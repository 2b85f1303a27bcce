"""FHIR test data built by code, in the shapes of Synthea bulk exports and HL7 Norway no-basis."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from pht.core.identifiers import PersonIdKind, make_orgnr, make_person_id

ORGNR = make_orgnr("92345678") or make_orgnr("92345679") or ""
GP_HPR, NURSE_HPR = "9144889", "9144890"


def person_number(
    birth: dt.date, kind: PersonIdKind, sex: str, start: int = 100, *, d_number: bool = False
) -> str:
    """A valid person number for *birth* and *sex* (the third individual digit is even for
    women), the first one from individual number *start*."""
    low = 500 if birth.year >= 2000 else 0
    for individual in range(max(start, low), low + 500):
        if individual % 2 != (sex == "M"):
            continue
        number = make_person_id(birth, individual, kind=kind, d_number=d_number)
        if number:
            return number
    raise AssertionError("no person number")


FNR = person_number(dt.date(1948, 3, 21), PersonIdKind.SYNTHETIC, "F")
DNR = person_number(dt.date(1990, 7, 2), PersonIdKind.D_NUMBER, "M")


def norway_bundle() -> dict[str, Any]:
    """A no-basis style transaction Bundle: fnr/D-number, HPR, orgnr, ICPC-2 and ICD-10."""
    municipality = {
        "extension": [
            {
                "extension": [
                    {
                        "url": "municipality",
                        "valueCoding": {
                            "system": "urn:oid:2.16.578.1.12.4.1.1.3402",
                            "code": "4204",
                            "display": "Kristiansand",
                        },
                    }
                ],
                "url": "http://hl7.no/fhir/StructureDefinition/no-basis-propertyinformation",
            }
        ],
        "use": "home",
        "city": "Kristiansand",
        "country": "NO",
    }
    resources: list[dict[str, Any]] = [
        {
            "resourceType": "Organization",
            "id": "legesenter",
            "meta": {
                "profile": ["http://hl7.no/fhir/ig/StructureDefinition/no-basis-Organization"]
            },
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": ORGNR}],
            "name": "Sørlandet legesenter",
            "address": [municipality],
        },
        {
            "resourceType": "Practitioner",
            "id": "lege",
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": GP_HPR}],
            "name": [{"family": "Koman", "given": ["Magnar"]}],
            "qualification": [
                {"code": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9060", "code": "LE"}]}}
            ],
        },
        {
            "resourceType": "Practitioner",
            "id": "sykepleier",
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": NURSE_HPR}],
            "qualification": [
                {"code": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9060", "code": "SP"}]}}
            ],
        },
        {
            "resourceType": "PractitionerRole",
            "id": "lege-rolle",
            "practitioner": {"reference": "Practitioner/lege"},
            "organization": {"reference": "Organization/legesenter"},
            "period": {"start": "2015-01-01"},
            "code": [{"text": "Fastlege"}],
        },
        {
            "resourceType": "PractitionerRole",
            "id": "sykepleier-rolle",
            "practitioner": {"reference": "Practitioner/sykepleier"},
            "organization": {"reference": "Organization/legesenter"},
            "period": {"start": "2019-01-01"},
            "code": [{"text": "Sykepleier i primærhelseteam"}],
        },
        {
            "resourceType": "Patient",
            "id": "kari",
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": FNR}],
            "name": [{"family": "Nordmann", "given": ["Kari"]}],
            "gender": "female",
            "birthDate": "1948-03-21",
            "address": [municipality],
            "generalPractitioner": [{"reference": "PractitionerRole/lege-rolle"}],
        },
        {
            "resourceType": "Patient",
            "id": "ola",
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.2", "value": DNR}],
            "gender": "male",
            "birthDate": "1990-07-02",
        },
        {
            "resourceType": "Patient",
            "id": "espen",
            "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": "210377xxxxx"}],
            "gender": "male",
            "birthDate": "1977-03-21",
        },
        {
            "resourceType": "EpisodeOfCare",
            "id": "liste-ola",
            "status": "active",
            "patient": {"reference": "Patient/ola"},
            "managingOrganization": {"reference": "Organization/legesenter"},
            "careManager": {"reference": "Practitioner/lege"},
            "period": {"start": "2019-05-01"},
        },
        {
            "resourceType": "Encounter",
            "id": "konsultasjon-1",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": "Patient/kari"},
            "participant": [{"individual": {"reference": "Practitioner/lege"}}],
            "serviceProvider": {"reference": "Organization/legesenter"},
            "period": {"start": "2021-03-02T09:00:00+01:00", "end": "2021-03-02T09:20:00+01:00"},
            "reasonCode": [
                {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7170", "code": "T90"}]}
            ],
        },
        {
            "resourceType": "Encounter",
            "id": "hjemmebesok-1",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HH"},
            "subject": {"reference": "Patient/kari"},
            "participant": [{"individual": {"reference": "PractitionerRole/sykepleier-rolle"}}],
            "period": {"start": "2021-04-12T13:00:00+02:00"},
        },
        {
            "resourceType": "Condition",
            "id": "hypertensjon",
            "subject": {"reference": "Patient/kari"},
            "encounter": {"reference": "Encounter/konsultasjon-1"},
            "code": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7170", "code": "K86"}]},
        },
        {
            "resourceType": "Encounter",
            "id": "innleggelse-1",
            "status": "finished",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "ACUTE",
            },
            "subject": {"reference": "Patient/kari"},
            "period": {"start": "2021-06-01", "end": "2021-06-05"},
            "diagnosis": [{"condition": {"reference": "Condition/infarkt"}}],
        },
        {
            "resourceType": "Condition",
            "id": "infarkt",
            "subject": {"reference": "Patient/kari"},
            "code": {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.7110", "code": "I210a"}]},
        },
        {
            "resourceType": "Appointment",
            "id": "time-1",
            "status": "booked",
            "participant": [{"actor": {"reference": "Patient/kari"}, "status": "accepted"}],
        },
    ]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"http://example.no/fhir/{r['resourceType']}/{r['id']}",
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in resources
        ],
    }


SYNTHEA_NPI = "9999974493"
SYNTHEA_IDLE_NPI = "9999999698"
SYNTHEA_ORG = "3b23bdf7-5bd6-30bf-85a9-a37d7d74938a"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
SYNTHEA_SYSTEM = "https://github.com/synthetichealth/synthea"

# a bulk-data export log as Synthea's sample exports deliver it next to the resources
EXPORT_LOG = [
    {
        "exportId": "export-10",
        "timestamp": "2024-08-06T14:11:57.560606-04:00",
        "eventId": "kickoff",
        "eventDetail": {"exportUrl": "https://example.com/fhir/Group/sample-10/$export"},
    },
    {
        "exportId": "export-10",
        "timestamp": "2024-08-06T14:12:58.124336-04:00",
        "eventId": "export_complete",
        "eventDetail": {"files": 0, "resources": 0, "bytes": 0, "duration": 563},
    },
]


def _role(rid: str, npi: str) -> dict[str, Any]:
    """A Synthea PractitionerRole: logical references (identifier only), no period."""
    return {
        "resourceType": "PractitionerRole",
        "id": rid,
        "practitioner": {"identifier": {"system": NPI_SYSTEM, "value": npi}},
        "organization": {"identifier": {"system": SYNTHEA_SYSTEM, "value": SYNTHEA_ORG}},
        "code": [
            {
                "coding": [{"system": "http://nucc.org/provider-taxonomy", "code": "208D00000X"}],
                "text": "General Practice Physician",
            }
        ],
    }


def synthea_ndjson(folder: Path, patients: int = 3, *, log: bool = True) -> Path:
    """A Synthea-style bulk export: one NDJSON file per type, US identifiers, SNOMED CT codes,
    PractitionerRoles with logical references, a practitioner without encounters, and (with
    *log*) the export's ``log.ndjson``."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, list[dict[str, Any]]] = {
        "Organization": [
            {
                "resourceType": "Organization",
                "id": "org-1",
                "identifier": [
                    {"system": "https://github.com/synthetichealth/synthea", "value": SYNTHEA_ORG}
                ],
                "active": True,
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                "code": "prov",
                            }
                        ]
                    }
                ],
                "name": "NEWMAN FAMILY PRACTICE",
                "address": [
                    {"line": ["1 Main St"], "city": "Boston", "state": "MA", "country": "US"}
                ],
            }
        ],
        "Practitioner": [
            {
                "resourceType": "Practitioner",
                "id": "prac-1",
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": SYNTHEA_NPI}],
                "active": True,
                "name": [{"family": "Simonis280", "given": ["Chelsey293"], "prefix": ["Dr."]}],
                "gender": "female",
            },
            {
                "resourceType": "Practitioner",
                "id": "prac-idle",
                "identifier": [{"system": NPI_SYSTEM, "value": SYNTHEA_IDLE_NPI}],
                "name": [{"family": "Wuckert783", "given": ["Bobbye345"]}],
            },
        ],
        "PractitionerRole": [_role("role-1", SYNTHEA_NPI), _role("role-idle", SYNTHEA_IDLE_NPI)],
        "Patient": [],
        "Encounter": [],
        "Condition": [],
        "Immunization": [],
        "Observation": [],
    }
    for i in range(patients):
        pid = f"79a66c97-6131-3213-f3c9-46069{i:07d}"
        out["Patient"].append(
            {
                "resourceType": "Patient",
                "id": pid,
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                        "extension": [{"url": "text", "valueString": "White"}],
                    }
                ],
                "identifier": [
                    {"system": "https://github.com/synthetichealth/synthea", "value": pid},
                    {
                        "type": {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                    "code": "SS",
                                }
                            ]
                        },
                        "system": "http://hl7.org/fhir/sid/us-ssn",
                        "value": f"999-{i:02d}-1234",
                    },
                ],
                "name": [{"use": "official", "family": f"Upton{i}", "given": ["Marine542"]}],
                "gender": "female" if i % 2 else "male",
                "birthDate": f"19{50 + i}-10-04",
                "address": [{"city": "Boston", "state": "MA", "country": "US"}],
            }
        )
        for k, (klass, code, start) in enumerate(
            [
                ("AMB", "44054006", "2020-10-04T02:25:16-04:00"),
                ("IMP", "22298006", "2021-01-10T08:00:00-05:00"),
            ]
        ):
            eid = f"enc-{i}-{k}"
            out["Encounter"].append(
                {
                    "resourceType": "Encounter",
                    "id": eid,
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": klass,
                    },
                    "type": [
                        {"coding": [{"system": "http://snomed.info/sct", "code": "185347001"}]}
                    ],
                    "subject": {"reference": f"Patient/{pid}"},
                    "participant": [
                        {
                            "individual": {
                                "reference": f"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|{SYNTHEA_NPI}"
                            }
                        }
                    ],
                    "period": {"start": start, "end": start},
                    "serviceProvider": {
                        "reference": f"Organization?identifier=https://github.com/synthetichealth/synthea|{SYNTHEA_ORG}"
                    },
                }
            )
            out["Condition"].append(
                {
                    "resourceType": "Condition",
                    "id": f"cond-{i}-{k}",
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                "code": "active",
                            }
                        ]
                    },
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
                    "subject": {"reference": f"Patient/{pid}"},
                    "encounter": {"reference": f"Encounter/{eid}"},
                    "onsetDateTime": start,
                    "recordedDate": start,
                }
            )
        out["Condition"].append(
            {
                "resourceType": "Condition",
                "id": f"sepsis-{i}",
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91302008"}]},
                "subject": {"reference": f"Patient/{pid}"},
                "encounter": {"reference": f"Encounter/enc-{i}-0"},
            }
        )
        out["Condition"].append(
            {
                "resourceType": "Condition",
                "id": f"problem-{i}",
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "59621000"}]},
                "subject": {"reference": f"Patient/{pid}"},
                "onsetDateTime": "2015-02-01T00:00:00Z",
            }
        )
        out["Immunization"].append(
            {
                "resourceType": "Immunization",
                "id": f"imm-{i}",
                "status": "completed",
                "vaccineCode": {
                    "coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140"}]
                },
                "patient": {"reference": f"Patient/{pid}"},
                "occurrenceDateTime": "2020-10-04T02:25:16-04:00",
            }
        )
    for name, rows in out.items():
        (folder / f"{name}.000.ndjson").write_text(
            "\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8"
        )
    if log:
        (folder / "log.ndjson").write_text(
            "".join(json.dumps(e) + "\n" for e in EXPORT_LOG), encoding="utf-8"
        )
    return folder


def synthea_bundle(folder: Path, patients: int = 2) -> dict[str, Any]:
    """The same data as one Synthea-style transaction Bundle: urn:uuid fullUrls and references."""
    synthea_ndjson(folder, patients, log=False)
    resources = [
        json.loads(line)
        for path in sorted(folder.glob("*.ndjson"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line
    ]
    text = json.dumps(resources)
    for r in resources:
        text = text.replace(f'"{r["resourceType"]}/{r["id"]}"', f'"urn:uuid:{r["id"]}"')
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{r['id']}",
                "resource": r,
                "request": {"method": "POST", "url": r["resourceType"]},
            }
            for r in json.loads(text)
        ],
    }


# Norwegian patients as the HL7 Norway no-basis examples give them: a fødselsnummer (or
# D-number) and a name, often neither birthDate nor gender. Synthetic numbers of the national
# test population (month + 80), which no real person holds.
RITA = person_number(dt.date(2013, 3, 13), PersonIdKind.SYNTHETIC, "F", start=530)
JANNICE = person_number(dt.date(2005, 3, 21), PersonIdKind.SYNTHETIC, "F", start=502)
DINA = person_number(dt.date(1990, 7, 2), PersonIdKind.SYNTHETIC, "M", start=300)
BAD_CHECK = RITA[:10] + str((int(RITA[10]) + 1) % 10)


DINA_D = person_number(dt.date(1990, 7, 2), PersonIdKind.SYNTHETIC, "M", d_number=True)


def norway_patients() -> list[dict[str, Any]]:
    """Patients in the shapes of the HL7 Norway examples (one per NDJSON line, in this order):
    1 fødselsnummer only; 2-3 the same number twice, gender only; 4 a D-number only;
    5 a wrong check digit; 6 a masked number; 7 no identifier; 8 a birthDate that disagrees."""

    def patient(rid: str, system: str | None, value: str | None, **extra: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"resourceType": "Patient", "id": rid, **extra}
        if value is not None:
            body["identifier"] = [{"system": system, "value": value}]
        body["name"] = [{"family": "Eksempel", "given": [rid]}]
        return body

    fnr, dnr = "urn:oid:2.16.578.1.12.4.1.4.1", "urn:oid:2.16.578.1.12.4.1.4.2"
    return [
        patient("Pasient-1", fnr, RITA),
        patient("JanniceSoreng", fnr, JANNICE, gender="female"),
        patient("JanniceSorengTo", fnr, JANNICE, gender="female"),
        patient("Dina", dnr, DINA_D),
        patient("Pasient-Middle-Name-1", fnr, BAD_CHECK),
        patient("EspenEksempel", fnr, "210377xxxxx", gender="male"),
        patient("PatientExample", None, None),
        patient("Feil-dato", fnr, DINA, birthDate="1991-07-02", gender="male"),
    ]


def write_ndjson(folder: Path, resources: list[dict[str, Any]]) -> Path:
    """Write *resources* as a bulk export: ``<Type>.000.ndjson`` per type, in the given order."""
    folder.mkdir(parents=True, exist_ok=True)
    by_type: dict[str, list[str]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(json.dumps(r, ensure_ascii=False))
    for kind, lines in by_type.items():
        (folder / f"{kind}.000.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder
