"""``pht registry``: create and inspect the warehouse; load, export and pseudonymise data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from pht.cli.output import Format, console, emit_json, emit_rows
from pht.core import formats
from pht.core.errors import PhtError
from pht.core.settings import get_settings
from pht.registry.batches import BatchReport, list_batches, undo_batch
from pht.registry.fhir import FollowUpPlan, FollowUpTask, export_practice, load_fhir
from pht.registry.load import (
    Problem,
    ValidationReport,
    load_extract,
    parse_period,
    validate_extract,
)
from pht.registry.pseudonymise import KEY_ENV, pseudonymise_warehouse, read_key
from pht.registry.warehouse import Warehouse

app = typer.Typer(no_args_is_help=True)

WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", "-w", help="Warehouse file (default: $PHT_WAREHOUSE)."),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


def warehouse_path(path: Path | None) -> Path:
    """The warehouse file to use: the option, else the settings."""
    return path or get_settings().warehouse


@app.command("init", help="Create the warehouse tables (idempotent) and record the schema version.")
def init(warehouse: WarehouseOption = None) -> None:
    path = warehouse_path(warehouse)
    with Warehouse.open(path) as wh:
        created = wh.init()
        version = wh.schema_version()
    state = "created" if created else "already up to date"
    console.print(f"warehouse {path}: {state} (schema version {version})")


@app.command("info", help="Show the warehouse's schema version and rows per table.")
def info(warehouse: WarehouseOption = None, fmt: FormatOption = Format.TABLE) -> None:
    path = warehouse_path(warehouse)
    with Warehouse.open(path, read_only=True) as wh:
        wh.require_initialised()
        data = wh.info()
    rows = [{"table": t.name, "rows": t.rows} for t in data.tables]
    if fmt is Format.JSON:
        emit_json(
            {
                "path": data.path,
                "schema_version": data.schema_version,
                "created": data.created,
                "tables": {t.name: t.rows for t in data.tables},
            }
        )
        return
    emit_rows(
        rows,
        fmt=fmt,
        title=f"{data.path} — schema version {data.schema_version}, created {data.created}",
    )


def _problem_rows(problems: list[Problem]) -> list[dict[str, object]]:
    return [
        {"sted": f"{p.file}:{p.line}:{p.column}", "verdi": p.value, "årsak": p.reason}
        for p in problems
    ]


def _print_validation(report: ValidationReport, *, limit: int = 200) -> None:
    for note in report.notes:
        console.print(f"[yellow]merk:[/] {note}")
    if report.ok:
        return
    rows = _problem_rows(report.problems[:limit])
    emit_rows(
        rows, fmt=Format.TABLE, title=f"{formats.number(report.problem_count)} feil i uttrekket"
    )
    if report.problem_count > limit:
        console.print(
            f"… og {formats.number(report.problem_count - limit)} til (alle med --format json, "
            "eller --accept-valid skriver avviste rader til en egen fil)"
        )


SourceOption = Annotated[
    str | None,
    typer.Option(
        "--source",
        help="Name of the source (default: manifest.json's source, else the folder's name).",
    ),
]
PeriodOption = Annotated[
    str | None,
    typer.Option(
        "--period",
        help="Declared period FIRST..LAST, e.g. 2021-01-01..2022-12-31 (default: the manifest's).",
    ),
]


def _print_changes(batch: BatchReport) -> None:
    rows: list[dict[str, object]] = []
    for table, change in batch.changes.items():
        rows.append(
            {
                "tabell": table,
                "år": "alle",
                "nye": change.inserted,
                "endret": change.updated,
                "slettet": change.deleted,
                "uendret": change.unchanged,
            }
        )
        for year, counts in sorted(change.by_year.items()):
            rows.append(
                {
                    "tabell": "",
                    "år": str(year),
                    "nye": counts["inserted"],
                    "endret": counts["updated"],
                    "slettet": counts["deleted"],
                    "uendret": "",
                }
            )
    period = (
        f"perioden {batch.period[0].strftime('%d.%m.%Y')}–{batch.period[1].strftime('%d.%m.%Y')}"
        if batch.period
        else "ingen erklært periode (ingenting slettes etter periode)"
    )
    emit_rows(rows, fmt=Format.TABLE, title=f"kilde {batch.source}, {period}")
    for table, change in batch.changes.items():
        if change.removed_keys and (batch.refused or batch.dry_run):
            shown = ", ".join(change.removed_keys)
            console.print(f"{table}: endres/slettes blant annet {shown}")


@app.command("load", help="Validate and load an extract (folder or file of CSV/Parquet tables).")
def load(
    path: Annotated[Path, typer.Argument(help="Folder with <table>.csv/.parquet, or one file.")],
    warehouse: WarehouseOption = None,
    fmt: FormatOption = Format.TABLE,
    accept_valid: Annotated[
        bool, typer.Option("--accept-valid", help="Load the valid rows; write the rest aside.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Side file for rejected rows (CSV).")
    ] = None,
    source: SourceOption = None,
    period: PeriodOption = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Allow deleting/overwriting more than the threshold share of stored rows.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
) -> None:
    target = warehouse_path(warehouse)
    declared = parse_period(period) if period else None
    with Warehouse.open(target) as wh:
        wh.init()
        result = load_extract(
            wh,
            path,
            accept_valid=accept_valid,
            rejects_path=rejects,
            source=source,
            period=declared,
            replace=replace,
            dry_run=dry_run,
        )
    batch = result.batch
    if fmt is Format.JSON:
        emit_json(result.as_dict())
    else:
        _print_validation(result.validation)
        if batch is not None and batch.changes:
            _print_changes(batch)
        if result.imported:
            console.print(f"lastet inn i {target} som batch {batch.batch_id if batch else '?'}")
            if result.rejects_path:
                console.print(f"avviste rader med årsak: {result.rejects_path}")
        elif dry_run and batch is not None and batch.refused is None:
            console.print("[bold]prøvekjøring:[/] ingenting er endret")
        elif batch is not None and batch.refused and batch.changes:
            console.print(f"[bold red]ingenting er lastet inn:[/] {batch.refused}")
        else:
            console.print(
                "[bold red]ingenting er lastet inn[/] (rett feilene, eller bruk --accept-valid)"
            )
    if not result.imported and not (dry_run and batch is not None and batch.refused is None):
        raise typer.Exit(1)


@app.command("batches", help="List the load batches: source, period, files, who, when, changes.")
def batches(warehouse: WarehouseOption = None, fmt: FormatOption = Format.TABLE) -> None:
    with Warehouse.open(warehouse_path(warehouse), read_only=True) as wh:
        wh.require_initialised()
        found = list_batches(wh)
    if fmt is Format.JSON:
        emit_json([b.as_dict() for b in found])
        return
    rows = []
    for b in found:
        changes = ", ".join(
            f"{t} +{c.get('inserted', 0)}/~{c.get('updated', 0)}/-{c.get('deleted', 0)}"
            for t, c in b.changes.items()
            if any(c.values())
        )
        rows.append(
            {
                "batch": b.batch_id,
                "kilde": b.source,
                "type": b.kind,
                "periode": (
                    f"{b.period[0].strftime('%d.%m.%Y')}–{b.period[1].strftime('%d.%m.%Y')}"
                    if b.period
                    else ""
                ),
                "filer": ", ".join(f"{f.name} ({f.sha256[:12]})" for f in b.files),
                "av": b.user,
                "startet": b.started.strftime("%d.%m.%Y %H:%M:%S"),
                "status": "angret" if b.status == "undone" else "aktiv",
                "endringer (+nye/~endret/-slettet)": changes or "ingen",
            }
        )
    emit_rows(rows, fmt=fmt, title=f"{len(rows)} batcher")


@app.command("undo", help="Restore the warehouse to exactly what it was before a batch.")
def undo(
    batch_id: Annotated[
        int, typer.Argument(help="The batch to undo (see `pht registry batches`).")
    ],
    warehouse: WarehouseOption = None,
    cascade: Annotated[
        bool, typer.Option("--cascade", help="Undo every later batch too (newest first).")
    ] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    with Warehouse.open(warehouse_path(warehouse)) as wh:
        wh.require_initialised()
        report = undo_batch(wh, batch_id, cascade=cascade)
    if fmt is Format.JSON:
        emit_json(report.as_dict())
        return
    rows = [
        {
            "tabell": t,
            "fjernet": report.removed.get(t, 0),
            "gjenopprettet": report.restored.get(t, 0),
        }
        for t in sorted(set(report.removed) | set(report.restored))
    ]
    emit_rows(rows, fmt=fmt, title="angret batch " + ", ".join(str(b) for b in report.undone))


@app.command("validate", help="Check an extract against every rule without loading it.")
def validate(
    path: Annotated[Path, typer.Argument(help="Folder with <table>.csv/.parquet, or one file.")],
    warehouse: WarehouseOption = None,
    fmt: FormatOption = Format.TABLE,
    source: SourceOption = None,
    period: PeriodOption = None,
) -> None:
    target = warehouse_path(warehouse)
    declared = parse_period(period) if period else None
    if target.exists():  # foreign keys may point into the warehouse
        with Warehouse.open(target, read_only=True) as wh:
            report = validate_extract(path, wh, source=source, period=declared)
    else:
        report = validate_extract(path, source=source, period=declared)
    if fmt is Format.JSON:
        emit_json(report.as_dict())
    else:
        _print_validation(report)
        if report.ok:
            rows = [{"tabell": t, "rader": n} for t, n in report.rows.items()]
            emit_rows(rows, fmt=fmt, title="uttrekket er gyldig")
    if not report.ok:
        raise typer.Exit(1)


@app.command("load-fhir", help="Load FHIR R4 JSON (Bundle, folder of Bundles, NDJSON bulk export).")
def load_fhir_command(
    path: Annotated[Path, typer.Argument(help="A Bundle, a folder, or an NDJSON bulk export.")],
    warehouse: WarehouseOption = None,
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            "-s",
            help="Where the data come from (server, export); ids are qualified by it. "
            "Default: the folder's name.",
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace", help="Allow overwriting more than the threshold of a table's rows."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    target = warehouse_path(warehouse)
    with Warehouse.open(target) as wh:
        wh.init()
        report = load_fhir(wh, path, source=source, replace=replace, dry_run=dry_run)
    if fmt is Format.JSON:
        emit_json(report.as_dict())
        if report.refused:
            raise typer.Exit(1)
        return
    rows = [
        {
            "ressurstype": k,
            "lest": report.read.get(k, 0),
            "brukt": report.used.get(k, 0),
            "hoppet over": report.skipped.get(k, 0),
        }
        for k in sorted(report.read)
    ]
    emit_rows(rows, fmt=fmt, title=f"{report.resources} FHIR-ressurser lest fra {report.source}")
    if report.problems:
        emit_rows(
            [
                {"hvor": p.where, "ressurs": p.resource, "felt": p.field, "årsak": p.reason}
                for p in report.problems
            ],
            fmt=fmt,
            title="filer, ressurser og referanser som ikke kunne brukes fullt ut",
        )
    if report.unknown_codes:
        emit_rows(
            [
                {"kodeverk": s, "kode": c, "antall": n}
                for (s, c), n in sorted(report.unknown_codes.items())
            ],
            fmt=fmt,
            title="koder pht ikke kjenner",
        )
    emit_rows(
        [
            {
                "tabell": t,
                "nye": c["inserted"],
                "endret": c["updated"],
                "uendret": c["unchanged"],
            }
            for t, c in report.changes.items()
        ],
        fmt=fmt,
        title=(
            f"prøvekjøring: {report.rows_written} rader ville blitt skrevet, ingenting endret"
            if report.dry_run
            else f"{report.rows_written} rader skrevet til {target} som bunt {report.batch_id} "
            f"fra {report.source} ({report.pseudonymised_patients} personer med pseudonym)"
            if report.refused is None
            else "ingenting skrevet"
        ),
    )
    if report.refused:
        console.print(f"avvist: {report.refused}")
        raise typer.Exit(1)


def _follow_up(path: Path | None) -> tuple[list[FollowUpPlan], list[FollowUpTask]]:
    if path is None:
        return [], []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        plans = [
            FollowUpPlan(
                **{
                    **p,
                    "next_due": dt.date.fromisoformat(p["next_due"]),
                    "created": dt.date.fromisoformat(p["created"]),
                    "partners": tuple(p.get("partners", ())),
                    "conditions": tuple(p.get("conditions", ())),
                }
            )
            for p in data.get("plans", [])
        ]
        tasks = [
            FollowUpTask(
                **{
                    **t,
                    "due": dt.date.fromisoformat(t["due"]),
                    "created": dt.date.fromisoformat(t["created"]),
                    "closed": dt.date.fromisoformat(t["closed"]) if t.get("closed") else None,
                }
            )
            for t in data.get("tasks", [])
        ]
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
        raise PhtError(f"cannot read plans and tasks: {err}", where=str(path)) from None
    return plans, tasks


@app.command("export-fhir", help="Write a practice's list population and follow-up as FHIR R4.")
def export_fhir(
    practice: Annotated[str, typer.Option("--practice", help="organisasjonsnummer")],
    out: Annotated[Path, typer.Option("--out", help="Bundle file to write (JSON).")],
    warehouse: WarehouseOption = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Day of the list (YYYY-MM-DD; default today).")
    ] = None,
    follow_up: Annotated[
        Path | None,
        typer.Option("--follow-up", help='JSON {"plans": [...], "tasks": [...]} from the app.'),
    ] = None,
    purpose: Annotated[
        str, typer.Option("--purpose", help="Why the identified data are exported (audited).")
    ] = "",
    as_user: Annotated[
        str | None, typer.Option("--as", help="pht user name (default: the OS user); audited.")
    ] = None,
) -> None:
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise PhtError(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)") from None
    plans, tasks = _follow_up(follow_up)
    with Warehouse.open(warehouse_path(warehouse), read_only=True) as wh:
        bundle = export_practice(wh, practice, as_of=day, plans=plans, tasks=tasks)
    from pht.app.audit.cli import audited  # identified patient data: every export is audited

    out.parent.mkdir(parents=True, exist_ok=True)
    with audited(
        action="patient.export",
        practice_id=practice,
        as_user=as_user,
        purpose=purpose,
        purpose_required=True,
        detail={
            "command": "pht registry export-fhir",
            "out": str(out),
            "resources": len(bundle["entry"]),
        },
    ):
        out.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    console.print(f"{len(bundle['entry'])} FHIR-ressurser skrevet til {out}")


@app.command("pseudonymise", help="Write an analytic copy with keyed-hash person ids.")
def pseudonymise(
    out: Annotated[Path, typer.Option("--out", help="New *.duckdb file or Parquet folder.")],
    warehouse: WarehouseOption = None,
    key_file: Annotated[
        Path | None,
        typer.Option("--key-file", help=f"File holding the key (else ${KEY_ENV})."),
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    key = read_key(key_file)
    with Warehouse.open(warehouse_path(warehouse)) as wh:
        report = pseudonymise_warehouse(wh, out, key, key_file=key_file)
    rows = [{"tabell": t, "rader": n} for t, n in report.rows.items()]
    if fmt is Format.JSON:
        emit_json({"out": report.out, "persons": report.persons, "rows": report.rows})
        return
    emit_rows(rows, fmt=fmt, title=f"{report.persons} personer pseudonymisert i {report.out}")
