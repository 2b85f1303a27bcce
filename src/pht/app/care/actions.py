"""Every state change of the team's records goes through a ``do_*`` function here.

Each action checks that the user may act on the patient (same practice, a practice role),
validates the business rules, writes inside one transaction and records the audit entry in the
same transaction: either all of it is stored or nothing is, and no path skips the audit. Views
parse input with forms and call these; an :class:`ActionError` names the field it is about.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pht.app.accounts.access import profile_of
from pht.app.accounts.models import PRACTICE_ROLES, AppRole
from pht.app.accounts.permissions import Action, allowed
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.care import checks, clock
from pht.app.care.models import (
    OPEN_STATUSES,
    Activity,
    ActivityKind,
    AnnualCheck,
    Channel,
    CheckSource,
    ConditionChoice,
    CoordinationMessage,
    CoordinationThread,
    FollowUpPlan,
    Invitation,
    MessageDirection,
    Partner,
    Patient,
    PlanEndReason,
    PlanEvent,
    PlanEventKind,
    PlanReview,
    Task,
    TaskKind,
    TaskStatus,
    ThreadStatus,
)
from pht.core.errors import PhtError

#: Most invitations a recall gets (first, second, third).
MAX_INVITATIONS = 3
#: Longest contact interval a plan may set, in months.
MAX_INTERVAL_MONTHS = 24
#: Roles that record clinical activities (annual checks, consultations, home visits).
CLINICAL_ROLES = frozenset({AppRole.GP_TEAM_LEAD, AppRole.GP, AppRole.NURSE, AppRole.PSYCHOLOGIST})
#: Roles that record annual checks.
CHECK_ROLES = frozenset({AppRole.GP_TEAM_LEAD, AppRole.GP, AppRole.NURSE})
#: Activity kinds only clinicians record.
CLINICAL_ACTIVITIES = frozenset(
    {
        ActivityKind.NURSE_CONSULTATION,
        ActivityKind.PHONE_CONSULTATION,
        ActivityKind.HOME_VISIT,
        ActivityKind.ANNUAL_CHECK,
    }
)


class ActionError(PhtError):
    """A rule of an action was broken; ``field`` names the form field it is about."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message, where=field)


class AccessDenied(PhtError, PermissionDenied):
    """The user may not act on this patient (a 403 where it reaches a page or the API)."""


#: The roles a task can be given to.
_TEAM_ROLES = frozenset(r.value for r in PRACTICE_ROLES)
#: Longest task title (the column's length).
MAX_TITLE = 200


def _check_access(user: Any, patient: Patient, action: Action = Action.VIEW_PATIENT) -> None:
    """Same practice and the permission table allows *action* (pht.app.accounts.permissions)."""
    profile = profile_of(user)
    if profile is None or not profile.sees_patients or profile.practice_id != patient.practice_id:
        raise AccessDenied(f"{user} has no access to this patient")
    if not allowed(user, action, practice_id=patient.practice_id):
        raise AccessDenied(f"{user} may not {action}")


def _check_role(user: Any, roles: frozenset[AppRole], message: str, *, field: str) -> None:
    profile = profile_of(user)
    if profile is None or profile.role not in roles:
        raise ActionError(message, field=field)


def _check_version(current: Any, shown: int | None, what: str) -> None:
    """Refuse to overwrite a change saved since the form was shown (optimistic locking): the
    row is locked (select_for_update) by the caller, so of two saves of one version one wins
    and the other is told."""
    if current is not None and shown is not None and current.version != shown:
        raise ActionError(
            f"{what} er endret av en annen siden du åpnet den. Ingenting er lagret: "
            "åpne den på nytt, se endringene og gjør din endring igjen."
        )


def add_months(day: dt.date, months: int) -> dt.date:
    """*day* plus *months* calendar months (the last day of a shorter month if needed)."""
    import calendar

    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _check_member(user: Any, patient: Patient, *, field: str) -> None:
    """*user* must be a team member of the patient's practice."""
    profile = profile_of(user)
    if (
        profile is None
        or profile.role not in PRACTICE_ROLES
        or profile.practice_id != patient.practice_id
        or not user.is_active
    ):
        raise ActionError("Velg et medlem av teamet ved dette legekontoret.", field=field)


