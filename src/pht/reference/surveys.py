"""Patient-survey instruments (PROM/PREM) as reference data: questions, options, scoring.

An instrument is one TOML file in the format documented in docs/surveys.md. The project ships
only instruments whose licence allows it (``pht/reference/data/surveys/``: WHO-5 and pht's own
patient-experience questions); a licence holder defines any other (EQ-5D, PAM, FHI's PasOpp
questions) in ``$PHT_HOME/surveys/*.toml`` in the same format, and the project ships none of
their text. Every file is checked on reading; an error names the file and the field.

Scoring: each ``[[score]]`` makes one number (a ``survey_responses`` item) from its questions:
``sum`` needs every question answered, ``mean`` at least half of them; a reverse item counts
as ``min + max - value`` of its option values; ``multiply`` scales the result (WHO-5: ×4).
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pht.core.errors import ReferenceDataError
from pht.core.labels import EffectGoal
from pht.core.settings import get_settings

LANGUAGES = ("nb", "nn", "en")
Texts = dict[str, str]


def text_in(texts: Texts, lang: str) -> str:
    """*texts* in *lang*, else bokmål, else the first there is."""
    return texts.get(lang) or texts.get("nb") or next(iter(texts.values()), "")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OptionSet(_Model):
    """Answer options: the value stored and the label per language, in display order."""

    values: list[float]
    nb: list[str]
    nn: list[str] | None = None
    en: list[str] | None = None

    @model_validator(mode="after")
    def _same_length(self) -> OptionSet:
        for lang in LANGUAGES:
            labels = getattr(self, lang)
            if labels is not None and len(labels) != len(self.values):
                raise ValueError(f"{lang}: {len(labels)} labels for {len(self.values)} values")
        if len(set(self.values)) != len(self.values):
            raise ValueError("option values repeat")
        return self

    def labels(self, lang: str) -> list[str]:
        """Labels in *lang* (bokmål when the set has none in it)."""
        return getattr(self, lang) or self.nb

    @property
    def low(self) -> float:
        return min(self.values)

    @property
    def high(self) -> float:
        return max(self.values)


class Question(_Model):
    """One question: its text per language, its option set, whether it is reversed."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,19}$")
    options: str
    nb: str
    nn: str | None = None
    en: str | None = None
    reverse: bool = False

    def text(self, lang: str) -> str:
        return getattr(self, lang) or self.nb


class Group(_Model):
    """Questions shown together on one screen."""

    id: str
    title: Texts
    questions: list[Question] = Field(min_length=1)


class Score(_Model):
    """One scored result (a ``survey_responses`` item)."""

    item: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: Texts
    method: Literal["sum", "mean"]
    questions: list[str] = Field(min_length=1)
    multiply: float = 1.0
    min: float
    max: float
    better: Literal["higher", "lower"]
    goal: EffectGoal | None = None
    indicator: str | None = None
    need_at_or_below: float | None = None
    need_at_or_above: float | None = None
    need_reason: Texts | None = None


