"""The validation rules of the extract format, driven by the schema's column kinds.

Each rule is a small function of a column (its :class:`~pht.registry.schema.ColumnSpec`: kind,
values, references) and of how the staged file holds it (:class:`Columns`: the DuckDB type the
file gave each column). It returns a SQL expression built with sqlglot (never by quoting text)
and the reason a problem row gets, in the words of the problem report.

* **Row rules** (:func:`row_rules`, one function per kind in :data:`KIND_RULES`, and the rules
  across columns :func:`date_order_rules`, :func:`period_rule`, :func:`birth_date_rule`): a
  condition true on a problem row, checked for every row in one pass.
* **Value rules** (:data:`VALUE_CHECKS`, :data:`CODE_LISTS`): identifiers and codes, checked
  once per *distinct* value in Python (check digits, code lists).
* **Set rules** (:func:`duplicates`, :func:`missing_reference`, :func:`not_a_gp`,
  :func:`after_death`, :func:`stored_elsewhere`, :func:`overlaps`, :func:`unknown_codes`,
  :func:`tariff_not_valid`): queries over a whole table (and the warehouse) that list problem
  rows as ``line, col, value, reason``.

:mod:`pht.registry.staging` stages the files and runs the rules; :mod:`pht.registry.load`
writes what passed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlglot import exp

from pht.core import formats
from pht.core.identifiers import person_id_problems, validate_hpr, validate_orgnr
from pht.reference.codes import ICPC2_FORM, icd10_known, icpc2_codes
from pht.reference.tariffs import tariff_codes
from pht.registry.batches import EVENT_DATE_COLUMNS
from pht.registry.schema import EVENT_ID_KIND, ColumnSpec, TableSpec

__all__ = [
    "CODE_LISTS",
    "EARLIEST_DATE",
    "END_COLUMNS",
    "KIND_RULES",
    "LATEST_END",
    "MAX_AMOUNT_NOK",
    "PSEUDONYM_FORM",
    "VALUE_CHECKS",
    "Columns",
    "RowRule",
    "row_rules",
]

# Plausibility: no date before this; event and start dates not after today; end dates (planned
# ends of a period) not after LATEST_END.
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_END = dt.date(2100, 12, 31)
# Columns holding the planned last day of a period (may lie in the future).
END_COLUMNS = frozenset({"end", "pht_end"})
# Largest plausible amount of one claim, NOK (co-payment or refund).
MAX_AMOUNT_NOK = 100_000

# An opaque person pseudonym (analytic extracts): 16 or more letters, digits, "-", "_" or ":".
PSEUDONYM_FORM = re.compile(r"^[A-Za-z0-9_:\-]{16,}$")

NUMBER_TYPES = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER")

# The far end of an open list period.
_OPEN_END = dt.date(9999, 12, 31)

# --- building SQL --------------------------------------------------------------------------------


def col(name: str, table: str | None = None) -> exp.Column:
    """The column *name* (of *table*, an alias), quoted."""
    return exp.column(name, table=table, quoted=True)


def ref(name: str) -> exp.Table:
    """The table or view *name*, quoted."""
    return exp.Table(this=exp.to_identifier(name, quoted=True))


def aliased(name: str, alias: str) -> exp.Table:
    """The table or view *name* (quoted) as *alias*."""
    return exp.Table(
        this=exp.to_identifier(name, quoted=True),
        alias=exp.TableAlias(this=exp.to_identifier(alias)),
    )


def text(value: str) -> exp.Literal:
    """A text literal."""
    return exp.Literal.string(value)


def number(value: int | float) -> exp.Literal:
    """A number literal."""
    return exp.Literal.number(value)


def day(value: dt.date) -> exp.Expression:
    """A date literal."""
    return exp.cast(text(value.isoformat()), "DATE")


def fn(name: str, *args: exp.Expression) -> exp.Expression:
    """A call of DuckDB's function *name* (as DuckDB names it, not translated)."""
    return exp.Anonymous(this=name, expressions=list(args))


def cast(value: exp.Expression, to: str) -> exp.Expression:
    """``CAST(value AS to)``."""
    return exp.Cast(this=value, to=exp.DataType.build(to, dialect="duckdb"))


def try_cast(value: exp.Expression, to: str) -> exp.Expression:
    """``TRY_CAST(value AS to)``: NULL where the value does not convert."""
    return exp.TryCast(this=value, to=exp.DataType.build(to, dialect="duckdb"))


