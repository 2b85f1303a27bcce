"""A call's case file: everything the case officers record, in one JSON-serialisable object.

The command line reads and writes a case file (``pht call init`` writes the 2017 demo); the web
app keeps the same objects in its database. All functions that change a case return a new one.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pht.call.application import Application
from pht.call.assessment import Assessment, ConflictOfInterest
from pht.call.decisions import DecisionSet
from pht.call.payments import GpChange
from pht.call.reports import YearlyReport
from pht.call.rules import CallRules, load_call
from pht.call.selection import Override, Selection, select
from pht.core.errors import NotFound, PhtError

__all__ = ["CallCase", "load_case", "save_case"]


class CallCase(BaseModel):
    """Applications, assessments, conflicts, overrides, decisions, GP changes and reports."""

    model_config = ConfigDict(extra="forbid")
    call_id: str
    applications: list[Application] = Field(default_factory=list)
    assessments: dict[str, Assessment] = Field(default_factory=dict)
    conflicts: list[ConflictOfInterest] = Field(default_factory=list)
    late_accepted: dict[str, str] = Field(default_factory=dict)  # application id → reason
    overrides: list[Override] = Field(default_factory=list)
    decisions: DecisionSet | None = None
    gp_changes: list[GpChange] = Field(default_factory=list)
    reports: list[YearlyReport] = Field(default_factory=list)

    @property
    def rules(self) -> CallRules:
        """The call's rules from reference data."""
        return load_call(self.call_id)

    def application(self, application_id: str) -> Application:
        """One application by id."""
        for a in self.applications:
            if a.id == application_id:
                return a
        raise NotFound(f"ingen søknad med id {application_id!r}", where=self.call_id)

    def replace_application(self, app: Application) -> CallCase:
        """The case with *app* stored (replacing the one with the same id, or added)."""
        apps = [a for a in self.applications if a.id != app.id]
        apps.append(app)
        apps.sort(key=lambda a: a.id)
        return self.model_copy(update={"applications": apps})

    def select(self, rules: CallRules | None = None) -> Selection:
        """The selection under the call's rules (or what-if *rules*)."""
        return select(
            self.applications,
            self.assessments,
            rules or self.rules,
            overrides=self.overrides,
            late_accepted=self.late_accepted,
        )


def save_case(case: CallCase, path: Path) -> None:
    """Write the case file as JSON (UTF-8)."""
    path.write_text(case.model_dump_json(indent=2), encoding="utf-8")


def load_case(path: Path) -> CallCase:
    """Read a case file written by :func:`save_case`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"case file {path} does not exist", where=str(path)) from None
    try:
        return CallCase.model_validate_json(text)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise PhtError(f"{loc}: {first['msg']}", where=str(path)) from None
