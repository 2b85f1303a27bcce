"""Every change to a call goes through one of these actions: run the domain, store, audit.

Each ``do_*`` function loads the call's case file in a durable transaction, applies the domain
function of :mod:`pht.call`, stores the result and records an audit entry through the audit
app's :func:`pht.app.audit.log.record` in the same transaction: the change and its audit row
are stored together or not at all, and no path can skip the audit. Refused attempts (a
submission with errors, a second approval by the proposer) are audited too, in a transaction
that stores nothing else. The web views and ``pht app call`` on the command line both go through
these functions. Errors a user can cause are :class:`pht.core.errors.PhtError` subclasses with
Norwegian messages.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from pht.app.audit.log import record as audit
from pht.app.audit.models import AuditAction
from pht.app.call.models import CallCaseRecord
from pht.call.application import Application, ApplicationRejected, ApplicationStatus
from pht.call.application import submit as submit_application
from pht.call.application import withdraw as withdraw_application
from pht.call.assessment import Assessment, declare_conflict, record_meeting, score_criterion
from pht.call.case import CallCase
from pht.call.decisions import DecisionSet, FourEyesError, approve_decisions, propose_decisions
from pht.call.letters import render_letter_pdf
from pht.call.payments import PaymentLine, payments_for_year
from pht.call.rules import CallRules, load_call
from pht.call.selection import Override, Selection
from pht.call.validation import Message, validate
from pht.core.errors import NotFound, PhtError

CALL_ID = "pht-2017"


class CallAudit:
    """The audit actions of the call (members of :class:`AuditAction`, shown by their label)."""

    SAVE_DRAFT = AuditAction.CALL_DRAFT
    SUBMIT = AuditAction.CALL_SUBMIT
    SUBMIT_REFUSED = AuditAction.CALL_SUBMIT_REFUSED
    WITHDRAW = AuditAction.CALL_WITHDRAW
    VALIDATE = AuditAction.CALL_VALIDATE
    ACCEPT_LATE = AuditAction.CALL_ACCEPT_LATE
    SCORE = AuditAction.CALL_SCORE
    CONFLICT = AuditAction.CALL_CONFLICT
    MEETING = AuditAction.CALL_MEETING
    OVERRIDE = AuditAction.CALL_OVERRIDE
    SELECT = AuditAction.CALL_SELECT
    PROPOSE = AuditAction.CALL_PROPOSE
    APPROVE = AuditAction.CALL_APPROVE
    APPROVE_REFUSED = AuditAction.CALL_APPROVE_REFUSED
    LETTER = AuditAction.CALL_LETTER
    PAYMENTS = AuditAction.CALL_PAYMENTS


def now() -> dt.datetime:
    """The time the call's actions use (Europe/Oslo, naive).

    ``PHT_CALL_NOW`` (a Django setting or environment variable, ISO date-time) pins it, so a
    demo or a test can play a past call (the 2017 deadline is long gone).
    """
    pinned = getattr(settings, "PHT_CALL_NOW", None) or os.environ.get("PHT_CALL_NOW")
    if pinned:
        return dt.datetime.fromisoformat(str(pinned)).replace(tzinfo=None)
    return timezone.localtime().replace(tzinfo=None)


def _audit(
    user: Any, action: AuditAction, request: HttpRequest | None, *, reason: str = "", **detail: Any
) -> None:
    audit(user=user, action=action, reason=reason, detail=detail, request=request)


def case_record(call_id: str = CALL_ID, *, lock: bool = False) -> CallCaseRecord:
    """The call's case file (an empty one is created the first time)."""
    qs = CallCaseRecord.objects.select_for_update() if lock else CallCaseRecord.objects
    rec = qs.filter(call_id=call_id).first()
    if rec is None:
        load_call(call_id)  # unknown calls fail here
        rec = CallCaseRecord.objects.create(
            call_id=call_id, data=CallCase(call_id=call_id).model_dump(mode="json")
        )
    return rec


def rules_for(call_id: str = CALL_ID) -> CallRules:
    """The call's rules."""
    return load_call(call_id)


