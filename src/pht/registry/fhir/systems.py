"""Identifier and code systems the FHIR importer reads, and the resource types it knows."""

from __future__ import annotations

from pht.reference.codes import SYSTEM_ICD10, SYSTEM_ICPC2

__all__ = [
    "ACUTE_CLASSES",
    "ADMISSION_CLASSES",
    "FHIR_CONDITIONS_TABLE",
    "ICD10_SYSTEMS",
    "ICPC2_SYSTEMS",
    "KNOWN_NOT_USED",
    "SETTING_BY_CLASS",
    "SYSTEM_DNR",
    "SYSTEM_FNR",
    "SYSTEM_HCP_CATEGORY",
    "SYSTEM_HPR",
    "SYSTEM_MUNICIPALITY",
    "SYSTEM_ORGNR",
    "SYSTEM_SURVEY_ITEM",
    "UNKNOWN_MUNICIPALITY",
]

SYSTEM_FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
SYSTEM_DNR = "urn:oid:2.16.578.1.12.4.1.4.2"
SYSTEM_HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
SYSTEM_ORGNR = "urn:oid:2.16.578.1.12.4.1.4.101"
SYSTEM_SURVEY_ITEM = "urn:pht:survey-item"  # pht's own code system: "<instrument>.<item>"
SYSTEM_MUNICIPALITY = "urn:oid:2.16.578.1.12.4.1.1.3402"
SYSTEM_HCP_CATEGORY = "urn:oid:2.16.578.1.12.4.1.1.9060"  # helsepersonellkategori: LE, SP, PS
ICD10_SYSTEMS = (
    SYSTEM_ICD10,
    "http://hl7.org/fhir/sid/icd-10",
    "http://hl7.org/fhir/sid/icd-10-no",
)
ICPC2_SYSTEMS = (SYSTEM_ICPC2, "http://hl7.org/fhir/sid/icpc-2", "urn:oid:2.16.840.1.113883.6.139")

# pht's convention for a municipality that the data do not give (status A, docs/importing.md).
UNKNOWN_MUNICIPALITY = "9999"
FHIR_CONDITIONS_TABLE = "fhir_conditions"

# Resource types pht knows and does not import, and why (counted in the report, never fatal).
KNOWN_NOT_USED = {
    "Claim": "refusjonskrav leses ikke: takstene kommer fra registeruttrekk (KUHR-kontakter)",
    "ExplanationOfBenefit": "refusjonskrav leses ikke: takstene kommer fra registeruttrekk (KUHR)",
    "ChargeItem": "kostnadsposter leses ikke: takstene kommer fra registeruttrekk (KUHR)",
    "Observation": f"bare skjemasvar kodet {SYSTEM_SURVEY_ITEM} brukes",
}
ADMISSION_CLASSES = {"IMP", "ACUTE", "NONAC", "SS", "EMER"}
ACUTE_CLASSES = {"ACUTE", "EMER"}
SETTING_BY_CLASS = {"AMB": "office", "HH": "home", "VR": "video", "FLD": "home", "OBSENC": "office"}