def as_text(value: exp.Expression) -> exp.Expression:
    """*value* as text."""
    return cast(value, "VARCHAR")


def nb_date(value: exp.Expression) -> exp.Expression:
    """The date *value* as a Norwegian reader writes it (dd.mm.åååå), as text."""
    return fn("strftime", value, text(formats.DATE_FORMAT))


def concat(*parts: exp.Expression) -> exp.Expression:
    """``a || b || ...`` (NULL when a part is NULL, as DuckDB's ``||``)."""
    out = parts[0]
    for p in parts[1:]:
        out = exp.DPipe(this=out, expression=p)
    return out


def values_list(values: Sequence[str]) -> exp.Expression:
    """``['a', 'b']``."""
    return exp.Array(expressions=[text(v) for v in values])


def sql(node: exp.Expression) -> str:
    """The DuckDB SQL of *node*."""
    return node.sql(dialect="duckdb")


def union(parts: Sequence[exp.Select], *, distinct: bool) -> exp.Expression:
    """The rows of *parts* together (``UNION`` or ``UNION ALL``), as a source to select from."""
    out: exp.Query = parts[0]
    for p in parts[1:]:
        out = exp.union(out, p, distinct=distinct)
    return out.subquery()


def problem_rows(
    source: exp.Expression | str,
    column: str,
    value: exp.Expression,
    reason: exp.Expression,
    where: exp.Expression | None = None,
    *,
    line: exp.Expression | None = None,
) -> exp.Select:
    """``SELECT line, col, value, reason FROM source [WHERE where]``: problem rows of *column*."""
    q = exp.select(
        (line if line is not None else col("_line")).as_("line"),
        text(column).as_("col"),
        value.as_("value"),
        reason.as_("reason"),
    ).from_(ref(source) if isinstance(source, str) else source)
    return q.where(where) if where is not None else q


# --- how a staged table holds its columns --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Columns:
    """The columns of one staged table and the DuckDB type the file gave each (CSV: all text)."""

    types: Mapping[str, str]

    def has(self, name: str) -> bool:
        """True when the file has column *name*."""
        return name in self.types

    def type(self, name: str) -> str:
        """The DuckDB type of column *name* in the file."""
        return self.types.get(name, "VARCHAR")

    def text(self, name: str, table: str | None = None) -> exp.Expression:
        """Column *name* as text."""
        c = col(name, table)
        return c if self.type(name) == "VARCHAR" else as_text(c)

    def empty(self, name: str) -> exp.Expression:
        """True where column *name* holds no value (NULL, or empty text)."""
        c = col(name)
        if self.type(name) == "VARCHAR":
            return exp.paren(exp.or_(c.is_(exp.null()), c.eq(text(""))))
        return exp.paren(c.is_(exp.null()))

    def filled(self, name: str) -> exp.Expression:
        """True where column *name* holds a value."""
        return exp.not_(self.empty(name))

    def date(self, name: str, table: str | None = None) -> exp.Expression:
        """Column *name* as a date (NULL where it is no date)."""
        if self.type(name) == "DATE":
            return col(name, table)
        return try_cast(self.text(name, table), "DATE")


# --- row rules: one condition per problem, checked on every row ----------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class RowRule:
    """A rule checked row by row: *condition* true on a problem row, *reason* and *value* the
    problem's text (SQL expressions)."""

    column: str
    condition: exp.Expression
    reason: exp.Expression
    value: exp.Expression
    single: bool = True  # the condition reads *column* only


# A kind's rules: (condition on rows where the column holds a value, reason).
KindRules = list[tuple[exp.Expression, str]]


def date_rules(c: ColumnSpec, cols: Columns, today: dt.date) -> KindRules:
    """A date: valid (YYYY-MM-DD, or a timestamp at midnight), from 1900 on, not in the future
    (the planned end of a period: not after 2100)."""
    out: KindRules = []
    source = cols.type(c.name)
    t = cols.text(c.name)
    if source.startswith("TIMESTAMP"):
        out.append(
            (
                cast(col(c.name), "TIME").neq(cast(text("00:00:00"), "TIME")),
                "datoen har et klokkeslett",
            )
        )
    elif source != "DATE":
        # strict YYYY-MM-DD (cheaper than a regular expression)
        out.append(
            (
                exp.or_(
                    fn("length", t).neq(number(10)),
                    fn("substr", t, number(5), number(1)).neq(text("-")),
                    fn("substr", t, number(8), number(1)).neq(text("-")),
                    try_cast(t, "DATE").is_(exp.null()),
                ),
                "ikke en gyldig dato (ÅÅÅÅ-MM-DD)",
            )
        )
    d = cols.date(c.name)
    out.append((d < day(EARLIEST_DATE), "dato før 1900 er ikke plausibel"))
    if c.name in END_COLUMNS:
        out.append((d > day(LATEST_END), "dato etter 2100 er ikke plausibel"))
    else:
        out.append((d > day(today), f"dato i fremtiden (etter {formats.day(today)})"))
    return out


