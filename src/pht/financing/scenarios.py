"""Policy scenarios as data (``data/financing/scenarios.toml``): ``pht finance scenario NAME``.

For the practices of a municipality or of the whole warehouse, in a year, on the exact parts of
both models (:func:`pht.financing.compare.model_parts`):

- **basis_share** ("meld-st-23", Meld. St. 23 (2024–2025)): the basistilskudd's share of the fee
  model's income raised by ``basis_share_points`` percentage points; every tariff amount
  (refunds and co-payments) scaled by one factor so that the area's total is unchanged. Per
  practice: the new basistilskudd, activity and total, and the change (who gains, who loses).
- **teams_everywhere** ("team-overalt"): every practice without nurses gets the nurse FTEs of the
  staffing norm (one per three GP lists) and, per FTE, the nurse contacts of today's team
  practices in the warehouse (by contact type), priced at today's nurse income per contact; the
  cost of the FTEs and of project funds at the pilot's last rate; the GP hours those contacts
  could free.
- **gps_or_teams** ("fastleger-eller-team"): the GP hours the area's nurse contacts free (GP
  minutes per contact type × the share that replaces a GP contact), the GP FTEs that equals, the
  cost of the same capacity as new GPs (the public cost per GP-year in the area + the
  specialist-training grant) against the cost of the teams (nurse FTEs, project funds, the
  public's share of nurse-work income), and the list length the freed hours could carry. When
  the area has no team practice, the teams of ``teams_everywhere`` stand in.

Every parameter is data with a status; the result carries a Vega-Lite chart and a plain
Norwegian summary.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any, Literal, TypedDict

import ibis
from pydantic import BaseModel, ConfigDict

from pht.core.errors import NotFound, PhtError
from pht.core.money import Money
from pht.financing.compare import Comparison, ModelParts, compare_parts
from pht.financing.inputs import Tables, practitioner_roles, rows
from pht.reference import load_scheme_rules, tariff_codes
from pht.reference.files import read_toml, validated

__all__ = ["ScenarioResult", "load_scenarios", "run_scenario", "scenario_names"]

_FILE = "financing/scenarios.toml"
_MIN_CELL = 5  # contact counts below this are suppressed in what is shown
_CONTACT_TYPES = (
    "consultation",
    "e_consultation",
    "home_visit",
    "simple_contact",
    "other_agencies",
)
_TYPE_NB = {
    "consultation": "konsultasjoner",
    "e_consultation": "e-konsultasjoner",
    "home_visit": "hjemmebesøk",
    "simple_contact": "enkle kontakter",
    "other_agencies": "samarbeid med andre tjenester",
}


class ScenarioSpec(BaseModel):
    """One scenario of the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    kind: Literal["basis_share", "teams_everywhere", "gps_or_teams"]
    title_nb: str
    basis_share_points: Decimal | None = None
    status: str
    sources: list[str]
    note: str = ""


