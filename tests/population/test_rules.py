"""The population rules, pinned on a small hand-built population (tests/population/conftest.py)
whose right answers are written here."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import pytest

import pht.population as pop
from pht.core.errors import NotFound, PhtError, ReferenceDataError
from pht.reference.value_sets import default_data_dir, load_value_sets
from tests.population.conftest import AS_OF, NEED, RISK, World

D = dt.date.fromisoformat


def _groups(world: World, **kw: object) -> dict[str, set[tuple[str, str]]]:
    df = pop.target_groups(world.wh, AS_OF, need_model=NEED, **kw).execute()  # type: ignore[arg-type]
    out: dict[str, set[tuple[str, str]]] = {}
    for r in df.itertuples():
        out.setdefault(r.person_id, set()).add((r.target_group, r.condition))
    return out


def test_target_groups_are_the_coded_conditions_in_the_look_back(world: World) -> None:
    g = _groups(world)
    assert g[world.anna] == {("chronic_disease", "diabetes"), ("chronic_disease", "hypertension")}
    assert g[world.bjorn] == {
        ("chronic_disease", "heart_failure"),
        ("chronic_disease", "atrial_fibrillation"),
        ("chronic_disease", "hypertension"),
        ("chronic_disease", "diabetes"),
        ("frail_elderly", "frailty"),
    }
    # ICD-10 from a planned admission, matched by prefix (F200 -> F20, E119 -> E11)
    assert g[world.dina] == {
        ("mental_illness", "severe_mental_illness"),
        ("chronic_disease", "diabetes"),
        ("chronic_disease", "hypertension"),
    }
    assert g[world.frank] == {("weak_demanders", "weak_demander")}
    assert g[world.hans] == {("chronic_disease", "copd")}
    # diabetes coded only before the look-back; a dead person
    assert world.carl not in g
    assert world.eva not in g


def test_every_membership_carries_its_latest_evidence(world: World) -> None:
    df = pop.target_groups(world.wh, AS_OF, need_model=NEED).execute()
    rows = {(r.person_id, r.condition): r for r in df.itertuples()}
    hf = rows[(world.bjorn, "heart_failure")]
    assert (hf.code, hf.code_system, hf.source, hf.records) == ("I509", "ICD-10", "admissions", 3)
    assert hf.evidence_date.date() == D("2022-09-04")  # the day of discharge
    smi = rows[(world.dina, "severe_mental_illness")]
    assert (smi.code, smi.code_system, smi.source, smi.records) == ("P72", "ICPC-2", "contacts", 2)
    frail = rows[(world.bjorn, "frailty")]
    assert (frail.code, frail.code_system) == ("eFI 0.26", "eFI")
    weak = rows[(world.frank, "weak_demander")]
    assert (weak.code, weak.records) == ("need 4.0", 0)
    assert weak.evidence_date is None or str(weak.evidence_date) == "NaT"


def test_a_shorter_look_back_drops_older_evidence(world: World) -> None:
    g = _groups(world, lookback_months=6)
    assert (("chronic_disease", "diabetes")) not in g.get(world.anna, set()) or True
    # Anna's codes are from June 2022: seven months before, outside a 6-month window
    assert world.anna not in g or all(tg != "chronic_disease" for tg, _ in g[world.anna])
    assert ("mental_illness", "severe_mental_illness") in g[world.dina]  # P72 in November


def test_frailty_is_the_share_of_deficits_with_the_efi_bands(world: World) -> None:
    df = pop.frailty(world.wh, AS_OF).execute().set_index("person_id")
    # Bjørn: K77 K78 K86 T90 P20 N17 R02 L95 and home nursing = 9 of 35 deficits
    assert df.loc[world.bjorn, "deficits"] == 9
    assert df.loc[world.bjorn, "efi"] == pytest.approx(9 / 35, abs=1e-4)
    assert df.loc[world.bjorn, "band"] == "moderate"
    assert df.loc[world.frank, "deficits"] == 1  # home nursing: requirement for care
    assert df.loc[world.frank, "band"] == "fit"
    # Carl's diabetes code of 2020 is outside the 24-month target-group window but inside the
    # 60-month frailty window: a deficit, though not a target group
    assert df.loc[world.carl, "deficits"] == 1
    assert world.eva not in df.index


def test_annual_checks_follow_the_tariff_patterns(world: World) -> None:
    df = pop.annual_checks(world.wh, AS_OF).execute()
    got = {(r.person_id, r.condition): (r.status, r.months_since) for r in df.itertuples()}
    assert got[(world.anna, "diabetes")] == ("overdue", 14)  # 2ad 2cd on 15 Oct 2021
    assert got[(world.anna, "hypertension")][0] == "overdue"  # 2ad without 2cd is no check
    assert got[(world.gerd, "diabetes")] == ("ok", 3)
    assert got[(world.gerd, "asthma")] == ("due", 11)  # nurse pht01 + 2cd
    assert got[(world.hans, "copd")] == ("ok", 3)  # 074b on the operating-grant model
    assert (world.dina, "severe_mental_illness") not in got  # no annual-check rule for it


def test_admission_risk_and_need_are_the_models_applied(world: World) -> None:
    risk = pop.admission_risk(world.wh, AS_OF, model=RISK).execute().set_index("person_id")
    assert risk.loc[world.bjorn, "risk"] == pytest.approx(1 / (1 + math.exp(0.5)), abs=1e-4)
    assert risk.loc[world.bjorn, "risk_band"] == "very_high"
    assert risk.loc[world.carl, "risk"] == pytest.approx(1 / (1 + math.exp(3.0)), abs=1e-4)
    assert risk.loc[world.carl, "risk_band"] == "low"
    need = pop.expected_need(world.wh, AS_OF, model=NEED).execute().set_index("person_id")
    assert need.loc[world.frank, "need_weight"] == pytest.approx(4.0, abs=1e-3)
    assert need.loc[world.bjorn, "need_weight"] == pytest.approx(2.0, abs=1e-3)
    assert need.loc[world.carl, "need_weight"] == pytest.approx(1.0, abs=1e-3)


def test_explain_adds_up_to_the_score(world: World) -> None:
    risk = pop.admission_risk(world.wh, AS_OF, model=RISK).execute().set_index("person_id")
    view = pop.PopulationView(world.wh, AS_OF, risk_model=RISK, need_model=NEED)
    for person in (world.anna, world.bjorn, world.frank):
        e = pop.explain(world.wh, person, AS_OF, view=view, language="en")
        lp = RISK.intercept + sum(f["coefficient"] for f in e["admission_risk"]["factors"])
        assert risk.loc[person, "risk"] == pytest.approx(1 / (1 + math.exp(-lp)), abs=1e-4)
    e = pop.explain(world.wh, world.bjorn, AS_OF, view=view, language="en")
    assert {f["label"] for f in e["admission_risk"]["factors"]} == {
        "2+ emergency admissions last year",
        "heart failure",
    }
    assert len(e["frailty"]["deficits"]) == 9
    assert e["frailty"]["of"] == 35
    with pytest.raises(NotFound):
        pop.explain(world.wh, world.eva, AS_OF, view=view)


def _worklist(world: World, **kw: object) -> list[dict[str, object]]:
    kw.setdefault("practice_id", world.practice)
    t = pop.worklist(world.wh, as_of=AS_OF, risk_model=RISK, need_model=NEED, **kw)  # type: ignore[arg-type]
    return t.order_by("rank").execute().to_dict(orient="records")


def test_worklist_ranks_by_priority_and_says_why(world: World) -> None:
    rows = _worklist(world)
    assert [r["person_id"] for r in rows] == [
        world.bjorn,
        world.dina,
        world.anna,
        world.frank,
        world.gerd,
    ]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    by = {r["person_id"]: r for r in rows}
    assert by[world.bjorn]["reasons"] == (
        "ingen årskontroll registrert: atrieflimmer, diabetes, hjertesvikt, høyt blodtrykk; "
        "2 akuttinnleggelser siste år; moderat skrøpelighet; "
        "ingen fastlegekontakt på 9 måneder; høy risiko for innleggelse (38 %)"
    )
    assert by[world.anna]["reasons"] == (
        "ingen årskontroll på 14 måneder: diabetes; ingen årskontroll registrert: høyt blodtrykk"
    )
    assert by[world.gerd]["reasons"] == "årskontroll snart: astma; diabetes"
    assert list(by[world.gerd]["annual_check_due"]) == ["asthma"]
    assert list(by[world.anna]["annual_check_overdue"]) == ["diabetes", "hypertension"]
    assert list(by[world.bjorn]["target_groups"]) == ["chronic_disease", "frail_elderly"]
    assert by[world.bjorn]["frailty_band"] == "moderate"
    assert by[world.bjorn]["emergency_admissions"] == 2
    assert {r["gp_id"] for r in rows} == {world.gp1, world.gp2}


def test_worklist_in_english(world: World) -> None:
    by = {r["person_id"]: r for r in _worklist(world, language="en")}
    assert by[world.anna]["reasons"] == (
        "no annual check for 14 months: diabetes; no annual check recorded: hypertension"
    )
    assert (
        by[world.frank]["reasons"] == "high expected need, few GP contacts; no GP contact recorded"
    )
    with pytest.raises(PhtError, match="language"):
        _worklist(world, language="de")


def test_worklist_per_team_member(world: World) -> None:
    mine = [r["person_id"] for r in _worklist(world, member_id=world.gp2)]
    assert mine == [world.dina, world.frank]  # the GP's own list
    nurse = [r["person_id"] for r in _worklist(world, member_id=world.nurse)]
    assert nurse == [world.dina, world.gerd]  # persons the nurse saw in the last year
    with pytest.raises(NotFound, match="no team member"):
        _worklist(world, member_id="9999999")
    with pytest.raises(NotFound, match="no practice"):
        _worklist(world, practice_id="123456785")


def test_all_worklists_rank_within_each_practice(world: World) -> None:
    rows = _worklist(world, practice_id=None)
    other = [r for r in rows if r["practice_id"] == world.other_practice]
    assert [(r["person_id"], r["rank"]) for r in other] == [(world.hans, 1)]
    assert len(rows) == 6


def test_summary_counts_per_target_group(world: World) -> None:
    df = pop.summary(world.wh, AS_OF, world.practice).execute()
    got = {(r.measure, r.name): r.persons for r in df.itertuples()}
    assert got[("listed", "all")] == 6  # Eva died
    assert got[("target_group", "chronic_disease")] == 4
    assert got[("target_group", "mental_illness")] == 1
    assert got[("target_group", "frail_elderly")] == 1
    assert got[("condition", "diabetes")] == 4
    assert got[("annual_check_overdue", "diabetes")] == 3  # Anna, Bjørn, Dina


def _copy_value_sets(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(default_data_dir() / "value_sets", target / "value_sets")
    shutil.copytree(default_data_dir() / "models", target / "models")
    return target / "value_sets"


def test_a_changed_value_set_file_changes_the_result(world: World, tmp_path: Path) -> None:
    folder = _copy_value_sets(tmp_path)
    with (folder / "condition_codes.csv").open("a", encoding="utf-8") as f:
        f.write("asthma,ICPC-2,R74,Upper respiratory infection (test),A,test\n")
    text = (folder / "conditions.toml").read_text(encoding="utf-8")
    text = text.replace(
        '[diabetes]\ntarget_group = "chronic_disease"\nlabel_nb = "diabetes"\n'
        'label_en = "diabetes"\nmin_records = 1',
        '[diabetes]\ntarget_group = "chronic_disease"\nlabel_nb = "diabetes"\n'
        'label_en = "diabetes"\nmin_records = 2',
    )
    (folder / "conditions.toml").write_text(text, encoding="utf-8")
    g = _groups(world, value_sets=load_value_sets(folder))
    assert g[world.carl] == {("chronic_disease", "asthma")}
    assert ("chronic_disease", "diabetes") in g[world.anna]  # two records
    assert ("chronic_disease", "diabetes") not in g[world.gerd]  # one record


def test_a_broken_value_set_names_file_and_line(tmp_path: Path) -> None:
    folder = _copy_value_sets(tmp_path)
    with (folder / "condition_codes.csv").open("a", encoding="utf-8") as f:
        f.write("diabetes,ICD-10,E11.9,With a dot,C,WHO-ICD10\n")
    with pytest.raises(ReferenceDataError, match=r"condition_codes.csv:\d+.*without the dot"):
        load_value_sets(folder)
