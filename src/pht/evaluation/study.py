"""One evaluation study: the window, the panel, the practices and their comparisons, estimates.

:class:`Study` ties the rooms of the evaluation together for the command line, the report and
the validation: it builds the person-quarter panel once (cached on the backend), chooses the
comparison practices, and estimates each indicator overall, by financing model and by target
group, on the person-level or practice-level panel.
"""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from pht.core.errors import PhtError
from pht.core.tables import materialise, release
from pht.evaluation import did
from pht.evaluation.comparison import (
    Comparison,
    choose_comparison,
    first_start,
    practice_features,
    practice_info,
)
from pht.evaluation.indicators import (
    GROUPS,
    Indicator,
    Tables,
    _data,
    indicator_cells,
    person_quarter_panel,
    quarter_index,
    quarter_label,
    targets_from_diagnoses,
    targets_from_truth,
)

__all__ = ["SPLITS", "Study", "targets_from_population"]

#: What an estimate can be split by.
SPLITS = ("financing_model", "target_group")


def targets_from_population(tables: Tables, quarters: list[int]) -> pd.DataFrame:
    """Target groups from ``pht.population.target_groups`` as of each quarter's first day.

    A person counts from the first quarter the population room places them in a group (the
    evaluation keeps them in it afterwards: membership is an intention-to-treat population).
    """
    from pht.population import target_groups  # the population room (issue 5)

    parts = []
    for q in quarters:
        day = dt.date(q // 4, (q % 4) * 3 + 1, 1)
        tg = target_groups(tables, day)
        df = tg.select("person_id", "target_group", "condition").distinct().to_pandas()
        df["q"] = q
        parts.append(df)
    allq = pd.concat(parts, ignore_index=True)
    if allq.empty:
        return pd.DataFrame({"person_id": [], "group": [], "since": []})
    dm = allq[allq["condition"].isin(["diabetes", "copd"])].assign(target_group="diabetes_copd")
    allq = pd.concat([allq, dm], ignore_index=True)
    first = allq.groupby(["person_id", "target_group"], as_index=False)["q"].min()
    first["since"] = pd.to_datetime([dt.date(q // 4, (q % 4) * 3 + 1, 1) for q in first["q"]])
    out = first.rename(columns={"target_group": "group"})[["person_id", "group", "since"]]
    # The population room does not tell diabetes types apart: type 2 diabetes patients are
    # those with a contact coded T90 (targets_from_diagnoses), from that contact on.
    t2 = targets_from_diagnoses(tables)
    t2 = t2.filter(t2.group == "type2_diabetes").to_pandas()
    t2["since"] = pd.to_datetime(t2["since"])
    return pd.concat([out, t2[["person_id", "group", "since"]]], ignore_index=True)


@dataclass
class Study:
    """An evaluation over a window of quarters on one warehouse."""

    tables: Tables
    first_quarter: int
    last_quarter: int
    panel: ir.Table
    practices: pd.DataFrame
    comparison: Comparison
    target_source: str
    income: pd.DataFrame | None = None
    level: str | None = None  # panel for every indicator; None: each indicator's own
    _cells: dict[tuple[str, str, str | None], pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        tables: Tables,
        *,
        first_quarter: int | None = None,
        last_quarter: int | None = None,
        targets: pd.DataFrame | None = None,
        truth_dir: str | Path | None = None,
        income: pd.DataFrame | None = None,
        matches_per_pilot: int | None = None,
        use_population: bool = True,
    ) -> Study:
        """Build the panel and choose the comparison practices.

        Target groups come from *targets*, else the generator's *truth_dir*, else the population
        room, else the diagnosis fallback of indicators.toml. The window defaults to the quarters
        with contacts.
        """
        if first_quarter is None or last_quarter is None:
            c = tables.table("contacts")
            lo, hi = c.aggregate(lo=c.date.min(), hi=c.date.max()).to_pandas().iloc[0]
            if pd.isna(lo):
                raise PhtError("the warehouse has no contacts: load an extract first")
            first_quarter = first_quarter or quarter_index(pd.Timestamp(lo).date())
            last_quarter = last_quarter or quarter_index(pd.Timestamp(hi).date())
        source = "given"
        target_table: pd.DataFrame | ir.Table | None = targets
        if target_table is None and truth_dir is not None:
            target_table, source = targets_from_truth(truth_dir), "truth"
        if target_table is None and use_population:
            try:
                target_table = targets_from_population(
                    tables, list(range(first_quarter, last_quarter + 1))
                )
                source = "population"
            except ImportError:
                target_table = None
        if target_table is None:
            target_table, source = targets_from_diagnoses(tables), "diagnoses"
        panel = materialise(
            person_quarter_panel(
                tables, first_quarter=first_quarter, last_quarter=last_quarter, targets=target_table
            )
        )
        practices = practice_info(tables)
        feats = practice_features(tables, panel, practices, before_quarter=first_start(practices))
        comparison = choose_comparison(feats, matches_per_pilot=matches_per_pilot)
        return cls(
            tables=tables,
            first_quarter=first_quarter,
            last_quarter=last_quarter,
            panel=panel,
            practices=practices,
            comparison=comparison,
            target_source=source,
            income=income,
        )

    def release(self) -> None:
        """Drop the cached panel from the backend (call before closing the warehouse)."""
        release(self.panel)

    @property
    def default_estimator(self) -> str:
        """The estimator used when none is named (indicators.toml, [did])."""
        return str(_data()["did"]["estimator"])

    @property
    def period(self) -> str:
        """The data period as text."""
        return f"{quarter_label(self.first_quarter)}–{quarter_label(self.last_quarter)}"

    def sample_practices(self) -> pd.DataFrame:
        """The pilot practices and their comparisons, with start quarter and model."""
        ids = self.comparison.ids
        return self.practices[self.practices["practice_id"].isin(ids)]

    def cells(
        self,
        ind: Indicator,
        *,
        level: str | None = None,
        group: str | None = None,
        outcome: ir.Table | None = None,
    ) -> pd.DataFrame:
        """Indicator cells of the estimation sample with treatment columns attached.

        *outcome* (person_id, q, y) replaces the measured values (see ``indicator_cells``);
        such cells are not cached.
        """
        key = (ind.name, level or ind.level, group)
        if outcome is not None or key not in self._cells:
            raw = indicator_cells(
                self.tables,
                self.panel,
                ind,
                level=level,
                group=group,
                first_quarter=self.first_quarter,
                last_quarter=self.last_quarter,
                income=self.income,
                outcome=outcome,
            )
            cells = did.attach_treatment(raw, self.sample_practices())
            if outcome is not None:
                return cells
            self._cells[key] = cells
        return self._cells[key]

    def estimate(
        self,
        ind: Indicator,
        *,
        level: str | None = None,
        by: str | None = None,
        estimator: str | None = None,
        outcome: ir.Table | None = None,
    ) -> list[did.Estimate]:
        """The estimate overall, then one per financing model or target group (*by*).

        *outcome* (person_id, q, y) replaces the measured values (see ``indicator_cells``).
        """
        cfg = _data()["did"]
        est = estimator or self.default_estimator
        lvl = level or ind.level
        if level is None and self.level and not ind.practice_only:
            lvl = self.level
        kw: dict[str, Any] = {"indicator": ind.name, "level": lvl}
        overall = dict(kw)
        if est != "twfe":
            # the pre-trend test runs once, on all pilot practices
            overall.update(pre_quarters=int(cfg["pre_quarters"]), pretrend=True)
            kw["pretrend"] = False
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cells = self.cells(ind, level=lvl, outcome=outcome)
            out.append(did.fit(cells, est, split="all", **overall))
            if by == "financing_model":
                for model in ("fee", "grant"):
                    part = cells[
                        (cells["financing_model"] == model) | (cells["cohort"] == did.NEVER)
                    ]
                    try:
                        out.append(did.fit(part, est, split=model, **kw))
                    except PhtError:
                        continue
            elif by == "target_group":
                if ind.is_survey:
                    raise PhtError(f"{ind.name} is a survey item: no split by target group")
                for g in GROUPS:
                    try:
                        part = self.cells(ind, level=lvl, group=g, outcome=outcome)
                        out.append(did.fit(part, est, split=g, **kw))
                    except PhtError:
                        continue
            elif by is not None:
                raise PhtError(f"cannot split by {by!r}; choose one of {', '.join(SPLITS)}")
        return out

    def trends(self, ind: Indicator, *, by_model: bool = False) -> pd.DataFrame:
        """The indicator per quarter for pilot and comparison practices (unsuppressed).

        Columns: q, quarter, arm (pilot/comparison, or pilot fee/grant), n, n_event, value.
        """
        cells = self.cells(ind, level="practice")
        arm = pd.Series("comparison", index=cells.index)
        pilot = cells["cohort"] < did.NEVER
        arm[pilot] = "pilot"
        if by_model:
            arm[pilot] = "pilot " + cells.loc[pilot, "financing_model"].astype(str)
        grouped = (
            cells.assign(arm=arm)
            .groupby(["q", "arm"], as_index=False)
            .agg(n=("n", "sum"), n_event=("n_event", "sum"), y_sum=("y_sum", "sum"))
        )
        grouped["value"] = grouped["y_sum"] / grouped["n"]
        grouped["quarter"] = grouped["q"].map(quarter_label)
        return grouped[["q", "quarter", "arm", "n", "n_event", "value"]]
