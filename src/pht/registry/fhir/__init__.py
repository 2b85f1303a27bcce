"""FHIR R4 in and out: :func:`load_fhir` (Bundles, folders, NDJSON) and :func:`export_practice`."""

from pht.registry.fhir.export import FollowUpPlan, FollowUpTask, export_practice
from pht.registry.fhir.importer import FhirLoadReport, FhirProblem, load_fhir

__all__ = [
    "FhirLoadReport",
    "FhirProblem",
    "FollowUpPlan",
    "FollowUpTask",
    "export_practice",
    "load_fhir",
]
