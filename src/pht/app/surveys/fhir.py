"""FHIR R4 ``Questionnaire`` (an instrument) and ``QuestionnaireResponse`` (a patient's answers):
export, and import of answers collected elsewhere. Every resource written is validated with
``fhir.resources`` (R4B, which reads and writes R4 JSON for these two resources); an imported
resource that is not valid FHIR, names an unknown questionnaire or patient, or answers outside
the instrument's options is refused with the path of the problem, and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from pht.app.audit.log import record
from pht.app.audit.models import AuditAction
from pht.app.care.models import Patient
from pht.app.surveys.actions import SurveyError, _check_team
from pht.app.surveys.models import (
    InvitationStatus,
    ResponseStatus,
    SurveyInvitation,
    SurveyResponse,
    Wave,
)
from pht.reference.surveys import Instrument, instrument, instruments, text_in

SYSTEM_FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"


def canonical(ins: Instrument) -> str:
    """The Questionnaire's canonical URL."""
    return f"urn:pht:questionnaire:{ins.id}"


def _option_system(ins: Instrument, option_set: str) -> str:
    return f"{canonical(ins)}:options:{option_set}"


def _code(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _translations(texts: dict[str, str | None]) -> dict[str, Any]:
    ext = [
        {
            "url": TRANSLATION,
            "extension": [{"url": "lang", "valueCode": lang}, {"url": "content", "valueString": t}],
        }
        for lang, t in texts.items()
        if lang != "nb" and t
    ]
    return {"extension": ext} if ext else {}


def questionnaire(ins: Instrument) -> dict[str, Any]:
    """The instrument as a FHIR Questionnaire (bokmål, other languages as translations)."""
    meta = ins.instrument
    groups = []
    for g in ins.group:
        items = []
        for q in g.questions:
            opts = ins.option_set(q)
            items.append(
                {
                    "linkId": q.id,
                    "text": q.nb,
                    "_text": _translations({"nn": q.nn, "en": q.en}),
                    "type": "choice",
                    "required": False,
                    "answerOption": [
                        {
                            "valueCoding": {
                                "system": _option_system(ins, q.options),
                                "code": _code(v),
                                "display": label,
                            }
                        }
                        for v, label in zip(opts.values, opts.nb, strict=True)
                    ],
                }
            )
        groups.append(
            {"linkId": g.id, "text": text_in(g.title, "nb"), "type": "group", "item": items}
        )
    for group in groups:
        for item in group["item"]:
            if not item["_text"]:
                del item["_text"]
    data = {
        "resourceType": "Questionnaire",
        "id": f"pht-{ins.id}",
        "url": canonical(ins),
        "version": meta.version,
        "name": ins.id.upper(),
        "title": text_in(meta.title, "nb"),
        "status": "active",
        "language": "nb",
        "publisher": meta.source[:200],
        "copyright": meta.licence,
        "description": text_in(meta.intro, "nb") or text_in(meta.title, "nb"),
        "item": groups,
    }
    Questionnaire.model_validate(data)
    return data


def questionnaire_response(response: SurveyResponse) -> dict[str, Any]:
    """A submitted response as a FHIR QuestionnaireResponse (the answers, not the scores)."""
    ins = instrument(response.instrument)
    groups = []
    for g in ins.group:
        items = []
        for q in g.questions:
            v = response.answers.get(q.id)
            item: dict[str, Any] = {"linkId": q.id, "text": q.nb}
            if v is not None:
                label = dict(ins.choices(q, "nb")).get(float(v), "")
                item["answer"] = [
                    {
                        "valueCoding": {
                            "system": _option_system(ins, q.options),
                            "code": _code(float(v)),
                            "display": label,
                        }
                    }
                ]
            items.append(item)
        groups.append({"linkId": g.id, "item": items})
    data = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.uid),
        "questionnaire": f"{canonical(ins)}|{response.version}",
        "status": "completed",
        "language": response.language,
        "subject": {"identifier": {"system": SYSTEM_FNR, "value": response.patient.person_id}},
        "authored": (response.submitted_at or response.updated_at).isoformat(),
        "item": groups,
    }
    QuestionnaireResponse.model_validate(data)
    return data