def _check_due(due: dt.date, *, field: str = "due") -> None:
    today = clock.today()
    if due < today - dt.timedelta(days=365) or due > today + dt.timedelta(days=5 * 365):
        raise ActionError("Fristen må ligge innen ett år tilbake og fem år fram.", field=field)


def do_view_patient(*, user: Any, patient: Patient, reason: str, request: Any = None) -> None:
    """Record that *user* opened *patient*'s record (the view itself reads)."""
    _check_access(user, patient)
    record(
        user=user, action=AuditAction.VIEW_PATIENT, patient=patient, reason=reason, request=request
    )


def do_save_plan(
    *,
    user: Any,
    patient: Patient,
    goal: str,
    responsible: Any,
    contact_interval_months: int,
    next_due: dt.date,
    partners: Iterable[str],
    who_to_call: str = "",
    reason: str = "oppfølgingsplan",
    version: int | None = None,
) -> FollowUpPlan:
    """Create or change *patient*'s follow-up plan (an ended plan starts again); the plan's
    history keeps every version."""
    _check_access(user, patient, Action.SAVE_PLAN)
    goal = goal.strip()
    if not goal:
        raise ActionError("Skriv pasientens eget mål.", field="goal")
    _check_member(responsible, patient, field="responsible")
    if not 1 <= contact_interval_months <= MAX_INTERVAL_MONTHS:
        raise ActionError(
            f"Kontaktintervallet må være mellom 1 og {MAX_INTERVAL_MONTHS} måneder.",
            field="contact_interval_months",
        )
    _check_due(next_due, field="next_due")
    partner_list = list(dict.fromkeys(partners))
    unknown = [p for p in partner_list if p not in Partner.values]
    if unknown:
        raise ActionError(f"Ukjent samarbeidspartner: {', '.join(unknown)}", field="partners")
    with transaction.atomic():
        current = FollowUpPlan.objects.select_for_update().filter(patient=patient).first()
        was_ended = current is not None and not current.active
        _check_version(current, version, "Planen")
        plan, created = FollowUpPlan.objects.update_or_create(
            patient=patient,
            defaults={
                "goal": goal,
                "responsible": responsible,
                "contact_interval_months": contact_interval_months,
                "next_due": next_due,
                "partners": partner_list,
                "who_to_call": who_to_call.strip()[:200],
                "active": True,
                "ended_on": None,
                "end_reason": "",
                "version": 1 if current is None else current.version + 1,
            },
        )
        kind = (
            PlanEventKind.CREATED
            if created
            else PlanEventKind.REOPENED
            if was_ended
            else PlanEventKind.CHANGED
        )
        _plan_event(plan, kind, user)
        record(
            user=user,
            action=AuditAction.SAVE_PLAN,
            patient=patient,
            reason=reason,
            detail={
                "created": created,
                "responsible": responsible.get_username(),
                "interval_months": contact_interval_months,
                "next_due": next_due,
                "partners": partner_list,
            },
        )
    return plan


def do_create_task(
    *,
    user: Any,
    patient: Patient,
    title: str,
    due: dt.date,
    kind: str = TaskKind.TASK,
    condition: str = "",
    assigned_user: Any = None,
    assigned_role: str = "",
    reason: str = "oppgave",
) -> Task:
    """Create a task or recall for *patient*, assigned to a member or to a role."""
    _check_access(user, patient, Action.CREATE_TASK)
    title = title.strip()
    if not title:
        raise ActionError("Skriv hva som skal gjøres.", field="title")
    if len(title) > MAX_TITLE:
        raise ActionError(f"Skriv høyst {MAX_TITLE} tegn.", field="title")
    if kind not in TaskKind.values:
        raise ActionError("Ukjent oppgavetype.", field="kind")
    if kind == TaskKind.ANNUAL_CHECK and not condition:
        raise ActionError("Velg tilstanden årskontrollen gjelder.", field="condition")
    if condition and condition not in ConditionChoice.values:
        raise ActionError("Ukjent tilstand.", field="condition")
    if assigned_user is None and not assigned_role:
        raise ActionError("Tildel oppgaven til en person eller en rolle.", field="assigned_user")
    if assigned_user is not None and assigned_role:
        raise ActionError("Velg enten en person eller en rolle, ikke begge.", field="assigned_role")
    if assigned_user is not None:
        _check_member(assigned_user, patient, field="assigned_user")
    if assigned_role and assigned_role not in _TEAM_ROLES:
        raise ActionError("Velg en rolle i teamet.", field="assigned_role")
    _check_due(due)
    with transaction.atomic():
        task = Task.objects.create(
            patient=patient,
            kind=kind,
            condition=condition,
            title=title,
            assigned_user=assigned_user,
            assigned_role=assigned_role,
            due=due,
            created_by=user,
            opened_on=clock.today(),
        )
        record(
            user=user,
            action=AuditAction.CREATE_TASK,
            patient=patient,
            reason=reason,
            detail={
                "task": task.pk,
                "title": title,
                "kind": kind,
                "assigned": assigned_user.get_username() if assigned_user else assigned_role,
                "due": due,
            },
        )
    return task


