"""Set-based building blocks the two financing models share (Ibis expressions).

- :func:`listed_days`: who is listed with which GP and practice, for how many days of the year,
  with age and sex (list memberships × GP practitioners × persons, clipped to the year and death).
- :func:`claim_lines`: every claim of the year exploded into one row per tariff code, with the
  provider (GP or nurse work) and whether the patient is a child.
- :func:`priced_lines`: lines mapped to the codes one model prices them as, priced from the
  tariff file valid on the claim date, combination rules and yearly maxima applied, and the
  co-payment split between patient and state by the yearly ceiling (ordered by date).

:func:`claim_lines` and :func:`priced_lines` are the line-level definition of the pricing rules;
the models use :func:`pht.financing.activity.claim_activity`, which gives the same sums without
a row per claim line (the tests hold the two to each other).

Money stays in integer øre inside the warehouse; rooms convert to :class:`Money` at the edges.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, Protocol

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from pht.core.errors import PhtError
from pht.reference import tariff_codes
from pht.reference.financing import (
    AgeSexBand,
    FinancingRates,
    TariffAmount,
    activity_equivalents,
    load_financing_rates,
    load_tariff_amounts,
)

__all__ = [
    "WEIGHT_SCALE",
    "FinancingInputs",
    "Tables",
    "activity_by_practice",
    "age_sex_weight_table",
    "claim_lines",
    "explode_codes",
    "listed_days",
    "ore",
    "practitioner_roles",
    "price_codes",
    "priced_lines",
    "target_persons",
    "with_provider",
    "with_target",
]

WEIGHT_SCALE = 10_000  # weights are kept as integers in units of 1/10,000
_FAR = dt.date(9999, 12, 31)


class Tables(Protocol):
    """Anything that hands out warehouse tables by name (a Warehouse, or a test double)."""

    def table(self, name: str) -> ir.Table: ...


def ore(amount: Decimal) -> int:
    """Whole øre of a NOK amount (amounts in reference data have at most two decimals)."""
    value = amount * 100
    if value != value.to_integral_value():
        raise PhtError(f"amount {amount} has fractions of an øre")
    return int(value)


def _weight_units(weight: Decimal) -> int:
    units = weight * WEIGHT_SCALE
    if units != units.to_integral_value():
        raise PhtError(f"weight {weight} has more than four decimals")
    return int(units)


@dataclass(frozen=True)
class FinancingInputs:
    """The year's reference data, ready for the models."""

    year: int
    rates: FinancingRates
    tariffs: tuple[TariffAmount, ...]

    @classmethod
    def for_year(
        cls, year: int, *, tariffs: Iterable[TariffAmount] | None = None
    ) -> FinancingInputs:
        """Rates and tariff amounts of *year* from reference data (or *tariffs* given)."""
        return cls(
            year=year,
            rates=load_financing_rates(year),
            tariffs=tuple(tariffs) if tariffs is not None else load_tariff_amounts(year),
        )

    @property
    def start(self) -> dt.date:
        """1 January."""
        return dt.date(self.year, 1, 1)

    @property
    def end(self) -> dt.date:
        """1 January of the next year (exclusive end)."""
        return dt.date(self.year + 1, 1, 1)

    @property
    def days(self) -> int:
        """Days in the year (365 or 366)."""
        return (self.end - self.start).days

    def tariff_table(self) -> ir.Table:
        """The tariff amounts as a table (øre), one row per code and day of the year.

        One row per day makes pricing an equality join on (code, date), which the warehouse
        runs much faster than a join on a date range.
        """
        out = []
        for t in self.tariffs:
            first = max(t.valid.start, self.start)
            end = min(t.valid.end or self.end, self.end)
            day = first
            while day < end:
                out.append(
                    {
                        "t_code": t.code,
                        "t_day": day,
                        "fee_ore": ore(t.fee),
                        "refund_ore": ore(t.refund),
                        "copay_ore": ore(t.copay),
                        "counts": t.counts_toward_ceiling,
                        "max_per_year": t.max_per_year,
                    }
                )
                day += dt.timedelta(days=1)
        schema = {
            "t_code": "string",
            "t_day": "date",
            "fee_ore": "int64",
            "refund_ore": "int64",
            "copay_ore": "int64",
            "counts": "boolean",
            "max_per_year": "int64",
        }
        return ibis.memtable(pa.Table.from_pylist(out, schema=ibis.schema(schema).to_pyarrow()))

    def invalid_pairs(self) -> list[tuple[str, str]]:
        """(code, code it may not be claimed with) from the tariff file's combination rules."""
        pairs = {
            (t.code, bad)
            for t in self.tariffs
            if t.valid.start < self.end and (t.valid.end is None or t.valid.end > self.start)
            for bad in t.invalid_with
        }
        return sorted(pairs)


