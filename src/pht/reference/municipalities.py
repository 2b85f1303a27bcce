"""Municipality numbers over time (``data/municipality_codes.csv``).

Municipality numbers changed in the 2018, 2020 and 2024 reforms: mergers (Eid and Selje became
Stad) and new county numbers (Seljord 0828 → 3820 → 4022). Registry data from 2015–2023 carry the
number valid on the day they describe; :func:`translate_code` maps any of them to the number valid
on another day, so that data from different years join.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from pht.core.errors import NotFound, ReferenceDataError
from pht.core.periods import Period
from pht.reference.files import read_csv

__all__ = ["MunicipalityCode", "municipality_codes", "translate_code"]

_FILE = "municipality_codes.csv"


@dataclass(frozen=True, slots=True)
class MunicipalityCode:
    """One municipality number and the period it was in use."""

    code: str
    name: str
    valid: Period
    successor: str | None
    note: str
    source: str


@cache
def municipality_codes() -> dict[str, MunicipalityCode]:
    """Every known municipality number, keyed by number."""
    out: dict[str, MunicipalityCode] = {}
    for line, row in enumerate(read_csv(_FILE), start=2):
        code = row["code"]
        if len(code) != 4 or not code.isdigit():
            raise ReferenceDataError(f"code {code!r} is not 4 digits", where=f"{_FILE}:{line}")
        last = row["last_day"] or None
        out[code] = MunicipalityCode(
            code=code,
            name=row["name"],
            valid=Period.from_last_day(
                dt.date.fromisoformat(row["valid_from"]),
                dt.date.fromisoformat(last) if last else None,
            ),
            successor=row["successor"] or None,
            note=row["note"],
            source=row["source"],
        )
    for code, item in out.items():
        if item.successor and item.successor not in out:
            raise ReferenceDataError(
                f"successor {item.successor} of {code} is not listed", where=_FILE
            )
    return out


def translate_code(code: str, on: dt.date) -> str:
    """The number, valid on *on*, of the municipality that *code* denoted.

    Follows successors forward (1443 Eid → 4649 Stad) and, for a date before *code* came into
    use, predecessors backward when there is exactly one (4022 Seljord → 3820 → 0828). A merged
    municipality has several predecessors; asking for its number before the merger is an error.
    """
    codes = municipality_codes()
    if code not in codes:
        raise NotFound(f"unknown municipality number {code!r}", where=_FILE)
    current = codes[code]
    while current.valid.end is not None and on >= current.valid.end and current.successor:
        current = codes[current.successor]
    while on < current.valid.start:
        preds = [c for c in codes.values() if c.successor == current.code]
        if len(preds) != 1:
            names = ", ".join(sorted(p.name for p in preds)) or "none"
            raise NotFound(
                f"{current.name} ({current.code}) did not exist on {on}; predecessors: {names}",
                where=_FILE,
            )
        current = preds[0]
    return current.code
