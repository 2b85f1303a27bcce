"""The app's financing snapshot: the comparison's own amounts and an exact linear what-if."""

from __future__ import annotations

from decimal import Decimal

import ibis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pht.core.money import Money
from pht.financing.compare import compare_parts, model_parts
from pht.financing.snapshot import apply_whatif, practice_snapshots
from pht.financing.whatif import WhatIf, what_if
from pht.registry.warehouse import Warehouse

from .scenario import P1, P2, build_warehouse


@pytest.fixture(scope="module")
def wh() -> Warehouse:
    return build_warehouse()


@pytest.fixture(scope="module")
def parts(wh: Warehouse) -> object:
    targets = ibis.memtable(
        {
            "person_id": ["A1", "B1", "A3"],
            "target_group": ["chronic"] * 3,
            "condition": ["diabetes"] * 3,
        }
    )
    return model_parts(wh, 2021, target_groups=targets)


@pytest.fixture(scope="module")
def snaps(wh: Warehouse, parts: object) -> dict:
    return practice_snapshots(wh, 2021, parts=parts, practices=[P1, P2])  # type: ignore[arg-type]


def test_snapshot_amounts_equal_the_comparison_to_the_ore(wh, parts, snaps) -> None:  # type: ignore[no-untyped-def]
    base = compare_parts(wh, parts, practices=[P1, P2])
    for p in base.practices:
        s = snaps[p.fee.practice_id]
        assert Decimal(s["fee"]["total"]) == p.fee.total.amount
        assert Decimal(s["grant"]["total"]) == p.grant.total.amount
        assert Decimal(s["comparison"]["difference"]) == p.difference.amount
        assert {k: Decimal(v) for k, v in s["drivers"].items()} == {
            k: v.amount for k, v in p.drivers.items()
        }
        assert sum(s["listed_by_band"]) > 0 and sum(s["claims_by_code"].values()) > 0
    unchanged = apply_whatif(snaps[P1])
    assert unchanged.fee_change == Money.zero() and unchanged.grant_change == Money.zero()


@settings(max_examples=25, deadline=None)
@given(
    k=st.decimals(min_value=0, max_value=6, places=1),
    f=st.decimals(min_value="0.5", max_value=2, places=2),
    s=st.decimals(min_value="0.5", max_value=2, places=2),
)
def test_linear_what_if_agrees_with_what_if(wh, parts, snaps, k, f, s) -> None:  # type: ignore[no-untyped-def]
    res = what_if(
        wh, parts, WhatIf(nurse_consultations=k, list_size=f, target_share=s), practices=[P1, P2]
    )
    for c in res.changed.practices:
        mine = apply_whatif(
            snaps[c.fee.practice_id], nurse_consultations=k, list_size=f, target_share=s
        )
        # the model rounds each component to the øre; the linear form rounds once
        assert abs(mine.fee_whatif.amount - c.fee.total.amount) <= Decimal("0.10")
        assert abs(mine.grant_whatif.amount - c.grant.total.amount) <= Decimal("0.10")


def test_extra_consultations_for_the_practice_are_spread_over_target_patients(snaps) -> None:  # type: ignore[no-untyped-def]
    s = snaps[P1]
    tpy = Decimal(s["target_person_years"])
    assert tpy > 0
    whole = apply_whatif(s, extra_consultations=tpy * 2)
    per = apply_whatif(s, nurse_consultations=Decimal(2))
    assert whole.fee_whatif == per.fee_whatif and whole.consultations == per.consultations
    assert P2 in snaps
