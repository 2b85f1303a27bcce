"""Turn the simulation's arrays into the extract format's tables and write them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pht.registry.schema import TABLES
from pht.synth.params import CONDITIONS
from pht.synth.plan import Plan
from pht.synth.simulate import KINDS, SERVICES, Simulation

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ROW_GROUP", "Sliced", "TableWriter", "iter_tables", "truth_tables", "write_table"]

ROW_GROUP = 1 << 20  # rows per Parquet row group


@dataclass(frozen=True, slots=True)
class Sliced:
    """A large table made one row group at a time (``part(lo, hi)`` gives rows lo..hi-1), so that
    the writer encodes one part while the next is built. Written part by part, the file is the
    same as when the whole table is written at once."""

    num_rows: int
    part: Callable[[int, int], pa.Table]

    def parts(self) -> Iterator[pa.Table]:
        """The parts in order (one empty part for an empty table, for its schema)."""
        for lo in range(0, max(self.num_rows, 1), ROW_GROUP):
            yield self.part(lo, min(self.num_rows, lo + ROW_GROUP))


INSTRUMENTS = (
    ("eq5d5l", "index"),
    ("pam", "score"),
    ("prem", "satisfaction"),
    ("prem", "coordination"),
)


def _dates(
    days: npt.NDArray[np.integer[Any]], null: npt.NDArray[np.bool_] | None = None
) -> pa.Array:
    """Days since 1970 as a date column (nulls where *null*); 32-bit days are not copied."""
    arr = np.asarray(days).astype(np.int32, copy=False)
    return pa.array(arr, type=pa.date32(), mask=null)


class _Codes:
    """A string vocabulary as an Arrow dictionary, for columns of indices into it.

    A small vocabulary (codes, names) gives a dictionary-encoded column: it writes fast to
    Parquet, and files are written without the Arrow schema, so readers see plain strings (CSV
    writing decodes them first).
    """

    def __init__(self, vocab: npt.ArrayLike):
        values = np.asarray(vocab, dtype=object)
        unique, inverse = np.unique(values.astype(str), return_inverse=True)
        self.remap: npt.NDArray[np.int32] | None = None
        if unique.size < values.size:
            # A dictionary must not repeat a value (the Parquet writer would not be deterministic).
            values = unique.astype(object)
            self.remap = inverse.astype(np.int32)
        self.dictionary = pa.array(values, type=pa.string())

    def take(
        self, idx: npt.NDArray[np.integer[Any]], null: npt.NDArray[np.bool_] | None = None
    ) -> pa.Array:
        """The strings vocab[idx] (nulls where *null*)."""
        positions = np.asarray(idx, dtype=np.int32)
        if self.remap is not None:
            positions = self.remap[positions]
        indices = pa.array(positions, mask=null)
        return pa.DictionaryArray.from_arrays(indices, self.dictionary)


def _take(
    vocab: npt.ArrayLike,
    idx: npt.NDArray[np.int64],
    null: npt.NDArray[np.bool_] | None = None,
) -> pa.Array:
    """Strings vocab[idx] as a string column (nulls where *null*).

    A small vocabulary gives a dictionary-encoded column (see :class:`_Codes`). Fixed-width byte
    strings as *vocab* (identifiers, one per person) give a plain column, gathered by numpy: the
    Parquet writer would re-encode a dictionary of millions of values for every row group.
    """
    if isinstance(vocab, np.ndarray) and vocab.dtype.kind == "S":
        if null is not None:
            raise ValueError("identifier columns have no nulls")
        return _strings(vocab[np.asarray(idx, dtype=np.int32)])
    return _Codes(vocab).take(idx, null)


class _Identifiers:
    """Fixed-width ASCII identifiers, one per person, gathered into string columns.

    Identifiers of at most 12 bytes become Arrow string views (each value inline in 16 bytes:
    the gather is one 16-byte copy per row); Parquet stores them as any string column, byte for
    byte the same file.
    """

    def __init__(self, fixed: npt.NDArray[np.bytes_]):
        self.fixed = fixed
        width = fixed.dtype.itemsize
        self.views: npt.NDArray[np.complex128] | None = None
        if width <= 12 and sys.byteorder == "little":
            views = np.zeros((fixed.shape[0], 16), dtype=np.uint8)
            views[:, :4] = np.array([width], dtype="<i4").view(np.uint8)
            views[:, 4 : 4 + width] = fixed.view(np.uint8).reshape(-1, width)
            self.views = views.view(np.complex128).reshape(-1)

    def take(self, idx: npt.NDArray[np.integer[Any]]) -> pa.Array:
        """The identifiers of persons *idx*, as a string (view) column."""
        positions = np.asarray(idx, dtype=np.int32)
        if self.views is None:
            return _strings(self.fixed[positions])
        gathered = self.views[positions]
        return pa.Array.from_buffers(
            pa.string_view(), gathered.shape[0], [None, pa.py_buffer(gathered)]
        )


def _strings(fixed: npt.NDArray[np.bytes_]) -> pa.Array:
    """A string column from fixed-width ASCII byte strings (no Python objects)."""
    n = fixed.shape[0]
    width = fixed.dtype.itemsize
    offsets = np.arange(0, width * n + 1, width, dtype=np.int32)
    data = np.ascontiguousarray(fixed).view(np.uint8)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _diagnoses(
    vocab: list[str], main: npt.NDArray[np.int16], extra: npt.NDArray[np.uint32]
) -> tuple[_Codes, npt.NDArray[np.int32]]:
    """The contacts' diagnoses: the main code, then the follow-up codes of *extra* (a bit mask
    over the vocabulary's first 32 codes), space-separated: a dictionary and an index per row."""
    index = main.astype(np.int32)
    multi = np.flatnonzero(extra)
    labels: list[str] = []
    if multi.size:
        keys = (main[multi].astype(np.int64) << 32) | extra[multi].astype(np.int64)
        unique, inverse = np.unique(keys, return_inverse=True)
        for key in unique.tolist():
            first, mask = key >> 32, key & 0xFFFFFFFF
            labels.append(" ".join([vocab[first]] + [vocab[b] for b in range(32) if mask >> b & 1]))
        index[multi] = len(vocab) + inverse
    return _Codes(np.array(list(vocab) + labels, dtype=object)), index


