"""The synthetic pilot's survey cycle for ``make run``: invitations sent, answers received.

For every practice in the scheme, its highest-ranked worklist patients are invited twice (about
six months and three weeks before the data's last day) to WHO-5, and the second time also to
pht's patient-experience questions, mostly by SMS, some by e-mail, a few by letter with a QR
code. The outbox sends them with its configured senders (the file sender by default:
``$PHT_HOME/outbox``). About two in three simulated patients open the link from the message,
answer screen by screen and send in; the others get their one reminder. The answers then go to
the warehouse as one load batch, so the evaluation's survey indicators include them. Synthetic
answers from a seeded generator: nothing here is a real person's answer. Runs once per app
database.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils import timezone

from pht.app.accounts.models import Practice
from pht.app.care.models import Patient
from pht.app.outbox.actions import send_pending
from pht.app.outbox.models import Message
from pht.app.surveys import actions, links
from pht.app.surveys.models import SurveyInvitation, Wave
from pht.reference.surveys import instrument

LINK = re.compile(r"/s/([A-Za-z0-9_\-]{20,})")
PER_PRACTICE = 8


@dataclass
class DemoSummary:
    """What the demo did."""

    invitations: int = 0
    sent: int = 0
    answered: int = 0
    reminders: int = 0
    warehouse_rows: int = 0
    batch: str = ""
    skipped: bool = False


def _token(inv: SurveyInvitation, when: dt.datetime) -> str:
    """The link the patient got: read back from what the file sender wrote, else a fresh one
    (another sender keeps its messages elsewhere)."""
    msg = Message.objects.filter(pk=inv.message_id).first()
    if msg is not None and msg.receipt and Path(msg.receipt).is_file():
        found = LINK.findall(Path(msg.receipt).read_text(encoding="utf-8", errors="replace"))
        if found:
            return str(found[-1])
    return links.new_link(inv, kind="invitation", now=when)


def _answers(instrument_id: str, rng: random.Random, level: float) -> list[dict[str, float]]:
    """Screen-by-screen answers: values near the patient's *level* (0 bad … 1 good)."""
    ins = instrument(instrument_id)
    out = []
    for group in ins.group:
        page: dict[str, float] = {}
        for q in group.questions:
            values = sorted(ins.option_set(q).values)
            x = min(max(level + rng.gauss(0, 0.15), 0.0), 1.0)
            if q.reverse:
                x = 1 - x
            page[q.id] = values[round(x * (len(values) - 1))]
        out.append(page)
    return out


def _round(
    patients: list[Patient],
    instruments: list[str],
    wave: str,
    when: dt.datetime,
    rng: random.Random,
    levels: dict[int, float],
    summary: DemoSummary,
) -> None:
    invited: list[SurveyInvitation] = []
    for i, patient in enumerate(patients):
        channel = "letter" if i == 0 and rng.random() < 0.2 else ("email" if i % 4 == 1 else "sms")
        for ins in instruments:
            try:
                inv = actions.invite(
                    user=None,
                    patient=patient,
                    instrument_id=ins,
                    channel=channel,
                    recipient=actions.synthetic_contact(patient, channel),
                    wave=wave,
                    source="demo",
                    now=when,
                )
            except actions.SurveyError:
                continue
            invited.append(inv)
    summary.invitations += len(invited)
    summary.sent += send_pending(now=when).sent
    answer_at = when + dt.timedelta(days=2)
    for inv in invited:
        if rng.random() > 0.67:
            continue
        response = actions.open_link(_token(inv, when), now=answer_at)
        lang = rng.choice(["nb"] * 8 + ["nn", "en"])
        if lang not in instrument(inv.instrument).instrument.languages:
            lang = "nb"
        for page in _answers(inv.instrument, rng, levels[inv.patient_id]):
            actions.save_answers(response, page, language=lang, now=answer_at)
        actions.submit(response, now=answer_at)
        summary.answered += 1
    summary.reminders += send_pending(now=when + actions.REMIND_AFTER + dt.timedelta(hours=1)).sent


def load_demo_surveys(*, warehouse: Any = None, seed: int = 2018) -> DemoSummary:
    """Run the demo's survey cycle once (skipped when the app already has demo invitations)."""
    summary = DemoSummary()
    if SurveyInvitation.objects.filter(source="demo").exists():
        summary.skipped = True
        return summary
    as_of = (
        Patient.objects.exclude(as_of=None)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    if as_of is None:
        return summary
    tz = timezone.get_current_timezone()
    # (nosec B311: the demo's synthetic answers need a seeded generator, not a secret one)
    rng = random.Random(seed)  # nosec B311
    first = dt.datetime.combine(as_of - dt.timedelta(days=180), dt.time(9), tzinfo=tz)
    second = dt.datetime.combine(as_of - dt.timedelta(days=21), dt.time(9), tzinfo=tz)
    for practice in Practice.objects.exclude(financing_model="").order_by("practice_id"):
        patients = list(
            Patient.objects.filter(practice=practice, listed=True, flagged=True, death_date=None)
            .exclude(target_groups="")
            .select_related("practice")
            .order_by("rank")[:PER_PRACTICE]
        )
        levels = {p.pk: rng.betavariate(4, 2) for p in patients}
        _round(patients, ["who5"], Wave.START, first, rng, levels, summary)
        _round(patients, ["who5", "prem"], Wave.MONTH_6, second, rng, levels, summary)
    if warehouse is not None:
        from pht.app.surveys.warehouse import load_answers

        loaded = load_answers(warehouse)
        summary.warehouse_rows, summary.batch = loaded.rows, loaded.batch
    return summary