def integer_rules(c: ColumnSpec, cols: Columns, today: dt.date) -> KindRules:
    """A whole number: not negative (a centrality class: 1–6)."""
    out: KindRules = []
    numeric = cols.type(c.name) in NUMBER_TYPES
    value = col(c.name) if numeric else try_cast(cols.text(c.name), "BIGINT")
    if not numeric:
        out.append((value.is_(exp.null()), "ikke et heltall"))
    if c.kind == "centrality":
        out.append((exp.not_(value.between(number(1), number(6))), "sentralitet må være 1–6"))
    else:
        out.append((value < number(0), "kan ikke være negativt"))
    return out


def number_rules(c: ColumnSpec, cols: Columns, today: dt.date) -> KindRules:
    """A number: finite; an amount (decimal) at most 2 decimals, 0 to MAX_AMOUNT_NOK; an FTE
    0–1; hours per week 0–168."""
    out: KindRules = []
    source = cols.type(c.name)
    numeric = (
        source in NUMBER_TYPES or source in ("DOUBLE", "FLOAT") or source.startswith("DECIMAL")
    )
    t = cols.text(c.name)
    value = col(c.name) if numeric else try_cast(t, sql_type(c.dtype))
    if not numeric:
        out.append((value.is_(exp.null()), "ikke et tall"))
        if c.dtype.is_decimal():
            # an exact amount: at most 2 decimals, nothing silently rounded
            point = fn("strpos", t, text("."))
            out.append(
                (
                    exp.and_(point > number(0), (fn("length", t) - point) > number(2)),
                    "ikke et beløp med høyst 2 desimaler",
                )
            )
    if not c.dtype.is_decimal():
        out.append((exp.not_(fn("isfinite", value)), "ikke et endelig tall"))
    if c.kind == "fte":
        out.append(
            (exp.not_(value.between(number(0), number(1))), "stillingsandel må være mellom 0 og 1")
        )
    elif c.dtype.is_decimal():  # amounts in NOK
        out.append((value < number(0), "negativt beløp"))
        out.append(
            (
                value > number(MAX_AMOUNT_NOK),
                f"usannsynlig stort beløp (over {formats.kroner(MAX_AMOUNT_NOK)} for ett krav)",
            )
        )
    elif c.name == "hours_per_week":
        out.append((exp.not_(value.between(number(0), number(168))), "timer per uke må være 0–168"))
    return out


def bool_rules(c: ColumnSpec, cols: Columns, today: dt.date) -> KindRules:
    """true or false."""
    if cols.type(c.name) == "BOOLEAN":
        return []
    lowered = fn("lower", cols.text(c.name))
    return [(exp.not_(lowered.isin(text("true"), text("false"))), "ikke true eller false")]


def enum_rules(c: ColumnSpec, cols: Columns, today: dt.date) -> KindRules:
    """One of the column's values."""
    allowed = [text(v) for v in c.values]
    return [(exp.not_(cols.text(c.name).isin(*allowed)), "ikke en av: " + ", ".join(c.values))]


def municipality_rules(c: ColumnSpec, cols: Columns, today: dt.date) -> KindRules:
    """A kommunenummer: 4 digits (whether it exists is the reference's rule)."""
    matches = fn("regexp_full_match", cols.text(c.name), text("[0-9]{4}"))
    return [(exp.not_(matches), "må være 4 sifre")]


KIND_RULES: dict[str, Callable[[ColumnSpec, Columns, dt.date], KindRules]] = {
    "date": date_rules,
    "int": integer_rules,
    "centrality": integer_rules,
    "decimal": number_rules,
    "fte": number_rules,
    "bool": bool_rules,
    "enum": enum_rules,
    "municipality_code": municipality_rules,
}


