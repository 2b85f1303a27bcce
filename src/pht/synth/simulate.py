"""The simulation: persons, lists, morbidity and use of services, one quarter at a time.

Every step works on whole arrays of persons (numpy); the only Python loop runs over quarters.
List changes, moves and GP turnover take effect on the first day of a quarter; births and deaths
happen on any day. See docs/synthetic-data.md for the model and its assumptions.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from pht.synth.params import CONDITIONS, SynthParams
from pht.synth.plan import Plan

__all__ = ["Progress", "Simulation", "simulate"]

NEVER = np.int32(2**31 - 1)
MAX_AGE = 130
BLOCK = 1 << 18  # persons per block where a step works on blocks
YEAR = 365.25
NC = len(CONDITIONS)
C = {name: i for i, name in enumerate(CONDITIONS)}
SERVICES = (
    "home_nursing",
    "practical_help",
    "safety_alarm",
    "day_care",
    "short_stay",
    "long_term_stay",
)
SETTINGS = ("office", "home", "video", "phone", "message", "out_of_hours")
S = {name: i for i, name in enumerate(SETTINGS)}

# Contact kinds: (name, setting, tariffs on normaltariff/fee model, tariffs on the grant model,
# provider). Grant codes are used by grant-model practices while they are in the scheme.
KINDS: tuple[tuple[str, str, str, str, str], ...] = (
    ("office", "office", "2ad", "074a", "gp"),
    ("office_long", "office", "2ad 2cd", "074b", "gp"),
    ("office_sample", "office", "2ad 701a", "074a 701a", "gp"),
    ("office_evening", "office", "2ak", "074d", "gp"),
    ("video", "video", "2ad", "074a", "gp"),
    ("e_consultation", "message", "2ae", "074ae", "gp"),
    ("home_visit", "home", "11ad", "086a", "gp"),
    ("simple_phone", "phone", "1bd", "070", "gp"),
    ("simple_message", "message", "1g", "071a", "gp"),
    ("simple_sample", "office", "1ad 701a", "070 701a", "gp"),
    ("other_agencies", "phone", "1f", "1f", "gp"),
    ("out_of_hours", "out_of_hours", "2ak", "2ak", "gp"),
    ("annual_check", "office", "2ad 2cd", "074b", "gp"),
    ("nurse_office", "office", "pht01", "074a", "nurse"),
    ("nurse_home", "home", "pht02", "086a", "nurse"),
    ("nurse_phone", "phone", "pht03", "074ae", "nurse"),
    ("nurse_simple", "message", "pht04", "070", "nurse"),
    # From 2026 a nurse's work in a fee-model practice is billed as delegated consultations
    # (the tariff's chapter H, reference/data/tariff_codes.csv) instead of pht01-pht04.
    ("nurse_office_delegated", "office", "H2ad", "074a", "nurse"),
    ("nurse_home_delegated", "home", "H11ad", "086a", "nurse"),
    ("nurse_phone_delegated", "message", "H2ae", "074ae", "nurse"),
    ("nurse_simple_delegated", "message", "H1g", "070", "nurse"),
)
K = {k[0]: i for i, k in enumerate(KINDS)}
# Kinds of contact at which the GP also codes the chronic conditions followed up (beside the main
# diagnosis). Long consultations are left out: their tariff equals the annual check's.
FOLLOW_UP_KINDS = tuple(
    K[k]
    for k in (
        "office",
        "office_sample",
        "office_evening",
        "video",
        "e_consultation",
        "home_visit",
        "annual_check",
    )
)
EXTRA_ICPC2 = ("A28",)  # nurse follow-up of a frail person without a listed condition


class Progress(Protocol):
    """What the generator reports while it works (the CLI shows it as progress bars)."""

    def stage(self, name: str, total: int) -> None:
        """A new stage with *total* steps begins."""

    def advance(self, steps: int = 1) -> None:
        """*steps* steps of the current stage are done."""


class NoProgress:
    """Reports nothing."""

    def stage(self, name: str, total: int) -> None:
        """Ignore."""

    def advance(self, steps: int = 1) -> None:
        """Ignore."""


class _Grow:
    """Column arrays that grow as persons are added.

    Capacity is reserved without being touched: rows get their values (or the column's fill
    value) when they are added, so memory is only paged in for persons that exist.
    """

    def __init__(self, spec: dict[str, tuple[np.dtype, tuple[int, ...], object]], cap: int):
        self.spec = spec
        self.n = 0
        self.cols: dict[str, np.ndarray] = {
            k: np.empty((cap, *shape), dtype=dt) for k, (dt, shape, fill) in spec.items()
        }

    def add(self, **values: np.ndarray) -> npt.NDArray[np.int64]:
        count = len(next(iter(values.values())))
        need = self.n + count
        cap = next(iter(self.cols.values())).shape[0]
        if need > cap:
            new_cap = max(need, int(cap * 1.5))
            for k, (dt, shape, _) in self.spec.items():
                grown = np.empty((new_cap, *shape), dtype=dt)
                grown[: self.n] = self.cols[k][: self.n]
                self.cols[k] = grown
        for k, (_, _, fill) in self.spec.items():
            self.cols[k][self.n : need] = values.get(k, fill)
        ids = np.arange(self.n, need, dtype=np.int64)
        self.n = need
        return ids

    def __getitem__(self, key: str) -> np.ndarray:
        return self.cols[key][: self.n]


class _Chunks:
    """Per-quarter output arrays, appended to growing columns by a background thread.

    The copies (and casts to the columns' *dtypes*) release the interpreter lock, so they run on
    the second core while the simulation goes on; the result is the same as concatenating the
    parts at the end. Arrays given to :meth:`add` must not be changed afterwards.
    """

    def __init__(
        self, worker: ThreadPoolExecutor, *names: str, dtypes: dict[str, type] | None = None
    ):
        self.worker = worker
        self.names = names
        self.dtypes = {k: np.dtype(t) for k, t in (dtypes or {}).items()}
        self.cols: dict[str, np.ndarray] = {}
        self.size = dict.fromkeys(names, 0)
        self.pending: list[Future[None]] = []

    def add(self, **values: np.ndarray) -> None:
        self.pending.append(self.worker.submit(self._append, values))

    def add_later(self, make: Callable[[], dict[str, np.ndarray]]) -> None:
        """Add the columns that *make* computes (in the background thread)."""
        self.pending.append(self.worker.submit(lambda: self._append(make())))

    def _append(self, values: dict[str, np.ndarray]) -> None:
        for k, value in values.items():
            v = np.asarray(value)
            n = self.size[k]
            need = n + v.shape[0]
            col = self.cols.get(k)
            dtype = self.dtypes.get(k, v.dtype if col is None else np.result_type(col, v))
            if col is None or need > col.shape[0] or dtype != col.dtype:
                # Room for a few more parts: reserved, paged in only as it is filled.
                cap = max(need, 8 * v.shape[0], 0 if col is None else 2 * col.shape[0], 1024)
                grown = np.empty((cap, *v.shape[1:]), dtype=dtype)
                if col is not None:
                    grown[:n] = col[:n]
                self.cols[k] = col = grown
            col[n:need] = v
            self.size[k] = need

    def done(self) -> dict[str, np.ndarray]:
        for future in self.pending:
            future.result()
        self.pending.clear()
        return {
            k: (self.cols[k][: self.size[k]] if k in self.cols else np.array([], dtype=np.int64))
            for k in self.names
        }


@dataclass
class Simulation:
    """What the simulation produced, as arrays of indices (turned into tables by the writer)."""

    persons: dict[str, np.ndarray]
    gps: dict[str, np.ndarray]
    memberships: dict[str, np.ndarray]
    contacts: dict[str, np.ndarray]
    admissions: dict[str, np.ndarray]
    services: dict[str, np.ndarray]
    surveys: dict[str, np.ndarray]
    person_quarters: dict[str, np.ndarray] | None
    icpc2_vocab: list[str]
    icd10_vocab: list[str]
    tariff_vocab: list[str]
    kind_of_combo: npt.NDArray[np.int64]
    copay_table: npt.NDArray[np.int64]  # [year - first year, combo]
    refund_table: npt.NDArray[np.int64]
    acsc_codes: list[str]
    nurse_hpr: list[str]
    nurse_practice: npt.NDArray[np.int64]
    # (code_draw of persons, condition index) -> index into icpc2_vocab of the code each
    # person's GP uses for the condition (fixed per person)
    person_code: Callable[[np.ndarray, np.ndarray], np.ndarray]
    realised: dict[str, float] = field(default_factory=dict)


def _curve(lower: list[float], values: list[float], grid: np.ndarray) -> np.ndarray:
    """Prevalence by age on *grid*: interpolated between band midpoints, zero at birth, then made
    non-decreasing (a condition, once diagnosed, stays in the record)."""
    lo = np.asarray(lower, dtype=float)
    hi = np.r_[lo[1:], lo[-1] + 20.0]
    mids = (lo + hi) / 2.0
    x = np.r_[0.0, mids]
    y = np.r_[0.0 if values[0] < 0.02 else values[0], values]
    return np.maximum.accumulate(np.interp(grid, x, y))


def _pick_by_size(
    rng: np.random.Generator,
    cum: npt.NDArray[np.float64],
    first: npt.NDArray[np.int64],
    count: npt.NDArray[np.int64],
    own: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.int64]:
    """Lists drawn from the runs ``[first, first + count)`` with probability proportional to
    their size (``cum`` is the running total of the sizes, ``cum[0] == 0``), leaving out *own*
    where given (the list stays *own* when it is the only one of its run).

    People join lists in proportion to their size, as they leave them (deaths, moves, changes):
    list lengths then keep their spread instead of drifting to the mean, so a practice's list
    length does not trend by how far it starts from the average."""
    lo = cum[first]
    hi = cum[first + count]
    if own is None:
        u = lo + rng.random(first.size) * (hi - lo)
    else:
        own_lo = cum[own]
        width = cum[own + 1] - own_lo
        u = lo + rng.random(first.size) * (hi - lo - width)
        u = np.where(u >= own_lo, u + width, u)
    pick: npt.NDArray[np.int64] = np.clip(
        np.searchsorted(cum, u, side="right") - 1, first, first + count - 1
    ).astype(np.int64)
    if own is not None:
        pick = np.where(count > 1, pick, own).astype(np.int64)
    return pick


def simulate(
    plan: Plan,
    params: SynthParams,
    rng: np.random.Generator,
    progress: Progress,
    keep_person_quarters: bool,
) -> Simulation:
    """Run the scenario quarter by quarter."""
    return _Simulator(plan, params, rng, progress, keep_person_quarters).run()


class _Simulator:
    def __init__(
        self,
        plan: Plan,
        params: SynthParams,
        rng: np.random.Generator,
        progress: Progress,
        keep_pq: bool,
    ):
        self.plan, self.p, self.rng, self.progress, self.keep_pq = (
            plan,
            params,
            rng,
            progress,
            keep_pq,
        )
        self._prepare_parameters()

    # --- parameters -------------------------------------------------------------------------

    def _prepare_parameters(self) -> None:
        p = self.p
        morb = p.section("morbidity")
        self.grid = np.arange(0.0, 111.0, 0.1)
        self.curves = np.zeros((2, NC, self.grid.size))
        for ci, name in enumerate(CONDITIONS):
            cond = p.condition(name)
            for sex, key in ((0, "female"), (1, "male")):
                self.curves[sex, ci] = _curve(morb["age_band_lower"], cond[key], self.grid)
        self.loading = float(morb["latent_loading"])
        # Age bands by whole year of age (the bands' lower bounds are whole years): a look-up
        # instead of a search per person.
        years = np.arange(MAX_AGE + 1)

        def bands(lower: list[float]) -> np.ndarray:
            return np.searchsorted(np.asarray(lower), years, side="right") - 1

        self.use_band = bands(p.section("use")["age_band_lower"])
        self.adm_band = bands(p.section("admissions")["age_band_lower"])
        self.move_band = bands(p.section("demography")["move_age_lower"])
        # Probability of moving in a quarter, by band of move_age_lower.
        self.p_move = 1.0 - np.exp(-np.asarray(p.section("demography")["move_rate"]) / 4.0)
        self.both_curves = [np.r_[self.curves[0, ci], self.curves[1, ci] + 2.0] for ci in range(NC)]
        # ICPC-2 vocabulary: condition codes, acute codes, extra codes.
        acute = p.section("use")["acute_icpc2"]
        vocab: list[str] = []
        for name in CONDITIONS:
            for code in p.condition(name)["icpc2"]:
                if code not in vocab:
                    vocab.append(code)
        n_cond_codes = len(vocab)
        if n_cond_codes > 32:
            raise ValueError("at most 32 ICPC-2 codes of chronic conditions (a 32-bit mask)")
        for code in list(acute["codes"]) + list(EXTRA_ICPC2):
            if code not in vocab:
                vocab.append(code)
        self.icpc2_vocab = vocab
        self.follow_up = np.array(
            [float(p.section("use")["follow_up"]["per_year"][name]) for name in CONDITIONS]
        )
        self.cond_codes = []  # per condition: (code indices, cumulative shares)
        for name in CONDITIONS:
            cond = p.condition(name)
            self.cond_codes.append(
                (
                    np.array([vocab.index(c) for c in cond["icpc2"]]),
                    np.cumsum(cond["icpc2_share"]),
                )
            )
        width = max(c.size for c, _ in self.cond_codes)
        self.code_table = np.zeros((NC, width), dtype=np.int64)
        self.code_cum = np.full((NC, width), np.inf)
        self.code_count = np.zeros(NC, dtype=np.int64)
        for ci, (code_idx, code_cum) in enumerate(self.cond_codes):
            self.code_table[ci, : code_idx.size] = code_idx
            self.code_cum[ci, : code_cum.size] = code_cum
            self.code_count[ci] = code_idx.size
        self.acute_idx = np.array([vocab.index(c) for c in acute["codes"]])
        use = p.section("use")
        self.p_away = 1.0 - float(use["usual_provider_share"])
        self.away_in_practice = float(use["other_gp_in_practice"])
        self.consult_kind = np.zeros(len(KINDS), dtype=bool)
        for k in (
            "office",
            "office_long",
            "office_sample",
            "office_evening",
            "video",
            "home_visit",
        ):
            self.consult_kind[K[k]] = True
        self.consult_kind[K["e_consultation"]] = True
        self.consult_kind[K["annual_check"]] = True
        self.followed_share = float(p.value("team", "followed_share"))
        self.delegated_from = int(p.value("team", "delegated_tariffs_from_year"))
        # Type 2 diabetes: persons whose GP codes their diabetes T90 (the person's code draw).
        dm = p.condition("diabetes")
        self.type2_share = float(dm["icpc2_share"][dm["icpc2"].index("T90")])
        self.nurse_kind = np.zeros(len(KINDS), dtype=bool)
        self.nurse_kind[[i for i, k in enumerate(KINDS) if k[4] == "nurse"]] = True
        self.follow_up_kind = np.zeros(len(KINDS), dtype=bool)
        self.follow_up_kind[list(FOLLOW_UP_KINDS)] = True
        self.acute_cum = [
            np.cumsum(np.asarray(acute[g], float) / np.sum(acute[g]))
            for g in ("children", "adults", "old")
        ]
        self.acute_cum_all = np.concatenate([c + g for g, c in enumerate(self.acute_cum)])
        # ICD-10 vocabulary.
        adm = p.section("admissions")
        icd: list[str] = []

        def icd_index(code: str) -> int:
            if code not in icd:
                icd.append(code)
            return icd.index(code)

        self.cond_icd = [
            np.array([icd_index(c) for c in p.condition(n)["icd10"]]) for n in CONDITIONS
        ]
        self.acsc_rate = np.zeros(NC)
        self.acsc_codes_by_cond: list[np.ndarray] = [np.array([], dtype=np.int64)] * NC
        acsc_codes: list[str] = []
        for name, rate in adm["acsc_per_year"].items():
            self.acsc_rate[C[name]] = float(rate)
            codes = adm["acsc_icd10"][name]
            self.acsc_codes_by_cond[C[name]] = np.array([icd_index(c) for c in codes])
            acsc_codes.extend(codes)
        self.acsc_codes = acsc_codes
        dm_codes = adm["acsc_icd10"].get("diabetes", [])
        self.acsc_dm_type1 = np.array([icd_index(c) for c in dm_codes if c.startswith("E10")])
        self.acsc_dm_type2 = np.array([icd_index(c) for c in dm_codes if not c.startswith("E10")])
        self.other_acute = np.array([icd_index(c) for c in adm["other_acute_icd10"]])
        w = np.asarray(adm["other_acute_weight"], float)
        self.other_acute_cum = np.cumsum(w / w.sum())
        self.elective = np.array([icd_index(c) for c in adm["elective_icd10"]])
        w = np.asarray(adm["elective_weight"], float)
        self.elective_cum = np.cumsum(w / w.sum())
        self.icd10_vocab = icd
        # Tariff combinations: kind * 2 + grant.
        tariffs = []
        kind_of_combo = []
        for ki, (_, _, fee, grant, _) in enumerate(KINDS):
            tariffs.extend([fee, grant])
            kind_of_combo.extend([ki, ki])
        self.tariff_vocab = tariffs
        self.kind_of_combo = np.array(kind_of_combo)
        amounts = p.section("amounts")
        first, last = self.plan.years
        self.copay_table = np.zeros((last - first + 1, len(tariffs)), dtype=np.int64)
        self.refund_table = np.zeros_like(self.copay_table)
        for yi, year in enumerate(range(first, last + 1)):
            idx = float(amounts["year_index"].get(str(year), amounts["year_index"].get(year, 1.0)))
            for ti, combo in enumerate(tariffs):
                codes = combo.split()
                self.copay_table[yi, ti] = round(sum(amounts["copay"][c] for c in codes) * idx)
                self.refund_table[yi, ti] = round(sum(amounts["refund"][c] for c in codes) * idx)

    # --- persons ------------------------------------------------------------------------------

    def _new_persons(
        self, birth: np.ndarray, male: np.ndarray, muni: np.ndarray, entry: np.ndarray
    ) -> np.ndarray:
        rng, n = self.rng, birth.size
        z = rng.standard_normal(n)
        onset = np.empty((n, NC), dtype=np.int32)
        a = np.sqrt(self.loading)
        b = np.sqrt(1.0 - a * a)
        # In blocks of persons, so that the temporaries stay small (reused, in cache).
        for lo in range(0, n, BLOCK):
            hi = min(n, lo + BLOCK)
            az = a * z[lo:hi]
            sex = male[lo:hi].astype(np.int64)
            born = birth[lo:hi]
            # The draws of every condition in their order; the onsets that follow from them are
            # computed by two threads for large blocks (half of the conditions each).
            draws = [(rng.standard_normal(hi - lo), rng.random(hi - lo)) for _ in range(NC)]
            block = np.empty((NC, hi - lo), dtype=np.int32)
            job = partial(self._onsets, draws=draws, az=az, b=b, sex=sex, born=born, out=block)
            worker = getattr(self, "worker", None)
            if worker is not None and hi - lo >= 20_000:
                other = worker.submit(job, range(0, NC, 2))
                job(range(1, NC, 2))
                other.result()
            else:
                job(range(NC))
            onset[lo:hi] = block.T
        weak = rng.random(n) < self.p.value("target", "weak_demander_share")
        return self.persons.add(
            birth=birth,
            male=male,
            muni=muni,
            entry=entry,
            z=z.astype(np.float32),
            noise=rng.standard_normal(n).astype(np.float32),
            onset=onset,
            first_onset=onset.min(axis=1),
            weak=weak,
            code_draw=rng.random(n).astype(np.float32),
            team_draw=rng.random(n).astype(np.float32),
        )

    def _onsets(
        self,
        conditions: range,
        *,
        draws: list[tuple[np.ndarray, np.ndarray]],
        az: np.ndarray,
        b: float,
        sex: np.ndarray,
        born: np.ndarray,
        out: np.ndarray,
    ) -> None:
        """Onset days of *conditions* for a block of persons from their draws (latent liability
        *az* + *b* × normal, uniform for the day), into the rows of *out*."""
        g = self.grid.size
        offset = 2.0 * sex
        for ci in conditions:
            normal, uniform = draws[ci]
            # Both sexes' curves in one sorted array (the male curve offset by 2): one search.
            u = ndtr(az + b * normal)
            pos = np.searchsorted(self.both_curves[ci], u + offset, side="right") - sex * g
            ok = pos < g
            age = self.grid[np.minimum(pos, g - 1)] + uniform * 0.1
            d = born + np.round(age * YEAR).astype(np.int64)
            out[ci] = np.where(ok, np.minimum(d, NEVER - 1), NEVER)

    def _ages(self, count: int, centrality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ages (years) and sexes for *count* persons from the age pyramid, tilted by centrality."""
        pop = self.p.section("population")
        lower = np.asarray(pop["age_band_lower"], float)
        m = np.asarray(pop["male_thousands"], float)
        f = np.asarray(pop["female_thousands"], float)
        tilt = float(pop["centrality_age_tilt"])
        ages = np.empty(count)
        male = np.empty(count, dtype=bool)
        for c in np.unique(centrality):
            sel = np.flatnonzero(centrality == c)
            w = np.exp(tilt * (c - 3.5) * (lower + 2.5 - 40.0) / 40.0)
            cells = np.r_[f * w, m * w]
            cells = cells / cells.sum()
            pick = self.rng.choice(cells.size, size=sel.size, p=cells)
            band = pick % lower.size
            male[sel] = pick >= lower.size
            ages[sel] = lower[band] + self.rng.random(sel.size) * 5.0
        return ages, male

    # --- run ----------------------------------------------------------------------------------

    def run(self) -> Simulation:
        # A second thread computes the first population's onsets beside the main thread, and
        # fills the output columns while the quarters are simulated.
        with ThreadPoolExecutor(max_workers=1) as worker:
            self.worker: ThreadPoolExecutor | None = worker
            try:
                return self._run(worker)
            finally:
                self.worker = None

    def _run(self, worker: ThreadPoolExecutor) -> Simulation:
        plan, rng, _p = self.plan, self.rng, self.p
        n_lists = plan.list_practice.size
        first = plan.first_day
        self.persons = _Grow(
            {
                "birth": (np.dtype(np.int64), (), 0),
                "male": (np.dtype(bool), (), False),
                "muni": (np.dtype(np.int64), (), 0),
                "entry": (np.dtype(np.int64), (), 0),
                "last": (np.dtype(np.int64), (), -1),
                "death": (np.dtype(np.int64), (), -1),
                "z": (np.dtype(np.float32), (), 0.0),
                "noise": (np.dtype(np.float32), (), 0.0),
                "onset": (np.dtype(np.int32), (NC,), NEVER),
                "first_onset": (np.dtype(np.int32), (), NEVER),
                "any_service": (np.dtype(bool), (), False),
                "weak": (np.dtype(bool), (), False),
                "code_draw": (np.dtype(np.float32), (), 0.0),
                "team_draw": (np.dtype(np.float32), (), 0.0),
                "due": (np.dtype(np.uint16), (), 0),
                "efi": (np.dtype(np.float32), (), 0.0),
                "need": (np.dtype(np.float32), (), 0.0),
                "ever_target": (np.dtype(bool), (), False),
                "svc_open": (np.dtype(np.int32), (len(SERVICES),), -1),
            },
            int(plan.list_size.sum() * 1.4) + 100,
        )
        # GP holders of each list.
        gp_start0 = first - rng.integers(60, 25 * 365, n_lists)
        self.gp_hpr = list(plan.hpr_pool[:n_lists])
        self.gp_list = list(range(n_lists))
        self.gp_start = list(gp_start0)
        self.gp_end: list[int] = [-1] * n_lists
        self.holder = np.arange(n_lists)
        self.next_hpr = n_lists
        # Pilot practices: the GP of the practice's first list leads the team.
        self.gp_lead = [False] * n_lists
        practice_of_list = plan.list_practice
        seen: set[int] = set()
        for li in range(n_lists):
            pr = int(practice_of_list[li])
            if plan.practices[pr].pilot and pr not in seen:
                self.gp_lead[li] = True
                seen.add(pr)
        self.list_muni = plan.list_municipality
        n_muni = len(plan.municipality_codes)
        counts = np.bincount(self.list_muni, minlength=n_muni)
        self.muni_first = np.r_[0, np.cumsum(counts)[:-1]]
        self.muni_count = counts
        # Nurses per practice (pilot practices only).
        nurse_rows = [s for s in plan.staff if s.role == "nurse"]
        self.nurse_hpr = [s.hpr for s in nurse_rows]
        self.nurse_practice = np.array([s.practice for s in nurse_rows], dtype=np.int64)
        n_pr = len(plan.practices)
        order = np.argsort(self.nurse_practice, kind="stable")
        self.nurse_order = order
        nc = np.bincount(self.nurse_practice, minlength=n_pr)
        self.nurse_first = np.r_[0, np.cumsum(nc)[:-1]]
        self.nurse_count = nc
        self.practice_grant = np.array([pp.financing_model == "grant" for pp in plan.practices])
        self.grant_now = np.zeros(n_pr, dtype=bool)
        # Lists of each practice (for consultations with another GP of the practice).
        self.prac_order = np.argsort(plan.list_practice, kind="stable")
        pc = np.bincount(plan.list_practice, minlength=n_pr)
        self.prac_first = np.r_[0, np.cumsum(pc)[:-1]]
        self.prac_count = pc
        self.prac_pos = np.empty(n_lists, dtype=np.int64)
        self.prac_pos[self.prac_order] = (
            np.arange(n_lists) - self.prac_first[plan.list_practice[self.prac_order]]
        )

        # Initial population.
        total = int(plan.list_size.sum())
        person_list = np.repeat(np.arange(n_lists), plan.list_size)
        muni = self.list_muni[person_list]
        ages, male = self._ages(total, plan.municipality_centrality[muni])
        birth = first - np.round(ages * YEAR).astype(np.int64) - 1
        listed_since = first - rng.integers(0, 3650, total)
        entry = np.maximum.reduce([birth, gp_start0[person_list], listed_since])
        ids = self._new_persons(birth, male, muni, entry)
        self.act = ids
        self.act_list = person_list
        self.act_seg = entry.copy()

        self.memberships = _Chunks(worker, "person", "gp", "start", "end")
        self.contacts = _Chunks(
            worker,
            "person",
            "practitioner",
            "is_nurse",
            "practice",
            "date",
            "combo",
            "diagnosis",
            "extra",
            "child",
            dtypes={
                "person": np.int32,
                "practitioner": np.int32,
                "practice": np.int32,
                "date": np.int32,
                "combo": np.int16,
                "diagnosis": np.int16,
            },
        )
        self.admissions = _Chunks(
            worker, "person", "admitted", "discharged", "main", "other", "acute"
        )
        self.services = _Chunks(worker, "person", "service", "start", "end", "hours")
        self.svc_closures: list[tuple[np.ndarray, np.ndarray]] = []
        self.n_spells = 0
        self.surveys = _Chunks(worker, "person", "practice", "date", "instrument", "value")
        self.pq = _Chunks(
            worker,
            "person",
            "quarter",
            "practice",
            "target",
            "treated",
            "efi",
            "acsc_expected",
            "acsc_counterfactual",
            "acsc_diabetes_expected",
            "acsc_diabetes_counterfactual",
            dtypes={
                "person": np.int32,
                "quarter": np.int16,
                "practice": np.int32,
                "efi": np.float32,
                "acsc_expected": np.float32,
                "acsc_counterfactual": np.float32,
                "acsc_diabetes_expected": np.float32,
                "acsc_diabetes_counterfactual": np.float32,
            },
        )
        self.realised: dict[str, float] = {}

        nq = plan.quarter_start.size
        self.progress.stage("simulating quarters", nq)
        for q in range(nq):
            self._quarter(q)
            self.progress.advance()
        # Open memberships at the end.
        self.memberships.add(
            person=self.act,
            gp=self.holder[self.act_list],
            start=self.act_seg,
            end=np.full(self.act.size, -1),
        )
        persons = {k: self.persons[k] for k in self.persons.cols}
        services = self.services.done()
        if services["person"].size:
            for idx, end in self.svc_closures:
                current = services["end"][idx]
                closed = np.maximum(end, services["start"][idx])
                services["end"][idx] = np.where(current < 0, closed, current)
            open_ = services["end"] < 0
            last = persons["last"][services["person"][open_]]
            services["end"][open_] = last
        gps = {
            "hpr": np.array(self.gp_hpr),
            "list": np.array(self.gp_list),
            "start": np.array(self.gp_start),
            "end": np.array(self.gp_end),
            "lead": np.array(self.gp_lead),
        }
        return Simulation(
            persons=persons,
            gps=gps,
            memberships=self.memberships.done(),
            contacts=self.contacts.done(),
            admissions=self.admissions.done(),
            services=services,
            surveys=self.surveys.done(),
            person_quarters=self.pq.done() if self.keep_pq else None,
            icpc2_vocab=self.icpc2_vocab,
            icd10_vocab=self.icd10_vocab,
            tariff_vocab=self.tariff_vocab,
            kind_of_combo=self.kind_of_combo,
            copay_table=self.copay_table,
            refund_table=self.refund_table,
            acsc_codes=self.acsc_codes,
            nurse_hpr=self.nurse_hpr,
            nurse_practice=self.nurse_practice,
            person_code=self._person_code,
            realised=self.realised,
        )

    # --- one quarter --------------------------------------------------------------------------

    def _quarter(self, q: int) -> None:
        plan, rng, p, P = self.plan, self.rng, self.p, self.persons
        qs, qe = int(plan.quarter_start[q]), int(plan.quarter_end[q])
        qdays = qe - qs + 1
        year_i = q // 4
        year = plan.years[0] + year_i
        act = self.act
        n = act.size
        birth = P["birth"][act]
        male = P["male"][act]
        age = (qs - birth) / YEAR
        z = P["z"][act].astype(np.float64)

        # Deaths in the quarter.
        demo = p.section("demography")
        beta = float(demo["mortality_latent_health"])
        hazard = np.exp(demo["mortality_gompertz_a"] + demo["mortality_gompertz_b"] * age)
        hazard = hazard * np.exp(beta * z - beta * beta / 2.0)
        hazard = hazard + np.where(age < 1.0, demo["infant_mortality"], 0.0)
        dies = rng.random(n) < 1.0 - np.exp(-hazard * qdays / YEAR)
        death_day = np.where(dies, qs + rng.integers(0, qdays, n), qe)
        window = death_day - qs + 1  # days of exposure in the quarter
        # exposure as a share of the whole quarter (a last quarter cut at today is a part of one)
        frac = window / int(plan.quarter_days[q])

        # Morbidity and frailty at the start of the quarter.
        # Conditions are looked at only for persons with one by the quarter's end (a minority).
        cand = np.flatnonzero(P["first_onset"][act] <= qe)
        onset = P["onset"][act[cand]]
        cand_has = onset <= qs
        has = np.zeros((n, NC), dtype=bool)
        has[cand] = cand_has
        # (person row, condition) of every condition present: counts, rates and follow-ups
        # come from these pairs instead of whole person-by-condition matrices.
        pair_at, pair_cond = np.nonzero(cand_has)
        pair_row = cand[pair_at]
        ncond = np.bincount(pair_row, minlength=n)
        fr = p.section("frailty")
        efi = (
            fr["intercept"]
            + fr["age_slope"] * np.maximum(age - 40.0, 0.0) / 10.0
            + fr["per_condition"] * ncond
            + fr["latent"] * z
            + fr["person_sd"] * P["noise"][act]
        )
        efi = np.clip(efi, 0.0, 1.0)
        # Frailty band: the number of band limits <= efi (searchsorted "right", by comparisons).
        fband = np.zeros(n, dtype=np.intp)
        for limit in fr["band_limits"]:
            fband += efi >= limit
        target = (ncond > 0) | (fband >= 2)
        weak = P["weak"][act] & target
        practice = plan.list_practice[self.act_list]
        in_scheme = plan.in_scheme(q)
        treated = in_scheme[practice] & target
        self.grant_now = self.practice_grant & in_scheme
        grant = self.grant_now[practice]
        # The team follows up a fixed share of the target group (a person-level draw).
        followed = treated & (P["team_draw"][act] < self.followed_share)
        type2 = self._type2(P["code_draw"][act])
        gp = self.holder[self.act_list]
        P.cols["efi"][act] = efi
        P.cols["ever_target"][act] |= target
        if self.keep_pq:
            self.pq.add(
                person=act,
                quarter=np.full(n, q, dtype=np.int16),
                practice=practice,
                target=target,
                treated=treated,
                efi=efi,
            )

        # GP use.
        use = p.section("use")
        iage = np.clip(age, 0, MAX_AGE).astype(np.intp)
        ub = self.use_band[iage]
        base = np.where(
            male,
            np.asarray(use["gp_consultations_male"])[ub],
            np.asarray(use["gp_consultations_female"])[ub],
        )
        mult = np.exp(use["per_condition"] * ncond + use["per_frailty_tenth"] * efi * 10.0)
        mult = mult * np.where(weak, use["weak_demander_factor"], 1.0)
        group = ub * 2 + male
        sums = np.bincount(group, mult, minlength=2 * len(use["age_band_lower"]))
        cnts = np.bincount(group, minlength=sums.size)
        mult = mult / np.where(cnts > 0, sums / np.maximum(cnts, 1), 1.0)[group]
        P.cols["need"][act] = base * mult
        season = float(use["season_factor"][q % 4])
        lam_gp = base * mult / 4.0 * frac * season
        ac_eligible = has[:, C["diabetes"]] | has[:, C["copd"]]
        lam_ac = np.where(ac_eligible, use["annual_checks_per_year"] / 4.0 * frac, 0.0)
        lam_ac = lam_ac * np.where(weak, use["weak_demander_factor"], 1.0)
        extra_ac = np.where(treated & ac_eligible, self.p.effect("annual_checks"), 0.0)
        lam_home = np.asarray(use["gp_home_visits_by_band"])[fband] / 4.0 * frac
        # A condition that starts in the quarter is diagnosed at a GP consultation on its onset
        # day; that consultation is taken from the person's other consultations.
        o_at, o_cond = np.nonzero((onset <= qe) ^ cand_has)
        o_row = cand[o_at]
        o_day = onset[o_at, o_cond].astype(np.int64)
        alive = o_day <= death_day[o_row]
        o_row, o_cond, o_day = o_row[alive], o_cond[alive], o_day[alive]
        n_onset = np.bincount(o_row, minlength=n)
        lam_ord = np.maximum(lam_gp - lam_ac - extra_ac - lam_home - n_onset, 0.0)
        lam_simple = np.asarray(use["simple_contacts"])[ub] * mult / 4.0 * frac * season
        # Out-of-hours use rises with need more slowly (square root), normalised like GP use so
        # that each band's mean holds.
        root = np.sqrt(mult)
        rsum = np.bincount(group, root, minlength=sums.size)
        root = root / np.where(cnts > 0, rsum / np.maximum(cnts, 1), 1.0)[group]
        lam_ooh = np.asarray(use["out_of_hours"])[ub] * root / 4.0 * frac
        lam_agency = np.where(P["any_service"][act], 0.5 / 4.0 * frac, 0.0)

        if year >= 2020:
            office, video = use["office_share"]["from_2020"], use["video_share"]["from_2020"]
        else:
            office, video = use["office_share"]["before_2020"], use["video_share"]["before_2020"]
        n_ord = rng.poisson(lam_ord)
        everyone = np.arange(n)
        rows = np.repeat(everyone, n_ord)
        r = rng.random(rows.size)
        kind = np.where(
            r < office, K["office"], np.where(r < office + video, K["video"], K["e_consultation"])
        )
        is_office = kind == K["office"]
        r2 = rng.random(rows.size)
        kind = np.where(is_office & (r2 < use["evening_share"]), K["office_evening"], kind)
        r3 = rng.random(rows.size)
        long_ = is_office & (r2 >= use["evening_share"]) & (r3 < use["long_consultation_share"])
        sample = (
            is_office & (r2 >= use["evening_share"]) & (rng.random(rows.size) < use["sample_share"])
        )
        kind = np.where(long_ & sample, K["office_long"], kind)
        kind = np.where(long_ & ~sample, K["office_long"], kind)
        kind = np.where(~long_ & sample, K["office_sample"], kind)
        chunks = [(rows, kind, ~long_)]  # (person rows, kind, may be chronic)

        def add(lam: np.ndarray, k: str, only: np.ndarray | None = None) -> None:
            """Poisson counts of contact kind *k*; *only* limits the draw to persons who can
            have any (the others' rate is zero)."""
            who = everyone if only is None else np.flatnonzero(only)
            cnt = rng.poisson(lam if only is None else lam[who])
            rr = np.repeat(who, cnt)
            chunks.append((rr, np.full(rr.size, K[k]), np.full(rr.size, True)))

        add(lam_ac + extra_ac, "annual_check", ac_eligible)
        add(lam_home, "home_visit", fband >= 1)
        add(lam_ooh, "out_of_hours")
        ns = rng.poisson(lam_simple)
        rr = np.repeat(everyone, ns)
        rs = rng.random(rr.size)
        ks = np.where(
            rs < 0.45,
            K["simple_phone"],
            np.where(rs < 0.8, K["simple_message"], K["simple_sample"]),
        )
        chunks.append((rr, ks, np.full(rr.size, True)))
        add(lam_agency, "other_agencies", lam_agency > 0)
        delegated = year >= self.delegated_from
        for k in ("nurse_office", "nurse_home", "nurse_phone", "nurse_simple"):
            rate = np.full(n, self.p.effect(k) / self.followed_share)
            add(rate, f"{k}_delegated" if delegated else k, followed)
        chunks.append((o_row, np.full(o_row.size, K["office"]), np.full(o_row.size, False)))

        rows = np.concatenate([c[0] for c in chunks])
        kind = np.concatenate([c[1] for c in chunks])
        chronic_ok = np.concatenate([c[2] for c in chunks])
        due = self._follow_up_due(q, act, onset[pair_at, pair_cond], pair_row, pair_cond, frac)
        self._emit_contacts(
            q,
            due,
            rows,
            kind,
            chronic_ok,
            act,
            has,
            ncond,
            fband,
            age,
            practice,
            gp,
            grant,
            qs,
            window,
            year_i,
            (o_day, o_cond),
            (np.cumsum(ncond) - ncond, pair_cond),
        )

        # Admissions.
        adm = p.section("admissions")
        ab = self.adm_band[iage]
        madm = np.exp(adm["per_condition"] * ncond + adm["per_frailty_tenth"] * efi * 10.0)
        g2 = ab
        s2 = np.bincount(g2, madm, minlength=len(adm["age_band_lower"]))
        c2 = np.bincount(g2, minlength=s2.size)
        madm = madm / np.where(c2 > 0, s2 / np.maximum(c2, 1), 1.0)[g2]
        lam_acute = np.asarray(adm["acute_per_year"])[ab] * madm / 4.0 * frac
        lam_el = np.asarray(adm["elective_per_year"])[ab] / 4.0 * frac
        lam_acsc = np.bincount(pair_row, self.acsc_rate[pair_cond] / 4.0, minlength=n) * frac
        counterfactual = lam_acsc
        effect = self.p.effect("acsc_admissions")
        reduction = 0.0
        if effect and treated.any():
            mean = lam_acsc[treated].mean()
            reduction = min(0.95, abs(effect) / mean) if mean > 0 else 0.0
            if effect > 0:
                reduction = -abs(effect) / mean if mean > 0 else 0.0
            lam_acsc = np.where(treated, lam_acsc * (1.0 - reduction), lam_acsc)
            # The largest relative change of a quarter (capped at 95 %: then the planted effect
            # would fall short of the manifest's, which the manifest's diagnostics show).
            self.realised["acsc_largest_relative_change"] = max(
                self.realised.get("acsc_largest_relative_change", 0.0), abs(reduction)
            )
        # The diabetes ACSC admissions of type 2 diabetes patients (main diagnosis E11: the
        # indicator acsc_diabetes, whose population is the type 2 diabetes patients, C JHE25).
        # Expected E11 admissions: the diabetes part of the ACSC rate, times the general change
        # where treated, plus the type 2 change (the parameter acsc_type2_diabetes).
        t2_all = has[:, C["diabetes"]] & type2
        t2 = treated & t2_all
        d = np.where(t2_all, self.acsc_rate[C["diabetes"]] / 4.0 * frac, 0.0)
        d_team = np.where(treated, d * (1.0 - reduction), d)
        e_t2 = self.p.effect("acsc_type2_diabetes")
        change = np.zeros(n)
        if e_t2:
            change = np.where(e_t2 < 0, -np.minimum(abs(e_t2) * frac, 0.95 * d_team), e_t2 * frac)
            change = np.where(t2, change, 0.0)
            lam_acsc = lam_acsc + change
        # The admission's condition is drawn in proportion to the person's condition rates, the
        # diabetes rate scaled so that its share of lam_acsc is exactly (d_team + change).
        dm_factor = np.where(
            t2 & (d_team > 0), (d_team + change) / np.where(d_team > 0, d_team, 1.0), 1.0
        )
        dm_expected = d_team + change
        if t2.any():
            self.realised["acsc_diabetes_patient_quarters"] = self.realised.get(
                "acsc_diabetes_patient_quarters", 0.0
            ) + float(t2.sum())
            self.realised["acsc_diabetes_planted_sum"] = self.realised.get(
                "acsc_diabetes_planted_sum", 0.0
            ) + float((dm_expected - d)[t2].sum())
        if treated.any():
            self.realised["acsc_treated_quarters"] = self.realised.get(
                "acsc_treated_quarters", 0.0
            ) + float(treated.sum())
            self.realised["acsc_planted_sum"] = self.realised.get("acsc_planted_sum", 0.0) + float(
                (lam_acsc - counterfactual)[treated].sum()
            )
        if self.keep_pq:
            # Truth for the evaluation: expected ACSC admissions of the quarter with and
            # without the team (the same where not treated), all and E11 only.
            self.pq.add(
                acsc_expected=lam_acsc,
                acsc_counterfactual=counterfactual,
                acsc_diabetes_expected=dm_expected,
                acsc_diabetes_counterfactual=d,
            )
        self._emit_admissions(
            rng.poisson(lam_acute),
            rng.poisson(lam_el),
            self._poisson_where_positive(lam_acsc),
            act,
            has,
            dm_factor,
            type2,
            qs,
            window,
            death_day,
            dies,
        )

        # Municipal services.
        self._emit_services(act, age, fband, qs, window, dies, death_day)

        # Surveys of target-group patients.
        self._emit_surveys(act, target, treated, efi, z, practice, qs, window)

        # Close the quarter: deaths, moves, list changes, GP turnover, births, in-migrants.
        self._close(q, qs, qe, dies, death_day, age, birth, male)

    def _poisson_where_positive(self, lam: np.ndarray) -> np.ndarray:
        """``rng.poisson(lam)`` for a rate that is zero for most persons: drawn only where it is
        positive (a zero rate takes no random number, so the draws and counts are the same)."""
        out = np.zeros(lam.shape[0], dtype=np.int64)
        positive = np.flatnonzero(lam > 0)
        out[positive] = self.rng.poisson(lam[positive])
        return out

    def _follow_up_due(
        self,
        q: int,
        act: np.ndarray,
        pair_onset: np.ndarray,
        pi: np.ndarray,
        ci: np.ndarray,
        frac: np.ndarray,
    ) -> np.ndarray:
        """Per person, the conditions (bit mask) due to be coded at the next GP consultation.

        Follow-ups of the quarter (Poisson at the condition's yearly rate; at least one in the
        first quarter a condition is present: its diagnosis) join those still waiting from earlier
        quarters for a consultation.
        """
        plan, rng = self.plan, self.rng
        qs = int(plan.quarter_start[q])
        prev = int(plan.quarter_start[q - 1]) if q > 0 else qs - 91
        p_event = 1.0 - np.exp(-self.follow_up[ci] / 4.0 * frac[pi])
        event = (pair_onset > prev) | (rng.random(pi.size) < p_event)
        bits = np.left_shift(1, ci[event]).astype(np.float64)
        new = np.bincount(pi[event], bits, minlength=act.size).astype(np.uint16)
        return np.asarray(self.persons["due"][act] | new, dtype=np.uint16)

    def _pick_condition(
        self, has_rows: np.ndarray, weights: np.ndarray | None = None
    ) -> np.ndarray:
        """For each row of a boolean condition matrix, one true column at random (-1 if none)."""
        w = has_rows.astype(np.float32) if weights is None else weights
        cum = np.cumsum(w, axis=1)
        tot = cum[:, -1]
        u = self.rng.random(has_rows.shape[0]) * tot
        pick = (cum <= u[:, None]).sum(axis=1)
        return np.where(tot > 0, np.minimum(pick, NC - 1), -1)

    def _type2(self, draw: np.ndarray) -> np.ndarray:
        """Per person: would his or her diabetes be coded T90 (type 2)? (as _person_code)."""
        u = (draw.astype(np.float64) * (C["diabetes"] + 3) * 7.31) % 1.0
        return u < self.type2_share

    def _person_code(self, draw: np.ndarray, cond: np.ndarray) -> np.ndarray:
        """The ICPC-2 code a person's GP uses for condition *cond* (fixed per person: *draw* is
        the persons' code_draw)."""
        u = (draw * (cond + 3) * 7.31) % 1.0
        # searchsorted(cum, u, "right") of each person's condition: the count of cum <= u (the
        # tables are padded with infinity).
        pick = (self.code_cum[cond] <= u[:, None]).sum(axis=1)
        out: np.ndarray = self.code_table[cond, np.minimum(pick, self.code_count[cond] - 1)]
        return out

    def _emit_contacts(
        self,
        q: int,
        due: np.ndarray,
        rows: np.ndarray,
        kind: np.ndarray,
        chronic_ok: np.ndarray,
        act: np.ndarray,
        has: np.ndarray,
        ncond: np.ndarray,
        fband: np.ndarray,
        age: np.ndarray,
        practice: np.ndarray,
        gp: np.ndarray,
        grant: np.ndarray,
        qs: int,
        window: np.ndarray,
        year_i: int,
        diagnosed: tuple[np.ndarray, np.ndarray],
        pairs: tuple[np.ndarray, np.ndarray],
    ) -> None:
        """Contacts of the quarter; the last rows are the diagnoses of new conditions
        (*diagnosed*: their days and conditions). *pairs*: per person row, where its conditions
        start in the (row, condition) pairs, and the pairs' conditions."""
        rng = self.rng
        m = rows.size
        if m == 0:
            self.persons.cols["due"][act] = due
            return
        use = self.p.section("use")
        date = qs + (rng.random(m) * window[rows]).astype(np.int64)
        o_day, o_cond = diagnosed
        fixed = np.zeros(m, dtype=bool)
        fixed[m - o_day.size :] = True
        date[fixed] = o_day
        # Diagnoses. Here only the random draws and what the next quarter needs; the codes and
        # columns that follow from them are made by the background thread (finish_contacts).
        nurse = self.nurse_kind[kind]
        annual = kind == K["annual_check"]
        p_chronic = 1.0 - np.exp(-use["chronic_contact_rate"] * ncond[rows])
        chronic = (chronic_ok & (rng.random(m) < p_chronic)) | nurse | annual
        chronic &= (ncond[rows] > 0) & ~fixed
        ch = np.flatnonzero(chronic)
        cond = np.empty(0, dtype=np.int64)
        if ch.size:
            # One of the person's conditions at random (at annual checks: diabetes or COPD).
            # The same draws and picks as _pick_condition on the rows of *has*, from the pairs.
            r = rows[ch]
            a_sel = annual[ch]
            cnt = ncond[r]
            ra = r[a_sel]
            hrows = has[ra][:, [C["diabetes"], C["copd"]]]
            cnt[a_sel] = hrows.sum(axis=1)
            u = rng.random(ch.size) * cnt.astype(np.float32)
            j = u.astype(np.int64)
            pair_start, pair_cond = pairs
            cond = np.full(ch.size, NC - 1, dtype=np.int64)
            inside = (j < cnt) & ~a_sel
            cond[inside] = pair_cond[pair_start[r[inside]] + j[inside]]
            if ra.size:
                # The j-th of the two columns that are true (diabetes comes before COPD).
                first = np.where(hrows[:, 0], C["diabetes"], C["copd"])
                ja, ca = j[a_sel], cnt[a_sel]
                cond[a_sel] = np.where(ja >= ca, NC - 1, np.where(ja == 0, first, C["copd"]))
            cond = np.where(cnt > 0, cond, -1)
        ac = np.flatnonzero(~chronic & ~fixed)
        acute_u = rng.random(ac.size) if ac.size else np.empty(0)
        # Practitioner: the list's GP, or a nurse of the practice.
        pr = practice[rows]
        practitioner = gp[rows].astype(np.int64)
        if nurse.any():
            pn = pr[nurse]
            pick = self.nurse_first[pn] + (rng.random(pn.size) * self.nurse_count[pn]).astype(
                np.int64
            )
            practitioner[nurse] = self.nurse_order[pick]
        grant_c = grant[rows]
        pr, practitioner, grant_c = self._other_gps(kind, rows, pr, practitioner, grant_c)
        follow_ups = self._follow_ups(due, rows, kind, act)
        self.contacts.add_later(
            partial(
                self._finish_contacts,
                self.persons.cols["code_draw"],
                act,
                rows,
                kind,
                date,
                fixed,
                o_cond,
                ch,
                cond,
                ac,
                acute_u,
                nurse,
                practitioner,
                pr,
                follow_ups,
                age,
                grant_c,
                qs,
            )
        )

    def _other_gps(
        self,
        kind: np.ndarray,
        rows: np.ndarray,
        pr: np.ndarray,
        practitioner: np.ndarray,
        grant_c: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Consultations with a GP other than the person's own (usual-provider continuity, C
        HETLEVIK12): another GP of the practice, or of another list in the municipality (which
        may be in another practice: the contact then belongs to that practice)."""
        cons = np.flatnonzero(self.consult_kind[kind])
        if cons.size == 0 or self.p_away <= 0.0:
            return pr, practitioner, grant_c
        rng = self.rng
        u = rng.random(cons.size)
        ai = cons[u < self.p_away]
        if ai.size == 0:
            return pr, practitioner, grant_c
        v = rng.random(ai.size)
        w = rng.random(ai.size)
        own = self.act_list[rows[ai]]
        own_pr = self.plan.list_practice[own]
        cnt_p = self.prac_count[own_pr]
        inside = (v < self.away_in_practice) & (cnt_p > 1)
        # another list of the practice
        jp = (self.prac_pos[own] + 1 + (w * (cnt_p - 1)).astype(np.int64)) % np.maximum(cnt_p, 1)
        in_list = self.prac_order[self.prac_first[own_pr] + jp]
        # another list of the municipality
        mu = self.list_muni[own]
        cnt_m = self.muni_count[mu]
        pos_m = own - self.muni_first[mu]
        jm = (pos_m + 1 + (w * np.maximum(cnt_m - 1, 0)).astype(np.int64)) % np.maximum(cnt_m, 1)
        out_list = self.muni_first[mu] + jm
        other = np.where(inside, in_list, out_list)
        pr = pr.copy()
        practitioner = practitioner.copy()
        grant_c = grant_c.copy()
        practitioner[ai] = self.holder[other]
        pr[ai] = self.plan.list_practice[other]
        grant_c[ai] = self.grant_now[pr[ai]]
        return pr, practitioner, grant_c

    def _finish_contacts(
        self,
        code_draw: np.ndarray,
        act: np.ndarray,
        rows: np.ndarray,
        kind: np.ndarray,
        date: np.ndarray,
        fixed: np.ndarray,
        o_cond: np.ndarray,
        ch: np.ndarray,
        cond: np.ndarray,
        ac: np.ndarray,
        acute_u: np.ndarray,
        nurse: np.ndarray,
        practitioner: np.ndarray,
        pr: np.ndarray,
        follow_ups: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        age: np.ndarray,
        grant: np.ndarray,
        qs: int,
    ) -> dict[str, np.ndarray]:
        """The contacts' columns from the quarter's draws (run by the background thread: it
        draws nothing and changes no state of the simulation)."""
        m = rows.size
        persons = act[rows]
        diag = np.empty(m, dtype=np.int64)
        diag[fixed] = self._person_code(code_draw[persons[fixed]], o_cond)
        if ch.size:
            diag[ch] = self._person_code(code_draw[persons[ch]], cond)
        if ac.size:
            a = age[rows[ac]]
            grp = np.where(a < 16, 0, np.where(a < 67, 1, 2))
            # The three groups' cumulative weights in one sorted array (group g offset by g).
            k = self.acute_cum[0].size
            pick = np.searchsorted(self.acute_cum_all, acute_u + grp, side="right") - grp * k
            diag[ac] = self.acute_idx[np.minimum(pick, self.acute_idx.size - 1)]
            frail_nurse = nurse[ac]
            diag[ac[frail_nurse]] = self.icpc2_vocab.index("A28")
        # The follow-up codes beside the main diagnosis: a bit mask over the ICPC-2 vocabulary's
        # condition codes.
        if follow_ups is None:
            extra = np.zeros(m, dtype=np.uint32)
        else:
            contact, who, ci = follow_ups
            code = self._person_code(code_draw[who], ci)
            weights = np.left_shift(1, code).astype(np.float64)
            extra = np.bincount(contact, weights, minlength=m).astype(np.uint32)
            coded = np.flatnonzero(extra)
            main = diag[coded]
            coded, main = coded[main < 32], main[main < 32]
            extra[coded] &= ~np.left_shift(np.uint32(1), main.astype(np.uint32))
        is_grant = grant & (kind != K["out_of_hours"])
        combo = kind * 2 + is_grant
        child = age[rows] + (date - qs) / YEAR < 16.0
        return {
            "person": persons,
            "practitioner": practitioner,
            "is_nurse": nurse,
            "practice": pr,
            "date": date,
            "combo": combo,
            "diagnosis": diag,
            "extra": extra,
            "child": child,
        }

    def _follow_ups(
        self, due: np.ndarray, rows: np.ndarray, kind: np.ndarray, act: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Pick, for each due condition, one of the person's GP consultations of the quarter to
        code it at: (contact, person, condition) per coded condition, or None.

        Persons without a consultation keep their conditions due.
        """
        ok = np.flatnonzero(self.follow_up_kind[kind] & (due[rows] != 0))
        if ok.size == 0:
            self.persons.cols["due"][act] = due
            return None
        ok = ok[np.argsort(rows[ok], kind="stable")]
        r = rows[ok]
        first = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
        who = r[first]
        count = np.diff(np.r_[first, r.size])
        bits = (due[who][:, None] >> np.arange(NC, dtype=np.uint16)[None, :]) & 1
        k, ci = np.nonzero(bits)
        contact = ok[first[k] + (self.rng.random(k.size) * count[k]).astype(np.int64)]
        persons = act[who[k]]
        due[who] = 0
        self.persons.cols["due"][act] = due
        return contact, persons, ci

    def _emit_admissions(
        self,
        n_acute: np.ndarray,
        n_el: np.ndarray,
        n_acsc: np.ndarray,
        act: np.ndarray,
        has: np.ndarray,
        dm_factor: np.ndarray,
        type2: np.ndarray,
        qs: int,
        window: np.ndarray,
        death_day: np.ndarray,
        dies: np.ndarray,
    ) -> None:
        rng = self.rng
        adm = self.p.section("admissions")
        parts = []
        idx = np.arange(act.size)
        for counts, code in ((n_acute, 0), (n_el, 1), (n_acsc, 2)):
            r = np.repeat(idx, counts)
            parts.append((r, np.full(r.size, code)))
        rows = np.concatenate([x[0] for x in parts])
        kind: np.ndarray = np.concatenate([x[1] for x in parts])
        m = rows.size
        if m == 0:
            return
        admitted = qs + (rng.random(m) * window[rows]).astype(np.int64)
        mean_stay = np.where(kind == 1, adm["elective_mean_stay_days"], adm["acute_mean_stay_days"])
        discharged = admitted + np.floor(rng.exponential(mean_stay)).astype(np.int64)
        discharged = np.where(dies[rows], np.minimum(discharged, death_day[rows]), discharged)
        if self.plan.no_later_than is not None:
            # an extract cut at today: a stay still going on is shown as ending today
            discharged = np.minimum(discharged, self.plan.no_later_than)
        main = np.empty(m, dtype=np.int64)
        u = rng.random(m)
        sel = np.asarray(kind == 0)
        main[sel] = self.other_acute[
            np.minimum(
                np.searchsorted(self.other_acute_cum, u[sel], "right"), self.other_acute.size - 1
            )
        ]
        sel = np.asarray(kind == 1)
        main[sel] = self.elective[
            np.minimum(np.searchsorted(self.elective_cum, u[sel], "right"), self.elective.size - 1)
        ]
        acsc_rows = np.flatnonzero(kind == 2)
        if acsc_rows.size:
            who = rows[acsc_rows]
            sub = has[who]
            weights = sub * self.acsc_rate[None, :]
            weights[:, C["diabetes"]] *= dm_factor[who]
            cond = self._pick_condition(sub, weights)
            for ci in np.unique(cond):
                s = cond == ci
                codes = self.acsc_codes_by_cond[int(ci)]
                pick = rng.random(s.sum())
                main[acsc_rows[s]] = codes[(pick * codes.size).astype(np.int64)]
                if ci == C["diabetes"] and self.acsc_dm_type1.size and self.acsc_dm_type2.size:
                    # the diabetes code follows the person's type (E10 type 1, E11 type 2)
                    t2 = type2[who[s]]
                    c1, c2 = self.acsc_dm_type1, self.acsc_dm_type2
                    main[acsc_rows[s]] = np.where(
                        t2,
                        c2[(pick * c2.size).astype(np.int64)],
                        c1[(pick * c1.size).astype(np.int64)],
                    )
        # One other diagnosis: one of the person's conditions (its ICD-10 code), if any.
        cond = self._pick_condition(has[rows])
        other = np.full(m, -1, dtype=np.int64)
        for ci in np.unique(cond[cond >= 0]):
            s = cond == ci
            codes = self.cond_icd[int(ci)]
            other[s] = codes[(rng.random(s.sum()) * codes.size).astype(np.int64)]
        other = np.where(other == main, -1, other)
        self.admissions.add(
            person=act[rows],
            admitted=admitted,
            discharged=discharged,
            main=main.astype(np.int16),
            other=other.astype(np.int16),
            acute=np.asarray(kind != 1),
        )

    def _emit_services(
        self,
        act: np.ndarray,
        age: np.ndarray,
        fband: np.ndarray,
        qs: int,
        window: np.ndarray,
        dies: np.ndarray,
        death_day: np.ndarray,
    ) -> None:
        rng, P = self.rng, self.persons
        cfg = self.p.section("municipal_services")
        # Only the old or not fit can start a service (the rates of fit persons under 67 are
        # negligible): draw for them only.
        cand = np.flatnonzero((age >= 67) | (fband >= 1))
        act, age, fband = act[cand], age[cand], fband[cand]
        window, dies, death_day = window[cand], dies[cand], death_day[cand]
        factor = np.where(age >= 67, 1.0, cfg["under_67_factor"])
        open_ = P["svc_open"][act]
        for si, name in enumerate(SERVICES):
            rate = np.asarray(cfg["start_per_year"][name])[fband] * factor / 4.0
            eligible = open_[:, si] < 0
            if name in ("home_nursing", "practical_help", "day_care", "safety_alarm"):
                eligible &= open_[:, SERVICES.index("long_term_stay")] < 0
            starts = eligible & (rng.random(act.size) < rate)
            rows = np.flatnonzero(starts)
            if rows.size == 0:
                continue
            start = qs + (rng.random(rows.size) * window[rows]).astype(np.int64)
            end = np.full(rows.size, -1, dtype=np.int64)
            hours = np.full(rows.size, np.nan)
            if name == "short_stay":
                lo, hi = cfg["short_stay_days"]
                end = start + rng.integers(lo, hi + 1, rows.size)
                end = np.where(dies[rows], np.minimum(end, death_day[rows]), end)
            if name in cfg["hours_per_week"]:
                lo, hi = cfg["hours_per_week"][name]
                hours = np.round(
                    lo + rng.random(rows.size) * (hi - lo) * (1 + (fband[rows] >= 3)), 1
                )
            spell = self.n_spells + np.arange(rows.size)
            self.n_spells += rows.size
            self.services.add(
                person=act[rows],
                service=np.full(rows.size, si, dtype=np.int8),
                start=start,
                end=end,
                hours=hours,
            )
            P.cols["any_service"][act[rows]] = True
            if name != "short_stay":
                P.cols["svc_open"][act[rows], si] = spell
            if name == "long_term_stay":
                # Moving into a nursing home ends the home-based services.
                for sj in (0, 1, 2, 3):
                    sp = P["svc_open"][act[rows], sj]
                    has_open = sp >= 0
                    if has_open.any():
                        self.svc_closures.append((sp[has_open], np.maximum(start[has_open] - 1, 0)))
                        P.cols["svc_open"][act[rows][has_open], sj] = -1
                        # -1 marks "closed" for the eligibility test; the spell keeps its end.

    def _emit_surveys(
        self,
        act: np.ndarray,
        target: np.ndarray,
        treated: np.ndarray,
        efi: np.ndarray,
        z: np.ndarray,
        practice: np.ndarray,
        qs: int,
        window: np.ndarray,
    ) -> None:
        rng = self.rng
        cfg = self.p.section("surveys")
        resp = np.flatnonzero(target & (rng.random(act.size) < cfg["response_share_per_quarter"]))
        m = resp.size
        if m == 0:
            return
        date = qs + (rng.random(m) * window[resp]).astype(np.int64)
        tr = treated[resp]
        eq = (
            cfg["eq5d_intercept"]
            + cfg["eq5d_per_frailty"] * efi[resp]
            + cfg["eq5d_sd"] * rng.standard_normal(m)
        )
        eq = np.round(np.clip(eq + np.where(tr, self.p.effect("eq5d_index"), 0.0), -0.28, 1.0), 3)
        pam = (
            cfg["pam_mean"] - 3.0 * np.clip(z[resp], -2, 2) + cfg["pam_sd"] * rng.standard_normal(m)
        )
        pam = np.round(
            np.clip(pam + np.where(tr, self.p.effect("patient_activation"), 0.0), 0.0, 100.0), 1
        )
        probs = np.asarray(cfg["prem_probabilities"], float)
        probs = probs / probs.sum()
        cum = np.cumsum(probs)
        below_top = 1.0 - probs[-1]

        def prem(effect: float) -> np.ndarray:
            v = np.searchsorted(cum, rng.random(m), side="right") + 1
            v = np.minimum(v, 5)
            bump = tr & (v < 5) & (rng.random(m) < effect / below_top)
            return np.asarray(v + bump, dtype=np.float64)

        sat = prem(self.p.effect("satisfaction"))
        coord = prem(self.p.effect("coordination"))
        for inst, value in ((0, eq), (1, pam), (2, sat), (3, coord)):
            self.surveys.add(
                person=act[resp],
                practice=practice[resp],
                date=date,
                instrument=np.full(m, inst, dtype=np.int8),
                value=value,
            )

    def _close(
        self,
        q: int,
        qs: int,
        qe: int,
        dies: np.ndarray,
        death_day: np.ndarray,
        age: np.ndarray,
        birth: np.ndarray,
        male: np.ndarray,
    ) -> None:
        plan, rng, p, P = self.plan, self.rng, self.p, self.persons
        demo = p.section("demography")
        act, lst, seg = self.act, self.act_list, self.act_seg
        n = act.size
        gp = self.holder[lst]
        # Deaths.
        dead = np.flatnonzero(dies)
        if dead.size:
            self.memberships.add(
                person=act[dead], gp=gp[dead], start=seg[dead], end=death_day[dead]
            )
            P.cols["death"][act[dead]] = death_day[dead]
            P.cols["last"][act[dead]] = death_day[dead]
        alive = ~dies
        # Births during the quarter (mothers: women 20-44 alive at the start).
        qdays = qe - qs + 1
        mothers = np.flatnonzero(~male & (age >= 20) & (age < 45))
        n_births = rng.poisson(demo["births_per_1000_per_year"] / 1000.0 * n * qdays / YEAR)
        new_birth = np.empty(0, dtype=np.int64)
        new_list = np.empty(0, dtype=np.int64)
        if n_births and mothers.size:
            mom = mothers[rng.integers(0, mothers.size, n_births)]
            new_birth = qs + rng.integers(0, qdays, n_births)
            new_list = lst[mom]
        # Moves and list changes at the end of the quarter.
        p_move = self.p_move[self.move_band[np.clip(age, 0, MAX_AGE).astype(np.intp)]]
        moves = alive & (rng.random(n) < p_move)
        total_pop = float(sum(m.population for m in p.municipalities))
        scenario_pop = float(plan.list_size.sum())
        internal_share = (
            0.95 if plan.scenario == "national" else min(0.95, scenario_pop / total_pop)
        )
        internal = moves & (rng.random(n) < internal_share)
        exits = moves & ~internal
        change = alive & ~moves & (rng.random(n) < 1.0 - np.exp(-demo["list_change_rate"] / 4.0))
        turnover = rng.random(self.holder.size) < 1.0 - np.exp(-demo["gp_turnover_rate"] / 4.0)
        closing = alive & (moves | change | turnover[lst])
        c = np.flatnonzero(closing)
        if c.size:
            self.memberships.add(person=act[c], gp=gp[c], start=seg[c], end=np.full(c.size, qe))
        ex = np.flatnonzero(exits)
        P.cols["last"][act[ex]] = qe
        new_lst = lst.copy()
        # Internal movers: a list anywhere, by its size.
        mv = np.flatnonzero(internal)
        # Destinations by list size (every list counts at least one, so an empty one can fill).
        sizes = np.bincount(lst[alive], minlength=self.holder.size).astype(np.float64) + 1.0
        cum = np.r_[0.0, np.cumsum(sizes)]
        if mv.size:
            dest_list = _pick_by_size(
                rng,
                cum,
                np.zeros(mv.size, dtype=np.int64),
                np.full(mv.size, self.holder.size, dtype=np.int64),
            )
            new_lst[mv] = dest_list
            P.cols["muni"][act[mv]] = self.list_muni[dest_list]
        ch = np.flatnonzero(change)
        if ch.size:
            m_idx = self.list_muni[lst[ch]]
            new_lst[ch] = _pick_by_size(
                rng, cum, self.muni_first[m_idx], self.muni_count[m_idx], own=lst[ch]
            )
        new_seg = np.where(closing, qe + 1, seg)
        keep = alive & ~exits
        if new_birth.size:
            # Newborns on a list whose GP leaves at the end of the quarter: split at the change.
            newborn_old_gp = self.holder[new_list]
        # GP turnover: successors take over on the first day of the next quarter.
        for li in np.flatnonzero(turnover):
            old = self.holder[li]
            self.gp_end[old] = qe
            self.gp_hpr.append(str(plan.hpr_pool[self.next_hpr]))
            self.next_hpr += 1
            self.gp_list.append(int(li))
            self.gp_start.append(qe + 1)
            self.gp_end.append(-1)
            self.gp_lead.append(self.gp_lead[old])
            self.holder[li] = len(self.gp_hpr) - 1
        # In-migrants replace those who left the area, in the municipalities they left.
        n_in = ex.size
        parts_ids = [act[keep]]
        parts_list = [new_lst[keep]]
        parts_seg = [new_seg[keep]]
        if n_in:
            w = np.asarray(demo["inmigrant_age_weights"], float)
            lower = np.r_[np.asarray(demo["move_age_lower"], float), 90.0]
            band = rng.choice(w.size, size=n_in, p=w / w.sum())
            ages = lower[band] + rng.random(n_in) * (lower[band + 1] - lower[band])
            m_idx = self.list_muni[lst[ex]]
            pick = _pick_by_size(rng, cum, self.muni_first[m_idx], self.muni_count[m_idx])
            b = qe + 1 - np.round(ages * YEAR).astype(np.int64)
            ids = self._new_persons(b, rng.random(n_in) < 0.5, m_idx, np.full(n_in, qe + 1))
            parts_ids.append(ids)
            parts_list.append(pick)
            parts_seg.append(np.full(n_in, qe + 1))
        if new_birth.size:
            sex = rng.random(new_birth.size) < demo["male_share_of_births"]
            ids = self._new_persons(new_birth, sex, self.list_muni[new_list], new_birth)
            split = turnover[new_list]
            if split.any():
                self.memberships.add(
                    person=ids[split],
                    gp=newborn_old_gp[split],
                    start=new_birth[split],
                    end=np.full(int(split.sum()), qe),
                )
            parts_ids.append(ids)
            parts_list.append(new_list)
            parts_seg.append(np.where(split, qe + 1, new_birth))
        self.act = np.concatenate(parts_ids)
        self.act_list = np.concatenate(parts_list)
        self.act_seg = np.concatenate(parts_seg)
