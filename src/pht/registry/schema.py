"""The registry extract format, version 1, as code: every table, column, type and rule.

This is the one definition the warehouse, the importers, the synthetic generator and the docs
(docs/data-format.md, checked by a test) share. Column names never change; the project may add
tables and columns.

Dates: ``start``/``end`` pairs are inclusive, as the registries write them (``end`` is the last
day); code converts them to half-open :class:`pht.core.periods.Period` where it computes with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.datatypes as dt

__all__ = [
    "BATCH_COLUMN",
    "BATCH_TABLES",
    "EVENT_ID_KIND",
    "SCHEMA_VERSION",
    "SIDE_TABLES",
    "STORAGE_METHODS",
    "TABLES",
    "ColumnSpec",
    "TableSpec",
    "table_spec",
]

SCHEMA_VERSION = 1

# Every warehouse table has this column besides the extract format's: the load batch that wrote
# the row (pht.registry.batches; 0 for rows written before batches existed). Not part of the
# extract format: files never carry it, the loader sets it.
BATCH_COLUMN = "_batch"

# Kind of the id column of an event table (contacts, admissions, survey responses): the
# warehouse stores it qualified by the source it came from ("<source>:<id>"), so that two
# sources' K00001 are two rows.
EVENT_ID_KIND = "event_id"


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column: its type, whether it is required, and the rule its values follow."""

    name: str
    dtype: dt.DataType
    required: bool
    doc: str
    # What kind of value the column holds, for validation: "person_id", "orgnr", "hpr",
    # "municipality_code", "date", "enum", "icpc2_list", "tariff_list", "icd10", "icd10_list",
    # "decimal", "int", "fte", "bool", "text", "centrality", "event_id" (see EVENT_ID_KIND).
    kind: str = "text"
    values: tuple[str, ...] = ()  # allowed values for kind == "enum"
    references: str | None = None  # "table.column" this column must exist in
    # How the warehouse stores the column: "id" (many distinct strings: ids), "code" (few
    # distinct values: codes, practitioners) or "" (let DuckDB choose); the method each stands
    # for is in STORAGE_METHODS. Chosen once here instead of DuckDB trying every method on
    # every row group of every write, which costs a third of a bulk insert. "enum": a text
    # column of kind "enum" stored as a DuckDB ENUM of its *values* (one byte per row instead
    # of a string; Ibis reads it as text, a value outside the list cannot be stored).
    storage: str = ""


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One table of the extract format."""

    name: str
    doc: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    date_order: tuple[tuple[str, str], ...] = field(default=())  # (earlier, later) column pairs

    @property
    def schema(self) -> ibis.Schema:
        """The Ibis schema of the table."""
        return ibis.schema({c.name: c.dtype for c in self.columns})

    @property
    def event_id(self) -> str | None:
        """The source-qualified id column of an event table (``None`` for other tables)."""
        for c in self.columns:
            if c.kind == EVENT_ID_KIND:
                return c.name
        return None

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the required columns."""
        return tuple(c.name for c in self.columns if c.required)

    def create_sql(
        self, name: str | None = None, *, layout: str = "current", provenance: bool = True
    ) -> str:
        """``CREATE TABLE`` for this table in DuckDB with each column's storage method.

        With *provenance* (the warehouse's tables) the table ends with :data:`BATCH_COLUMN`.

        *layout* is a key of :data:`STORAGE_METHODS`: ``"current"`` for warehouse files in
        DuckDB's storage format v1.3 or newer, ``"legacy"`` for older files.
        """
        methods = STORAGE_METHODS[layout]
        cols = []
        for c in self.columns:
            column = ibis.schema({c.name: c.dtype}).to_sqlglot_column_defs("duckdb")[0]
            sql_type = column.kind.sql("duckdb")
            if c.storage == "enum":
                sql_type = (
                    "ENUM(" + ", ".join("'" + v.replace("'", "''") + "'" for v in c.values) + ")"
                )
            method = methods.get(c.storage, "")
            using = f" USING COMPRESSION {method}" if method else ""
            cols.append(f'"{c.name}" {sql_type}{using}')
        if provenance:
            cols.append(f'"{BATCH_COLUMN}" INTEGER DEFAULT 0')
        return f'CREATE TABLE "{name or self.name}" ({", ".join(cols)})'

    def column(self, name: str) -> ColumnSpec:
        """The column called *name*."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


# DuckDB compression method of each storage class (ColumnSpec.storage) by warehouse layout; ""
# leaves the choice to DuckDB. "current": files in DuckDB's storage format v1.3 or newer (pht
# creates v1.4 files). ZSTD for ids costs the least CPU to write of the methods that compress
# them (1,000,000 contacts: about 0.2 CPU-seconds less than FSST; the contacts table about a
# quarter larger); for repeated values DuckDB's own choice, DICT_FSST, costs no more than
# forcing it, and keeps tables copyable into files of older formats (COPY FROM DATABASE).
# "legacy": files in an older format (made before pht chose v1.4), where neither exists and
# DuckDB's trial of every method costs a third of a bulk insert.
STORAGE_METHODS: dict[str, dict[str, str]] = {
    "current": {"id": "uncompressed", "code": ""},
    "legacy": {"id": "uncompressed", "code": "dictionary"},
}

_S = dt.String()
_D = dt.Date()
_I = dt.Int64()
_F = dt.Float64()
_B = dt.Boolean()
_M = dt.Decimal(12, 2)

SETTINGS = ("office", "home", "video", "phone", "message", "out_of_hours")
ROLES = ("gp", "nurse", "secretary", "psychologist")
SERVICES = (
    "home_nursing",
    "practical_help",
    "short_stay",
    "long_term_stay",
    "day_care",
    "safety_alarm",
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "municipalities",
            "Municipalities (kommuner) with population and centrality.",
            (
                ColumnSpec(
                    "municipality_code",
                    _S,
                    True,
                    "kommunenummer, 4 digits as text",
                    kind="municipality_code",
                ),
                ColumnSpec("name", _S, True, "name of the municipality"),
                ColumnSpec("population", _I, True, "inhabitants", kind="int"),
                ColumnSpec("centrality", _I, False, "SSB centrality class 1–6", kind="centrality"),
            ),
            key=("municipality_code",),
        ),
        TableSpec(
            "practices",
            "GP practices (fastlegekontor) and their place in the scheme.",
            (
                ColumnSpec("practice_id", _S, True, "organisasjonsnummer, 9 digits", kind="orgnr"),
                ColumnSpec("name", _S, True, "name of the practice"),
                ColumnSpec(
                    "municipality_code",
                    _S,
                    True,
                    "kommunenummer",
                    kind="municipality_code",
                    references="municipalities.municipality_code",
                ),
                ColumnSpec("district", _S, False, "Oslo district (bydelsnummer, 6 digits)"),
                ColumnSpec(
                    "financing_model",
                    _S,
                    False,
                    "fee, grant, or empty for a practice outside the scheme",
                    kind="enum",
                    values=("fee", "grant"),
                ),
                ColumnSpec("pht_start", _D, False, "first day in the scheme", kind="date"),
                ColumnSpec("pht_end", _D, False, "last day in the scheme", kind="date"),
            ),
            key=("practice_id",),
            date_order=(("pht_start", "pht_end"),),
        ),
        TableSpec(
            "practitioners",
            "GPs, nurses, secretaries and psychologists working in a practice.",
            (
                ColumnSpec("practitioner_id", _S, True, "HPR number", kind="hpr"),
                ColumnSpec(
                    "practice_id",
                    _S,
                    True,
                    "organisasjonsnummer",
                    kind="orgnr",
                    references="practices.practice_id",
                ),
                ColumnSpec(
                    "role",
                    _S,
                    True,
                    "gp, nurse, secretary or psychologist",
                    kind="enum",
                    values=ROLES,
                ),
                ColumnSpec("fte", _F, False, "full-time equivalent, 0–1", kind="fte"),
                ColumnSpec("start", _D, True, "first day", kind="date"),
                ColumnSpec("end", _D, False, "last day", kind="date"),
                ColumnSpec(
                    "team_lead", _B, False, "true for the GP who leads the team", kind="bool"
                ),
            ),
            key=("practitioner_id", "practice_id", "start"),
            date_order=(("start", "end"),),
        ),
        TableSpec(
            "persons",
            "Persons: fødselsnummer/D-number in identified data, a pseudonym in analytic data.",
            (
                ColumnSpec(
                    "person_id",
                    _S,
                    True,
                    "fødselsnummer, D-number or pseudonym",
                    kind="person_id",
                    storage="id",
                ),
                ColumnSpec("birth_date", _D, True, "date of birth", kind="date"),
                ColumnSpec(
                    "sex", _S, True, "F or M", kind="enum", values=("F", "M"), storage="code"
                ),
                ColumnSpec(
                    "municipality_code",
                    _S,
                    True,
                    "municipality of residence",
                    kind="municipality_code",
                    references="municipalities.municipality_code",
                    storage="code",
                ),
                ColumnSpec("death_date", _D, False, "date of death", kind="date"),
            ),
            key=("person_id",),
            date_order=(("birth_date", "death_date"),),
        ),
        TableSpec(
            "list_memberships",
            "Periods a person is on a GP's list; periods of one person do not overlap.",
            (
                ColumnSpec(
                    "person_id",
                    _S,
                    True,
                    "person",
                    kind="person_id",
                    references="persons.person_id",
                    storage="id",
                ),
                ColumnSpec(
                    "gp_id",
                    _S,
                    True,
                    "HPR number of a GP",
                    kind="hpr",
                    references="practitioners.practitioner_id",
                    storage="code",
                ),
                ColumnSpec("start", _D, True, "first day on the list", kind="date"),
                ColumnSpec("end", _D, False, "last day on the list", kind="date"),
            ),
            key=("person_id", "start"),
            date_order=(("start", "end"),),
        ),
        TableSpec(
            "contacts",
            "One row per claim (KUHR): GP and nurse contacts with diagnoses and tariffs.",
            (
                ColumnSpec("contact_id", _S, True, "claim id", kind=EVENT_ID_KIND, storage="id"),
                ColumnSpec(
                    "person_id",
                    _S,
                    True,
                    "patient",
                    kind="person_id",
                    references="persons.person_id",
                    storage="id",
                ),
                ColumnSpec(
                    "practitioner_id",
                    _S,
                    True,
                    "HPR number",
                    kind="hpr",
                    references="practitioners.practitioner_id",
                    storage="code",
                ),
                ColumnSpec(
                    "practice_id",
                    _S,
                    True,
                    "organisasjonsnummer",
                    kind="orgnr",
                    references="practices.practice_id",
                    storage="code",
                ),
                ColumnSpec("date", _D, True, "date of the contact", kind="date"),
                ColumnSpec(
                    "setting",
                    _S,
                    True,
                    "office, home, video, phone, message, out_of_hours",
                    kind="enum",
                    values=SETTINGS,
                    storage="enum",
                ),
                ColumnSpec(
                    "diagnoses",
                    _S,
                    False,
                    "ICPC-2 codes, space-separated",
                    kind="icpc2_list",
                    storage="code",
                ),
                ColumnSpec(
                    "tariffs",
                    _S,
                    False,
                    "normaltariff and nurse codes, space-separated",
                    kind="tariff_list",
                    storage="code",
                ),
                ColumnSpec("copay_nok", _M, False, "patient co-payment, NOK", kind="decimal"),
                ColumnSpec("refund_nok", _M, False, "refund from the state, NOK", kind="decimal"),
            ),
            key=("contact_id",),
        ),
        TableSpec(
            "admissions",
            "Hospital stays (NPR) with ICD-10 diagnoses.",
            (
                ColumnSpec("admission_id", _S, True, "stay id", kind=EVENT_ID_KIND, storage="id"),
                ColumnSpec(
                    "person_id",
                    _S,
                    True,
                    "patient",
                    kind="person_id",
                    references="persons.person_id",
                    storage="id",
                ),
                ColumnSpec("admitted", _D, True, "date of admission", kind="date"),
                ColumnSpec("discharged", _D, True, "date of discharge", kind="date"),
                ColumnSpec(
                    "main_diagnosis",
                    _S,
                    True,
                    "ICD-10 code (no dot)",
                    kind="icd10",
                    storage="code",
                ),
                ColumnSpec(
                    "other_diagnoses",
                    _S,
                    False,
                    "ICD-10 codes, space-separated",
                    kind="icd10_list",
                    storage="code",
                ),
                ColumnSpec("acute", _B, True, "true for an emergency admission", kind="bool"),
            ),
            key=("admission_id",),
            date_order=(("admitted", "discharged"),),
        ),
        TableSpec(
            "municipal_services",
            "Municipal health and care services (KPR/IPLOS).",
            (
                ColumnSpec(
                    "person_id",
                    _S,
                    True,
                    "recipient",
                    kind="person_id",
                    references="persons.person_id",
                    storage="id",
                ),
                ColumnSpec(
                    "service",
                    _S,
                    True,
                    "kind of service",
                    kind="enum",
                    values=SERVICES,
                    storage="code",
                ),
                ColumnSpec("start", _D, True, "first day", kind="date"),
                ColumnSpec("end", _D, False, "last day", kind="date"),
                ColumnSpec("hours_per_week", _F, False, "hours per week", kind="decimal"),
            ),
            key=("person_id", "service", "start"),
            date_order=(("start", "end"),),
        ),
        TableSpec(
            "survey_responses",
            "Answers to patient surveys (EQ-5D-5L, activation, satisfaction, coordination).",
            (
                ColumnSpec("response_id", _S, True, "answer id", kind=EVENT_ID_KIND, storage="id"),
                ColumnSpec(
                    "person_id",
                    _S,
                    True,
                    "respondent",
                    kind="person_id",
                    references="persons.person_id",
                    storage="id",
                ),
                ColumnSpec(
                    "practice_id",
                    _S,
                    True,
                    "practice asked about",
                    kind="orgnr",
                    references="practices.practice_id",
                    storage="code",
                ),
                ColumnSpec("date", _D, True, "date answered", kind="date"),
                ColumnSpec(
                    "instrument",
                    _S,
                    True,
                    "instrument, e.g. eq5d5l, pam, prem",
                    storage="code",
                ),
                ColumnSpec("item", _S, True, "item within the instrument", storage="code"),
                ColumnSpec("value", _F, True, "the answer as a number", kind="decimal"),
            ),
            key=("response_id",),
        ),
    )
}


# Tables the warehouse holds besides the extract format's, written by importers as part of their
# batch (rows carry ``_batch``, changed rows keep their pre-image, undo restores them). Not part
# of the extract format: no extract file carries them and the loader does not read them.
SIDE_TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec(
            "fhir_conditions",
            "Problem-list conditions of a FHIR load without an encounter (pht.registry.fhir).",
            (
                ColumnSpec("condition_id", _S, True, "Condition id, qualified by the source"),
                ColumnSpec(
                    "person_id",
                    _S,
                    True,
                    "patient",
                    kind="person_id",
                    references="persons.person_id",
                ),
                ColumnSpec("icpc2", _S, False, "ICPC-2 code"),
                ColumnSpec("icd10", _S, False, "ICD-10 code (no dot)"),
                ColumnSpec("onset_date", _D, False, "onset", kind="date"),
                ColumnSpec("recorded_date", _D, False, "recorded", kind="date"),
            ),
            key=("condition_id",),
        ),
    )
}

# Every table a batch writes and undo restores: the extract format's, then the side tables.
BATCH_TABLES: dict[str, TableSpec] = {**TABLES, **SIDE_TABLES}


def table_spec(name: str) -> TableSpec:
    """The spec of table *name*; a clear error for an unknown table."""
    try:
        return TABLES[name]
    except KeyError:
        known = ", ".join(TABLES)
        raise KeyError(f"unknown table {name!r}; the extract format has: {known}") from None