def row_rules(c: ColumnSpec, cols: Columns, today: dt.date) -> list[RowRule]:
    """The per-row rules of column *c*: filled when required, then its kind's rules on the rows
    that hold a value."""
    empty = cols.empty(c.name)
    value = cols.text(c.name)
    rules: list[RowRule] = []
    if c.required:
        rules.append(RowRule(c.name, empty, text("mangler påkrevd verdi"), value))
    kind = KIND_RULES.get(c.kind)
    for condition, why in kind(c, cols, today) if kind else ():
        rules.append(
            RowRule(c.name, exp.and_(exp.not_(empty), exp.paren(condition)), text(why), value)
        )
    return rules


def date_order_rules(spec: TableSpec, cols: Columns) -> list[RowRule]:
    """The table's date pairs in order (a period does not end before it starts)."""
    rules = []
    for earlier, later in spec.date_order:
        if cols.has(earlier) and cols.has(later):
            a, b = cols.date(earlier), cols.date(later)
            rules.append(
                RowRule(
                    later,
                    a > b,
                    concat(text(f"{later} er før {earlier} ("), nb_date(a), text(")")),
                    cols.text(later),
                    single=False,
                )
            )
    return rules


def period_rule(table: str, cols: Columns, period: tuple[dt.date, dt.date] | None) -> list[RowRule]:
    """An event inside the period the extract declares."""
    date_col = EVENT_DATE_COLUMNS.get(table)
    if period is None or date_col is None or not cols.has(date_col):
        return []
    first, last = period
    return [
        RowRule(
            date_col,
            exp.not_(cols.date(date_col).between(day(first), day(last))),
            text(f"utenfor uttrekkets oppgitte periode {formats.day(first)}–{formats.day(last)}"),
            cols.text(date_col),
        )
    ]


def birth_date_rule(table: str, cols: Columns) -> list[RowRule]:
    """A person's birth date is the one the fødselsnummer gives (pseudonyms give none)."""
    if table != "persons" or not (cols.has("person_id") and cols.has("birth_date")):
        return []
    pid = cols.text("person_id")

    def part(start: int, length: int) -> exp.Expression:
        return try_cast(fn("substr", pid, number(start), number(length)), "INTEGER")

    d, m, yy, ind = part(1, 2), part(3, 2), part(5, 2), part(7, 3)
    century = (
        exp.Case()
        .when(ind < number(500), number(1900))
        .when(exp.and_(ind < number(750), yy >= number(54)), number(1800))
        .when(yy < number(40), number(2000))
        .when(ind >= number(900), number(1900))
    )
    month = (
        exp.Case()
        .when(m > number(80), m - number(80))
        .when(m > number(40), m - number(40))
        .else_(m)
    )
    day_of_month = exp.Case().when(d > number(40), d - number(40)).else_(d)
    derived = try_cast(
        fn("printf", text("%04d-%02d-%02d"), century + yy, month, day_of_month), "DATE"
    )
    # only where the id is a person number (11 digits); pseudonyms carry no date
    derived = exp.paren(exp.Case().when(fn("regexp_full_match", pid, text("[0-9]{11}")), derived))
    return [
        RowRule(
            "birth_date",
            derived.neq(cols.date("birth_date")),
            concat(text("stemmer ikke: fødselsnummeret gir fødselsdato "), nb_date(derived)),
            cols.text("birth_date"),
            single=False,
        )
    ]


def probe(rules: Sequence[RowRule], source: str) -> exp.Select:
    """One pass counting the rows each rule finds."""
    return exp.select(*(fn("count_if", r.condition) for r in rules)).from_(ref(source))


def rule_rows(rule: RowRule, raw: str) -> exp.Select:
    """The problem rows of *rule*."""
    return problem_rows(raw, rule.column, rule.value, rule.reason, rule.condition)


# --- value rules: identifiers and codes, once per distinct value ---------------------------------


def _person_checks(values: list[str]) -> list[str | None]:
    problems = person_id_problems(values)
    out: list[str | None] = [None] * len(values)
    for i in np.flatnonzero(problems != None).tolist():  # noqa: E711 - elementwise on objects
        v = values[i]
        if PSEUDONYM_FORM.match(v) and not v.isdigit():
            continue  # an opaque pseudonym of an analytic extract
        out[i] = (
            f"ikke et gyldig fødselsnummer/D-nummer ({problems[i]}) og heller ikke et pseudonym"
        )
    return out


