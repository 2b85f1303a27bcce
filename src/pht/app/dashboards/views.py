"""Dashboards: the practice's own for its team; lists of practices for the others."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import vl_convert as vlc
from csp.decorators import csp_exempt
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from pht.app.accounts.access import profile_of
from pht.app.accounts.models import AppRole, Municipality, Practice
from pht.app.dashboards import figures, finance, municipality
from pht.app.dashboards.schemas import parse_whatif
from pht.reference import load_scheme_rules


def _visible_practices(request: HttpRequest) -> Any:
    profile = profile_of(request.user)
    practices = Practice.objects.select_related("municipality")
    if request.user.is_superuser:
        return practices
    if profile is None:
        return practices.none()
    if profile.sees_patients:
        return practices.filter(pk=profile.practice_id)
    if profile.role == AppRole.MUNICIPAL_LEAD:
        return practices.filter(municipality_id=profile.municipality_id)
    return practices.exclude(financing_model="")


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """A team member goes to their practice's dashboard; others choose a practice."""
    profile = profile_of(request.user)
    if profile is not None and profile.sees_patients:
        return redirect("dashboards:practice", practice_id=profile.practice_id)
    practices = _visible_practices(request).exclude(financing_model="")
    return render(request, "dashboards/index.html", {"practices": practices})


def _practice(request: HttpRequest, practice_id: str) -> Practice:
    practice: Practice = get_object_or_404(_visible_practices(request), pk=practice_id)
    return practice


@login_required
def practice(request: HttpRequest, practice_id: str) -> HttpResponse:
    """The practice dashboard: population by target group, annual checks, staffing."""
    obj = _practice(request, practice_id)
    profile = profile_of(request.user)
    suppressed = profile is None or profile.practice_id != obj.pk
    counts = _counts(obj, suppressed=suppressed)
    trend = _trend(obj)
    plan = figures.staffing_plan(obj)
    return render(
        request,
        "dashboards/practice.html",
        {
            "practice": obj,
            "counts": counts,
            "staffing": plan.norm,
            "plan": plan,
            "norm": load_scheme_rules(),
            "trend": trend.to_dict("records"),
            "has_trend": bool(trend["share"].notna().any()) if not trend.empty else False,
            "small_cell": figures.SMALL_CELL,
            "suppressed": suppressed,
        },
    )


def _counts(practice: Practice, *, suppressed: bool) -> list[figures.GroupCount]:
    """Listed patients by target group (cached by the practice's data version)."""
    return figures.cached(
        practice,
        f"groups:{suppressed}",
        lambda: figures.listed_by_target_group(practice, suppressed=suppressed),
    )


def _trend(practice: Practice) -> Any:
    """The annual-check trend (cached by the practice's data version; loads change every
    practice's version, so the comparison practices' figures are never older either)."""
    return figures.cached(practice, "trend", lambda: figures.annual_check_trend(practice))


CHARTS = {"target-groups", "annual-checks"}
TABLES = {"target-groups", "annual-checks"}


def table_rows(request: HttpRequest, practice: Practice, name: str) -> list[dict[str, Any]]:
    """The rows of table *name* as published (the same suppressed figures as the charts)."""
    profile = profile_of(request.user)
    suppressed = profile is None or profile.practice_id != practice.pk
    if name == "target-groups":
        return [
            {"målgruppe": c.label, "pasienter": c.count}
            for c in _counts(practice, suppressed=suppressed)
        ]
    return [
        {"kvartal": r["quarter"], "serie": r["series"], "n": r["n"], "andel": r["share"]}
        for r in _trend(practice).to_dict("records")
    ]


@login_required
def table_csv(request: HttpRequest, practice_id: str, name: str) -> HttpResponse:
    """A dashboard table as CSV (suppressed cells empty)."""
    if name not in TABLES:
        raise Http404
    obj = _practice(request, practice_id)
    return csv_response(table_rows(request, obj, name), f"{obj.pk}-{name}.csv")


def csv_response(rows: list[dict[str, Any]], filename: str) -> HttpResponse:
    """*rows* as a CSV download (None as an empty cell)."""
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None or v != v else v for k, v in row.items()})
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def chart_spec(request: HttpRequest, practice: Practice, name: str) -> dict[str, Any]:
    """The Vega-Lite spec of chart *name* for *practice*."""
    profile = profile_of(request.user)
    suppressed = profile is None or profile.practice_id != practice.pk
    if name == "target-groups":
        return figures.target_group_chart(_counts(practice, suppressed=suppressed))
    return figures.annual_check_chart(_trend(practice))


@csp_exempt()
@login_required
def chart_svg(request: HttpRequest, practice_id: str, name: str) -> HttpResponse:
    """The chart rendered to SVG on the server (shown as an image: no script on the page)."""
    if name not in CHARTS:
        raise Http404
    obj = _practice(request, practice_id)
    spec = chart_spec(request, obj, name)
    key = "chart:" + str(hash(json.dumps(spec, sort_keys=True, default=str)))
    svg = cache.get(key)
    if svg is None:
        svg = vlc.vegalite_to_svg(spec)
        cache.set(key, svg, 600)
    return HttpResponse(svg, content_type="image/svg+xml")


@login_required
def chart_json(request: HttpRequest, practice_id: str, name: str) -> HttpResponse:
    """The chart's Vega-Lite spec as JSON (for reuse in reports and other tools)."""
    if name not in CHARTS:
        raise Http404
    obj = _practice(request, practice_id)
    return HttpResponse(
        json.dumps(chart_spec(request, obj, name), default=str),
        content_type="application/json",
    )


# --- financing (Økonomi) ----------------------------------------------------------------------


