"""The recall cycle of ``make run``'s demo, on the data's date, through the team's own actions.

In every scheme practice the health secretary opens a recall for each listed patient whose
diabetes check is overdue (the register's "opprett innkallinger"), invites the first
:data:`INVITED` of them by letter in one action, and the nurse records a structured diabetes
check for :data:`CHECKED` of the invited, which closes their recalls at once. So the secretary's
recall register, the nurse's due list and the dashboards' annual-check figures show a cycle
in every state (open, invited, done) the first time the demo is opened. Every step is an
action with its audit row; the values are synthetic. Runs once per app database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pht.app.accounts.models import AppRole, Practice, Profile
from pht.app.care import actions, clock
from pht.app.care.models import Channel, Task, TaskKind

CONDITION = "diabetes"
INVITED = 6
CHECKED = 2


@dataclass
class DemoRecalls:
    """What the demo did."""

    recalls: int = 0
    invited: int = 0
    checked: int = 0
    skipped: bool = False


def _member(practice: Practice, role: AppRole) -> object | None:
    profile = (
        Profile.objects.filter(practice=practice, role=role)
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    return None if profile is None else profile.user


def _values(n: int) -> dict[str, object]:
    """A plausible diabetes check, a little different per patient."""
    return {
        "hba1c": 50 + 3 * n,
        "bp_systolic": 132 + 4 * n,
        "bp_diastolic": 80 + n,
        "ldl": round(2.4 + 0.3 * n, 1),
        "egfr": 78 - 5 * n,
        "foot_exam": True,
        "smoking": "never" if n % 2 == 0 else "former",
    }


def load_demo_recalls() -> DemoRecalls:
    """Run the demo's recall cycle in every scheme practice (once per database)."""
    out = DemoRecalls()
    if Task.objects.filter(kind=TaskKind.ANNUAL_CHECK).exists():
        out.skipped = True
        return out
    today: dt.date = clock.today()
    for practice in Practice.objects.exclude(financing_model="").order_by("name"):
        secretary = _member(practice, AppRole.SECRETARY)
        nurse = _member(practice, AppRole.NURSE)
        if secretary is None or nurse is None:
            continue
        recalls = actions.do_create_overdue_recalls(
            user=secretary, practice=practice, condition=CONDITION
        )
        out.recalls += len(recalls)
        invited = recalls[:INVITED]
        if not invited:
            continue
        actions.do_invite_many(user=secretary, tasks=invited, channel=Channel.LETTER, sent_on=today)
        out.invited += len(invited)
        for n, task in enumerate(invited[:CHECKED]):
            actions.do_record_annual_check(
                user=nurse,
                patient=task.patient,
                condition=CONDITION,
                date=today,
                values=_values(n),
                note="Årskontroll etter innkalling (demo).",
            )
            out.checked += 1
    return out
