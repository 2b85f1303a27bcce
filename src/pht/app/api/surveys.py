"""Survey endpoints of the team's API: instruments as FHIR Questionnaires, a patient's answers as
FHIR QuestionnaireResponses (audited), importing answers collected elsewhere, inviting a patient.
The same actions, access rules and audit entries as the pages."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from pydantic import ConfigDict

from pht.app.accounts.access import practice_of
from pht.app.accounts.permissions import Action, require
from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.care.actions import ActionError
from pht.app.care.models import Patient
from pht.app.surveys import actions, fhir
from pht.app.surveys.models import ResponseStatus, SurveyResponse
from pht.core.errors import ReferenceDataError
from pht.reference.surveys import instrument, instruments

router = Router(tags=["surveys"])


class InstrumentOut(Schema):
    """An instrument: what it is, its licence, what it feeds."""

    id: str
    title: str
    version: str
    languages: list[str]
    licence: str
    goal: str
    indicator: str


class SurveyInvite(Schema):
    """Invite a patient (the fields of the invitation form)."""

    instrument: str
    channel: str
    recipient: str = ""


class Invited(Schema):
    id: int
    status: str


class SurveyProblem(Schema):
    """Input the importer or the invitation refuses, naming its field."""

    field: str | None
    message: str


class FhirResource(Schema):
    """A FHIR resource as JSON (its own fields are checked by the importer)."""

    model_config = ConfigDict(extra="allow")
    resourceType: str


class Imported(Schema):
    id: UUID
    scores: dict[str, float | None]


def _patient(request: HttpRequest, uid: UUID, action: Action) -> Patient:
    """The caller's practice's patient, if the permission table allows *action* (403, audited,
    otherwise; 404 for another practice's patient)."""
    require(request.user, action, request=request, what={"api": True})
    return get_object_or_404(Patient, uid=uid, practice=practice_of(request.user))


@router.get("/surveys/instruments", response=list[InstrumentOut])
def list_instruments(request: HttpRequest) -> list[dict[str, Any]]:
    """Every instrument (shipped and the licence holder's)."""
    return [
        {
            "id": i.id,
            "title": i.title("nb"),
            "version": i.instrument.version,
            "languages": list(i.instrument.languages),
            "licence": i.instrument.licence,
            "goal": i.instrument.goal.value,
            "indicator": i.instrument.indicator,
        }
        for i in instruments().values()
    ]


@router.get("/surveys/instruments/{instrument_id}/questionnaire", response={200: dict, 404: dict})
def get_questionnaire(request: HttpRequest, instrument_id: str) -> Any:
    """The instrument as a FHIR Questionnaire."""
    try:
        return Status(200, fhir.questionnaire(instrument(instrument_id)))
    except ReferenceDataError as err:
        return Status(404, {"detail": err.message})


@router.get("/patients/{uid}/questionnaire-responses", response=dict)
def patient_responses(request: HttpRequest, uid: UUID) -> dict[str, Any]:
    """The patient's submitted answers as a FHIR searchset Bundle (the export is audited)."""
    patient = _patient(request, uid, Action.VIEW_CLINICAL)  # survey answers are clinical
    rows = SurveyResponse.objects.filter(patient=patient, status=ResponseStatus.SUBMITTED).order_by(
        "submitted_at"
    )
    entries = [{"resource": fhir.questionnaire_response(r)} for r in rows]
    record(
        user=request.user,
        action=AuditAction.SURVEY_EXPORT,
        patient=patient,
        reason="FHIR QuestionnaireResponse",
        detail={"responses": len(entries)},
        request=request,
    )
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


@router.post("/surveys/questionnaire-responses", response={201: Imported, 422: SurveyProblem})
def import_questionnaire_response(request: HttpRequest, body: FhirResource) -> Any:
    """Import a completed QuestionnaireResponse about a patient of the user's practice."""
    require(request.user, Action.LOG_ACTIVITY, request=request, what={"api": True})
    practice_of(request.user)
    try:
        data = json.loads(request.body)  # the whole resource, as sent
        response = fhir.import_response(data, user=request.user)
    except ActionError as err:
        return Status(422, {"field": err.field, "message": err.message})
    return Status(201, {"id": response.uid, "scores": response.scores})


@router.post("/patients/{uid}/survey-invitations", response={201: Invited, 422: SurveyProblem})
def invite(request: HttpRequest, uid: UUID, body: SurveyInvite) -> Any:
    """Invite the patient to a survey (the message goes to the outbox)."""
    patient = _patient(request, uid, Action.INVITE)
    try:
        inv = actions.invite(
            user=request.user,
            patient=patient,
            instrument_id=body.instrument,
            channel=body.channel,
            recipient=body.recipient,
            source="api",
        )
    except ActionError as err:
        return Status(422, {"field": err.field, "message": err.message})
    return Status(201, {"id": inv.pk, "status": inv.status})
