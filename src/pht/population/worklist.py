"""Worklists and summaries: who needs the team now, and why, in plain words.

The worklist is one Ibis expression over the practice's listed persons: each reason is a row of a
long table (person, points, text), the priority is the sum of the points plus the admission risk
in percent times ``risk_per_percent``, and the reasons are joined in order of their points. The
points and texts are reference data (``value_sets/worklist.toml``).
"""

from __future__ import annotations

import re

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from pht.core.errors import NotFound, PhtError
from pht.population._base import months_since
from pht.population.analytics import PopulationView, _union_all

__all__ = ["LANGUAGES", "summary_table", "worklist_table"]

LANGUAGES = ("nb", "en")
_PLACEHOLDER = re.compile(r"(\{label\}|\{n\})")
_BAND_ORDER = ("low", "medium", "high", "very_high")
_EMPTY = ibis.literal([], type="array<string>")


def _fill(
    template: str, *, label: ir.StringValue | None = None, n: ir.Value | None = None
) -> ir.StringValue:
    """The template with ``{label}`` and ``{n}`` replaced by expressions."""
    out: ir.StringValue = ibis.literal("")
    for part in _PLACEHOLDER.split(template):
        if part == "{label}":
            if label is None:
                raise PhtError(f"reason text {template!r} needs no label")
            out = out + label
        elif part == "{n}":
            if n is None:
                raise PhtError(f"reason text {template!r} needs no number")
            out = out + n.cast("string")
        elif part:
            out = out + ibis.literal(part)
    return out


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise PhtError(f"language {language!r} not known; use one of {', '.join(LANGUAGES)}")


def _base(view: PopulationView, practice_id: str | None, member_id: str | None) -> ir.Table:
    """Listed persons of the practice (or of all practices), narrowed to a team member."""
    base = view.listed
    if practice_id is None:
        if member_id is not None:
            raise PhtError("a team member needs a practice (--practice)")
        return base
    practices = view.tables.table("practices")
    found = practices.filter(practices.practice_id == practice_id).count().execute()
    if not found:
        raise NotFound(f"no practice {practice_id} in the warehouse")
    base = base.filter(base.practice_id == practice_id)
    if member_id is None:
        return base
    pr = view.tables.table("practitioners")
    rows = (
        pr.filter((pr.practitioner_id == member_id) & (pr.practice_id == practice_id))
        .select("role")
        .distinct()
        .execute()
    )
    if rows.empty:
        raise NotFound(f"no team member {member_id} in practice {practice_id}")
    if "gp" in set(rows["role"]):
        return base.filter(base.gp_id == member_id)
    # nurses, secretaries and psychologists: the persons they had contact with in the last year
    c = view.tables.table("contacts")
    mine = c.filter(
        (c.practitioner_id == member_id) & (c.date >= view.year_ago) & (c.date < view.as_of)
    ).select("person_id")
    return base.semi_join(mine, "person_id")


