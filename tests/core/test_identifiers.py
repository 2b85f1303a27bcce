"""Norwegian identifiers: every valid number accepted, every invalid one rejected with a reason."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pht.core.errors import InvalidIdentifier
from pht.core.identifiers import (
    PersonIdKind,
    make_orgnr,
    make_person_id,
    parse_person_id,
    person_id_problems,
    validate_bank_account,
    validate_hpr,
    validate_orgnr,
    validate_person_id,
)

TODAY = dt.date(2026, 11, 23)


def individual_for(year: int, draw: int) -> int:
    """An individual number that encodes *year*'s century (draw in 0..999 picks within range)."""
    if 1854 <= year <= 1899:
        return 500 + draw % 250
    if 1900 <= year <= 1939:
        return draw % 500
    if 1940 <= year <= 1999:
        return [draw % 500, 900 + draw % 100][draw % 2]
    if 2000 <= year <= 2039:
        return 500 + draw % 500
    raise AssertionError(year)


dates = st.dates(min_value=dt.date(1854, 1, 1), max_value=TODAY)
kinds = st.sampled_from(list(PersonIdKind))


@st.composite
def valid_person_ids(draw: st.DrawFn) -> tuple[str, dt.date, PersonIdKind, int]:
    birth = draw(dates)
    kind = draw(kinds)
    individual = individual_for(birth.year, draw(st.integers(0, 999)))
    number = make_person_id(birth, individual, kind=kind)
    assume(number is not None)
    assert number is not None
    return number, birth, kind, individual


@given(valid_person_ids())
def test_every_valid_number_parses_back_to_its_birth_date_sex_and_kind(
    case: tuple[str, dt.date, PersonIdKind, int],
) -> None:
    number, birth, kind, individual = case
    parsed = parse_person_id(number, today=TODAY)
    assert parsed.birth_date == birth
    assert parsed.kind is kind
    assert parsed.sex == ("M" if individual % 10 % 2 else "F")
    assert validate_person_id(number, today=TODAY) is None


@given(valid_person_ids(), st.integers(0, 10), st.integers(1, 9))
def test_changing_any_single_digit_is_rejected_with_a_reason(
    case: tuple[str, dt.date, PersonIdKind, int], position: int, delta: int
) -> None:
    number = case[0]
    digit = (int(number[position]) + delta) % 10
    broken = number[:position] + str(digit) + number[position + 1 :]
    reason = validate_person_id(broken, today=TODAY)
    assert reason is not None
    assert "kontrollsiffer" in reason


@given(valid_person_ids())
def test_swapping_the_check_digits_is_rejected(
    case: tuple[str, dt.date, PersonIdKind, int],
) -> None:
    number = case[0]
    assume(number[9] != number[10])
    assert validate_person_id(number[:9] + number[10] + number[9], today=TODAY) is not None


@pytest.mark.parametrize(
    ("number", "kind", "birth", "sex"),
    [
        ("13031353453", PersonIdKind.FODSELSNUMMER, dt.date(2013, 3, 13), "F"),  # HL7 no-basis
        ("21030550231", PersonIdKind.FODSELSNUMMER, dt.date(2005, 3, 21), "F"),  # HL7 no-basis
        ("15108695088", PersonIdKind.FODSELSNUMMER, dt.date(1986, 10, 15), "F"),  # stdnum docs
        ("10915596784", PersonIdKind.SYNTHETIC, dt.date(1955, 11, 10), "M"),  # Test Norge example
    ],
)
def test_published_examples(number: str, kind: PersonIdKind, birth: dt.date, sex: str) -> None:
    parsed = parse_person_id(number, today=TODAY)
    assert (parsed.kind, parsed.birth_date, parsed.sex) == (kind, birth, sex)