def _scalar(
    check: Callable[[str], str | None], what: str
) -> Callable[[list[str]], list[str | None]]:
    def run(values: list[str]) -> list[str | None]:
        out: list[str | None] = []
        for v in values:
            reason = "har mellomrom foran eller bak" if v != v.strip() else check(v)
            out.append(None if reason is None else f"ikke et gyldig {what} ({reason})")
        return out

    return run


# kind -> checker: the reason for each value (None: valid)
VALUE_CHECKS: dict[str, Callable[[list[str]], list[str | None]]] = {
    "person_id": _person_checks,
    "orgnr": _scalar(validate_orgnr, "organisasjonsnummer"),
    "hpr": _scalar(validate_hpr, "HPR-nummer"),
}


def bad_values(
    checker: Callable[[list[str]], list[str | None]], values: list[str]
) -> list[tuple[str, str]]:
    """(value, reason) of each value *checker* finds a problem with."""
    reasons = checker(values)
    return [(v, r) for v, r in zip(values, reasons, strict=True) if r is not None]


def _icpc2_known(code: str) -> bool:
    return ICPC2_FORM.match(code) is not None and code in icpc2_codes()


def _tariff_known(code: str) -> bool:
    return code in tariff_codes()


# kind -> (what a code of the system is called, is the code known, one code per value (else a
# space-separated list))
CODE_LISTS: dict[str, tuple[str, Callable[[str], bool], bool]] = {
    "icpc2_list": ("ICPC-2-kode", _icpc2_known, False),
    "tariff_list": ("takstkode", _tariff_known, False),
    "icd10": ("ICD-10-kode", icd10_known, True),
    "icd10_list": ("ICD-10-kode", icd10_known, False),
}


def distinct_values(cols: Columns, column: str, source: str) -> exp.Select:
    """The distinct filled values of *column* (as text)."""
    return (
        exp.select(cols.text(column).as_("v"))
        .distinct()
        .from_(ref(source))
        .where(cols.filled(column))
    )


def marked_rows(cols: Columns, column: str, raw: str, bad: str) -> exp.Select:
    """The rows whose *column* holds a value of the table *bad* (``v``: value, ``r``: reason)."""
    q = problem_rows(raw, column, col("v", "b"), col("r", "b"))
    return q.join(
        aliased(bad, "b"),
        on=cols.text(column).eq(col("v", "b")),
    )


def codes_of(value: exp.Expression, single: bool) -> exp.Expression:
    """The codes of a code column's value: a list of one, or the space-separated codes."""
    if single:
        return exp.Array(expressions=[value])
    return fn("string_split", fn("trim", value), text(" "))


def used_codes(cols: Columns, column: str, source: str, single: bool) -> exp.Select:
    """Every code the column uses (split from its distinct values)."""
    inner = distinct_values(cols, column, source).subquery()
    return exp.select(fn("unnest", codes_of(col("v"), single))).distinct().from_(inner)


def used_codes_dated(
    cols: Columns, column: str, date_col: str, data: str, single: bool
) -> exp.Select:
    """Every code the column uses with the first and last date it is used on."""
    t = cols.text(column)
    d = cols.date(date_col)
    inner = (
        exp.select(t.as_("v"), fn("min", d).as_("lo"), fn("max", d).as_("hi"))
        .from_(ref(data))
        .where(cols.filled(column))
        .group_by(t)
        .subquery()
    )
    return (
        exp.select(fn("unnest", codes_of(col("v"), single)).as_("code"), col("lo"), col("hi"))
        .distinct()
        .from_(inner)
    )


def unknown_codes(
    cols: Columns, column: str, raw: str, system: str, bad: Sequence[str], single: bool
) -> exp.Select:
    """Rows using one of the unknown codes *bad*."""
    t = cols.text(column)
    codes = codes_of(t, single)
    listed = values_list(bad)
    which = fn(
        "array_to_string",
        fn(
            "list_filter",
            codes,
            exp.Lambda(
                this=fn("list_contains", listed, exp.column("x")),
                expressions=[exp.to_identifier("x")],
            ),
        ),
        text(" "),
    )
    return problem_rows(
        raw,
        column,
        t,
        concat(text(f"ukjent {system}: "), which),
        exp.and_(cols.filled(column), fn("list_has_any", codes, listed)),
    )