def do_assign_task(
    *,
    user: Any,
    task: Task,
    assigned_user: Any = None,
    assigned_role: str = "",
    version: int | None = None,
) -> Task:
    """Give *task* to another member or role."""
    patient = task.patient
    _check_access(user, patient, Action.ASSIGN_TASK)
    if not task.is_open:
        raise ActionError("Oppgaven er allerede lukket.", field="assigned_user")
    if (assigned_user is None) == (not assigned_role):
        raise ActionError("Velg enten en person eller en rolle.", field="assigned_user")
    if assigned_user is not None:
        _check_member(assigned_user, patient, field="assigned_user")
    if assigned_role and assigned_role not in _TEAM_ROLES:
        raise ActionError("Velg en rolle i teamet.", field="assigned_role")
    with transaction.atomic():
        _check_version(Task.objects.select_for_update().get(pk=task.pk), version, "Oppgaven")
        task.assigned_user = assigned_user
        task.assigned_role = assigned_role
        task.version = F("version") + 1
        task.save(update_fields=["assigned_user", "assigned_role", "version"])
        task.refresh_from_db(fields=["version"])
        record(
            user=user,
            action=AuditAction.ASSIGN_TASK,
            patient=patient,
            reason="tildeling",
            detail={
                "task": task.pk,
                "assigned": assigned_user.get_username() if assigned_user else assigned_role,
            },
        )
    return task


def do_complete_task(*, user: Any, task: Task, note: str = "") -> Task:
    """Mark *task* done."""
    _check_access(user, task.patient, Action.COMPLETE_TASK)
    if not task.is_open:
        raise ActionError("Oppgaven er allerede lukket.", field="note")
    with transaction.atomic():
        if not Task.objects.select_for_update().get(pk=task.pk).is_open:
            raise ActionError("Oppgaven er allerede lukket av en annen.", field="note")
        task.status = TaskStatus.DONE
        task.closed_at = timezone.now()
        task.closed_by = user
        task.close_note = note.strip()[:300]
        task.version = F("version") + 1
        task.save(update_fields=["status", "closed_at", "closed_by", "close_note", "version"])
        task.refresh_from_db(fields=["version"])
        record(
            user=user,
            action=AuditAction.COMPLETE_TASK,
            patient=task.patient,
            reason="oppgave utført",
            detail={"task": task.pk, "title": task.title},
        )
    return task


def do_record_invitation(*, user: Any, task: Task, channel: str, sent_on: dt.date) -> Invitation:
    """Record an invitation (first, second or third) for a recall; the task becomes "invited"."""
    _check_access(user, task.patient, Action.INVITE)
    if task.kind not in (TaskKind.RECALL, TaskKind.ANNUAL_CHECK):
        raise ActionError("Bare innkallinger får invitasjoner.", field="channel")
    if not task.is_open:
        raise ActionError("Innkallingen er allerede lukket.", field="channel")
    if channel not in Channel.values:
        raise ActionError("Velg SMS, brev eller telefon.", field="channel")
    if sent_on > clock.today():
        raise ActionError("Datoen kan ikke ligge fram i tid.", field="sent_on")
    with transaction.atomic():
        number = task.invitations.count() + 1
        if number > MAX_INVITATIONS:
            raise ActionError(
                f"Innkallingen har allerede {MAX_INVITATIONS} invitasjoner.", field="channel"
            )
        invitation = Invitation.objects.create(
            task=task, number=number, channel=channel, sent_on=sent_on, by=user
        )
        task.status = TaskStatus.INVITED
        task.version = F("version") + 1
        task.save(update_fields=["status", "version"])
        task.refresh_from_db(fields=["version"])
        record(
            user=user,
            action=AuditAction.INVITE,
            patient=task.patient,
            reason="innkalling",
            detail={"task": task.pk, "number": number, "channel": channel, "sent_on": sent_on},
        )
    return invitation


