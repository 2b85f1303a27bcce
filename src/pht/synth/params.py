"""The generator's parameters, read from ``pht/reference/data/synth/`` (never literals in code)."""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from pht.core.errors import ReferenceDataError
from pht.core.labels import CONDITIONS
from pht.reference.files import data_text, read_toml

__all__ = [
    "CONDITIONS",
    "MunicipalityRow",
    "SynthParams",
    "load_params",
]

PARAMS_FILE = "synth/synth.toml"
MUNICIPALITIES_FILE = "synth/municipalities_2024.csv"
COMPARISON_FILE = "synth/pilot_comparison.toml"


@dataclass(frozen=True, slots=True)
class MunicipalityRow:
    """One municipality of the national list (2024 numbers)."""

    code: str
    name: str
    population: int
    centrality: int


@dataclass(frozen=True, slots=True)
class SynthParams:
    """Everything the generator reads from reference data."""

    raw: dict[str, Any]
    municipalities: tuple[MunicipalityRow, ...]
    comparison: tuple[dict[str, Any], ...]

    def section(self, name: str) -> dict[str, Any]:
        """A top-level section of synth.toml."""
        try:
            value = self.raw[name]
        except KeyError:
            raise ReferenceDataError(f"section [{name}] is missing", where=PARAMS_FILE) from None
        if not isinstance(value, dict):
            raise ReferenceDataError(f"[{name}] is not a table", where=PARAMS_FILE)
        return value

    def array(self, section: str, key: str) -> npt.NDArray[np.float64]:
        """A numeric list of a section as a float array."""
        sec = self.section(section)
        if key not in sec:
            raise ReferenceDataError(f"[{section}] has no {key!r}", where=PARAMS_FILE)
        return np.asarray(sec[key], dtype=np.float64)

    def value(self, section: str, key: str) -> float:
        """A number of a section."""
        sec = self.section(section)
        if key not in sec:
            raise ReferenceDataError(f"[{section}] has no {key!r}", where=PARAMS_FILE)
        return float(sec[key])

    def condition(self, name: str) -> dict[str, Any]:
        """The parameters of one condition."""
        return dict(self.section("morbidity")["conditions"][name])

    def effect(self, name: str) -> float:
        """A planted effect size."""
        return self.value("effects", name)

    def with_effects(self, profile: str) -> SynthParams:
        """These parameters with the planted effects of *profile*: "published" (the default,
        ``[effects]``) or a name of ``[effects_profiles]`` (e.g. "power")."""
        if profile in ("published", "default"):
            return self
        profiles = self.raw.get("effects_profiles", {})
        if profile not in profiles:
            choices = ", ".join(["published", *sorted(profiles)])
            raise ReferenceDataError(
                f"no effects profile {profile!r}; choose {choices}", where=PARAMS_FILE
            )
        effects = {**self.section("effects"), **profiles[profile]}
        return dataclasses.replace(self, raw={**self.raw, "effects": effects})

    def municipality(self, code: str) -> MunicipalityRow:
        """The national row of municipality *code*."""
        for m in self.municipalities:
            if m.code == code:
                return m
        raise ReferenceDataError(f"municipality {code} is not listed", where=MUNICIPALITIES_FILE)

    def sources(self) -> set[str]:
        """Every source key the generator's files cite."""
        keys: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    if k == "sources" and isinstance(v, list):
                        keys.update(str(s) for s in v)
                    else:
                        walk(v)

        walk(self.raw)
        keys.update(str(s) for s in read_toml(COMPARISON_FILE).get("sources", []))
        for line in csv.DictReader(data_text(MUNICIPALITIES_FILE).splitlines()):
            keys.add(line["source"])
        return keys


def _check(params: SynthParams) -> None:
    morbidity = params.section("morbidity")
    bands = morbidity["age_band_lower"]
    conditions = morbidity.get("conditions", {})
    missing = [c for c in CONDITIONS if c not in conditions]
    if missing:
        raise ReferenceDataError(f"conditions missing: {', '.join(missing)}", where=PARAMS_FILE)
    for name in CONDITIONS:
        c = conditions[name]
        for sex in ("female", "male"):
            values = c[sex]
            if len(values) != len(bands) or not all(0.0 <= v < 1.0 for v in values):
                raise ReferenceDataError(
                    f"{name}.{sex}: need {len(bands)} shares between 0 and 1", where=PARAMS_FILE
                )
        if len(c["icpc2"]) != len(c["icpc2_share"]) or abs(sum(c["icpc2_share"]) - 1) > 1e-9:
            raise ReferenceDataError(f"{name}: icpc2 shares must add up to 1", where=PARAMS_FILE)
        if c.get("status") not in ("C", "D", "U", "A") or not c.get("sources"):
            raise ReferenceDataError(f"{name}: status and sources required", where=PARAMS_FILE)
    season = params.section("use").get("season_factor", [])
    if len(season) != 4 or abs(sum(season) / 4 - 1.0) > 1e-6:
        raise ReferenceDataError("use.season_factor: four quarters with mean 1", where=PARAMS_FILE)
    follow_up = params.section("use").get("follow_up", {}).get("per_year", {})
    if sorted(follow_up) != sorted(CONDITIONS) or min(follow_up.values()) < 0:
        raise ReferenceDataError(
            "use.follow_up.per_year: a rate (>= 0) for every condition", where=PARAMS_FILE
        )
    codes = [m.code for m in params.municipalities]
    if len(set(codes)) != len(codes):
        raise ReferenceDataError("municipality numbers repeat", where=MUNICIPALITIES_FILE)
    for m in params.municipalities:
        if len(m.code) != 4 or not m.code.isdigit() or not 1 <= m.centrality <= 6:
            raise ReferenceDataError(f"bad row for {m.code}", where=MUNICIPALITIES_FILE)


@cache
def load_params() -> SynthParams:
    """The generator's parameters, checked."""
    raw = read_toml(PARAMS_FILE)
    rows = []
    for line, row in enumerate(csv.DictReader(data_text(MUNICIPALITIES_FILE).splitlines()), 2):
        try:
            rows.append(
                MunicipalityRow(
                    code=row["code"],
                    name=row["name"],
                    population=int(row["population"]),
                    centrality=int(row["centrality"]),
                )
            )
        except (KeyError, ValueError) as err:
            raise ReferenceDataError(
                f"bad row: {err}", where=f"{MUNICIPALITIES_FILE}:{line}"
            ) from None
    comparison = tuple(dict(c) for c in read_toml(COMPARISON_FILE).get("comparison", []))
    params = SynthParams(raw=raw, municipalities=tuple(rows), comparison=comparison)
    _check(params)
    return params
