"""FHIR R4 into the warehouse: :func:`load_fhir` reads, maps and writes one load.

1. :mod:`~pht.registry.fhir.read` reads the files as delivered (non-resource files reported);
2. :class:`~pht.registry.fhir.context.Context` parses and indexes the resources pht imports
   (the others are counted, with one problem line per type);
3. :mod:`~pht.registry.fhir.mappings` maps each resource with the function registered for its
   type;
4. :func:`~pht.registry.fhir.write.write_rows` writes the rows in one transaction.

Codes: ICPC-2 (``urn:oid:2.16.578.1.12.4.1.1.7170``), ICD-10 (``…1.7110``, also
``http://hl7.org/fhir/sid/icd-10``) and SNOMED CT (``http://snomed.info/sct``, mapped through
:func:`pht.reference.codes.snomed_map`). Codes in other systems, unknown codes and SNOMED CT
concepts without a mapping are counted per code and do not stop the load.

Ids of events (encounters, conditions, survey answers) and of organisations and practitioners
without a national number are qualified by the *source*, so two servers' ``Encounter/123`` are two
rows; loading the same files from the same source twice changes nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pht.core.errors import PhtError
from pht.registry.fhir.context import Context
from pht.registry.fhir.mappings import AFTER, MAPPINGS, is_survey_answer
from pht.registry.fhir.read import read_resources
from pht.registry.fhir.report import FhirLoadReport, FhirProblem
from pht.registry.fhir.systems import KNOWN_NOT_USED
from pht.registry.fhir.write import write_rows
from pht.registry.pseudonymise import KEY_ENV
from pht.registry.warehouse import Warehouse

__all__ = ["check_source", "default_source", "load_fhir"]


# A source name: letters, digits, ".", "_", "-" (no ":", which separates source and id).
SOURCE_FORM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


def default_source(path: Path) -> str:
    """The source a load is from when the user names none: the folder (a file's folder), other
    characters than letters, digits, ".", "_" and "-" made "-"."""
    resolved = path.resolve()
    name = (resolved if resolved.is_dir() else resolved.parent).name
    return re.sub(r"[^A-Za-z0-9._\-]+", "-", name).strip("-._")[:64] or "fhir"


def check_source(source: str) -> str:
    """*source* when it is a usable source name, else a clear error."""
    if not SOURCE_FORM.match(source):
        raise PhtError(
            f"source {source!r} is not a usable name: 1–64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return source


def load_fhir(
    warehouse: Warehouse,
    path: str | Path,
    *,
    key: bytes | None = None,
    source: str | None = None,
) -> FhirLoadReport:
    """Read FHIR R4 JSON (Bundle, folder, NDJSON bulk export) and write what pht uses.

    *source* names where the data come from (a server, a bulk export); default: the folder.
    *key*: the pseudonymisation key for patients without a Norwegian identifier (default: from
    ``$PHT_PSEUDONYM_KEY`` when set, else an unkeyed SHA-256 of the identifier).
    """
    path = Path(path)
    if key is None and os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].encode("utf-8")
    source = check_source(source.strip()) if source else default_source(path)
    warehouse.require_initialised()
    report = FhirLoadReport(source=source)
    ctx = Context(source, key, report)
    not_imported: dict[str, str] = {}  # type -> where the first one is
    for raw in read_resources(path, report):
        kind = raw.obj["resourceType"]
        report.resources += 1
        report.read[kind] += 1
        if kind not in MAPPINGS or (kind == "Observation" and not is_survey_answer(raw.obj)):
            report.skipped[kind] += 1
            if kind in KNOWN_NOT_USED:
                report.skipped_known[kind] += 1
            not_imported.setdefault(kind, raw.where)
            continue
        if ctx.add(raw) is None:
            report.skipped[kind] += 1
    if not report.resources:
        raise PhtError("no FHIR resources here", where=str(path))
    _report_not_imported(report, not_imported)
    for kind, mapping in MAPPINGS.items():
        for r in ctx.resources[kind]:
            mapping(r, ctx)
    for step in AFTER:
        step(ctx)
    ctx.count_used()
    tables = ctx.table_rows()
    report.pseudonymised_patients = sum(
        1 for row in tables.get("persons", []) if row["person_id"] in ctx.pseudonymised
    )
    report.written = write_rows(warehouse, tables, source=source)
    return report


def _report_not_imported(report: FhirLoadReport, first: dict[str, str]) -> None:
    """One problem line per resource type pht does not import: how many, why, the first."""
    for kind, where in first.items():
        n = report.skipped[kind]
        why = KNOWN_NOT_USED.get(kind, "a type pht does not import")
        report.problems.append(
            FhirProblem(
                where, kind, "", f"{n} resource{'s' if n > 1 else ''} skipped ({why}), first here"
            )
        )
