"""Synthetic identifiers, made for whole columns at once.

Person numbers follow the national test population's rule (month + 80, the same check digits as a
fødselsnummer), so that no real person can hold one; :func:`pht.core.identifiers.make_person_id`
is the scalar oracle the tests compare against.
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import numpy.typing as npt
from faker.providers.person.no_NO import Provider as _NorwegianNames

from pht.core.identifiers import make_orgnr

__all__ = [
    "SCENARIO_LETTERS",
    "extract_tag",
    "family_names",
    "given_names",
    "hpr_numbers",
    "orgnrs",
    "synthetic_person_ids",
]

_W1_DATE = np.array([3, 7, 6, 1, 8, 9])
_W1_IND = np.array([4, 5, 2])
_W2_DATE = np.array([5, 4, 3, 2, 7, 6])
_W2_IND = np.array([5, 4, 3])
_IND = np.arange(1000)
_IND_DIGITS = np.stack([_IND // 100, (_IND // 10) % 10, _IND % 10], axis=1)


def _candidates() -> dict[tuple[int, int, int, int], npt.NDArray[np.int64]]:
    """Valid individual numbers for each (date class 1, date class 2, sex, century group).

    Check digit 1 depends on the date only through Σ(date digits × weights) mod 11, check digit 2
    likewise, so 121 date classes cover every date. Century groups: 0 = 1900–1939 (000–499),
    1 = 1940–1999 (000–499 and 900–999), 2 = 2000–2039 (500–999).
    """
    s1i = _IND_DIGITS @ _W1_IND
    s2i = _IND_DIGITS @ _W2_IND
    groups = {
        0: _IND < 500,
        1: (_IND < 500) | (_IND >= 900),
        2: _IND >= 500,
    }
    out = {}
    for a in range(11):
        k1 = (11 - (a + s1i) % 11) % 11
        for b in range(11):
            k2 = (11 - (b + s2i + 2 * k1) % 11) % 11
            valid = (k1 != 10) & (k2 != 10)
            for male in (0, 1):
                parity = male == (_IND % 2)
                for group, allowed in groups.items():
                    out[(a, b, male, group)] = _IND[valid & parity & allowed]
    return out


_CANDIDATES = _candidates()


#: One letter per scenario, the first character of every event id (docs/synthetic-data.md).
SCENARIO_LETTERS = {"pilot": "p", "national": "n", "panel": "v"}


def extract_tag(
    scenario: str,
    seed: int,
    years: tuple[int, int],
    persons: int | None = None,
    effects: str = "published",
) -> str:
    """The prefix of every event id of one extract: scenario letter, seed, ``x`` and the persons
    asked for (when scaled), the effects profile when it is not the default, then the first and
    last year: ``p1-2015-2023``, ``p7x30000-2019-2022``, ``p3-power-2016-2021``.

    Two extracts that differ in scenario, seed, scale or years have different tags, so their
    contact, admission and survey-response ids can never be equal (each id is the tag, a table
    letter and the row number: ``p1-2015-2023-K00000001``). The same arguments give the same tag:
    the same extract written again (or as CSV instead of Parquet) has the same ids.
    """
    try:
        letter = SCENARIO_LETTERS[scenario]
    except KeyError:
        raise ValueError(f"no id letter for scenario {scenario!r}") from None
    if seed < 0:
        raise ValueError("seed must not be negative")
    scale = f"x{persons}" if persons else ""
    profile = "" if effects in ("published", "default") else f"-{effects}"
    return f"{letter}{seed}{scale}{profile}-{years[0]:04d}-{years[1]:04d}"


def synthetic_person_ids(
    birth_days: npt.NDArray[np.int64],
    male: npt.NDArray[np.bool_],
    rng: np.random.Generator,
    tag: str = "",
) -> npt.NDArray[np.bytes_]:
    """Unique synthetic person numbers (month + 80) for birth dates (days since 1970) and sexes,
    as 11-byte ASCII strings (``.astype(str)`` gives text).

    Persons born on the same day with the same sex get different individual numbers; the order
    among them is random (from *rng*), so numbers carry no information beyond birth date and sex.
    The free numbers of each birth day are taken from a point that depends on the extract's *tag*
    (the list wraps round), so that extracts of other seeds or years mostly use other numbers; a
    number is a person, so where the numbers of a day run short two extracts can still share one.
    """
    n = birth_days.shape[0]
    dates = birth_days.astype("datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    months = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    days = (dates - dates.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    if n and (years.min() < 1900 or years.max() > 2039):
        raise ValueError("synthetic person numbers cover births 1900–2039 only")
    yy = years % 100
    mm = months + 80
    digits = (days // 10, days % 10, mm // 10, mm % 10, yy // 10, yy % 10)
    s1 = sum(int(w) * d for w, d in zip(_W1_DATE, digits, strict=True))
    s2 = sum(int(w) * d for w, d in zip(_W2_DATE, digits, strict=True))
    a = s1 % 11
    b = s2 % 11
    group = np.where(years >= 2000, 2, np.where(years >= 1940, 1, 0))
    sex = male.astype(np.int64)
    # Rank within (birth day, sex), in random order.
    # One sort on (birth day, sex, random tie-break) packed into 64 bits.
    day_sex = (birth_days - (birth_days.min() if n else 0)) * 2 + sex
    order = np.argsort((day_sex << 31) | rng.integers(0, 1 << 31, n), kind="stable")
    key = day_sex[order]
    first = np.r_[True, key[1:] != key[:-1]]
    starts = np.flatnonzero(first)
    run = np.cumsum(first) - 1
    rank_sorted = np.arange(n) - starts[run]
    rank = np.empty(n, dtype=np.int64)
    rank[order] = rank_sorted
    offset = int.from_bytes(hashlib.sha256(tag.encode()).digest()[:4], "big") if tag else 0
    individual = np.empty(n, dtype=np.int64)
    combo = ((a * 11 + b) * 2 + sex) * 3 + group
    by_combo = np.argsort(combo, kind="stable")
    sorted_combo = combo[by_combo]
    bounds = np.flatnonzero(np.r_[True, sorted_combo[1:] != sorted_combo[:-1], True])
    for lo, hi in itertools.pairwise(bounds):
        ci = int(sorted_combo[lo])
        cand = _CANDIDATES[(ci // 66, (ci // 6) % 11, (ci // 3) % 2, ci % 3)]
        members = by_combo[lo:hi]
        r = rank[members]
        if r.max() >= cand.size:
            raise ValueError("too many persons born on one day for the synthetic number range")
        individual[members] = cand[(r + offset) % cand.size]
    ind_digits = (individual // 100, (individual // 10) % 10, individual % 10)
    t1 = sum(int(w) * d for w, d in zip(_W1_IND, ind_digits, strict=True))
    t2 = sum(int(w) * d for w, d in zip(_W2_IND, ind_digits, strict=True))
    k1 = (11 - (s1 + t1) % 11) % 11
    k2 = (11 - (s2 + t2 + 2 * k1) % 11) % 11
    raw = np.empty((n, 11), dtype=np.uint8)
    for j, d in enumerate((*digits, *ind_digits, k1, k2)):
        raw[:, j] = d
    raw += 48
    return raw.view("S11").ravel()


def hpr_numbers(count: int, first: int, rng: np.random.Generator) -> npt.NDArray[np.str_]:
    """*count* distinct synthetic HPR numbers from *first* upwards, in random order."""
    picks = rng.choice(800_000, size=count, replace=False) + first
    return picks.astype("U9")


def orgnrs(count: int, prefix: str) -> list[str]:
    """*count* valid organisation numbers starting with *prefix* (3 digits), in order."""
    out: list[str] = []
    serial = 0
    while len(out) < count:
        number = make_orgnr(f"{prefix}{serial:05d}")
        serial += 1
        if number is not None:
            out.append(number)
    return out


def given_names(male: npt.NDArray[np.bool_], rng: np.random.Generator) -> npt.NDArray[np.str_]:
    """Norwegian-looking given names (Faker nb_NO lists) by sex."""
    women = np.array(_NorwegianNames.first_names_female)
    men = np.array(_NorwegianNames.first_names_male)
    pick_w = women[rng.integers(0, women.size, male.size)]
    pick_m = men[rng.integers(0, men.size, male.size)]
    return np.where(male, pick_m, pick_w)


def family_names(count: int, rng: np.random.Generator) -> npt.NDArray[np.str_]:
    """Norwegian-looking family names (Faker nb_NO list)."""
    names = np.array(_NorwegianNames.last_names)
    return names[rng.integers(0, names.size, count)]
