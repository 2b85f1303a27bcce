"""Indicators of the six effect goals, defined as data and computed from the warehouse with Ibis.

The definitions live in ``reference/data/evaluation/indicators.toml`` (name, goal, population,
numerator, denominator, period, source, and the rule that counts the numerator). This module turns
them into Ibis expressions over the extract-format tables:

* :func:`person_quarter_panel` — one row per listed person and quarter (the person is listed at
  the practice of their GP on the quarter's first day), with target-group flags and every
  numerator count of that person in that quarter;
* :func:`indicator_cells` — an indicator aggregated to practice x quarter cells (and, for the
  person-level panel, to cells of persons who share a practice and an observation window, which
  is what makes person-level fixed effects cheap: see :mod:`pht.evaluation.did`);
* :func:`indicator_table` — the indicator per practice, quarter and target group, as published.

``tables`` is anything with ``.table(name) -> ibis.Table`` (a :class:`pht.registry.Warehouse`),
so the same code runs on DuckDB and on PySpark.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import pandas as pd

from pht.core.errors import PhtError, ReferenceDataError
from pht.core.labels import EffectGoal, TargetGroup
from pht.reference.files import read_toml

__all__ = [
    "GROUPS",
    "POPULATION_GROUPS",
    "Indicator",
    "Tables",
    "gp_minutes",
    "indicator_cells",
    "indicator_table",
    "indicator_tables",
    "load_indicators",
    "min_cell",
    "person_quarter_panel",
    "quarter_index",
    "quarter_label",
    "quarter_start",
    "survey_person_quarters",
    "targets_from_diagnoses",
    "targets_from_truth",
]

_FILE = "evaluation/indicators.toml"

#: Target-group columns of the panel: the scheme's groups plus diabetes/COPD (annual checks).
GROUPS = (*[g.value for g in TargetGroup], "diabetes_copd")

#: Further populations of the panel that are not target-group splits: the type 2 diabetes
#: patients (ICPC-2 T90, ``codes.type2_diabetes_diagnoses``), the population of acsc_diabetes.
POPULATION_GROUPS = ("type2_diabetes",)

#: Conditions of the generator's truth (contracts) and the target group each belongs to.
CONDITION_GROUPS = {
    "diabetes": "chronic_disease",
    "copd": "chronic_disease",
    "asthma": "chronic_disease",
    "heart_failure": "chronic_disease",
    "coronary_disease": "chronic_disease",
    "atrial_fibrillation": "chronic_disease",
    "hypertension": "chronic_disease",
    "stroke": "chronic_disease",
    "dementia": "frail_elderly",
    "depression_anxiety": "mental_illness",
    "severe_mental_illness": "mental_illness",
    "substance_use": "substance_use",
    "developmental_disability": "developmental_disability",
}

_NEVER = 10**6  # a quarter index later than any data

#: Every group with a ``since_<group>`` column in the person-quarter panel.
_PANEL_GROUPS = (*GROUPS, *POPULATION_GROUPS, "target")


class Tables(Protocol):
    """Anything that hands out the extract-format tables as Ibis tables."""

    def table(self, name: str) -> ir.Table: ...


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator as defined in indicators.toml."""

    name: str
    goal: EffectGoal
    kind: str  # "effect" or "activity"
    title_nb: str
    title_en: str
    population: str  # listed, target_group, diabetes_copd, type2_diabetes, respondents, ...
    numerator: str
    denominator: str
    period: str
    source: str
    unit: str
    level: str  # default panel for the DiD: person or practice
    better: str  # higher or lower
    measure: str | None = None
    survey: tuple[str, str] | None = None  # (instrument, item)
    ratio: tuple[str, str] | None = None  # (numerator measure, denominator measure)
    per_gp: bool = False  # listed persons per GP of the practice (list length)

    @property
    def is_survey(self) -> bool:
        """True for indicators measured on survey respondents."""
        return self.survey is not None

    @property
    def practice_only(self) -> bool:
        """True when only the practice-level panel can measure it (survey items, shares, list
        length)."""
        return self.is_survey or self.ratio is not None or self.per_gp


_POPULATIONS = (
    "listed",
    "target_group",
    "diabetes_copd",
    "type2_diabetes",
    "respondents",
    "contacted",
)


@cache
def _data() -> dict[str, Any]:
    return read_toml(_FILE)