def age_sex_weight_table(
    bands: Iterable[AgeSexBand], *, name: str = "w", factor: Decimal | None = None
) -> ir.Table:
    """One row per (age, sex) with the band's weight in 1/10,000 (ages 0–130).

    With *factor*, a second column ``<name>_factor`` holds weight × factor.
    """
    out = []
    for band in bands:
        for age in range(band.age_from, min(band.age_to, 130) + 1):
            for sex, weight in (("F", band.female), ("M", band.male)):
                row = {"w_age": age, "w_sex": sex, name: _weight_units(weight)}
                if factor is not None:
                    row[f"{name}_factor"] = _weight_units(weight * factor)
                out.append(row)
    fields = [("w_age", pa.int64()), ("w_sex", pa.string()), (name, pa.int64())]
    if factor is not None:
        fields.append((f"{name}_factor", pa.int64()))
    return ibis.memtable(pa.Table.from_pylist(out, schema=pa.schema(fields)))


def target_persons(target_groups: ir.Table | None) -> ir.Table | None:
    """Distinct person_id of a target-group table (any table with a person_id column)."""
    if target_groups is None:
        return None
    return target_groups.select(tg_person="person_id").distinct()


def with_target(t: ir.Table, targets: ir.Table | None) -> ir.Table:
    """Adds ``target``: the row's ``person_id`` is in *targets* (a ``tg_person`` table)."""
    if targets is None:
        return t.mutate(target=ibis.literal(False))
    j = t.left_join(targets, t.person_id == targets.tg_person)
    return j.mutate(target=j.tg_person.notnull()).drop("tg_person")


def listed_days(
    tables: Tables,
    inputs: FinancingInputs,
    *,
    targets: ir.Table | None = None,
    persons: ir.Table | None = None,
) -> ir.Table:
    """Listed days in the year per (person, GP, practice), with age on 1 January and sex.

    A membership counts from its first to its last day (inclusive), inside the year, while the
    GP works at the practice (practitioner row of role gp) and until the person's death.
    Columns: person_id, gp_id, practice_id, l_start, l_end (exclusive), days, age, sex, target.
    With *persons* (a table with a distinct ``s_person`` column), only those persons' rows,
    picked before anything else is joined.
    """
    lm = tables.table("list_memberships")
    if persons is not None:
        lm = lm.join(persons, lm.person_id == persons.s_person).drop("s_person")
    pr = tables.table("practitioners")
    pr = pr.filter(pr.role == "gp").select(
        pr_id="practitioner_id", practice_id="practice_id", p_start="start", p_end="end"
    )
    pe = tables.table("persons").select(
        pe_id="person_id", birth_date="birth_date", sex="sex", death_date="death_date"
    )
    one = ibis.interval(days=1)
    j = lm.join(pr, lm.gp_id == pr.pr_id).join(pe, lm.person_id == pe.pe_id)
    start = ibis.greatest(j.start, j.p_start, ibis.date(inputs.start))
    end = ibis.least(
        (j.end + one).fill_null(ibis.date(_FAR)),
        (j.p_end + one).fill_null(ibis.date(_FAR)),
        (j.death_date + one).fill_null(ibis.date(_FAR)),
        ibis.date(inputs.end),
    )
    born = j.birth_date
    age = inputs.year - born.year() - 1 + ((born.month() == 1) & (born.day() == 1)).cast("int64")
    out = j.select(
        person_id=j.person_id,
        gp_id=j.gp_id,
        practice_id=j.practice_id,
        l_start=start,
        l_end=end,
        age=age.cast("int64"),
        sex=j.sex,
    )
    out = out.filter(out.l_end > out.l_start).mutate(days=out.l_end.delta(out.l_start, unit="day"))
    return with_target(out, targets)


