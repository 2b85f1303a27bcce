"""Precompute the leaders' figures at ``pht app load``: both financing models per practice for
last year and this year (with what-if coefficients), and project funds for every scheme year.

All or nothing, in one transaction, with its audit entry (``data.load``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from pht.app.accounts.models import Practice
from pht.app.audit.log import record as audit
from pht.app.audit.models import AuditAction
from pht.app.dashboards.models import FinancingSnapshot, ProjectFundsYear
from pht.financing.snapshot import practice_snapshots, project_funds_by_year


def financing_years(as_of: dt.date) -> list[int]:
    """Last year and this year of *as_of*."""
    return [as_of.year - 1, as_of.year]


def compute(tables: Any, years: list[int], *, use_population: bool = True) -> dict[str, Any]:
    """The snapshots of *years* and the project funds of every year from 2018 to the last."""
    snaps = {y: practice_snapshots(tables, y, use_population=use_population) for y in years}
    funds = project_funds_by_year(tables, list(range(2018, max(years) + 1)))
    return {"snapshots": snaps, "funds": funds}


def store(figures: dict[str, Any], *, user: Any = None) -> dict[str, int]:
    """Replace the stored figures of the practices the app knows (others are skipped)."""
    known = set(Practice.objects.values_list("pk", flat=True))
    n_snap = n_funds = 0
    with transaction.atomic():
        for year, per_practice in figures["snapshots"].items():
            FinancingSnapshot.objects.filter(year=year).delete()
            FinancingSnapshot.objects.bulk_create(
                FinancingSnapshot(practice_id=pid, year=year, data=data)
                for pid, data in per_practice.items()
                if pid in known
            )
            n_snap += sum(1 for pid in per_practice if pid in known)
        ProjectFundsYear.objects.all().delete()
        rows = [
            ProjectFundsYear(
                practice_id=pid,
                year=year,
                gp_months=f["gp_months"],
                to_practice=Decimal(f["to_practice"]),
                to_municipality=Decimal(f["to_municipality"]),
            )
            for pid, years in figures["funds"].items()
            if pid in known
            for year, f in years.items()
        ]
        ProjectFundsYear.objects.bulk_create(rows)
        n_funds = len(rows)
        audit(
            user=user,
            action=AuditAction.LOAD,
            reason="økonomi og prosjektmidler",
            detail={"financing_snapshots": n_snap, "project_funds_rows": n_funds},
        )
    return {"snapshots": n_snap, "funds": n_funds}


def load_financing(tables: Any, as_of: dt.date, *, use_population: bool = True) -> dict[str, int]:
    """Compute and store the leaders' figures for the year of *as_of* and the year before."""
    return store(compute(tables, financing_years(as_of), use_population=use_population))
