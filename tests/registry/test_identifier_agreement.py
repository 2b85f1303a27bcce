"""The scalar and the vectorised person-number checks agree on every input."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from pht.core.identifiers import (
    PersonIdKind,
    make_person_id,
    person_id_problems,
    validate_person_id,
)

TODAY = dt.date(2024, 6, 1)


@st.composite
def near_person_numbers(draw: st.DrawFn) -> str:
    """Valid numbers of every kind, and small damage to them (padding, digits, characters)."""
    day = draw(st.dates(dt.date(1855, 1, 1), dt.date(2039, 12, 31)))
    kind = draw(st.sampled_from(list(PersonIdKind)))
    number = None
    individual = draw(st.integers(0, 999))
    try:
        number = make_person_id(day, individual, kind=kind)
    except ValueError:
        number = None
    text = number or f"{day:%d%m%y}{individual:03d}00"
    damage = draw(
        st.sampled_from(["none", "pad", "digit", "char", "cut", "nul", "swap", "unicode"])
    )
    if damage == "pad":
        text = draw(st.sampled_from([" ", "\t", "0", "\n"])) + text
    elif damage == "digit":
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + str(draw(st.integers(0, 9))) + text[i + 1 :]
    elif damage == "char":
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + draw(st.characters()) + text[i + 1 :]
    elif damage == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "nul":
        text = text + "\x00"
    elif damage == "swap":
        text = text[:9] + text[10] + text[9]
    elif damage == "unicode":
        text = text[:5] + "\u0661" + text[6:]  # an Arabic-Indic digit
    return text


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(near_person_numbers(), st.text(max_size=13)), max_size=20))
def test_scalar_and_vectorised_checks_agree(values: list[str]) -> None:
    vectorised = person_id_problems(values, today=TODAY)
    for value, problem in zip(values, vectorised, strict=True):
        scalar = validate_person_id(value, today=TODAY)
        assert (scalar is None) == (problem is None), (value, scalar, problem)


def test_a_padded_number_fails_both() -> None:
    number = make_person_id(dt.date(1960, 5, 17), 123, kind=PersonIdKind.SYNTHETIC)
    assert number is not None
    for padded in (" " + number, number + " ", number + "\n"):
        assert validate_person_id(padded, today=TODAY) is not None
        assert person_id_problems([padded], today=TODAY)[0] is not None