@login_required
def financing_index(request: HttpRequest) -> HttpResponse:
    """The team lead goes to their practice; the municipal lead chooses; the directorate sees
    the scheme in aggregate."""
    profile = profile_of(request.user)
    if profile is not None and profile.practice_id is not None:
        return redirect("dashboards:financing", practice_id=profile.practice_id)
    if finance.sees_aggregate(request):
        return render(request, "dashboards/financing_aggregate.html", finance.aggregate())
    if profile is not None and profile.role == AppRole.MUNICIPAL_LEAD:
        practices = Practice.objects.filter(municipality_id=profile.municipality_id).exclude(
            financing_model=""
        )
        return render(request, "dashboards/financing_choose.html", {"practices": practices})
    raise PermissionDenied


@login_required
def financing(request: HttpRequest, practice_id: str) -> HttpResponse:
    """Both models, last year and this year, with drivers, a chart and the what-if."""
    obj = finance.practice_for_financing(request, practice_id)
    snaps = finance.snapshots(obj)
    query, errors = parse_whatif(request.GET.dict()) if "run" in request.GET else (None, {})
    target = None
    if snaps:
        year = request.GET.get("year")
        target = next((s for s in snaps if str(s.year) == year), snaps[-1])
    answer = finance.whatif(target, query) if query is not None and target is not None else None
    context = {
        "practice": obj,
        "snaps": snaps,
        "table": finance.table(snaps) if snaps else None,
        "drivers": finance.drivers(snaps),
        "target": target,
        "answer": answer,
        "errors": errors,
        "form": request.GET if "run" in request.GET else {},
        "quality": quality_grant_for(obj, snaps[-1] if snaps else None),
    }
    if request.htmx and "run" in request.GET:
        status = 400 if errors else 200
        return render(request, "dashboards/_whatif.html", context, status=status)
    return render(request, "dashboards/financing.html", context, status=400 if errors else 200)


def quality_grant_for(practice: Practice, snap: Any) -> Any:
    """The quality grant from the practice's own goals (grant-model practices), if any."""
    if snap is None:
        return None
    try:
        from pht.app.quality.figures import quality_grant
    except ImportError:  # the quality app is optional for the dashboards
        return None
    return quality_grant(practice, snap)


def _financing_spec(request: HttpRequest, practice_id: str) -> dict[str, Any]:
    obj = finance.practice_for_financing(request, practice_id)
    return finance.chart(finance.snapshots(obj))


@csp_exempt()
@login_required
def financing_chart_svg(request: HttpRequest, practice_id: str) -> HttpResponse:
    """The financing chart as SVG."""
    return HttpResponse(
        vlc.vegalite_to_svg(_financing_spec(request, practice_id)), content_type="image/svg+xml"
    )


@login_required
def financing_chart_json(request: HttpRequest, practice_id: str) -> HttpResponse:
    """The financing chart's Vega-Lite spec."""
    return HttpResponse(
        json.dumps(_financing_spec(request, practice_id), default=str),
        content_type="application/json",
    )


# --- the municipality (Kommune) ---------------------------------------------------------------


@login_required
def municipality_index(request: HttpRequest) -> HttpResponse:
    """The municipal lead goes to their municipality; the directorate chooses one."""
    profile = profile_of(request.user)
    if profile is not None and profile.role == AppRole.MUNICIPAL_LEAD:
        return redirect("dashboards:municipality", code=profile.municipality_id)
    if not finance.sees_aggregate(request):
        raise PermissionDenied
    munis = Municipality.objects.filter(practices__financing_model__gt="").distinct()
    return render(request, "dashboards/municipality_choose.html", {"municipalities": munis})


def _municipality(request: HttpRequest, code: str) -> Municipality:
    muni: Municipality = get_object_or_404(Municipality, pk=code)
    municipality.check_access(request, muni)
    return muni


@login_required
def municipality_page(request: HttpRequest, code: str) -> HttpResponse:
    """Practices, project funds by year, payments made, aggregate indicators."""
    muni = _municipality(request, code)
    years = municipality.funds_by_year(muni)
    year = int(request.GET.get("year") or (years[-1]["year"] if years else 0) or 0)
    return render(
        request,
        "dashboards/municipality.html",
        {
            "municipality": muni,
            "practices": municipality.practices(muni),
            "years": years,
            "year": year,
            "payments": municipality.payments(muni, year) if year else [],
            "indicators": municipality.indicators(muni),
            "small_cell": figures.SMALL_CELL,
        },
    )


@login_required
def municipality_csv(request: HttpRequest, code: str, name: str) -> HttpResponse:
    """The municipality's tables as CSV (suppressed cells empty)."""
    muni = _municipality(request, code)
    if name == "indicators":
        rows = municipality.indicators(muni)
    elif name == "funds":
        rows = [
            {"år": y["year"], **{k: v for k, v in r.items()}}
            for y in municipality.funds_by_year(muni)
            for r in y["practices"]
        ]
    else:
        raise Http404
    return csv_response(rows, f"{muni.code}-{name}.csv")


@login_required
def municipality_chart_json(request: HttpRequest, code: str) -> HttpResponse:
    """The indicator chart's Vega-Lite spec."""
    muni = _municipality(request, code)
    spec = municipality.indicator_chart(municipality.indicators(muni))
    return HttpResponse(json.dumps(spec, default=str), content_type="application/json")


@csp_exempt()
@login_required
def municipality_chart_svg(request: HttpRequest, code: str) -> HttpResponse:
    """The indicator chart as SVG."""
    muni = _municipality(request, code)
    spec = municipality.indicator_chart(municipality.indicators(muni))
    return HttpResponse(vlc.vegalite_to_svg(spec), content_type="image/svg+xml")