def _fail(message: str, where: str) -> SurveyError:
    return SurveyError(message, field=where)


def import_response(data: Any, *, user: Any) -> SurveyResponse:
    """Store a completed QuestionnaireResponse from another system as a submitted response of
    one of the user's practice's patients (audited); a :class:`SurveyError` names the path."""
    if not isinstance(data, dict) or data.get("resourceType") != "QuestionnaireResponse":
        raise _fail("Ikke en QuestionnaireResponse.", "resourceType")
    try:
        QuestionnaireResponse.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _fail(f"Ugyldig FHIR: {first['msg']}", where) from None
    if data.get("status") != "completed":
        raise _fail("Bare fullførte svar (status completed) kan importeres.", "status")
    url, _, version = str(data.get("questionnaire", "")).partition("|")
    ins = next((i for i in instruments().values() if canonical(i) == url), None)
    if ins is None:
        raise _fail(f"Ukjent spørreskjema {url!r}.", "questionnaire")
    ident = (data.get("subject") or {}).get("identifier") or {}
    if ident.get("system") != SYSTEM_FNR or not ident.get("value"):
        raise _fail("Pasienten må være oppgitt med fødselsnummer.", "subject.identifier")
    patient = Patient.objects.select_related("practice").filter(person_id=ident["value"]).first()
    if patient is None:
        raise _fail("Pasienten finnes ikke.", "subject.identifier.value")
    _check_team(user, patient)
    answers: dict[str, float | None] = {}
    known = {q.id for q in ins.questions()}

    def walk(items: list[dict[str, Any]], path: str) -> None:
        for i, item in enumerate(items):
            here = f"{path}[{i}]"
            if item.get("item"):
                walk(item["item"], f"{here}.item")
            link = item.get("linkId")
            if link not in known:
                if not item.get("item"):
                    raise _fail(f"Ukjent spørsmål {link!r}.", f"{here}.linkId")
                continue
            got = item.get("answer") or []
            if len(got) > 1:
                raise _fail("Ett svar per spørsmål.", f"{here}.answer")
            if not got:
                answers[link] = None
                continue
            coding = got[0].get("valueCoding") or {}
            try:
                value = float(
                    coding.get("code", got[0].get("valueInteger", got[0].get("valueDecimal")))
                )
            except (TypeError, ValueError):
                raise _fail(
                    "Svaret er ikke et av skjemaets alternativer.", f"{here}.answer[0]"
                ) from None
            if not ins.valid_value(link, value):
                raise _fail("Svaret er ikke et av skjemaets alternativer.", f"{here}.answer[0]")
            answers[link] = value

    walk(data.get("item") or [], "item")
    try:
        authored = dt.datetime.fromisoformat(str(data.get("authored")))
    except ValueError:
        raise _fail("authored mangler eller er ikke en tid.", "authored") from None
    if authored.tzinfo is None:
        authored = timezone.make_aware(authored)
    if authored > timezone.now():
        raise _fail("authored ligger fram i tid.", "authored")
    scores = ins.scores(answers)
    with transaction.atomic():
        inv = SurveyInvitation.objects.create(
            patient=patient,
            practice=patient.practice,
            instrument=ins.id,
            version=version or ins.instrument.version,
            channel="fhir",
            wave=Wave.MANUAL,
            source="import",
            status=InvitationStatus.ANSWERED,
            created_at=authored,
            created_by=user,
        )
        response = SurveyResponse.objects.create(
            invitation=inv,
            patient=patient,
            practice=patient.practice,
            instrument=ins.id,
            version=inv.version,
            language=str(data.get("language") or "nb")[:2],
            status=ResponseStatus.SUBMITTED,
            answers=answers,
            scores=scores,
            needs=ins.needs(scores),
            started_at=authored,
            updated_at=authored,
            submitted_at=authored,
            origin="fhir",
        )
        record(
            user=user,
            action=AuditAction.SURVEY_IMPORT,
            patient=patient,
            reason="FHIR QuestionnaireResponse",
            detail={
                "response": str(response.uid),
                "instrument": ins.id,
                "fhir_id": data.get("id", ""),
            },
        )
    return response