@cache
def load_indicators() -> dict[str, Indicator]:
    """Every indicator, keyed by name, in the file's order; checks each definition."""
    data = _data()
    measures = data.get("measure", {})
    out: dict[str, Indicator] = {}
    for i, raw in enumerate(data.get("indicator", [])):
        where = f"{_FILE}: indicator {i + 1} ({raw.get('name', '?')})"
        try:
            goal = EffectGoal(raw["goal"])
            survey = raw.get("survey")
            ratio = raw.get("ratio")
            ind = Indicator(
                name=raw["name"],
                goal=goal,
                kind=raw["kind"],
                title_nb=raw["title_nb"],
                title_en=raw["title_en"],
                population=raw["population"],
                numerator=raw["numerator"],
                denominator=raw["denominator"],
                period=raw["period"],
                source=raw["source"],
                unit=raw["unit"],
                level=raw["level"],
                better=raw["better"],
                measure=raw.get("measure"),
                survey=(survey["instrument"], survey["item"]) if survey else None,
                ratio=(ratio["numerator"], ratio["denominator"]) if ratio else None,
                per_gp=bool(raw.get("per_gp", False)),
            )
        except (KeyError, ValueError) as err:
            raise ReferenceDataError(f"missing or invalid field {err}", where=where) from None
        if ind.population not in _POPULATIONS or ind.level not in ("person", "practice"):
            raise ReferenceDataError("unknown population or level", where=where)
        given = (ind.measure, ind.survey, ind.ratio, True if ind.per_gp else None)
        if sum(x is not None for x in given) != 1:
            raise ReferenceDataError(
                "give exactly one of measure, survey, ratio, per_gp", where=where
            )
        if ind.per_gp and ind.population != "listed":
            raise ReferenceDataError("per_gp needs the population 'listed'", where=where)
        for m in (ind.measure, *(ind.ratio or ())):
            if m is not None and m not in measures:
                raise ReferenceDataError(f"unknown measure {m!r}", where=where)
        if ind.period != "quarter":
            raise ReferenceDataError("only quarterly indicators are supported", where=where)
        if ind.name in out:
            raise ReferenceDataError("indicator defined twice", where=where)
        out[ind.name] = ind
    return out


def indicator(name: str) -> Indicator:
    """The indicator called *name*, or a clear error listing the known ones."""
    known = load_indicators()
    if name not in known:
        raise PhtError(f"unknown indicator {name!r}; known: {', '.join(known)}")
    return known[name]


def min_cell() -> int:
    """The smallest number of persons a published cell may have."""
    return int(_data()["publication"]["min_cell"])


def _codes(name: str) -> list[str]:
    return [str(c) for c in _data()["codes"][name]]


# --- quarters ---------------------------------------------------------------------------------


def quarter_index(day: dt.date) -> int:
    """The quarter of *day* as one integer (year * 4 + quarter - 1)."""
    return day.year * 4 + (day.month - 1) // 3


