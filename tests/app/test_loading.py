"""Loading the analytics again: what changed is replaced, the team's records stay attached."""

from __future__ import annotations

from typing import Any

import pytest

from pht.app.accounts.models import Practitioner
from pht.app.care import bulk
from pht.app.care.loading import load_bundle
from pht.app.care.models import Evidence, Patient, SurveyAnswer, TimelineEvent
from tests.app.bundle import make_bundle


def test_a_second_load_replaces_the_analytics_and_keeps_identities(loaded: Any) -> None:
    first = loaded["bundle"]
    before = {p.person_id: p for p in Patient.objects.all()}
    bundle = make_bundle()
    leaving = bundle.patients["person_id"].iloc[0]
    bundle.patients = bundle.patients[bundle.patients["person_id"] != leaving]
    changed = bundle.worklist["person_id"].iloc[1]
    bundle.worklist.loc[bundle.worklist["person_id"] == changed, "reasons"] = "ny vurdering"
    bundle.worklist.loc[bundle.worklist["person_id"] == changed, "risk_band"] = "very_high"
    gp = bundle.practitioners["practitioner_id"].iloc[0]
    bundle.practitioners.loc[bundle.practitioners["practitioner_id"] == gp, "fte"] = 0.4

    summary = load_bundle(bundle)

    assert summary.patients == len(first.patients) - 1 and summary.unlisted == 1
    gone = Patient.objects.get(person_id=leaving)
    assert not gone.listed and not gone.flagged
    now = Patient.objects.get(person_id=changed)
    assert now.reasons == "ny vurdering" and now.risk_band == "very_high"
    assert now.uid == before[changed].uid and now.name == before[changed].name
    assert Patient.objects.count() == len(before)  # nobody was created twice
    assert float(Practitioner.objects.get(practitioner_id=gp).fte) == 0.4
    listed = set(bundle.patients["person_id"])
    # the patient page's data of listed patients is replaced, not added to
    for model, frame in (
        (TimelineEvent, bundle.timeline),
        (Evidence, bundle.evidence),
        (SurveyAnswer, bundle.surveys),
    ):
        stored = model.objects.filter(patient__listed=True).count()  # type: ignore[attr-defined]
        assert stored == frame["person_id"].isin(listed).sum()
    event = bundle.timeline[bundle.timeline["person_id"] == changed].iloc[0]
    stored = TimelineEvent.objects.filter(patient=now, start=event["start"]).first()
    assert stored is not None and stored.title == event["title"]


def test_a_load_that_fails_half_way_changes_nothing(loaded: Any, monkeypatch: Any) -> None:
    before = sorted(Patient.objects.values_list("person_id", "reasons", "listed"))
    events = TimelineEvent.objects.count()
    bundle = make_bundle()
    bundle.worklist["reasons"] = "skulle ikke bli lagret"
    insert = bulk.insert

    def broken(model: Any, columns: Any) -> int:
        if model is TimelineEvent:
            raise RuntimeError("disk full")
        return insert(model, columns)

    monkeypatch.setattr(bulk, "insert", broken)
    with pytest.raises(RuntimeError):
        load_bundle(bundle)
    assert sorted(Patient.objects.values_list("person_id", "reasons", "listed")) == before
    assert TimelineEvent.objects.count() == events
