"""FHIR R4 in and out: :func:`load_fhir` (Bundles, folders, NDJSON) and :func:`export_practice`.

The importer is a small package: ``read`` (files as delivered), ``context`` (parsed resources,
references, identities, rows), ``mappings`` (one function per resource type, in a table),
``write`` (the one function that changes the warehouse) and ``importer`` (:func:`load_fhir`).
"""

from pht.registry.fhir.export import FollowUpPlan, FollowUpTask, export_practice
from pht.registry.fhir.importer import load_fhir
from pht.registry.fhir.mappings import MAPPINGS
from pht.registry.fhir.report import FhirLoadReport, FhirProblem
from pht.registry.fhir.systems import FHIR_CONDITIONS_TABLE

__all__ = [
    "FHIR_CONDITIONS_TABLE",
    "MAPPINGS",
    "FhirLoadReport",
    "FhirProblem",
    "FollowUpPlan",
    "FollowUpTask",
    "export_practice",
    "load_fhir",
]