def do_close_recall(*, task: Task, reason: str, user: Any = None) -> Task:
    """Close a recall because its purpose was met (by the system when *user* is None)."""
    if user is not None:
        _check_access(user, task.patient, Action.COMPLETE_TASK)
    if task.status not in OPEN_STATUSES:
        return task
    with transaction.atomic():
        task.status = TaskStatus.CLOSED_BY_DATA
        task.closed_at = timezone.now()
        task.closed_by = user
        task.close_note = reason[:300]
        task.version = F("version") + 1
        task.save(update_fields=["status", "closed_at", "closed_by", "close_note", "version"])
        task.refresh_from_db(fields=["version"])
        record(
            user=user,
            action=AuditAction.CLOSE_RECALL,
            patient=task.patient,
            reason=reason,
            detail={"task": task.pk, "title": task.title},
        )
    return task


def do_log_activity(
    *,
    user: Any,
    patient: Patient,
    kind: str,
    date: dt.date,
    note: str = "",
    partner: str = "",
    condition: str = "",
    participants: Iterable[str] = (),
) -> Activity:
    """Log an activity (consultation, home visit, annual check, coordination meeting); a
    coordination meeting names its partner and who took part."""
    _check_access(user, patient, Action.LOG_ACTIVITY)
    if kind not in ActivityKind.values:
        raise ActionError("Velg en aktivitet.", field="kind")
    if kind in CLINICAL_ACTIVITIES:
        _check_role(
            user,
            CLINICAL_ROLES,
            "Kliniske aktiviteter registreres av lege, sykepleier eller psykolog.",
            field="kind",
        )
    if date > clock.today():
        raise ActionError("Datoen kan ikke ligge fram i tid.", field="date")
    if date < clock.today() - dt.timedelta(days=365):
        raise ActionError("Datoen kan ikke være mer enn ett år tilbake.", field="date")
    if kind == ActivityKind.COORDINATION_MEETING and not partner:
        raise ActionError("Velg hvem møtet var med.", field="partner")
    if partner and partner not in Partner.values:
        raise ActionError("Ukjent samarbeidspartner.", field="partner")
    if kind == ActivityKind.ANNUAL_CHECK and not condition:
        raise ActionError("Velg tilstanden årskontrollen gjaldt.", field="condition")
    if condition and condition not in ConditionChoice.values:
        raise ActionError("Ukjent tilstand.", field="condition")
    people = [p.strip()[:100] for p in participants if p and p.strip()]
    if kind == ActivityKind.COORDINATION_MEETING and not people:
        raise ActionError("Skriv hvem som deltok i møtet.", field="participants")
    with transaction.atomic():
        activity = Activity.objects.create(
            patient=patient,
            kind=kind,
            date=date,
            note=note.strip(),
            partner=partner,
            condition=condition,
            participants=people,
            by=user,
        )
        record(
            user=user,
            action=AuditAction.LOG_ACTIVITY,
            patient=patient,
            reason="aktivitet",
            detail={
                "activity": activity.pk,
                "kind": kind,
                "date": date,
                "partner": partner,
                "participants": people,
            },
        )
    return activity


def _plan_snapshot(plan: FollowUpPlan) -> dict[str, Any]:
    return {
        "goal": plan.goal,
        "responsible": plan.responsible.get_username(),
        "contact_interval_months": plan.contact_interval_months,
        "next_due": plan.next_due.isoformat(),
        "partners": list(plan.partners),
        "who_to_call": plan.who_to_call,
        "active": plan.active,
        "end_reason": plan.end_reason,
    }


def _plan_event(plan: FollowUpPlan, kind: str, user: Any) -> PlanEvent:
    return PlanEvent.objects.create(
        plan=plan, kind=kind, on=clock.today(), snapshot=_plan_snapshot(plan), by=user
    )


def _check_plan_open(plan: FollowUpPlan, *, field: str) -> None:
    if not plan.active:
        raise ActionError("Planen er avsluttet.", field=field)


