"""``POST /api/extracts``: a system client with ``extracts:load`` loads an extract as one batch
named after it, audited under its name; without the scope 403 and ``access.denied``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from pht.app.accounts.actions import do_create_system_client
from pht.app.accounts.models import Practice
from pht.app.audit.models import AuditAction, AuditEntry
from pht.registry.batches import list_batches
from pht.registry.warehouse import Warehouse
from tests.app.bundle import PRACTICE_A
from tests.app.conftest import client_for
from tests.registry.fhir.bundles import norway_bundle
from tests.registry.importers.factory import tables, write_csv


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("PHT_WAREHOUSE", str(path))
    return path


def _bearer(http: Client, name: str, scopes: list[str]) -> dict[str, str]:
    """A real token from the client-credentials flow for a new system of practice A."""
    new = do_create_system_client(
        by="driftsansvarlig", name=name, practice=Practice.objects.get(pk=PRACTICE_A), scopes=scopes
    )
    answer = http.post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": new.client_id,
            "client_secret": new.client_secret,
            "scope": " ".join(scopes),
        },
    )
    assert answer.status_code == 200, answer.content
    return {"HTTP_AUTHORIZATION": f"Bearer {answer.json()['access_token']}"}


def _files(folder: Path) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(p.name, p.read_bytes()) for p in sorted(folder.iterdir())]


def _batches(path: Path) -> list[Any]:
    if not path.exists():
        return []
    with Warehouse.open(path) as wh:
        return list_batches(wh)


def test_a_system_with_extracts_load_loads_an_extract_as_its_own_batch(
    loaded: Any, warehouse: Path, tmp_path: Path
) -> None:
    http = Client()
    bearer = _bearer(http, "kuhr-feed", ["extracts:load"])
    folder = write_csv(tmp_path / "extract", tables(6))
    # a dry run: the changes, nothing written
    dry = http.post("/api/extracts", {"files": _files(folder), "dry_run": "true"}, **bearer)
    assert dry.status_code == 200, dry.content
    body = dry.json()
    assert body["kind"] == "extract" and body["dry_run"] and not body["imported"]
    assert body["batch_id"] is None and body["changes"]["persons"]["inserted"] == 6
    assert _batches(warehouse) == []
    # the load: one batch, its source the client, its user the client's service user
    done = http.post("/api/extracts", {"files": _files(folder)}, **bearer)
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["imported"] and body["written"]["persons"] == 6 and body["problems"] == []
    (batch,) = _batches(warehouse)
    assert batch.batch_id == body["batch_id"] and batch.source == "kuhr-feed"
    assert batch.user == "system:kuhr-feed" and {f.name for f in batch.files} == {
        p.name for p in folder.iterdir()
    }
    with Warehouse.open(warehouse) as wh:  # event ids qualified by the client's source
        ids = [r[0] for r in wh.sql("SELECT contact_id FROM contacts")]
    assert ids and all(i.startswith("kuhr-feed:") for i in ids)
    entries = AuditEntry.objects.filter(action=AuditAction.EXTRACT_LOAD).order_by("id")
    assert [e.username for e in entries] == ["system:kuhr-feed"] * 2
    assert [e.reason for e in entries] == ["prøvekjøring", "uttrekk lastet"]
    assert json.loads(entries[1].detail)["batch"] == batch.batch_id
    assert entries[1].practice_id == PRACTICE_A


def test_an_extract_with_problems_is_refused_with_file_line_column_and_field(
    loaded: Any, warehouse: Path, tmp_path: Path
) -> None:
    http = Client()
    bearer = _bearer(http, "kuhr-feed", ["extracts:load"])
    data = tables(6)
    contacts = copy.deepcopy(data["contacts"])
    contacts[2]["date"] = "2031-02-03"
    data["contacts"] = contacts
    folder = write_csv(tmp_path / "extract", data)
    answer = http.post("/api/extracts", {"files": _files(folder)}, **bearer)
    assert answer.status_code == 422, answer.content
    body = answer.json()
    assert body["field"] == "date" and body["problem_count"] == 1
    (problem,) = body["problems"]
    assert problem["where"] == "contacts.csv:4:date" and problem["line"] == 4
    assert problem["value"] == "2031-02-03" and problem["reason"].startswith(
        "dato i fremtiden (etter "
    )
    assert _batches(warehouse) == []  # nothing loaded
    entry = AuditEntry.objects.get(action=AuditAction.EXTRACT_LOAD)
    assert entry.reason == "uttrekk avvist" and entry.username == "system:kuhr-feed"
    # a file that is no extract, and a period that is none, are 422 naming the field too
    junk = SimpleUploadedFile("notes.txt", b"hello")
    assert http.post("/api/extracts", {"files": [junk]}, **bearer).json()["field"] == "files"
    bad = http.post("/api/extracts", {"files": _files(folder), "period": "2021"}, **bearer)
    assert bad.status_code == 422 and bad.json()["field"] == "period"


def test_a_fhir_bundle_is_loaded_as_the_clients_batch(
    loaded: Any, warehouse: Path, tmp_path: Path
) -> None:
    http = Client()
    bearer = _bearer(http, "ehr-a", ["extracts:load"])
    bundle = SimpleUploadedFile("bundle.json", json.dumps(norway_bundle()).encode())
    answer = http.post("/api/extracts", {"files": [bundle]}, **bearer)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["kind"] == "fhir" and body["written"]["persons"] == 3
    (batch,) = _batches(warehouse)
    assert batch.source == "ehr-a" and batch.user == "system:ehr-a"


def test_without_the_scope_the_load_is_refused_and_audited(
    loaded: Any, users: Any, warehouse: Path, tmp_path: Path
) -> None:
    folder = write_csv(tmp_path / "extract", tables(6))
    http = Client()
    bearer = _bearer(http, "reader", ["worklist:read"])
    answer = http.post("/api/extracts", {"files": _files(folder)}, **bearer)
    assert answer.status_code == 403
    denied = AuditEntry.objects.get(action=AuditAction.DENIED)
    assert denied.username == "system:reader" and "extracts.load" in denied.detail
    # a nurse's session neither (the table gives extracts.load to systems only)
    nurse = client_for(Client(), users["nurse_a"])
    assert nurse.post("/api/extracts", {"files": _files(folder)}).status_code == 403
    assert AuditEntry.objects.filter(action=AuditAction.DENIED).count() == 2
    assert _batches(warehouse) == []
    assert not AuditEntry.objects.filter(action=AuditAction.EXTRACT_LOAD).exists()


def test_a_batch_whose_audit_row_fails_is_undone(
    loaded: Any, warehouse: Path, tmp_path: Path
) -> None:
    http = Client()
    bearer = _bearer(http, "kuhr-feed", ["extracts:load"])
    folder = write_csv(tmp_path / "extract", tables(6))

    def dies(**kwargs: Any) -> None:
        raise RuntimeError("the app database fails before the audit row is stored")

    with mock.patch("pht.app.api.registry.record", dies), pytest.raises(RuntimeError):
        http.post("/api/extracts", {"files": _files(folder)}, **bearer)
    (batch,) = _batches(warehouse)
    assert batch.status == "undone"
    with Warehouse.open(warehouse) as wh:
        assert wh.sql("SELECT count(*) FROM persons")[0][0] == 0
    assert not AuditEntry.objects.filter(action=AuditAction.EXTRACT_LOAD).exists()
