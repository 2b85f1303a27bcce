"""Printed matter for patients, as PDF via WeasyPrint: recall letters (one page per patient,
printed as one batch) and "Min plan" (one page)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

MONTHS_NB = (
    *("januar", "februar", "mars", "april", "mai", "juni"),
    *("juli", "august", "september", "oktober", "november", "desember"),
)


def date_long(day: dt.date) -> str:
    """1. mars 2024."""
    return f"{day.day}. {MONTHS_NB[day.month - 1]} {day.year}"


def _pdf(html: str) -> bytes:
    from weasyprint import HTML

    return bytes(HTML(string=html).write_pdf())


def recall_letters_html(tasks: list[Any], *, sent_on: dt.date, by: Any) -> str:
    """The letters of *tasks* (one page each) as one HTML document, in Norwegian."""
    with translation.override("nb"):
        return render_to_string(
            "care/print/recall_letters.html",
            {
                "letters": [
                    {"task": t, "patient": t.patient, "practice": t.patient.practice} for t in tasks
                ],
                "date": date_long(sent_on),
                "by": by,
            },
        )


def recall_letters_pdf(tasks: list[Any], *, sent_on: dt.date, by: Any) -> bytes:
    """One PDF with a letter per recall in *tasks*."""
    return _pdf(recall_letters_html(tasks, sent_on=sent_on, by=by))


def min_plan_html(plan: Any, *, today: dt.date, upcoming: list[Any]) -> str:
    """The patient's one-page plan in plain Norwegian."""
    with translation.override("nb"):
        return render_to_string(
            "care/print/min_plan.html",
            {
                "plan": plan,
                "patient": plan.patient,
                "practice": plan.patient.practice,
                "today": date_long(today),
                "next_due": date_long(plan.next_due),
                "upcoming": [(date_long(t.due), t) for t in upcoming],
                "pdf": True,
            },
        )


def min_plan_pdf(plan: Any, *, today: dt.date, upcoming: list[Any]) -> bytes:
    """ "Min plan" as a PDF (one A4 page)."""
    return _pdf(min_plan_html(plan, today=today, upcoming=upcoming))
