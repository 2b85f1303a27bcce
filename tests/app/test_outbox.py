"""The outbox: enqueue with its audit entry, validation, senders by settings, and the e-mail
sender against a real SMTP server (aiosmtpd, started by the fixture)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.care.actions import AccessDenied
from pht.app.care.models import Patient
from pht.app.outbox import actions, hooks
from pht.app.outbox.models import Message, Status
from pht.app.outbox.senders import FileSender, SmtpEmailSender, sender_for
from tests.app.bundle import PRACTICE_A
from tests.app.smtp import SmtpServer, free_port


@pytest.fixture
def patient(users: Any) -> Patient:
    return Patient.objects.filter(practice_id=PRACTICE_A, listed=True).order_by("id").first()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


@pytest.fixture
def to_files(settings: Any, tmp_path: Path) -> Path:
    settings.PHT_OUTBOX_DIR = str(tmp_path / "outbox")
    settings.PHT_OUTBOX_SENDERS = {}
    return tmp_path / "outbox"


def _sms(user: Any, patient: Patient, **kw: Any) -> Message:
    args = {"channel": "sms", "recipient": "912 34 567", "body": "Hei! Du er kalt inn."}
    args.update(kw)
    return actions.enqueue(user=user, patient=patient, purpose="recall", **args)


def test_enqueue_stores_the_message_and_its_audit_entry(users: Any, patient: Patient) -> None:
    m = _sms(users["secretary_a"], patient, ref="task:1")
    assert m.status == Status.QUEUED and m.recipient == "+4791234567"
    assert m.practice_id == PRACTICE_A and m.created_by == users["secretary_a"]
    entry = AuditEntry.objects.get(action=AuditAction.OUTBOX_ENQUEUE)
    assert entry.patient_uid == patient.uid and entry.username == "sekretaer-02"
    assert "Hei" not in entry.detail  # the text stays out of the log


@pytest.mark.parametrize(
    ("channel", "recipient", "body", "subject", "field"),
    [
        ("fax", "91234567", "x", "", "channel"),
        ("sms", "1234", "x", "", "recipient"),
        ("sms", "+4712345678", "x", "", "recipient"),  # not a Norwegian mobile number
        ("sms", "91234567", "   ", "", "body"),
        ("sms", "91234567", "x" * 919, "", "body"),
        ("email", "not-an-address", "x", "Emne", "recipient"),
        ("email", "ola@example.no", "x", "", "subject"),
        ("letter", "Ola Nordmann", "x", "", "recipient"),  # no postal address
    ],
)
def test_bad_input_names_the_field_and_stores_nothing(
    users: Any, patient: Patient, channel: str, recipient: str, body: str, subject: str, field: str
) -> None:
    with pytest.raises(actions.OutboxError) as err:
        actions.enqueue(
            user=users["nurse_a"],
            patient=patient,
            channel=channel,
            recipient=recipient,
            body=body,
            subject=subject,
            purpose="recall",
        )
    assert err.value.field == field
    assert not Message.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditAction.OUTBOX_ENQUEUE).exists()


def test_another_practice_may_not_enqueue(users: Any, patient: Patient) -> None:
    with pytest.raises(AccessDenied):
        _sms(users["nurse_b"], patient)
    with pytest.raises(AccessDenied):
        _sms(users["analyst"], patient)
    assert not Message.objects.exists()


def test_a_failing_audit_write_stores_no_message(
    users: Any, patient: Patient, monkeypatch: Any
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(actions, "record", broken)
    with pytest.raises(RuntimeError):
        _sms(users["nurse_a"], patient)
    assert not Message.objects.exists()


def test_file_sender_by_default_writes_each_channel(
    users: Any, patient: Patient, to_files: Path
) -> None:
    assert isinstance(sender_for("sms"), FileSender)
    _sms(users["nurse_a"], patient)
    actions.enqueue(
        user=users["nurse_a"],
        patient=patient,
        channel="letter",
        recipient="Ola Nordmann\nStorgata 1\n0155 Oslo",
        body="Innkalling",
        purpose="recall",
        attachment=b"%PDF-1.4 test",
        attachment_name="innkalling.pdf",
        attachment_type="application/pdf",
    )
    actions.enqueue(
        user=None,
        patient=patient,
        channel="email",
        recipient="ola@example.no",
        subject="Innkalling",
        body="Velkommen",
        purpose="recall",
    )
    summary = actions.send_pending()
    assert (summary.sent, summary.failed, summary.retry) == (3, 0, 0)
    files = sorted(p.name for p in to_files.rglob("*") if p.is_file())
    assert len(files) == 4 and any(f.endswith("innkalling.pdf") for f in files)
    sms = next(to_files.glob("sms/*/*.txt")).read_text(encoding="utf-8")
    assert "+4791234567" in sms and "Du er kalt inn" in sms
    assert all(
        m.status == Status.SENT and m.sent_at and m.sender == "file" for m in Message.objects.all()
    )
    assert AuditEntry.objects.filter(action=AuditAction.OUTBOX_SENT, username="system").count() == 3
    assert actions.send_pending().sent == 0  # nothing is sent twice


def test_email_through_a_real_smtp_server(
    users: Any, patient: Patient, smtp: SmtpServer, settings: Any
) -> None:
    settings.PHT_OUTBOX_SENDERS = {"email": "smtp"}
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    settings.PHT_OUTBOX_FROM = "legekontoret@pht.example"
    assert isinstance(sender_for("email"), SmtpEmailSender)
    ok = actions.enqueue(
        user=users["nurse_a"],
        patient=patient,
        channel="email",
        recipient="ola@example.no",
        subject="Innkalling til årskontroll",
        body="Hei! Velkommen til årskontroll.",
        purpose="recall",
        attachment=b"%PDF-1.4 x",
        attachment_name="innkalling.pdf",
        attachment_type="application/pdf",
    )
    refused = actions.enqueue(
        user=users["nurse_a"],
        patient=patient,
        channel="email",
        recipient="refuse@example.no",
        subject="x",
        body="y",
        purpose="recall",
    )
    summary = actions.send_pending()
    assert (summary.sent, summary.failed) == (1, 1)
    assert len(smtp.messages) == 1
    got = smtp.messages[0]
    assert got.rcpt_tos == ["ola@example.no"] and got.mail_from == "legekontoret@pht.example"
    assert got.message["Subject"] == "Innkalling til årskontroll"
    parts = list(got.message.walk())
    text = next(p for p in parts if p.get_content_type() == "text/plain")
    assert "Velkommen til årskontroll" in text.get_content()
    assert any(p.get_filename() == "innkalling.pdf" for p in parts)
    ok.refresh_from_db()
    refused.refresh_from_db()
    assert ok.status == Status.SENT and ok.receipt == got.message["Message-ID"]
    assert refused.status == Status.FAILED and "550" in refused.failure_reason
    assert refused.attempts == 1  # a refused recipient is not tried again
    assert AuditEntry.objects.filter(action=AuditAction.OUTBOX_FAILED).count() == 1


def test_server_down_is_retried_then_failed(users: Any, patient: Patient, settings: Any) -> None:
    settings.PHT_OUTBOX_SENDERS = {"email": "smtp"}
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    m = actions.enqueue(
        user=users["nurse_a"],
        patient=patient,
        channel="email",
        recipient="ola@example.no",
        subject="x",
        body="y",
        purpose="recall",
    )
    now = timezone.now()
    for attempt in range(1, actions.MAX_ATTEMPTS + 1):
        summary = actions.send_pending(now=now)
        m.refresh_from_db()
        assert m.attempts == attempt
        if attempt < actions.MAX_ATTEMPTS:
            assert summary.retry == 1 and m.status == Status.QUEUED
            assert "SMTP" in m.failure_reason
            assert actions.send_pending(now=now).retry == 0  # waits before the next attempt
            now = m.not_before
    assert m.status == Status.FAILED and summary.failed == 1


def test_not_before_and_render_hook(users: Any, patient: Patient, to_files: Path) -> None:
    seen: list[int] = []
    hooks.register(
        "test.link",
        hooks.Hook(
            render=lambda m: hooks.Rendered(body=m.body.replace("{link}", "https://x.test/abc")),
            sent=lambda m: seen.append(m.pk),
        ),
    )
    later = timezone.now() + dt.timedelta(days=7)
    m = _sms(
        users["nurse_a"],
        patient,
        body="Svar her: {link}",
        render_hook="test.link",
        not_before=later,
    )
    assert actions.send_pending().sent == 0
    assert actions.send_pending(now=later).sent == 1
    text = next(to_files.glob("sms/*/*.txt")).read_text(encoding="utf-8")
    assert "https://x.test/abc" in text
    m.refresh_from_db()
    assert "{link}" in m.body and seen == [m.pk]  # the completed text is not stored
    with pytest.raises(LookupError):
        _sms(users["nurse_a"], patient, render_hook="no.such.hook")


def test_stale_sending_is_failed_not_resent(users: Any, patient: Patient, to_files: Path) -> None:
    m = _sms(users["nurse_a"], patient)
    Message.objects.filter(pk=m.pk).update(
        status=Status.SENDING, last_attempt_at=timezone.now() - dt.timedelta(hours=1)
    )
    summary = actions.send_pending()
    m.refresh_from_db()
    assert summary.stale == 1 and summary.sent == 0 and m.status == Status.FAILED


def test_management_command_sends(
    users: Any, patient: Patient, to_files: Path, capsys: Any
) -> None:
    _sms(users["nurse_a"], patient)
    call_command("send_outbox")
    assert "sent 1" in capsys.readouterr().out