def gp_contract_starts(tables: Tables) -> dict[str, dt.date]:
    """practitioner_id → the first day the GP works at a practice (a ``practitioners`` row of
    role gp): the start of the GP contract for the grunntilskudd's two years (A: the registry
    holds no contract date)."""
    pr = tables.table("practitioners")
    pr = pr.filter(pr.role == "gp")
    g = pr.group_by(gp_id=pr.practitioner_id).agg(first=pr.start.min())
    return {str(r["gp_id"]): r["first"] for r in rows(g) if r["first"] is not None}


def practitioner_roles(tables: Tables) -> ir.Table:
    """r_id (practitioner_id) and r_nurse (1 when any row of the practitioner is a nurse)."""
    pr = tables.table("practitioners")
    return pr.group_by(r_id=pr.practitioner_id).agg(
        r_nurse=(pr.role == "nurse").cast("int64").max()
    )


def _provider_table() -> ir.Table:
    rows = [{"pc_code": c.code, "pc_provider": c.provider} for c in tariff_codes().values()]
    return ibis.memtable(pa.Table.from_pylist(rows))


def claim_lines(
    tables: Tables, inputs: FinancingInputs, *, targets: ir.Table | None = None
) -> ir.Table:
    """The year's claims, one row per tariff code.

    Columns: contact_id, person_id, practice_id, date, pos (the code's place in the claim),
    code, provider (gp or nurse: the code's provider, else the practitioner's role), child
    (under the co-payment age limit on the claim date), multi (the claim has several codes),
    target.
    """
    c = tables.table("contacts")
    c = c.filter(
        (c.date >= ibis.date(inputs.start)) & (c.date < ibis.date(inputs.end)) & c.tariffs.notnull()
    )
    # person and practitioner facts are joined per claim, before the claim is exploded
    roles = practitioner_roles(tables)
    pe = tables.table("persons").select(pe_id="person_id", birth_date="birth_date")
    free_age = inputs.rates.copayment.free_below_age
    j = c.left_join(roles, c.practitioner_id == roles.r_id).left_join(pe, c.person_id == pe.pe_id)
    c = j.select(
        "contact_id",
        "person_id",
        "practice_id",
        "date",
        nurse=(j.r_nurse == 1).fill_null(False),
        child=(j.date < j.birth_date + ibis.interval(years=free_age)).fill_null(False),
        codes=j.tariffs.strip().split(" "),
    )
    j = with_provider(explode_codes(c))
    out = j.select(
        "contact_id",
        "person_id",
        "practice_id",
        "date",
        "pos",
        "code",
        "multi",
        "child",
        "provider",
    )
    return with_target(out, targets)


def explode_codes(t: ir.Table) -> ir.Table:
    """One row per code of the ``codes`` array: adds ``multi``, ``code`` and ``pos`` (the code's
    place in the claim, its first occurrence), drops ``codes`` and empty codes."""
    t = t.mutate(multi=t.codes.length() > 1, code=t.codes.unnest())
    # a plain unnest is much faster than unnesting with an offset, which DuckDB runs as a
    # lateral join
    t = t.mutate(pos=t.codes.index(t.code).cast("int64")).drop("codes")
    return t.filter(t.code != "")


def with_provider(lines: ir.Table) -> ir.Table:
    """Adds ``provider`` (gp or nurse): nurse for a nurse code or a code a nurse claimed (a GP's
    code claimed by a nurse is work delegated to her: ``activity_equivalents.csv`` prices it from
    2026), else gp."""
    prov = _provider_table()
    j = lines.left_join(prov, lines.code == prov.pc_code)
    provider = ibis.cases(
        (j.pc_provider == "nurse", "nurse"),
        (j.nurse, "nurse"),
        else_="gp",
    )
    return j.mutate(provider=provider).drop("pc_code", "pc_provider")


