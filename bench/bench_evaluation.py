"""Person-level difference-in-differences over a national-size panel (~5.5 million persons).

The bench builds a person-quarter panel as the evaluation sees it (one row per listed person and
quarter, 2015-2022 by quarter, ~1,600 practices of which 17 in the pilot: 13 starting 2018Q2,
4 in 2020Q2; one in ten persons joins or leaves a list during the period; GP consultations drawn
with an additive planted effect of 0.05 per person-quarter) in a DuckDB file, then times what
the evaluation does with it: the cells of the person-level panel (one Ibis group-by over every
row), the comparison practices (nearest neighbours on pre-period features), and the ETWFE
regression with person-spell fixed effects and errors clustered by practice. Figures: seconds
per step and the process's peak resident memory (which includes DuckDB's).

    .venv/bin/python -m bench evaluation          (PHT_BENCH_PERSONS=200000 for a quick run)
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
import warnings
from pathlib import Path

import ibis
import pandas as pd

from pht.evaluation import did
from pht.evaluation.comparison import choose_comparison
from pht.evaluation.indicators import indicator, indicator_cells, quarter_index

PERSONS = int(os.environ.get("PHT_BENCH_PERSONS", "5500000"))
PRACTICES = max(40, PERSONS // 3_400)
PILOT = 17
Q0, Q1 = (
    quarter_index(pd.Timestamp("2015-01-01").date()),
    quarter_index(pd.Timestamp("2022-12-31").date()),
)
EARLY, LATE = (
    quarter_index(pd.Timestamp("2018-04-01").date()),
    quarter_index(pd.Timestamp("2020-04-01").date()),
)
EFFECT = 0.05


def _build_panel(con: ibis.BaseBackend) -> None:
    """The person-quarter panel, generated inside DuckDB."""
    raw = con.con  # type: ignore[attr-defined]
    raw.execute(
        f"""
        CREATE OR REPLACE TABLE spells AS
        SELECT i AS person_id,
               lpad(CAST(i % {PRACTICES} AS VARCHAR), 9, '0') AS practice_id,
               CASE WHEN hash(i, 1) % 20 = 0 THEN {Q0} + hash(i, 2) % 30 ELSE {Q0} END
                   AS spell_first,
               CASE WHEN hash(i, 3) % 20 = 0 THEN {Q1} - hash(i, 4) % 20 ELSE {Q1} END
                   AS spell_last,
               0.4 + (hash(i, 5) % 1000) / 1000.0 AS need
        FROM range({PERSONS}) t(i)
        """
    )
    raw.execute("DELETE FROM spells WHERE spell_last < spell_first")
    raw.execute(
        f"""
        CREATE OR REPLACE TABLE panel AS
        SELECT s.person_id, s.practice_id, q.q, s.spell_first, s.spell_last,
               CAST(floor(s.need * (0.55 + 0.01 * (q.q - {Q0}))
                    + CASE WHEN p.pilot AND q.q >= p.start_q THEN {EFFECT} ELSE 0 END
                    + random()) AS BIGINT) AS m_gp_consultations
        FROM spells s
        JOIN range({Q0}, {Q1} + 1) q(q) ON q.q BETWEEN s.spell_first AND s.spell_last
        JOIN (SELECT lpad(CAST(k AS VARCHAR), 9, '0') AS practice_id, k < {PILOT} AS pilot,
                     CASE WHEN k < 13 THEN {EARLY} ELSE {LATE} END AS start_q
              FROM range({PRACTICES}) t(k)) p USING (practice_id)
        """
    )


def run() -> list[dict[str, object]]:
    warnings.simplefilter("ignore")
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        con = ibis.duckdb.connect(str(Path(tmp) / "bench.duckdb"))
        con.raw_sql("SET threads = 2; SET memory_limit = '8GB'")
        t0 = time.perf_counter()
        _build_panel(con)
        panel = con.table("panel")
        n_rows = int(panel.count().execute())
        t1 = time.perf_counter()
        ind = indicator("gp_consultations")
        cells = indicator_cells(
            None,  # type: ignore[arg-type]
            panel,
            ind,
            level="person",
            first_quarter=Q0,
            last_quarter=Q1,
        )
        t2 = time.perf_counter()
        practices = pd.DataFrame({"practice_id": sorted(cells["practice_id"].unique())})
        k = practices["practice_id"].astype(int).to_numpy()
        practices["pilot"] = k < PILOT
        practices["start_q"] = pd.array(
            [(EARLY if i < 13 else LATE) if i < PILOT else None for i in k], dtype="Int64"
        )
        practices["financing_model"] = ["fee" if i < PILOT else None for i in k]
        pre = (
            cells[cells["q"] < EARLY]
            .groupby("practice_id", as_index=False)
            .agg(person_quarters=("n", "sum"), y=("y_sum", "sum"))
        )
        feats = pre.merge(practices, on="practice_id")
        feats["listed"] = feats["person_quarters"] / (EARLY - Q0)
        feats["gp_consultations"] = feats["y"] / feats["person_quarters"]
        for col in ("share_67_plus", "share_target", "centrality", "contacts"):
            feats[col] = 0.0
        comparison = choose_comparison(feats)
        sample = practices[practices["practice_id"].isin(comparison.ids)]
        t3 = time.perf_counter()
        prepared = did.attach_treatment(cells, sample)
        est = did.fit_etwfe(prepared, indicator=ind.name, level="person")
        t4 = time.perf_counter()
        peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
        con.disconnect()
    rows += [
        {"what": "persons", "value": PERSONS, "unit": "persons"},
        {"what": "person-quarters in the panel", "value": n_rows, "unit": "rows"},
        {"what": "practices", "value": PRACTICES, "unit": "practices"},
        {"what": "generate the panel (DuckDB)", "value": t1 - t0, "unit": "s"},
        {"what": "person-level cells (one Ibis group-by)", "value": t2 - t1, "unit": "s"},
        {"what": "cells", "value": len(cells), "unit": "rows"},
        {"what": "choose comparison practices", "value": t3 - t2, "unit": "s"},
        {"what": "ETWFE with person-spell FE, clustered", "value": t4 - t3, "unit": "s"},
        {"what": "cells in the regression", "value": len(prepared), "unit": "rows"},
        {
            "what": "DiD total after the panel (cells + comparison + fit)",
            "value": t4 - t1,
            "unit": "s",
        },
        {"what": "estimated effect (planted 0.05)", "value": est.att, "unit": "per person-quarter"},
        {"what": "its standard error", "value": est.se, "unit": "per person-quarter"},
        {"what": "peak resident memory", "value": peak_gib, "unit": "GiB"},
    ]
    return rows