def tariff_not_valid(
    cols: Columns,
    column: str,
    date_col: str,
    raw: str,
    validity: str,
    suspect: Sequence[str],
    single: bool,
) -> exp.Select:
    """Rows using a tariff code on a date outside its validity (the table *validity*: code,
    first, last) — only codes in *suspect* can be."""
    t = cols.text(column)
    codes = codes_of(t, single)
    used = (
        exp.select(
            col("_line").as_("line"),
            t.as_("value"),
            cols.date(date_col).as_("day"),
            fn("unnest", codes).as_("code"),
        )
        .from_(ref(raw))
        .where(exp.and_(cols.filled(column), fn("list_has_any", codes, values_list(suspect))))
        .subquery("r")
    )
    first, last = col("first", "v"), col("last", "v")
    reason = concat(
        text("takstkode "),
        col("code", "r"),
        text(" gjelder ikke "),
        nb_date(col("day", "r")),
        text(" (gyldig "),
        nb_date(first),
        text("–"),
        fn("coalesce", nb_date(last), text("")),
        text(")"),
    )
    return (
        problem_rows(used, column, col("value", "r"), reason, line=col("line", "r"))
        .join(
            aliased(validity, "v"),
            on=col("code", "r").eq(col("code", "v")),
        )
        .where(exp.or_(col("day", "r") < first, col("day", "r") > last))
    )


# --- set rules: keys, references, the warehouse --------------------------------------------------


def key_hashes(keys: Sequence[str], data: str) -> exp.Select:
    """A 64-bit hash of each row's key (no repeated hash: no duplicate key)."""
    return exp.select(fn("hash", *(col(k) for k in keys)).as_("h")).from_(ref(data))


def some_duplicate(keys: Sequence[str], data: str) -> exp.Select:
    """A row when some key is repeated."""
    k = [col(c) for c in keys]
    return (
        exp.select(number(1))
        .from_(ref(data))
        .group_by(*k)
        .having(fn("count", exp.Star()) > number(1))
        .limit(1)
    )


def duplicates(cols: Columns, keys: Sequence[str], raw: str) -> exp.Select:
    """Each row repeating the key of an earlier row."""
    key_text = concat(
        *[
            part
            for i, k in enumerate(keys)
            for part in ([text("/")] if i else []) + [fn("coalesce", cols.text(k), text(""))]
        ]
    )
    first = exp.Window(this=fn("min", col("_line")), partition_by=[col(k) for k in keys])
    inner = (
        exp.select(
            col("_line").as_("line"),
            text(keys[0]).as_("col"),
            key_text.as_("value"),
            first.as_("first"),
        )
        .from_(ref(raw))
        .subquery()
    )
    reason = concat(
        text(f"duplikat nøkkel ({', '.join(keys)}), første gang på linje "), as_text(col("first"))
    )
    return (
        exp.select(col("line"), col("col"), col("value"), reason.as_("reason"))
        .from_(inner)
        .where(col("line") > col("first"))
    )


def reference_set(
    cols: Columns | None,
    ref_table: str,
    ref_column: str,
    *,
    raw: str | None,
    problems: str | None,
    in_warehouse: bool,
    where: exp.Expression | None = None,
) -> exp.Expression:
    """The values a foreign key may take: the referenced column of the extract's valid rows
    (*raw*; rows with a problem in the table *problems* left out) and of the warehouse."""
    parts: list[exp.Select] = []
    condition = where if where is not None else exp.true()
    if raw is not None and cols is not None:
        valid: exp.Expression = condition
        if problems is not None:
            flagged = (
                exp.select(col("line"))
                .from_(ref(problems))
                .where(exp.and_(col("tbl").eq(text(ref_table)), col("line").is_(exp.null()).not_()))
            )
            valid = exp.and_(condition, exp.not_(col("_line").isin(query=flagged)))
        parts.append(exp.select(cols.text(ref_column).as_("v")).from_(ref(raw)).where(valid))
    if in_warehouse:
        parts.append(
            exp.select(as_text(col(ref_column)).as_("v")).from_(ref(ref_table)).where(condition)
        )
    if not parts:
        return exp.select(cast(exp.null(), "VARCHAR").as_("v")).where(exp.false())
    return (
        exp.select(col("v"))
        .from_(union(parts, distinct=True))
        .where(col("v").is_(exp.null()).not_())
    )


