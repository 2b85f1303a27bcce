"""The year's claims priced under both financing models, set-based and exact (integer øre).

The result is the same as summing :func:`pht.financing.inputs.priced_lines` (the line-level
definition of the rules) per practice, provider and target group, but the ~30 million claims of a
national year are only scanned a few times with hash joins against small tables:

1. **claim types**: what a claim's lines are paid depends only on its code list (``tariffs``),
   whether the practitioner is a nurse and the tariff period its date falls in. The distinct
   types (tens to a few thousand) are exploded into lines and priced once with
   :func:`pht.financing.inputs.price_codes` (mapping to the priced codes, the tariff valid on
   the date, combination rules).
2. **codes with a yearly maximum**: only the claims holding one are exploded; the lines are
   numbered per person, practice and code in claim order and those past the maximum rejected.
3. **the co-payment ceiling**: each person's co-payments that count toward the ceiling are summed
   per model; only for persons above the ceiling are the lines ordered (date, claim id, code
   order) and each co-payment split between patient and state.
4. **sums**: every claim is counted per (practice, type, child, target group, above the ceiling)
   and the counts multiplied by the type's amounts.

Nothing per claim or per line passes through Python; only the small type table and the sums do.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from pht.core.tables import materialise
from pht.financing.inputs import (
    FinancingInputs,
    Tables,
    explode_codes,
    ore,
    practitioner_roles,
    price_codes,
    rows,
    with_provider,
    with_target,
)

__all__ = ["METRICS", "MODELS", "PracticeActivity", "claim_activity", "tariff_periods"]

MODELS = ("fee", "grant")
METRICS = (
    "lines",
    "claims",
    "unpriced",
    "rejected",
    "refund_ore",
    "copay_patient_ore",
    "copay_ceiling_ore",
    "copay_child_ore",
)
# per claim type and provider: counts, refunds and co-payments (counting toward the ceiling or not)
_TYPE_SUMS = ("lines", "claims", "unpriced", "rejected", "refund", "cc", "cf")


@dataclass(frozen=True)
class PracticeActivity:
    """Claim lines of one practice priced under one model, in øre, by provider and target."""

    cells: dict[tuple[str, bool], dict[str, int | Fraction]] = field(default_factory=dict)

    def sum(
        self, key: str, *, provider: str | None = None, target: bool | None = None
    ) -> int | Fraction:
        """Sum of *key* over the cells that match."""
        return sum(
            v.get(key, 0)
            for (p, t), v in self.cells.items()
            if (provider is None or p == provider) and (target is None or t == target)
        )

    def income_ore(
        self, *, provider: str | None = None, target: bool | None = None
    ) -> int | Fraction:
        """Refunds plus every co-payment (patient, ceiling, child), øre."""
        return sum(
            self.sum(k, provider=provider, target=target)
            for k in ("refund_ore", "copay_patient_ore", "copay_ceiling_ore", "copay_child_ore")
        )


def tariff_periods(inputs: FinancingInputs) -> list[dt.date]:
    """First day of each period of the year in which no tariff amount changes."""
    cuts = {inputs.start}
    for t in inputs.tariffs:
        for day in (t.valid.start, t.valid.end):
            if day is not None and inputs.start < day < inputs.end:
                cuts.add(day)
    return sorted(cuts)


@dataclass(frozen=True)
class _Types:
    """The priced claim types of a year as small tables (see the module docstring)."""

    sums: ir.Table  # tid, provider, f_<sum>, g_<sum> for each of _TYPE_SUMS
    eligible: ir.Table  # tid, model, pos, sub, provider, copay: lines counting toward the ceiling
    capped: ir.Table | None  # tid, model, pos, sub, priced, provider, comb_rejected, max, ...
    per_claim: ir.Table  # tid, e_fee, e_grant: co-payment counting toward the ceiling per claim
    bounds: ir.Table  # b_tariffs, b_max: most a claim with this code list can count, any model
    capped_kinds: tuple[str, ...]  # code lists holding a code with a yearly maximum


def _kinds(tables: Tables, inputs: FinancingInputs) -> list[str]:
    c = tables.table("contacts")
    c = c.filter(
        (c.date >= ibis.date(inputs.start)) & (c.date < ibis.date(inputs.end)) & c.tariffs.notnull()
    )
    return sorted(r["tariffs"] for r in rows(c.select("tariffs").distinct()))


def _price_types(inputs: FinancingInputs, kinds: list[str], periods: list[dt.date]) -> _Types:
    """Explode and price every (code list, nurse, tariff period) once under both models."""
    n = len(periods)
    types = [
        {"contact_id": (k * 2 + nurse) * n + s, "tariffs": kind, "nurse": bool(nurse), "date": day}
        for k, kind in enumerate(kinds)
        for nurse in (0, 1)
        for s, day in enumerate(periods)
    ]
    schema = pa.schema(
        [
            ("contact_id", pa.int64()),
            ("tariffs", pa.string()),
            ("nurse", pa.bool_()),
            ("date", pa.date32()),
        ]
    )
    t = ibis.memtable(pa.Table.from_pylist(types, schema=schema))
    lines = with_provider(explode_codes(t.mutate(codes=t.tariffs.strip().split(" "))))
    sums: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(_SUM_COLS, 0))
    per_claim: dict[int, dict[str, int]] = defaultdict(lambda: {"e_fee": 0, "e_grant": 0})
    most: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MODELS, 0))
    eligible: list[dict[str, Any]] = []
    capped: list[dict[str, Any]] = []
    for model in MODELS:
        m = model[0]
        priced = price_codes(lines, inputs, model=model)  # type: ignore[arg-type]
        cols = ["contact_id", "pos", "sub", "provider", "priced", "priced_ok", "comb_rejected"]
        cols += ["refund_ore", "copay_ore", "counts", "max_per_year"]
        for r in rows(priced.select(*cols)):
            tid, provider = int(r["contact_id"]), r["provider"]
            s = sums[(tid, provider)]
            s[f"{m}_lines"] += 1
            s[f"{m}_claims"] += r["pos"] == 0 and r["sub"] == 0
            s[f"{m}_unpriced"] += not r["priced_ok"]
            s[f"{m}_rejected"] += bool(r["comb_rejected"])
            if not r["priced_ok"]:
                continue
            refund = int(r["refund_ore"]) if model == "fee" else 0
            copay, counts = int(r["copay_ore"]), bool(r["counts"])
            if r["max_per_year"] is not None:
                if counts:
                    most[tid][model] += copay
                capped.append(
                    {
                        "c_tid": tid,
                        "c_model": model,
                        "c_pos": r["pos"],
                        "c_sub": r["sub"],
                        "c_priced": r["priced"],
                        "c_provider": provider,
                        "c_comb": bool(r["comb_rejected"]),
                        "c_max": int(r["max_per_year"]),
                        "c_refund": refund,
                        "c_copay": copay,
                        "c_counts": counts,
                    }
                )
                continue
            if r["comb_rejected"]:
                continue
            s[f"{m}_refund"] += refund
            s[f"{m}_cc" if counts else f"{m}_cf"] += copay
            if counts and copay > 0:
                per_claim[tid][f"e_{model}"] += copay
                most[tid][model] += copay
                eligible.append(
                    {
                        "l_tid": tid,
                        "l_model": model,
                        "l_pos": r["pos"],
                        "l_sub": r["sub"],
                        "l_provider": provider,
                        "l_copay": copay,
                    }
                )
    sum_rows = [{"s_tid": k[0], "s_provider": k[1], **v} for k, v in sums.items()]
    sum_schema = pa.schema(
        [("s_tid", pa.int64()), ("s_provider", pa.string())] + [(c, pa.int64()) for c in _SUM_COLS]
    )
    el_schema = pa.schema(
        [
            ("l_tid", pa.int64()),
            ("l_model", pa.string()),
            ("l_pos", pa.int64()),
            ("l_sub", pa.int64()),
            ("l_provider", pa.string()),
            ("l_copay", pa.int64()),
        ]
    )
    cap_schema = pa.schema(
        [
            ("c_tid", pa.int64()),
            ("c_model", pa.string()),
            ("c_pos", pa.int64()),
            ("c_sub", pa.int64()),
            ("c_priced", pa.string()),
            ("c_provider", pa.string()),
            ("c_comb", pa.bool_()),
            ("c_max", pa.int64()),
            ("c_refund", pa.int64()),
            ("c_copay", pa.int64()),
            ("c_counts", pa.bool_()),
        ]
    )
    pc_rows = [{"e_tid": k, **v} for k, v in per_claim.items()]
    pc_schema = pa.schema([("e_tid", pa.int64()), ("e_fee", pa.int64()), ("e_grant", pa.int64())])
    bound = dict.fromkeys(kinds, 0)
    for tid, by_model in most.items():
        kind = kinds[tid // (2 * n)]
        bound[kind] = max(bound[kind], *by_model.values())
    bound_schema = pa.schema([("b_tariffs", pa.string()), ("b_max", pa.int64())])
    capped_kinds = tuple(sorted({kinds[c["c_tid"] // (2 * n)] for c in capped}))
    return _Types(
        capped_kinds=capped_kinds,
        bounds=ibis.memtable(
            pa.Table.from_pylist(
                [{"b_tariffs": k, "b_max": v} for k, v in bound.items()], schema=bound_schema
            )
        ),
        sums=ibis.memtable(pa.Table.from_pylist(sum_rows, schema=sum_schema)),
        eligible=ibis.memtable(pa.Table.from_pylist(eligible, schema=el_schema)),
        capped=ibis.memtable(pa.Table.from_pylist(capped, schema=cap_schema)) if capped else None,
        per_claim=ibis.memtable(pa.Table.from_pylist(pc_rows, schema=pc_schema)),
    )


_SUM_COLS = tuple(f"{m[0]}_{s}" for m in MODELS for s in _TYPE_SUMS)


@dataclass(frozen=True)
class _Lookups:
    """Small tables joined to every claim, materialised once so that the warehouse knows their
    sizes and builds its hash tables on them (not on the claims)."""

    kinds: ir.Table  # k_tariffs, k_id
    roles: ir.Table  # r_id, r_nurse
    young: ir.Table  # y_id, y_until: persons who are children on some day of the year
    targets: ir.Table | None  # tg_person


def _lookups(
    tables: Tables, inputs: FinancingInputs, kinds: list[str], targets: ir.Table | None
) -> _Lookups:
    free_age = ibis.interval(years=inputs.rates.copayment.free_below_age)
    pe = tables.table("persons")
    # only persons who are children on some day of the year can have a co-payment-free claim
    young = pe.filter(pe.birth_date + free_age > ibis.date(inputs.start)).select(
        y_id="person_id", y_until=pe.birth_date + free_age
    )
    kt = ibis.memtable(
        pa.Table.from_pylist(
            [{"k_tariffs": k, "k_id": i} for i, k in enumerate(kinds)],
            schema=pa.schema([("k_tariffs", pa.string()), ("k_id", pa.int64())]),
        )
    )
    return _Lookups(
        kinds=kt,
        roles=materialise(practitioner_roles(tables)),
        young=materialise(young),
        targets=targets,
    )


def _claims(
    tables: Tables,
    inputs: FinancingInputs,
    look: _Lookups,
    periods: list[dt.date],
    *,
    targets: bool = True,
    heavy: ir.Table | None = None,
    only: tuple[str, ...] | None = None,
    flags: ir.Table | None = None,
) -> ir.Table:
    """The year's claims: contact_id, person_id, practice_id, date, tid, child, target
    (always false unless *targets*); with *only*, just the claims with one of these code lists.

    With *heavy* (a table of persons, h_person, e.g. those above the ceiling), only their
    claims, with the table's other columns; the persons are picked before anything else is
    joined. With *flags* (see :func:`_person_flags`), the persons' facts (child until, target
    group, above the ceiling: h_fee, h_grant) come from that one table in one join.
    """
    c = tables.table("contacts")
    c = c.filter(
        (c.date >= ibis.date(inputs.start)) & (c.date < ibis.date(inputs.end)) & c.tariffs.notnull()
    )
    if only is not None:
        c = c.filter(c.tariffs.isin(only))
    extra: tuple[str, ...] = ()
    if heavy is not None:
        c = c.join(heavy, c.person_id == heavy.h_person).drop("h_person")
        extra = tuple(col for col in heavy.columns if col != "h_person")
    kt, roles = look.kinds, look.roles
    young = flags if flags is not None else look.young
    if flags is not None:
        extra += ("h_fee", "h_grant", "target")
    # the persons first: joined to the raw claims, the warehouse sees the claims are many and
    # builds its hash table on the (fewer) young persons
    j = (
        c.left_join(young, c.person_id == young.y_id)
        .left_join(roles, c.practitioner_id == roles.r_id)
        .join(kt, c.tariffs == kt.k_tariffs)
    )
    nurse = (j.r_nurse == 1).fill_null(False).cast("int64")
    period = sum(
        ((j.date >= ibis.date(day)).cast("int64") for day in periods[1:]),
        ibis.literal(0, "int64"),
    )
    out = j.select(
        "contact_id",
        "person_id",
        "practice_id",
        "date",
        *extra,
        tid=(j.k_id * 2 + nurse) * len(periods) + period,
        child=(j.date < j.y_until).fill_null(False),
    )
    if flags is not None:
        return out.mutate(
            h_fee=out.h_fee.fill_null(False),
            h_grant=out.h_grant.fill_null(False),
            target=out.target.fill_null(False),
        )
    return with_target(out, look.targets if targets else None)


def _person_flags(look: _Lookups, heavy: ir.Table) -> ir.Table:
    """One row per person who is a child some day of the year, in the target group or above
    the ceiling: y_id, y_until, target, h_fee, h_grant (one join per claim instead of three)."""
    y, h = look.young, heavy
    j = y.outer_join(h, y.y_id == h.h_person)
    t = j.select(
        y_id=ibis.coalesce(j.y_id, j.h_person),
        y_until=j.y_until,
        h_fee=j.h_fee.fill_null(False),
        h_grant=j.h_grant.fill_null(False),
    )
    if look.targets is None:
        return materialise(t.mutate(target=ibis.literal(False)))
    t = materialise(t)
    tg = look.targets
    j = t.outer_join(tg, t.y_id == tg.tg_person)
    return materialise(
        j.select(
            y_id=ibis.coalesce(j.y_id, j.tg_person),
            y_until=j.y_until,
            h_fee=j.h_fee.fill_null(False),
            h_grant=j.h_grant.fill_null(False),
            target=j.tg_person.notnull(),
        )
    )


def _capped_lines(claims: ir.Table, types: _Types) -> ir.Table | None:
    """Lines of codes with a yearly maximum, numbered per person, practice and code."""
    if types.capped is None:
        return None
    cl = types.capped
    k = claims.join(cl, claims.tid == cl.c_tid)
    w = ibis.window(
        group_by=[k.c_model, k.person_id, k.practice_id, k.c_priced],
        order_by=[k.date, k.contact_id, k.c_pos, k.c_sub],
    )
    k = k.mutate(rn=ibis.row_number().over(w) + 1)
    return materialise(
        k.mutate(
            paid=~k.c_comb & (k.rn <= k.c_max),
            cap_rejected=~k.c_comb & (k.rn > k.c_max),
        )
    )


def _candidates(tables: Tables, inputs: FinancingInputs, types: _Types, ceiling: int) -> ir.Table:
    """Persons who might pass the ceiling: the most their claims' code lists can count (under
    either model, as adults, nurse or not, any tariff period) is above it. A cheap first cut:
    only the raw claims, no joins but the small bounds table."""
    c = tables.table("contacts")
    c = c.filter(
        (c.date >= ibis.date(inputs.start)) & (c.date < ibis.date(inputs.end)) & c.tariffs.notnull()
    )
    b = types.bounds.filter(types.bounds.b_max > 0)
    j = c.join(b, c.tariffs == b.b_tariffs)
    t = j.group_by(h_person=j.person_id).agg(most=j.b_max.sum())
    return materialise(t.filter(t.most > ceiling).select("h_person"))


def _above_ceiling(
    claims: ir.Table, types: _Types, capped: ir.Table | None, ceiling: int
) -> ir.Table:
    """Persons whose co-payments counting toward the ceiling pass it: h_person, h_fee, h_grant."""
    adult = claims.filter(~claims.child)
    pc = types.per_claim
    e = adult.join(pc, adult.tid == pc.e_tid).select("person_id", "e_fee", "e_grant")
    if capped is not None:
        k = capped.filter(capped.paid & capped.c_counts & ~capped.child)
        e = e.union(
            k.select(
                "person_id",
                e_fee=ibis.ifelse(k.c_model == "fee", k.c_copay, 0).cast("int64"),
                e_grant=ibis.ifelse(k.c_model == "grant", k.c_copay, 0).cast("int64"),
            ),
            distinct=False,
        )
    t = e.group_by(h_person=e.person_id).agg(fee=e.e_fee.sum(), grant=e.e_grant.sum())
    t = t.filter((t.fee > ceiling) | (t.grant > ceiling))
    return materialise(t.select("h_person", h_fee=t.fee > ceiling, h_grant=t.grant > ceiling))


def _counted(claims: ir.Table, types: _Types) -> list[dict[str, Any]]:
    """Claims (with h_fee, h_grant) counted per (practice, type, child, target, above the
    ceiling) × type amounts."""
    j = claims
    # the flags and the type packed into one integer: fewer, cheaper group keys
    flag = [j.child, j.target, j.h_fee, j.h_grant]
    key = j.tid * 16 + sum((f.cast("int64") * (1 << i) for i, f in enumerate(flag)), 0)
    g = j.group_by(["practice_id", key.name("key")]).agg(n=j.count())
    g = g.select(
        "practice_id",
        "n",
        tid=g.key // 16,
        child=(g.key % 2) == 1,
        target=(g.key // 2 % 2) == 1,
        h_fee=(g.key // 4 % 2) == 1,
        h_grant=(g.key // 8 % 2) == 1,
    )
    s = types.sums
    x = g.join(s, g.tid == s.s_tid)
    aggs: dict[str, ir.Value] = {}
    for model in MODELS:
        m = model[0]
        above = x[f"h_{model}"]
        for metric in ("lines", "claims", "unpriced", "rejected"):
            aggs[f"{m}_{metric}"] = (x.n * x[f"{m}_{metric}"]).sum()
        aggs[f"{m}_refund_ore"] = (x.n * x[f"{m}_refund"]).sum()
        aggs[f"{m}_copay_child_ore"] = ibis.ifelse(
            x.child, x.n * (x[f"{m}_cc"] + x[f"{m}_cf"]), 0
        ).sum()
        patient = x[f"{m}_cf"] + ibis.ifelse(above, 0, x[f"{m}_cc"])
        aggs[f"{m}_copay_patient_ore"] = ibis.ifelse(x.child, 0, x.n * patient).sum()
    out = x.group_by(["practice_id", x.s_provider.name("provider"), "target"]).agg(**aggs)
    return rows(out)


def _capped_sums(capped: ir.Table, heavy: ir.Table) -> list[dict[str, Any]]:
    """Refunds, co-payments and rejections of lines of codes with a yearly maximum."""
    k = capped.left_join(heavy, capped.person_id == heavy.h_person)
    above = ibis.ifelse(k.c_model == "fee", k.h_fee, k.h_grant).fill_null(False)
    copay = ibis.ifelse(k.paid, k.c_copay, 0)
    g = k.group_by(["c_model", "practice_id", "c_provider", "target"]).agg(
        rejected=k.cap_rejected.cast("int64").sum(),
        refund_ore=ibis.ifelse(k.paid, k.c_refund, 0).sum(),
        copay_child_ore=ibis.ifelse(k.child, copay, 0).sum(),
        copay_patient_ore=ibis.ifelse(~k.child & ~(k.c_counts & above), copay, 0).sum(),
    )
    return rows(g)


def _ceiling_split(
    claims: ir.Table, types: _Types, capped: ir.Table | None, heavy: ir.Table, ceiling: int
) -> list[dict[str, Any]]:
    """Patient and state shares of the co-payments of persons above the ceiling, in claim order.

    *claims* are the claims of the persons in *heavy* (with h_fee, h_grant).
    """
    c = claims.filter(~claims.child)
    el = types.eligible
    x = c.join(el, c.tid == el.l_tid)
    x = x.filter(ibis.ifelse(x.l_model == "fee", x.h_fee, x.h_grant))
    lines = x.select(
        model=x.l_model,
        person_id=x.person_id,
        practice_id=x.practice_id,
        target=x.target,
        date=x.date,
        contact_id=x.contact_id,
        pos=x.l_pos,
        sub=x.l_sub,
        provider=x.l_provider,
        copay=x.l_copay,
    )
    if capped is not None:
        k = capped.filter(capped.paid & capped.c_counts & ~capped.child & (capped.c_copay > 0))
        k = k.join(heavy, k.person_id == heavy.h_person)
        k = k.filter(ibis.ifelse(k.c_model == "fee", k.h_fee, k.h_grant))
        lines = lines.union(
            k.select(
                model=k.c_model,
                person_id=k.person_id,
                practice_id=k.practice_id,
                target=k.target,
                date=k.date,
                contact_id=k.contact_id,
                pos=k.c_pos,
                sub=k.c_sub,
                provider=k.c_provider,
                copay=k.c_copay,
            ),
            distinct=False,
        )
    w = ibis.window(
        group_by=[lines.model, lines.person_id],
        order_by=[lines.date, lines.contact_id, lines.pos, lines.sub],
        rows=(None, 0),
    )
    lines = lines.mutate(cum=lines.copay.sum().over(w))
    patient = ibis.least(lines.copay, ibis.greatest(0, ceiling - (lines.cum - lines.copay)))
    lines = lines.mutate(patient=patient.cast("int64"))
    g = lines.group_by(["model", "practice_id", "provider", "target"]).agg(
        copay_patient_ore=lines.patient.sum(),
        copay_ceiling_ore=(lines.copay - lines.patient).sum(),
    )
    return rows(g)


def claim_activity(
    tables: Tables, inputs: FinancingInputs, *, targets: ir.Table | None = None
) -> dict[str, dict[str, PracticeActivity]]:
    """Claim activity of every practice under both models: ``{"fee": {practice_id: ...},
    "grant": {...}}``. *targets* is a table of target-group persons (``tg_person``)."""
    kinds = _kinds(tables, inputs)
    out: dict[str, dict[str, PracticeActivity]] = {m: {} for m in MODELS}
    if not kinds:
        return out
    periods = tariff_periods(inputs)
    types = _price_types(inputs, kinds, periods)
    look = _lookups(tables, inputs, kinds, targets)
    ceiling = ore(inputs.rates.ceiling)
    capped = _capped_lines(_claims(tables, inputs, look, periods, only=types.capped_kinds), types)
    maybe = _candidates(tables, inputs, types, ceiling)
    heavy = _above_ceiling(
        _claims(tables, inputs, look, periods, targets=False, heavy=maybe), types, capped, ceiling
    )

    def cell(model: str, practice_id: str, provider: str, target: bool) -> dict[str, Any]:
        act = out[model].setdefault(practice_id, PracticeActivity())
        return act.cells.setdefault((provider, bool(target)), dict.fromkeys(METRICS, 0))

    claims = _claims(tables, inputs, look, periods, flags=_person_flags(look, heavy))
    for r in _counted(claims, types):
        for model in MODELS:
            c = cell(model, r["practice_id"], r["provider"], r["target"])
            for metric in METRICS:
                value = r.get(f"{model[0]}_{metric}")
                c[metric] += int(value or 0)
    if capped is not None:
        for r in _capped_sums(capped, heavy):
            c = cell(r["c_model"], r["practice_id"], r["c_provider"], r["target"])
            for metric in ("rejected", "refund_ore", "copay_child_ore", "copay_patient_ore"):
                c[metric] += int(r[metric] or 0)
    heavy_claims = _claims(tables, inputs, look, periods, heavy=heavy)
    for r in _ceiling_split(heavy_claims, types, capped, heavy, ceiling):
        c = cell(r["model"], r["practice_id"], r["provider"], r["target"])
        for metric in ("copay_patient_ore", "copay_ceiling_ore"):
            c[metric] += int(r[metric] or 0)
    return out
