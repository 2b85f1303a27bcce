"""The selection: quotas, GP band, the hand-checked optimum and its explanation, overrides."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal

import pytest

from pht.call.assessment import Assessment
from pht.call.rules import CallRules, Criterion, Quotas, load_call
from pht.call.selection import Override, SelectionInfeasible, select
from pht.core.labels import SizeClass
from tests.call.factory import application, scored


def _rules(**update: object) -> CallRules:
    """The 2017 call with one criterion scored 0–100 (so hand-made scores are exact)."""
    base = load_call()
    return base.model_copy(
        update={
            "criteria": (Criterion(key="overall", label="Samlet", weight=Decimal(1), status="A"),),
            "min_score": 0,
            "max_score": 100,
            **update,
        }
    )


# The hand-checked case: quotas 1/1/1, 30–38 GPs (target 34 ± 4).
#   id size   GPs score
#   A  small    4  40
#   B  small    3  35
#   C  medium  10  30
#   D  medium   8  45
#   E  large   20  48
#   F  large   15  32
#   G  medium  12  38   late (after 15 October), not accepted
# One of each class at most. A+D+E = 32 GPs, score 133: the best of all feasible sets.
# Without E no set reaches 30 GPs (A+C+F = 29), so E is essential; F cannot come in (with F at
# most 29 GPs). Without A the best is B+D+E (31 GPs, 128: −5); without D, A+C+E (34, 118: −15).
CASE = [
    ("A", "small", 4, 40, None),
    ("B", "small", 3, 35, None),
    ("C", "medium", 10, 30, None),
    ("D", "medium", 8, 45, None),
    ("E", "large", 20, 48, None),
    ("F", "large", 15, 32, None),
    ("G", "medium", 12, 38, dt.datetime(2017, 10, 16, 9, 0)),
]


def _case(rules: CallRules) -> tuple[list, dict[str, Assessment]]:
    apps = []
    assessments = {}
    for n, (app_id, size, gps, score, late_at) in enumerate(CASE, start=1):
        submitted = late_at or dt.datetime(2017, 10, 1 + n, 12, 0)
        apps.append(
            application(
                app_id,
                size=size,
                gps=gps,
                n=n,
                submitted=submitted,
                late=rules.is_late(submitted),
                name=f"Kommune {app_id}",
            )
        )
        assessments[app_id] = scored(app_id, rules, [score])
    return apps, assessments


@pytest.fixture
def rules() -> CallRules:
    return _rules(quotas=Quotas(small=1, medium=1, large=1), gp_target=34, gp_band=4)


def test_hand_checked_case_picks_a_d_e_and_explains_every_application(rules: CallRules) -> None:
    apps, assessments = _case(rules)
    sel = select(apps, assessments, rules)
    assert sel.selected == ("A", "D", "E")
    assert sel.total_gps == 32
    assert sel.total_score == Decimal(133)
    reasons = {e.application_id: e.reason for e in sel.explanations}
    assert reasons == {
        "A": "chosen",
        "B": "quota_full",
        "C": "quota_full",
        "D": "chosen",
        "E": "essential",
        "F": "gp_band",
        "G": "late",
    }
    a = sel.explanation("A")
    assert a.displaced == ("B",) and a.score_change == Decimal(-5)
    assert "Kommune B (35,000)" in a.text and "-5,000" in a.text
    d = sel.explanation("D")
    assert d.displaced == ("C",) and d.score_change == Decimal(-15)
    b = sel.explanation("B")
    assert b.displaced == ("A",) and b.score_change == Decimal(-5)
    assert b.text.startswith("Ikke valgt: kvoten for små kommuner (1) er fylt av Kommune A")
    c = sel.explanation("C")
    assert c.displaced == ("D",) and c.score_change == Decimal(-15)
    assert "kvoten for mellomstore kommuner (1)" in c.text
    assert sel.explanation("E").text == (
        "Valgt: uten denne søknaden kan ingen utvelgelse innenfor kvotene gi 30–38 fastleger."
    )
    assert sel.explanation("F").text == (
        "Ikke valgt: med denne søknaden (15 fastleger) kan ingen utvelgelse innenfor kvotene "
        "gi 30–38 fastleger."
    )
    assert "2017-10-16, etter fristen 2017-10-15" in sel.explanation("G").text


def test_accepting_the_late_one_makes_it_a_candidate_but_it_does_not_win(
    rules: CallRules,
) -> None:
    apps, assessments = _case(rules)
    sel = select(apps, assessments, rules, late_accepted={"G": "forsinket i Altinn"})
    assert sel.selected == ("A", "D", "E")  # A+G+E = 36 GPs but 126 < 133
    g = sel.explanation("G")
    assert g.reason == "quota_full" and g.displaced == ("D",) and g.score_change == Decimal(-7)


def test_override_out_records_the_reason_and_the_next_best_fills_the_place(
    rules: CallRules,
) -> None:
    apps, assessments = _case(rules)
    out = Override(
        application_id="D",
        include=False,
        reason="praksisen trekker seg",
        officer="kari",
        on=dt.date(2017, 11, 20),
    )
    sel = select(apps, assessments, rules, overrides=[out])
    assert sel.selected == ("A", "C", "E")
    d = sel.explanation("D")
    assert d.reason == "override_out" and "kari: praksisen trekker seg" in d.text


def test_override_in_that_breaks_the_band_is_reported_with_the_possible_range(
    rules: CallRules,
) -> None:
    apps, assessments = _case(rules)
    force_f = Override(
        application_id="F", include=True, reason="test", officer="kari", on=dt.date(2017, 11, 20)
    )
    with pytest.raises(SelectionInfeasible) as err:
        select(apps, assessments, rules, overrides=[force_f])
    assert "30–38 fastleger" in err.value.message
    assert "fra 15 til 29 fastleger" in err.value.message


def test_what_if_on_target_and_band(rules: CallRules) -> None:
    apps, assessments = _case(rules)
    tight = rules.with_what_if(gp_target=34, gp_band=0)
    sel = select(apps, assessments, tight)
    assert sel.selected == ("A", "C", "E") and sel.total_gps == 34
    wider = rules.with_what_if(medium=2, gp_target=45, gp_band=5)
    sel = select(apps, assessments, wider)
    assert sel.selected == ("A", "C", "D", "E") and sel.total_gps == 42


def test_equal_scores_go_to_the_earlier_submission() -> None:
    rules = _rules(quotas=Quotas(small=1, medium=0, large=0), gp_target=3, gp_band=3)
    early = application("X", n=1, submitted=dt.datetime(2017, 10, 2, 8, 0))
    later = application("Y", n=2, submitted=dt.datetime(2017, 10, 1, 8, 0))
    ass = {"X": scored("X", rules, [50]), "Y": scored("Y", rules, [50])}
    assert select([early, later], ass, rules).selected == ("Y",)


def test_incomplete_unassessed_and_withdrawn_applications_are_not_selected() -> None:
    rules = _rules(quotas=Quotas(small=2, medium=2, large=2), gp_target=6, gp_band=6)
    ok = application("ok", n=1)
    broken = application("broken", n=2).model_copy(update={"purpose": ""})
    unscored = application("unscored", n=3)
    draft = application("draft", n=4, submitted=None)
    ass = {i: scored(i, rules, [50]) for i in ("ok", "broken", "draft")}
    sel = select([ok, broken, unscored, draft], ass, rules)
    assert sel.selected == ("ok",)
    assert sel.explanation("broken").reason == "invalid"
    assert "purpose" in sel.explanation("broken").text
    assert sel.explanation("unscored").reason == "not_assessed"
    assert sel.explanation("draft").reason == "not_submitted"


def _brute_force(cands: list[tuple[str, SizeClass, int, int]], rules: CallRules) -> int | None:
    lo, hi = rules.gp_range
    best = None
    for r in range(len(cands) + 1):
        for combo in itertools.combinations(cands, r):
            counts = {c: sum(1 for x in combo if x[1] is c) for c in SizeClass}
            if any(counts[c] > rules.quotas.of(c) for c in SizeClass):
                continue
            gps = sum(x[2] for x in combo)
            if lo <= gps <= hi:
                score = sum(x[3] for x in combo)
                best = score if best is None else max(best, score)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_random_cases_respect_quotas_and_band_and_match_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    quotas = Quotas(small=rng.randint(0, 2), medium=rng.randint(0, 2), large=rng.randint(0, 2))
    target = rng.randint(10, 40)
    rules = _rules(quotas=quotas, gp_target=target, gp_band=rng.randint(0, 6))
    sizes = ["small", "medium", "large"]
    apps, ass, cands = [], {}, []
    for n in range(1, rng.randint(4, 9) + 1):
        size = rng.choice(sizes)
        gps, score = rng.randint(1, 15), rng.randint(0, 100)
        app_id = f"a{n}"
        apps.append(application(app_id, size=size, gps=gps, n=n))
        ass[app_id] = scored(app_id, rules, [score])
        cands.append((app_id, SizeClass(size), gps, score))
    expected = _brute_force(cands, rules)
    if expected is None:
        with pytest.raises(SelectionInfeasible):
            select(apps, ass, rules)
        return
    sel = select(apps, ass, rules)
    lo, hi = rules.gp_range
    assert lo <= sel.total_gps <= hi
    for c in SizeClass:
        assert sel.per_class[c] <= quotas.of(c)
    assert sel.total_score == Decimal(expected)
    for e in sel.explanations:
        assert e.text  # every application is explained
        if e.score_change is not None:
            assert e.score_change <= 0  # flipping a choice never beats the optimum