def missing_values(cols: Columns, column: str, source: str, refs: exp.Expression) -> exp.Select:
    """The distinct values of *column* not among *refs*."""
    return distinct_values(cols, column, source).where(exp.not_(cols.text(column).isin(query=refs)))


def missing_reference(cols: Columns, c: ColumnSpec, raw: str, refs: exp.Expression) -> exp.Select:
    """Rows whose foreign key *c* is not among *refs*."""
    assert c.references is not None
    where = exp.and_(cols.filled(c.name), exp.not_(cols.text(c.name).isin(query=refs)))
    why = f"finnes ikke i {c.references} (gyldige rader i uttrekket) og heller ikke i lageret"
    return problem_rows(raw, c.name, cols.text(c.name), text(why), where)


def is_not_a_gp(
    cols: Columns, column: str, refs: exp.Expression, gps: exp.Expression
) -> exp.Expression:
    """True where the practitioner exists but is not a GP (a list membership's ``gp_id``)."""
    t = cols.text(column)
    return exp.and_(cols.filled(column), t.isin(query=refs), exp.not_(t.isin(query=gps)))


def not_a_gp(
    cols: Columns, column: str, raw: str, refs: exp.Expression, gps: exp.Expression
) -> exp.Select:
    """Rows whose practitioner exists but is not a GP."""
    return problem_rows(
        raw,
        column,
        cols.text(column),
        text("behandleren er ikke fastlege (rolle gp)"),
        is_not_a_gp(cols, column, refs, gps),
    )


def deaths(persons: tuple[Columns, str] | None, in_warehouse: bool) -> exp.Select | None:
    """Persons who died (``pid``, ``died``): of the extract (*persons*: how its persons file
    holds its columns, and its staged view) and, unless the extract has them, of the warehouse.
    ``None`` when there is nowhere to look."""
    parts: list[exp.Select] = []
    if persons is not None and persons[0].has("death_date"):
        cols, raw = persons
        parts.append(
            exp.select(
                cols.text("person_id").as_("pid"), cols.date("death_date").as_("died")
            ).from_(ref(raw))
        )
    if in_warehouse:
        where: exp.Expression = col("death_date").is_(exp.null()).not_()
        if persons is not None:
            cols, raw = persons
            extract = exp.select(cols.text("person_id")).from_(ref(raw))
            where = exp.and_(where, exp.not_(col("person_id").isin(query=extract)))
        parts.append(
            exp.select(col("person_id").as_("pid"), col("death_date").as_("died"))
            .from_(ref("persons"))
            .where(where)
        )
    if not parts:
        return None
    return (
        exp.select(col("pid"), col("died"))
        .from_(union(parts, distinct=False))
        .where(col("died").is_(exp.null()).not_())
    )


def after_death(cols: Columns, date_col: str, raw: str, died: exp.Select) -> exp.Select:
    """Events dated after their person's death."""
    events = (
        exp.select(
            col("_line"),
            cols.text("person_id").as_("_pid"),
            cols.date(date_col).as_("_day"),
        )
        .from_(ref(raw))
        .subquery("x")
    )
    reason = concat(text("etter personens død ("), nb_date(col("died", "p")), text(")"))
    return (
        problem_rows(events, date_col, as_text(col("_day", "x")), reason, line=col("_line", "x"))
        .join(died.subquery("p"), on=col("pid", "p").eq(col("_pid", "x")))
        .where(col("_day", "x") > col("died", "p"))
    )


def qualified(value: exp.Expression, source: str) -> exp.Expression:
    """An event id qualified by its *source* (``source:id``; an id that already carries the
    source, e.g. read back from a warehouse export, as it is)."""
    prefix = text(source + ":")
    return exp.Case().when(fn("starts_with", value, prefix), value).else_(concat(prefix, value))


def stored_elsewhere(
    cols: Columns,
    table: str,
    id_col: str,
    date_col: str,
    raw: str,
    source: str,
    period: tuple[dt.date, dt.date],
) -> exp.Select:
    """Event ids this source already has in the warehouse with a date outside the period: the
    source reuses its ids across periods, and loading would overwrite a row outside it."""
    ids = exp.select(col("_line"), cols.text(id_col).as_("_id")).from_(ref(raw)).subquery("r")
    stored = col(date_col, "s")
    reason = concat(
        text(f"kilden har allerede denne id-en, med {date_col} "),
        nb_date(stored),
        text(" (batch "),
        as_text(col("_batch", "s")),
        text(
            "), utenfor den oppgitte perioden: kilden gjenbruker id-er på tvers av perioder; "
            "last uttrekket inn under et annet kildenavn"
        ),
    )
    return (
        problem_rows(ids, id_col, col("_id", "r"), reason, line=col("_line", "r"))
        .join(
            aliased(table, "s"),
            on=col(id_col, "s").eq(qualified(col("_id", "r"), source)),
        )
        .where(exp.not_(stored.between(day(period[0]), day(period[1]))))
    )