class ScenarioParameters(BaseModel):
    """Assumptions the scenarios share."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gp_minutes: dict[str, Decimal]
    gp_minutes_status: str
    substitution: Decimal
    substitution_status: str
    gp_hours_per_fte: Decimal
    gp_hours_status: str
    alis_grant_per_gp: Decimal
    alis_grant_year: int
    alis_status: str
    alis_sources: list[str]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    scenario: tuple[ScenarioSpec, ...]
    parameters: ScenarioParameters


@cache
def load_scenarios() -> _File:
    """The scenarios and their shared parameters."""
    return validated(_File, read_toml(_FILE), where=_FILE)


def scenario_names() -> list[str]:
    """The names ``pht finance scenario`` knows."""
    return [s.name for s in load_scenarios().scenario]


@dataclass(frozen=True)
class Figure:
    """A headline figure of a scenario."""

    key: str
    label_nb: str
    value: Decimal | Money | int | str
    unit: str
    status: str

    def as_row(self) -> dict[str, Any]:
        """A flat row."""
        return {
            "key": self.key,
            "label": self.label_nb,
            "value": self.value,
            "unit": self.unit,
            "status": self.status,
        }


@dataclass(frozen=True)
class ScenarioResult:
    """What a scenario gives: headline figures, rows, a chart and a summary in Norwegian."""

    name: str
    title_nb: str
    year: int
    area: str
    figures: tuple[Figure, ...]
    rows: tuple[dict[str, Any], ...]
    summary_nb: str
    chart: dict[str, Any]
    status: str
    sources: tuple[str, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    def figure(self, key: str) -> Any:
        """The value of the headline figure *key*."""
        return next(f.value for f in self.figures if f.key == key)


# --- formatting for the Norwegian summary -----------------------------------------------------


def _num(value: Decimal | int, decimals: int = 0) -> str:
    q = Decimal(1).scaleb(-decimals) if decimals else Decimal(1)
    v = Decimal(value).quantize(q, rounding=ROUND_HALF_UP)
    whole, _, frac = f"{abs(v):,.{decimals}f}".partition(".")
    sign = "−" if v < 0 else ""
    text = sign + whole.replace(",", "\u00a0")
    return f"{text},{frac}" if decimals else text


def _kr(value: Money | Decimal) -> str:
    amount = value.amount if isinstance(value, Money) else value
    return "kr\u00a0" + _num(amount)


# --- facts from the warehouse -------------------------------------------------------------------


@dataclass(frozen=True)
class _Area:
    label: str
    practices: list[str]


def _area(tables: Tables, municipality: str | None) -> _Area:
    pr = tables.table("practices").select("practice_id", "municipality_code")
    all_rows = rows(pr)
    if municipality is None:
        return _Area(
            "hele landet (alle praksiser i datagrunnlaget)", [r["practice_id"] for r in all_rows]
        )
    chosen = [r["practice_id"] for r in all_rows if r["municipality_code"] == municipality]
    if not chosen:
        raise NotFound(f"no practice in municipality {municipality}")
    name = municipality
    try:
        m = tables.table("municipalities")
        hit = rows(m.filter(m.municipality_code == municipality).select("name"))
        if hit:
            name = f"{hit[0]['name']} ({municipality})"
    except Exception:
        pass
    return _Area(name, chosen)


def _nurse_contacts(tables: Tables, year: int) -> dict[str, dict[str, int]]:
    """practice_id → contact type → nurse contacts in *year* (the contact type of the claim's
    first code, KPR's types from ``tariff_codes.csv``)."""
    c = tables.table("contacts")
    c = c.filter(
        (c.date >= ibis.date(dt.date(year, 1, 1)))
        & (c.date < ibis.date(dt.date(year + 1, 1, 1)))
        & c.tariffs.notnull()
    )
    roles = practitioner_roles(tables)
    j = c.join(roles, c.practitioner_id == roles.r_id)
    j = j.filter(j.r_nurse == 1)
    j = j.mutate(first=j.tariffs.strip().split(" ")[0])
    g = j.group_by(["practice_id", "first"]).agg(n=j.contact_id.count())
    kinds = {code: t.contact_type for code, t in tariff_codes().items()}
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows(g):
        kind = kinds.get(str(r["first"]), "other_agencies")
        if kind not in _CONTACT_TYPES:
            kind = "other_agencies"
        out[r["practice_id"]][kind] += int(r["n"])
    return out


def _staff(tables: Tables, year: int) -> dict[str, dict[str, Decimal]]:
    """practice_id → gps (GPs with listed persons in the year) and nurse_fte (FTE × share of
    the year the nurse works there)."""
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    days = Decimal((end - start).days)
    pr = tables.table("practitioners")
    out: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in rows(pr.select("practitioner_id", "practice_id", "role", "fte", "start", "end")):
        first = max(r["start"] or start, start)
        last = min((r["end"] + dt.timedelta(days=1)) if r["end"] else end, end)
        if last <= first:
            continue
        if r["role"] == "nurse":
            share = Decimal((last - first).days) / days
            out[r["practice_id"]]["nurse_fte"] += Decimal(str(r["fte"] or 1)) * share
    lm = tables.table("list_memberships")
    gp = pr.filter(pr.role == "gp").select(g_id="practitioner_id", g_practice="practice_id")
    j = lm.join(gp, lm.gp_id == gp.g_id)
    j = j.filter((j.start < ibis.date(end)) & (j.end.isnull() | (j.end >= ibis.date(start))))
    for r in rows(j.group_by(j.g_practice).agg(gps=j.gp_id.nunique())):
        out[r["g_practice"]]["gps"] = Decimal(int(r["gps"]))
    return out


def _cost_per_nurse_fte(parts: ModelParts) -> Decimal:
    return parts.inputs.rates.nurse.cost_per_fte


def _alis(parts: ModelParts, params: ScenarioParameters) -> Decimal:
    """The ALIS grant per GP in the year: the 2021 figure × the nurse-cost index (A)."""
    from pht.reference.financing import load_financing_rates

    base = load_financing_rates(params.alis_grant_year).nurse.cost_per_fte
    return (params.alis_grant_per_gp * _cost_per_nurse_fte(parts) / base).quantize(Decimal(1))


def _project_funds_per_gp() -> Decimal:
    last = load_scheme_rules().project_funds[-1]
    return last.to_practice_per_gp + last.to_municipality_per_gp


def _hours(contacts: dict[str, Decimal], params: ScenarioParameters) -> Decimal:
    minutes = sum(
        (n * params.gp_minutes.get(kind, Decimal(0)) for kind, n in contacts.items()), Decimal(0)
    )
    return minutes * params.substitution / 60


# --- the three kinds ---------------------------------------------------------------------------


class _PracticeChange(TypedDict):
    """A practice's fee-model income before and after a basis_share scenario."""

    practice_id: str
    practice: str
    per_capita: Money
    activity: Money
    total: Money
    new_per_capita: Money
    new_activity: Money
    new_total: Money
    change: Money
    listed_person_years: Decimal


def _result(
    spec: ScenarioSpec,
    year: int,
    area: _Area,
    figures: tuple[Figure, ...],
    rows_out: tuple[dict[str, Any], ...],
    summary: str,
    chart: dict[str, Any],
) -> ScenarioResult:
    """The scenario's result with the spec's title, status, sources and note."""
    return ScenarioResult(
        spec.name,
        spec.title_nb,
        year,
        area.label,
        figures,
        rows_out,
        summary,
        chart,
        spec.status,
        tuple(spec.sources),
        (spec.note,),
    )


def _contact_rows(
    contacts: dict[str, Decimal], gp_minutes: dict[str, Decimal] | None = None
) -> tuple[dict[str, Any], ...]:
    """The nurse contacts by contact type (small counts suppressed), with the GP minutes each
    type is taken to replace when *gp_minutes* is given."""
    out = []
    for kind, n in sorted(contacts.items()):
        row: dict[str, Any] = {"kontakttype": _TYPE_NB[kind], "kontakter": _suppressed(n)}
        if gp_minutes is not None:
            row["gp_minutter"] = gp_minutes.get(kind)
        out.append(row)
    return tuple(out)


def _basis_share(
    spec: ScenarioSpec, comparison: Comparison, area: _Area, year: int
) -> ScenarioResult:
    fees = [p.fee for p in comparison.practices]
    basis = sum((f.per_capita.amount for f in fees), Decimal(0))
    activity = sum((f.activity.amount for f in fees), Decimal(0))
    total = basis + activity
    if total <= 0 or basis <= 0:
        raise PhtError("the area has no fee-model income in the year: nothing to reshare")
    s0 = basis / total
    s1 = s0 + (spec.basis_share_points or Decimal(0)) / 100
    if s1 >= 1:
        raise PhtError("the basistilskudd share would reach 100 %")
    fb, fa = s1 / s0, (1 - s1) / (1 - s0)
    out: list[_PracticeChange] = []
    for f in fees:
        new_basis = Money(f.per_capita.amount * fb).rounded()
        new_activity = Money(f.activity.amount * fa).rounded()
        new_total = new_basis + new_activity
        out.append(
            {
                "practice_id": f.practice_id,
                "practice": f.name,
                "per_capita": f.per_capita,
                "activity": f.activity.rounded(),
                "total": f.total.rounded(),
                "new_per_capita": new_basis,
                "new_activity": new_activity,
                "new_total": new_total,
                "change": new_total - f.total.rounded(),
                "listed_person_years": f.listed_person_years,
            }
        )
    gainers = [r for r in out if r["change"].amount > 0]
    biggest = max(out, key=lambda r: abs(r["change"].amount))
    pct = (s0 * 100).quantize(Decimal("0.1")), (s1 * 100).quantize(Decimal("0.1"))
    figures = (
        Figure("basis_share_before", "Basistilskuddets andel før", pct[0], "%", "D"),
        Figure("basis_share_after", "Basistilskuddets andel etter", pct[1], "%", spec.status),
        Figure("tariff_factor", "Faktor på alle takster", fa.quantize(Decimal("0.0001")), "", "A"),
        Figure("total", "Samlet inntekt (uendret)", Money(total).rounded(), "NOK", "D"),
        Figure("practices_gaining", "Praksiser som får mer", len(gainers), "praksiser", "D"),
    )
    summary = (
        f"{spec.title_nb}, {year}, {area.label}: I dag er basistilskuddet {_num(pct[0], 1)} % "
        f"av fastlegenes inntekt i honorarmodellen. Med {_num(spec.basis_share_points or 0)} "
        f"prosentpoeng mer blir andelen {_num(pct[1], 1)} %, og alle takster må ned med "
        f"{_num((1 - fa) * 100, 1)} % for at samlet inntekt skal være den samme "
        f"({_kr(Money(total))}). {len(gainers)} av {len(out)} praksiser får mer: de med lange "
        f"lister og lite aktivitet per pasient vinner, de med mye aktivitet taper. Størst "
        f"endring: {biggest['practice']} ({_kr(biggest['change'].amount)}). Hvordan de nye "
        "takstene blir, er ikke bestemt; her er alle skalert likt (en antakelse)."
    )
    chart = _bar_chart(
        [{"praksis": r["practice"], "kroner": float(r["change"].amount)} for r in out],
        "praksis",
        "kroner",
        "Endring i inntekt per praksis",
    )
    return _result(spec, year, area, figures, tuple(dict(r) for r in out), summary, chart)


@dataclass(frozen=True)
class _Teams:
    nurse_fte: Decimal
    contacts: dict[str, Decimal]
    income: Money  # fee-model income of the nurse work
    project_funds: Money
    gps: Decimal
    projected: bool


def _per_fte(
    comparison_all: Comparison,
    contacts: dict[str, dict[str, int]],
    staff: dict[str, dict[str, Decimal]],
) -> tuple[dict[str, Decimal], Decimal]:
    """Nurse contacts by type and nurse-work income per nurse FTE in today's team practices."""
    team = [p for p, s in staff.items() if s.get("nurse_fte", 0) > 0]
    fte = sum((staff[p]["nurse_fte"] for p in team), Decimal(0))
    if fte <= 0:
        raise PhtError(
            "no practice in the warehouse has nurses in the year: no team activity to use"
        )
    per: dict[str, Decimal] = defaultdict(Decimal)
    for p in team:
        for kind, n in contacts.get(p, {}).items():
            per[kind] += Decimal(n) / fte
    income = sum(
        (c.fee.nurse_work.amount for c in comparison_all.practices if c.fee.practice_id in team),
        Decimal(0),
    )
    return dict(per), income / fte


def _teams(
    tables: Tables,
    parts: ModelParts,
    area: _Area,
    *,
    everywhere: bool,
) -> tuple[_Teams, Comparison]:
    year = parts.inputs.year
    comparison_all = compare_parts(tables, parts)
    contacts = _nurse_contacts(tables, year)
    staff = _staff(tables, year)
    norm = load_scheme_rules().staffing_norm
    by_id = {c.fee.practice_id: c for c in comparison_all.practices}
    has_team = [p for p in area.practices if staff.get(p, {}).get("nurse_fte", 0) > 0]
    gps = sum((staff.get(p, {}).get("gps", Decimal(0)) for p in area.practices), Decimal(0))
    if has_team and not everywhere:
        fte = sum((staff[p]["nurse_fte"] for p in has_team), Decimal(0))
        got: dict[str, Decimal] = defaultdict(Decimal)
        for p in has_team:
            for kind, n in contacts.get(p, {}).items():
                got[kind] += Decimal(n)
        income = sum((by_id[p].fee.nurse_work.amount for p in has_team if p in by_id), Decimal(0))
        funds = sum((by_id[p].project_funds.amount for p in has_team if p in by_id), Decimal(0)) * (
            _project_funds_per_gp() / load_scheme_rules().project_funds[-1].to_practice_per_gp
        )
        return _Teams(fte, dict(got), Money(income), Money(funds), gps, False), comparison_all
    per_kind, income_per_fte = _per_fte(comparison_all, contacts, staff)
    without = [p for p in area.practices if staff.get(p, {}).get("nurse_fte", 0) <= 0]
    fte = sum((norm.required_fte(int(staff.get(p, {}).get("gps", 0))) for p in without), Decimal(0))
    new_gps = sum((staff.get(p, {}).get("gps", Decimal(0)) for p in without), Decimal(0))
    projected = {k: v * fte for k, v in per_kind.items()}
    funds = new_gps * _project_funds_per_gp()
    return (
        _Teams(fte, projected, Money(income_per_fte * fte), Money(funds), gps, True),
        comparison_all,
    )


def _teams_everywhere(
    spec: ScenarioSpec, tables: Tables, parts: ModelParts, area: _Area
) -> ScenarioResult:
    params = load_scenarios().parameters
    teams, _ = _teams(tables, parts, area, everywhere=True)
    cost = Money(teams.nurse_fte * _cost_per_nurse_fte(parts)).rounded()
    hours = _hours(teams.contacts, params)
    gp_fte = hours / params.gp_hours_per_fte
    total_contacts = sum(teams.contacts.values(), Decimal(0))
    figures = (
        Figure(
            "nurse_fte",
            "Nye sykepleierårsverk (bemanningsnorm)",
            teams.nurse_fte.quantize(Decimal("0.01")),
            "årsverk",
            "C",
        ),
        Figure(
            "nurse_contacts",
            "Nye sykepleierkontakter per år",
            total_contacts.quantize(Decimal(1)),
            "kontakter",
            "D",
        ),
        Figure("nurse_cost", "Kostnad sykepleiere", cost, "NOK per år", "A"),
        Figure(
            "project_funds",
            "Prosjektmidler (pilotens sats)",
            teams.project_funds.rounded(),
            "NOK per år",
            "A",
        ),
        Figure(
            "nurse_income",
            "Inntekt av sykepleiernes arbeid (honorarmodellen)",
            teams.income.rounded(),
            "NOK per år",
            "D",
        ),
        Figure(
            "gp_hours_freed",
            "Fastlegetimer som kan frigjøres (øvre grense)",
            hours.quantize(Decimal(1)),
            "timer per år",
            "A",
        ),
        Figure(
            "gp_fte_equivalent",
            "Tilsvarer fastlegeårsverk",
            gp_fte.quantize(Decimal("0.01")),
            "årsverk",
            "A",
        ),
    )
    summary = (
        f"{spec.title_nb}, {parts.inputs.year}, {area.label}: Praksisene uten sykepleier trenger "
        f"{_num(teams.nurse_fte, 1)} sykepleierårsverk etter normen (ett per tre fastlegelister). "
        f"Det koster om lag {_kr(cost)} i året, pluss {_kr(teams.project_funds)} i prosjektmidler "
        f"hvis pilotens sats videreføres. Gjør sykepleierne like mye som i dagens team, blir det "
        f"om lag {_num(total_contacts)} kontakter i året. Hvis alle erstatter en kontakt hos "
        f"fastlegen, frigjøres inntil {_num(hours)} fastlegetimer, eller {_num(gp_fte, 1)} "
        "fastlegeårsverk. Evalueringen fant likevel ingen målt effekt på fastlegenes arbeidstid "
        "eller listelengde, så dette er en øvre grense."
    )
    chart = _bar_chart(
        [
            {"post": "Sykepleiere", "kroner": float(cost.amount)},
            {"post": "Prosjektmidler", "kroner": float(teams.project_funds.amount)},
            {"post": "Inntekt sykepleierarbeid", "kroner": float(teams.income.amount)},
        ],
        "post",
        "kroner",
        "Kostnad og inntekt per år",
    )
    rows_out = _contact_rows(teams.contacts)
    return _result(spec, parts.inputs.year, area, figures, rows_out, summary, chart)


def _suppressed(n: Decimal | int) -> str:
    value = Decimal(n).quantize(Decimal(1))
    return f"<{_MIN_CELL}" if 0 < value < _MIN_CELL else str(value)


def _gps_or_teams(
    spec: ScenarioSpec, tables: Tables, parts: ModelParts, area: _Area
) -> ScenarioResult:
    params = load_scenarios().parameters
    teams, comparison_all = _teams(tables, parts, area, everywhere=False)
    hours = _hours(teams.contacts, params)
    gp_fte = hours / params.gp_hours_per_fte
    in_area = [c for c in comparison_all.practices if c.fee.practice_id in set(area.practices)]
    public = sum(
        (
            c.fee.total.amount - c.fee.copay_patients.amount - c.fee.nurse_work.amount
            for c in in_area
        ),
        Decimal(0),
    )
    listed = sum((c.fee.listed_person_years for c in in_area), Decimal(0))
    gps = teams.gps or Decimal(1)
    per_gp = public / gps
    alis = _alis(parts, params)
    gp_cost = Money(gp_fte * (per_gp + alis)).rounded()
    nurse_cost = Money(teams.nurse_fte * _cost_per_nurse_fte(parts)).rounded()
    team_cost = nurse_cost + teams.project_funds.rounded() + teams.income.rounded()
    avg_list = listed / gps
    extra_listed = gp_fte * avg_list
    figures = (
        Figure(
            "nurse_fte",
            "Sykepleierårsverk i teamene" + (" (beregnet)" if teams.projected else ""),
            teams.nurse_fte.quantize(Decimal("0.01")),
            "årsverk",
            "D",
        ),
        Figure(
            "gp_hours_freed",
            "Fastlegetimer frigjort (øvre grense)",
            hours.quantize(Decimal(1)),
            "timer per år",
            "A",
        ),
        Figure(
            "gp_fte_equivalent",
            "Tilsvarer fastlegeårsverk",
            gp_fte.quantize(Decimal("0.01")),
            "årsverk",
            "A",
        ),
        Figure(
            "public_cost_per_gp",
            "Offentlig kostnad per fastlege med liste",
            Money(per_gp).rounded(),
            "NOK per år",
            "D",
        ),
        Figure(
            "alis_grant",
            "ALIS-tilskudd per ny fastlege",
            Money(alis),
            "NOK per år",
            params.alis_status,
        ),
        Figure("cost_as_new_gps", "Samme kapasitet som nye fastleger", gp_cost, "NOK per år", "A"),
        Figure(
            "cost_of_teams",
            "Kostnad for teamene (sykepleiere, prosjektmidler, sykepleiertakster)",
            team_cost,
            "NOK per år",
            "A",
        ),
        Figure(
            "average_list",
            "Gjennomsnittlig listelengde",
            avg_list.quantize(Decimal(1)),
            "listeinnbyggere per fastlege",
            "D",
        ),
        Figure(
            "extra_listed",
            "Listeinnbyggere de frigjorte timene kan bære",
            extra_listed.quantize(Decimal(1)),
            "listeinnbyggere",
            "A",
        ),
        Figure(
            "extra_per_gp",
            "Lengre liste per fastlege",
            (extra_listed / gps).quantize(Decimal("0.1")),
            "listeinnbyggere",
            "A",
        ),
    )
    cheaper = "teamene" if team_cost < gp_cost else "nye fastleger"
    summary = (
        f"{spec.title_nb} {parts.inputs.year}, {area.label}: Sykepleierne i teamene "
        f"({_num(teams.nurse_fte, 1)} årsverk"
        + (", beregnet etter normen fordi området ikke har team" if teams.projected else "")
        + f") har kontakter som kunne tatt inntil {_num(hours)} timer av fastlegenes tid i året. "
        f"Det tilsvarer {_num(gp_fte, 1)} fastlegeårsverk. Like mye kapasitet som nye fastleger "
        f"koster om lag {_kr(gp_cost)} i året (inkludert ALIS-tilskudd), mot {_kr(team_cost)} for "
        f"teamene. Med disse forutsetningene er {cheaper} billigst. Brukes timene til nye "
        f"pasienter, kan hver fastlege ta om lag {_num(extra_listed / gps)} flere på lista. Men "
        "evalueringen fant ingen målt effekt på fastlegenes arbeidstid eller listelengde: "
        "sykepleierne ga mer oppfølging til målgruppene, ikke færre legetimer. Tallene er en "
        "øvre grense, og minutter per kontakt og arbeidstid per årsverk er antakelser."
    )
    chart = _bar_chart(
        [
            {"alternativ": "Nye fastleger", "kroner": float(gp_cost.amount)},
            {"alternativ": "Primærhelseteam", "kroner": float(team_cost.amount)},
        ],
        "alternativ",
        "kroner",
        "Samme kapasitet: kostnad per år",
    )
    rows_out = _contact_rows(teams.contacts, params.gp_minutes)
    return _result(spec, parts.inputs.year, area, figures, rows_out, summary, chart)


def _bar_chart(data: list[dict[str, Any]], x: str, y: str, title: str) -> dict[str, Any]:
    """A Vega-Lite bar chart (Altair)."""
    import altair as alt
    import pandas as pd

    chart = (
        alt.Chart(pd.DataFrame(data), title=title)
        .mark_bar()
        .encode(
            x=alt.X(f"{x}:N", title=None, sort=None),
            y=alt.Y(f"{y}:Q", title="kroner", axis=alt.Axis(format=",.0f")),
            tooltip=[x, alt.Tooltip(f"{y}:Q", format=",.0f")],
        )
        .properties(width="container")
    )
    spec: dict[str, Any] = chart.to_dict()
    spec["config"] = {
        **spec.get("config", {}),
        "locale": {
            "number": {
                "decimal": ",",
                "thousands": "\u00a0",
                "grouping": [3],
                "currency": ["kr\u00a0", ""],
            }
        },
    }
    return spec


def run_scenario(
    tables: Tables, parts: ModelParts, name: str, *, municipality: str | None = None
) -> ScenarioResult:
    """Run the scenario *name* for *municipality* (default: every practice) on *parts*."""
    specs = {s.name: s for s in load_scenarios().scenario}
    if name not in specs:
        raise NotFound(f"no scenario {name!r}; scenarios: {', '.join(specs)}")
    spec = specs[name]
    area = _area(tables, municipality)
    if spec.kind == "basis_share":
        comparison = compare_parts(tables, parts, practices=area.practices)
        return _basis_share(spec, comparison, area, parts.inputs.year)
    if spec.kind == "teams_everywhere":
        return _teams_everywhere(spec, tables, parts, area)
    return _gps_or_teams(spec, tables, parts, area)
