"""The app's "today": the data's as-of date while the data are older than the calendar.

Due dates, overdue marks, the due list and the closing of recalls by data are all judged against
the day the data describe, so a demo on data that end 31.12.2023 shows the whole recall cycle as
on that day; once the data are as new as the calendar, the calendar rules. The header shows it.

Within one request the data's date is read once (a page asks for "today" several times: the
view, its forms and the header); a load between two requests shows on the next.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from django.utils import timezone

_UNREAD = object()
_request = threading.local()


def request_started(**kwargs: Any) -> None:
    """A request begins (``django.core.signals.request_started``): read the date afresh."""
    _request.data_date = _UNREAD


def request_finished(**kwargs: Any) -> None:
    """The request ended: forget the date (outside requests it is read at every call)."""
    _request.__dict__.pop("data_date", None)


def data_date() -> dt.date | None:
    """The as-of date of the newest load (None before the first)."""
    from pht.app.care.models import LoadRun

    known = getattr(_request, "data_date", None)
    if known is not None and known is not _UNREAD:
        return known  # type: ignore[no-any-return]
    day = LoadRun.objects.order_by("-at", "-pk").values_list("as_of", flat=True).first()
    if known is _UNREAD and day is not None:
        _request.data_date = day
    return day


def today() -> dt.date:
    """The app's today: the data's as-of date if it is before the calendar's date."""
    calendar = timezone.localdate()
    as_of = data_date()
    return as_of if as_of is not None and as_of < calendar else calendar


def is_data_date() -> bool:
    """Whether :func:`today` is the data's date rather than the calendar's."""
    as_of = data_date()
    return as_of is not None and as_of < timezone.localdate()
