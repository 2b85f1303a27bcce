"""The published evaluation report: HTML and PDF, one page per effect goal.

Each goal's page has the indicator trends (pilot against comparison practices), the event-study
plot with 95% confidence intervals, the estimates table (all pilot practices, fee model,
operating-grant model) and notes on data period and method. A last page shows the activity
indicators (nurse contacts, annual checks, home visits); a first page the study, the comparison
practices and their balance.

Everything shown goes through :mod:`pht.evaluation.suppression` first; the chart specifications
(Vega-Lite, with their data) are written beside the report in ``charts/`` and the tables in
``tables/``, so what is published can be checked. Charts are rendered to PNG by vl-convert and the
PDF by WeasyPrint. The report's language is bokmål.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import vl_convert as vlc

from pht.core.labels import EffectGoal, SourceStatus
from pht.evaluation.did import Estimate
from pht.evaluation.indicators import (
    Indicator,
    _data,
    indicator_table,
    load_indicators,
    min_cell,
    quarter_label,
)
from pht.evaluation.study import Study
from pht.evaluation.suppression import primary_mask, publish, suppress_table

__all__ = [
    "ReportResult",
    "build_report",
    "estimates_table",
    "event_table",
    "indicator_values",
    "published_estimates",
    "trend_table",
]

_SPLIT_NB = {"all": "alle pilotkontor", "fee": "honorarmodell", "grant": "driftstilskuddsmodell"}
_ARM_NB = {"pilot": "pilotkontor", "comparison": "sammenligningskontor"}


@dataclass
class ReportResult:
    """What :func:`build_report` wrote."""

    html_path: Path
    pdf_path: Path
    pages: int
    estimates: list[dict[str, Any]]
    page_texts: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)


# --- published tables --------------------------------------------------------------------------


def indicator_values(study: Study, ind: Indicator) -> pd.DataFrame:
    """The indicator per practice, quarter and target group, as published (suppressed).

    Practices of one arm (pilot or comparison) add up to the arm's published trend, so the
    partition rule runs within indicator, quarter, target group and arm; the target groups of a
    practice and quarter nest in "all".
    """
    raw = indicator_table(
        study.tables,
        study.panel,
        ind,
        first_quarter=study.first_quarter,
        last_quarter=study.last_quarter,
        income=study.income,
    )
    sample = study.sample_practices()
    arm = sample.assign(arm=sample["pilot"].map({True: "pilot", False: "comparison"}))
    raw = raw.merge(arm[["practice_id", "arm"]], on="practice_id", how="inner")
    out = suppress_table(
        raw,
        partition=[("indicator", "q", "target_group", "arm")],
        nested=(("indicator", "practice_id", "q"), "target_group", "all"),
    )
    return out.drop(columns=["q"])


def trend_table(study: Study, ind: Indicator) -> pd.DataFrame:
    """Indicator per quarter, pilot and comparison practices, suppressed."""
    raw = study.trends(ind)
    raw["arm"] = raw["arm"].map(_ARM_NB)
    out = suppress_table(raw)
    out.insert(0, "indicator", ind.name)
    return out


def estimates_table(estimates: list[Estimate]) -> pd.DataFrame:
    """Estimate rows, suppressed where fewer than min_cell treated persons stand behind them."""
    rows = pd.DataFrame([e.row() for e in estimates])
    if rows.empty:
        return rows
    mask = rows["treated_persons"] < min_cell()
    numbers = [
        "att",
        "se",
        "ci_low",
        "ci_high",
        "p_value",
        "pretrend_p",
        "treated_persons",
        "person_quarters",
    ]
    return publish(rows, mask, numbers=numbers, drop=())


def event_table(est: Estimate) -> pd.DataFrame:
    """Event-study points in the plotted window, suppressed below min_cell treated persons."""
    if est.event is None or est.event.table.empty:
        return pd.DataFrame(columns=["indicator", "rel", "coef", "ci_low", "ci_high", "suppressed"])
    lo, hi = (int(x) for x in _data()["did"]["event_window"])
    ev = est.event.table
    ev = ev[(ev["rel"] >= lo) & (ev["rel"] <= hi)].reset_index(drop=True)
    mask = primary_mask(ev.rename(columns={"n_treated": "n"}), n_event=None)
    out = publish(ev, mask, numbers=["coef", "se", "ci_low", "ci_high", "n_treated"], drop=())
    out.insert(0, "indicator", est.indicator)
    return out


# --- charts ------------------------------------------------------------------------------------


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, float) and not math.isfinite(v):
                v = None
            clean[str(k)] = v
        out.append(clean)
    return out


def _trend_chart(df: pd.DataFrame, titles: dict[str, str], start_label: str) -> dict[str, Any]:
    data = df[~df["suppressed"]].assign(title=df["indicator"].map(titles))
    data = data[["title", "quarter", "arm", "n", "value"]]
    base = alt.Chart()
    line = base.mark_line(point=True).encode(
        x=alt.X("quarter:O", title="kvartal", axis=alt.Axis(labelAngle=-60, labelFontSize=7)),
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
        color=alt.Color("arm:N", title=None, legend=alt.Legend(orient="bottom")),
    )
    rule = base.mark_rule(strokeDash=[4, 3], color="gray").encode(
        x=alt.datum(start_label, type="ordinal")
    )
    chart = (
        alt.layer(line, rule, data=alt.Data(values=_records(data)))  # type: ignore[no-untyped-call]
        .properties(width=300, height=120)
        .facet(
            facet=alt.Facet("title:N", title=None, header=alt.Header(labelFontSize=10)), columns=2
        )
        .resolve_scale(y="independent")
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec


def _event_chart(df: pd.DataFrame, titles: dict[str, str]) -> dict[str, Any]:
    data = df[~df["suppressed"]].assign(title=df["indicator"].map(titles))
    data = data[["title", "rel", "coef", "ci_low", "ci_high"]]
    base = alt.Chart()
    band = base.mark_rule(color="#4c78a8").encode(
        x=alt.X("rel:Q", title="kvartaler fra oppstart"), y="ci_low:Q", y2="ci_high:Q"
    )
    pts = base.mark_point(filled=True, color="#4c78a8").encode(
        x="rel:Q", y=alt.Y("coef:Q", title=None)
    )
    zero = base.mark_rule(color="gray").encode(y=alt.datum(0))
    chart = (
        alt.layer(band, pts, zero, data=alt.Data(values=_records(data)))  # type: ignore[no-untyped-call]
        .properties(width=300, height=120)
        .facet(
            facet=alt.Facet("title:N", title=None, header=alt.Header(labelFontSize=10)), columns=2
        )
        .resolve_scale(y="independent")
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec


def _png(spec: dict[str, Any]) -> str:
    png = vlc.vegalite_to_png(spec, scale=2)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# --- HTML --------------------------------------------------------------------------------------

_CSS = """
@page { size: A4 landscape; margin: 10mm 12mm;
        @bottom-right { content: counter(page); font-size: 8pt; } }
