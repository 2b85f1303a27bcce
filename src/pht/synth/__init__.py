"""Synthetic registry data: realistic Norwegian list populations with a planted team effect.

``generate(scenario, years, seed, out)`` writes every table of the extract format
(docs/data-format.md) into *out*, plus ``person_names`` (names for the app), ``manifest.json``
(the planted effects and the assumptions) and ``truth/`` (ground truth for checking analyses).
The same arguments give byte-identical files. The model and every assumption:
docs/synthetic-data.md; parameters: ``pht/reference/data/synth/``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pht.core.errors import PhtError
from pht.reference.files import data_text
from pht.synth.ids import extract_tag, family_names, given_names, synthetic_person_ids
from pht.synth.params import CONDITIONS, PARAMS_FILE, SynthParams, load_params
from pht.synth.plan import ScenarioError, build_plan
from pht.synth.simulate import NoProgress, Progress, simulate
from pht.synth.write import Sliced, TableWriter, iter_tables, truth_tables, write_table

__all__ = [
    "CONDITIONS",
    "EFFECT_INDICATORS",
    "GENERATOR_VERSION",
    "Progress",
    "ScenarioError",
    "SynthResult",
    "generate",
    "parse_years",
]

#: Changes whenever the same arguments give other data (callers that cache extracts compare it).
GENERATOR_VERSION = "2026-12-02 calibrated, teams continue, tagged ids"

FORMATS = ("parquet", "csv")
# Files of the extract format plus person_names.
TABLE_FILES = (
    "municipalities",
    "practices",
    "practitioners",
    "persons",
    "person_names",
    "list_memberships",
    "contacts",
    "admissions",
    "municipal_services",
    "survey_responses",
)

# Indicator name -> (parameter(s) in [effects], unit, population, definition). contracts.md.
EFFECT_INDICATORS: dict[str, tuple[tuple[str, ...], str, str, str]] = {
    "nurse_consultations": (
        ("nurse_office", "nurse_home", "nurse_phone", "nurse_simple"),
        "contacts per target-group patient per quarter",
        "target-group patients listed at pilot practices, quarters inside pht_start..pht_end",
        "contacts with tariff pht01-pht04 (H2ad, H11ad, H2ae, H1g from 2026), or grant-model "
        "codes (074*, 086*, 070, 071a) with a nurse's HPR number as practitioner_id",
    ),
    "annual_checks": (
        ("annual_checks",),
        "annual checks per patient with diabetes or COPD per quarter",
        "patients with diabetes or COPD listed at pilot practices, quarters inside the scheme",
        "office contact with tariffs '2ad 2cd' (or '074b' in grant-model practices in the "
        "scheme) and diagnosis T89/T90 or R95",
    ),
    "home_visits": (
        ("nurse_home",),
        "home visits per target-group patient per quarter",
        "target-group patients listed at pilot practices, quarters inside the scheme",
        "contacts with tariff 11ad, 11ak, pht02, 086a or 086b",
    ),
    "acsc_admissions": (
        ("acsc_admissions",),
        "acute ACSC admissions per target-group patient per quarter",
        "target-group patients listed at pilot practices, quarters inside the scheme",
        "acute admissions whose main_diagnosis is in the ACSC list (acsc_codes)",
    ),
    "patient_activation": (
        ("patient_activation",),
        "PAM score points (0-100)",
        "survey respondents (target-group patients) of pilot practices, quarters inside the scheme",
        "mean value of instrument 'pam', item 'score'",
    ),
    "coordination": (
        ("coordination",),
        "PREM points (1-5)",
        "survey respondents (target-group patients) of pilot practices, quarters inside the scheme",
        "mean value of instrument 'prem', item 'coordination'",
    ),
    "satisfaction": (
        ("satisfaction",),
        "PREM points (1-5)",
        "survey respondents (target-group patients) of pilot practices, quarters inside the scheme",
        "mean value of instrument 'prem', item 'satisfaction'",
    ),
    "eq5d_index": (
        ("eq5d_index",),
        "EQ-5D index points",
        "survey respondents (target-group patients) of pilot practices, quarters inside the scheme",
        "mean value of instrument 'eq5d5l', item 'index'",
    ),
    "gp_consultations": (
        ("gp_consultations",),
        "GP consultations per listed person per quarter",
        "persons listed at pilot practices, quarters inside the scheme",
        "contacts by a GP (not a nurse) in setting office, video, home or e-consultation "
        "(tariffs 2ad, 2ak, 2ae, 11ad, 074a, 074b, 074d, 074ae, 086a by a GP)",
    ),
    "acsc_diabetes": (
        ("acsc_type2_diabetes",),
        "acute E11 admissions per type 2 diabetes patient per quarter",
        "patients with type 2 diabetes (their GP codes it T90; truth/conditions icpc2) listed at "
        "pilot practices, quarters inside the scheme",
        "acute admissions whose main_diagnosis starts with E11 (the diabetes ACSC admissions of "
        "type 2 diabetes patients)",
    ),
    "list_length": (
        ("list_length",),
        "listed persons per GP",
        "GP lists of pilot practices, quarters inside the scheme",
        "persons on the list on the quarter's first day (the team changes no list)",
    ),
    "out_of_hours": (
        ("out_of_hours",),
        "out-of-hours contacts per listed person per quarter",
        "persons listed at pilot practices, quarters inside the scheme",
        "contacts with setting out_of_hours",
    ),
}

ASSUMPTIONS = [
    "Target-group patient: a listed person with at least one of the 13 conditions, or frailty "
    "moderate/severe (eFI >= 0.24), at the start of the quarter (truth/person_quarters).",
    "Effects are planted while a pilot practice is in the scheme (from pht_start, whole "
    "quarters, to the extract's end: the teams went on after the pilot's first end date); "
    "comparison practices and the time before get none.",
    "The team's nurses follow up a fixed share of the target group ([team] followed_share); "
    "nurse contacts per target-group patient are the planted effect.",
    "acsc_admissions' true effect is the mean planted change per treated target-group "
    "patient-quarter of this extract (from the type 2 diabetes effect, and the general one "
    "where a profile plants it). acsc_diabetes' is the mean planted change in expected E11 "
    "admissions per treated type 2 diabetes patient-quarter (the type 2 effect plus the general "
    "one's share of their diabetes admissions): the indicator's population and numerator.",
    "List changes, moves and GP turnover take effect on the first day of a quarter.",
    "Out-of-hours contacts are attributed to the person's own GP and practice (no separate "
    "legevakt units in the extract).",
    "Nurse tariffs pht01-pht05 are placeholder codes (status A); grant-model practices use the "
    "activity codes 074*/086*/070/071a from pht_start on.",
    "Annual checks are GP consultations; their extra number under the team is taken from other GP "
    "consultations, so GP consultations per person are unchanged (null effect).",
    "Co-payments and refunds are plausible amounts indexed from 2022 (status U/A); the financing "
    "room recomputes them from its rate files. No co-payment ceiling (frikort) is applied.",
    "persons.municipality_code is the municipality of residence on the person's last day in the "
    "extract; persons who moved out of the scenario's area have no death_date.",
    "Population figures of municipalities are approximate (status U, SSB table 07459).",
    "Every figure and its source: pht/reference/data/synth/ and docs/synthetic-data.md.",
]


@dataclass(frozen=True, slots=True)
class SynthResult:
    """What :func:`generate` wrote."""

    out: Path
    scenario: str
    years: tuple[int, int]
    seed: int
    rows: dict[str, int]
    manifest: dict[str, Any]
    files: tuple[Path, ...]


def parse_years(text: str) -> tuple[int, int]:
    """``"2015-2023"`` or ``"2021"`` -> (first, last)."""
    parts = text.strip().split("-")
    try:
        if len(parts) == 1:
            y = int(parts[0])
            return (y, y)
        if len(parts) == 2:
            return (int(parts[0]), int(parts[1]))
    except ValueError:
        pass
    raise ScenarioError(f"years {text!r}: write them as 2015-2023 or 2021")


def _version() -> str:
    try:
        return metadata.version("pht")
    except metadata.PackageNotFoundError:
        return "unknown"


def _manifest(
    params: SynthParams,
    profile: str,
    diagnostics: dict[str, float],
    scenario: str,
    years: tuple[int, int],
    seed: int,
    persons: int | None,
    rows: dict[str, int],
    acsc_codes: list[str],
) -> dict[str, Any]:
    effects = []
    for name, (keys, unit, population, definition) in EFFECT_INDICATORS.items():
        value = sum(params.effect(k) for k in keys)
        if name == "acsc_admissions" and diagnostics.get("acsc_treated_quarters"):
            value = diagnostics["acsc_planted_sum"] / diagnostics["acsc_treated_quarters"]
        elif name == "acsc_diabetes" and diagnostics.get("acsc_diabetes_patient_quarters"):
            value = (
                diagnostics["acsc_diabetes_planted_sum"]
                / diagnostics["acsc_diabetes_patient_quarters"]
            )
        item: dict[str, Any] = {
            "indicator": name,
            "true_effect": round(value, 10),
            "scale": "additive",
            "unit": unit,
            "population": population,
            "definition": definition,
        }
        if name == "acsc_admissions":
            item["codes"] = sorted(set(acsc_codes))
        effects.append(item)
    return {
        "scenario": scenario,
        "seed": seed,
        "years": [years[0], years[1]],
        "persons_requested": persons,
        "effects_profile": profile,
        "generated_with": f"pht {_version()} (pht.synth)",
        "parameters_sha256": hashlib.sha256(data_text(PARAMS_FILE).encode()).hexdigest(),
        "effects": effects,
        "assumptions": ASSUMPTIONS,
        "tables": rows,
        "diagnostics": {k: round(float(v), 6) for k, v in sorted(diagnostics.items())},
    }


def generate(
    scenario: str,
    years: tuple[int, int] | str,
    seed: int,
    out: Path | str,
    persons: int | None = None,
    fmt: str = "parquet",
    *,
    progress: Progress | None = None,
    person_quarters: bool | None = None,
    effects: str = "published",
) -> SynthResult:
    """Generate *scenario* ("pilot", "national" or "panel") for *years* and write it into *out*.

    *persons* scales the listed population (default: the scenario's real size). *person_quarters*
    writes truth/person_quarters (default: for the pilot scenario only). *effects* names the
    planted effects' profile: "published" (the published findings, default) or "power" (larger).
    "panel" is the small stylised pilot of :mod:`pht.synth.panel` for checking estimators (36
    practices, *persons*
    spread over them, 14,400 by default).
    """
    # Arrow imports pandas on its first array from numpy (a quarter of a second): done in the
    # background while the scenario is simulated instead of when the tables are built.
    threading.Thread(target=pa.array, args=(np.zeros(1),), daemon=True).start()
    return _generate(scenario, years, seed, out, persons, fmt, progress, person_quarters, effects)


def _generate(
    scenario: str,
    years: tuple[int, int] | str,
    seed: int,
    out: Path | str,
    persons: int | None,
    fmt: str,
    progress: Progress | None,
    person_quarters: bool | None,
    effects: str = "published",
) -> SynthResult:
    if fmt not in FORMATS:
        raise ScenarioError(f"format {fmt!r}: choose parquet or csv")
    span = parse_years(years) if isinstance(years, str) else years
    out_dir = Path(out)
    try:
        (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise PhtError(f"cannot create output folder {out_dir}: {err.strerror}") from None
    prog: Progress = progress or NoProgress()
    if scenario == "panel":
        if effects not in ("published", "default"):
            raise ScenarioError("the panel scenario has its own effects (panel.DEFAULT_EFFECTS)")
        return _generate_panel(span, seed, out_dir, persons, fmt, prog)
    params = load_params().with_effects(effects)
    rng = np.random.default_rng(seed)
    prog.stage("planning practices and lists", 1)
    plan = build_plan(scenario, span, params, rng, persons)
    prog.advance()
    keep_pq = scenario == "pilot" if person_quarters is None else person_quarters
    sim = simulate(plan, params, rng, prog, keep_pq)
    prog.stage("making identifiers and names", 1)
    P = sim.persons
    tag = extract_tag(scenario, seed, span, persons, effects)
    ids = synthetic_person_ids(P["birth"], P["male"], rng, tag)
    given = given_names(P["male"], rng)
    family = family_names(ids.size, rng)
    prog.advance()
    fr = params.section("frailty")
    prog.stage("building and writing tables", len(TABLE_FILES) + 2 + int(keep_pq))
    written: dict[str, tuple[Path, int]] = {}
    truth_written: dict[str, Path] = {}
    # Each table is written in another thread while the next is built (Arrow and Parquet release
    # the interpreter lock): both cores work, and every file is the same as when written in turn.
    # Large tables are built and written one row group at a time, in a thread of their own.
    with ThreadPoolExecutor(max_workers=2) as pool:
        pending: list[tuple[Future[None], int]] = []  # (write, tables it finishes)
        streams: list[ThreadPoolExecutor] = []

        def submit(table: pa.Table | Sliced, path: Path, file_fmt: str) -> None:
            if isinstance(table, Sliced):
                stream = ThreadPoolExecutor(max_workers=1)
                streams.append(stream)
                writer = TableWriter(path, file_fmt)
                for part in table.parts():
                    pending.append((stream.submit(writer.write, part), 0))
                pending.append((stream.submit(writer.close), 1))
            else:
                pending.append((pool.submit(write_table, table, path, file_fmt), 1))

        try:
            for name, table in iter_tables(plan, sim, ids, given, family, tag):
                path = out_dir / f"{name}.{fmt}"
                submit(table, path, fmt)
                written[name] = (path, table.num_rows)
                del table
            truth = truth_tables(plan, sim, ids, fr["band_limits"], fr["bands"])
            for name in list(truth):
                path = out_dir / "truth" / f"{name}.parquet"
                submit(truth.pop(name), path, "parquet")
                truth_written[name] = path
            del truth
            for done, finished in pending:
                done.result()
                if finished:
                    prog.advance(finished)
        finally:
            for stream in streams:
                stream.shutdown()
    files = [written[name][0] for name in TABLE_FILES] + list(truth_written.values())
    rows = {name: written[name][1] for name in TABLE_FILES}
    stale = out_dir / "truth" / "person_quarters.parquet"
    if not keep_pq and stale.exists():
        stale.unlink()
    manifest = _manifest(
        params, effects, sim.realised, scenario, span, seed, persons, rows, sim.acsc_codes
    )
    manifest["id_prefix"] = tag
    manifest_path = out_dir / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    files.append(manifest_path)
    return SynthResult(
        out=out_dir,
        scenario=scenario,
        years=span,
        seed=seed,
        rows=rows,
        manifest=manifest,
        files=tuple(files),
    )


def _generate_panel(
    span: tuple[int, int],
    seed: int,
    out_dir: Path,
    persons: int | None,
    fmt: str,
    prog: Progress,
) -> SynthResult:
    """The ``panel`` scenario written like the others: tables, truth/ and manifest.json."""
    from pht.synth.panel import simulate_extract
    from pht.synth.write import table_from_pandas

    if span[1] < span[0] + 1:
        raise ScenarioError("the panel scenario needs at least two years")
    per_practice = max(10, (persons or 14_400) // 36)
    prog.stage("simulating the panel", 1)
    ex = simulate_extract(
        seed, persons_per_practice=per_practice, first_year=span[0], years=span[1] - span[0] + 1
    )
    prog.advance()
    prog.stage("writing tables", len(ex.tables))
    files: list[Path] = []
    rows: dict[str, int] = {}
    for name, df in ex.tables.items():
        path = out_dir / f"{name}.{fmt}"
        write_table(table_from_pandas(name, df), path, fmt)
        files.append(path)
        rows[name] = len(df)
        prog.advance()
    truth = ex.write_truth(out_dir / "truth")
    files += [truth / "conditions.parquet", truth / "persons.parquet"]
    manifest = {
        **ex.manifest(),
        "years": [span[0], span[1]],
        "persons_requested": persons,
        "id_prefix": extract_tag("panel", seed, span),
        "tables": rows,
    }
    manifest_path = out_dir / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    files.append(manifest_path)
    return SynthResult(
        out=out_dir,
        scenario="panel",
        years=span,
        seed=seed,
        rows=rows,
        manifest=manifest,
        files=tuple(files),
    )
