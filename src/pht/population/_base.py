"""Shared building blocks: the tables protocol, date arithmetic as Ibis expressions, long tables.

Every function here returns an Ibis expression and runs on any backend Ibis supports (DuckDB by
default, PySpark for national scale); nothing loops over persons in Python.

Dates: the as-of date is the first day *not* seen. Events count when ``start <= date < as_of``;
a look-back of 24 months before 1 January 2023 starts on 1 January 2021.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from pht.reference.value_sets import CodeEntry

__all__ = [
    "Tables",
    "add_months",
    "age_at",
    "code_matches",
    "diagnosis_events",
    "gp_contacts",
    "months_since",
    "persons_alive",
    "split_codes",
    "tariff_events",
]


class Tables(Protocol):
    """Anything with ``.table(name)`` returning the Ibis table of the extract format."""

    def table(self, name: str) -> ir.Table: ...


def add_months(day: dt.date, months: int) -> dt.date:
    """*day* moved by *months* (negative: back), clamped to the month's last day."""
    total = day.year * 12 + (day.month - 1) + months
    year, month = divmod(total, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def months_since(as_of: dt.date, earlier: ir.DateValue) -> ir.IntegerValue:
    """Whole months from *earlier* to *as_of* (14 for 2021-10-15 → 2022-12-20)."""
    whole = (as_of.year * 12 + as_of.month) - (earlier.year() * 12 + earlier.month())
    return (whole - (earlier.day() > as_of.day).cast("int64")).cast("int64")


def age_at(birth: ir.DateValue, as_of: dt.date) -> ir.IntegerValue:
    """Age in whole years on *as_of*."""
    before_birthday = (birth.month() > as_of.month) | (
        (birth.month() == as_of.month) & (birth.day() > as_of.day)
    )
    return (as_of.year - birth.year() - before_birthday.cast("int64")).cast("int64")


def persons_alive(tables: Tables, as_of: dt.date) -> ir.Table:
    """Persons born before and not dead by *as_of*: person_id, sex, birth_date, age."""
    p = tables.table("persons")
    alive = p.filter((p.birth_date < as_of) & (p.death_date.isnull() | (p.death_date >= as_of)))
    return alive.select("person_id", "sex", "birth_date", age=age_at(alive.birth_date, as_of))


_WHITESPACE = "\t\n\r\v\f"


def split_codes(codes: ir.StringValue, *, upper: bool) -> ir.ArrayValue:
    """The space-separated codes of *codes*, cleaned: other whitespace counts as a space, dots
    are dropped and letters upper-cased (lower-cased with ``upper=False``). Empty tokens remain
    (the caller drops them).

    The cleaning is done on the whole string before it is split, so on DuckDB it runs once per
    distinct string of the dictionary-compressed column, not once per code.
    """
    text = codes.translate(_WHITESPACE, " " * len(_WHITESPACE)).replace(".", "")
    text = text.upper() if upper else text.lower()
    return text.split(" ")


def _clean(code: ir.StringValue) -> ir.StringValue:
    return code.strip().upper().replace(".", "")


def diagnosis_events(tables: Tables, start: dt.date, as_of: dt.date) -> ir.Table:
    """Every coded diagnosis in ``[start, as_of)`` as one long table.

    Columns: person_id, contact_id (null for admissions), date, code, code_system, source.
    ICPC-2 codes come from contacts.diagnoses (space-separated, exploded once here); ICD-10 codes
    from admissions' main and other diagnoses, dated on the day of discharge.
    """
    c = tables.table("contacts")
    c = c.filter((c.date >= start) & (c.date < as_of) & c.diagnoses.notnull())
    contacts = c.select(
        "person_id",
        contact_id=c.contact_id,
        date=c.date,
        code=split_codes(c.diagnoses, upper=True).unnest(),
    )
    contacts = contacts.mutate(code_system=ibis.literal("ICPC-2"), source=ibis.literal("contacts"))
    a = tables.table("admissions")
    a = a.filter((a.discharged >= start) & (a.discharged < as_of))
    main = a.select(
        "person_id",
        contact_id=ibis.null("string"),
        date=a.discharged,
        code=_clean(a.main_diagnosis),
    )
    others = a.filter(a.other_diagnoses.notnull()).select(
        "person_id",
        contact_id=ibis.null("string"),
        date=a.discharged,
        code=split_codes(a.other_diagnoses, upper=True).unnest(),
    )
    admissions = main.union(others).mutate(
        code_system=ibis.literal("ICD-10"), source=ibis.literal("admissions")
    )
    both = contacts.union(admissions)
    return both.filter(both.code != "")


def tariff_events(tables: Tables, start: dt.date, as_of: dt.date) -> ir.Table:
    """Every tariff code of the contacts in ``[start, as_of)``: contact_id, person_id, date,
    practitioner_id, setting, tariff."""
    c = tables.table("contacts")
    c = c.filter((c.date >= start) & (c.date < as_of) & c.tariffs.notnull())
    long = c.select(
        "contact_id",
        "person_id",
        "date",
        "practitioner_id",
        "setting",
        tariff=split_codes(c.tariffs, upper=False).unnest(),
    )
    return long.filter(long.tariff != "")


def gp_contacts(tables: Tables, start: dt.date, as_of: dt.date) -> ir.Table:
    """Contacts in ``[start, as_of)`` with a GP, not out-of-hours: person_id, date, contact_id."""
    c = tables.table("contacts")
    pr = tables.table("practitioners")
    gps = pr.filter(pr.role == "gp").select("practitioner_id").distinct()
    c = c.filter((c.date >= start) & (c.date < as_of) & (c.setting != "out_of_hours"))
    return c.semi_join(gps, "practitioner_id").select("person_id", "date", "contact_id")


def code_matches(
    events: ir.Table, entries: tuple[CodeEntry, ...] | list[CodeEntry], *, key: str
) -> ir.Table:
    """Events whose code starts with a value-set code of the same code system.

    Prefix matching is one equi-join on the first characters (as many as the shortest value-set
    code of the code system has) followed by a prefix test, so the events are read once and there
    is no non-equi join. One row per event and matching entry (as many as the entries that match).
    Adds the column *key* (the condition or deficit of the matched entry).
    """
    entries = list(entries)
    if not entries:
        return events.mutate(**{key: ibis.null("string")}).limit(0)
    shortest: dict[str, int] = {}
    for e in entries:
        shortest[e.code_system] = min(shortest.get(e.code_system, len(e.code)), len(e.code))
    vs = ibis.memtable(
        pa.table(
            {
                "_vs_system": [e.code_system for e in entries],
                "_vs_prefix": [e.code.upper()[: shortest[e.code_system]] for e in entries],
                "_vs_code": [e.code.upper() for e in entries],
                key: [e.key for e in entries],
            }
        )
    )
    ev = events.filter(events.code_system.isin(list(shortest)))
    length = ibis.cases(*[(ev.code_system == s, n) for s, n in shortest.items()], else_=0)
    ev = ev.mutate(_prefix=ev.code.substr(0, length))
    joined = ev.join(vs, [ev.code_system == vs._vs_system, ev._prefix == vs._vs_prefix])
    joined = joined.filter(joined.code.startswith(joined._vs_code))
    return joined.select(*events.columns, key)