def owned_application(rec: CallCaseRecord, application_id: str, municipality: str) -> Application:
    """The application *application_id* if *municipality* owns it; NotFound otherwise."""
    if rec.owners.get(application_id) != municipality:
        raise NotFound(f"ingen søknad {application_id!r} for kommunen", where=rec.call_id)
    return rec.case.application(application_id)


def _next_id(case: CallCase) -> str:
    taken = {a.id for a in case.applications}
    n = len(taken) + 1
    while f"web-{n:03d}" in taken:
        n += 1
    return f"web-{n:03d}"


def do_save_draft(
    *,
    user: Any,
    request: HttpRequest | None,
    municipality: str,
    application: Application | None,
    data: dict[str, Any],
    call_id: str = CALL_ID,
) -> Application:
    """Create or update the municipality's draft from *data* (a dict of Application fields)."""
    with transaction.atomic(durable=True):
        rec = case_record(call_id, lock=True)
        case = rec.case
        if application is None:
            app_id = _next_id(case)
        else:
            app_id = application.id
            current = owned_application(rec, app_id, municipality)
            if current.status is not ApplicationStatus.DRAFT:
                raise PhtError("bare et utkast kan endres", where=app_id)
        app = Application.model_validate({**data, "id": app_id, "call_id": call_id})
        rec.store(case.replace_application(app), owners={**rec.owners, app_id: municipality})
        _audit(user, CallAudit.SAVE_DRAFT, request, application=app_id)
    return app


def do_submit(
    *,
    user: Any,
    request: HttpRequest | None,
    municipality: str,
    application_id: str,
    call_id: str = CALL_ID,
) -> Application:
    """Submit the municipality's draft; refused (and audited) with the messages per field."""
    refused: ApplicationRejected | None = None
    with transaction.atomic(durable=True):
        rec = case_record(call_id, lock=True)
        app = owned_application(rec, application_id, municipality)
        at = now()
        try:
            done = submit_application(app, rules=rec.case.rules, at=at)
        except ApplicationRejected as err:
            refused = err  # nothing is stored but the refusal's audit entry
            fields = sorted({getattr(m, "field", "") for m in err.messages})
            _audit(user, CallAudit.SUBMIT_REFUSED, request, application=app.id, fields=fields)
        else:
            rec.store(rec.case.replace_application(done))
            _audit(
                user,
                CallAudit.SUBMIT,
                request,
                application=done.id,
                late=done.late,
                submitted_at=at.isoformat(timespec="minutes"),
            )
    if refused is not None:
        raise refused
    return done


def do_withdraw(
    *,
    user: Any,
    request: HttpRequest | None,
    municipality: str,
    application_id: str,
    reason: str = "",
    call_id: str = CALL_ID,
) -> Application:
    """Withdraw the municipality's application."""
    with transaction.atomic(durable=True):
        rec = case_record(call_id, lock=True)
        app = owned_application(rec, application_id, municipality)
        done = withdraw_application(app, at=now())
        rec.store(rec.case.replace_application(done))
        _audit(user, CallAudit.WITHDRAW, request, reason=reason, application=done.id)
    return done


def do_validate(
    *, user: Any, request: HttpRequest | None, application_id: str, call_id: str = CALL_ID
) -> list[Message]:
    """The case officer's validation of one application (audited)."""
    case = case_record(call_id).case
    messages = validate(case.application(application_id), case.rules)
    with transaction.atomic(durable=True):
        _audit(
            user,
            CallAudit.VALIDATE,
            request,
            application=application_id,
            errors=sum(1 for m in messages if m.is_error),
        )
    return messages


def do_accept_late(
    *,
    user: Any,
    request: HttpRequest | None,
    application_id: str,
    reason: str,
    call_id: str = CALL_ID,
) -> None:
    """Accept a late application for assessment, with the reason."""
    if not reason.strip():
        raise PhtError("begrunn hvorfor søknaden godtas etter fristen", where=application_id)
    with transaction.atomic(durable=True):
        rec = case_record(call_id, lock=True)
        case = rec.case
        if not case.application(application_id).late:
            raise PhtError("søknaden kom ikke for sent", where=application_id)
        rec.store(
            case.model_copy(
                update={"late_accepted": {**case.late_accepted, application_id: reason}}
            )
        )
        _audit(user, CallAudit.ACCEPT_LATE, request, reason=reason, application=application_id)