_DIGITS4 = np.array([f"{i:04d}" for i in range(10_000)], dtype="S4").view(np.uint32)


def _ids(prefix: str, count: int, start: int = 0, total: int | None = None) -> pa.Array:
    """Row identifiers: *prefix* and the row number 1, 2, ... zero-padded to the width of the
    table's row count *total* (default *count*) (K0000001 ...), for *count* rows from row *start*;
    made as fixed-width bytes by numpy, four digits per table look-up."""
    width = len(str(max(count if total is None else total, 1)))
    if width > 12:
        raise ValueError("at most 10**12 - 1 rows")
    # Four digits per word, from the table: the row numbers run consecutively, so the lowest
    # word repeats the table from an offset and the higher words are runs of one value.
    first, last = start + 1, start + count
    words = np.empty((count, 3), dtype=np.uint32)
    if count:
        words[:, 2] = np.resize(np.roll(_DIGITS4, -(first % 10_000)), count)
        for col, unit in ((1, 10_000), (0, 100_000_000)):
            q = np.arange(first // unit, last // unit + 1)
            runs = np.diff(np.clip(np.r_[q, q[-1] + 1] * unit, first, last + 1))
            words[:, col] = np.repeat(_DIGITS4[q % 10_000], runs)
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    out = np.empty((count, head.size + width), dtype=np.uint8)
    out[:, : head.size] = head
    out[:, head.size :] = words.view(np.uint8).reshape(count, 12)[:, 12 - width :]
    return _strings(out.view(f"S{head.size + width}").ravel())


def _wide(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Whole kroner as rows of two 64-bit words: the 128-bit integer of their øre."""
    cents = np.asarray(values, dtype=np.int64) * 100
    wide = np.empty((cents.size, 2), dtype=np.int64)
    wide[:, 0] = cents
    wide[:, 1] = np.where(cents < 0, -1, 0)
    return wide


def _decimals(wide: npt.NDArray[np.int64]) -> pa.Array:
    """decimal(12, 2) from rows made by :func:`_wide` (gathered rows of a table, too)."""
    wide = np.ascontiguousarray(wide)
    return pa.Array.from_buffers(pa.decimal128(12, 2), wide.shape[0], [None, pa.py_buffer(wide)])


def _order_by(first: npt.NDArray[np.int64], then: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """The stable order by *first*, then *then* (as ``np.lexsort((then, first))``): one sort of
    the two packed into 64 bits when they fit."""
    if first.size == 0:
        return np.arange(0, dtype=np.intp)
    low = int(then.min())
    span = int(then.max()) - low + 1
    if int(first.min()) < 0 or (int(first.max()) + 1) * span >= 2**62:
        return np.lexsort((then, first))
    return np.argsort(first * span + (then - low), kind="stable")


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """Columns in the spec's order and types, then any added columns."""
    spec = TABLES.get(name)
    if spec is None:
        return pa.table(columns)
    arrays = []
    fields = []
    for c in spec.columns:
        want = _ARROW[type(c.dtype).__name__]
        arr = columns[c.name]
        if want == pa.string() and (
            pa.types.is_dictionary(arr.type) or pa.types.is_string_view(arr.type)
        ):
            fields.append(pa.field(c.name, arr.type))
        else:
            arr = arr.cast(want) if arr.type != want else arr
            fields.append(pa.field(c.name, want))
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


_ARROW = {
    "String": pa.string(),
    "Date": pa.date32(),
    "Int64": pa.int64(),
    "Float64": pa.float64(),
    "Boolean": pa.bool_(),
    "Decimal": pa.decimal128(12, 2),
}


def iter_tables(
    plan: Plan,
    sim: Simulation,
    person_ids: npt.NDArray[np.bytes_],
    given: npt.NDArray[np.str_],
    family: npt.NDArray[np.str_],
    tag: str,
) -> Iterator[tuple[str, pa.Table | Sliced]]:
    """Every table of the extract format, plus ``person_names``, one at a time (so that each can
    be written while the next is built); the contacts come first, as a :class:`Sliced` table.

    Event ids start with the extract's *tag* (:func:`pht.synth.ids.extract_tag`), so that
    extracts of other scenarios, seeds or years never share one."""
    muni_codes = np.array(plan.municipality_codes, dtype=object)
    yield (
        "municipalities",
        _table(
            "municipalities",
            {
                "municipality_code": pa.array(plan.municipality_codes, pa.string()),
                "name": pa.array(plan.municipality_names, pa.string()),
                "population": pa.array(plan.municipality_population, pa.int64()),
                "centrality": pa.array(plan.municipality_centrality, pa.int64()),
            },
        ),
    )
    pr = plan.practices
    yield (
        "practices",
        _table(
            "practices",
            {
                "practice_id": pa.array([p.practice_id for p in pr], pa.string()),
                "name": pa.array([p.name for p in pr], pa.string()),
                "municipality_code": pa.array(
                    [plan.municipality_codes[p.municipality] for p in pr], pa.string()
                ),
                "district": pa.array([p.district for p in pr], pa.string()),
                "financing_model": pa.array([p.financing_model for p in pr], pa.string()),
                "pht_start": _dates(
                    np.array([p.pht_start or 0 for p in pr]),
                    np.array([p.pht_start is None for p in pr]),
                ),
                "pht_end": _dates(
                    np.array([p.pht_end or 0 for p in pr]),
                    np.array([p.pht_end is None for p in pr]),
                ),
            },
        ),
    )
    practice_ids = np.array([p.practice_id for p in pr], dtype=object)
    g = sim.gps
    gp_practice = plan.list_practice[g["list"]]
    pilot = np.array([p.pilot for p in pr])[gp_practice]
    staff = plan.staff
    yield (
        "practitioners",
        _table(
            "practitioners",
            {
                "practitioner_id": pa.array(list(g["hpr"]) + [s.hpr for s in staff], pa.string()),
                "practice_id": pa.array(
                    list(practice_ids[gp_practice]) + [practice_ids[s.practice] for s in staff],
                    pa.string(),
                ),
                "role": pa.array(["gp"] * g["hpr"].size + [s.role for s in staff], pa.string()),
                "fte": pa.array([1.0] * g["hpr"].size + [s.fte for s in staff], pa.float64()),
                "start": _dates(np.r_[g["start"], [s.start for s in staff]].astype(np.int64)),
                "end": _dates(
                    np.r_[np.maximum(g["end"], 0), [s.end or 0 for s in staff]].astype(np.int64),
                    np.r_[g["end"] < 0, [s.end is None for s in staff]].astype(bool),
                ),
                "team_lead": pa.array(
                    [bool(x) if pl else None for x, pl in zip(g["lead"], pilot, strict=True)]
                    + [None] * len(staff),
                    pa.bool_(),
                ),
            },
        ),
    )
    P = sim.persons
    n = P["birth"].size
    fixed = np.asarray(person_ids, dtype="S11")
    pid = _Identifiers(fixed)
    # The largest table first: its parts are written while the others are built.
    yield "contacts", _contacts(plan, sim, pid, practice_ids, tag)
    ids = _strings(fixed)
    yield (
        "persons",
        _table(
            "persons",
            {
                "person_id": ids,
                "birth_date": _dates(P["birth"]),
                "sex": pa.array(np.where(P["male"], "M", "F").astype(object), pa.string()),
                "municipality_code": _take(muni_codes, P["muni"]),
                "death_date": _dates(np.maximum(P["death"], 0), P["death"] < 0),
            },
        ),
    )
    yield (
        "person_names",
        pa.table(
            {
                "person_id": ids,
                "given_name": pa.array(given, pa.string()),
                "family_name": pa.array(family, pa.string()),
            }
        ),
    )
    m = sim.memberships
    order = _order_by(m["person"], m["start"])
    yield (
        "list_memberships",
        _table(
            "list_memberships",
            {
                "person_id": pid.take(m["person"][order]),
                "gp_id": _take(g["hpr"].astype(object), m["gp"][order]),
                "start": _dates(m["start"][order]),
                "end": _dates(np.maximum(m["end"][order], 0), m["end"][order] < 0),
            },
        ),
    )
    a = sim.admissions
    icd = np.array(sim.icd10_vocab, dtype=object)
    other = a["other"].astype(np.int64)
    yield (
        "admissions",
        _table(
            "admissions",
            {
                "admission_id": _ids(f"{tag}-A", a["person"].size),
                "person_id": pid.take(a["person"]),
                "admitted": _dates(a["admitted"]),
                "discharged": _dates(a["discharged"]),
                "main_diagnosis": _take(icd, a["main"].astype(np.int64)),
                "other_diagnoses": _take(icd, np.maximum(other, 0), other < 0),
                "acute": pa.array(a["acute"], pa.bool_()),
            },
        ),
    )
    s = sim.services
    hours = np.asarray(s["hours"], dtype=np.float64)
    yield (
        "municipal_services",
        _table(
            "municipal_services",
            {
                "person_id": pid.take(s["person"]),
                "service": _take(np.array(SERVICES, dtype=object), s["service"].astype(np.int64)),
                "start": _dates(s["start"]),
                "end": _dates(np.maximum(s["end"], 0), s["end"] < 0),
                "hours_per_week": pa.array(hours, pa.float64(), mask=np.isnan(hours)),
            },
        ),
    )
    v = sim.surveys
    inst = v["instrument"].astype(np.int64)
    yield (
        "survey_responses",
        _table(
            "survey_responses",
            {
                "response_id": _ids(f"{tag}-S", v["person"].size),
                "person_id": pid.take(v["person"]),
                "practice_id": _take(practice_ids, v["practice"]),
                "date": _dates(v["date"]),
                "instrument": _take(np.array([i[0] for i in INSTRUMENTS], dtype=object), inst),
                "item": _take(np.array([i[1] for i in INSTRUMENTS], dtype=object), inst),
                "value": pa.array(v["value"], pa.float64()),
            },
        ),
    )
    assert n == len(person_ids)


def _contacts(
    plan: Plan,
    sim: Simulation,
    pid: _Identifiers,
    practice_ids: npt.NDArray[np.object_],
    tag: str,
) -> Sliced:
    """The contacts table, built one row group at a time."""
    c = sim.contacts
    g = sim.gps
    n = c["person"].size
    practitioners = _Codes(np.r_[g["hpr"].astype(object), np.array(sim.nurse_hpr, dtype=object)])
    practices = _Codes(practice_ids)
    settings = _Codes(np.array([k[1] for k in KINDS], dtype=object))
    tariffs = _Codes(np.array(sim.tariff_vocab, dtype=object))
    diagnoses, diagnosis = _diagnoses(sim.icpc2_vocab, c["diagnosis"], c["extra"])
    year_starts = plan.quarter_start[::4]
    n_years, n_combo = sim.copay_table.shape
    # Amounts by (child, year, tariff combination); children pay nothing, the state pays their
    # share.
    copay = _wide(np.concatenate([sim.copay_table, np.zeros_like(sim.copay_table)]).ravel())
    refund = _wide(np.concatenate([sim.refund_table, sim.refund_table + sim.copay_table]).ravel())
    n_gps = g["hpr"].size

    def part(lo: int, hi: int) -> pa.Table:
        rows = slice(lo, hi)
        combo = c["combo"][rows].astype(np.int64)
        practitioner = c["practitioner"][rows]
        who = np.where(c["is_nurse"][rows], n_gps + practitioner, practitioner)
        date = c["date"][rows]
        year_i = np.searchsorted(year_starts, date, side="right") - 1
        slot = (c["child"][rows].astype(np.int64) * n_years + year_i) * n_combo + combo
        return _table(
            "contacts",
            {
                "contact_id": _ids(f"{tag}-K", hi - lo, lo, n),
                "person_id": pid.take(c["person"][rows]),
                "practitioner_id": practitioners.take(who),
                "practice_id": practices.take(c["practice"][rows]),
                "date": _dates(date),
                "setting": settings.take(sim.kind_of_combo[combo]),
                "diagnoses": diagnoses.take(diagnosis[rows]),
                "tariffs": tariffs.take(combo),
                "copay_nok": _decimals(copay[slot]),
                "refund_nok": _decimals(refund[slot]),
            },
        )

    return Sliced(n, part)


def truth_tables(
    plan: Plan,
    sim: Simulation,
    person_ids: npt.NDArray[np.bytes_],
    band_limits: list[float],
    bands: list[str],
) -> dict[str, pa.Table | Sliced]:
    """Ground truth that is not in the extract format (truth/…); person_quarters (if kept) as a
    :class:`Sliced` table."""
    P = sim.persons
    fixed = np.asarray(person_ids, dtype="S11")
    ids = _strings(fixed)
    onset = P["onset"]
    last = np.where(P["last"] >= 0, P["last"], plan.last_day)
    rows, cols = np.nonzero(onset <= last[:, None])
    # the ICPC-2 code the person's GP uses for the condition (T90 for type 2 diabetes)
    codes = sim.person_code(P["code_draw"][rows], cols)
    conditions = pa.table(
        {
            "person_id": _take(fixed, rows),
            "condition": _take(np.array(CONDITIONS, dtype=object), cols),
            "onset_date": _dates(onset[rows, cols]),
            "icpc2": _take(np.array(sim.icpc2_vocab, dtype=object), codes),
        }
    )
    efi = P["efi"].astype(np.float64)
    band = np.searchsorted(np.asarray(band_limits), efi, side="right")
    persons = pa.table(
        {
            "person_id": ids,
            "latent_health": pa.array(P["z"].astype(np.float64)),
            "frailty": pa.array(np.round(efi, 4)),
            "frailty_band": _take(np.array(bands, dtype=object), band),
            "weak_demander": pa.array(P["weak"] & P["ever_target"]),
            "ever_target": pa.array(P["ever_target"]),
            "expected_need": pa.array(np.round(P["need"].astype(np.float64), 4)),
            "first_day": _dates(np.maximum(P["entry"], plan.first_day)),
            "last_day": _dates(np.maximum(P["last"], 0), P["last"] < 0),
        }
    )
    out = {"conditions": conditions, "persons": persons}
    pq_ = sim.person_quarters
    if pq_ is not None:
        out["person_quarters"] = _person_quarters(plan, pq_, _Identifiers(fixed))
    return out


def _person_quarters(plan: Plan, pq_: dict[str, np.ndarray], pid: _Identifiers) -> Sliced:
    """truth/person_quarters, built one row group at a time."""
    practices = _Codes(np.array([p.practice_id for p in plan.practices], dtype=object))

    def part(lo: int, hi: int) -> pa.Table:
        rows = slice(lo, hi)
        qstart = plan.quarter_start[pq_["quarter"][rows].astype(np.int64)]
        return pa.table(
            {
                "person_id": pid.take(pq_["person"][rows]),
                "quarter_start": _dates(qstart),
                "practice_id": practices.take(pq_["practice"][rows]),
                "target": pa.array(pq_["target"][rows]),
                "treated": pa.array(pq_["treated"][rows]),
                "frailty": pa.array(pq_["efi"][rows].astype(np.float32)),
                "acsc_expected": pa.array(pq_["acsc_expected"][rows].astype(np.float32)),
                "acsc_counterfactual": pa.array(
                    pq_["acsc_counterfactual"][rows].astype(np.float32)
                ),
                "acsc_diabetes_expected": pa.array(
                    pq_["acsc_diabetes_expected"][rows].astype(np.float32)
                ),
                "acsc_diabetes_counterfactual": pa.array(
                    pq_["acsc_diabetes_counterfactual"][rows].astype(np.float32)
                ),
            }
        )

    return Sliced(pq_["person"].size, part)


def table_from_pandas(name: str, df: pd.DataFrame) -> pa.Table:
    """A data frame of the extract format as an Arrow table in the spec's column order and types."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    return _table(name, {c: table[c].combine_chunks() for c in table.column_names})


def write_table(table: pa.Table, path: Path, fmt: str) -> None:
    """Write one table as Parquet or CSV (UTF-8, comma, header, ISO dates, empty for null)."""
    writer = TableWriter(path, fmt)
    writer.write(table)
    writer.close()


class TableWriter:
    """Writes a table part by part into one Parquet or CSV file (see :func:`write_table`).

    Each part of a Parquet file becomes one row group (at most :data:`ROW_GROUP` rows), so that
    writing parts of that size gives the same file as writing the whole table at once.
    """

    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt = path, fmt
        self._parquet: pq.ParquetWriter | None = None
        self._csv: pacsv.CSVWriter | None = None

    def write(self, table: pa.Table) -> None:
        """Append *table* (the first part fixes the schema)."""
        if self.fmt == "parquet":
            if self._parquet is None:
                # Dictionary pages for coded, date and money columns; statistics for dates only
                # (the string statistics cost more to compute than they save a reader here).
                dictionary = [
                    f.name
                    for f in table.schema
                    if pa.types.is_dictionary(f.type)
                    or pa.types.is_date(f.type)
                    or pa.types.is_decimal(f.type)
                ]
                dates = [f.name for f in table.schema if pa.types.is_date(f.type)]
                self._parquet = pq.ParquetWriter(
                    self.path,
                    table.schema,
                    compression="snappy",
                    store_schema=False,
                    use_dictionary=dictionary,
                    write_statistics=dates or False,
                )
            self._parquet.write_table(table, row_group_size=ROW_GROUP)
            return
        plain = pa.table(
            [
                col.cast(pa.string())
                if pa.types.is_dictionary(col.type) or pa.types.is_string_view(col.type)
                else col
                for col in table.columns
            ],
            names=table.column_names,
        )
        if self._csv is None:
            self._csv = pacsv.CSVWriter(
                self.path,
                plain.schema,
                write_options=pacsv.WriteOptions(include_header=True, quoting_style="needed"),
            )
        self._csv.write_table(plain)

    def close(self) -> None:
        """Finish the file."""
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