def overlaps(cols: Columns, raw: str, in_warehouse: bool) -> exp.Select:
    """List periods of one person that overlap (in the extract, or with the warehouse's)."""
    pid, start, end = cols.text("person_id"), cols.date("start"), cols.date("end")
    parts: list[exp.Select] = [
        exp.select(
            pid.as_("pid"),
            start.as_("s"),
            fn("coalesce", end, day(_OPEN_END)).as_("e"),
            col("_line").as_("line"),
        )
        .from_(ref(raw))
        .where(start.is_(exp.null()).not_())
    ]
    if in_warehouse:
        same = exp.and_(
            cols.text("person_id", "r").eq(col("person_id", "w")),
            cols.date("start", "r").eq(col("start", "w")),
        )
        extract = exp.select(number(1)).from_(aliased(raw, "r")).where(same)
        parts.append(
            exp.select(
                col("person_id", "w"),
                col("start", "w"),
                fn("coalesce", col("end", "w"), day(_OPEN_END)),
                exp.null(),
            )
            .from_(aliased("list_memberships", "w"))
            .where(exp.not_(exp.Exists(this=extract)))
        )
    window = {"partition_by": [col("pid")], "order": exp.Order(expressions=[col("s"), col("line")])}
    ordered = exp.select(
        exp.Star(),
        exp.Window(this=fn("lag", col("s")), **window).as_("ps"),
        exp.Window(this=fn("lag", col("e")), **window).as_("pe"),
        exp.Window(this=fn("lag", col("line")), **window).as_("pl"),
    ).from_(union(parts, distinct=False))
    open_end = exp.Case().when(col("pe").eq(day(_OPEN_END)), text("")).else_(nb_date(col("pe")))
    where_from = (
        exp.Case()
        .when(col("pl").is_(exp.null()), text(" som allerede er i lageret"))
        .else_(concat(text(" på linje "), as_text(col("pl"))))
    )
    reason = concat(
        text("overlapper listeperioden "), nb_date(col("ps")), text("–"), open_end, where_from
    )
    return problem_rows(
        ordered.subquery(),
        "start",
        as_text(col("s")),
        reason,
        exp.and_(col("line").is_(exp.null()).not_(), col("pe") >= col("s")),
        line=col("line"),
    )


# --- the write: valid rows in the warehouse's types ----------------------------------------------


def sql_type(t: Any) -> str:
    """The DuckDB type of the Ibis type *t*."""
    if t.is_string():
        return "VARCHAR"
    if t.is_date():
        return "DATE"
    if t.is_int64():
        return "BIGINT"
    if t.is_float64():
        return "DOUBLE"
    if t.is_boolean():
        return "BOOLEAN"
    if t.is_decimal():
        return f"DECIMAL({t.precision}, {t.scale})"
    raise TypeError(f"no SQL type for {t}")


def typed_column(c: ColumnSpec, cols: Columns, source: str | None) -> exp.Expression:
    """Column *c* as the warehouse stores it (type, empty text as NULL, the event id qualified
    by *source*)."""
    target = sql_type(c.dtype)
    if not cols.has(c.name):
        return cast(exp.null(), target).as_(c.name, quoted=True)
    from_type = cols.type(c.name)
    x = col(c.name)
    if c.kind == EVENT_ID_KIND and source is not None:
        # qualified by the source: two sources' K00001 are two rows
        value = qualified(cols.text(c.name), source)
    elif c.kind == "bool" and from_type != "BOOLEAN":
        value = exp.paren(fn("lower", x).eq(text("true")))
    elif from_type == "VARCHAR" and target != "VARCHAR":
        # TRY_CAST: rejected rows are filtered out, but DuckDB may cast before it filters
        value = try_cast(fn("nullif", x, text("")), target)
    elif from_type == "VARCHAR" and not c.required:
        value = fn("nullif", x, text(""))
    else:
        value = cast(x, target)
    return value.as_(c.name, quoted=True)
