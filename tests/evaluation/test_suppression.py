"""Small-cell suppression: primary, partition and nested rules, on examples and random tables."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pht.evaluation.suppression import suppress_table


def test_a_small_cell_and_its_complement_are_hidden() -> None:
    df = pd.DataFrame(
        {
            "q": [1, 1, 1],
            "arm": ["pilot"] * 3,
            "practice": ["a", "b", "c"],
            "n": [3, 40, 60],
            "n_event": [1, 10, 20],
            "value": [0.33, 0.25, 0.33],
        }
    )
    out = suppress_table(df, partition=[("q", "arm")])
    assert out["suppressed"].tolist() == [True, True, False]
    assert out.loc[0, "n"] is None and out.loc[0, "value"] is None
    assert "n_event" not in out.columns


def test_few_persons_with_the_event_hide_the_cell() -> None:
    df = pd.DataFrame({"n": [100, 100, 100], "n_event": [0, 2, 7], "value": [0.0, 0.02, 0.07]})
    assert suppress_table(df)["suppressed"].tolist() == [False, True, False]


def test_a_subgroup_close_to_its_total_is_hidden() -> None:
    df = pd.DataFrame(
        {
            "practice": ["a"] * 3,
            "group": ["all", "chronic", "mental"],
            "n": [100, 97, 30],
            "n_event": [50, 49, 10],
            "value": [0.5, 0.51, 0.33],
        }
    )
    out = suppress_table(df, nested=(("practice",), "group", "all"))
    assert out["suppressed"].tolist() == [False, True, False]


cells = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=24
)


@settings(max_examples=60, deadline=None)
@given(cells)
def test_no_published_table_lets_a_small_cell_be_seen_or_derived(
    rows: list[tuple[int, int, int]],
) -> None:
    df = pd.DataFrame(rows, columns=["q", "n", "n_event"])
    df["n_event"] = df[["n", "n_event"]].min(axis=1)
    df["value"] = df["n_event"] / df["n"].where(df["n"] > 0)
    out = suppress_table(df, partition=[("q",)])
    shown = out[~out["suppressed"]]
    assert (shown["n"].astype(int) >= 5).all()
    for q, part in out.groupby("q"):
        hidden = df.loc[part.index[part["suppressed"]], "n"]
        if 0 < len(hidden) < len(part):
            # what a reader can derive from the total: the hidden cells together
            assert len(hidden) >= 2 and hidden.sum() >= 5, q