def do_score(
    *,
    user: Any,
    request: HttpRequest | None,
    application_id: str,
    criterion: str,
    score: int,
    comment: str,
    call_id: str = CALL_ID,
) -> Assessment:
    """Score one criterion of one application (refused for a conflicted officer)."""
    with transaction.atomic(durable=True):
        rec = case_record(call_id, lock=True)
        case = rec.case
        case.application(application_id)
        current = case.assessments.get(application_id) or Assessment(application_id=application_id)
        updated = score_criterion(
            current,
            rules=case.rules,
            criterion=criterion,
            score=score,
            comment=comment,
            officer=user.get_username(),
            on=now().date(),
            conflicts=case.conflicts,
        )
        rec.store(
            case.model_copy(update={"assessments": {**case.assessments, application_id: updated}})
        )
        _audit(
            user,
            CallAudit.SCORE,
            request,
            application=application_id,
            criterion=criterion,
            score=score,
        )
    return updated


def do_declare_conflict(
    *,
    user: Any,
    request: HttpRequest | None,
    application_id: str,
    description: str,
    call_id: str = CALL_ID,
) -> None:
    """Declare the officer's conflict of interest for one application."""
    with transaction.atomic(durable=True):
        rec = case_record(call_id, lock=True)
        case = rec.case
        case.application(application_id)
        conflicts = declare_conflict(
            case.conflicts,
            officer=user.get_username(),
            application_id=application_id,
            on=now().date(),
            description=description,
        )
        rec.store(case.model_copy(update={"conflicts": conflicts}))
        _audit(user, CallAudit.CONFLICT, request, reason=description, application=application_id)


def do_record_meeting(
    *,
    user: Any,
    request: HttpRequest | None,
    application_id: str,
    kind: str,
    held_on: dt.date,
    notes: str,
    call_id: str = CALL_ID,
) -> Assessment:
    """Record an interview or a visit to the municipality."""
    if kind not in ("interview", "visit"):
        raise PhtError("velg intervju eller besøk", where=application_id)
    if not notes.strip():
        raise PhtError("skriv et referat", where=application_id)
    with transaction.atomic(durable=True):
        rec = case_record(call_id, lock=True)
        case = rec.case
        case.application(application_id)
        current = case.assessments.get(application_id) or Assessment(application_id=application_id)
        updated = record_meeting(
            current,
            kind=kind,  # type: ignore[arg-type]
            held_on=held_on,
            officers=[user.get_username()],
            notes=notes,
        )
        rec.store(
            case.model_copy(update={"assessments": {**case.assessments, application_id: updated}})
        )
        _audit(user, CallAudit.MEETING, request, application=application_id, kind=kind)
    return updated


def do_override(
    *,
    user: Any,
    request: HttpRequest | None,
    application_id: str,
    include: bool | None,
    reason: str,
    call_id: str = CALL_ID,
) -> None:
    """Force an application in (True) or out (False) of the selection with a reason; None clears."""
    if include is not None and not reason.strip():
        raise PhtError("en manuell overstyring må begrunnes", where=application_id)
    with transaction.atomic(durable=True):
        rec = case_record(call_id, lock=True)
        case = rec.case
        case.application(application_id)
        kept = [o for o in case.overrides if o.application_id != application_id]
        if include is not None:
            kept.append(
                Override(
                    application_id=application_id,
                    include=include,
                    reason=reason,
                    officer=user.get_username(),
                    on=now().date(),
                )
            )
        rec.store(case.model_copy(update={"overrides": kept}))
        _audit(
            user,
            CallAudit.OVERRIDE,
            request,
            reason=reason,
            application=application_id,
            include=include,
        )


