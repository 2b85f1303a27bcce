"""The app's "today": the data's as-of date while the data are older than the calendar.

Due dates, overdue marks, the due list and the closing of recalls by data are all judged against
the day the data describe, so a demo on data that end 31.12.2023 shows the whole recall cycle as
on that day; once the data are as new as the calendar, the calendar rules. The header shows it.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def data_date() -> dt.date | None:
    """The as-of date of the newest load (None before the first)."""
    from pht.app.care.models import LoadRun

    return LoadRun.objects.order_by("-at", "-pk").values_list("as_of", flat=True).first()


def today() -> dt.date:
    """The app's today: the data's as-of date if it is before the calendar's date."""
    calendar = timezone.localdate()
    as_of = data_date()
    return as_of if as_of is not None and as_of < calendar else calendar


def is_data_date() -> bool:
    """Whether :func:`today` is the data's date rather than the calendar's."""
    as_of = data_date()
    return as_of is not None and as_of < timezone.localdate()