def test_d_h_and_synthetic_numbers_are_recognised() -> None:
    birth = dt.date(1980, 2, 29)
    d = make_person_id(birth, 1, kind=PersonIdKind.D_NUMBER) or make_person_id(
        birth, 2, kind=PersonIdKind.D_NUMBER
    )
    assert d is not None and d.startswith("69")
    assert parse_person_id(d, today=TODAY).kind is PersonIdKind.D_NUMBER
    h = make_person_id(birth, 5, kind=PersonIdKind.H_NUMBER) or make_person_id(
        birth, 6, kind=PersonIdKind.H_NUMBER
    )
    assert h is not None and h[2:4] == "42"
    s = make_person_id(birth, 7, kind=PersonIdKind.SYNTHETIC) or make_person_id(
        birth, 8, kind=PersonIdKind.SYNTHETIC
    )
    assert s is not None and s[2:4] == "82"
    assert parse_person_id(s, today=TODAY).is_synthetic


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("1234567890", "må ha 11 sifre, har 10 tegn"),
        ("1234567890a", "kan bare inneholde sifre"),
        ("15064312345", "første kontrollsiffer er"),
        ("", "må ha 11 sifre, har 0 tegn"),
    ],
)
def test_invalid_numbers_say_why(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as err:
        parse_person_id(number, today=TODAY)
    assert reason in err.value.reason


def _with_check_digits(first9: str) -> str:
    """Correct check digits for *first9*, varying its last digit until both exist."""
    from stdnum.no import fodselsnummer

    for last in range(10):
        base = first9[:8] + str((int(first9[8]) + last) % 10)
        k1 = fodselsnummer.calc_check_digit1(base)
        k2 = fodselsnummer.calc_check_digit2(base + k1)
        if "10" not in (k1, k2):
            return base + k1 + k2
    raise AssertionError(first9)


@pytest.mark.parametrize(
    ("first9", "reason"),
    [
        ("300201001", "30.02.1901 er ikke en gyldig dato"),  # 30 February
        ("011301001", "måned 13 er ikke gyldig"),  # month 13
        ("010150500", "gir ikke et gyldig århundre"),  # individual 500–899 with YY 40–53
        ("010130999", "er i fremtiden"),  # 2030
        ("415101001", "både dag + 40 og måned + 40"),
    ],
)
def test_impossible_dates_are_rejected_even_with_correct_check_digits(
    first9: str, reason: str
) -> None:
    number = _with_check_digits(first9)
    assert reason in (validate_person_id(number, today=TODAY) or "")


@settings(max_examples=300)
@given(
    st.lists(
        st.one_of(
            valid_person_ids().map(lambda c: c[0]),
            st.text(alphabet="0123456789", min_size=11, max_size=11),
            st.text(max_size=12),
        ),
        max_size=40,
    )
)
def test_vectorised_check_agrees_with_the_scalar_rules(values: list[str]) -> None:
    vector = person_id_problems(np.array(values, dtype=object), today=TODAY)
    for value, problem in zip(values, vector, strict=True):
        scalar = validate_person_id(value, today=TODAY)
        assert (problem is None) == (scalar is None), (value, problem, scalar)


@given(st.text(alphabet="0123456789", min_size=8, max_size=8), st.integers(0, 8), st.integers(1, 9))
def test_orgnr_valid_ones_pass_and_any_single_digit_change_fails(
    first8: str, position: int, delta: int
) -> None:
    number = make_orgnr(first8)
    assume(number is not None)
    assert number is not None
    assert validate_orgnr(number) is None
    broken = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    assert validate_orgnr(broken) is not None


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("915933149", None),
        ("123456785", None),
        ("123456789", "kontrollsifferet er 9, skulle vært 5"),
        ("12345678", "må ha 9 sifre, har 8 tegn"),
        ("12345678x", "kan bare inneholde sifre"),
    ],
)
def test_orgnr_examples(number: str, reason: str | None) -> None:
    got = validate_orgnr(number)
    assert got == reason if reason is None else reason in (got or "")


def test_orgnr_whose_check_digit_would_be_10_cannot_exist() -> None:
    for i in range(1000):
        prefix = f"9{i:07d}"
        if make_orgnr(prefix) is None:
            assert all(
                "kontrollsifferet ville blitt 10" in (validate_orgnr(prefix + str(d)) or "")
                for d in range(10)
            )
            return
    pytest.fail("no prefix with check digit 10 found")


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("9144889", True),
        ("1", True),
        ("123456789", True),
        ("1234567890", False),
        ("0", False),
        ("12a4", False),
        ("", False),
    ],
)
def test_hpr_numbers(number: str, ok: bool) -> None:
    assert (validate_hpr(number) is None) is ok


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("8601 11 17947", True),
        ("86011117947", True),
        ("8601.11.17947", True),
        ("86011117948", False),
        ("8601111794", False),
    ],
)
def test_bank_account_numbers(number: str, ok: bool) -> None:
    assert (validate_bank_account(number) is None) is ok