def do_plan_contact(*, user: Any, plan: FollowUpPlan, date: dt.date, note: str = "") -> Activity:
    """Record the plan's planned contact: the next contact moves one interval on from *date*."""
    patient = plan.patient
    _check_access(user, patient, Action.SAVE_PLAN)
    _check_plan_open(plan, field="date")
    with transaction.atomic():
        activity = do_log_activity(
            user=user,
            patient=patient,
            kind=ActivityKind.PHONE_CONSULTATION
            if "telefon" in note.lower()
            else ActivityKind.NURSE_CONSULTATION,
            date=date,
            note=note or "Planlagt kontakt etter oppfølgingsplanen",
        )
        plan.next_due = add_months(date, plan.contact_interval_months)
        plan.version = F("version") + 1
        plan.save(update_fields=["next_due", "updated_at", "version"])
        plan.refresh_from_db(fields=["version"])
        _plan_event(plan, PlanEventKind.CONTACT, user)
        record(
            user=user,
            action=AuditAction.SAVE_PLAN,
            patient=patient,
            reason="planlagt kontakt",
            detail={"op": "contact", "date": date, "next_due": plan.next_due},
        )
    return activity


def do_review_plan(
    *, user: Any, plan: FollowUpPlan, date: dt.date, went_well: str, new_goal: str = ""
) -> PlanReview:
    """A review of the plan (date, what went well, a new goal that replaces the old one)."""
    patient = plan.patient
    _check_access(user, patient, Action.SAVE_PLAN)
    _check_plan_open(plan, field="went_well")
    went_well = went_well.strip()
    if not went_well:
        raise ActionError("Skriv hva som gikk bra.", field="went_well")
    if date > clock.today():
        raise ActionError("Datoen kan ikke ligge fram i tid.", field="date")
    with transaction.atomic():
        review = PlanReview.objects.create(
            plan=plan, date=date, went_well=went_well, new_goal=new_goal.strip(), by=user
        )
        if new_goal.strip():
            plan.goal = new_goal.strip()
            plan.version = F("version") + 1
            plan.save(update_fields=["goal", "updated_at", "version"])
            plan.refresh_from_db(fields=["version"])
        _plan_event(plan, PlanEventKind.REVIEWED, user)
        record(
            user=user,
            action=AuditAction.SAVE_PLAN,
            patient=patient,
            reason="evaluering av plan",
            detail={"op": "review", "review": review.pk, "new_goal": bool(new_goal.strip())},
        )
    return review


def do_end_plan(*, user: Any, plan: FollowUpPlan, reason: str, date: dt.date) -> FollowUpPlan:
    """End the plan with a reason; it leaves the due list and stays in the history."""
    patient = plan.patient
    _check_access(user, patient, Action.SAVE_PLAN)
    _check_plan_open(plan, field="reason")
    if reason not in PlanEndReason.values:
        raise ActionError("Velg hvorfor planen avsluttes.", field="reason")
    if date > clock.today():
        raise ActionError("Datoen kan ikke ligge fram i tid.", field="date")
    with transaction.atomic():
        plan.active = False
        plan.ended_on = date
        plan.end_reason = reason
        plan.version = F("version") + 1
        plan.save(update_fields=["active", "ended_on", "end_reason", "updated_at", "version"])
        plan.refresh_from_db(fields=["version"])
        _plan_event(plan, PlanEventKind.ENDED, user)
        record(
            user=user,
            action=AuditAction.SAVE_PLAN,
            patient=patient,
            reason="plan avsluttet",
            detail={"op": "end", "reason": reason, "date": date},
        )
    return plan