def quarter_start(q: int) -> dt.date:
    """The first day of quarter *q*."""
    return dt.date(q // 4, (q % 4) * 3 + 1, 1)


def quarter_label(q: int) -> str:
    """``2018K2`` style label (kvartal) of quarter *q*."""
    return f"{q // 4}K{q % 4 + 1}"


def _qidx(d: ir.DateValue) -> ir.IntegerValue:
    return d.year() * 4 + (d.month() - 1) // 3


def _first_quarter_from(d: ir.DateValue) -> ir.IntegerValue:
    """The first quarter whose first day is on or after *d*."""
    return _qidx(d - ibis.interval(days=1)) + 1


# --- target groups ----------------------------------------------------------------------------


def targets_from_truth(truth_dir: str | Path) -> pd.DataFrame:
    """Target-group membership from the synthetic generator's ``truth/`` folder.

    Groups come from the onset of each condition (``conditions.parquet``) and, for frailty band
    moderate or severe (``persons.parquet``), frail_elderly; type2_diabetes from the onset of
    diabetes where its ICPC-2 code (column ``icpc2``, when the truth has it) is a type 2 code
    (``codes.type2_diabetes_diagnoses``). When ``person_quarters.parquet``
    gives the contract's target flag per quarter, its first target quarter is the person's
    ``target`` membership (group "target"), which then defines the target-group population.
    Returns (person_id, group, since) with since = NaT for "always".
    """
    folder = Path(truth_dir)
    cond_path, pers_path = folder / "conditions.parquet", folder / "persons.parquet"
    pq_path = folder / "person_quarters.parquet"
    if not cond_path.exists():
        raise PhtError("no conditions.parquet in the truth folder", where=str(folder))
    cond = pd.read_parquet(cond_path)
    since = pd.to_datetime(cond["onset_date"])
    parts = [
        pd.DataFrame(
            {"person_id": cond["person_id"], "group": cond["condition"].map(CONDITION_GROUPS)}
        ).assign(since=since),
    ]
    dm = cond["condition"].isin(["diabetes", "copd"])
    parts.append(
        pd.DataFrame({"person_id": cond["person_id"][dm], "group": "diabetes_copd"}).assign(
            since=since[dm]
        )
    )
    if "icpc2" in cond.columns:
        t2 = (cond["condition"] == "diabetes") & cond["icpc2"].isin(
            _codes("type2_diabetes_diagnoses")
        )
        parts.append(
            pd.DataFrame({"person_id": cond["person_id"][t2], "group": "type2_diabetes"}).assign(
                since=since[t2]
            )
        )
    if pers_path.exists():
        pers = pd.read_parquet(pers_path)
        band = "frailty_band" if "frailty_band" in pers.columns else "frailty"
        if band in pers.columns:
            frail = pers.loc[pers[band].isin(["moderate", "severe"]), ["person_id"]]
            parts.append(frail.assign(group="frail_elderly", since=pd.NaT))
    if pq_path.exists():
        pq = pd.read_parquet(pq_path, columns=["person_id", "quarter_start", "target"])
        first = pq[pq["target"]].groupby("person_id", as_index=False)["quarter_start"].min()
        parts.append(
            pd.DataFrame(
                {
                    "person_id": first["person_id"],
                    "group": "target",
                    "since": pd.to_datetime(first["quarter_start"]),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True).dropna(subset=["group"])
    out["since"] = pd.to_datetime(out["since"])
    return out[["person_id", "group", "since"]]


def targets_from_diagnoses(tables: Tables) -> ir.Table:
    """Fallback target groups from the contacts' ICPC-2 diagnoses (status A, see the toml).

    A person joins a group the day of the first contact with one of the group's codes.
    """
    contacts = tables.table("contacts")
    spec = _data()["codes"]["target_fallback"]
    parts = []
    groups = {g: spec[g] for g in GROUPS if g in spec}
    groups["diabetes_copd"] = _codes("annual_check_diagnoses")
    groups["type2_diabetes"] = _codes("type2_diabetes_diagnoses")
    for group, codes in groups.items():
        hit = contacts.diagnoses.re_search(_any_code_regex(codes))
        parts.append(
            contacts.filter(hit)
            .group_by("person_id")
            .aggregate(since=contacts.date.min())
            .mutate(group=ibis.literal(group))
            .select("person_id", "group", "since")
        )
    return ibis.union(*parts)


def _any_code_regex(codes: list[str]) -> str:
    alt = "|".join(re.escape(c) for c in codes)
    return rf"(^|\s)({alt})(\s|$)"


# --- numerator rules --------------------------------------------------------------------------


def _contact_rule(c: ir.Table, rule: dict[str, Any]) -> ir.BooleanValue:
    cond: ir.BooleanValue = ibis.literal(True)
    tariffs = c.tariffs.fill_null("")
    diagnoses = c.diagnoses.fill_null("")
    if "tariffs_any" in rule:
        cond = cond & tariffs.re_search(_any_code_regex(rule["tariffs_any"]))
    if "tariffs_also" in rule:
        cond = cond & tariffs.re_search(_any_code_regex(rule["tariffs_also"]))
    if "diagnoses_any" in rule:
        cond = cond & diagnoses.re_search(_any_code_regex(_codes(rule["diagnoses_any"])))
    if "role" in rule:
        cond = cond & (c.role == rule["role"])
    if "setting" in rule:
        cond = cond & (c.setting == rule["setting"])
    if "setting_not" in rule:
        cond = cond & (c.setting != rule["setting_not"])
    if rule.get("own_team"):
        cond = cond & (
            (c.practitioner_id == c.gp_id) | (c.practice_id == c.listed_practice_id)
        ).fill_null(False)
    return cond


def gp_minutes() -> dict[str, tuple[float, str, str]]:
    """Minutes of GP time per claim by KPR contact type, and of the supplement code, from
    ``[gp_time]``: {contact type or supplement code: (minutes, status, source)}."""
    out: dict[str, tuple[float, str, str]] = {}
    for key, v in _data()["gp_time"].items():
        name = str(v["code"]) if key == "supplement" else key
        out[name] = (float(v["minutes"]), str(v["status"]), str(v["source"]))
    return out


def _gp_hours(c: ir.Table, rule: dict[str, Any]) -> ir.FloatingValue:
    """GP hours of each claim: the largest minutes of its codes' contact types, plus the
    supplement, over 60; 0 for claims the rule's role and setting exclude."""
    from pht.reference.tariffs import tariff_codes

    minutes = gp_minutes()
    supplement = str(_data()["gp_time"]["supplement"]["code"])
    by_type: dict[str, list[str]] = {}
    for code, tc in tariff_codes().items():
        if tc.provider in ("gp", "any") and tc.contact_type in minutes:
            by_type.setdefault(tc.contact_type, []).append(code)
    tariffs = c.tariffs.fill_null("")
    parts = [
        ibis.ifelse(tariffs.re_search(_any_code_regex(codes)), minutes[t][0], 0.0)
        for t, codes in sorted(by_type.items())
    ]
    total = ibis.greatest(*parts) + ibis.ifelse(
        tariffs.re_search(_any_code_regex([supplement])), minutes[supplement][0], 0.0
    )
    keep = _contact_rule(c, {k: rule[k] for k in ("role", "setting", "setting_not") if k in rule})
    return ibis.ifelse(keep.fill_null(False), total / 60.0, 0.0)


def _linked_contacts(tables: Tables, c: ir.Table, rule: dict[str, Any]) -> ir.Table:
    """contact_ids of the claims that match *rule* and lie near an event of ``rule['linked']``:
    a municipal service running on the day (or starting within ``link_days`` after it), or a
    hospital stay from ``link_days`` before its admission to ``link_days`` after discharge."""
    days = ibis.interval(days=int(rule.get("link_days", 0)))
    hit = ibis.or_(*[_contact_rule(c, r) for r in rule["any_of"]])
    cc = c.filter(hit).select(cid=c.contact_id, cpid=c.person_id, cday=c.date)
    if rule["linked"] == "municipal_services":
        s = tables.table("municipal_services")
        ev = s.select(epid=s.person_id, e0=s.start, e1=s.end)
        pred = (ev.e0 <= cc.cday + days) & (ev.e1.isnull() | (ev.e1 >= cc.cday))
    elif rule["linked"] == "admissions":
        a = tables.table("admissions")
        ev = a.select(epid=a.person_id, e0=a.admitted, e1=a.discharged)
        pred = (cc.cday >= ev.e0 - days) & (cc.cday <= ev.e1 + days)
    else:
        raise ReferenceDataError(f"unknown linked table {rule['linked']!r}", where=_FILE)
    j = cc.join(ev, [cc.cpid == ev.epid, pred])
    return j.select("cid").distinct()


def _measures(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in _data()["measure"].items() if v["table"] == kind}


def _gp_practice(tables: Tables) -> ir.Table:
    """gp_id -> practice_id (the practice of the GP's latest engagement)."""
    pr = tables.table("practitioners")
    gps = pr.filter(pr.role == "gp")
    return gps.group_by(gp_id=gps.practitioner_id).aggregate(
        practice_id=gps.practice_id.argmax(gps.start)
    )


def person_quarter_panel(
    tables: Tables,
    *,
    first_quarter: int,
    last_quarter: int,
    targets: ir.Table | pd.DataFrame | None = None,
) -> ir.Table:
    """One row per listed person and quarter in [first_quarter, last_quarter].

    Columns: person_id, q, practice_id, gp_id, spell_first, spell_last (the person's list spell
    with this GP, clipped to the window), ``since_<group>`` (first quarter in each target group,
    a large number when never), ``since_target`` (any of the scheme's groups), and one column
    ``m_<measure>`` per numerator rule with the person's count (or sum) in the quarter.
    *targets* is (person_id, group, since) as :func:`targets_from_truth` returns; by default
    :func:`targets_from_diagnoses`. since_target is the first quarter in any of the scheme's
    groups, or, when *targets* has rows of group "target", the first quarter of those.
    """
    if first_quarter > last_quarter:
        raise PhtError(
            f"empty evaluation window {quarter_label(first_quarter)}–{quarter_label(last_quarter)}"
        )
    lm = tables.table("list_memberships")
    persons = tables.table("persons")
    gp_practice = _gp_practice(tables)
    spells = lm.join(persons.select("person_id", "death_date"), "person_id", how="left").join(
        gp_practice, "gp_id"
    )
    last_listed = ibis.least(
        ibis.coalesce(_qidx(spells.end), ibis.literal(_NEVER)),
        ibis.coalesce(_qidx(spells.death_date), ibis.literal(_NEVER)),
    )
    spells = spells.select(
        "person_id",
        "gp_id",
        "practice_id",
        spell_first=ibis.greatest(_first_quarter_from(spells.start), ibis.literal(first_quarter)),
        spell_last=ibis.least(last_listed, ibis.literal(last_quarter)),
    )
    spells = spells.filter(spells.spell_first <= spells.spell_last)
    base = spells.mutate(q=ibis.range(spells.spell_first, spells.spell_last + 1).unnest())

    # target groups: first quarter of membership per group
    explicit = False
    if targets is None:
        targets = targets_from_diagnoses(tables)
    elif isinstance(targets, pd.DataFrame):
        explicit = bool((targets["group"] == "target").any())
        targets = ibis.memtable(
            targets[["person_id", "group", "since"]].astype({"since": "datetime64[ns]"})
        )
    tq = targets.mutate(
        sq=ibis.coalesce(_first_quarter_from(targets.since.cast("date")), ibis.literal(0))
    )
    wide = tq.group_by("person_id").aggregate(
        **{f"since_{g}": tq.sq.min(where=tq.group == g) for g in _PANEL_GROUPS}
    )
    base = base.left_join(wide, "person_id").drop("person_id_right")
    base = base.mutate(
        **{f"since_{g}": base[f"since_{g}"].fill_null(_NEVER) for g in _PANEL_GROUPS},
    )
    if not explicit:
        scheme_groups = [g.value for g in TargetGroup]
        base = base.mutate(since_target=ibis.least(*[base[f"since_{g}"] for g in scheme_groups]))

    # contacts: numerator rules, with the practitioner's role and the person's GP in the quarter
    contacts = tables.table("contacts")
    pr = tables.table("practitioners")
    roles = pr.group_by("practitioner_id").aggregate(role=pr.role.max())
    c = contacts.left_join(roles, "practitioner_id").drop("practitioner_id_right")
    c = c.mutate(q=_qidx(c.date))
    c = c.filter((c.q >= first_quarter) & (c.q <= last_quarter))
    who = base.select("person_id", "q", "gp_id", listed_practice_id=base.practice_id)
    c = c.left_join(who, ["person_id", "q"]).drop("person_id_right", "q_right")
    for name, rule in _measures("contacts").items():
        if "linked" in rule:
            ids = _linked_contacts(tables, c, rule).mutate(**{f"link_{name}": ibis.literal(True)})
            c = c.left_join(ids, c.contact_id == ids.cid).drop("cid")
    aggs: dict[str, ir.Value] = {}
    for name, rule in _measures("contacts").items():
        if "hours" in rule:
            aggs[f"m_{name}"] = _gp_hours(c, rule).sum()
        elif "sum" in rule:
            total = sum(
                (c[col].cast("float64").fill_null(0.0) for col in rule["sum"]),
                ibis.literal(0.0),
            )
            aggs[f"m_{name}"] = total.sum()
        else:
            hit = ibis.or_(*[_contact_rule(c, r) for r in rule["any_of"]])
            if "linked" in rule:
                hit = hit & c[f"link_{name}"].fill_null(False)
            aggs[f"m_{name}"] = hit.cast("int64").sum()
    per_contacts = c.group_by(["person_id", "q"]).aggregate(**aggs)

    adm = tables.table("admissions")
    adm = adm.mutate(q=_qidx(adm.admitted))
    adm = adm.filter((adm.q >= first_quarter) & (adm.q <= last_quarter))
    a_aggs: dict[str, ir.Value] = {}
    for name, rule in _measures("admissions").items():
        cond: ir.BooleanValue = ibis.literal(True)
        if "acute" in rule:
            cond = cond & (adm.acute == rule["acute"])
        if "main_diagnosis_in" in rule:
            cond = cond & adm.main_diagnosis.substr(0, 3).isin(_codes(rule["main_diagnosis_in"]))
        a_aggs[f"m_{name}"] = cond.cast("int64").sum()
    per_adm = adm.group_by(["person_id", "q"]).aggregate(**a_aggs)

    svc = tables.table("municipal_services")
    svc = svc.mutate(q=_qidx(svc.start))
    svc = svc.filter((svc.q >= first_quarter) & (svc.q <= last_quarter))
    s_aggs = {
        f"m_{name}": (svc.service == rule["service"]).cast("int64").sum()
        for name, rule in _measures("municipal_services").items()
    }
    per_svc = svc.group_by(["person_id", "q"]).aggregate(**s_aggs)

    panel = base
    for part, cols in (
        (per_contacts, list(aggs)),
        (per_adm, list(a_aggs)),
        (per_svc, list(s_aggs)),
    ):
        panel = panel.left_join(part, ["person_id", "q"]).drop("person_id_right", "q_right")
        panel = panel.mutate(**{k: panel[k].fill_null(0) for k in cols})
    return panel


def survey_person_quarters(
    tables: Tables, ind: Indicator, *, first_quarter: int, last_quarter: int
) -> ir.Table:
    """Respondents of a survey indicator: (person_id, practice_id, q, y = the person's mean)."""
    if ind.survey is None:
        raise PhtError(f"{ind.name} is not a survey indicator")
    instrument, item = ind.survey
    s = tables.table("survey_responses")
    s = s.filter((s.instrument == instrument) & (s.item == item)).mutate(q=_qidx(s.date))
    s = s.filter((s.q >= first_quarter) & (s.q <= last_quarter))
    return s.group_by(["person_id", "practice_id", "q"]).aggregate(y=s.value.mean())


def _since_column(ind: Indicator, group: str | None) -> str | None:
    """The panel column whose quarter starts the indicator's population (or *group*'s)."""
    since = {
        "listed": None,
        "contacted": None,
        "target_group": "since_target",
        "diabetes_copd": "since_diabetes_copd",
        "type2_diabetes": "since_type2_diabetes",
    }[ind.population]
    if group is not None:
        if group not in GROUPS:
            raise PhtError(f"unknown target group {group!r}; known: {', '.join(GROUPS)}")
        since = f"since_{group}"
    return since


def _population(panel: ir.Table, ind: Indicator, group: str | None) -> tuple[ir.Table, str]:
    """Rows of *panel* in the indicator's population (and *group*), plus the 'since' column."""
    since = _since_column(ind, group)
    p = panel
    if since is not None:
        p = p.filter(p.q >= p[since])
        p = p.mutate(obs_first=ibis.greatest(p.spell_first, p[since]))
    else:
        p = p.mutate(obs_first=p.spell_first)
    if ind.per_gp:
        p = p.mutate(y=ibis.literal(1.0))
    elif ind.ratio is not None:
        num, den = ind.ratio
        p = p.filter(p[f"m_{den}"] > 0)
        p = p.mutate(y=p[f"m_{num}"].cast("float64") / p[f"m_{den}"])
    else:
        p = p.mutate(y=p[f"m_{ind.measure}"].cast("float64"))
    return p, "obs_first"


def _in_population(
    panel: ir.Table, ind: Indicator, group: str | None
) -> tuple[ir.BooleanValue, ir.FloatingValue]:
    """What :func:`_population` selects, as a condition on the panel's rows, and the value y
    of those rows (the same rows and values, without filtering the panel)."""
    since = _since_column(ind, group)
    inside: ir.BooleanValue = ibis.literal(True)
    if since is not None:
        inside = inside & (panel.q >= panel[since])
    y: ir.FloatingValue
    if ind.per_gp:
        y = ibis.literal(1.0)
    elif ind.ratio is not None:
        num, den = ind.ratio
        inside = inside & (panel[f"m_{den}"] > 0)
        # no division where the denominator is 0 (those rows are outside; Spark's ANSI mode
        # would stop on it)
        y = ibis.ifelse(
            panel[f"m_{den}"] > 0, panel[f"m_{num}"].cast("float64") / panel[f"m_{den}"], 0.0
        )
    else:
        y = panel[f"m_{ind.measure}"].cast("float64")
    return inside, y


def _cells_expr(
    tables: Tables,
    panel: ir.Table | None,
    ind: Indicator,
    *,
    level: str,
    group: str | None,
    first_quarter: int,
    last_quarter: int,
    outcome: ir.Table | None = None,
) -> tuple[ir.Table, str | None]:
    """The indicator's cells as one Ibis expression: the keys (practice_id, q, and for the
    person-level panel the observation window: the 'since' column and spell_last), n, y_sum,
    n_event. Returns the expression and the name of the 'since' key (None: practice level)."""
    if outcome is not None and ind.practice_only:
        raise PhtError(f"{ind.name}: only a person-quarter count can take another outcome")
    if ind.is_survey:
        if level == "person" or group is not None:
            raise PhtError(
                f"{ind.name} is measured on survey respondents: only the practice-level panel, "
                "without target-group split, is available"
            )
        resp = survey_person_quarters(
            tables, ind, first_quarter=first_quarter, last_quarter=last_quarter
        )
        cells = resp.group_by(["practice_id", "q"]).aggregate(
            n=resp.count(), y_sum=resp.y.sum(), n_event=resp.count()
        )
        return cells, None
    if panel is None:
        raise PhtError("a person-quarter panel is needed for this indicator")
    if level == "person" and ind.ratio is not None:
        raise PhtError(f"{ind.name} is a share: only the practice-level panel is available")
    if ind.per_gp and (level == "person" or group is not None):
        raise PhtError(
            f"{ind.name} is per GP: only the practice-level panel, without target-group "
            "split, is available"
        )
    p, since = _population(panel, ind, group)
    if outcome is not None:
        given = outcome.select("person_id", "q", given_y=outcome.y.cast("float64"))
        p = p.left_join(given, ["person_id", "q"])
        p = p.mutate(y=p.given_y.fill_null(0.0))
    keys = ["practice_id", "q"] + ([since, "spell_last"] if level == "person" else [])
    if ind.per_gp:
        # listed persons per GP with a list: y_mean = n / GPs, each cell weighted by its n
        cells = p.group_by(keys).aggregate(n=p.count(), gps=p.gp_id.nunique())
        cells = cells.mutate(
            y_sum=cells.n.cast("float64") * cells.n / cells.gps, n_event=cells.n
        ).drop("gps")
    else:
        cells = p.group_by(keys).aggregate(
            n=p.count(), y_sum=p.y.sum(), n_event=(p.y > 0).cast("int64").sum()
        )
    return cells, (since if level == "person" else None)


def _finish_cells(
    df: pd.DataFrame, ind: Indicator, since: str | None, income: pd.DataFrame | None
) -> pd.DataFrame:
    """Cells computed by the backend, with the fixed-effect unit, types and the mean."""
    if since is not None:
        df["unit"] = (
            df["practice_id"]
            + ":"
            + df[since].astype("int64").astype(str)
            + "-"
            + df["spell_last"].astype("int64").astype(str)
        )
        df = df.drop(columns=[since, "spell_last"])
    else:
        df["unit"] = df["practice_id"]
    if not ind.is_survey and ind.name == "cost_per_listed" and income is not None:
        df = _add_income(df, income)
    df["q"] = df["q"].astype("int64")
    df["n"] = df["n"].astype("int64")
    df["n_event"] = df["n_event"].astype("int64")
    df["y_sum"] = df["y_sum"].astype("float64")
    df["y_mean"] = df["y_sum"] / df["n"]
    return df.sort_values(["practice_id", "q", "unit"]).reset_index(drop=True)


def indicator_cells(
    tables: Tables,
    panel: ir.Table | None,
    ind: Indicator,
    *,
    level: str | None = None,
    group: str | None = None,
    first_quarter: int,
    last_quarter: int,
    income: pd.DataFrame | None = None,
    outcome: ir.Table | None = None,
) -> pd.DataFrame:
    """The indicator aggregated to cells, as a pandas frame.

    Columns: practice_id, q, unit (the fixed-effect unit: the practice, or for the person-level
    panel the persons of one practice with the same observation window), n (persons), y_sum,
    y_mean, n_event (persons with a non-zero value). Person-level cells are exact sufficient
    statistics for a regression with person(-spell) fixed effects (see did.py).
    *income* (practice_id, year, income_nok) adds the practice's model income to cost_per_listed.
    *outcome* (person_id, q, y) replaces the measured value of each person-quarter of the
    indicator's population (0 where it has no row): the validation puts the generator's expected
    rates there to see an estimator's bias without sampling noise.
    """
    cells, since = _cells_expr(
        tables,
        panel,
        ind,
        level=level or ind.level,
        group=group,
        first_quarter=first_quarter,
        last_quarter=last_quarter,
        outcome=outcome,
    )
    return _finish_cells(cells.to_pandas(), ind, since, income)


def _add_income(df: pd.DataFrame, income: pd.DataFrame) -> pd.DataFrame:
    need = {"practice_id", "year", "income_nok"}
    if not need <= set(income.columns):
        raise PhtError(f"the model income table needs the columns {sorted(need)}")
    inc = income.assign(income_nok=income["income_nok"].astype("float64"))
    inc = inc.groupby(["practice_id", "year"], as_index=False)["income_nok"].sum()
    out = df.assign(year=df["q"] // 4).merge(inc, on=["practice_id", "year"], how="left")
    # the practice's income for the year, a quarter of it per quarter, shared over its cells
    share = out["n"] / out.groupby(["practice_id", "q"])["n"].transform("sum")
    out["y_sum"] = out["y_sum"] + out["income_nok"].fillna(0.0) / 4 * share
    return out.drop(columns=["year", "income_nok"])


def indicator_table(
    tables: Tables,
    panel: ir.Table | None,
    ind: Indicator,
    *,
    first_quarter: int,
    last_quarter: int,
    by_group: bool = True,
    income: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The indicator per practice, quarter and target group (unsuppressed; see suppression.py).

    Columns: indicator, practice_id, q, quarter, target_group ("all" and, for person panels, each
    group), n, n_event, value.
    """
    return indicator_tables(
        tables,
        panel,
        [ind],
        first_quarter=first_quarter,
        last_quarter=last_quarter,
        by_group=by_group,
        income=income,
    )


def indicator_tables(
    tables: Tables,
    panel: ir.Table | None,
    indicators: list[Indicator],
    *,
    first_quarter: int,
    last_quarter: int,
    by_group: bool = True,
    income: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`indicator_table` of every indicator of *indicators*, one after the other.

    Every cell of every panel indicator and target group comes from one aggregation over the
    panel (per practice and quarter, one conditional count and sum per indicator and group), and
    the survey indicators' from one over the responses: two queries in all, so a backend with a
    cost per query (Spark) runs two jobs instead of one per indicator and group.
    """
    plan: list[tuple[Indicator, list[str | None]]] = []
    for ind in indicators:
        groups: list[str | None] = [None]
        if by_group and not (ind.is_survey or ind.per_gp):
            groups += list(GROUPS)
        plan.append((ind, groups))
    if not plan:
        raise PhtError("no indicators to compute")
    cells: dict[tuple[str, str | None], pd.DataFrame] = {}
    on_panel = [(ind, groups) for ind, groups in plan if not ind.is_survey]
    if on_panel:
        if panel is None:
            raise PhtError("a person-quarter panel is needed for these indicators")
        aggs: dict[str, ir.Value] = {}
        for k, (ind, groups) in enumerate(on_panel):
            for j, g in enumerate(groups):
                inside, y = _in_population(panel, ind, g)
                aggs[f"n_{k}_{j}"] = panel.count(where=inside)
                if ind.per_gp:
                    aggs[f"g_{k}_{j}"] = panel.gp_id.nunique(where=inside)
                else:
                    aggs[f"s_{k}_{j}"] = y.sum(where=inside)
                    aggs[f"e_{k}_{j}"] = (y > 0).cast("int64").sum(where=inside)
        wide = panel.group_by(["practice_id", "q"]).aggregate(**aggs).to_pandas()
        for k, (ind, groups) in enumerate(on_panel):
            for j, g in enumerate(groups):
                n = wide[f"n_{k}_{j}"].astype("int64")
                part = wide.loc[n > 0, ["practice_id", "q"]].copy()
                part["n"] = n[n > 0]
                if ind.per_gp:
                    # listed persons per GP with a list: y_mean = n / GPs, each cell weighted by n
                    gps = wide.loc[n > 0, f"g_{k}_{j}"].astype("int64")
                    part["y_sum"] = part["n"].astype("float64") * part["n"] / gps
                    part["n_event"] = part["n"]
                else:
                    part["y_sum"] = wide.loc[n > 0, f"s_{k}_{j}"].astype("float64")
                    part["n_event"] = wide.loc[n > 0, f"e_{k}_{j}"].fillna(0).astype("int64")
                cells[(ind.name, g)] = part.reset_index(drop=True)
    surveys = [ind for ind, _ in plan if ind.is_survey]
    if surveys:
        parts = []
        for k, ind in enumerate(surveys):
            resp = survey_person_quarters(
                tables, ind, first_quarter=first_quarter, last_quarter=last_quarter
            )
            parts.append(
                resp.select(
                    _k=ibis.literal(k, "int64"), practice_id=resp.practice_id, q=resp.q, y=resp.y
                )
            )
        resp = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
        by_survey = (
            resp.group_by(["_k", "practice_id", "q"])
            .aggregate(n=resp.count(), y_sum=resp.y.sum(), n_event=resp.count())
            .to_pandas()
        )
        for k, ind in enumerate(surveys):
            part = by_survey[by_survey["_k"] == k].drop(columns=["_k"])
            cells[(ind.name, None)] = part.reset_index(drop=True)
    frames = []
    for ind, groups in plan:
        for g in groups:
            df = _finish_cells(cells[(ind.name, g)], ind, None, income)
            df["target_group"] = g or "all"
            df["indicator"] = ind.name
            frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["quarter"] = out["q"].map(quarter_label)
    out = out.rename(columns={"y_mean": "value"})
    return out[
        ["indicator", "practice_id", "q", "quarter", "target_group", "n", "n_event", "value"]
    ]
