"""``pht call``: the national call — rules, applications, validation, selection, decisions, funds.

Read-only commands work on the 2017 demo case when no ``--case`` file is given; commands that
record something (assess, decide) need a case file, which ``pht call init`` writes. These
commands are what-if analysis on a case file: they change no call stored in the app database
and write no audit entry. The stored call is changed by ``pht app call …``
(:mod:`pht.cli.app_call`), through the app's actions, as a pht user, audited.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pht.call.application import Application
from pht.call.assessment import Assessment, score_criterion, weighted_score
from pht.call.case import CallCase, load_case, save_case
from pht.call.decisions import approve_decisions, propose_decisions
from pht.call.demo import demo_case
from pht.call.letters import write_letters
from pht.call.payments import payment_list_csv, payments_for_year
from pht.call.reports import report_status
from pht.call.selection import Override, Selection
from pht.call.validation import errors_of, validate, warnings_of
from pht.cli.output import Format, console, emit_json, emit_rows
from pht.core.errors import PhtError
from pht.core.money import total

app = typer.Typer(no_args_is_help=True)

FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
CaseOption = Annotated[
    Path | None,
    typer.Option("--case", "-c", help="Case file (JSON); default: the 2017 demo case in memory."),
]
RequiredCase = Annotated[Path, typer.Option("--case", "-c", help="Case file (JSON) to update.")]


def _case(path: Path | None) -> CallCase:
    return demo_case() if path is None else load_case(path)


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values or []:
        key, sep, reason = v.partition(":")
        if not sep or not reason.strip():
            raise PhtError(f"{option} takes ID:REASON, got {v!r}", where=option)
        out[key.strip()] = reason.strip()
    return out


def _app_row(case: CallCase, a: Application) -> dict[str, Any]:
    rules = case.rules
    msgs = validate(a, rules)
    cls = a.size_class(rules)
    return {
        "id": a.id,
        "applicant": a.name,
        "synthetic": a.synthetic,
        "size_class": cls.value if cls else None,
        "practices": len(a.practices),
        "gps": a.gps,
        "status": a.status.value,
        "submitted_at": a.submitted_at.isoformat(timespec="minutes") if a.submitted_at else None,
        "late": a.late,
        "errors": len(errors_of(msgs)),
        "warnings": len(warnings_of(msgs)),
        "score": weighted_score(case.assessments.get(a.id), rules),
    }


@app.command("show", help="The call's rules: dates, quotas, GP target, content, criteria, funds.")
def show(fmt: FormatOption = Format.TABLE) -> None:
    rules = demo_case().rules
    practice, municipality = rules.project_funds_per_gp(rules.pilot_start)
    lo, hi = rules.gp_range
    summary = {
        "id": rules.id,
        "title": rules.title,
        "issuer": rules.issuer,
        "deadline": rules.deadline,
        "decision_by": rules.decision_by,
        "pilot_start": rules.pilot_start,
        "pilot_last_day": rules.pilot_last_day,
        "quotas": {
            "small": rules.quotas.small,
            "medium": rules.quotas.medium,
            "large": rules.quotas.large,
        },
        "gp_target": rules.gp_target,
        "gp_band": rules.gp_band,
        "gp_range": [lo, hi],
        "project_funds_per_gp": {"to_practice": practice, "to_municipality": municipality},
        "required": [{"field": r.field, "label": r.label} for r in rules.required],
        "criteria": [
            {"key": c.key, "label": c.label, "weight": c.weight, "status": c.status}
            for c in rules.criteria
        ],
        "sources": list(rules.sources),
    }
    if fmt is Format.JSON:
        emit_json(summary)
        return
    if fmt is Format.TABLE:
        console.print(
            f"[bold]{rules.title}[/] ({rules.issuer}): deadline {rules.deadline}, decision by "
            f"{rules.decision_by}; quotas {rules.quotas.small} small / {rules.quotas.medium} "
            f"medium / {rules.quotas.large} large; about {rules.gp_target} GPs (accepted "
            f"{lo}–{hi}); project funds per GP and year {practice} to the practice, "
            f"{municipality} to the municipality; pilot {rules.pilot_start} – "
            f"{rules.pilot_last_day}"
        )
        emit_rows(summary["required"], fmt=fmt, title="Required content")
    emit_rows(summary["criteria"], fmt=fmt, title="Criteria (weights: assumption A)")


@app.command("init", help="Write the 2017 demo case (17 applications, scores) to a case file.")
def init(
    out: Annotated[Path, typer.Option("--out", "-o", help="Case file to write (JSON).")],
    decided: Annotated[
        bool,
        typer.Option(
            "--decided",
            help="Also propose and approve the decisions (two demo officers), for a quick demo.",
        ),
    ] = False,
) -> None:
    case = demo_case()
    if decided:
        rules = case.rules
        proposal = propose_decisions(
            case.select(),
            case.applications,
            rules,
            officer="saksbehandler.a",
            on=dt.date(2017, 11, 24),
        )
        case = case.model_copy(
            update={
                "decisions": approve_decisions(
                    proposal, officer="saksbehandler.b", on=dt.date(2017, 11, 30)
                )
            }
        )
    save_case(case, out)
    console.print(f"wrote {out}: {len(case.applications)} applications")


@app.command("applications", help="Applications with size class, GPs, status, late flag, score.")
def applications(case_path: CaseOption = None, fmt: FormatOption = Format.TABLE) -> None:
    case = _case(case_path)
    rows = [_app_row(case, a) for a in case.applications]
    emit_rows(rows, fmt=fmt, title=f"Applications to {case.call_id}")


@app.command("validate", help="Validation messages per field (errors and warnings).")
def validate_cmd(
    case_path: CaseOption = None,
    application: Annotated[
        str | None, typer.Option("--application", "-a", help="Only this application id.")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    case = _case(case_path)
    apps = [case.application(application)] if application else case.applications
    rows = [
        {
            "application": a.id,
            "applicant": a.name,
            "field": m.field,
            "severity": m.severity.value,
            "code": m.code,
            "message": m.text,
        }
        for a in apps
        for m in validate(a, case.rules)
    ]
    emit_rows(
        rows,
        fmt=fmt,
        title="Validation",
        columns=["application", "applicant", "field", "severity", "code", "message"],
    )


@app.command(
    "assess",
    help="Scores per criterion; with --score, record one in the case file (needs --case; "
    "changes no stored call: `pht app call score` does).",
)
def assess(
    case_path: CaseOption = None,
    application: Annotated[str | None, typer.Option("--application", "-a")] = None,
    criterion: Annotated[str | None, typer.Option("--criterion", help="Criterion key.")] = None,
    score: Annotated[int | None, typer.Option("--score", help="Score on the call's scale.")] = None,
    comment: Annotated[str, typer.Option("--comment", help="Why this score.")] = "",
    officer: Annotated[str, typer.Option("--officer", help="Case officer scoring.")] = "",
    fmt: FormatOption = Format.TABLE,
) -> None:
    case = _case(case_path)
    rules = case.rules
    if score is not None:
        if case_path is None or application is None or criterion is None or not officer:
            raise PhtError(
                "recording a score needs --case, --application, --criterion and --officer",
                where="pht call assess",
            )
        current = case.assessments.get(application) or Assessment(application_id=application)
        case.application(application)
        updated = score_criterion(
            current,
            rules=rules,
            criterion=criterion,
            score=score,
            comment=comment,
            officer=officer,
            on=dt.date.today(),
            conflicts=case.conflicts,
        )
        case = case.model_copy(update={"assessments": {**case.assessments, application: updated}})
        save_case(case, case_path)
    rows = []
    for a in case.applications:
        if application and a.id != application:
            continue
        ass = case.assessments.get(a.id)
        row: dict[str, Any] = {"application": a.id, "applicant": a.name}
        for c in rules.criteria:
            s = ass.score_of(c.key) if ass else None
            row[c.key] = s.score if s else None
        row["weighted"] = weighted_score(ass, rules)
        rows.append(row)
    emit_rows(rows, fmt=fmt, title="Assessment (weighted score on the call's scale)")


def _emit_selection(case: CallCase, sel: Selection, fmt: Format) -> None:
    rows = [
        {
            "application": e.application_id,
            "applicant": e.name,
            "size_class": e.size_class.value if e.size_class else None,
            "gps": e.gps,
            "score": e.score,
            "selected": e.selected,
            "reason": e.reason,
            "explanation": e.text,
        }
        for e in sel.explanations
    ]
    summary = {
        "selected": list(sel.selected),
        "total_score": sel.total_score,
        "total_gps": sel.total_gps,
        "gp_range": list(sel.gp_range),
        "quotas": {k.value: v for k, v in sel.quotas.items()},
        "per_class": {k.value: v for k, v in sel.per_class.items()},
    }
    if fmt is Format.JSON:
        emit_json({**summary, "explanations": rows})
        return
    if fmt is Format.TABLE:
        names = ", ".join(case.application(i).name for i in sel.selected)
        console.print(
            f"[bold]Selected {len(sel.selected)}[/]: {names} — {sel.total_gps} GPs "
            f"(band {sel.gp_range[0]}–{sel.gp_range[1]}), total score {sel.total_score}"
        )
    emit_rows(rows, fmt=fmt, title="Why each application is in or out")


@app.command(
    "select",
    help="What-if on a case file: propose the selection (integer program) and explain each "
    "choice. Changes no stored call (`pht app call select` works on the app's).",
)
def select_cmd(
    case_path: CaseOption = None,
    quota_small: Annotated[int | None, typer.Option("--quota-small", help="What-if.")] = None,
    quota_medium: Annotated[int | None, typer.Option("--quota-medium", help="What-if.")] = None,
    quota_large: Annotated[int | None, typer.Option("--quota-large", help="What-if.")] = None,
    gp_target: Annotated[int | None, typer.Option("--gp-target", help="What-if.")] = None,
    band: Annotated[int | None, typer.Option("--band", help="What-if: GPs ± target.")] = None,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="Override in: ID:REASON.")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Override out: ID:REASON.")
    ] = None,
    accept_late: Annotated[
        list[str] | None, typer.Option("--accept-late", help="Accept a late one: ID:REASON.")
    ] = None,
    officer: Annotated[str, typer.Option("--officer", help="Who overrides.")] = "cli",
    fmt: FormatOption = Format.TABLE,
) -> None:
    case = _case(case_path)
    rules = case.rules.with_what_if(
        small=quota_small,
        medium=quota_medium,
        large=quota_large,
        gp_target=gp_target,
        gp_band=band,
    )
    today = dt.date.today()
    overrides = [
        *case.overrides,
        *(
            Override(application_id=k, include=True, reason=v, officer=officer, on=today)
            for k, v in _pairs(include, "--include").items()
        ),
        *(
            Override(application_id=k, include=False, reason=v, officer=officer, on=today)
            for k, v in _pairs(exclude, "--exclude").items()
        ),
    ]
    for o in overrides:
        case.application(o.application_id)
    case = case.model_copy(
        update={
            "overrides": overrides,
            "late_accepted": {**case.late_accepted, **_pairs(accept_late, "--accept-late")},
        }
    )
    _emit_selection(case, case.select(rules), fmt)


@app.command(
    "decide",
    help="What-if on a case file: propose decisions (--officer), or approve them as a second "
    "officer, in the file. Changes no stored call and writes no audit (`pht app call propose` "
    "and `approve` do, as a pht user).",
)
def decide(
    case_path: RequiredCase,
    officer: Annotated[str, typer.Option("--officer", help="Case officer acting.")],
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve the proposed decisions (four eyes).")
    ] = False,
    on: Annotated[
        str | None, typer.Option("--on", help="Date (YYYY-MM-DD); default today.")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    case = load_case(case_path)
    day = dt.date.fromisoformat(on) if on else dt.date.today()
    if approve:
        if case.decisions is None:
            raise PhtError("no proposed decisions to approve", where=str(case_path))
        decisions = approve_decisions(
            case.decisions, officer=officer, on=day, conflicts=case.conflicts
        )
    else:
        decisions = propose_decisions(
            case.select(), case.applications, case.rules, officer=officer, on=day
        )
    case = case.model_copy(update={"decisions": decisions})
    save_case(case, case_path)
    rows = [
        {
            "application": d.application_id,
            "applicant": d.applicant,
            "outcome": d.outcome.value,
            "gps": d.gps,
            "practices": len(d.practices),
            "reason": d.reasons[-1],
        }
        for d in decisions.decisions
    ]
    state = (
        f"approved by {decisions.approved_by} on {decisions.approved_on}"
        if decisions.approved
        else "awaiting a second officer's approval"
    )
    if fmt is Format.TABLE:
        console.print(f"Decisions proposed by {decisions.proposed_by}: {state}")
    emit_rows(rows, fmt=fmt, title="Decisions")


def _decided(case_path: Path | None) -> CallCase:
    case = _case(case_path)
    if case.decisions is None or not case.decisions.approved:
        raise PhtError(
            "the case has no approved decisions: run `pht call decide` twice (propose, then "
            "--approve by another officer), or `pht call init --decided`",
            where=str(case_path or "demo"),
        )
    return case


@app.command("letters", help="Write the decision letters (PDF, Norwegian) into a folder.")
def letters(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the PDFs.")],
    case_path: CaseOption = None,
) -> None:
    case = _decided(case_path)
    assert case.decisions is not None
    paths = write_letters(case.decisions, case.applications, case.rules, out)
    console.print(f"wrote {len(paths)} letters to {out}")


@app.command("payments", help="The payment list of project funds for a year (CSV with -f csv).")
def payments(
    year: Annotated[int, typer.Option("--year", "-y", help="Calendar year.")],
    case_path: CaseOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    case = _decided(case_path)
    assert case.decisions is not None
    lines = payments_for_year(
        case.decisions, case.applications, case.rules, year, changes=case.gp_changes
    )
    if fmt is Format.CSV:
        sys.stdout.write(payment_list_csv(lines))
        return
    emit_rows(
        [line.as_row() for line in lines],
        fmt=fmt,
        title=f"Project funds {year}",
        footer={"amount": total(line.amount for line in lines)},
    )


@app.command("reports", help="Yearly reports: in, reminder due, or overdue, as of a date.")
def reports(
    year: Annotated[int, typer.Option("--year", "-y", help="The year reported on.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD; default today.")] = None,
    case_path: CaseOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    case = _decided(case_path)
    assert case.decisions is not None
    day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    rows = [
        s.as_row()
        for s in report_status(case.decisions, case.reports, case.rules, year=year, as_of=day)
    ]
    emit_rows(rows, fmt=fmt, title=f"Yearly reports {year} as of {day}")


@app.command("web-demo", help="Load the 2017 demo call into the web app (development only).")
def web_demo(
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a case the app already holds.")
    ] = False,
) -> None:
    from pht.cli.web import setup_django

    setup_django()
    from pht.app.call.demo import SECOND_OFFICER, load_demo_call

    counts = load_demo_call(replace=replace)
    console.print(
        f"demo call: {counts['applications']} applications loaded "
        f"({counts['owned_by_demo_municipalities']} owned by demo municipalities); second case "
        f"officer {SECOND_OFFICER!r} with the demo password; open /call/"
    )


@app.command("practices", help="Granted practices as rows of the registry's practices table.")
def practices(
    case_path: CaseOption = None,
    codes_on: Annotated[
        str | None,
        typer.Option("--codes-on", help="Municipality numbers valid on (default: pilot start)."),
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    from pht.call.decisions import pilot_practice_rows

    case = _decided(case_path)
    assert case.decisions is not None
    day = dt.date.fromisoformat(codes_on) if codes_on else None
    rows = pilot_practice_rows(case.decisions, case.rules, codes_on=day)
    emit_rows(rows, fmt=fmt, title="Pilot practices from the decisions")