def do_record_annual_check(
    *,
    user: Any,
    patient: Patient,
    condition: str,
    date: dt.date,
    values: dict[str, Any],
    note: str = "",
) -> AnnualCheck:
    """Record a structured annual check; the patient's open recalls for it close at once.

    The values are checked against the condition's items (:mod:`pht.app.care.checks`), the
    same schema the form and the API use. Only a GP or nurse records a check.
    """
    _check_access(user, patient, Action.LOG_ACTIVITY)
    _check_role(
        user, CHECK_ROLES, "Årskontroller registreres av lege eller sykepleier.", field="condition"
    )
    try:
        clean = checks.clean_values(condition, values)
    except checks.CheckValueError as err:
        raise ActionError(err.message, field=err.field) from None
    today = clock.today()
    if date > today:
        raise ActionError("Datoen kan ikke ligge fram i tid.", field="date")
    if date < today - dt.timedelta(days=365):
        raise ActionError("Datoen kan ikke være mer enn ett år tilbake.", field="date")
    with transaction.atomic():
        activity = Activity.objects.create(
            patient=patient,
            kind=ActivityKind.ANNUAL_CHECK,
            date=date,
            note=note.strip(),
            condition=condition,
            by=user,
        )
        check = AnnualCheck.objects.create(
            patient=patient,
            condition=condition,
            date=date,
            values=clean,
            source=CheckSource.APP,
            activity=activity,
            by=user,
        )
        closed = _close_recalls_for_check(
            patient, condition, date, user=user, note=f"årskontroll registrert {date:%d.%m.%Y}"
        )
        _mark_check_done(patient, condition, date)
        record(
            user=user,
            action=AuditAction.LOG_ACTIVITY,
            patient=patient,
            reason="årskontroll",
            detail={
                "check": check.pk,
                "condition": condition,
                "date": date,
                "values": clean,
                "recalls_closed": closed,
            },
        )
    check.closed_recalls = closed  # type: ignore[attr-defined]
    return check


def _close_recalls_for_check(
    patient: Patient, condition: str, date: dt.date, *, user: Any, note: str
) -> list[int]:
    """Close *patient*'s open annual-check recalls for *condition* as done (in the caller's
    transaction); their ids."""
    open_recalls = Task.objects.select_for_update().filter(
        patient=patient, kind=TaskKind.ANNUAL_CHECK, condition=condition, status__in=OPEN_STATUSES
    )
    ids = []
    for task in open_recalls:
        task.status = TaskStatus.DONE
        task.closed_at = timezone.now()
        task.closed_by = user
        task.close_note = note[:300]
        task.version = F("version") + 1
        task.save(update_fields=["status", "closed_at", "closed_by", "close_note", "version"])
        task.refresh_from_db(fields=["version"])
        ids.append(task.pk)
    return ids


def _mark_check_done(patient: Patient, condition: str, date: dt.date) -> None:
    """The patient's annual-check state for *condition* after a check on *date*."""
    state = dict(patient.annual_checks or {})
    due = add_months(date, 12)
    state[condition] = {"last": date.isoformat(), "due": due.isoformat(), "overdue": False}
    overdue = [c for c in patient.overdue_condition_list() if c != condition]
    patient.annual_checks = state
    patient.overdue_conditions = "".join(f"|{c}|" for c in overdue).replace("||", "|")
    patient.annual_check_overdue = bool(overdue)
    patient.save(update_fields=["annual_checks", "overdue_conditions", "annual_check_overdue"])


def do_invite_many(
    *, user: Any, tasks: Iterable[Task], channel: str, sent_on: dt.date
) -> list[Invitation]:
    """Record one invitation for each recall in *tasks* in one transaction: all or none."""
    task_list = list(tasks)
    if not task_list:
        raise ActionError("Velg minst én innkalling.", field="tasks")
    with transaction.atomic():
        return [
            do_record_invitation(user=user, task=t, channel=channel, sent_on=sent_on)
            for t in task_list
        ]


def do_close_recall_unanswered(*, user: Any, task: Task, status: str, note: str = "") -> Task:
    """Close a recall without the check: "ikke svart" after the third invitation, or "reservert
    seg" (informed dissent, at any time). The indicators count these apart from "done"."""
    _check_access(user, task.patient, Action.INVITE)
    if task.kind not in (TaskKind.RECALL, TaskKind.ANNUAL_CHECK):
        raise ActionError("Bare innkallinger lukkes slik.", field="status")
    if not task.is_open:
        raise ActionError("Innkallingen er allerede lukket.", field="status")
    if status not in (TaskStatus.NO_ANSWER, TaskStatus.DECLINED):
        raise ActionError("Velg «ikke svart» eller «reservert seg».", field="status")
    if status == TaskStatus.NO_ANSWER and task.invitations.count() < MAX_INVITATIONS:
        raise ActionError(
            f"«Ikke svart» kan velges etter {MAX_INVITATIONS}. innkalling.", field="status"
        )
    with transaction.atomic():
        task.status = status
        task.closed_at = timezone.now()
        task.closed_by = user
        task.close_note = note.strip()[:300]
        task.version = F("version") + 1
        task.save(update_fields=["status", "closed_at", "closed_by", "close_note", "version"])
        task.refresh_from_db(fields=["version"])
        record(
            user=user,
            action=AuditAction.COMPLETE_TASK,
            patient=task.patient,
            reason=str(TaskStatus(status).label),
            detail={"task": task.pk, "status": status, "title": task.title},
        )
    return task


