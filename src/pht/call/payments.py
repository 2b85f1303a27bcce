"""Project-fund payments: per practice and municipality each year, pro rata per GP.

The granted practices' GPs are in the pilot from the decision's start date until the pilot's last
day; a GP who joins or leaves later (a :class:`GpChange`) counts only for the whole months in
which the GP takes part. The amounts come from :func:`pht.financing.project_funds.gp_month_funds`
(the scheme's dated rates per GP and year, pro-rated by month), so the call and the pilot's
project funds follow one rule. The payment list goes to the practices' and municipalities' bank
accounts from the application, and exports as CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from pht.call.application import Application
from pht.call.decisions import DecisionSet
from pht.call.rules import CallRules
from pht.core.errors import PhtError
from pht.core.money import Money, total
from pht.core.periods import Period
from pht.financing.project_funds import gp_month_funds

__all__ = [
    "GpChange",
    "PaymentLine",
    "gp_periods",
    "payment_list_csv",
    "payments_for_year",
]


class GpChange(BaseModel):
    """A GP who joins a granted practice, or leaves it, after the start."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    practice_orgnr: str
    hpr: str
    name: str = ""
    joins: dt.date | None = None  # first day in the pilot (a GP who was not in the application)
    left_last_day: dt.date | None = None  # last day in the pilot
    list_size: int | None = Field(default=None, ge=0)


@dataclass(frozen=True, slots=True)
class PaymentLine:
    """One payment of project funds for a year."""

    year: int
    recipient_kind: str  # practice | municipality
    recipient: str
    orgnr: str
    bank_account: str
    application_id: str
    municipality: str
    gps: int  # GPs with at least one month in the year
    gp_months: int
    amount: Money
    reference: str  # text on the payment

    def as_row(self) -> dict[str, object]:
        """The line as a flat row (for tables and CSV)."""
        return {
            "year": self.year,
            "recipient_kind": self.recipient_kind,
            "recipient": self.recipient,
            "orgnr": self.orgnr,
            "bank_account": self.bank_account,
            "municipality": self.municipality,
            "application_id": self.application_id,
            "gps": self.gps,
            "gp_months": self.gp_months,
            "amount": self.amount,
            "reference": self.reference,
        }


def gp_periods(
    app: Application,
    practice_orgnr: str,
    start: dt.date,
    end: dt.date,
    changes: Iterable[GpChange],
) -> dict[str, Period]:
    """Each GP's period in the pilot (HPR → half-open period) for one granted practice."""
    practice = next((p for p in app.practices if p.orgnr == practice_orgnr), None)
    if practice is None:
        raise PhtError(f"praksis {practice_orgnr} er ikke i søknaden", where=app.id)
    periods = {g.hpr: Period(start, end) for g in practice.participating_gps}
    for ch in changes:
        if ch.practice_orgnr != practice_orgnr:
            continue
        first = ch.joins or periods.get(ch.hpr, Period(start, end)).start
        stop = end if ch.left_last_day is None else min(end, ch.left_last_day + dt.timedelta(1))
        if stop < first:
            raise PhtError(f"fastlege {ch.hpr} slutter før hen starter", where=practice_orgnr)
        periods[ch.hpr] = Period(max(first, start), stop)
    return periods


def payments_for_year(
    decisions: DecisionSet,
    applications: Sequence[Application],
    rules: CallRules,
    year: int,
    *,
    changes: Iterable[GpChange] = (),
) -> list[PaymentLine]:
    """The payment list for *year*: one line per granted practice and one per municipality."""
    if not decisions.approved:
        raise PhtError(
            "vedtakene er ikke godkjent av en annen saksbehandler; ingen utbetaling",
            where=decisions.call_id,
        )
    changes = tuple(changes)
    by_id = {a.id: a for a in applications}
    end = rules.pilot_last_day + dt.timedelta(1)
    lines: list[PaymentLine] = []
    for d in decisions.granted:
        app = by_id[d.application_id]
        muni_parts: list[Money] = []
        muni_gps = 0
        muni_months = 0
        for gp in d.practices:
            practice = next(p for p in app.practices if p.orgnr == gp.orgnr)
            periods = gp_periods(app, gp.orgnr, gp.start, end, changes)
            funds = gp_month_funds(rules.scheme, periods.values(), year)
            if funds.gp_months == 0:
                continue
            active = sum(1 for p in periods.values() if _months(p, year))
            lines.append(
                PaymentLine(
                    year=year,
                    recipient_kind="practice",
                    recipient=gp.name,
                    orgnr=gp.orgnr,
                    bank_account=practice.bank_account,
                    application_id=app.id,
                    municipality=app.name,
                    gps=active,
                    gp_months=funds.gp_months,
                    amount=funds.to_practice,
                    reference=f"Prosjektmidler primærhelseteam {year}, {funds.gp_months} "
                    "fastlegemåneder",
                )
            )
            muni_parts.append(funds.to_municipality)
            muni_gps += active
            muni_months += funds.gp_months
        if muni_parts:
            lines.append(
                PaymentLine(
                    year=year,
                    recipient_kind="municipality",
                    recipient=f"{app.name} kommune" if not app.synthetic else app.name,
                    orgnr=app.applicant.orgnr,
                    bank_account=app.applicant.bank_account,
                    application_id=app.id,
                    municipality=app.name,
                    gps=muni_gps,
                    gp_months=muni_months,
                    amount=total(muni_parts),
                    reference=f"Prosjektmidler primærhelseteam {year} (kommunens andel), "
                    f"{muni_months} fastlegemåneder",
                )
            )
    return lines


def _months(period: Period, year: int) -> bool:
    from pht.core.periods import calendar_year, month_starts

    inside = period.intersection(calendar_year(year))
    return inside is not None and any(True for _ in month_starts(inside))


def payment_list_csv(lines: Iterable[PaymentLine]) -> str:
    """The payment list as CSV (UTF-8, comma, header row; amounts in NOK with two decimals)."""
    buf = io.StringIO()
    rows = [line.as_row() for line in lines]
    cols = [
        "year",
        "recipient_kind",
        "recipient",
        "orgnr",
        "bank_account",
        "municipality",
        "application_id",
        "gps",
        "gp_months",
        "amount",
        "reference",
    ]
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        amount = r["amount"]
        assert isinstance(amount, Money)
        writer.writerow({**r, "amount": f"{amount.rounded().amount:.2f}"})
    return buf.getvalue()