class Meta(_Model):
    """Who made the instrument, which version, under what licence, what it feeds."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,19}$")
    version: str
    languages: list[Literal["nb", "nn", "en"]]
    title: Texts
    intro: Texts = Field(default_factory=dict)
    source: str
    source_url: str = ""
    licence: str
    licence_status: Literal["confirmed", "derived", "assumed"]
    text_status: Literal["confirmed", "derived", "assumed"]
    goal: EffectGoal
    indicator: str


class Instrument(_Model):
    """A whole instrument file."""

    instrument: Meta
    options: dict[str, OptionSet]
    group: list[Group] = Field(min_length=1)
    score: list[Score] = Field(min_length=1)
    origin: str = ""  # "shipped" or the file a licence holder gave

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        seen: set[str] = set()
        for g in self.group:
            for q in g.questions:
                if q.id in seen:
                    raise ValueError(f"question {q.id} appears twice")
                seen.add(q.id)
                if q.options not in self.options:
                    raise ValueError(f"question {q.id}: unknown option set {q.options!r}")
        for s in self.score:
            missing = [q for q in s.questions if q not in seen]
            if missing:
                raise ValueError(f"score {s.item}: unknown questions {', '.join(missing)}")
        if len({s.item for s in self.score}) != len(self.score):
            raise ValueError("two scores have the same item")
        return self

    # -- reading -----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.instrument.id

    def title(self, lang: str) -> str:
        return text_in(self.instrument.title, lang)

    def questions(self) -> list[Question]:
        return [q for g in self.group for q in g.questions]

    def question(self, qid: str) -> Question:
        return next(q for q in self.questions() if q.id == qid)

    def option_set(self, q: Question) -> OptionSet:
        return self.options[q.options]

    def choices(self, q: Question, lang: str) -> list[tuple[float, str]]:
        """(value, label) of question *q* in display order."""
        opts = self.option_set(q)
        return list(zip(opts.values, opts.labels(lang), strict=True))

    def valid_value(self, qid: str, value: float) -> bool:
        return value in self.option_set(self.question(qid)).values

    # -- scoring -----------------------------------------------------------------------------

    def item_value(self, q: Question, value: float) -> float:
        """The value a question contributes to a score (reversed when it is a reverse item)."""
        opts = self.option_set(q)
        return opts.low + opts.high - value if q.reverse else value

    def scores(self, answers: dict[str, float | None]) -> dict[str, float | None]:
        """Every score of *answers* (question id → value; None or absent = not answered)."""
        out: dict[str, float | None] = {}
        for s in self.score:
            got = [
                self.item_value(self.question(qid), float(v))
                for qid in s.questions
                if (v := answers.get(qid)) is not None
            ]
            if s.method == "sum":
                raw = sum(got) if len(got) == len(s.questions) else None
            else:
                raw = sum(got) / len(got) if got and 2 * len(got) >= len(s.questions) else None
            out[s.item] = None if raw is None else round(raw * s.multiply, 4)
        return out

    def needs(self, scores: dict[str, float | None], lang: str = "nb") -> list[str]:
        """Reasons to act that *scores* signal (e.g. "WHO-5 28 eller lavere")."""
        reasons = []
        for s in self.score:
            v = scores.get(s.item)
            if v is None or s.need_reason is None:
                continue
            low = s.need_at_or_below is not None and v <= s.need_at_or_below
            high = s.need_at_or_above is not None and v >= s.need_at_or_above
            if low or high:
                reasons.append(text_in(s.need_reason, lang))
        return reasons


def parse_instrument(text: str, *, where: str, origin: str = "") -> Instrument:
    """One instrument from TOML *text*; an error names *where* and the field."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ReferenceDataError(str(err), where=where) from None
    data["origin"] = origin or where
    try:
        return Instrument.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ReferenceDataError(f"{loc}: {first['msg']}", where=where) from None


def _shipped() -> list[Instrument]:
    folder = resources.files("pht.reference") / "data" / "surveys"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            where = f"pht/reference/data/surveys/{entry.name}"
            out.append(
                parse_instrument(entry.read_text(encoding="utf-8"), where=where, origin="shipped")
            )
    return out


def local_folder() -> Path:
    """Where a licence holder puts instrument files: ``$PHT_HOME/surveys``."""
    return get_settings().home / "surveys"


@cache
def _load(folder: str) -> dict[str, Instrument]:
    out: dict[str, Instrument] = {}
    found = _shipped()
    path = Path(folder)
    if path.is_dir():
        for file in sorted(path.glob("*.toml")):
            found.append(parse_instrument(file.read_text(encoding="utf-8"), where=str(file)))
    for ins in found:
        if ins.id in out:
            raise ReferenceDataError(
                f"instrument {ins.id!r} is defined twice ({out[ins.id].origin})", where=ins.origin
            )
        out[ins.id] = ins
    return out


def instruments() -> dict[str, Instrument]:
    """Every instrument: the shipped ones and the licence holder's, by id."""
    return _load(str(local_folder()))


def instrument(instrument_id: str) -> Instrument:
    """The instrument *instrument_id*; a clear error for an unknown one."""
    found = instruments()
    if instrument_id not in found:
        raise ReferenceDataError(
            f"unknown survey instrument {instrument_id!r}; known: {', '.join(found)}"
        )
    return found[instrument_id]


def reload() -> None:
    """Forget the cached instruments (after a licence holder adds a file)."""
    _load.cache_clear()