def _equivalents(model: Literal["fee", "grant"], year: int) -> ir.Table:
    rows = []
    for (code, provider), eq in activity_equivalents(year).items():
        codes = eq.fee_codes if model == "fee" else eq.grant_copay_codes
        for sub, priced in enumerate(codes):
            rows.append({"e_code": code, "e_provider": provider, "e_priced": priced, "e_sub": sub})
    return ibis.memtable(
        pa.Table.from_pylist(
            rows,
            schema=pa.schema(
                [
                    ("e_code", pa.string()),
                    ("e_provider", pa.string()),
                    ("e_priced", pa.string()),
                    ("e_sub", pa.int64()),
                ]
            ),
        )
    )


def price_codes(
    lines: ir.Table, inputs: FinancingInputs, *, model: Literal["fee", "grant"]
) -> ir.Table:
    """Claim lines mapped to the code(s) *model* prices them as, priced on the claim date.

    Each line is mapped through ``activity_equivalents.csv`` (other codes as themselves; ``sub``
    is the place among the codes it maps to), joined to the tariff row valid on its ``date``
    (``priced_ok`` when there is one: ``fee_ore``, ``refund_ore``, ``copay_ore``, ``counts``,
    ``max_per_year``), and ``comb_rejected`` when an earlier code of the same claim
    (``contact_id``) may not be combined with it by the tariff file's combination rules.
    """
    eq = _equivalents(model, inputs.year)
    j = lines.left_join(eq, (lines.code == eq.e_code) & (lines.provider == eq.e_provider))
    j = j.mutate(priced=j.e_priced.fill_null(j.code), sub=j.e_sub.fill_null(0)).drop(
        "e_code", "e_provider", "e_priced", "e_sub"
    )
    tt = inputs.tariff_table()
    p = j.left_join(tt, (j.priced == tt.t_code) & (j.date == tt.t_day))
    p = p.mutate(priced_ok=p.t_code.notnull()).drop("t_code", "t_day")
    pairs = inputs.invalid_pairs()
    if not pairs:
        return p.mutate(comb_rejected=ibis.literal(False))
    pt = ibis.memtable(pa.Table.from_pylist([{"x_code": a, "x_bad": b} for a, b in pairs]))
    multi = p.filter(p.multi & p.priced_ok).select("contact_id", "pos", "sub", "priced")
    a = multi.join(pt, multi.priced == pt.x_code)
    b = multi.select(b_contact="contact_id", b_pos="pos", b_sub="sub", b_priced="priced")
    bad = a.join(
        b,
        (a.contact_id == b.b_contact)
        & (a.x_bad == b.b_priced)
        & ((b.b_pos < a.pos) | ((b.b_pos == a.pos) & (b.b_sub < a.sub))),
    )
    bad = bad.select(r_contact="contact_id", r_pos="pos", r_sub="sub").distinct()
    p = p.left_join(
        bad, (p.contact_id == bad.r_contact) & (p.pos == bad.r_pos) & (p.sub == bad.r_sub)
    )
    return p.mutate(comb_rejected=p.r_contact.notnull()).drop("r_contact", "r_pos", "r_sub")


