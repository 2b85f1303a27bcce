"""Reading FHIR JSON as delivered: a Bundle, a resource, a folder of them, NDJSON bulk exports.

A bulk-export folder holds more than resources: Synthea and the bulk-data servers write
``log.ndjson`` (export events), some a ``manifest.json``, some a README. Files and lines that are
JSON but not a FHIR resource (no ``resourceType``) and files that are not ``*.json``/``*.ndjson``
are reported, one problem line per file, and skipped. Text that is not JSON or not UTF-8 stops the
load: a damaged transfer must not half load.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pht.core import formats
from pht.core.errors import PhtError
from pht.registry.fhir.report import FhirLoadReport, FhirProblem

__all__ = ["RawResource", "read_resources"]

FHIR_SUFFIXES = (".json", ".ndjson")
# What a JSON value that is not an object is, in a problem line ("JSON-liste, ikke en …").
JSON_KINDS = {
    "list": "liste",
    "str": "tekst",
    "int": "tall",
    "float": "tall",
    "bool": "sannhetsverdi",
    "NoneType": "null",
}


@dataclass(frozen=True, slots=True)
class RawResource:
    """One resource as read: where it is, its Bundle ``fullUrl`` and its JSON object."""

    where: str
    full_url: str | None
    obj: dict[str, Any]


def _files(path: Path, report: FhirLoadReport) -> list[Path]:
    if not path.exists():
        raise PhtError("filen eller mappen finnes ikke", where=str(path))
    if path.is_file():
        return [path]
    files = []
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        if p.suffix in FHIR_SUFFIXES:
            files.append(p)
        else:
            _skip_file(report, path, p, "ikke en *.json- eller *.ndjson-fil: hoppet over")
    if not files:
        raise PhtError("ingen FHIR-filer her (*.json, *.ndjson)", where=str(path))
    return files


def _name(root: Path, f: Path) -> str:
    return str(f.relative_to(root)) if root.is_dir() else f.name


def _skip_file(report: FhirLoadReport, root: Path, f: Path, reason: str) -> None:
    name = _name(root, f)
    report.skipped_files.append(name)
    report.problems.append(FhirProblem(name, "", "", reason))


def read_resources(path: Path, report: FhirLoadReport) -> Iterator[RawResource]:
    """Every resource in a file or folder, with where it is; non-resource files reported."""
    for f in _files(path, report):
        name = _name(path, f)
        report.files.append(name)
        if f.suffix == ".ndjson":
            yield from _read_ndjson(f, name, path, report)
            continue
        try:
            text = f.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise PhtError(f"ikke UTF-8-tekst (byte {err.start})", where=name) from None
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise PhtError(
                f"ikke JSON: {err.msg}", where=f"{name}:{err.lineno}:{err.colno}"
            ) from None
        if not _is_resource(obj):
            _skip_file(report, path, f, _not_resource_reason(obj))
            continue
        yield from _unpack(obj, name, None, report)


def _read_ndjson(f: Path, name: str, root: Path, report: FhirLoadReport) -> Iterator[RawResource]:
    not_resources: list[int] = []
    resources = 0
    with f.open("rb") as lines:
        for n, raw in enumerate(lines, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise PhtError(
                    f"ikke UTF-8-tekst (byte {err.start + 1})", where=f"{name}:{n}:{err.start + 1}"
                ) from None
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise PhtError(f"ikke JSON: {err.msg}", where=f"{name}:{n}:{err.colno}") from None
            if not _is_resource(obj):
                not_resources.append(n)
                continue
            resources += 1
            yield from _unpack(obj, f"{name}:{n}", None, report)
    if not_resources:
        n = len(not_resources)
        lines_text = (
            "1 linje som ikke er en FHIR-ressurs"
            if n == 1
            else f"{formats.number(n)} linjer som ikke er FHIR-ressurser"
        )
        reason = (
            f"{lines_text} (uten resourceType"
            f"{', f.eks. en logg fra bulk-eksporten' if not resources else ''}): hoppet over"
        )
        if resources:
            report.problems.append(FhirProblem(f"{name}:{not_resources[0]}", "", "", reason))
        else:
            _skip_file(report, root, f, reason)


def _is_resource(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("resourceType"), str)


def _not_resource_reason(obj: Any) -> str:
    if isinstance(obj, dict):
        keys = ", ".join(sorted(obj)[:4])
        return f"JSON uten resourceType (nøkler: {keys}), ikke en FHIR-ressurs: hoppet over"
    what = JSON_KINDS.get(type(obj).__name__, type(obj).__name__)
    return f"JSON-{what}, ikke en FHIR-ressurs: hoppet over"


def _unpack(
    obj: dict[str, Any], where: str, full_url: str | None, report: FhirLoadReport
) -> Iterator[RawResource]:
    if obj["resourceType"] != "Bundle":
        yield RawResource(where, full_url, obj)
        return
    entries = obj.get("entry") or []
    if not isinstance(entries, list):
        report.problems.append(FhirProblem(where, "Bundle", "entry", "ikke en liste: hoppet over"))
        return
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and _is_resource(resource):
            url = entry.get("fullUrl")
            yield from _unpack(
                resource, f"{where}#{i}", url if isinstance(url, str) else None, report
            )
        else:
            report.problems.append(
                FhirProblem(
                    f"{where}#{i}", "Bundle", "entry.resource", "ingen ressurs: hoppet over"
                )
            )
