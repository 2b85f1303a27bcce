"""The municipality's yearly report to the Directorate as PDF (WeasyPrint), in Norwegian."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from html import escape as e

from pht.call.reports import YearlyReport
from pht.core.labels import EffectGoal

__all__ = ["render_report_html", "render_report_pdf"]

_CSS = """
@page { size: A4; margin: 20mm 18mm;
  @bottom-right { content: "Side " counter(page); font-size: 8pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; line-height: 1.4; }
h1 { font-size: 14pt; } h2 { font-size: 11pt; margin-top: 6mm; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; }
th, td { border-bottom: 0.5pt solid #999; text-align: left; padding: 1.5mm; }
td.num { text-align: right; white-space: nowrap; }
.sign { margin-top: 8mm; }
"""


def _kr(amount: Decimal) -> str:
    whole = f"{amount.quantize(Decimal(1)):,}".replace(",", " ")
    return f"kr {whole}"


def _date(day: dt.date | None) -> str:
    return "" if day is None else day.strftime("%d.%m.%Y")


def render_report_html(report: YearlyReport, *, municipality: str) -> str:
    """The report as an HTML document."""
    f = report.figures
    parts = [
        "<!doctype html><html lang='nb'><head><meta charset='utf-8'>",
        f"<title>Årsrapport {report.year} – {e(municipality)}</title><style>{_CSS}</style>",
        "</head><body>",
        f"<h1>Årsrapport {report.year}: pilot med primærhelseteam – {e(municipality)}</h1>",
        f"<p>Til Helsedirektoratet. Søknad {e(report.application_id)}. "
        f"Sendt inn {_date(report.submitted_on)}.</p>",
    ]
    if f is not None:
        parts += [
            "<h2>Årets tall</h2><table>",
            f"<tr><td>Legekontor i ordningen</td><td class='num'>{f.practices}</td></tr>",
            f"<tr><td>Prosjektmidler til legekontorene</td>"
            f"<td class='num'>{_kr(f.funds_to_practices)}</td></tr>",
            f"<tr><td>Prosjektmidler til kommunen</td>"
            f"<td class='num'>{_kr(f.funds_to_municipality)}</td></tr>",
            f"<tr><td>Sykepleierårsverk</td><td class='num'>{f.nurse_fte}</td></tr>",
            "</table>",
        ]
    parts.append("<h2>Bruk av midlene</h2><table>")
    parts += [
        f"<tr><td>{e(u.item)}</td><td class='num'>{_kr(u.amount)}</td></tr>"
        for u in report.use_of_funds
    ]
    parts += [
        f"<tr><th>Sum</th><th class='num'>{_kr(report.funds_used)}</th></tr></table>",
        f"<h2>Aktivitet i året</h2><p>{e(report.activity)}</p>",
        f"<h2>Fremdrift</h2><p>{e(report.progress)}</p>",
        "<h2>Effektmålene</h2>",
    ]
    for goal in EffectGoal:
        figures = f.indicators.get(goal, []) if f is not None else []
        parts.append(f"<h3>{goal.number}. {e(goal.nb)}</h3>")
        if figures:
            parts.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in figures) + "</ul>")
        parts.append(f"<p>{e(report.effect_goals.get(goal, ''))}</p>")
    parts.append(
        f"<div class='sign'>Signert elektronisk av {e(report.signed_by)}"
        f"{', ' + e(report.signed_role) if report.signed_role else ''}, "
        f"{_date(report.submitted_on)}.</div></body></html>"
    )
    return "".join(parts)


def render_report_pdf(report: YearlyReport, *, municipality: str) -> bytes:
    """The report as PDF bytes."""
    from weasyprint import HTML

    pdf = HTML(string=render_report_html(report, municipality=municipality)).write_pdf()
    assert pdf is not None
    return bytes(pdf)
