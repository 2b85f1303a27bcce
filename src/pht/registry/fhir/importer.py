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
from pathlib import Path

from pht.core import formats
from pht.core.errors import PhtError
from pht.registry.batches import check_source, source_from_name
from pht.registry.fhir.context import Context
from pht.registry.fhir.mappings import AFTER, MAPPINGS, is_survey_answer
from pht.registry.fhir.read import read_resources
from pht.registry.fhir.report import FhirLoadReport, FhirProblem
from pht.registry.fhir.systems import KNOWN_NOT_USED
from pht.registry.fhir.write import write_rows
from pht.registry.pseudonymise import KEY_ENV
from pht.registry.warehouse import Warehouse

__all__ = ["default_source", "load_fhir"]


def default_source(path: Path) -> str:
    """The source a load is from when the user names none: the folder (a file's folder), made
    a usable source name."""
    resolved = path.resolve()
    return source_from_name((resolved if resolved.is_dir() else resolved.parent).name)


def load_fhir(
    warehouse: Warehouse,
    path: str | Path,
    *,
    key: bytes | None = None,
    source: str | None = None,
    user: str | None = None,
    replace: bool = False,
    dry_run: bool = False,
) -> FhirLoadReport:
    """Read FHIR R4 JSON (Bundle, folder, NDJSON bulk export) and write what pht uses as one
    batch (``pht registry batches``, ``pht registry undo``).

    *source* names where the data come from (a server, a bulk export); default: the folder.
    *replace*: allow overwriting more than the settings' threshold of a table's stored rows
    (else such a load is refused, ``report.refused``). *dry_run*: report, change nothing.
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
        raise PhtError("ingen FHIR-ressurser her", where=str(path))
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
    result = write_rows(
        warehouse,
        tables,
        source=source,
        files=[path / name for name in report.files] if path.is_dir() else [path],
        user=user,
        replace=replace,
        dry_run=dry_run,
    )
    report.batch_id = result.batch_id if result.refused is None and not dry_run else None
    report.dry_run = dry_run
    report.refused = result.refused
    report.changes = {t: c.as_dict() for t, c in result.changes.items()}
    report.written = result.written
    return report


def _report_not_imported(report: FhirLoadReport, first: dict[str, str]) -> None:
    """One problem line per resource type pht does not import: how many, why, the first."""
    for kind, where in first.items():
        n = report.skipped[kind]
        why = KNOWN_NOT_USED.get(kind, "en type pht ikke importerer")
        counted = (
            "1 ressurs hoppet over" if n == 1 else f"{formats.number(n)} ressurser hoppet over"
        )
        first_here = ", den første her" if n > 1 else ""
        report.problems.append(FhirProblem(where, kind, "", f"{counted} ({why}){first_here}"))
