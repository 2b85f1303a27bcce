"""The worklist behaves the same on SQLite (the default) and PostgreSQL (production).

These run in both lanes: where the two databases differ by default (where NULLs sort, how ties
are broken between pages, which letters LIKE folds), the app must not.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.paginator import Paginator

from pht.app.accounts.models import Practice
from pht.app.care.models import Patient
from pht.app.care.views import worklist_queryset
from tests.app.bundle import PRACTICE_A


def rename_all(practice: Practice, stem: str) -> list[Patient]:
    """Give every listed patient of *practice* a name with *stem*, so one search finds all."""
    patients = list(Patient.objects.filter(practice=practice, listed=True).order_by("pk"))
    for i, p in enumerate(patients):
        p.name = f"{stem} {i:03d}"
    Patient.objects.bulk_update(patients, ["name"])
    return patients


@pytest.fixture
def practice(loaded: Any) -> Practice:
    return Practice.objects.get(pk=PRACTICE_A)


def test_search_sorted_by_rank_or_risk_lists_patients_without_them_last(
    practice: Practice,
) -> None:
    patients = rename_all(practice, "Hansen")
    assert any(p.rank is None for p in patients) and any(p.rank is not None for p in patients)
    by_rank = list(worklist_queryset(practice, {"q": "hansen", "sort": "rank"}))
    assert len(by_rank) == len(patients)
    ranks = [p.rank for p in by_rank]
    ranked = [r for r in ranks if r is not None]
    assert ranks == ranked + [None] * (len(ranks) - len(ranked)) and ranked == sorted(ranked)
    by_risk = list(worklist_queryset(practice, {"q": "hansen", "sort": "risk"}))
    risks = [p.risk for p in by_risk]
    known = [r for r in risks if r is not None]
    assert risks == known + [None] * (len(risks) - len(known))
    assert known == sorted(known, reverse=True)


@pytest.mark.parametrize("sort", ["rank", "risk", "name"])
def test_pages_of_tied_patients_show_each_patient_once(practice: Practice, sort: str) -> None:
    patients = rename_all(practice, "Olsen")
    # a dozen namesakes born the same day, without rank or risk: ties on every sort key
    twins = [p for p in patients if p.rank is None][:12]
    assert len(twins) == 12
    for p in twins:
        p.name, p.birth_date = "Olsen Tvilling", dt.date(1950, 5, 17)
    Patient.objects.bulk_update(twins, ["name", "birth_date"])
    paginator = Paginator(worklist_queryset(practice, {"q": "olsen", "sort": sort}), 5)
    seen = [p.pk for n in paginator.page_range for p in paginator.page(n).object_list]
    assert sorted(seen) == sorted(p.pk for p in patients)
    again = [p.pk for n in paginator.page_range for p in paginator.page(n).object_list]
    assert again == seen  # the same order every time the pages are walked


@pytest.mark.parametrize(
    ("name", "typed"),
    [
        ("Kari Østby", "østby"),
        ("Åse Ødegård", "ÅSE ØDEGÅRD"),
        ("Pål Ærø", "pÅl æRØ"),
    ],
)
def test_search_ignores_case_also_for_norwegian_letters(
    practice: Practice, name: str, typed: str
) -> None:
    patient = Patient.objects.filter(practice=practice, listed=True).order_by("pk").first()
    assert patient is not None
    patient.name = name
    patient.save(update_fields=["name"])
    found = list(worklist_queryset(practice, {"q": typed}))
    assert [p.pk for p in found] == [patient.pk]


def test_every_case_insensitive_lookup_folds_norwegian_letters(practice: Practice) -> None:
    patient = Patient.objects.filter(practice=practice, listed=True).order_by("pk").first()
    assert patient is not None
    patient.name = "Æsø Ødeløkkå"
    patient.save(update_fields=["name"])
    patients = Patient.objects.filter(practice=practice)
    for lookup, typed in (
        ("iexact", "æsø ødeløkkå"),
        ("icontains", "SØ ØDE"),
        ("istartswith", "æSØ"),
        ("iendswith", "LØKKÅ"),
    ):
        assert [p.pk for p in patients.filter(**{f"name__{lookup}": typed})] == [patient.pk]
    assert not patients.filter(name__icontains="odelokka").exists()


def test_loading_in_several_batches_twice_keeps_every_patient(db: Any, monkeypatch: Any) -> None:
    from pht.app.care import loading
    from tests.app.bundle import make_bundle

    monkeypatch.setattr(loading, "BATCH", 16)  # 80 patients: several batches of every insert
    bundle = make_bundle()
    first = loading.load_bundle(bundle)
    uids = dict(Patient.objects.values_list("person_id", "uid"))
    assert first.patients == len(uids) > 4 * 16
    second = loading.load_bundle(bundle)
    assert second.patients == first.patients and second.unlisted == 0
    assert dict(Patient.objects.values_list("person_id", "uid")) == uids
    assert Patient.objects.filter(listed=True, flagged=True).count() == first.flagged