def _reasons(view: PopulationView, facts: ir.Table, language: str) -> ir.Table:
    """Every reason of every person in *facts* (person_id, band, risk, risk_band,
    emergency_admissions, last_gp_contact: one row per person): person_id, points, text."""
    wl = view.vs.worklist
    pts = wl.points
    th = wl.thresholds

    def t(key: str) -> str:
        return wl.text(language, key)

    labels = ibis.memtable(
        pa.table(
            {
                "condition": list(view.vs.conditions),
                "_label": [c.label(language) for c in view.vs.conditions.values()],
            }
        )
    )
    parts: list[ir.Table] = []

    # 1. conditions, with the state of their annual check
    ce = view.condition_evidence.semi_join(facts, "person_id").select("person_id", "condition")
    ac = view.annual_checks.select("person_id", "condition", "last_check", "months_since", "status")
    c = ce.join(labels, "condition").left_join(ac, ["person_id", "condition"])
    # One reason per fact: conditions that share the state of their annual check (never
    # checked, overdue by the same number of months, due soon, nothing to say) are named
    # together in one reason, so no words repeat; the points still count per condition.
    kind = ibis.cases(
        ((c.status == "overdue") & c.last_check.isnull(), "never"),
        (c.status == "overdue", "overdue"),
        (c.status == "due", "due"),
        else_="condition",
    )
    points = pts.target_group + (
        ibis.cases(
            (c.status == "overdue", pts.annual_check_overdue),
            (c.status == "due", pts.annual_check_due),
            else_=0.0,
        )
    )
    c = c.mutate(
        _kind=kind,
        _n=ibis.ifelse(kind == "overdue", c.months_since, ibis.null("int64")),
        _points=points.cast("float64"),
    )
    # the labels in order: the collected list sorted (an ordered aggregate Spark cannot run)
    g = c.group_by(["person_id", "_kind", "_n"]).aggregate(
        points=c._points.sum(), _labels=c._label.collect().sort().join(", ")
    )
    text = ibis.cases(
        (g._kind == "never", _fill(t("annual_check_never"), label=g._labels)),
        (g._kind == "overdue", _fill(t("annual_check_overdue"), label=g._labels, n=g._n)),
        (g._kind == "due", _fill(t("annual_check_due"), label=g._labels)),
        else_=_fill(t("condition"), label=g._labels),
    )
    parts.append(g.select("person_id", points=g.points.cast("float64"), text=text))

    # 2. frailty
    f = facts.filter(facts.band != "fit")
    parts.append(
        f.select(
            "person_id",
            points=ibis.cases(
                (f.band == "severe", pts.frailty_severe),
                (f.band == "moderate", pts.frailty_moderate),
                else_=pts.frailty_mild,
            ).cast("float64"),
            text=ibis.cases(
                (f.band == "severe", t("frailty_severe")),
                (f.band == "moderate", t("frailty_moderate")),
                else_=t("frailty_mild"),
            ),
        )
    )

    # 3. emergency admissions in the last year
    em = facts.filter(facts.emergency_admissions.notnull())
    n = em.emergency_admissions
    parts.append(
        em.select(
            "person_id",
            points=(ibis.least(n, th.max_counted_admissions) * pts.emergency_admission).cast(
                "float64"
            ),
            text=ibis.ifelse(
                n == 1, t("emergency_admissions_one"), _fill(t("emergency_admissions"), n=n)
            ),
        )
    )

    # 4. long since the last GP contact
    g = facts
    months = months_since(view.as_of, g.last_gp_contact)
    g = g.mutate(_m=months).filter(g.last_gp_contact.isnull() | (months >= th.no_gp_contact_months))
    parts.append(
        g.select(
            "person_id",
            points=ibis.literal(pts.no_gp_contact).cast("float64"),
            text=ibis.ifelse(
                g.last_gp_contact.isnull(),
                t("no_gp_contact_ever"),
                _fill(t("no_gp_contact"), n=g._m),
            ),
        )
    )

    # 5. high admission risk (its points are added to the priority separately)
    high = list(_BAND_ORDER[_BAND_ORDER.index(th.high_risk_band) :])
    r = facts.filter(facts.risk_band.isin(high))
    parts.append(
        r.select(
            "person_id",
            points=ibis.literal(0.0),
            text=_fill(t("high_risk"), n=(r.risk * 100).round(0).cast("int64")),
        )
    )

    # 6. weak demanders
    wd = view.weak_demanders.semi_join(facts, "person_id")
    parts.append(
        wd.select(
            "person_id",
            points=ibis.literal(pts.weak_demander).cast("float64"),
            text=ibis.literal(t("weak_demander")),
        )
    )
    return _union_all([p.select("person_id", "points", "text") for p in parts])