def priced_lines(
    lines: ir.Table,
    inputs: FinancingInputs,
    *,
    model: Literal["fee", "grant"],
) -> ir.Table:
    """Claim lines priced under *model*, with the co-payment split by the yearly ceiling.

    Each line is mapped to the code(s) it is priced as (``activity_equivalents.csv``; other codes
    as themselves), then joined to the tariff row valid on the claim date. A line is not paid
    (``rejected``) when the claim holds, earlier in its code list, a code the tariff file says it
    may not be combined with, or when the person has already had the code's yearly maximum at
    the practice. Under the fee model the practice gets refund + co-payment; under the operating-
    grant model only the co-payment. Children pay no co-payment (the state pays it); co-payments
    that count toward the ceiling are paid by the patient until the person's yearly total reaches
    the ceiling, in claim order (date, claim id, code order), and by the state after that.

    Columns: contact_id, person_id, practice_id, date, provider, target, code, priced (code),
    priced_ok, rejected, refund_ore, copay_patient_ore, copay_ceiling_ore, copay_child_ore.
    """
    p = price_codes(lines, inputs, model=model)
    key = ("contact_id", "pos", "sub")
    parts: list[ir.Table] = [p.filter(p.comb_rejected).select(*key)]
    if any(t.max_per_year for t in inputs.tariffs):
        capped = p.filter(p.max_per_year.notnull() & p.priced_ok)
        w = ibis.window(
            group_by=[capped.person_id, capped.practice_id, capped.priced],
            order_by=[capped.date, capped.contact_id, capped.pos, capped.sub],
        )
        capped = capped.mutate(rn=ibis.row_number().over(w) + 1)
        parts.append(capped.filter(capped.rn > capped.max_per_year).select(*key))
    rejected = ibis.union(*parts, distinct=True) if len(parts) > 1 else parts[0].distinct()
    rejected = rejected.select(r_contact="contact_id", r_pos="pos", r_sub="sub")
    p = p.left_join(
        rejected,
        (p.contact_id == rejected.r_contact)
        & (p.pos == rejected.r_pos)
        & (p.sub == rejected.r_sub),
    )
    p = p.mutate(rejected=p.r_contact.notnull()).drop("r_contact", "r_pos", "r_sub")

    paid = p.priced_ok & ~p.rejected
    copay = ibis.ifelse(paid, p.copay_ore, 0)
    refund = ibis.ifelse(paid, p.refund_ore, 0) if model == "fee" else ibis.literal(0, "int64")
    p = p.mutate(
        refund_ore=refund.cast("int64"),
        copay_all=copay.cast("int64"),
        eligible=paid & ~p.child & p.counts.fill_null(False),
    )
    return _split_by_ceiling(p, inputs)


def _split_by_ceiling(p: ir.Table, inputs: FinancingInputs) -> ir.Table:
    """Patient and state shares of each line's co-payment (ceiling in claim order)."""
    ceiling = ore(inputs.rates.ceiling)
    elig = p.filter(p.eligible & (p.copay_all > 0))
    totals = elig.group_by(o_person=elig.person_id).agg(o_total=elig.copay_all.sum())
    over = totals.filter(totals.o_total > ceiling).select("o_person")
    heavy = elig.join(over, elig.person_id == over.o_person)
    w = ibis.window(
        group_by=heavy.person_id,
        order_by=[heavy.date, heavy.contact_id, heavy.pos, heavy.sub],
        rows=(None, 0),
    )
    heavy = heavy.mutate(h_cum=heavy.copay_all.sum().over(w))
    heavy = heavy.select(
        h_contact="contact_id",
        h_pos="pos",
        h_sub="sub",
        h_patient=ibis.least(
            heavy.copay_all, ibis.greatest(0, ceiling - (heavy.h_cum - heavy.copay_all))
        ).cast("int64"),
    )
    q = p.left_join(
        heavy, (p.contact_id == heavy.h_contact) & (p.pos == heavy.h_pos) & (p.sub == heavy.h_sub)
    )
    patient = ibis.cases(
        (q.child, 0),
        (q.h_contact.notnull(), q.h_patient),
        else_=q.copay_all,
    ).cast("int64")
    return q.select(
        "contact_id",
        "person_id",
        "practice_id",
        "date",
        "provider",
        "target",
        "pos",
        "sub",
        "code",
        "priced",
        "priced_ok",
        "rejected",
        "refund_ore",
        copay_patient_ore=patient,
        copay_ceiling_ore=ibis.ifelse(q.child, 0, q.copay_all - patient).cast("int64"),
        copay_child_ore=ibis.ifelse(q.child, q.copay_all, 0).cast("int64"),
    )


