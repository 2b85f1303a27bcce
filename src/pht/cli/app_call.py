"""``pht app call``: change the call stored in the app database, through the app's own actions.

Every command acts as a pht user — the one named by ``--as``, else the one whose user name is
the operating-system user's — checked against the permission table (``call.assess`` for the
directorate's case officer, ``call.apply`` for the municipal project lead) and refused with an
``access.denied`` audit entry otherwise. The change goes through
:mod:`pht.app.call.actions`, the functions the web pages call: the change and its audit row
(under that user, with the command and the operating-system user) are stored in one durable
transaction, or neither is. ``pht call …`` on a case file is what-if analysis and changes no
stored call.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from pht.cli.output import Format, console, emit_rows
from pht.core.errors import PhtError
from pht.core.money import total

app = typer.Typer(no_args_is_help=True, add_completion=False)

AsOption = Annotated[
    str | None,
    typer.Option(
        "--as", help="pht user acting (default: the pht user named as the OS user); audited."
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]
AppId = Annotated[str, typer.Argument(help="Application id.")]


@contextmanager
def _as(as_user: str | None, *, officer: bool, command: str) -> Iterator[Any]:
    """The acting user (checked, audited; see :func:`pht.app.audit.cli.acting`)."""
    from pht.app.accounts.permissions import Action
    from pht.app.audit.cli import acting

    action = Action.CALL_ASSESS if officer else Action.CALL_APPLY
    with acting(as_user=as_user, action=action, command=f"pht app call {command}") as user:
        yield user


def _municipality(user: Any) -> str:
    from pht.app.accounts.access import profile_of

    profile = profile_of(user)
    if profile is None or profile.municipality_id is None:
        raise PhtError(f"{user.get_username()} belongs to no municipality", where="--as")
    return str(profile.municipality_id)


def _actions() -> Any:
    from pht.app.call import actions

    return actions


def _what_if(
    small: int | None, medium: int | None, large: int | None, target: int | None, band: int | None
) -> dict[str, int | None]:
    return {
        "quota_small": small,
        "quota_medium": medium,
        "quota_large": large,
        "gp_target": target,
        "band": band,
    }


QuotaSmall = Annotated[int | None, typer.Option("--quota-small", help="What-if quota.")]
QuotaMedium = Annotated[int | None, typer.Option("--quota-medium", help="What-if quota.")]
QuotaLarge = Annotated[int | None, typer.Option("--quota-large", help="What-if quota.")]
GpTarget = Annotated[int | None, typer.Option("--gp-target", help="What-if GP target.")]
Band = Annotated[int | None, typer.Option("--band", help="What-if: GPs ± target.")]


@app.command("status", help="The stored call: applications, scores, decisions (case officer).")
def status(as_user: AsOption = None, fmt: FormatOption = Format.TABLE) -> None:
    from pht.call.assessment import weighted_score
    from pht.call.validation import errors_of, validate

    with _as(as_user, officer=True, command="status"):
        case = _actions().case_record().case
    rules = case.rules
    rows = [
        {
            "application": a.id,
            "applicant": a.name,
            "status": a.status.value,
            "late": a.late,
            "late_accepted": a.id in case.late_accepted,
            "errors": len(errors_of(validate(a, rules))),
            "score": weighted_score(case.assessments.get(a.id), rules),
        }
        for a in case.applications
    ]
    d = case.decisions
    state = (
        "no decisions"
        if d is None
        else f"approved by {d.approved_by} on {d.approved_on}"
        if d.approved
        else f"proposed by {d.proposed_by}, awaiting a second officer"
    )
    if fmt is Format.TABLE:
        console.print(f"[bold]{case.call_id}[/]: {len(rows)} applications; {state}")
    emit_rows(rows, fmt=fmt, title="Applications in the app database")


@app.command("validate", help="Validate one application (audited as the case officer's check).")
def validate_cmd(
    application: AppId, as_user: AsOption = None, fmt: FormatOption = Format.TABLE
) -> None:
    with _as(as_user, officer=True, command="validate") as user:
        msgs = _actions().do_validate(user=user, request=None, application_id=application)
    rows = [
        {"field": m.field, "severity": m.severity.value, "code": m.code, "message": m.text}
        for m in msgs
    ]
    emit_rows(rows, fmt=fmt, title=f"Validation of {application}")


@app.command("accept-late", help="Accept a late application for assessment, with the reason.")
def accept_late(
    application: AppId,
    reason: Annotated[str, typer.Option("--reason", help="Why it is accepted.")],
    as_user: AsOption = None,
) -> None:
    with _as(as_user, officer=True, command="accept-late") as user:
        _actions().do_accept_late(
            user=user, request=None, application_id=application, reason=reason
        )
    console.print(f"{application}: accepted after the deadline")


@app.command("score", help="Score one criterion of one application, with a comment.")
def score(
    application: AppId,
    criterion: Annotated[str, typer.Option("--criterion", help="Criterion key.")],
    value: Annotated[int, typer.Option("--score", help="Score on the call's scale.")],
    comment: Annotated[str, typer.Option("--comment", help="Why this score.")],
    as_user: AsOption = None,
) -> None:
    with _as(as_user, officer=True, command="score") as user:
        _actions().do_score(
            user=user,
            request=None,
            application_id=application,
            criterion=criterion,
            score=value,
            comment=comment,
        )
    console.print(f"{application}: {criterion} = {value} by {user.get_username()}")


@app.command("conflict", help="Declare the acting officer's conflict of interest.")
def conflict(
    application: AppId,
    description: Annotated[str, typer.Option("--description", help="What the conflict is.")],
    as_user: AsOption = None,
) -> None:
    with _as(as_user, officer=True, command="conflict") as user:
        _actions().do_declare_conflict(
            user=user, request=None, application_id=application, description=description
        )
    console.print(f"{application}: conflict of {user.get_username()} recorded")


@app.command("meeting", help="Record an interview or a visit to the municipality.")
def meeting(
    application: AppId,
    kind: Annotated[str, typer.Option("--kind", help="interview or visit.")],
    held_on: Annotated[str, typer.Option("--on", help="Date (YYYY-MM-DD).")],
    notes: Annotated[str, typer.Option("--notes", help="Minutes.")],
    as_user: AsOption = None,
) -> None:
    try:
        day = dt.date.fromisoformat(held_on)
    except ValueError:
        raise PhtError(f"--on {held_on!r} is not a date (YYYY-MM-DD)") from None
    with _as(as_user, officer=True, command="meeting") as user:
        _actions().do_record_meeting(
            user=user,
            request=None,
            application_id=application,
            kind=kind,
            held_on=day,
            notes=notes,
        )
    console.print(f"{application}: {kind} on {day} recorded")


@app.command("override", help="Force an application in or out of the selection, or clear it.")
def override(
    application: AppId,
    include: Annotated[
        str, typer.Option("--include", help="in, out, or clear (remove the override).")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (required for in/out).")] = "",
    as_user: AsOption = None,
) -> None:
    choices = {"in": True, "out": False, "clear": None}
    if include not in choices:
        raise PhtError("--include takes in, out or clear", where="--include")
    with _as(as_user, officer=True, command="override") as user:
        _actions().do_override(
            user=user,
            request=None,
            application_id=application,
            include=choices[include],
            reason=reason,
        )
    console.print(f"{application}: override {include}")


@app.command("select", help="The optimiser's proposal on the stored call (audited; stores none).")
def select(
    as_user: AsOption = None,
    quota_small: QuotaSmall = None,
    quota_medium: QuotaMedium = None,
    quota_large: QuotaLarge = None,
    gp_target: GpTarget = None,
    band: Band = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    what_if = _what_if(quota_small, quota_medium, quota_large, gp_target, band)
    with _as(as_user, officer=True, command="select") as user:
        sel = _actions().do_propose_selection(user=user, request=None, what_if=what_if)
    rows = [
        {
            "application": e.application_id,
            "applicant": e.name,
            "selected": e.selected,
            "reason": e.reason,
            "explanation": e.text,
        }
        for e in sel.explanations
    ]
    if fmt is Format.TABLE:
        console.print(
            f"[bold]Selected {len(sel.selected)}[/]: {', '.join(sel.selected)} — "
            f"{sel.total_gps} GPs (band {sel.gp_range[0]}–{sel.gp_range[1]})"
        )
    emit_rows(rows, fmt=fmt, title="Why each application is in or out")


def _emit_decisions(decisions: Any, fmt: Format) -> None:
    rows = [
        {
            "application": d.application_id,
            "applicant": d.applicant,
            "outcome": d.outcome.value,
            "gps": d.gps,
            "reason": d.reasons[-1],
        }
        for d in decisions.decisions
    ]
    if fmt is Format.TABLE:
        state = (
            f"approved by {decisions.approved_by} on {decisions.approved_on}"
            if decisions.approved
            else "awaiting a second officer's approval"
        )
        console.print(f"Decisions proposed by {decisions.proposed_by}: {state}")
    emit_rows(rows, fmt=fmt, title="Decisions")


@app.command("propose", help="Propose decisions from the selection (awaits a second officer).")
def propose(
    as_user: AsOption = None,
    quota_small: QuotaSmall = None,
    quota_medium: QuotaMedium = None,
    quota_large: QuotaLarge = None,
    gp_target: GpTarget = None,
    band: Band = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    what_if = _what_if(quota_small, quota_medium, quota_large, gp_target, band)
    with _as(as_user, officer=True, command="propose") as user:
        decisions = _actions().do_propose_decisions(user=user, request=None, what_if=what_if)
    _emit_decisions(decisions, fmt)


@app.command("approve", help="Approve the proposed decisions as a second officer (four eyes).")
def approve(as_user: AsOption = None, fmt: FormatOption = Format.TABLE) -> None:
    with _as(as_user, officer=True, command="approve") as user:
        decisions = _actions().do_approve_decisions(user=user, request=None)
    _emit_decisions(decisions, fmt)


@app.command("letter", help="Write one application's decision letter (PDF).")
def letter(
    application: AppId,
    out: Annotated[Path, typer.Option("--out", "-o", help="PDF file to write.")],
    as_user: AsOption = None,
) -> None:
    with _as(as_user, officer=True, command="letter") as user:
        pdf = _actions().do_letter(user=user, request=None, application_id=application)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(pdf)
    console.print(f"wrote {out}")


@app.command("payments", help="The payment list of project funds for a year (-f csv for CSV).")
def payments(
    year: Annotated[int, typer.Option("--year", "-y", help="Calendar year.")],
    as_user: AsOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    from pht.call.payments import payment_list_csv

    with _as(as_user, officer=True, command="payments") as user:
        lines = _actions().do_payment_list(user=user, request=None, year=year)
    if fmt is Format.CSV:
        sys.stdout.write(payment_list_csv(lines))
        return
    emit_rows(
        [line.as_row() for line in lines],
        fmt=fmt,
        title=f"Project funds {year}",
        footer={"amount": total(line.amount for line in lines)},
    )


@app.command("submit", help="Submit the municipality's draft (municipal project lead).")
def submit(application: AppId, as_user: AsOption = None) -> None:
    with _as(as_user, officer=False, command="submit") as user:
        done = _actions().do_submit(
            user=user, request=None, municipality=_municipality(user), application_id=application
        )
    console.print(f"{done.id}: submitted{' (late)' if done.late else ''}")


@app.command("withdraw", help="Withdraw the municipality's application (municipal project lead).")
def withdraw(
    application: AppId,
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
    as_user: AsOption = None,
) -> None:
    with _as(as_user, officer=False, command="withdraw") as user:
        _actions().do_withdraw(
            user=user,
            request=None,
            municipality=_municipality(user),
            application_id=application,
            reason=reason,
        )
    console.print(f"{application}: withdrawn")
