"""Value sets, population rules and risk/need models of the population room, as data files.

Files (in ``pht/reference/data``):

- ``value_sets/conditions.toml``: each condition's target group, labels and minimum records;
- ``value_sets/condition_codes.csv``: ICPC-2, ICD-10 and SNOMED CT codes per condition (prefix
  matching: ``E11`` matches ``E11`` and ``E119``), each with status and source;
- ``value_sets/frailty_deficits.csv``: the eFI-style deficits mapped to ICPC-2, ICD-10, municipal
  services and tariffs;
- ``value_sets/rules.toml``: frailty bands, frail elderly, weak demanders, annual checks;
- ``value_sets/worklist.toml``: priority points, risk bands and the reason texts (bokmål, English);
- ``models/factors.csv``: every model factor with its labels;
- ``models/<name>-v<N>.toml``: versioned model coefficients with the data period they came from.

Everything loads from a directory (default: the package's data) so that a changed file changes
results without code changes: ``load_value_sets(Path("my/value_sets"))``.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from pht.core.errors import ReferenceDataError
from pht.core.labels import CONDITIONS, TargetGroup
from pht.reference.files import validated

__all__ = [
    "CODE_SYSTEMS",
    "CONDITIONS_OF_TRUTH",
    "AnnualCheckRules",
    "CodeEntry",
    "Condition",
    "Deficit",
    "FrailtyRules",
    "Model",
    "PopulationRules",
    "ValueSets",
    "WorklistRules",
    "default_data_dir",
    "load_model",
    "load_value_sets",
    "model_versions",
    "write_model",
]

CODE_SYSTEMS = ("ICPC-2", "ICD-10", "SNOMED CT")
DEFICIT_SYSTEMS = ("ICPC-2", "ICD-10", "SNOMED CT", "service", "tariff")
CONDITIONS_OF_TRUTH = CONDITIONS
STATUSES = ("C", "D", "U", "A")
BANDS = ("fit", "mild", "moderate", "severe")
RISK_BANDS = ("low", "medium", "high", "very_high")


def default_data_dir() -> Path:
    """The package's reference-data directory."""
    return Path(str(resources.files("pht.reference") / "data"))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReferenceDataError("reference-data file is missing", where=str(path)) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as err:
        raise ReferenceDataError(str(err), where=str(path)) from None


def _read_csv(path: Path) -> list[tuple[str, dict[str, str]]]:
    rows = csv.DictReader(_read_text(path).splitlines())
    return [(f"{path.name}:{n}", r) for n, r in enumerate(rows, start=2)]


# --- value sets ----------------------------------------------------------------------------------


class Condition(BaseModel):
    """A condition: its target group and its labels."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    target_group: TargetGroup
    label_nb: str
    label_en: str
    min_records: int = 1

    def label(self, language: str = "nb") -> str:
        """The label in *language* ("nb" or "en")."""
        return self.label_nb if language == "nb" else self.label_en


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """One code of a value set: matches every recorded code that starts with ``code``."""

    key: str  # condition or deficit
    code_system: str
    code: str
    title: str
    status: str
    source: str


@dataclass(frozen=True, slots=True)
class Deficit:
    """One deficit of the frailty index."""

    name: str
    label_nb: str
    label_en: str


class FrailtyRules(BaseModel):
    """eFI band cut-offs and the look-back for coded deficits."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    mild: float
    moderate: float
    severe: float
    lookback_months: int
    status: str
    source: str


class FrailElderlyRule(BaseModel):
    """Age and frailty bands that make a person frail elderly."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min_age: int
    bands: tuple[Literal["fit", "mild", "moderate", "severe"], ...]
    status: str
    source: str


class WeakDemanderRule(BaseModel):
    """High expected need and few GP contacts."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min_need_weight: float
    window_months: int
    max_gp_contacts: int
    max_share_of_expected: float = 0.0
    status: str
    source: str


class AnnualCheckRules(BaseModel):
    """What an annual check is and when the next one is due."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    settings: tuple[str, ...]
    patterns: tuple[tuple[tuple[str, ...], ...], ...]
    due_after_months: int
    overdue_after_months: int
    conditions: tuple[str, ...]
    status: str
    source: str


class PopulationRules(BaseModel):
    """The rules in ``value_sets/rules.toml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    frailty: FrailtyRules
    frail_elderly: FrailElderlyRule
    weak_demanders: WeakDemanderRule
    annual_checks: AnnualCheckRules