def activity_by_practice(priced: ir.Table) -> ir.Table:
    """Sums of priced lines per (practice, provider, target): øre and line counts."""
    return priced.group_by(["practice_id", "provider", "target"]).agg(
        lines=priced.count(),
        claims=((priced.pos == 0) & (priced.sub == 0)).cast("int64").sum(),
        unpriced=(~priced.priced_ok).cast("int64").sum(),
        rejected=priced.rejected.cast("int64").sum(),
        refund_ore=priced.refund_ore.sum(),
        copay_patient_ore=priced.copay_patient_ore.sum(),
        copay_ceiling_ore=priced.copay_ceiling_ore.sum(),
        copay_child_ore=priced.copay_child_ore.sum(),
    )


def rows(expr: ir.Table) -> list[dict[str, Any]]:
    """Execute *expr* and return plain rows."""
    out: list[dict[str, Any]] = expr.to_pyarrow().to_pylist()
    return out


def band_weight(
    age: ir.IntegerValue,
    sex: ir.StringValue,
    bands: Iterable[AgeSexBand],
    *,
    factor: Decimal | None = None,
) -> ir.IntegerValue:
    """The age/sex band weight (× *factor*) of a row in 1/10,000; WEIGHT_SCALE (1) outside the
    bands (ages 0–130, sex F or M), as :func:`age_sex_weight_table` joined."""
    f = factor if factor is not None else Decimal(1)
    cases = []
    for band in bands:
        inside = (age >= band.age_from) & (age <= min(band.age_to, 130))
        cases.append((inside & (sex == "F"), _weight_units(band.female * f)))
        cases.append((inside & (sex == "M"), _weight_units(band.male * f)))
    if not cases:
        return ibis.literal(WEIGHT_SCALE, "int64")
    return ibis.cases(*cases, else_=WEIGHT_SCALE).cast("int64")


def list_cells(
    listed: ir.Table, inputs: FinancingInputs, *, need_weights: ir.Table | None = None
) -> list[dict[str, Any]]:
    """Listed days summed per (gp_id, practice_id, target) in one pass over the list.

    Columns: ``days`` (person-days); per basistilskudd period *i* of the year ``d<i>``
    (person-days inside the period) and ``u<i>`` (the same × the patient-adjusted weight in
    1/10,000, for patient-adjusted periods, else × 1/10,000 scale); ``need`` (person-days × the
    operating-grant need weight in 1/10,000: the person's ``need_weight`` from *need_weights*
    when given, else the age/sex weight, × the target-group factor for a target-group person).
    """
    rates = inputs.rates
    gm = rates.grant_model
    x = listed
    plain = band_weight(x.age, x.sex, gm.age_sex_weights)
    factored = band_weight(x.age, x.sex, gm.age_sex_weights, factor=gm.target_group_factor)
    weight = ibis.ifelse(x.target, factored, plain)
    if need_weights is not None:
        nt = need_weights.select(
            nw_person="person_id",
            nw=(need_weights.need_weight.cast("decimal(18, 4)") * WEIGHT_SCALE)
            .round()
            .cast("int64"),
        )
        x = x.left_join(nt, x.person_id == nt.nw_person)
        weight = x.nw.fill_null(ibis.ifelse(x.target, factored, plain))
    aggs: dict[str, ir.Value] = {
        "days": x.days.sum(),
        "need": (weight * x.days).cast("int64").sum(),
    }
    assert rates.patient_adjusted_weights is not None
    pa_weight = band_weight(x.age, x.sex, rates.patient_adjusted_weights.bands)
    for i, seg in enumerate(rates.basistilskudd):
        s_start, s_end = ibis.date(seg.period.start), ibis.date(seg.period.end)
        sd = ibis.greatest(
            ibis.least(x.l_end, s_end).delta(ibis.greatest(x.l_start, s_start), unit="day"), 0
        )
        w = pa_weight if seg.kind == "patient_adjusted" else ibis.literal(WEIGHT_SCALE, "int64")
        aggs[f"d{i}"] = sd.cast("int64").sum()
        aggs[f"u{i}"] = (sd * w).cast("int64").sum()
    g = x.group_by(["gp_id", "practice_id", "target"]).agg(**aggs)
    return [{k: (v if v is not None else 0) for k, v in r.items()} for r in rows(g)]
