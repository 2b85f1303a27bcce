"""Small-cell suppression for everything the evaluation publishes.

Rules (threshold ``min_cell`` in indicators.toml, 5 persons):

1. **Primary**: a cell is suppressed when it has fewer than ``min_cell`` persons, or when fewer
   than ``min_cell`` (but more than zero) of its persons had the counted event.
2. **Partition** (complementary): where the rows of a group add up to a total that is published
   (pilot practices of a quarter add up to the pilot's trend; fee and grant add up to the pilot),
   the suppressed rows of the group must hide at least ``min_cell`` persons together and be at
   least two; otherwise the smallest visible row is suppressed too, until they do.
3. **Nested** (complementary): where a row is a subset of a published total row (a target group
   inside all listed persons), the subset is suppressed when the difference is between 1 and
   ``min_cell`` - 1 persons, since the difference could be derived. Target groups can nest in
   each other too (diabetes/COPD inside chronic disease), so every pair of visible rows of a group
   is held to the same rule: the smaller row is suppressed (conservative for groups that merely
   overlap).

A suppressed row keeps its keys and loses its numbers (persons and values become empty) and is
flagged ``suppressed``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from pht.evaluation.indicators import min_cell

__all__ = [
    "is_small",
    "primary_mask",
    "protect_nested",
    "protect_partition",
    "publish",
    "publish_count",
    "publish_share",
    "suppress_table",
]


def is_small(n: int | None, n_event: int | None = None, *, threshold: int | None = None) -> bool:
    """Rule 1 (primary) for one cell: fewer than ``min_cell`` persons, or 1 to ``min_cell`` - 1
    of them with the counted event. :func:`primary_mask` is the same rule over a table."""
    k = threshold or min_cell()
    if (n or 0) < k:
        return True
    return n_event is not None and 0 < n_event < k


def publish_count(n: int, *, threshold: int | None = None) -> int | None:
    """A count of persons as published: None when it is a small cell (0 is published)."""
    return None if n != 0 and is_small(n, threshold=threshold) else n


def publish_share(
    numerator: int, denominator: int, *, threshold: int | None = None
) -> float | None:
    """numerator / denominator as published: None when the cell is small by rule 1 (fewer than
    ``min_cell`` persons in the denominator, or 1 to ``min_cell`` - 1 with the event)."""
    if denominator <= 0 or is_small(denominator, numerator, threshold=threshold):
        return None
    return numerator / denominator


def _by(within: Sequence[str]) -> str | list[str]:
    keys = list(within)
    return keys[0] if len(keys) == 1 else keys


def primary_mask(
    df: pd.DataFrame, *, n: str = "n", n_event: str | None = "n_event", threshold: int | None = None
) -> pd.Series:
    """True where a row is a small cell by itself."""
    k = threshold or min_cell()  # the rule of is_small, vectorised
    mask = df[n].fillna(0) < k
    if n_event is not None and n_event in df.columns:
        e = df[n_event].fillna(0)
        mask |= (e > 0) & (e < k)
    return mask


def protect_partition(
    df: pd.DataFrame,
    mask: pd.Series,
    *,
    within: Sequence[str],
    n: str = "n",
    threshold: int | None = None,
) -> pd.Series:
    """Suppress more rows of each group until a suppressed part cannot be derived from a total."""
    k = threshold or min_cell()
    mask = mask.copy()
    if df.empty:
        return mask
    for _, idx in df.groupby(_by(within), sort=False).groups.items():
        rows = list(idx)
        while True:
            hidden = [r for r in rows if mask[r]]
            shown = [r for r in rows if not mask[r]]
            if not hidden or not shown:
                break
            hidden_n = float(df.loc[hidden, n].fillna(0).sum())
            if len(hidden) >= 2 and hidden_n >= k:
                break
            smallest = min(shown, key=lambda r: (float(df.at[r, n] or 0), str(r)))
            mask[smallest] = True
    return mask


def protect_nested(
    df: pd.DataFrame,
    mask: pd.Series,
    *,
    within: Sequence[str],
    level: str,
    total: str,
    n: str = "n",
    threshold: int | None = None,
) -> pd.Series:
    """Suppress rows whose difference from a larger visible row of the group is a small number.

    The *total* row (``df[level] == total``) is never the one suppressed by this rule.
    """
    k = threshold or min_cell()
    mask = mask.copy()
    if df.empty:
        return mask
    for _, idx in df.groupby(_by(within), sort=False).groups.items():
        rows = sorted(idx, key=lambda r: (-float(df.at[r, n] or 0), df.at[r, level] != total))
        for i, big in enumerate(rows):
            if mask[big]:
                continue
            big_n = float(df.at[big, n] or 0)
            for small in rows[i + 1 :]:
                if mask[small] or df.at[small, level] == total:
                    continue
                diff = big_n - float(df.at[small, n] or 0)
                if 0 < diff < k:
                    mask[small] = True
    return mask


def publish(
    df: pd.DataFrame,
    mask: pd.Series,
    *,
    numbers: Sequence[str],
    drop: Sequence[str] = ("n_event",),
) -> pd.DataFrame:
    """The table as published: suppressed rows lose their *numbers*; *drop* columns go."""
    out = df.copy()
    for col in numbers:
        if col in out.columns:
            out[col] = out[col].astype("object").where(~mask, None)
            out[col] = out[col].where(out[col].notna(), None)
    out["suppressed"] = mask.to_numpy()
    return out.drop(columns=[c for c in drop if c in out.columns])


def suppress_table(
    df: pd.DataFrame,
    *,
    numbers: Sequence[str] = ("n", "value"),
    partition: Sequence[Sequence[str]] = (),
    nested: tuple[Sequence[str], str, str] | None = None,
    threshold: int | None = None,
) -> pd.DataFrame:
    """Apply the three rules and return the publishable table.

    *partition*: lists of key columns; the rows sharing those keys add up to a published total.
    *nested*: (key columns, level column, total label) for subset rows of a total row.
    """
    df = df.reset_index(drop=True)
    mask = primary_mask(df, threshold=threshold)
    for _ in range(10):  # the rules can trigger each other; a few rounds reach a fixed point
        before = mask.copy()
        if nested is not None:
            within, level, total = nested
            mask = protect_nested(
                df, mask, within=within, level=level, total=total, threshold=threshold
            )
        for within in partition:
            mask = protect_partition(df, mask, within=within, threshold=threshold)
        if bool((mask == before).all()):
            break
    return publish(df, mask, numbers=numbers)
