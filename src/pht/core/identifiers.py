"""Norwegian identifiers: fødselsnummer and its variants, organisasjonsnummer, HPR, bank account.

Check-digit arithmetic comes from python-stdnum; this module adds what the scheme needs on top:
the variants (D-number: day + 40, H-number: month + 40, synthetic numbers of the national test
population: month + 80), birth date and sex derived from any of them, and a *reason* for every
rejection (in Norwegian bokmål: the reasons reach users in problem reports and forms).

Rules (sources in docs/reference-data.md):

* fødselsnummer: ``DDMMYY`` + 3-digit individual number + 2 check digits;
  k1 = 11 − (Σ d1..d9 × [3 7 6 1 8 9 4 5 2]) mod 11, k2 = 11 − (Σ d1..d10 × [5 4 3 2 7 6 5 4 3 2])
  mod 11; 11 → 0, 10 → the number cannot exist.
* century from the individual number: 000–499 → 1900s; 500–749 with YY ≥ 54 → 1854–1899;
  500–999 with YY < 40 → 2000–2039; 900–999 with YY ≥ 40 → 1940–1999; otherwise invalid.
* organisasjonsnummer: 9 digits, mod-11 with weights 3 2 7 6 5 4 3 2.
* HPR number: 1–9 digits, no published check digit.
* bank account (kontonummer): 11 digits, mod-11 with weights 5 4 3 2 7 6 5 4 3 2.

The vectorised :func:`person_id_problems` applies exactly the same rules to whole columns; the
scalar :func:`parse_person_id` is its test oracle.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from stdnum.no import fodselsnummer as _fnr
from stdnum.no import kontonr as _kontonr
from stdnum.no import orgnr as _orgnr

from pht.core.errors import InvalidIdentifier

__all__ = [
    "PersonIdKind",
    "PersonIdentifier",
    "is_valid_bank_account",
    "is_valid_hpr",
    "is_valid_orgnr",
    "is_valid_person_id",
    "make_orgnr",
    "make_person_id",
    "parse_person_id",
    "person_id_problems",
    "validate_bank_account",
    "validate_hpr",
    "validate_orgnr",
    "validate_person_id",
]

_W1 = np.array([3, 7, 6, 1, 8, 9, 4, 5, 2])
_W2 = np.array([5, 4, 3, 2, 7, 6, 5, 4, 3, 2])
_ORG_W = np.array([3, 2, 7, 6, 5, 4, 3, 2])


class PersonIdKind(StrEnum):
    """Which kind of person number an 11-digit identifier is."""

    FODSELSNUMMER = "fodselsnummer"
    D_NUMBER = "d_number"
    H_NUMBER = "h_number"
    SYNTHETIC = "synthetic"  # national test population (Test Norge / Tenor): month + 80


@dataclass(frozen=True, slots=True)
class PersonIdentifier:
    """A valid person number with what can be derived from it."""

    number: str
    kind: PersonIdKind
    birth_date: dt.date
    sex: str  # "F" or "M": the third individual digit, even for women

    @property
    def is_synthetic(self) -> bool:
        """True for numbers of the national test population, which no real person holds."""
        return self.kind is PersonIdKind.SYNTHETIC

    @property
    def is_d_number(self) -> bool:
        """True for D-numbers (day + 40), also when the number is synthetic."""
        return int(self.number[0]) >= 4


def _century(individual: int, yy: int) -> int | None:
    if individual < 500:
        return 1900
    if individual < 750 and yy >= 54:
        return 1800
    if yy < 40:
        return 2000
    if individual >= 900:
        return 1900
    return None


def parse_person_id(
    value: str, *, today: dt.date | None = None, where: str | None = None
) -> PersonIdentifier:
    """Parse a fødselsnummer, D-number, H-number or synthetic test number.

    Raises :class:`InvalidIdentifier` with the reason when the number cannot be valid.
    """
    kind = "fødselsnummer"
    number = value
    if not isinstance(number, str):
        raise InvalidIdentifier(str(value), "er ikke tekst", kind=kind, where=where)
    # exactly the 11 digits: a padded number is refused here as by person_id_problems
    if len(number) != 11:
        raise InvalidIdentifier(
            value, f"må ha 11 sifre, har {len(number)} tegn", kind=kind, where=where
        )
    if not number.isascii() or not number.isdigit():
        raise InvalidIdentifier(value, "kan bare inneholde sifre", kind=kind, where=where)
    k1 = _fnr.calc_check_digit1(number)
    if k1 == "10":
        raise InvalidIdentifier(
            value,
            "første kontrollsiffer ville blitt 10: et slikt nummer finnes ikke",
            kind=kind,
            where=where,
        )
    if number[9] != k1:
        raise InvalidIdentifier(
            value,
            f"første kontrollsiffer er {number[9]}, skulle vært {k1}",
            kind=kind,
            where=where,
        )
    k2 = _fnr.calc_check_digit2(number)
    if k2 == "10":
        raise InvalidIdentifier(
            value,
            "andre kontrollsiffer ville blitt 10: et slikt nummer finnes ikke",
            kind=kind,
            where=where,
        )
    if number[10] != k2:
        raise InvalidIdentifier(
            value,
            f"andre kontrollsiffer er {number[10]}, skulle vært {k2}",
            kind=kind,
            where=where,
        )
    day, month, yy = int(number[0:2]), int(number[2:4]), int(number[4:6])
    individual = int(number[6:9])
    person_kind = PersonIdKind.FODSELSNUMMER
    if day > 40:
        day -= 40
        person_kind = PersonIdKind.D_NUMBER
    if month > 80:
        month -= 80
        person_kind = PersonIdKind.SYNTHETIC
    elif month > 40:
        if person_kind is PersonIdKind.D_NUMBER:
            raise InvalidIdentifier(
                value,
                "både dag + 40 og måned + 40: et slikt nummer finnes ikke",
                kind=kind,
                where=where,
            )
        month -= 40
        person_kind = PersonIdKind.H_NUMBER
    if not 1 <= month <= 12:
        raise InvalidIdentifier(
            value, f"måned {number[2:4]} er ikke gyldig", kind=kind, where=where
        )
    century = _century(individual, yy)
    if century is None:
        raise InvalidIdentifier(
            value,
            f"individnummer {number[6:9]} med år {number[4:6]} gir ikke et gyldig århundre",
            kind=kind,
            where=where,
        )
    try:
        birth = dt.date(century + yy, month, day)
    except ValueError:
        raise InvalidIdentifier(
            value,
            f"{number[0:2]}.{month:02d}.{century + yy} er ikke en gyldig dato",
            kind=kind,
            where=where,
        ) from None
    if birth > (today or dt.date.today()):
        raise InvalidIdentifier(
            value,
            f"fødselsdatoen {birth.strftime('%d.%m.%Y')} er i fremtiden",
            kind=kind,
            where=where,
        )
    sex = "M" if int(number[8]) % 2 else "F"
    return PersonIdentifier(number=number, kind=person_kind, birth_date=birth, sex=sex)


def validate_person_id(value: str, *, today: dt.date | None = None) -> str | None:
    """Return ``None`` when *value* is a valid person number, else the reason it is not."""
    try:
        parse_person_id(value, today=today)
    except InvalidIdentifier as err:
        return err.reason
    return None


def is_valid_person_id(value: str, *, today: dt.date | None = None) -> bool:
    """True when *value* is a valid fødselsnummer, D-, H- or synthetic number."""
    return validate_person_id(value, today=today) is None


def make_person_id(
    birth_date: dt.date,
    individual: int,
    *,
    kind: PersonIdKind = PersonIdKind.SYNTHETIC,
    d_number: bool = False,
) -> str | None:
    """Build a person number from birth date and a 3-digit individual number.

    Returns ``None`` when the check digits for that individual number would be 10 (such numbers
    are never issued; try the next individual number). Raises :class:`ValueError` when the
    individual number cannot encode the birth year's century.
    """
    if not 0 <= individual <= 999:
        raise ValueError(f"individual number must be 0–999, got {individual}")
    yy = birth_date.year % 100
    if _century(individual, yy) != birth_date.year - yy:
        raise ValueError(f"individual number {individual:03d} cannot encode {birth_date.year}")
    day = birth_date.day + (40 if d_number or kind is PersonIdKind.D_NUMBER else 0)
    month = birth_date.month
    if kind is PersonIdKind.SYNTHETIC:
        month += 80
    elif kind is PersonIdKind.H_NUMBER:
        month += 40
    base = f"{day:02d}{month:02d}{yy:02d}{individual:03d}"
    k1 = _fnr.calc_check_digit1(base)
    if k1 == "10":
        return None
    k2 = _fnr.calc_check_digit2(base + k1)
    if k2 == "10":
        return None
    return base + k1 + k2


# --- vectorised -------------------------------------------------------------------------------

# Reasons returned by person_id_problems; the scalar function gives more detail for one value.
# (Norwegian bokmål: they reach users in problem reports.)
REASON_LENGTH = "må ha 11 sifre"
REASON_DIGITS = "kan bare inneholde sifre"
REASON_CHECK1 = "første kontrollsiffer er feil"
REASON_CHECK2 = "andre kontrollsiffer er feil"
REASON_MONTH = "måneden er ikke gyldig"
REASON_CENTURY = "individnummeret gir ikke et gyldig århundre"
REASON_DATE = "fødselsdatoen er ikke en gyldig dato"
REASON_FUTURE = "fødselsdatoen er i fremtiden"
REASON_DH = "både dag + 40 og måned + 40"


def person_id_problems(
    values: npt.ArrayLike, *, today: dt.date | None = None
) -> npt.NDArray[np.object_]:
    """Check a whole column of person numbers at once.

    Returns an object array of the same length holding ``None`` for valid numbers and a short
    reason for invalid ones. Same rules as :func:`parse_person_id`, without a Python loop per row.
    """
    arr = np.asarray(values, dtype=object)
    n = arr.shape[0]
    out = np.full(n, None, dtype=object)
    if n == 0:
        return out
    strings = ["" if not isinstance(v, str) else v for v in arr]
    # lengths from Python: NumPy's fixed-width text drops trailing NUL characters
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=n)
    bad_len = lengths != 11
    out[bad_len] = REASON_LENGTH
    ok = ~bad_len
    if not ok.any():
        return out
    # The 11-character values as a matrix of bytes, one row each (encoded in one go); a value
    # with a non-ASCII character keeps a row of zeros, and non-digits fail.
    idx_ok = np.flatnonzero(ok)
    candidates = list(itertools.compress(strings, ok.tolist()))
    data = "".join(candidates).encode("utf-8", "surrogatepass")
    if len(data) == 11 * idx_ok.size:  # every character is one byte: all ASCII
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 11)
    else:
        ascii_only = np.fromiter((c.isascii() for c in candidates), bool, count=idx_ok.size)
        raw = np.zeros((idx_ok.size, 11), dtype=np.uint8)
        plain = "".join(c for c, a in zip(candidates, ascii_only, strict=True) if a)
        raw[ascii_only] = np.frombuffer(plain.encode("ascii"), dtype=np.uint8).reshape(-1, 11)
    is_digit = ((raw >= 48) & (raw <= 57)).all(axis=1)
    out[idx_ok[~is_digit]] = REASON_DIGITS
    idx = idx_ok[is_digit]
    if idx.size == 0:
        return out
    digits = raw[is_digit].astype(np.int64) - 48
    k1 = (11 - (digits[:, :9] @ _W1) % 11) % 11
    k2 = (11 - (digits[:, :10] @ _W2) % 11) % 11
    reason = np.full(idx.size, None, dtype=object)
    reason[(k2 != digits[:, 10])] = REASON_CHECK2
    reason[(k1 != digits[:, 9])] = REASON_CHECK1
    day = digits[:, 0] * 10 + digits[:, 1]
    month = digits[:, 2] * 10 + digits[:, 3]
    yy = digits[:, 4] * 10 + digits[:, 5]
    individual = digits[:, 6] * 100 + digits[:, 7] * 10 + digits[:, 8]
    is_d = day > 40
    day = np.where(is_d, day - 40, day)
    synthetic = month > 80
    h_number = (month > 40) & ~synthetic
    month = np.where(synthetic, month - 80, np.where(h_number, month - 40, month))
    century = np.select(
        [
            individual < 500,
            (individual < 750) & (yy >= 54),
            yy < 40,
            individual >= 900,
        ],
        [1900, 1800, 2000, 1900],
        default=-1,
    )
    pending = reason == None  # noqa: E711 - elementwise comparison on an object array
    dh = pending & is_d & h_number
    reason[dh] = REASON_DH
    pending &= ~dh
    bad_month = pending & ~((month >= 1) & (month <= 12))
    reason[bad_month] = REASON_MONTH
    pending &= ~bad_month
    bad_century = pending & (century < 0)
    reason[bad_century] = REASON_CENTURY
    pending &= ~bad_century
    if pending.any():
        parsed = _dates_or_nat(century[pending] + yy[pending], month[pending], day[pending])
        bad_date = np.isnat(parsed)
        limit = np.datetime64(today or dt.date.today(), "D")
        future = ~bad_date & (parsed > limit)
        sub_reason = np.full(parsed.shape[0], None, dtype=object)
        sub_reason[bad_date] = REASON_DATE
        sub_reason[future] = REASON_FUTURE
        reason[pending] = sub_reason
    out[idx] = reason
    return out


def _dates_or_nat(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
) -> npt.NDArray[np.datetime64]:
    """Dates from year, month (1–12) and day arrays; impossible days (30 February) become NaT."""
    month_index = (year - 1970) * 12 + (month - 1)
    first = month_index.astype("datetime64[M]").astype("datetime64[D]")
    days_in_month = (month_index + 1).astype("datetime64[M]").astype("datetime64[D]") - first
    valid = (day >= 1) & (day <= days_in_month.astype(np.int64))
    parsed = np.full(year.shape[0], np.datetime64("NaT"), dtype="datetime64[D]")
    parsed[valid] = first[valid] + (day[valid] - 1).astype("timedelta64[D]")
    return parsed


# --- organisations, practitioners, accounts ----------------------------------------------------


def validate_orgnr(value: str) -> str | None:
    """Return ``None`` for a valid organisasjonsnummer, else the reason it is not."""
    if not isinstance(value, str):
        return "er ikke tekst"
    number = value.strip()
    if len(number) != 9:
        return f"må ha 9 sifre, har {len(number)} tegn"
    if not number.isascii() or not number.isdigit():
        return "kan bare inneholde sifre"
    weighted = sum(int(d) * w for d, w in zip(number[:8], _ORG_W, strict=True))
    expected = (11 - weighted % 11) % 11
    if expected == 10:
        return "kontrollsifferet ville blitt 10: et slikt nummer finnes ikke"
    if _orgnr.checksum(number) != 0:
        return f"kontrollsifferet er {number[8]}, skulle vært {expected}"
    return None


def is_valid_orgnr(value: str) -> bool:
    """True when *value* is a valid organisasjonsnummer."""
    return validate_orgnr(value) is None


def make_orgnr(first8: str) -> str | None:
    """Append the check digit to 8 digits; ``None`` when no valid check digit exists."""
    if len(first8) != 8 or not first8.isdigit():
        raise ValueError(f"need 8 digits, got {first8!r}")
    weighted = sum(int(d) * w for d, w in zip(first8, _ORG_W, strict=True))
    check = (11 - weighted % 11) % 11
    return None if check == 10 else first8 + str(check)


def validate_hpr(value: str) -> str | None:
    """Return ``None`` for a plausible HPR number (1–9 digits, not zero), else the reason."""
    if not isinstance(value, str):
        return "er ikke tekst"
    number = value.strip()
    if not number or not number.isascii() or not number.isdigit():
        return "kan bare inneholde sifre"
    if len(number) > 9:
        return f"kan ha høyst 9 sifre, har {len(number)}"
    if int(number) == 0:
        return "kan ikke være null"
    return None


def is_valid_hpr(value: str) -> bool:
    """True when *value* is a plausible HPR number."""
    return validate_hpr(value) is None


def validate_bank_account(value: str) -> str | None:
    """Return ``None`` for a valid Norwegian bank account number (11 digits, mod 11)."""
    if not isinstance(value, str):
        return "er ikke tekst"
    number = value.replace(".", "").replace(" ", "").strip()
    if not number.isascii() or not number.isdigit():
        return "kan bare inneholde sifre (punktum og mellomrom er tillatt)"
    if len(number) != 11:
        return f"må ha 11 sifre, har {len(number)}"
    if not _kontonr.is_valid(number):
        return "kontrollsifferet stemmer ikke"
    return None


def is_valid_bank_account(value: str) -> bool:
    """True when *value* is a valid Norwegian bank account number."""
    return validate_bank_account(value) is None
