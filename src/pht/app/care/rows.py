"""Task rows of the due list and the patient page, built in Python.

A row has up to three forms (done, invitation, hand over) with the team's names; rendered by
the template engine each row cost 2–3 ms, and a nurse's due list holds dozens. Here the parts
that are the same in every row (labels, the team's and the channels' options, the return
address, the CSRF token) are made once per page, and every value is escaped by
:func:`~django.utils.html.format_html`; labels are escaped once per page and numbers, dates
and the app's own addresses (digits, dots, dashes, slashes) are marked safe as they are, so
that each row escapes only its texts (escaping cost most of a row).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from pht.app.accounts.models import AppRole
from pht.app.care.actions import MAX_INVITATIONS
from pht.app.care.models import Channel, ConditionChoice, Task, TaskKind, TaskStatus

_UID = "00000000-0000-0000-0000-000000000000"
_PK = 4242424242


def _labels(labels: dict[str, Any]) -> dict[str, SafeString]:
    """*labels* (translated texts) escaped once."""
    return {k: conditional_escape(str(v)) for k, v in labels.items()}


def _number(value: Any) -> SafeString:
    """A number or a formatted date: digits, dots and dashes need no escaping."""
    return SafeString(value)


class _Urls:
    """The addresses of a page's tasks, each reversed once (reverse costs per call) and
    escaped once; a uid (hex digits, dashes) or a primary key (digits) needs no escaping."""

    def __init__(self) -> None:
        self.patient = conditional_escape(reverse("care:patient", kwargs={"uid": _UID}))
        self.complete = conditional_escape(reverse("care:task_complete", kwargs={"pk": _PK}))
        self.invite = conditional_escape(reverse("care:task_invite", kwargs={"pk": _PK}))
        self.assign = conditional_escape(reverse("care:task_assign", kwargs={"pk": _PK}))

    def of_patient(self, uid: Any) -> SafeString:
        return SafeString(self.patient.replace(_UID, str(uuid.UUID(str(uid)))))

    @staticmethod
    def of_task(url: str, pk: int) -> SafeString:
        return SafeString(url.replace(str(_PK), str(int(pk))))


def task_rows(
    tasks: Iterable[Task],
    *,
    request: HttpRequest,
    today: Any,
    show_patient: bool = False,
    team: list[Any] | None = None,
) -> SafeString:
    """The ``<tr>`` of each task (with the patient's name when *show_patient*; with the form
    to hand the task to a member of *team* when given)."""
    tasks = list(tasks)
    if not tasks:
        return mark_safe("")
    urls = _Urls()
    kinds = _labels(dict(TaskKind.choices))
    conditions = _labels(dict(ConditionChoice.choices))
    statuses = _labels(dict(TaskStatus.choices))
    roles = _labels(dict(AppRole.choices))
    t = {
        k: conditional_escape(gettext(v))
        for k, v in {
            "due": "Frist",
            "patient": "Pasient",
            "task": "Oppgave",
            "assigned": "Tildelt",
            "status": "Status",
            "overdue": "forfalt",
            "invitation": "innkalling",
            "done": "Utført",
            "channel": "Kanal",
            "sent": "Sendt",
            "register": "Registrer innkalling",
            "give_to": "Gi til person",
            "give": "Gi til …",
            "hand_over": "Gi videre",
        }.items()
    }
    nth_invitation = gettext("Registrer %(n)s. innkalling")
    csrf = format_html(
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)
    )
    back = format_html('<input type="hidden" name="next" value="{}">', request.get_full_path())
    channels = format_html_join(
        "", '<option value="{}">{}</option>', ((v, label) for v, label in Channel.choices)
    )
    members = (
        format_html_join(
            "",
            '<option value="{}">{} ({})</option>',
            ((m.pk, m.get_full_name() or m.username, m.profile.get_role_display()) for m in team),
        )
        if team
        else ""
    )
    sent_on = _number(f"{today:%Y-%m-%d}")
    rows = []
    for task in tasks:
        is_open = task.is_open
        invitations = getattr(task, "invitation_count", 0) or 0
        pk = _number(int(task.pk))
        cells = [
            format_html(
                '<td data-label="{}">{}{}</td>',
                t["due"],
                _number(f"{task.due:%d.%m.%Y}"),
                format_html(' <span class="badge warn">{}</span>', t["overdue"])
                if task.due < today and is_open
                else "",
            )
        ]
        if show_patient:
            patient = task.patient
            cells.append(
                format_html(
                    '<td data-label="{}"><a href="{}">{}</a><br><span class="muted">{}</span></td>',
                    t["patient"],
                    urls.of_patient(patient.uid),
                    patient.name,
                    _number(_day(patient.birth_date)),
                )
            )
        cells.append(
            format_html(
                '<td data-label="{}">{}<br><span class="muted">{}{}</span></td>',
                t["task"],
                task.title,
                kinds.get(task.kind, task.kind),
                format_html(" · {}", conditions.get(task.condition, task.condition))
                if task.condition
                else "",
            )
        )
        user = task.assigned_user if task.assigned_user_id else None
        cells.append(
            format_html(
                '<td data-label="{}">{}</td>',
                t["assigned"],
                (user.get_full_name() or user.username)
                if user is not None
                else roles.get(task.assigned_role, task.assigned_role),
            )
        )
        cells.append(
            format_html(
                '<td data-label="{}">{}{}{}</td>',
                t["status"],
                statuses.get(task.status, task.status),
                format_html(" ({}. {})", _number(int(invitations)), t["invitation"])
                if invitations
                else "",
                format_html('<br><span class="muted">{}</span>', task.close_note)
                if task.close_note
                else "",
            )
        )
        forms: list[SafeString] = []
        if is_open:
            forms.append(
                format_html(
                    '<form method="post" action="{}" class="inline">{}{}'
                    '<button type="submit" class="complete-task">{}</button></form>',
                    urls.of_task(urls.complete, pk),
                    csrf,
                    back,
                    t["done"],
                )
            )
            if task.kind != "task" and invitations < MAX_INVITATIONS:
                forms.append(
                    format_html(
                        '<form method="post" action="{}" class="inline invite">{}{}'
                        '<label for="channel-{}" class="visually-hidden">{}</label>'
                        '<select name="channel" id="channel-{}">{}</select>'
                        '<label for="sent-{}" class="visually-hidden">{}</label>'
                        '<input type="date" name="sent_on" id="sent-{}" value="{}">'
                        '<button type="submit" class="secondary">{}</button></form>',
                        urls.of_task(urls.invite, pk),
                        csrf,
                        back,
                        pk,
                        t["channel"],
                        pk,
                        channels,
                        pk,
                        t["sent"],
                        pk,
                        sent_on,
                        nth_invitation % {"n": invitations + 1} if invitations else t["register"],
                    )
                )
            if team:
                forms.append(
                    format_html(
                        '<form method="post" action="{}" class="inline assign">{}{}'
                        '<input type="hidden" name="version" value="{}">'
                        '<label for="assign-{}" class="visually-hidden">{}</label>'
                        '<select name="assigned_user" id="assign-{}">'
                        '<option value="">{}</option>{}</select>'
                        '<button type="submit" class="secondary">{}</button></form>',
                        urls.of_task(urls.assign, pk),
                        csrf,
                        back,
                        _number(int(task.version)),
                        pk,
                        t["give_to"],
                        pk,
                        t["give"],
                        members,
                        t["hand_over"],
                    )
                )
        rows.append(
            format_html(
                '<tr id="task-{}">{}<td class="actions no-print">{}</td></tr>',
                pk,
                mark_safe("".join(cells)),  # each cell made by format_html
                mark_safe("".join(forms)),  # each form made by format_html
            )
        )
    return mark_safe("\n".join(rows))  # each row made by format_html


def _day(value: Any) -> str:
    """A date as the pages show it (31.12.2023), '' for none (the template's ``|date``)."""
    return f"{value:%d.%m.%Y}" if value else ""


def evidence_rows(evidence: Iterable[tuple[Any, str]]) -> SafeString:
    """The patient page's rows of target-group evidence: (evidence, code text) pairs."""
    from pht.app.care.models import ConditionChoice, TargetGroupChoice

    groups = {k: str(v) for k, v in TargetGroupChoice.choices}
    conditions = {k: str(v) for k, v in ConditionChoice.choices}
    conditions |= {
        "frailty": gettext("skrøpelighet"),
        "weak_demander": gettext("svak etterspørsel"),
    }
    sources = {
        "contacts": gettext("kontakter hos fastlege"),
        "admissions": gettext("sykehusopphold"),
        "prescriptions": gettext("resepter"),
        "services": gettext("kommunale tjenester"),
    }
    h = [gettext(x) for x in ("Målgruppe", "Tilstand", "Kode", "Dato", "Kilde")]
    return format_html_join(
        "",
        '<tr><td data-label="{}">{}</td><td data-label="{}">{}</td>'
        '<td data-label="{}">{} {} <span class="muted">{}</span></td>'
        '<td data-label="{}">{}</td><td data-label="{}">{}</td></tr>',
        (
            (
                h[0],
                groups.get(e.target_group, e.target_group),
                h[1],
                conditions.get(e.condition, e.condition),
                h[2],
                e.code,
                text,
                e.code_system,
                h[3],
                _day(e.evidence_date),
                h[4],
                sources.get(e.source, e.source),
            )
            for e, text in evidence
        ),
    )


def timeline_rows(events: Iterable[Any], kind: str) -> SafeString:
    """The patient page's rows of contacts (``contact``) or hospital stays (``admission``),
    each with its codes' texts."""
    from pht.app.care.codes import with_texts

    if kind == "contact":
        h = [gettext(x) for x in ("Dato", "Kontakt", "Koder")]
        cells = ((h[0], _day(e.start), h[1], e.title, h[2], with_texts(e.detail)) for e in events)
    else:
        h = [gettext(x) for x in ("Dato", "Opphold", "Diagnoser")]
        cells = (
            (h[0], f"{_day(e.start)}–{_day(e.end)}", h[1], e.title, h[2], with_texts(e.detail))
            for e in events
        )
    return format_html_join(
        "",
        '<tr><td data-label="{}">{}</td><td data-label="{}">{}</td>'
        '<td class="muted" data-label="{}">{}</td></tr>',
        cells,
    )


def recall_rows(
    recalls: list[Task], *, request: HttpRequest, today: Any, max_invitations: int
) -> dict[str, SafeString]:
    """The recall register's rows (``register``: select, patient, reason, due, invitations,
    assigned) and the rows of its "close without the check" list (``close``), each with
    their labels made once; the tasks come with their patient, assigned user and invitations
    (with who sent them) read beforehand."""
    urls = _Urls()
    close_url = conditional_escape(reverse("care:recall_close", kwargs={"pk": _PK}))
    kinds = _labels(dict(TaskKind.choices))
    conditions = _labels(dict(ConditionChoice.choices))
    roles = _labels(dict(AppRole.choices))
    channels = _labels(dict(Channel.choices))
    h = {
        k: conditional_escape(gettext(v))
        for k, v in {
            "patient": "Pasient",
            "reason": "Grunn",
            "due": "Frist",
            "invitations": "Innkallinger",
            "assigned": "Tildelt",
            "overdue": "forfalt",
            "none": "ingen ennå",
            "close_as": "Lukk som",
            "no_answer": "ikke svart",
            "declined": "reservert seg",
            "close": "Lukk",
        }.items()
    }
    choose = gettext("Velg %(name)s")
    csrf = format_html(
        '<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request)
    )
    back = format_html('<input type="hidden" name="next" value="{}">', request.get_full_path())
    register, close = [], []
    most = _number(int(max_invitations))
    for t in recalls:
        patient, full = t.patient, t.invitation_count >= max_invitations
        pk = _number(int(t.pk))
        sent = format_html_join(
            "",
            '<div class="invitation">{}. {} · {} · {}</div>',
            (
                (
                    _number(int(inv.number)),
                    _number(_day(inv.sent_on)),
                    channels.get(inv.channel, inv.channel),
                    inv.by.get_full_name() or inv.by.username,
                )
                for inv in t.invitations.all()
            ),
        ) or format_html('<span class="muted">{}</span>', h["none"])
        user = t.assigned_user if t.assigned_user_id else None
        register.append(
            format_html(
                '<tr class="recall-row" id="recall-{}">\n<td class="no-print">'
                '<input type="checkbox" name="tasks" value="{}" id="select-{}"{}>'
                '<label for="select-{}" class="visually-hidden">{}</label></td>\n'
                '<td data-label="{}"><a href="{}">{}</a><br><span class="muted">{}</span></td>\n'
                '<td data-label="{}">{}{}</td>\n<td data-label="{}">{}{}</td>\n'
                '<td data-label="{}">{}</td>\n<td data-label="{}">{}</td>\n</tr>',
                pk,
                pk,
                pk,
                mark_safe(" disabled") if full else "",
                pk,
                choose % {"name": patient.name},
                h["patient"],
                urls.of_patient(patient.uid),
                patient.name,
                _number(_day(patient.birth_date)),
                h["reason"],
                t.title,
                format_html(
                    '<br><span class="muted">{} · {}</span>',
                    kinds.get(t.kind, t.kind),
                    conditions.get(t.condition, t.condition),
                )
                if t.condition
                else "",
                h["due"],
                _number(_day(t.due)),
                format_html(' <span class="badge warn">{}</span>', h["overdue"])
                if t.due < today
                else "",
                h["invitations"],
                sent,
                h["assigned"],
                (user.get_full_name() or user.username)
                if user is not None
                else roles.get(t.assigned_role, t.assigned_role),
            )
        )
        close.append(
            format_html(
                "<tr><td>{} · {} ({}/{})</td><td>\n"
                '<form method="post" action="{}" class="inline">{}{}\n'
                '<label for="close-status-{}" class="visually-hidden">{}</label>\n'
                '<select name="status" id="close-status-{}">{}'
                '<option value="declined">{}</option></select>\n'
                '<button type="submit" class="secondary">{}</button></form></td></tr>',
                patient.name,
                t.title,
                _number(int(t.invitation_count)),
                most,
                urls.of_task(close_url, pk),
                csrf,
                back,
                pk,
                h["close_as"],
                pk,
                format_html('<option value="no_answer">{}</option>', h["no_answer"])
                if full
                else "",
                h["declined"],
                h["close"],
            )
        )
    return {
        "register": mark_safe("".join(register)),  # each row made by format_html
        "close": mark_safe("".join(close)),
    }
