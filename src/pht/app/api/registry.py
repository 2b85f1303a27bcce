"""Loading extracts into the registry warehouse over the API: ``POST /api/extracts``.

A system client holding the scope ``extracts:load`` (the action ``extracts.load`` of the
permission table) uploads an extract as multipart files — the extract format's
``<table>.csv``/``<table>.parquet`` files (with an optional ``manifest.json``), or FHIR R4 JSON
(a Bundle, NDJSON bulk files) — and gets the load report back. The load is the registry's own
batch loader (:func:`pht.registry.load.load_extract`, :func:`pht.registry.fhir.load_fhir`):
one batch with provenance (files with SHA-256, period, rows per table), its **source named after
the client** (so its event ids are qualified by it and ``pht registry undo`` can take it back)
and its user the client's service user. The load is audited under the client's name
(``extracts.load``); a caller without the scope gets 403 and an ``access.denied`` entry.

All or nothing: an extract with any problem writes nothing and answers 422 with every problem's
``file:line:column`` and field (the extract format's column, or the FHIR element). ``dry_run``
reports what would change and changes nothing.

The warehouse (DuckDB) and the app database cannot share a transaction. The batch is written
first and the audit row in an app-database transaction right after; if that transaction fails,
the batch is undone (:func:`pht.registry.batches.undo_batch`) before the error is raised, so a
batch is never left without its audit row.
"""

from __future__ import annotations

import re
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest
from ninja import File, Form, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from pht.app.accounts.access import profile_of
from pht.app.accounts.permissions import Action, require
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.core.errors import PhtError
from pht.core.settings import get_settings

router = Router(tags=["registry"])

#: One load at a time in this process (DuckDB has one writer; another process holding the
#: warehouse makes the open fail, answered 503).
_LOCK = threading.Lock()
#: An uploaded file's name: a plain file name, no folders.
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
EXTRACT_SUFFIXES = (".csv", ".parquet")
FHIR_SUFFIXES = (".json", ".ndjson")
MANIFEST = "manifest.json"


class ExtractProblem(Schema):
    """One problem: where (``file:line:column``), the field, the value and why."""

    where: str
    file: str
    line: int | None
    field: str
    value: str | None = None
    resource: str = ""
    reason: str


class LoadOut(Schema):
    """What the load did (or, on a dry run, would do)."""

    kind: Literal["extract", "fhir"]
    source: str
    dry_run: bool
    imported: bool
    batch_id: int | None
    written: dict[str, int]
    changes: dict[str, dict[str, Any]]
    problem_count: int
    problems: list[ExtractProblem]
    report: dict[str, Any]


class LoadRefused(Schema):
    """Nothing was loaded: the field at fault and, for an extract, every problem found."""

    field: str | None
    message: str
    problem_count: int = 0
    problems: list[ExtractProblem] = []


class Busy(Schema):
    """The warehouse is in use by another process; try again."""

    detail: str


def _client(request: HttpRequest) -> Any:
    """The system client loading (403, audited, for anyone without ``extracts:load``)."""
    require(request.user, Action.LOAD_EXTRACTS, request=request, what={"api": "extracts"})
    client = getattr(request.user, "system_client", None)
    profile = profile_of(request.user)
    if client is None or profile is None or profile.practice_id is None:
        raise HttpError(403, "only a system client loads extracts")
    return client


def _kind(names: list[str]) -> Literal["extract", "fhir"]:
    fhir = [n for n in names if n != MANIFEST and n.lower().endswith(FHIR_SUFFIXES)]
    extract = [n for n in names if n.lower().endswith(EXTRACT_SUFFIXES)]
    if fhir and extract:
        raise _Refused("files", "send either extract files (CSV/Parquet) or FHIR JSON, not both")
    if not fhir and not extract:
        raise _Refused(
            "files", "no extract files (<table>.csv, <table>.parquet) and no FHIR JSON (.json)"
        )
    return "fhir" if fhir else "extract"


class _Refused(Exception):
    def __init__(self, field: str | None, message: str, problems: list[Any] | None = None) -> None:
        super().__init__(message)
        self.body = {
            "field": field,
            "message": message,
            "problem_count": len(problems or []),
            "problems": problems or [],
        }


def _save(files: list[UploadedFile], folder: Path) -> list[str]:
    names: list[str] = []
    for f in files:
        name = Path(f.name or "").name
        if not FILE_NAME.match(name):
            raise _Refused("files", f"not a plain file name: {name[:100]!r}")
        if name in names:
            raise _Refused("files", f"{name} sent twice")
        names.append(name)
        with (folder / name).open("wb") as out:
            for chunk in f.chunks():
                out.write(chunk)
    if not names:
        raise _Refused("files", "no files")
    return names


def _extract_problem(p: Any) -> dict[str, Any]:
    return {
        "where": f"{p.file}:{p.line}:{p.column}",
        "file": p.file,
        "line": p.line,
        "field": p.column,
        "value": p.value,
        "reason": p.reason,
    }


def _fhir_problem(p: Any) -> dict[str, Any]:
    file, _, rest = p.where.partition(":")
    line = int(rest) if rest.isdigit() else None
    if line is None:
        file = p.where.partition("#")[0]
    where = f"{p.where}:{p.field}" if p.field else p.where
    return {
        "where": where,
        "file": file,
        "line": line,
        "field": p.field,
        "value": None,
        "resource": p.resource,
        "reason": p.reason,
    }


