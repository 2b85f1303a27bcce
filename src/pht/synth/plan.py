"""The frame of a scenario: municipalities, practices, GP lists and the team's staff."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from pht.core.errors import PhtError
from pht.reference import load_pilot
from pht.synth.ids import family_names, hpr_numbers, orgnrs
from pht.synth.params import SynthParams

__all__ = ["EPOCH", "Plan", "PracticePlan", "StaffRow", "build_plan", "day", "to_date"]

EPOCH = dt.date(1970, 1, 1)
OSLO = "0301"
OSLO_DISTRICTS = tuple(f"0301{n:02d}" for n in range(1, 16))


def day(value: dt.date) -> int:
    """Days since 1970-01-01."""
    return (value - EPOCH).days


def to_date(days: int) -> dt.date:
    """The date *days* after 1970-01-01."""
    return EPOCH + dt.timedelta(days=int(days))


class ScenarioError(PhtError):
    """A scenario that cannot be built (bad years, scale or name)."""


@dataclass(frozen=True, slots=True)
class PracticePlan:
    """One GP practice of the scenario."""

    practice_id: str
    name: str
    municipality: int  # index into Plan.municipality_codes
    district: str | None
    financing_model: str | None  # "fee", "grant" or None outside the scheme
    pht_start: int | None  # days since 1970
    pht_end: int | None
    gps: int
    nurse_fte: float
    pilot: bool


@dataclass(frozen=True, slots=True)
class StaffRow:
    """A nurse, secretary or psychologist (GPs are made by the simulation, with turnover)."""

    hpr: str
    practice: int
    role: str
    fte: float
    start: int
    end: int | None


@dataclass
class Plan:
    """Everything fixed before persons are simulated."""

    scenario: str
    years: tuple[int, int]
    quarter_start: npt.NDArray[np.int64]
    quarter_end: npt.NDArray[np.int64]  # inclusive
    municipality_codes: list[str]
    municipality_names: list[str]
    municipality_population: npt.NDArray[np.int64]
    municipality_centrality: npt.NDArray[np.int64]
    practices: list[PracticePlan]
    list_practice: npt.NDArray[np.int64]  # lists sorted by municipality
    list_size: npt.NDArray[np.int64]
    staff: list[StaffRow] = field(default_factory=list)
    hpr_pool: npt.NDArray[np.str_] = field(default_factory=lambda: np.array([], dtype="U9"))
    # Days of each whole quarter (the last quarter may end early: see build_plan).
    quarter_days: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.array([], dtype=np.int64)
    )
    # The extract's years reach past today: nothing may be dated after this day (today).
    no_later_than: int | None = None

    @property
    def first_day(self) -> int:
        """First day of the scenario."""
        return int(self.quarter_start[0])

    @property
    def last_day(self) -> int:
        """Last day of the scenario."""
        return int(self.quarter_end[-1])

    @property
    def list_municipality(self) -> npt.NDArray[np.int64]:
        """Municipality of each list."""
        muni = np.array([p.municipality for p in self.practices], dtype=np.int64)
        return muni[self.list_practice]

    def in_scheme(self, q: int) -> npt.NDArray[np.bool_]:
        """Per practice: True when quarter *q* lies wholly inside its time in the scheme."""
        qs, qe = int(self.quarter_start[q]), int(self.quarter_end[q])
        return np.array(
            [
                p.pht_start is not None
                and p.pht_start <= qs
                and (p.pht_end is None or qe <= p.pht_end)
                for p in self.practices
            ]
        )


def _quarters(years: tuple[int, int]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    first, last = years
    starts = []
    for y in range(first, last + 2):
        for m in (1, 4, 7, 10):
            starts.append(day(dt.date(y, m, 1)))
    s = np.array(starts, dtype=np.int64)
    return s[:-4], s[1:-3] - 1


def _sizes(total: int, params: SynthParams, rng: np.random.Generator) -> list[int]:
    """Split *total* GPs into practices of realistic sizes (solo to large)."""
    sizes = np.asarray(params.section("practices")["practice_size"], dtype=np.int64)
    weights = params.array("practices", "practice_size_weight")
    weights = weights / weights.sum()
    out: list[int] = []
    left = total
    while left > 0:
        size = int(rng.choice(sizes, p=weights))
        size = min(size, left)
        out.append(size)
        left -= size
    return out


def build_plan(
    scenario: str,
    years: tuple[int, int],
    params: SynthParams,
    rng: np.random.Generator,
    persons: int | None,
) -> Plan:
    """Municipalities, practices, lists and staff of *scenario*."""
    if scenario not in ("pilot", "national"):
        raise ScenarioError(f"unknown scenario {scenario!r}; choose pilot or national")
    if not (1990 <= years[0] <= years[1] <= 2030):
        raise ScenarioError(f"years {years[0]}-{years[1]} are outside 1990-2030 or reversed")
    if persons is not None and persons < 100:
        raise ScenarioError(f"--persons {persons} is too small; give at least 100")
    qs, qe = _quarters(years)
    nominal = qe - qs + 1
    # Nothing is generated after today: an extract whose years reach past it ends yesterday (the
    # registry refuses dates in the future; the changes of a quarter's end, such as a new GP for
    # a list, take effect the day after it: today), and its last quarter is a part of one.
    last = day(dt.date.today()) - 1
    keep = qs <= last
    if not keep.any():
        raise ScenarioError(f"years {years[0]}-{years[1]} lie wholly in the future")
    cut = bool(qe[-1] > last)
    qs, qe, nominal = qs[keep], np.minimum(qe[keep], last), nominal[keep]
    pilot = load_pilot()
    prac_cfg = params.section("practices")
    list_mean = float(prac_cfg["list_length_mean"])
    list_sd = float(prac_cfg["list_length_sd"])

    codes: list[str] = []
    names: list[str] = []
    pops: list[int] = []
    cent: list[int] = []
    index: dict[str, int] = {}

    def municipality(code: str, name: str, population: int, centrality: int) -> int:
        if code not in index:
            index[code] = len(codes)
            codes.append(code)
            names.append(name)
            pops.append(population)
            cent.append(centrality)
        return index[code]

    def national_row(code: str) -> tuple[str, int, int]:
        m = params.municipality(code)
        return m.name, m.population, m.centrality

    practices: list[PracticePlan] = []
    list_lengths: list[npt.NDArray[np.float64]] = []
    # The teams went on after the pilot's first end date (the trial ran to June 2024, and the
    # practices could keep the model afterwards, U HDIR-FINAL): the pilot practices stay in the
    # scheme, with their nurses, to the extract's last day.
    for p in pilot.practices:
        pm = pilot.municipality(p.municipality)
        try:
            centrality = params.municipality(p.municipality).centrality
        except PhtError:
            centrality = 3
        if scenario == "pilot":
            mi = municipality(p.municipality, pm.name, pm.population, centrality)
        else:
            mi = municipality(p.municipality, *national_row(p.municipality))
        practices.append(
            PracticePlan(
                practice_id=p.practice_id,
                name=p.name,
                municipality=mi,
                district=p.district,
                financing_model=p.financing_model.value,
                pht_start=day(p.joined),
                pht_end=None,
                gps=p.gps,
                nurse_fte=float(p.nurse_fte),
                pilot=True,
            )
        )
        list_lengths.append(np.full(p.gps, p.listed / p.gps))

    # Practices outside the scheme.
    plan_rows: list[tuple[str, str | None, int, float]] = []  # municipality, district, gps, length
    if scenario == "pilot":
        for c in params.comparison:
            plan_rows.append((str(c["municipality"]), c.get("district"), int(c["gps"]), list_mean))
    else:
        per_gp = float(prac_cfg["persons_per_gp_national"])
        pilot_gps: dict[str, int] = {}
        for p in pilot.practices:
            pilot_gps[p.municipality] = pilot_gps.get(p.municipality, 0) + p.gps
        for m in params.municipalities:
            total = max(1, round(m.population / per_gp))
            others = total - pilot_gps.get(m.code, 0)
            listed_others = m.population - sum(
                p.listed for p in pilot.practices if p.municipality == m.code
            )
            if others <= 0 or listed_others <= 0:
                continue
            if m.code == OSLO:
                share = others // len(OSLO_DISTRICTS)
                extra = others - share * len(OSLO_DISTRICTS)
                for k, d in enumerate(OSLO_DISTRICTS):
                    g = share + (1 if k < extra else 0)
                    plan_rows.append((m.code, d, g, listed_others / others))
            else:
                plan_rows.append((m.code, None, others, listed_others / others))
    n_other = sum(len(_sizes(g, params, np.random.default_rng(0))) for _, _, g, _ in plan_rows)
    ids = iter(orgnrs(n_other * 2 + 10, str(prac_cfg["orgnr_prefix"])))
    surnames = family_names(n_other * 2 + 10, rng)
    k = 0
    for code, district, gps, length in plan_rows:
        mi = municipality(code, *national_row(code))
        for j, size in enumerate(_sizes(gps, params, rng)):
            suffix = "legesenter" if j == 0 else "legekontor"
            base = names[mi] if j == 0 else str(surnames[k])
            practices.append(
                PracticePlan(
                    practice_id=next(ids),
                    name=f"{base} {suffix}",
                    municipality=mi,
                    district=district,
                    financing_model=None,
                    pht_start=None,
                    pht_end=None,
                    gps=size,
                    nurse_fte=0.0,
                    pilot=False,
                )
            )
            k += 1
            noise = rng.normal(0.0, list_sd / list_mean, size)
            list_lengths.append(np.clip(length * (1.0 + noise), 150.0, 2500.0))
    if scenario == "national":
        # Every municipality appears, also the few too small for a GP of their own.
        for m in params.municipalities:
            municipality(m.code, m.name, m.population, m.centrality)

    list_practice = np.concatenate(
        [np.full(p.gps, i, dtype=np.int64) for i, p in enumerate(practices)]
    )
    sizes = np.concatenate(list_lengths)
    if persons is not None:
        sizes = sizes * (persons / sizes.sum())
    list_size = np.maximum(1, np.round(sizes)).astype(np.int64)
    muni_of_practice = np.array([p.municipality for p in practices])
    order = np.argsort(muni_of_practice[list_practice], kind="stable")
    plan = Plan(
        scenario=scenario,
        years=years,
        quarter_start=qs,
        quarter_end=qe,
        quarter_days=nominal,
        no_later_than=last + 1 if cut else None,
        municipality_codes=codes,
        municipality_names=names,
        municipality_population=np.array(pops, dtype=np.int64),
        municipality_centrality=np.array(cent, dtype=np.int64),
        practices=practices,
        list_practice=list_practice[order],
        list_size=list_size[order],
    )
    _staff(plan, params, rng)
    return plan


def _staff(plan: Plan, params: SynthParams, rng: np.random.Generator) -> None:
    """Nurses and psychologists of the pilot practices, secretaries of every practice."""
    cfg = params.section("practices")
    per_nurse = float(cfg["nurse_fte_per_nurse"])
    psychologists = set(cfg["psychologist_practices"])
    sec_per_gp = float(cfg["secretary_fte_per_gp"])
    rows: list[tuple[int, str, float, int, int | None]] = []
    for i, p in enumerate(plan.practices):
        if p.pilot and p.pht_start is not None:
            n = max(1, int(np.ceil(p.nurse_fte / per_nurse - 1e-9)))
            # equal shares to the hundredth, the last one taking the rest: they sum to the
            # pilot's FTE exactly (2.8 over three nurses is 0.93 + 0.93 + 0.94, not 2.79)
            share = round(p.nurse_fte / n, 2)
            for k in range(n):
                fte = share if k < n - 1 else round(p.nurse_fte - share * (n - 1), 2)
                rows.append((i, "nurse", fte, p.pht_start, p.pht_end))
            if p.practice_id in psychologists:
                rows.append((i, "psychologist", 1.0, p.pht_start, p.pht_end))
        fte = sec_per_gp * p.gps
        n_sec = max(1, int(np.ceil(fte - 1e-9)))
        for _ in range(n_sec):
            start = plan.first_day - int(rng.integers(30, 15 * 365))
            rows.append((i, "secretary", round(min(1.0, fte / n_sec), 2), start, None))
    gp_lists = plan.list_practice.size
    # Pool: staff first, then GPs (initial holders and successors drawn by the simulation).
    pool = hpr_numbers(len(rows) + gp_lists * 3 + 100, int(cfg["hpr_first"]), rng)
    plan.staff = [
        StaffRow(hpr=str(pool[k]), practice=i, role=role, fte=fte, start=start, end=end)
        for k, (i, role, fte, start, end) in enumerate(rows)
    ]
    plan.hpr_pool = pool[len(rows) :]