def what_if_rules(case: CallCase, what_if: dict[str, int | None]) -> CallRules:
    """The call's rules with the officer's what-if quotas, target and band."""
    return case.rules.with_what_if(
        small=what_if.get("quota_small"),
        medium=what_if.get("quota_medium"),
        large=what_if.get("quota_large"),
        gp_target=what_if.get("gp_target"),
        gp_band=what_if.get("band"),
    )


def do_propose_selection(
    *,
    user: Any,
    request: HttpRequest | None,
    what_if: dict[str, int | None],
    call_id: str = CALL_ID,
) -> Selection:
    """The optimiser's proposal (audited with the quotas and band used)."""
    case = case_record(call_id).case
    sel = case.select(what_if_rules(case, what_if))
    with transaction.atomic(durable=True):
        _audit(
            user,
            CallAudit.SELECT,
            request,
            selected=list(sel.selected),
            gp_range=list(sel.gp_range),
            **{k: v for k, v in what_if.items() if v is not None},
        )
    return sel


def do_propose_decisions(
    *,
    user: Any,
    request: HttpRequest | None,
    what_if: dict[str, int | None],
    call_id: str = CALL_ID,
) -> DecisionSet:
    """Propose decisions for every application from the selection (awaiting a second officer)."""
    with transaction.atomic(durable=True):
        rec = case_record(call_id, lock=True)
        case = rec.case
        if case.decisions is not None and case.decisions.approved:
            raise PhtError("vedtakene er allerede godkjent", where=call_id)
        rules = what_if_rules(case, what_if)
        decisions = propose_decisions(
            case.select(rules),
            case.applications,
            rules,
            officer=user.get_username(),
            on=now().date(),
        )
        rec.store(case.model_copy(update={"decisions": decisions}))
        _audit(
            user, CallAudit.PROPOSE, request, granted=[d.application_id for d in decisions.granted]
        )
    return decisions


def do_approve_decisions(
    *, user: Any, request: HttpRequest | None, call_id: str = CALL_ID
) -> DecisionSet:
    """Approve the proposed decisions as a second officer (four eyes; refusals audited)."""
    refused: FourEyesError | None = None
    with transaction.atomic(durable=True):
        rec = case_record(call_id, lock=True)
        case = rec.case
        if case.decisions is None:
            raise PhtError("ingen vedtak er foreslått", where=call_id)
        try:
            approved = approve_decisions(
                case.decisions,
                officer=user.get_username(),
                on=now().date(),
                conflicts=case.conflicts,
            )
        except FourEyesError as err:
            refused = err  # nothing is stored but the refusal's audit entry
            _audit(user, CallAudit.APPROVE_REFUSED, request, reason=err.message[:200])
        else:
            rec.store(case.model_copy(update={"decisions": approved}))
            _audit(
                user,
                CallAudit.APPROVE,
                request,
                proposed_by=approved.proposed_by,
                granted=[d.application_id for d in approved.granted],
            )
    if refused is not None:
        raise refused
    return approved


def do_letter(
    *, user: Any, request: HttpRequest | None, application_id: str, call_id: str = CALL_ID
) -> bytes:
    """The decision letter as PDF (approved decisions only)."""
    case = case_record(call_id).case
    if case.decisions is None:
        raise PhtError("ingen vedtak ennå", where=call_id)
    pdf = render_letter_pdf(
        case.decisions.decision(application_id),
        case.application(application_id),
        case.decisions,
        case.rules,
    )
    with transaction.atomic(durable=True):
        _audit(user, CallAudit.LETTER, request, application=application_id)
    return pdf


def do_payment_list(
    *, user: Any, request: HttpRequest | None, year: int, call_id: str = CALL_ID
) -> list[PaymentLine]:
    """The payment list of project funds for *year* (approved decisions only)."""
    case = case_record(call_id).case
    if case.decisions is None:
        raise PhtError("ingen vedtak ennå", where=call_id)
    lines = payments_for_year(
        case.decisions, case.applications, case.rules, year, changes=case.gp_changes
    )
    with transaction.atomic(durable=True):
        _audit(user, CallAudit.PAYMENTS, request, year=year, lines=len(lines))
    return lines
