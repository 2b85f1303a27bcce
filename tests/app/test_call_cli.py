"""``pht app call``: the command line changes the stored call through the app's actions, as a
pht user checked by the permission table, each change with its audit row in one transaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from typer.testing import CliRunner

from pht.app.audit.models import AuditAction, AuditEntry
from pht.app.call.models import CallCaseRecord
from pht.cli import app
from tests.call.web import form_data, make_users, seed_call

pytestmark = pytest.mark.django_db
runner = CliRunner()
#: The seeded call has 15 GPs in two applications: a target the selection can reach.
WHAT_IF = ("--gp-target", "15", "--band", "5")


@pytest.fixture
def call(settings: Any) -> None:
    make_users()
    seed_call()
    settings.PHT_CALL_NOW = "2017-10-14T12:00:00"


def _pht(*args: str) -> Any:
    return runner.invoke(app, ["app", "call", *args])


def _case() -> Any:
    return CallCaseRecord.objects.get().case


def test_a_score_from_the_command_line_is_stored_and_audited_under_the_pht_user(
    call: None,
) -> None:
    result = _pht(
        "score",
        "seed-m",
        "--criterion",
        "anchoring",
        "--score",
        "2",
        "--comment",
        "svak forankring",
        "--as",
        "saksbehandler-1",
    )
    assert result.exit_code == 0, result.output
    stored = _case().assessments["seed-m"].score_of("anchoring")
    assert stored is not None and stored.score == 2 and stored.officer == "saksbehandler-1"
    entry = AuditEntry.objects.get(action=AuditAction.CALL_SCORE)
    assert entry.username == "saksbehandler-1" and entry.role == "case_officer"
    detail = json.loads(entry.detail)
    assert detail["cli"] == "pht app call score" and detail["os_user"]
    assert detail["application"] == "seed-m" and detail["score"] == 2


def test_a_failure_between_the_change_and_its_audit_row_leaves_neither(call: None) -> None:
    before = CallCaseRecord.objects.get().data
    entries = AuditEntry.objects.count()

    def dies(**kwargs: Any) -> None:
        raise RuntimeError("the process dies before the audit row is written")

    with mock.patch("pht.app.call.actions.audit", dies):
        result = _pht("propose", *WHAT_IF, "--as", "saksbehandler-1")
    assert isinstance(result.exception, RuntimeError)
    assert CallCaseRecord.objects.get().data == before  # no proposed decisions
    assert AuditEntry.objects.count() == entries  # and no audit row
    # the same command without the failure stores both
    assert _pht("propose", *WHAT_IF, "--as", "saksbehandler-1").exit_code == 0
    assert _case().decisions is not None
    assert AuditEntry.objects.filter(
        action=AuditAction.CALL_PROPOSE, username="saksbehandler-1"
    ).exists()


def test_four_eyes_through_the_command_line(call: None, tmp_path: Path) -> None:
    assert _pht("propose", *WHAT_IF, "--as", "saksbehandler-1").exit_code == 0
    refused = _pht("approve", "--as", "saksbehandler-1")
    assert refused.exit_code != 0 and not _case().decisions.approved
    assert AuditEntry.objects.filter(
        action=AuditAction.CALL_APPROVE_REFUSED, username="saksbehandler-1"
    ).exists()
    ok = _pht("approve", "--as", "saksbehandler-2", "-f", "json")
    assert ok.exit_code == 0, ok.output
    assert _case().decisions.approved and _case().decisions.approved_by == "saksbehandler-2"
    granted = _case().decisions.granted[0].application_id
    out = tmp_path / "brev.pdf"
    assert _pht("letter", granted, "--out", str(out), "--as", "saksbehandler-2").exit_code == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert AuditEntry.objects.filter(action=AuditAction.CALL_LETTER).count() == 1


def test_a_role_the_table_does_not_allow_is_refused_and_audited(call: None) -> None:
    before = CallCaseRecord.objects.get().data
    result = _pht("propose", *WHAT_IF, "--as", "kommune-smaby")  # a municipal lead may not decide
    assert result.exit_code != 0
    assert "may not do call.assess" in str(result.exception)
    assert CallCaseRecord.objects.get().data == before
    denied = AuditEntry.objects.get(action=AuditAction.DENIED)
    assert denied.username == "kommune-smaby" and denied.role == "municipal_lead"
    detail = json.loads(denied.detail)
    assert detail == {
        "action": "call.assess",
        "cli": "pht app call propose",
        "os_user": detail["os_user"],
    }
    assert not AuditEntry.objects.filter(action=AuditAction.CALL_PROPOSE).exists()
    # and a case officer may not submit a municipality's application
    assert _pht("submit", "seed-m", "--as", "saksbehandler-1").exit_code != 0
    assert AuditEntry.objects.filter(action=AuditAction.DENIED).count() == 2


def test_without_as_the_os_user_is_the_pht_user_of_that_name(
    call: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pht.app.audit.cli.getpass.getuser", lambda: "nobody-here")
    result = _pht("status")
    assert result.exit_code != 0 and "name one with --as" in str(result.exception)
    denied = AuditEntry.objects.get(action=AuditAction.DENIED)
    assert denied.username == "os:nobody-here"
    monkeypatch.setattr("pht.app.audit.cli.getpass.getuser", lambda: "saksbehandler-2")
    result = _pht("validate", "seed-l")
    assert result.exit_code == 0, result.output
    entry = AuditEntry.objects.get(action=AuditAction.CALL_VALIDATE)
    assert entry.username == "saksbehandler-2"
    assert json.loads(entry.detail)["os_user"] == "saksbehandler-2"


def test_the_municipal_lead_submits_its_draft_from_the_command_line(call: None) -> None:
    from django.contrib.auth import get_user_model

    from pht.app.call import actions
    from pht.app.call.forms import ApplicationForm

    form = ApplicationForm(form_data(name="Småby", code="9801", n=7))
    assert form.is_valid(), form.errors
    lead = get_user_model().objects.get(username="kommune-smaby")
    draft = actions.do_save_draft(
        user=lead,
        request=None,
        municipality="9801",
        application=None,
        data=form.to_application_data(),
    )
    # another municipality's lead cannot submit it (not theirs: nothing changes)
    assert _pht("submit", draft.id, "--as", "kommune-sentby").exit_code != 0
    result = _pht("submit", draft.id, "--as", "kommune-smaby")
    assert result.exit_code == 0, result.output
    assert _case().application(draft.id).status.value == "submitted"
    assert AuditEntry.objects.filter(
        action=AuditAction.CALL_SUBMIT, username="kommune-smaby"
    ).exists()


def test_every_command_is_documented() -> None:
    from pht.cli.app_call import app as app_call

    doc = (Path(__file__).resolve().parents[2] / "docs" / "call.md").read_text(encoding="utf-8")
    names = [c.name for c in app_call.registered_commands]
    assert names and all(f"pht app call {n}" in doc for n in names), names