def worklist_table(
    view: PopulationView,
    *,
    practice_id: str | None = None,
    member_id: str | None = None,
    language: str = "nb",
) -> ir.Table:
    """The worklist as an Ibis table, ranked per practice (see :func:`pht.population.worklist`)."""
    _check_language(language)
    wl = view.vs.worklist
    base = _base(view, practice_id, member_id)
    high = list(_BAND_ORDER[_BAND_ORDER.index(wl.thresholds.high_risk_band) :])

    tg = view.target_groups.semi_join(base, "person_id")
    tg_d = tg.select("person_id", "target_group").distinct()
    tg_lists = tg_d.group_by("person_id").aggregate(target_groups=tg_d.target_group.collect())
    tg_lists = view._keep(tg_lists.mutate(target_groups=tg_lists.target_groups.sort()))
    risky = view.risk.filter(view.risk.risk_band.isin(high)).select("person_id")
    included = view._keep(_union_all([tg.select("person_id"), risky]).distinct())

    # Every per-person fact of the included persons in one table, so that the reasons and the
    # rows below join the person-sized tables (frailty, scores, GP contacts) once.
    facts = view._keep(
        base.semi_join(included, "person_id")
        .left_join(view.frailty.select("person_id", "efi", "band"), "person_id")
        .drop("person_id_right")
        .left_join(view.scores.select("person_id", "risk", "risk_band", "need_weight"), "person_id")
        .drop("person_id_right")
        .left_join(
            view.emergency_admissions.select("person_id", "emergency_admissions"), "person_id"
        )
        .drop("person_id_right")
        .left_join(view.last_gp_contact, "person_id")
        .drop("person_id_right")
    )
    reasons = _reasons(view, facts, language)
    key = (
        (99999 - (reasons.points * 10).round(0).cast("int64")).cast("string").lpad(6, "0")
        + "|"
        + reasons.text
    )
    agg = reasons.group_by("person_id").aggregate(_points=reasons.points.sum(), _keys=key.collect())
    agg = view._keep(
        agg.select(
            "person_id", "_points", reasons=agg._keys.sort().map(lambda k: k.substr(7)).join("; ")
        )
    )

    checks = view.annual_checks
    due = checks.filter(checks.status == "due")
    overdue = checks.filter(checks.status == "overdue")
    due_l = due.group_by("person_id").aggregate(annual_check_due=due.condition.collect())
    due_l = due_l.mutate(annual_check_due=due_l.annual_check_due.sort())
    over_l = overdue.group_by("person_id").aggregate(
        annual_check_overdue=overdue.condition.collect()
    )
    over_l = over_l.mutate(annual_check_overdue=over_l.annual_check_overdue.sort())

    # The priority and the rank on a narrow table: a window over the wide rows (lists and
    # texts) would carry all of them through its sort.
    pr = (
        facts.select("person_id", "practice_id", "risk")
        .left_join(agg.select("person_id", "_points"), "person_id")
        .drop("person_id_right")
    )
    # rounded half up in decimals: DuckDB and Spark round a double such as 15.549999999999999
    # (15.55 as computed) to different sides, and every risk ending in 5 lands there
    exact = (pr._points.fill_null(0.0) + pr.risk * 100 * wl.points.risk_per_percent).cast(
        "decimal(18, 6)"
    )
    pr = pr.mutate(priority=exact.round(1).cast("float64"))
    rank = ibis.row_number().over(
        ibis.window(group_by=pr.practice_id, order_by=[ibis.desc(pr.priority), pr.person_id])
    )
    pr = pr.select("person_id", "priority", rank=(rank + 1).cast("int64"))

    j = (
        facts.join(pr, "person_id")
        .left_join(agg.select("person_id", "reasons"), "person_id")
        .drop("person_id_right")
        .left_join(tg_lists, "person_id")
        .drop("person_id_right")
        .left_join(due_l, "person_id")
        .drop("person_id_right")
        .left_join(over_l, "person_id")
        .drop("person_id_right")
    )
    return j.select(
        "person_id",
        "practice_id",
        "gp_id",
        priority=j.priority,
        rank=j.rank,
        reasons=j.reasons.fill_null(""),
        target_groups=j.target_groups.fill_null(_EMPTY),
        frailty_band=j.band,
        efi=j.efi,
        risk=j.risk,
        risk_band=j.risk_band,
        need_weight=j.need_weight,
        annual_check_due=j.annual_check_due.fill_null(_EMPTY),
        annual_check_overdue=j.annual_check_overdue.fill_null(_EMPTY),
        emergency_admissions=j.emergency_admissions.fill_null(0),
        last_gp_contact=j.last_gp_contact,
    )


def summary_table(view: PopulationView, *, practice_id: str | None = None) -> ir.Table:
    """Counts per practice: listed persons, persons per target group and condition, annual
    checks overdue per condition, persons per frailty band and risk band.

    Columns: practice_id, measure, name, persons.
    """
    base = view.listed
    if practice_id is not None:
        practices = view.tables.table("practices")
        if not practices.filter(practices.practice_id == practice_id).count().execute():
            raise NotFound(f"no practice {practice_id} in the warehouse")
        base = base.filter(base.practice_id == practice_id)
    b = base.select("person_id", "practice_id")

    tg = view.target_groups
    ac = view.annual_checks
    overdue = ac.filter(ac.status == "overdue")
    parts = [
        b.group_by("practice_id")
        .aggregate(persons=b.count().cast("int64"))
        .mutate(measure=ibis.literal("listed"), name=ibis.literal("all")),
    ]
    for measure, table, column in (
        ("target_group", tg, "target_group"),
        ("condition", view.condition_evidence, "condition"),
        ("annual_check_overdue", overdue, "condition"),
        ("frailty_band", view.frailty, "band"),
        ("risk_band", view.risk, "risk_band"),
    ):
        t = table.select("person_id", name=table[column]).distinct()
        j = t.join(b, "person_id")
        parts.append(
            j.group_by(["practice_id", "name"])
            .aggregate(persons=j.person_id.nunique().cast("int64"))
            .mutate(measure=ibis.literal(measure))
        )
    out = _union_all([p.select("practice_id", "measure", "name", "persons") for p in parts])
    return out.order_by(["practice_id", "measure", "name"])
