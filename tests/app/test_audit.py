"""The audit log: append-only, filterable, exportable, for the daily leader only."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from pht.app.audit.models import AuditAction, AuditEntry, AuditImmutable
from pht.app.care.models import Patient
from tests.app.bundle import PRACTICE_A, PRACTICE_B
from tests.app.conftest import client_for


def open_patient(client: Any, user: Any, practice: str = PRACTICE_A) -> Patient:
    patient = Patient.objects.filter(practice_id=practice).order_by("name").first()
    assert patient is not None
    client_for(client, user)
    assert client.get(reverse("care:patient", kwargs={"uid": patient.uid})).status_code == 200
    return patient


def test_entries_cannot_be_changed_or_deleted(client: Any, users: Any) -> None:
    open_patient(client, users["nurse_a"])
    entry = AuditEntry.objects.filter(action=AuditAction.VIEW_PATIENT).get()
    entry.reason = "endret"
    with pytest.raises(AuditImmutable):
        entry.save()
    with pytest.raises(AuditImmutable):
        entry.delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.all().update(reason="x")
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.all().delete()
    # not even raw SQL: the database refuses
    for sql in ("UPDATE audit_auditentry SET reason = 'x'", "DELETE FROM audit_auditentry"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql)
    assert AuditEntry.objects.get(pk=entry.pk).reason != "endret"


def test_team_lead_sees_who_opened_which_patient(client: Any, users: Any) -> None:
    patient = open_patient(client, users["nurse_a"])
    open_patient(client, users["nurse_b"], PRACTICE_B)
    client_for(client, users["lead_a"])
    html = client.get(reverse("audit:list"), {"patient": patient.person_id}).content.decode()
    assert users["nurse_a"].username in html and patient.name in html
    assert users["nurse_b"].username not in html  # other practice's entries are not shown
    html = client.get(reverse("audit:list"), {"user": "sykepleier-02"}).content.decode()
    assert patient.name in html


def test_audit_page_is_for_the_team_lead_only(client: Any, users: Any) -> None:
    for who in ("nurse_a", "secretary_a", "analyst"):
        client_for(client, users[who])
        assert client.get(reverse("audit:list")).status_code == 403
        assert client.get(reverse("audit:export")).status_code == 403


def test_csv_export(client: Any, users: Any) -> None:
    patient = open_patient(client, users["nurse_a"])
    client_for(client, users["lead_a"])
    response = client.get(reverse("audit:export"), {"action": AuditAction.VIEW_PATIENT})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["person_id"] for r in rows] == [patient.person_id]
    assert rows[0]["username"] == users["nurse_a"].username
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT_AUDIT).exists()


def test_bad_filter_dates_are_rejected_beside_the_field(client: Any, users: Any) -> None:
    client_for(client, users["lead_a"])
    html = client.get(
        reverse("audit:list"), {"date_from": "2026-02-01", "date_to": "2026-01-01"}
    ).content.decode()
    assert "Til-datoen må være etter fra-datoen." in html