def do_start_thread(
    *, user: Any, patient: Patient, partner: str, subject: str, text: str
) -> CoordinationThread:
    """Start a coordination thread with *partner* about *patient* with a first message."""
    _check_access(user, patient, Action.LOG_ACTIVITY)
    if partner not in Partner.values:
        raise ActionError("Velg en samarbeidspartner.", field="partner")
    subject, text = subject.strip(), text.strip()
    if not subject:
        raise ActionError("Skriv et emne.", field="subject")
    if not text:
        raise ActionError("Skriv meldingen.", field="text")
    with transaction.atomic():
        thread = CoordinationThread.objects.create(
            patient=patient, partner=partner, subject=subject[:200], created_by=user
        )
        CoordinationMessage.objects.create(
            thread=thread, direction=MessageDirection.OUT, text=text, on=clock.today(), by=user
        )
        record(
            user=user,
            action=AuditAction.LOG_ACTIVITY,
            patient=patient,
            reason="samhandling",
            detail={"thread": thread.pk, "partner": partner, "op": "start"},
        )
    return thread


def do_add_message(
    *, user: Any, thread: CoordinationThread, direction: str, text: str, on: dt.date
) -> CoordinationMessage:
    """Add a message sent or received to a thread; an answer marks the thread "besvart"."""
    _check_access(user, thread.patient, Action.LOG_ACTIVITY)
    if thread.status == ThreadStatus.CLOSED:
        raise ActionError("Tråden er avsluttet.", field="text")
    if direction not in MessageDirection.values:
        raise ActionError("Velg sendt eller mottatt.", field="direction")
    text = text.strip()
    if not text:
        raise ActionError("Skriv meldingen.", field="text")
    if on > clock.today():
        raise ActionError("Datoen kan ikke ligge fram i tid.", field="on")
    with transaction.atomic():
        msg = CoordinationMessage.objects.create(
            thread=thread, direction=direction, text=text, on=on, by=user
        )
        thread.status = (
            ThreadStatus.ANSWERED if direction == MessageDirection.IN else ThreadStatus.SENT
        )
        thread.save(update_fields=["status", "updated_at"])
        record(
            user=user,
            action=AuditAction.LOG_ACTIVITY,
            patient=thread.patient,
            reason="samhandling",
            detail={"thread": thread.pk, "message": msg.pk, "direction": direction},
        )
    return msg


def do_close_thread(*, user: Any, thread: CoordinationThread) -> CoordinationThread:
    """Close a coordination thread."""
    _check_access(user, thread.patient, Action.LOG_ACTIVITY)
    with transaction.atomic():
        thread.status = ThreadStatus.CLOSED
        thread.save(update_fields=["status", "updated_at"])
        record(
            user=user,
            action=AuditAction.LOG_ACTIVITY,
            patient=thread.patient,
            reason="samhandling avsluttet",
            detail={"thread": thread.pk, "op": "close"},
        )
    return thread


def do_create_overdue_recalls(*, user: Any, practice: Any, condition: str) -> list[Task]:
    """An annual-check recall (to the secretaries, due the app's today) for every listed patient
    of *practice* whose *condition* check is overdue and who has no open recall for it; one
    transaction, each recall audited."""
    from pht.app.care.models import ConditionChoice

    if condition not in ConditionChoice.values:
        raise ActionError("Velg en tilstand.", field="condition")
    label = str(ConditionChoice(condition).label)
    open_ids = Task.objects.filter(
        kind=TaskKind.ANNUAL_CHECK, condition=condition, status__in=OPEN_STATUSES
    ).values("patient_id")
    patients = (
        Patient.objects.filter(
            practice=practice, listed=True, overdue_conditions__contains=f"|{condition}|"
        )
        .exclude(pk__in=open_ids)
        .order_by("name", "pk")
    )
    with transaction.atomic():
        return [
            do_create_task(
                user=user,
                patient=p,
                title=f"Årskontroll {label}",
                due=clock.today(),
                kind=TaskKind.ANNUAL_CHECK,
                condition=condition,
                assigned_role=AppRole.SECRETARY,
                reason="innkalling til forfalt årskontroll",
            )
            for p in patients
        ]
