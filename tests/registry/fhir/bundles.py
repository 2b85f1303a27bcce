"""FHIR test data built by code, in the shapes of Synthea bulk exports and HL7 Norway no-basis."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from pht.core.identifiers import PersonIdKind, make_orgnr, make_person_id

ORGNR = make_orgnr("92345678") or make_orgnr("92345679") or ""
GP_HPR, NURSE_HPR = "9144889", "9144890"


def _number(birth: dt.date, kind: PersonIdKind) -> str:
    for individual in range(100, 500):
        number = make_person_id(birth, individual, kind=kind)
        if number:
            return number
    raise AssertionError("no person number")


FNR = _number(dt.date(1948, 3, 21), PersonIdKind.SYNTHETIC)
DNR = _number(dt.date(1990, 7, 2), PersonIdKind.D_NUMBER)


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
SYNTHEA_ORG = "3b23bdf7-5bd6-30bf-85a9-a37d7d74938a"


def synthea_ndjson(folder: Path, patients: int = 3) -> Path:
    """A Synthea-style bulk export: one NDJSON file per type, US identifiers, SNOMED CT codes."""
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
            }
        ],
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
    return folder


def synthea_bundle(folder: Path, patients: int = 2) -> dict[str, Any]:
    """The same data as one Synthea-style transaction Bundle: urn:uuid fullUrls and references."""
    synthea_ndjson(folder, patients)
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
