"""Tariff codes (takstkoder) the project knows: normaltariff, operating-grant activity codes and
the nurse codes of the fee model (``data/tariff_codes.csv``).

This file says what each code *is* (provider, model, KPR contact type, validity). Amounts (fee,
refund, co-payment) change by year and are financing reference data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from pht.core.errors import ReferenceDataError
from pht.core.periods import Period
from pht.reference.files import read_csv

__all__ = ["CONTACT_TYPES", "TariffCode", "tariff_codes"]

_FILE = "tariff_codes.csv"

# KPR contact types; precedence when one claim has several codes: home visit > interdisciplinary
# (other agencies) > consultation > e-consultation > simple contact > supplement (SKDE-SAS).
CONTACT_TYPES = (
    "home_visit",
    "other_agencies",
    "consultation",
    "e_consultation",
    "simple_contact",
    "supplement",
)


@dataclass(frozen=True, slots=True)
class TariffCode:
    """One tariff code and what it stands for."""

    code: str
    title_nb: str
    title_en: str
    provider: str  # gp, nurse or any
    model: str  # fee, grant or both
    contact_type: str
    valid: Period
    status: str
    source: str


@cache
def tariff_codes() -> dict[str, TariffCode]:
    """Every known tariff code, keyed by code."""
    out: dict[str, TariffCode] = {}
    for line, row in enumerate(read_csv(_FILE), start=2):
        where = f"{_FILE}:{line}"
        if row["contact_type"] not in CONTACT_TYPES:
            raise ReferenceDataError(f"unknown contact type {row['contact_type']!r}", where=where)
        if row["provider"] not in ("gp", "nurse", "any") or row["model"] not in (
            "fee",
            "grant",
            "both",
        ):
            raise ReferenceDataError("provider or model not known", where=where)
        if row["code"] in out:
            raise ReferenceDataError(f"code {row['code']} listed twice", where=where)
        last = row["last_day"] or None
        out[row["code"]] = TariffCode(
            code=row["code"],
            title_nb=row["title_nb"],
            title_en=row["title_en"],
            provider=row["provider"],
            model=row["model"],
            contact_type=row["contact_type"],
            valid=Period.from_last_day(
                dt.date.fromisoformat(row["valid_from"]),
                dt.date.fromisoformat(last) if last else None,
            ),
            status=row["status"],
            source=row["source"],
        )
    return out
