"""The patient's page: no login; a link opens the survey, one question group per screen.

``/s/<token>`` checks the link (rate-limited per address), keeps the response in the session
and redirects to ``/s/svar/`` so the token leaves the address bar and the history. Every POST
saves the screen's answers, then goes forward or back; the last screen sends them in. The page
shows the practice and the instrument, never the patient.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from pht.app.surveys import actions, ratelimit
from pht.app.surveys.models import ResponseStatus, SurveyResponse
from pht.app.surveys.texts import UI, ui
from pht.reference.surveys import Instrument, instrument, text_in

SESSION_KEY = "pht_survey_response"
LANG_KEY = "pht_survey_lang"
STATUS = {"unknown": 404, "expired": 410, "cancelled": 410, "used": 410}
TITLE = {"unknown": "unknown", "expired": "expired", "cancelled": "expired", "used": "used"}


def _address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "?"))


def _lang(request: HttpRequest, response: SurveyResponse | None = None) -> str:
    lang = request.session.get(LANG_KEY) or (response.language if response else "nb")
    return lang if lang in UI else "nb"


def _kind(request: HttpRequest, key: str, status: int, lang: str = "nb") -> HttpResponse:
    t = ui(lang)
    return render(
        request,
        "surveys/public_message.html",
        {"t": t, "lang": lang, "title": t[f"{key}_title"], "text": t[f"{key}_text"], "key": key},
        status=status,
    )


@never_cache
def open_link(request: HttpRequest, token: str) -> HttpResponse:
    """Open a survey link: start or resume the response, or say kindly why not."""
    address = _address(request)
    lang = _lang(request)
    if ratelimit.link_blocked(address):
        actions.refuse("rate_limited", invitation=None)
        return _kind(request, "limited", 429, lang)
    try:
        response = actions.open_link(token)
    except actions.LinkRefused as err:
        ratelimit.link_failed(address)
        actions.refuse(err.reason, invitation=err.invitation)
        return _kind(request, TITLE[err.reason], STATUS[err.reason], lang)
    request.session.cycle_key()
    request.session[SESSION_KEY] = response.pk
    return redirect("surveys_public:page")


def _response(request: HttpRequest) -> SurveyResponse | None:
    pk = request.session.get(SESSION_KEY)
    if pk is None:
        return None
    return SurveyResponse.objects.select_related("invitation", "practice").filter(pk=pk).first()


def _screen(
    ins: Instrument, response: SurveyResponse, page: int, lang: str, errors: dict[str, str]
) -> dict[str, Any]:
    groups = ins.group
    total = len(groups) + 1
    t = ui(lang)
    ctx: dict[str, Any] = {
        "t": t,
        "lang": lang,
        "languages": [(code, UI[code]["lang_name"]) for code in ins.instrument.languages],
        "title": ins.title(lang),
        "intro": text_in(ins.instrument.intro, lang) if page == 1 else "",
        "practice": response.practice.name,
        "page": page,
        "total": total,
        "page_of": t["page_of"].format(n=page, total=total),
        "errors": errors,
    }
    if page <= len(groups):
        group = groups[page - 1]
        ctx["group_title"] = text_in(group.title, lang)
        ctx["questions"] = [
            {
                "id": q.id,
                "text": q.text(lang),
                "error": errors.get(q.id, ""),
                "choices": [
                    {
                        "value": _fmt(v),
                        "label": label,
                        "checked": response.answers.get(q.id) is not None
                        and float(response.answers[q.id]) == v,
                    }
                    for v, label in ins.choices(q, lang)
                ],
            }
            for q in group.questions
        ]
    else:
        answered = sum(1 for v in response.answers.values() if v is not None)
        ctx["review"] = t["review_text"].format(answered=answered, total=len(ins.questions()))
    return ctx


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


@never_cache
@require_http_methods(["GET", "POST"])
def page(request: HttpRequest) -> HttpResponse:
    """One screen of the survey (GET shows, POST saves and moves on)."""
    response = _response(request)
    if response is None:
        return _kind(request, "nosession", 400, _lang(request))
    if "sprak" in request.GET and request.GET["sprak"] in UI:
        request.session[LANG_KEY] = request.GET["sprak"]
    lang = _lang(request, response)
    if response.status == ResponseStatus.SUBMITTED:
        return _kind(request, "used", 410, lang)
    ins = instrument(response.instrument)
    groups = ins.group
    try:
        current = max(1, min(int(request.GET.get("side", "1")), len(groups) + 1))
    except ValueError:
        current = 1
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not ratelimit.save_allowed(str(response.uid)):
            return _kind(request, "limited", 429, lang)
        try:
            current = max(1, min(int(request.POST.get("side", "1")), len(groups) + 1))
        except ValueError:
            current = 1
        direction = request.POST.get("retning", "neste")
        try:
            if current <= len(groups):
                answers: dict[str, float | None] = {}
                for q in groups[current - 1].questions:
                    raw = request.POST.get(q.id, "")
                    try:
                        answers[q.id] = float(raw) if raw != "" else None
                    except ValueError:
                        errors[q.id] = ui(lang)["error"]
                if not errors:
                    actions.save_answers(response, answers, language=lang)
            elif direction == "send":
                actions.submit(response)
                request.session.pop(SESSION_KEY, None)
                return redirect("surveys_public:thanks")
        except actions.SurveyError as err:
            errors[err.field or ""] = ui(lang)["error"]
        except actions.LinkRefused as err:
            actions.refuse(err.reason, invitation=err.invitation)
            return _kind(request, TITLE[err.reason], STATUS[err.reason], lang)
        if not errors:
            target = current - 1 if direction == "tilbake" else current + 1
            target = max(1, min(target, len(groups) + 1))
            return redirect(f"{reverse('surveys_public:page')}?side={target}")
    status = 400 if errors else 200
    return render(
        request,
        "surveys/public_page.html",
        _screen(ins, response, current, lang, errors),
        status=status,
    )


@never_cache
def thanks(request: HttpRequest) -> HttpResponse:
    """The last screen."""
    return _kind(request, "thanks", 200, _lang(request))
