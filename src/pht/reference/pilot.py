"""The 2018 pilot as reference data (``data/pilot_2018.toml``).

Loading checks the file against itself: the practices must add up to the published totals
(17 practices, 112 GPs, 12 fee and 5 grant practices, 13 practices with 85 GPs at start).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache

from pydantic import BaseModel, ConfigDict, field_validator

from pht.core.errors import NotFound, ReferenceDataError
from pht.core.identifiers import validate_orgnr
from pht.core.labels import FinancingModel, SizeClass
from pht.core.periods import Period
from pht.core.scheme import size_class
from pht.reference.files import read_toml, validated
from pht.reference.scheme import load_scheme_rules

__all__ = ["Pilot", "PilotDistrict", "PilotMunicipality", "PilotPractice", "load_pilot"]

_FILE = "pilot_2018.toml"


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    start: dt.date
    last_day: dt.date
    municipalities: int
    practices: int
    practices_at_start: int
    gps: int
    gps_at_start: int
    nurse_fte: Decimal
    new_secretary_fte: Decimal
    listed: int
    fee_practices: int
    grant_practices: int
    sources: list[str]


class PilotMunicipality(BaseModel):
    """A municipality in the pilot; ``code`` is its number as of 2024."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    name: str
    name_at_start: str | None = None
    population: int
    population_status: str

    @property
    def size_class(self) -> SizeClass:
        """Size class from the population, with the scheme's thresholds."""
        return size_class(self.population, load_scheme_rules().size_thresholds)


class PilotDistrict(BaseModel):
    """An Oslo district (bydel) in the pilot."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    name: str
    municipality: str
    population: int
    population_status: str


class PilotPractice(BaseModel):
    """A GP practice in the pilot."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    practice_id: str
    name: str
    municipality: str
    district: str | None = None
    joined: dt.date
    financing_model: FinancingModel
    gps: int
    nurse_fte: Decimal
    listed: int

    @field_validator("practice_id")
    @classmethod
    def _orgnr(cls, value: str) -> str:
        reason = validate_orgnr(value)
        if reason:
            raise ValueError(f"organisasjonsnummer {value}: {reason}")
        return value


class _PilotFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pilot: _Frame
    municipality: list[PilotMunicipality]
    district: list[PilotDistrict]
    practice: list[PilotPractice]


class Pilot(BaseModel):
    """The 2018 pilot: its frame, municipalities, districts and practices."""

    model_config = ConfigDict(frozen=True)
    name: str
    start: dt.date
    last_day: dt.date
    published: _Frame
    municipalities: tuple[PilotMunicipality, ...]
    districts: tuple[PilotDistrict, ...]
    practices: tuple[PilotPractice, ...]

    @property
    def period(self) -> Period:
        """The pilot's period, half-open: [2018-04-01, 2023-04-01)."""
        return Period.from_last_day(self.start, self.last_day)

    def practice_period(self, practice: PilotPractice) -> Period:
        """The period a practice was in the pilot: from joining to the pilot's end."""
        return Period(practice.joined, self.period.end)

    def municipality(self, code: str) -> PilotMunicipality:
        """The pilot municipality with number *code*."""
        for m in self.municipalities:
            if m.code == code:
                return m
        raise NotFound(f"no pilot municipality with number {code!r}")

    def district(self, code: str) -> PilotDistrict:
        """The pilot district with number *code*."""
        for d in self.districts:
            if d.code == code:
                return d
        raise NotFound(f"no pilot district with number {code!r}")

    def practice(self, practice_id: str) -> PilotPractice:
        """The pilot practice with organisasjonsnummer *practice_id*."""
        for p in self.practices:
            if p.practice_id == practice_id:
                return p
        raise NotFound(f"no pilot practice with organisasjonsnummer {practice_id!r}")

    def practices_on(self, day: dt.date) -> list[PilotPractice]:
        """Practices in the pilot on *day*."""
        return [p for p in self.practices if day in self.practice_period(p)]

    @property
    def gps(self) -> int:
        """GPs in all practices."""
        return sum(p.gps for p in self.practices)

    @property
    def nurse_fte(self) -> Decimal:
        """Nurse FTEs in all practices."""
        return sum((p.nurse_fte for p in self.practices), Decimal(0))

    @property
    def listed(self) -> int:
        """Listed inhabitants in all practices."""
        return sum(p.listed for p in self.practices)

    def practices_by_model(self) -> dict[FinancingModel, int]:
        """Number of practices per financing model."""
        return {m: sum(1 for p in self.practices if p.financing_model is m) for m in FinancingModel}


def _check(pilot: Pilot) -> None:
    pub = pilot.published
    at_start = [p for p in pilot.practices if p.joined == pilot.start]
    by_model = pilot.practices_by_model()
    checks = [
        ("municipalities", len(pilot.municipalities), pub.municipalities),
        ("practices", len(pilot.practices), pub.practices),
        ("practices at start", len(at_start), pub.practices_at_start),
        ("GPs", pilot.gps, pub.gps),
        ("GPs at start", sum(p.gps for p in at_start), pub.gps_at_start),
        ("nurse FTEs", pilot.nurse_fte, pub.nurse_fte),
        ("listed", pilot.listed, pub.listed),
        ("fee-model practices", by_model[FinancingModel.FEE], pub.fee_practices),
        ("grant-model practices", by_model[FinancingModel.GRANT], pub.grant_practices),
    ]
    for what, got, published in checks:
        if got != published:
            raise ReferenceDataError(
                f"the practices add up to {got} {what}, the published figure is {published}",
                where=_FILE,
            )
    codes = {m.code for m in pilot.municipalities}
    districts = {d.code for d in pilot.districts}
    for p in pilot.practices:
        if p.municipality not in codes:
            raise ReferenceDataError(
                f"practice {p.name} names unknown municipality {p.municipality}", where=_FILE
            )
        if p.district is not None and p.district not in districts:
            raise ReferenceDataError(
                f"practice {p.name} names unknown district {p.district}", where=_FILE
            )
        if not pilot.start <= p.joined <= pilot.last_day:
            raise ReferenceDataError(f"practice {p.name} joins outside the pilot", where=_FILE)
    ids = [p.practice_id for p in pilot.practices]
    if len(set(ids)) != len(ids):
        raise ReferenceDataError("practice ids are not unique", where=_FILE)


@cache
def load_pilot() -> Pilot:
    """The 2018 pilot, checked against its published totals."""
    raw = validated(_PilotFile, read_toml(_FILE), where=_FILE)
    pilot = Pilot(
        name=raw.pilot.name,
        start=raw.pilot.start,
        last_day=raw.pilot.last_day,
        published=raw.pilot,
        municipalities=tuple(raw.municipality),
        districts=tuple(raw.district),
        practices=tuple(raw.practice),
    )
    _check(pilot)
    return pilot
