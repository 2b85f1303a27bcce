"""Coordination threads as FHIR R4 ``Communication`` resources (validated with fhir.resources).

Each message is one Communication: sent by the team (sender the practice, recipient the
partner) or received (the other way), ``partOf`` nothing, ``inResponseTo`` the message before
it, ``topic`` the thread's subject, status ``completed``. A real channel (the health network's
dialogue messages) can carry the same resources later.
"""

from __future__ import annotations

from typing import Any

from pht.app.care.models import CoordinationThread, MessageDirection

_PARTNER_SYSTEM = "urn:pht:coordination-partner"
_FNR = "urn:oid:2.16.578.1.12.4.1.4.1"  # Norwegian national identity number (fødselsnummer)


def _communication(thread: CoordinationThread, msg: Any, previous: Any) -> dict[str, Any]:
    from fhir.resources.R4B.communication import Communication

    practice = {
        "identifier": {
            "system": "urn:oid:2.16.578.1.12.4.1.4.101",  # organisation number (Enhetsregisteret)
            "value": thread.patient.practice_id,
        },
        "display": thread.patient.practice.name,
    }
    partner = {
        "identifier": {"system": _PARTNER_SYSTEM, "value": thread.partner},
        "display": thread.get_partner_display(),
    }
    out = msg.direction == MessageDirection.OUT
    data: dict[str, Any] = {
        "resourceType": "Communication",
        "id": f"pht-msg-{msg.pk}",
        "status": "completed",
        "subject": {
            "identifier": {"system": _FNR, "value": thread.patient.person_id},
            "display": thread.patient.name,
        },
        "topic": {"text": thread.subject},
        "sent": msg.at.isoformat(),
        "sender": practice if out else partner,
        "recipient": [partner if out else practice],
        "payload": [{"contentString": msg.text}],
        "note": [{"text": f"tråd {thread.pk}, status {thread.get_status_display()}"}],
    }
    if previous is not None:
        data["inResponseTo"] = [{"reference": f"Communication/pht-msg-{previous.pk}"}]
    return Communication.model_validate(data).model_dump(mode="json", exclude_none=True)


def thread_communications(thread: CoordinationThread) -> dict[str, Any]:
    """The thread as a FHIR ``Bundle`` (type collection) of Communication resources."""
    from fhir.resources.R4B.bundle import Bundle

    entries = []
    previous = None
    for msg in thread.messages.order_by("at", "pk"):
        entries.append({"resource": _communication(thread, msg, previous)})
        previous = msg
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)