body { font-family: 'DejaVu Sans', sans-serif; font-size: 8.5pt; color: #222; }
h1 { font-size: 17pt; margin: 0 0 4mm 0; }
h2 { font-size: 13pt; margin: 0 0 2mm 0; }
section { break-before: page; }
section.first { break-before: auto; }
.defs { font-size: 7.5pt; color: #444; margin: 0 0 2mm 0; }
.charts { display: flex; gap: 4mm; }
.charts figure { margin: 0; width: 50%; }
.charts img { width: 100%; max-height: 88mm; object-fit: contain; }
figcaption { font-size: 8pt; font-weight: bold; }
table { border-collapse: collapse; font-size: 7.5pt; margin-top: 2mm; }
th, td { border-bottom: 0.4pt solid #bbb; padding: 0.6mm 2mm; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
.notes { font-size: 7pt; color: #555; margin-top: 2mm; }
"""


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, bool):
        return "ja" if v else "nei"
    if isinstance(v, int):
        return f"{v:,}".replace(",", " ")
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return html.escape(str(v))


def _table(df: pd.DataFrame, columns: dict[str, str], digits: int = 3) -> str:
    head = "".join(f"<th>{html.escape(t)}</th>" for t in columns.values())
    body = []
    for rec in df.to_dict(orient="records"):
        cells = "".join(f"<td>{_fmt(rec.get(c), digits)}</td>" for c in columns)
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _notes(study: Study) -> str:
    cfg = _data()["did"]
    return (
        f"<p class='notes'>Dataperiode {study.period}. Metode: differanse-i-differanser med "
        f"utvidet toveis faste effekter (Wooldridge 2021: kohort for oppstart x kvartal siden "
        f"oppstart) som tåler forskjøvet oppstart; faste effekter for enhet (person eller "
        f"legekontor) og kvartal, vektet med personer; standardfeil klynget på legekontor, 95 % "
        f"konfidensintervall (t med min(pilotkontor, sammenligningskontor) − 1 frihetsgrader). "
        f"Før-trend-test (kun for alle pilotkontor): felles F-test av {cfg['pre_quarters']} "
        f"kvartaler før oppstart på ubehandlede observasjoner. Kvartaler etter at et kontor gikk "
        f"ut av ordningen er utelatt. Målgrupper fra {html.escape(study.target_source)}. "
        f"Celler med færre enn {min_cell()} personer er skjult, også når de kunne regnes ut "
        f"fra en sum.</p>"
    )


_FEATURES_NB = {
    "listed": "listeinnbyggere",
    "share_67_plus": "andel 67 år og eldre",
    "share_target": "andel i målgruppe",
    "centrality": "sentralitet (1–6)",
    "gp_consultations": "legekonsultasjoner per innbygger og kvartal",
    "contacts": "kontakter per innbygger og kvartal",
}


_EST_COLS = {
    "indicator": "indikator",
    "split": "utvalg",
    "att": "effekt",
    "ci_low": "KI nedre",
    "ci_high": "KI øvre",
    "p_value": "p",
    "pretrend_p": "p før-trend",
    "note": "merknad",
    "treated_practices": "pilotkontor",
    "comparison_practices": "sammenligning",
    "treated_persons": "personer (pilot)",
}


def _page(
    study: Study,
    title: str,
    lead: str,
    inds: list[Indicator],
    key: str,
    result: ReportResult,
) -> str:
    estimates: list[Estimate] = []
    trends, events = [], []
    for ind in inds:
        ests = study.estimate(ind, by="financing_model")
        estimates += ests
        trends.append(trend_table(study, ind))
        events.append(event_table(ests[0]))
    trend = pd.concat(trends, ignore_index=True)
    event = pd.concat(events, ignore_index=True)
    est = estimates_table(estimates)
    est["split"] = est["split"].map(lambda s: _SPLIT_NB.get(s, s))
    titles = {i.name: i.title_nb for i in inds}
    est["indicator"] = est["indicator"].map(titles)
    starts = study.sample_practices()["start_q"].dropna()
    start_label = quarter_label(int(starts.min())) if len(starts) else ""
    t_spec = _trend_chart(trend, titles, start_label)
    e_spec = _event_chart(event, titles)
    result.tables[f"{key}_trends"] = trend
    result.tables[f"{key}_event_study"] = event
    result.tables[f"{key}_estimates"] = est
    result.charts[f"{key}_trends"] = t_spec
    result.charts[f"{key}_event_study"] = e_spec
    result.estimates += [
        {**e.row(), "suppressed": bool(s)}
        for e, s in zip(estimates, estimates_table(estimates)["suppressed"], strict=True)
    ]
    defs = "".join(
        f"<div><b>{html.escape(i.title_nb)}</b> (definisjon): {html.escape(i.numerator)} / "
        f"{html.escape(i.denominator)} ({html.escape(i.unit)}).</div>"
        for i in inds
    )
    return (
        f"<section><h2>{html.escape(title)}</h2><p class='defs'>{html.escape(lead)}</p>"
        f"<div class='defs'>{defs}</div>"
        f"<div class='charts'><figure><figcaption>Utvikling: pilotkontor og sammenligningskontor"
        f"</figcaption><img src='{_png(t_spec)}' alt='trend'></figure>"
        f"<figure><figcaption>Hendelsesstudie: effekt per kvartal fra oppstart (95 % KI)"
        f"</figcaption><img src='{_png(e_spec)}' alt='event study'></figure></div>"
        f"{_table(est, _EST_COLS)}{_notes(study)}</section>"
    )


def _first_page(study: Study) -> str:
    sample = study.sample_practices()
    pilot = sample[sample["pilot"]]
    models = pilot["financing_model"].value_counts().to_dict()
    bal = study.comparison.balance.assign(
        feature=lambda d: d["feature"].map(lambda f: _FEATURES_NB.get(f, f))
    )
    return (
        "<section class='first'><h1>Evaluering av primærhelseteam: de seks effektmålene</h1>"
        f"<p>Dataperiode {study.period}. {len(pilot)} pilotkontor "
        f"({models.get('fee', 0)} på honorarmodell, {models.get('grant', 0)} på "
        f"driftstilskuddsmodell) sammenlignes med {len(sample) - len(pilot)} legekontor utenfor "
        f"ordningen, valgt ved nærmeste nabo på sannsynligheten for å være med (listestørrelse, "
        f"aldersstruktur, sykelighet, sentralitet og aktivitet før oppstart).</p>"
        "<h2>Balanse før og etter valg av sammenligningskontor</h2>"
        + _table(
            bal,
            {
                "feature": "kjennetegn",
                "pilot": "pilot",
                "others": "alle andre",
                "comparison": "sammenligning",
                "smd_before": "SMD før",
                "smd_after": "SMD etter",
            },
        )
        + "<p class='notes'>SMD: standardisert gjennomsnittsforskjell (pilot minus andre, delt på "
        "samlet standardavvik). Hver side viser ett effektmål; siste side viser "
        "aktivitetsindikatorene.</p>" + _notes(study) + "</section>"
    )


_CB_ITEMS_NB = {
    "nurse_fte": "Sykepleiere i teamene (årsverk x kostnad per årsverk)",
    "project_funds": "Prosjektmidler (per fastlege til kontor og kommune)",
    "avoided_admissions": "Unngåtte akuttinnleggelser (ACSC) til DRG-pris",
    "avoided_admissions_diabetes": "  herav diabetes type 2 (inngår i linjen over)",
    "gp_hours_freed": "Frigjort legetid til verdien av en legetime",
    "net_benefit": "Netto nytte (nytte minus kostnader)",
}
_KIND_NB = {"cost": "kostnad", "benefit": "nytte", "net": "netto"}


def _nok(v: Any) -> str:
    """An amount as published: "kr 1 234" (whole kroner), "–" when missing."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return "kr " + f"{round(float(v)):,}".replace(",", "\u00a0").replace("-", "−")


def _num(v: Any, digits: int = 1) -> str:
    """A number with decimal comma, "–" when missing."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    text = f"{float(v):,.{digits}f}".replace(",", "\u00a0").replace(".", ",")
    return text.replace("-", "−")


def _cost_benefit_page(
    study: Study, result: ReportResult, estimates: dict[str, Estimate] | None = None
) -> str:
    """The cost-benefit section: costs, benefits with 95% intervals, and every figure's status.

    *estimates* (indicator name -> overall estimate) are used where given (see costbenefit.py).
    """
    from pht.evaluation.costbenefit import cost_benefit, cost_benefit_table, figures

    table = cost_benefit_table(cost_benefit(study, estimates))
    result.tables["cost_benefit"] = table
    body = []
    for rec in table.to_dict(orient="records"):
        note = rec.get("note") or ""
        if rec["suppressed"]:
            note = f"skjult: færre enn {min_cell()} personer i pilotkontorene"
        cells = [
            html.escape(_CB_ITEMS_NB.get(rec["item"], rec["item"])),
            _KIND_NB.get(rec["kind"], rec["kind"]),
            _num(rec.get("quantity")),
            f"{_num(rec.get('quantity_low'))} – {_num(rec.get('quantity_high'))}",
            html.escape(str(rec.get("unit") or "")),
            _nok(rec.get("nok")),
            f"{_nok(rec.get('nok_low'))} – {_nok(rec.get('nok_high'))}",
            SourceStatus.of(str(rec["status"])).nb if rec.get("status") else "",
            html.escape(note),
        ]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(
        f"<th>{t}</th>"
        for t in (
            "post",
            "type",
            "mengde",
            "95 % KI",
            "enhet",
            "beløp",
            "95 % KI",
            "status",
            "merknad",
        )
    )
    figs = "".join(
        f"<li>{html.escape(f.name)}: {_num(f.value, 2 if f.value < 10 else 0)} "
        f"{html.escape(f.unit)} ({SourceStatus.of(f.status).nb}; kilde {html.escape(f.source)})"
        f"{': ' + html.escape(f.note) if f.note else ''}</li>"
        for f in figures().values()
    )
    return (
        "<section><h2>Kostnader og nytte</h2><p class='defs'>Kostnadene er sykepleierårsverkene "
        "og prosjektmidlene til pilotkontorene i kvartalene de var med i ordningen i "
        f"dataperioden {study.period}. Nytten er effektene (alle pilotkontor) ganger antall "
        "person-kvartaler i pilotkontorene etter oppstart: unngåtte innleggelser til DRG-pris "
        "(vekt x enhetspris) og frigjort legetid. Intervallene er effektenes 95 % "
        "konfidensintervall; prisene er faste tall med status under.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<ul class='notes'>{figs}<li>sykepleierkostnad per årsverk: finansieringsdataene for "
        "hvert år (antatt); prosjektmidler: 134 000 kr til kontoret og 26 000 kr til kommunen "
        "per fastlege og år (bekreftet, seed000)</li></ul>"
        "<p class='notes'>En effekt som ikke er estimerbar gir ingen nytte å regne med (merknad); "
        f"nytte som hviler på færre enn {min_cell()} personer i pilotkontorene er skjult, og "
        "da også netto nytte. Beløpene er ikke prisjustert mellom år.</p></section>"
    )


def build_report(
    study: Study,
    out_dir: str | Path,
    *,
    only: list[str] | None = None,
    cost_benefit: bool | None = None,
) -> ReportResult:
    """Write report.html, report.pdf, charts/*.vl.json, tables/*.csv and estimates.json.

    *only* limits the report to these indicators (names); a goal without any keeps its page
    out. *cost_benefit* adds the cost-benefit section (by default when *only* is not given).
    """
    from weasyprint import HTML  # imported here: loading pango takes a moment

    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # no progress chatter

    out = Path(out_dir)
    (out / "charts").mkdir(parents=True, exist_ok=True)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    result = ReportResult(out / "report.html", out / "report.pdf", 0, [])
    inds = {k: v for k, v in load_indicators().items() if only is None or k in only}
    pages = [_first_page(study)]
    for goal in EffectGoal:
        chosen = [i for i in inds.values() if i.goal is goal and i.kind == "effect"]
        if chosen:
            pages.append(
                _page(study, f"{goal.number}. {goal.nb}", goal.en, chosen, goal.value, result)
            )
    activity = [i for i in inds.values() if i.kind == "activity"]
    if activity:
        pages.append(
            _page(
                study,
                "Aktivitet i teamene",
                "Sykepleierkontakter, årskontroller og hjemmebesøk per pasient",
                activity,
                "activity",
                result,
            )
        )
    if cost_benefit if cost_benefit is not None else only is None:
        pages.append(_cost_benefit_page(study, result))
    doc = (
        "<!DOCTYPE html><html lang='nb'><head><meta charset='utf-8'>"
        "<title>Evaluering av primærhelseteam</title>"
        f"<style>{_CSS}</style></head><body>{''.join(pages)}</body></html>"
    )
    result.html_path.write_text(doc, encoding="utf-8")
    rendered = HTML(string=doc, base_url=str(out)).render()
    rendered.write_pdf(result.pdf_path)
    result.pages = len(rendered.pages)
    result.page_texts = [_page_text(p) for p in rendered.pages]
    for name, spec in result.charts.items():
        (out / "charts" / f"{name}.vl.json").write_text(
            json.dumps(spec, ensure_ascii=False, indent=1), encoding="utf-8"
        )
    for name, table in result.tables.items():
        table.to_csv(out / "tables" / f"{name}.csv", index=False)
    (out / "estimates.json").write_text(
        json.dumps(
            _records(pd.DataFrame(published_estimates(result))), ensure_ascii=False, indent=1
        ),
        encoding="utf-8",
    )
    return result


def _page_text(page: Any) -> str:
    """The text on one rendered page (WeasyPrint's layout boxes)."""
    parts: list[str] = []

    def walk(box: Any) -> None:
        text = getattr(box, "text", None)
        if isinstance(text, str):
            parts.append(text)
        for child in getattr(box, "children", ()):
            walk(child)

    walk(page._page_box)
    return " ".join(parts)


def published_estimates(result: ReportResult) -> list[dict[str, Any]]:
    """The estimates as published (numbers of suppressed rows removed)."""
    keep = (
        "indicator",
        "estimator",
        "level",
        "split",
        "clusters",
        "treated_practices",
        "comparison_practices",
        "suppressed",
    )
    out = []
    for row in result.estimates:
        if row["suppressed"]:
            out.append({k: row[k] for k in keep})
        else:
            out.append(dict(row))
    return out
