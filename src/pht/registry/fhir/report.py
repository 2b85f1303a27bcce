"""What a FHIR load read, used, skipped and wrote, and every problem with where it is."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pht.registry.fhir.systems import KNOWN_NOT_USED

__all__ = ["FhirLoadReport", "FhirProblem"]


@dataclass(frozen=True, slots=True)
class FhirProblem:
    """A file, resource or reference that could not be used fully."""

    where: str  # file and line (``Patient.000.ndjson:3``) or entry (``bundle.json#12``)
    resource: str  # ``Type/id`` ("" for a whole file)
    field: str  # the element concerned (``identifier``, ``subject``, ``period.start``) or ""
    reason: str

    def __str__(self) -> str:
        what = " ".join(x for x in (self.resource, self.field) if x)
        return f"{self.where} {what} — {self.reason}" if what else f"{self.where} — {self.reason}"

    def as_dict(self) -> dict[str, str]:
        """The problem as a JSON-ready dict."""
        return {
            "where": self.where,
            "resource": self.resource,
            "field": self.field,
            "reason": self.reason,
        }


@dataclass(slots=True)
class FhirLoadReport:
    """What a FHIR load read, used, skipped and wrote.

    ``read`` counts resources per type, ``used`` those whose content is in a written row,
    ``skipped`` the rest (``read - used``); every skipped resource of a type pht imports has a
    line in ``problems``, other types one line per type. ``written`` counts rows written
    (inserted or updated) per table; rows stored already with the same values are left alone
    and counted in ``changes`` as unchanged.
    """

    source: str = ""
    files: list[str] = field(default_factory=list)  # the JSON/NDJSON files read
    resources: int = 0
    read: Counter[str] = field(default_factory=Counter)
    used: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_known: Counter[str] = field(default_factory=Counter)  # of skipped: KNOWN_NOT_USED
    skipped_files: list[str] = field(default_factory=list)  # files holding no FHIR resources
    problems: list[FhirProblem] = field(default_factory=list)
    unknown_codes: Counter[tuple[str, str]] = field(default_factory=Counter)
    pseudonymised_patients: int = 0
    written: dict[str, int] = field(default_factory=dict)  # inserted or updated, per table
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)  # per table, from the batch
    batch_id: int | None = None  # the batch written (None: dry run or refused)
    dry_run: bool = False
    refused: str | None = None  # why nothing was written

    @property
    def rows_written(self) -> int:
        """Rows written in all tables."""
        return sum(self.written.values())

    def as_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {
            "source": self.source,
            "files": self.files,
            "resources": self.resources,
            "read": dict(self.read),
            "used": dict(self.used),
            "skipped": dict(self.skipped),
            "skipped_known": {
                k: {"count": n, "why": KNOWN_NOT_USED[k]} for k, n in self.skipped_known.items()
            },
            "skipped_files": self.skipped_files,
            "problems": [p.as_dict() for p in self.problems],
            "unknown_codes": [
                {"system": s, "code": c, "count": n}
                for (s, c), n in sorted(self.unknown_codes.items())
            ],
            "pseudonymised_patients": self.pseudonymised_patients,
            "written": self.written,
            "rows_written": self.rows_written,
            "changes": self.changes,
            "batch_id": self.batch_id,
            "dry_run": self.dry_run,
            "refused": self.refused,
        }