def _load(
    kind: str,
    folder: Path,
    *,
    source: str,
    user: str,
    period: str,
    replace: bool,
    dry_run: bool,
) -> tuple[dict[str, Any], Any]:
    """Run the registry's loader; the response body, and the warehouse (open) for an undo."""
    from pht.registry.fhir import load_fhir
    from pht.registry.load import load_extract, parse_period
    from pht.registry.warehouse import Warehouse

    declared = None
    if period.strip():
        try:
            declared = parse_period(period.strip())
        except PhtError as err:
            raise _Refused("period", err.message) from None
    try:
        wh = Warehouse.open(get_settings().warehouse)
    except PhtError as err:
        raise HttpError(503, "the warehouse is busy or cannot be opened") from err
    try:
        wh.init()
        if kind == "extract":
            result = load_extract(
                wh,
                folder,
                source=source,
                period=declared,
                user=user,
                replace=replace,
                dry_run=dry_run,
                rejects_path=folder / "rejects.csv",
            )
            batch = result.batch
            problems = [_extract_problem(p) for p in result.validation.problems]
            if result.validation.problem_count:
                raise _Refused(
                    problems[0]["field"] if problems else None,
                    f"{result.validation.problem_count} problems: nothing is loaded",
                    problems,
                )
            if batch is not None and batch.refused:
                raise _Refused("replace", batch.refused)
            body = {
                "kind": "extract",
                "source": source,
                "dry_run": dry_run,
                "imported": result.imported,
                "batch_id": batch.batch_id if batch is not None and batch.applied else None,
                "written": result.written,
                "changes": {t: c.as_dict() for t, c in batch.changes.items()} if batch else {},
                "problem_count": 0,
                "problems": [],
                "report": {**result.as_dict(), "rejects_path": None},
            }
        else:
            if declared is not None:
                raise _Refused("period", "a FHIR load declares no period")
            report = load_fhir(
                wh, folder, source=source, user=user, replace=replace, dry_run=dry_run
            )
            if report.refused:
                raise _Refused("replace", report.refused)
            body = {
                "kind": "fhir",
                "source": source,
                "dry_run": dry_run,
                "imported": report.batch_id is not None,
                "batch_id": report.batch_id,
                "written": report.written,
                "changes": report.changes,
                "problem_count": len(report.problems),
                "problems": [_fhir_problem(p) for p in report.problems],
                "report": report.as_dict(),
            }
    except BaseException:
        wh.close()
        raise
    return body, wh


@router.post(
    "/extracts",
    response={200: LoadOut, 422: LoadRefused, 503: Busy},
    summary="Load an extract (CSV/Parquet files or FHIR JSON) as one batch",
)
def load_extract_files(
    request: HttpRequest,
    files: File[list[UploadedFile]],
    dry_run: Form[bool] = False,
    period: Form[str] = "",
    replace: Form[bool] = False,
) -> Any:
    """Validate and load the uploaded extract into the registry warehouse as one batch whose
    source is the client's name (``extracts:load``). Any problem: nothing is loaded, 422 with
    every problem. ``dry_run``: what would change, nothing changed. ``period``
    (``YYYY-MM-DD..YYYY-MM-DD``): the extract is the complete record of that period for this
    source. ``replace``: allow deleting or overwriting more than the threshold of a table."""
    client = _client(request)
    source = client.name
    user = request.user.get_username()
    detail: dict[str, Any] = {"api": True, "client": client.name, "dry_run": dry_run}
    with tempfile.TemporaryDirectory(prefix="pht-upload-") as tmp:
        folder = Path(tmp) / source
        folder.mkdir()
        try:
            names = _save(files, folder)
            kind = _kind(names)
            detail.update(files=names, kind=kind)
            with _LOCK:
                body, wh = _load(
                    kind,
                    folder,
                    source=source,
                    user=user,
                    period=period,
                    replace=replace,
                    dry_run=dry_run,
                )
                try:
                    _audit(request, body, detail, wh)
                finally:
                    wh.close()
        except _Refused as refused:
            with transaction.atomic():
                record(
                    user=request.user,
                    action=AuditAction.EXTRACT_LOAD,
                    reason="uttrekk avvist",
                    detail={**detail, "refused": refused.body["message"][:200]},
                    request=request,
                )
            return Status(422, refused.body)
    return Status(200, body)


def _audit(request: HttpRequest, body: dict[str, Any], detail: dict[str, Any], wh: Any) -> None:
    """The load's audit row; a batch whose row cannot be stored is undone (see module)."""
    from pht.registry.batches import undo_batch

    try:
        with transaction.atomic(durable=True):
            record(
                user=request.user,
                action=AuditAction.EXTRACT_LOAD,
                reason="prøvekjøring" if body["dry_run"] else "uttrekk lastet",
                detail={
                    **detail,
                    "batch": body["batch_id"],
                    "written": body["written"],
                    "problems": body["problem_count"],
                },
                request=request,
            )
    except BaseException:
        if body["batch_id"] is not None:
            undo_batch(wh, body["batch_id"], user=request.user.get_username())
        raise
