"""Decision letters (vedtaksbrev) in Norwegian, as HTML and as PDF via WeasyPrint.

One letter per application of an approved decision set: granted (with the practices, start date,
financing model, project funds per GP and the reporting duty) or declined (with the reasons from
the selection's explanation). The letter is dated with the approval day. Synthetic demo
applicants get a visible banner.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path

from pht.call.application import Application
from pht.call.decisions import Decision, DecisionSet, Outcome
from pht.call.rules import CallRules
from pht.core.errors import PhtError
from pht.core.money import Money

__all__ = ["letter_filename", "render_letter_html", "render_letter_pdf", "write_letters"]

_MONTHS = (
    *("januar", "februar", "mars", "april", "mai", "juni"),
    *("juli", "august", "september", "oktober", "november", "desember"),
)

_CSS = """
@page { size: A4; margin: 22mm 20mm;
  @bottom-right { content: "Side " counter(page); font-size: 8pt; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 10pt; line-height: 1.4; }
.from { font-weight: bold; font-size: 12pt; }
.meta { text-align: right; margin-bottom: 8mm; }
.to { margin-bottom: 10mm; }
h1 { font-size: 13pt; margin: 6mm 0 4mm 0; }
table { border-collapse: collapse; width: 100%; margin: 3mm 0; }
th, td { border-bottom: 0.5pt solid #999; text-align: left; padding: 1.5mm; }
td.num, th.num { text-align: right; }
.banner { border: 1pt solid #a00; color: #a00; padding: 2mm; margin-bottom: 5mm; }
.sign { margin-top: 10mm; }
"""


def _date_nb(day: dt.date) -> str:
    return f"{day.day}. {_MONTHS[day.month - 1]} {day.year}"


def _kr(amount: Money) -> str:
    value = int(amount.rounded().amount)
    return f"{value:,}".replace(",", "\u00a0") + " kr"


def letter_filename(decision: Decision) -> str:
    """The PDF file name of a decision letter."""
    kind = "innvilget" if decision.outcome is Outcome.GRANTED else "avslag"
    return f"vedtak-{decision.application_id}-{kind}.pdf"


def render_letter_html(
    decision: Decision, application: Application, decisions: DecisionSet, rules: CallRules
) -> str:
    """The decision letter as an HTML document (Norwegian)."""
    if not decisions.approved or decisions.decided_on is None:
        raise PhtError(
            "vedtaksbrev lages først når en annen saksbehandler har godkjent vedtakene",
            where=decision.application_id,
        )
    a = application.applicant
    e = escape
    submitted = (
        _date_nb(application.submitted_at.date()) if application.submitted_at else "ukjent dato"
    )
    parts: list[str] = [
        "<!DOCTYPE html><html lang='nb'><head><meta charset='utf-8'>",
        f"<title>Vedtak {e(decision.application_id)} {e(a.municipality)}</title>"
        f"<meta name='author' content='{e(rules.issuer)}'><style>{_CSS}</style></head><body>",
    ]
    if application.synthetic:
        parts.append("<div class='banner'>SYNTETISK DEMOSØKER – denne kommunen finnes ikke.</div>")
    parts += [
        f"<div class='from'>{e(rules.issuer)}</div>",
        f"<div class='meta'>Dato: {_date_nb(decisions.decided_on)}<br>"
        f"Vår referanse: {e(rules.id)}/{e(decision.application_id)}</div>",
        "<div class='to'>",
        f"{e(a.municipality)} kommune<br>v/ {e(application.signature.name or 'rådmannen')}<br>"
        f"{e(a.address.street)}<br>{e(a.address.postcode)} {e(a.address.city)}",
        "</div>",
    ]
    if decision.outcome is Outcome.GRANTED:
        practice_rate, municipality_rate = rules.project_funds_per_gp(rules.pilot_start)
        parts += [
            f"<h1>Vedtak om deltakelse og tilskudd – {e(rules.title.lower())}</h1>",
            f"<p>Vi viser til søknaden fra {e(a.municipality)} mottatt {submitted}. "
            f"<strong>Søknaden er innvilget.</strong> {e(a.municipality)} deltar i "
            f"pilotprosjektet med primærhelseteam fra {_date_nb(rules.pilot_start)} "
            f"til {_date_nb(rules.pilot_last_day)}.</p>",
            "<p>Følgende fastlegepraksiser deltar:</p>",
            "<table><tr><th>Praksis</th><th>Org.nr.</th><th class='num'>Fastleger</th>"
            "<th>Finansieringsmodell</th><th>Oppstart</th></tr>",
        ]
        for p in decision.practices:
            district = f" (bydel {e(p.district)})" if p.district else ""
            parts.append(
                f"<tr><td>{e(p.name)}{district}</td><td>{e(p.orgnr)}</td>"
                f"<td class='num'>{p.gps}</td><td>{e(p.financing_model.nb)}</td>"
                f"<td>{_date_nb(p.start)}</td></tr>"
            )
        parts += [
            "</table>",
            f"<p>Prosjektmidler utbetales per deltakende fastlege og år: {_kr(practice_rate)} "
            f"til fastlegekontoret og {_kr(municipality_rate)} til kommunen, forholdsmessig "
            "for hele måneder i piloten når fastleger kommer til eller slutter. Midlene "
            f"utbetales til kontonummer {e(a.bank_account)} (kommunen) og til praksisenes "
            "oppgitte kontoer.</p>",
            "<p>Kommunen leder forsøket lokalt. Alle fastlegene ved de deltakende praksisene "
            "skal være med, og hver praksis ledes av en fastlege (daglig leder). Kommunen "
            "rapporterer hvert år om bruken av midlene, aktiviteten og fremdriften mot "
            f"effektmålene, med frist {rules.report_due_day}. "
            f"{_MONTHS[rules.report_due_month - 1]} året etter.</p>",
        ]
    else:
        parts += [
            f"<h1>Vedtak om avslag – {e(rules.title.lower())}</h1>",
            f"<p>Vi viser til søknaden fra {e(a.municipality)} mottatt {submitted}. "
            "<strong>Søknaden er avslått.</strong></p>",
            f"<p>Utlysningen ba om {rules.quotas.small} små, {rules.quotas.medium} mellomstore "
            f"og {rules.quotas.large} store kommuner med til sammen ca. {rules.gp_target} "
            "fastleger. Vurderingen er skjønnsmessig og tar utgangspunkt i forventet "
            "måloppnåelse.</p>",
        ]
    parts.append("<p><strong>Begrunnelse:</strong></p><ul>")
    parts += [f"<li>{e(r)}</li>" for r in decision.reasons]
    parts += [
        "</ul>",
        "<p>Vedtaket kan påklages innen tre uker fra det er mottatt, jf. forvaltningsloven "
        "§§ 28 og 29. En eventuell klage sendes til Helsedirektoratet.</p>",
        "<div class='sign'>Med hilsen<br><br>"
        f"{e(decisions.approved_by or '')} (godkjent)<br>{e(decisions.proposed_by)} "
        "(saksbehandler)<br><br><em>Dokumentet er godkjent elektronisk og har derfor ikke "
        "håndskrevne signaturer.</em></div>",
        "</body></html>",
    ]
    return "".join(parts)


def render_letter_pdf(
    decision: Decision,
    application: Application,
    decisions: DecisionSet,
    rules: CallRules,
    *,
    compress: bool = True,
) -> bytes:
    """The decision letter as PDF bytes (WeasyPrint); its title names the application.

    ``compress=False`` leaves the PDF's objects uncompressed (the document title, with the
    applicant's name, is then readable in the bytes).
    """
    from weasyprint import HTML

    html = render_letter_html(decision, application, decisions, rules)
    pdf = HTML(string=html).write_pdf(uncompressed_pdf=not compress)
    assert pdf is not None
    return bytes(pdf)


def write_letters(
    decisions: DecisionSet,
    applications: list[Application],
    rules: CallRules,
    out: Path,
) -> list[Path]:
    """Write one PDF letter per decision into *out* (created if missing); returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    by_id = {a.id: a for a in applications}
    paths = []
    for d in decisions.decisions:
        path = out / letter_filename(d)
        path.write_bytes(render_letter_pdf(d, by_id[d.application_id], decisions, rules))
        paths.append(path)
    return paths
