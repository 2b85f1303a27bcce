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
from django.utils import timezone

from pht.app.accounts.access import profile_of
from pht.app.accounts.models import PRACTICE_ROLES
from pht.app.accounts.permissions import Action, allowed
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.care.models import (
    OPEN_STATUSES,
    Activity,
    ActivityKind,
    Channel,
    ConditionChoice,
    FollowUpPlan,
    Invitation,
    Partner,
    Patient,
    Task,
    TaskKind,
    TaskStatus,
)
from pht.core.errors import PhtError

#: Most invitations a recall gets (first, second, third).
MAX_INVITATIONS = 3
#: Longest contact interval a plan may set, in months.
MAX_INTERVAL_MONTHS = 24


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
    today = timezone.localdate()
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
    reason: str = "oppfølgingsplan",
) -> FollowUpPlan:
    """Create or replace *patient*'s follow-up plan."""
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
        plan, created = FollowUpPlan.objects.update_or_create(
            patient=patient,
            defaults={
                "goal": goal,
                "responsible": responsible,
                "contact_interval_months": contact_interval_months,
                "next_due": next_due,
                "partners": partner_list,
            },
        )
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
    *, user: Any, task: Task, assigned_user: Any = None, assigned_role: str = ""
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
        task.assigned_user = assigned_user
        task.assigned_role = assigned_role
        task.save(update_fields=["assigned_user", "assigned_role"])
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
        task.status = TaskStatus.DONE
        task.closed_at = timezone.now()
        task.closed_by = user
        task.close_note = note.strip()[:300]
        task.save(update_fields=["status", "closed_at", "closed_by", "close_note"])
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
    if sent_on > timezone.localdate():
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
        task.save(update_fields=["status"])
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
        task.save(update_fields=["status", "closed_at", "closed_by", "close_note"])
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
) -> Activity:
    """Log an activity (consultation, home visit, annual check, coordination meeting)."""
    _check_access(user, patient, Action.LOG_ACTIVITY)
    if kind not in ActivityKind.values:
        raise ActionError("Velg en aktivitet.", field="kind")
    if date > timezone.localdate():
        raise ActionError("Datoen kan ikke ligge fram i tid.", field="date")
    if date < timezone.localdate() - dt.timedelta(days=365):
        raise ActionError("Datoen kan ikke være mer enn ett år tilbake.", field="date")
    if kind == ActivityKind.COORDINATION_MEETING and not partner:
        raise ActionError("Velg hvem møtet var med.", field="partner")
    if partner and partner not in Partner.values:
        raise ActionError("Ukjent samarbeidspartner.", field="partner")
    if kind == ActivityKind.ANNUAL_CHECK and not condition:
        raise ActionError("Velg tilstanden årskontrollen gjaldt.", field="condition")
    if condition and condition not in ConditionChoice.values:
        raise ActionError("Ukjent tilstand.", field="condition")
    with transaction.atomic():
        activity = Activity.objects.create(
            patient=patient,
            kind=kind,
            date=date,
            note=note.strip(),
            partner=partner,
            condition=condition,
            by=user,
        )
        record(
            user=user,
            action=AuditAction.LOG_ACTIVITY,
            patient=patient,
            reason="aktivitet",
            detail={"activity": activity.pk, "kind": kind, "date": date, "partner": partner},
        )
    return activity
