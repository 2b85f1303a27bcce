"""Target groups, frailty, admission risk, expected need and annual checks as Ibis expressions.

:class:`PopulationView` holds one as-of date, the value sets and the models, and builds each
derived table once (as an expression, or materialised with ``materialise=True``) so that the
worklist and the summary reuse the same pieces. The public functions in :mod:`pht.population`
are thin wrappers around it.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from pht.core.errors import PhtError
from pht.core.labels import TargetGroup
from pht.core.tables import materialise as keep_table
from pht.population._base import (
    Tables,
    add_months,
    code_matches,
    diagnosis_events,
    gp_contacts,
    months_since,
    persons_alive,
    split_codes,
    tariff_events,
)
from pht.reference.value_sets import (
    Model,
    ValueSets,
    load_model,
    load_value_sets,
)

__all__ = ["FEATURE_FACTORS", "PopulationView"]

AGE_BANDS = (
    (0, 4, "age_0_4"),
    (5, 17, "age_5_17"),
    (35, 49, "age_35_49"),
    (50, 66, "age_50_66"),
    (67, 74, "age_67_74"),
    (75, 84, "age_75_84"),
    (85, 200, "age_85_plus"),
)
SERVICE_FACTORS = ("home_nursing", "long_term_stay", "safety_alarm")
FEATURE_FACTORS = (
    *(f for _, _, f in AGE_BANDS),
    "sex_f",
    "frailty_mild",
    "frailty_moderate",
    "frailty_severe",
    *(f"service_{s}" for s in SERVICE_FACTORS),
    "emergency_1",
    "emergency_2_plus",
    "gp_contacts_0",
    "gp_contacts_4_9",
    "gp_contacts_10_plus",
)


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise PhtError(f"not a date: {value!r} (write YYYY-MM-DD)") from None


def _union_all(parts: list[ir.Table]) -> ir.Table:
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


def _coefficient(model: Model, factor: str) -> float:
    """The model's coefficient of *factor*; 0 for a factor it does not use (not null: Spark
    turns a null in a float column of an in-memory table into NaN)."""
    return float(model.coefficients.get(factor, 0.0))


class PopulationView:
    """The population as of one date: every derived table of the population room.

    *tables* is a :class:`pht.registry.Warehouse` or anything with ``.table(name)``.
    """

    def __init__(
        self,
        tables: Tables,
        as_of: dt.date | str,
        *,
        lookback_months: int = 24,
        value_sets: ValueSets | None = None,
        risk_model: Model | None = None,
        need_model: Model | None = None,
        materialise: bool = True,
    ) -> None:
        if lookback_months < 1:
            raise PhtError(f"look-back must be at least 1 month, not {lookback_months}")
        self.tables = tables
        self.as_of = _as_date(as_of)
        self.lookback_months = lookback_months
        self.vs = value_sets or load_value_sets()
        self.risk_model = risk_model or load_model("admission_risk")
        self.need_model = need_model or load_model("expected_need")
        self.materialise = materialise
        self.start = add_months(self.as_of, -lookback_months)
        self.year_ago = add_months(self.as_of, -12)
        frailty_months = self.vs.rules.frailty.lookback_months
        self.frailty_start = add_months(self.as_of, -frailty_months)
        self.events_start = min(self.start, self.frailty_start, self.year_ago)

    def _keep(self, table: ir.Table) -> ir.Table:
        """Materialise *table* (a temporary table on DuckDB, a cached DataFrame on Spark)."""
        if not self.materialise:
            return table
        return keep_table(table)

    # --- long tables ----------------------------------------------------------------------------

    @cached_property
    def persons(self) -> ir.Table:
        """Persons alive on the as-of date with their age."""
        return self._keep(persons_alive(self.tables, self.as_of))

    @cached_property
    def events(self) -> ir.Table:
        """Coded diagnoses over the longest look-back any rule needs.

        Not materialised: reading the contacts and splitting their codes is cheaper than writing
        and re-reading the long table; the value-set matches made from it are kept instead.
        """
        return diagnosis_events(self.tables, self.events_start, self.as_of)

    @cached_property
    def tariffs(self) -> ir.Table:
        """Tariff codes of the contacts over the look-back.

        Not materialised: its two consumers read few of its rows, and splitting the dictionary-
        compressed tariff column again is cheaper than writing every contact's tariffs.
        """
        return tariff_events(self.tables, self.events_start, self.as_of)

    @cached_property
    def gp_contacts(self) -> ir.Table:
        """GP contacts (not out-of-hours) over the look-back: person_id, date, contact_id."""
        return gp_contacts(self.tables, self.events_start, self.as_of)

    @cached_property
    def gp_contact_counts(self) -> ir.Table:
        """Per person with a GP contact over the look-back: the counts and last dates every rule
        needs, in one pass over the contacts.

        Columns: person_id, n_weak (contacts in the weak-demander window), last_weak, n_year
        (contacts in the last 12 months), last_gp_contact (over the look-back, null if none).
        """
        since = add_months(self.as_of, -self.vs.rules.weak_demanders.window_months)
        g = self.gp_contacts
        weak, year, look = g.date >= since, g.date >= self.year_ago, g.date >= self.start
        return self._keep(
            g.group_by("person_id").aggregate(
                n_weak=g.count(where=weak),
                last_weak=g.date.max(where=weak),
                n_year=g.count(where=year),
                last_gp_contact=g.date.max(where=look),
            )
        )

    # --- conditions and target groups -----------------------------------------------------------

    @cached_property
    def condition_events(self) -> ir.Table:
        """Every coded record of a condition in the look-back: the columns of :attr:`events` and
        condition (one row per record and matching value-set entry)."""
        ev = self.events.filter(self.events.date >= self.start)
        return self._keep(code_matches(ev, self.vs.condition_codes, key="condition"))

    @cached_property
    def condition_evidence(self) -> ir.Table:
        """Per person and condition: the latest evidence and the number of records.

        Columns: person_id, condition, target_group, code, code_system, evidence_date, source,
        records. Only conditions with at least their ``min_records`` records in the look-back.
        """
        matched = self.condition_events.distinct()
        per = matched.group_by(["person_id", "condition"]).aggregate(
            records=matched.count(), _last=matched.date.max()
        )
        # the latest record: the rows of the last date, then the first by source and code (the
        # window runs over those few rows only, not over every record)
        top = matched.join(
            per,
            [
                matched.person_id == per.person_id,
                matched.condition == per.condition,
                matched.date == per._last,
            ],
        )
        w = ibis.window(group_by=[top.person_id, top.condition], order_by=[top.source, top.code])
        ranked = top.mutate(_rn=ibis.row_number().over(w))
        latest = ranked.filter(ranked._rn == 0)
        meta = ibis.memtable(
            pa.table(
                {
                    "_c": list(self.vs.conditions),
                    "target_group": [c.target_group.value for c in self.vs.conditions.values()],
                    "_min": [c.min_records for c in self.vs.conditions.values()],
                }
            )
        )
        j = latest.join(meta, latest.condition == meta._c)
        j = j.filter(j.records >= j._min).semi_join(self.persons, "person_id")
        return self._keep(
            j.select(
                "person_id",
                "condition",
                "target_group",
                "code",
                "code_system",
                evidence_date=j.date,
                source=j.source,
                records=j.records.cast("int64"),
            )
        )

    @cached_property
    def frail_elderly(self) -> ir.Table:
        """Frail elderly memberships with the frailty index as evidence."""
        rule = self.vs.rules.frail_elderly
        f = self.frailty
        p = self.persons.filter(self.persons.age >= rule.min_age)
        j = f.join(p, "person_id")
        j = j.filter(j.band.isin(list(rule.bands)))
        return j.select(
            "person_id",
            target_group=ibis.literal(TargetGroup.FRAIL_ELDERLY.value),
            condition=ibis.literal("frailty"),
            code="eFI " + j.efi.round(2).cast("string"),
            code_system=ibis.literal("eFI"),
            evidence_date=j.last_evidence,
            source=ibis.literal("frailty"),
            records=j.deficits,
        )

    @cached_property
    def weak_demanders(self) -> ir.Table:
        """Weak demanders with their need weight and last GP contact as evidence."""
        rule = self.vs.rules.weak_demanders
        g = self.gp_contact_counts
        counts = g.select("person_id", n=g.n_weak, last=g.last_weak)
        need = self.need.filter(self.need.need_weight >= rule.min_need_weight)
        j = need.left_join(counts, "person_id")
        n = j.n.fill_null(0)
        expected = j.expected_contacts * (rule.window_months / 12.0)
        allowed = ibis.greatest(
            ibis.literal(float(rule.max_gp_contacts)), expected * rule.max_share_of_expected
        )
        j = j.filter(n.cast("float64") <= allowed)
        n = j.n.fill_null(0)
        return j.select(
            "person_id",
            target_group=ibis.literal(TargetGroup.WEAK_DEMANDERS.value),
            condition=ibis.literal("weak_demander"),
            code="need " + j.need_weight.round(2).cast("string"),
            code_system=ibis.literal("expected_need"),
            evidence_date=j.last,
            source=ibis.literal("contacts"),
            records=n.cast("int64"),
        )

    @cached_property
    def target_groups(self) -> ir.Table:
        """Every target-group membership with its evidence (one row per person and condition)."""
        return self._keep(
            _union_all([self.condition_evidence, self.frail_elderly, self.weak_demanders])
        )

    # --- frailty --------------------------------------------------------------------------------

    @cached_property
    def deficit_records(self) -> ir.Table:
        """Every record of a deficit: person_id, deficit, code, date, source."""
        coded = [e for e in self.vs.deficit_codes if e.code_system not in ("service", "tariff")]
        ev = self.events.filter(self.events.date >= self.frailty_start)
        from_codes = code_matches(ev, coded, key="deficit").select(
            "person_id", "deficit", "code", "date", "source"
        )
        parts = [from_codes]
        services = [e for e in self.vs.deficit_codes if e.code_system == "service"]
        if services:
            s = self.tables.table("municipal_services")
            s = s.filter((s.start < self.as_of) & (s.end.isnull() | (s.end >= self.year_ago)))
            svc = ibis.memtable(
                pa.table({"_svc": [e.code for e in services], "deficit": [e.key for e in services]})
            )
            js = s.join(svc, s.service == svc._svc)
            parts.append(
                js.select(
                    "person_id",
                    "deficit",
                    code=js.service,
                    date=ibis.greatest(js.start, ibis.literal(self.year_ago)),
                    source=ibis.literal("municipal_services"),
                )
            )
        tariffs = [e for e in self.vs.deficit_codes if e.code_system == "tariff"]
        if tariffs:
            t = self.tariffs.filter(self.tariffs.date >= self.year_ago)
            tm = ibis.memtable(
                pa.table(
                    {
                        "_tariff": [e.code.lower() for e in tariffs],
                        "deficit": [e.key for e in tariffs],
                    }
                )
            )
            jt = t.join(tm, t.tariff == tm._tariff)
            parts.append(
                jt.select(
                    "person_id",
                    "deficit",
                    code=jt.tariff,
                    date=jt.date,
                    source=ibis.literal("contacts"),
                )
            )
        return _union_all(parts)

    @cached_property
    def deficit_evidence(self) -> ir.Table:
        """Per person and deficit: the latest evidence (code, date, source)."""
        allp = self.deficit_records
        w = ibis.window(
            group_by=[allp.person_id, allp.deficit],
            order_by=[ibis.desc(allp.date), allp.source, allp.code],
        )
        ranked = allp.mutate(_rn=ibis.row_number().over(w))
        return ranked.filter(ranked._rn == 0).drop("_rn")

    @cached_property
    def frailty(self) -> ir.Table:
        """person_id, efi, band (fit/mild/moderate/severe), deficits, last_evidence for every
        person alive on the as-of date."""
        rules = self.vs.rules.frailty
        total = len(self.vs.deficits)
        d = self.deficit_records
        # distinct deficits by two plain aggregations (a count-distinct aggregate is much slower)
        each = d.group_by(["person_id", "deficit"]).aggregate(_last=d.date.max())
        per = each.group_by("person_id").aggregate(
            deficits=each.count().cast("int64"), last_evidence=each._last.max()
        )
        j = self.persons.select("person_id").left_join(per, "person_id")
        n = j.deficits.fill_null(0)
        efi = (n.cast("float64") / total).round(4)
        band = ibis.cases(
            (efi > rules.severe, "severe"),
            (efi > rules.moderate, "moderate"),
            (efi > rules.mild, "mild"),
            else_="fit",
        )
        return self._keep(
            j.select(
                "person_id",
                efi=efi,
                band=band,
                deficits=n.cast("int64"),
                last_evidence=j.last_evidence,
            )
        )

    # --- model features and scores --------------------------------------------------------------

    @cached_property
    def features(self) -> ir.Table:
        """Every binary factor a person has on the as-of date, long: person_id, factor."""
        p = self.persons
        age_case = ibis.cases(
            *[((p.age >= lo) & (p.age <= hi), name) for lo, hi, name in AGE_BANDS],
            else_=ibis.null("string"),
        )
        ages = p.select("person_id", factor=age_case)
        parts = [
            ages.filter(ages.factor.notnull()),
            p.filter(p.sex == "F").select("person_id", factor=ibis.literal("sex_f")),
        ]
        ce = self.condition_evidence
        parts.append(ce.select("person_id", factor="cond_" + ce.condition))
        f = self.frailty.filter(self.frailty.band != "fit")
        parts.append(f.select("person_id", factor="frailty_" + f.band))
        s = self.tables.table("municipal_services")
        s = s.filter(
            (s.start < self.as_of)
            & (s.end.isnull() | (s.end >= self.as_of))
            & s.service.isin(list(SERVICE_FACTORS))
        )
        parts.append(s.select("person_id", factor="service_" + s.service).distinct())
        em = self.emergency_admissions
        parts.append(
            em.select(
                "person_id",
                factor=ibis.ifelse(em.emergency_admissions >= 2, "emergency_2_plus", "emergency_1"),
            )
        )
        gc = self.gp_contact_counts.select("person_id", n=self.gp_contact_counts.n_year)
        gpj = p.select("person_id").left_join(gc, "person_id")
        n = gpj.n.fill_null(0)
        gfac = ibis.cases(
            (n == 0, "gp_contacts_0"),
            (n >= 10, "gp_contacts_10_plus"),
            (n >= 4, "gp_contacts_4_9"),
            else_=ibis.null("string"),
        )
        gpf = gpj.select("person_id", factor=gfac)
        parts.append(gpf.filter(gpf.factor.notnull()))
        return self._keep(_union_all([t.select("person_id", "factor") for t in parts]))

    @cached_property
    def emergency_admissions(self) -> ir.Table:
        """person_id, emergency_admissions (acute, admitted in the last 12 months),
        last_admitted."""
        a = self.tables.table("admissions")
        a = a.filter(a.acute & (a.admitted >= self.year_ago) & (a.admitted < self.as_of))
        return self._keep(
            a.group_by("person_id").aggregate(
                emergency_admissions=a.count().cast("int64"), last_admitted=a.admitted.max()
            )
        )

    def contributions(self, model: Model) -> ir.Table:
        """Per person and factor the model uses: person_id, factor, coefficient."""
        coef = ibis.memtable(
            pa.table(
                {
                    "_factor": list(model.coefficients),
                    "coefficient": [float(v) for v in model.coefficients.values()],
                }
            )
        )
        f = self.features
        j = f.join(coef, f.factor == coef._factor)
        return j.select("person_id", "factor", "coefficient")

    @cached_property
    def scores(self) -> ir.Table:
        """Both models in one pass over the features, one row per person alive on the as-of date.

        Columns: person_id, risk, risk_band, expected_contacts, need_weight (see :attr:`risk`
        and :attr:`need`). Each linear predictor is the model's intercept plus the sum of the
        coefficients of the person's factors.
        """
        factors = sorted(set(self.risk_model.coefficients) | set(self.need_model.coefficients))
        coef = ibis.memtable(
            pa.table(
                {
                    "_factor": factors,
                    "_risk": [_coefficient(self.risk_model, f) for f in factors],
                    "_need": [_coefficient(self.need_model, f) for f in factors],
                }
            )
        )
        f = self.features
        j = f.join(coef, f.factor == coef._factor)
        sums = j.group_by("person_id").aggregate(_risk=j._risk.sum(), _need=j._need.sum())
        p = self.persons.select("person_id").left_join(sums, "person_id")
        risk = 1.0 / (1.0 + (-(p._risk.fill_null(0.0) + self.risk_model.intercept)).exp())
        b = self.vs.worklist.risk_bands
        band = ibis.cases(
            (risk >= b.very_high, "very_high"),
            (risk >= b.high, "high"),
            (risk >= b.medium, "medium"),
            else_="low",
        )
        mu = (p._need.fill_null(0.0) + self.need_model.intercept).exp()
        return self._keep(
            p.select(
                "person_id",
                risk=risk.round(4),
                risk_band=band,
                expected_contacts=mu.round(3),
                need_weight=(mu / self.need_model.normaliser).round(3),
            )
        )

    @cached_property
    def risk(self) -> ir.Table:
        """person_id, risk (probability of an unplanned admission in 12 months), risk_band."""
        return self.scores.select("person_id", "risk", "risk_band")

    @cached_property
    def need(self) -> ir.Table:
        """person_id, expected_contacts (GP contacts in 12 months), need_weight (1.0 = average)."""
        return self.scores.select("person_id", "expected_contacts", "need_weight")

    # --- annual checks --------------------------------------------------------------------------

    @cached_property
    def annual_check_contacts(self) -> ir.Table:
        """Contacts that are annual checks by their tariffs: contact_id.

        The patterns are tested on each contact's list of tariffs (no join, no grouping by
        contact): on DuckDB the test runs once per distinct tariff string.
        """
        rules = self.vs.rules.annual_checks
        c = self.tables.table("contacts")
        c = c.filter(
            (c.date >= self.start)
            & (c.date < self.as_of)
            & c.tariffs.notnull()
            & c.setting.isin(list(rules.settings))
        )
        tokens = split_codes(c.tariffs, upper=False)
        false = ibis.literal(False)
        is_check: ir.BooleanValue = false
        for pattern in rules.patterns:
            every: ir.BooleanValue = ibis.literal(True)
            for codes in pattern:
                some: ir.BooleanValue = false
                for code in codes:
                    some = some | tokens.contains(code.lower())
                every = every & some
            is_check = is_check | every
        return c.filter(is_check).select("contact_id")

    @cached_property
    def annual_checks(self) -> ir.Table:
        """Per person with a condition that has annual checks: the last check and its status.

        Columns: person_id, condition, last_check (null: none in the look-back), months_since,
        status (ok / due / overdue).
        """
        rules = self.vs.rules.annual_checks
        ev = self.condition_events
        checks = ev.filter(
            (ev.source == "contacts")
            & (ev.code_system == "ICPC-2")
            & ev.condition.isin(list(rules.conditions))
        ).semi_join(self.annual_check_contacts, "contact_id")
        last = checks.group_by(["person_id", "condition"]).aggregate(last_check=checks.date.max())
        ce = self.condition_evidence.filter(
            self.condition_evidence.condition.isin(list(rules.conditions))
        )
        j = ce.select("person_id", "condition").left_join(last, ["person_id", "condition"])
        months = months_since(self.as_of, j.last_check)
        status = ibis.cases(
            (j.last_check.isnull(), "overdue"),
            (months >= rules.overdue_after_months, "overdue"),
            (months >= rules.due_after_months, "due"),
            else_="ok",
        )
        return self._keep(
            j.select(
                "person_id",
                "condition",
                last_check=j.last_check,
                months_since=months,
                status=status,
            )
        )

    # --- listing --------------------------------------------------------------------------------

    @cached_property
    def listed(self) -> ir.Table:
        """Persons on a GP's list on the as-of date: person_id, gp_id, practice_id."""
        m = self.tables.table("list_memberships")
        m = m.filter((m.start <= self.as_of) & (m.end.isnull() | (m.end >= self.as_of)))
        pr = self.tables.table("practitioners")
        pr = pr.filter(
            (pr.role == "gp")
            & (pr.start <= self.as_of)
            & (pr.end.isnull() | (pr.end >= self.as_of))
        )
        gps = pr.select(gp_id=pr.practitioner_id, practice_id=pr.practice_id).distinct()
        j = m.join(gps, "gp_id").semi_join(self.persons, "person_id")
        return self._keep(j.select("person_id", "gp_id", "practice_id"))

    @cached_property
    def last_gp_contact(self) -> ir.Table:
        """person_id, last_gp_contact over the look-back."""
        g = self.gp_contact_counts
        return g.filter(g.last_gp_contact.notnull()).select("person_id", "last_gp_contact")