class _RiskBands(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    medium: float
    high: float
    very_high: float


class _Points(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    target_group: float
    annual_check_due: float
    annual_check_overdue: float
    frailty_mild: float
    frailty_moderate: float
    frailty_severe: float
    emergency_admission: float
    risk_per_percent: float
    weak_demander: float
    no_gp_contact: float


class _Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    no_gp_contact_months: int
    emergency_admission_months: int
    max_counted_admissions: int
    high_risk_band: Literal["medium", "high", "very_high"]


class _Texts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    condition: str
    annual_check_overdue: str
    annual_check_never: str
    annual_check_due: str
    frailty_mild: str
    frailty_moderate: str
    frailty_severe: str
    emergency_admissions_one: str
    emergency_admissions: str
    no_gp_contact: str
    no_gp_contact_ever: str
    high_risk: str
    weak_demander: str


class WorklistRules(BaseModel):
    """Priority points, risk bands and reason texts of the worklist."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    status: str
    source: str
    risk_bands: _RiskBands
    points: _Points
    thresholds: _Thresholds
    texts: dict[Literal["nb", "en"], _Texts]

    def text(self, language: str, key: str) -> str:
        """The reason text *key* in *language* ("nb" or "en")."""
        if language not in self.texts:
            raise ReferenceDataError(f"no reason texts in language {language!r}; use nb or en")
        return str(getattr(self.texts[language], key))


@dataclass(frozen=True, slots=True)
class ValueSets:
    """Everything the population room reads from ``value_sets/`` (and the factor labels)."""

    directory: Path
    conditions: dict[str, Condition]
    condition_codes: tuple[CodeEntry, ...]
    deficits: dict[str, Deficit]
    deficit_codes: tuple[CodeEntry, ...]
    rules: PopulationRules
    worklist: WorklistRules
    factor_labels: dict[str, tuple[str, str]] = field(default_factory=dict)

    def codes_of(self, condition: str, code_system: str | None = None) -> list[str]:
        """The codes of *condition* (in one code system, or all)."""
        return [
            e.code
            for e in self.condition_codes
            if e.key == condition and (code_system is None or e.code_system == code_system)
        ]

    def factor_label(self, factor: str, language: str = "nb") -> str:
        """A model factor's label in *language*; conditions take their condition's label."""
        if factor.startswith("cond_") and factor[5:] in self.conditions:
            return self.conditions[factor[5:]].label(language)
        nb, en = self.factor_labels.get(factor, (factor, factor))
        return nb if language == "nb" else en


_CODE = re.compile(r"^[A-Za-z0-9_]+$")


def _code_entries(
    path: Path, *, key_column: str, known: set[str], systems: tuple[str, ...]
) -> list[CodeEntry]:
    out: list[CodeEntry] = []
    seen: set[tuple[str, str, str]] = set()
    for where, row in _read_csv(path):
        key, system, code = row.get(key_column, ""), row.get("code_system", ""), row.get("code", "")
        if key not in known:
            raise ReferenceDataError(f"unknown {key_column} {key!r}", where=where)
        if system not in systems:
            raise ReferenceDataError(
                f"unknown code system {system!r}; use one of {', '.join(systems)}", where=where
            )
        if not _CODE.match(code):
            raise ReferenceDataError(
                f"code {code!r} is not a code (write ICD-10 without the dot)", where=where
            )
        if row.get("status") not in STATUSES or not row.get("source"):
            raise ReferenceDataError(
                "every code needs a status (C/D/U/A) and a source", where=where
            )
        if (key, system, code) in seen:
            raise ReferenceDataError(f"{key} {system} {code} listed twice", where=where)
        seen.add((key, system, code))
        out.append(CodeEntry(key, system, code, row.get("title", ""), row["status"], row["source"]))
    return out


def load_value_sets(directory: Path | None = None) -> ValueSets:
    """Load the value sets from *directory* (a ``value_sets`` folder; default: the package's).

    Factor labels come from ``../models/factors.csv`` beside it when present.
    """
    if directory is None:
        return _default_value_sets()
    return _load_value_sets(Path(directory))


@cache
def _default_value_sets() -> ValueSets:
    return _load_value_sets(default_data_dir() / "value_sets")


def _load_value_sets(directory: Path) -> ValueSets:
    raw = _read_toml(directory / "conditions.toml")
    conditions = {
        name: validated(Condition, {"name": name, **body}, where=f"conditions.toml [{name}]")
        for name, body in raw.items()
    }
    codes = _code_entries(
        directory / "condition_codes.csv",
        key_column="condition",
        known=set(conditions),
        systems=CODE_SYSTEMS,
    )
    for name in conditions:
        if not any(e.key == name for e in codes):
            raise ReferenceDataError(f"condition {name} has no codes", where="condition_codes.csv")
    deficit_rows = _read_csv(directory / "frailty_deficits.csv")
    deficits: dict[str, Deficit] = {}
    for where, row in deficit_rows:
        d = Deficit(row.get("deficit", ""), row.get("label_nb", ""), row.get("label_en", ""))
        if not d.name or deficits.get(d.name, d) != d:
            raise ReferenceDataError("deficit name or labels differ between rows", where=where)
        deficits[d.name] = d
    deficit_codes = _code_entries(
        directory / "frailty_deficits.csv",
        key_column="deficit",
        known=set(deficits),
        systems=DEFICIT_SYSTEMS,
    )
    rules = validated(PopulationRules, _read_toml(directory / "rules.toml"), where="rules.toml")
    fr = rules.frailty
    if not 0 < fr.mild < fr.moderate < fr.severe < 1:
        raise ReferenceDataError("frailty cut-offs must rise within 0–1", where="rules.toml")
    unknown = set(rules.annual_checks.conditions) - set(conditions)
    if unknown:
        raise ReferenceDataError(
            f"annual checks for unknown conditions {sorted(unknown)}", where="rules.toml"
        )
    worklist = validated(
        WorklistRules, _read_toml(directory / "worklist.toml"), where="worklist.toml"
    )
    labels: dict[str, tuple[str, str]] = {}
    factors = directory.parent / "models" / "factors.csv"
    if factors.exists():
        for _, row in _read_csv(factors):
            labels[row["factor"]] = (row["label_nb"], row["label_en"])
    return ValueSets(
        directory=directory,
        conditions=conditions,
        condition_codes=tuple(codes),
        deficits=deficits,
        deficit_codes=tuple(deficit_codes),
        rules=rules,
        worklist=worklist,
        factor_labels=labels,
    )


# --- models --------------------------------------------------------------------------------------


class DataPeriod(BaseModel):
    """The data a model's coefficients were estimated from."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    features_before: dt.date
    outcome_from: dt.date
    outcome_until: dt.date
    validated_features_before: dt.date | None = None
    validated_outcome_until: dt.date | None = None


class Model(BaseModel):
    """A transparent model: an intercept plus one coefficient per binary factor.

    ``kind`` "logistic": probability = 1 / (1 + exp(-(intercept + Σ coef))).
    ``kind`` "poisson": expected count = exp(intercept + Σ coef); the need weight is the expected
    count divided by ``normaliser`` (the mean expected count of the estimation population), so the
    average person weighs 1.0.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    version: int
    kind: Literal["logistic", "poisson"]
    outcome: str
    intercept: float
    normaliser: float = 1.0
    coefficients: dict[str, float]
    data_period: DataPeriod
    estimated_from: str
    estimated_at: str
    status: Literal["C", "D", "U", "A"]
    source: str
    validation: dict[str, Any] = {}


_MODEL_FILE = re.compile(r"^(?P<name>[a-z_]+)-v(?P<version>\d+)\.toml$")


def _models_dir(directory: Path | None) -> Path:
    return directory if directory is not None else default_data_dir() / "models"


def model_versions(name: str, directory: Path | None = None) -> list[int]:
    """The versions of model *name* on file, oldest first."""
    found = []
    for p in _models_dir(directory).glob(f"{name}-v*.toml"):
        m = _MODEL_FILE.match(p.name)
        if m and m["name"] == name:
            found.append(int(m["version"]))
    return sorted(found)


def load_model(name: str, version: int | None = None, directory: Path | None = None) -> Model:
    """Model *name* at *version* (default: the newest on file)."""
    versions = model_versions(name, directory)
    if not versions:
        raise ReferenceDataError(f"no model {name!r} on file", where=str(_models_dir(directory)))
    chosen = versions[-1] if version is None else version
    if chosen not in versions:
        raise ReferenceDataError(
            f"model {name!r} has no version {chosen}; on file: {versions}",
            where=str(_models_dir(directory)),
        )
    path = _models_dir(directory) / f"{name}-v{chosen}.toml"
    model = validated(Model, _read_toml(path), where=path.name)
    if model.name != name or model.version != chosen:
        raise ReferenceDataError("name or version differs from the file name", where=path.name)
    return model


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _toml_table(header: str, values: dict[str, Any]) -> list[str]:
    lines = [f"\n[{header}]"]
    nested = []
    for k, v in values.items():
        if v is None:
            continue
        if isinstance(v, dict):
            nested.append((k, v))
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    for k, v in nested:
        lines.extend(_toml_table(f"{header}.{k}", v))
    return lines


def write_model(model: Model, directory: Path | None = None, *, comment: str = "") -> Path:
    """Write *model* as ``<name>-v<version>.toml``; refuses to overwrite a version on file."""
    folder = _models_dir(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{model.name}-v{model.version}.toml"
    if path.exists():
        raise ReferenceDataError(
            "model version already on file; versions are never changed", where=str(path)
        )
    data = model.model_dump()
    lines = [f"# {line}" for line in comment.splitlines()] if comment else []
    for key in (
        "name",
        "version",
        "kind",
        "outcome",
        "intercept",
        "normaliser",
        "estimated_from",
        "estimated_at",
        "status",
        "source",
    ):
        lines.append(f"{key} = {_toml_value(data[key])}")
    lines.extend(_toml_table("data_period", data["data_period"]))
    lines.extend(_toml_table("coefficients", data["coefficients"]))
    lines.extend(_toml_table("validation", data["validation"]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    load_model(model.name, model.version, folder)  # what was written reads back
    return path
