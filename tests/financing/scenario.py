"""A small warehouse built by code: three practices, twelve persons, a year (2021) of claims.

Practice P1 is on the fee model, P2 on the operating-grant model (it claims 074*/086*/070
activity codes), P3 is outside the scheme. Person A1 passes the co-payment ceiling in December;
A2 is a child; A3 has a claim with a forbidden code combination and one interdisciplinary meeting
too many; A4 moves from P1 to P2 on 1 April; D1 dies on 30 June. The expected amounts are worked
out by hand in test_scenario.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from pht.financing.inputs import FinancingInputs
from pht.reference.financing import TariffAmount
from pht.registry.schema import TABLES
from pht.registry.warehouse import Warehouse

D = dt.date

P1, P2, P3 = "999000011", "999000029", "999000037"
G1, N1, G2, N2, G3 = "1000001", "1000002", "1000003", "1000004", "1000005"

# Test tariffs in Helfo's open tariff format (amounts chosen for easy arithmetic).
HEADER = (
    "takstkode,beskrivelse,honorar,refusjon,egenandel,fradato,tildato,"
    "inngaar_i_egenandelstak,ugyldig_kombinasjon,maks_antall_per_aar\n"
)
TARIFF_CSV = (
    HEADER
    + """2ad,Konsultasjon,200.00,50.00,150.00,2021-01-01,2021-06-30,ja,11ad,
2ad,Konsultasjon,210.00,50.00,160.00,2021-07-01,2021-12-31,ja,11ad,
2cd,Tidstillegg,30.00,20.00,10.00,2021-01-01,2021-12-31,ja,,
11ad,Sykebesøk,400.00,150.00,250.00,2021-01-01,2021-12-31,ja,2ad,
1ad,Enkel kontakt,60.00,20.00,40.00,2021-01-01,2021-12-31,ja,,
1f,Kontakt med andre,100.00,100.00,0.00,2021-01-01,2021-12-31,nei,,
14,Tverrfaglig møte,400.00,400.00,0.00,2021-01-01,2021-12-31,nei,,1
pht01,Sykepleierkonsultasjon,300.00,200.00,100.00,2021-01-01,2021-12-31,ja,,
"""
)

NEED = {
    "A1": "2.0",
    "A2": "0.5",
    "A3": "1.0",
    "A4": "1.25",
    "B1": "1.5",
    "B2": "1.0",
    "B3": "0.8",
    "B4": "1.2",
    "C1": "1.0",
    "C2": "1.0",
    "C3": "0.75",
    "D1": "3.0",
}


def _claims() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def claim(
        person: str, who: str, practice: str, day: dt.date, tariffs: str, diag: str = ""
    ) -> None:
        out.append(
            {
                "contact_id": f"k{len(out) + 1:03d}",
                "person_id": person,
                "practitioner_id": who,
                "practice_id": practice,
                "date": day,
                "setting": "home" if "11ad" in tariffs or "086a" in tariffs else "office",
                "diagnoses": diag or None,
                "tariffs": tariffs,
                "copay_nok": None,
                "refund_nok": None,
            }
        )

    # A1 at P1: passes the ceiling on 22 December
    for month in range(1, 7):
        claim("A1", G1, P1, D(2021, month, 10), "2ad", "T90")
    claim("A1", N1, P1, D(2021, 2, 15), "pht01", "T90")
    claim("A1", N1, P1, D(2021, 3, 15), "pht01", "T90")
    claim("A1", G1, P1, D(2021, 7, 10), "2ad 2cd", "T90")  # the annual check
    for day in (
        D(2021, 8, 10),
        D(2021, 9, 10),
        D(2021, 10, 10),
        D(2021, 11, 10),
        D(2021, 12, 1),
        D(2021, 12, 10),
        D(2021, 12, 20),
    ):
        claim("A1", G1, P1, day, "2ad", "A98")
    claim("A1", G1, P1, D(2021, 12, 22), "11ad", "A98")
    claim("A1", G1, P1, D(2021, 12, 28), "2ad", "A98")
    claim("A2", G1, P1, D(2021, 3, 3), "2ad", "R74")  # a child
    claim("A3", G1, P1, D(2021, 9, 1), "11ad 2ad", "A98")  # 2ad may not follow 11ad
    claim("A3", G1, P1, D(2021, 10, 1), "14", "A98")
    claim("A3", G1, P1, D(2021, 11, 1), "14", "A98")  # one meeting a year at most
    claim("A4", G1, P1, D(2021, 2, 2), "2ad", "L03")
    # P2 claims activity codes of the operating-grant model
    claim("A4", G2, P2, D(2021, 5, 5), "074a", "L03")
    claim("B1", G2, P2, D(2021, 6, 1), "074b", "T90")  # the annual check
    claim("B1", N2, P2, D(2021, 8, 1), "074a", "T90")  # a nurse consultation
    claim("B2", G2, P2, D(2021, 10, 1), "086a", "K77")
    claim("B3", N2, P2, D(2021, 11, 1), "070", "A98")
    # P3
    claim("C1", G3, P3, D(2021, 4, 4), "2ad", "R74")
    claim("C2", G3, P3, D(2021, 5, 5), "1f", "P76")
    # outside the year: ignored
    claim("C1", G3, P3, D(2020, 12, 31), "2ad", "R74")
    return out


def scenario_rows() -> dict[str, list[dict[str, Any]]]:
    """Rows of every table of the scenario."""
    practices = [
        {
            "practice_id": P1,
            "name": "Fjordlegene",
            "municipality_code": "4602",
            "district": None,
            "financing_model": "fee",
            "pht_start": D(2018, 4, 1),
            "pht_end": None,
        },
        {
            "practice_id": P2,
            "name": "Sentrum legesenter",
            "municipality_code": "4602",
            "district": None,
            "financing_model": "grant",
            "pht_start": D(2018, 4, 1),
            "pht_end": None,
        },
        {
            "practice_id": P3,
            "name": "Dalen legekontor",
            "municipality_code": "4022",
            "district": None,
            "financing_model": None,
            "pht_start": None,
            "pht_end": None,
        },
    ]
    staff = [(G1, P1, "gp"), (N1, P1, "nurse"), (G2, P2, "gp"), (N2, P2, "nurse"), (G3, P3, "gp")]
    practitioners = [
        {
            "practitioner_id": i,
            "practice_id": p,
            "role": r,
            "fte": 1.0,
            "start": D(2015, 1, 1),
            "end": None,
            "team_lead": None,
        }
        for i, p, r in staff
    ]
    born = {
        "A1": D(1950, 5, 5),
        "A2": D(2010, 3, 1),
        "A3": D(1980, 1, 1),
        "A4": D(1975, 6, 6),
        "B1": D(1960, 2, 2),
        "B2": D(1940, 3, 3),
        "B3": D(1990, 4, 4),
        "B4": D(2000, 5, 5),
        "C1": D(1970, 7, 7),
        "C2": D(1985, 8, 8),
        "C3": D(1995, 9, 9),
        "D1": D(1930, 10, 10),
    }
    persons = [
        {
            "person_id": p,
            "birth_date": b,
            "sex": "F" if i % 2 == 0 else "M",
            "municipality_code": "4022" if p[0] in "CD" else "4602",
            "death_date": D(2021, 6, 30) if p == "D1" else None,
        }
        for i, (p, b) in enumerate(born.items())
    ]
    memberships = [
        ("A1", G1, D(2019, 1, 1), None),
        ("A2", G1, D(2010, 3, 1), None),
        ("A3", G1, D(2021, 7, 1), None),
        ("A4", G1, D(2016, 1, 1), D(2021, 3, 31)),
        ("A4", G2, D(2021, 4, 1), None),
        ("B1", G2, D(2018, 1, 1), None),
        ("B2", G2, D(2018, 1, 1), None),
        ("B3", G2, D(2018, 1, 1), None),
        ("B4", G2, D(2018, 1, 1), None),
        ("C1", G3, D(2017, 1, 1), None),
        ("C2", G3, D(2017, 1, 1), None),
        ("C3", G3, D(2017, 1, 1), None),
        ("D1", G3, D(2019, 1, 1), None),
    ]
    municipalities = [
        {"municipality_code": "4602", "name": "Kinn", "population": 17000, "centrality": 5},
        {"municipality_code": "4022", "name": "Seljord", "population": 3000, "centrality": 6},
    ]
    return {
        "municipalities": municipalities,
        "practices": practices,
        "practitioners": practitioners,
        "persons": persons,
        "list_memberships": [
            {"person_id": p, "gp_id": g, "start": s, "end": e} for p, g, s, e in memberships
        ],
        "contacts": _claims(),
    }


def build_warehouse(
    path: str | Path = ":memory:", tables: Mapping[str, Iterable[Mapping[str, Any]]] | None = None
) -> Warehouse:
    """A warehouse holding *tables* (default: the scenario)."""
    wh = Warehouse.open(path)
    wh.init()
    data = tables if tables is not None else scenario_rows()
    with wh.transaction():
        for name, table_rows in data.items():
            spec = TABLES[name]
            arrow = pa.Table.from_pylist(list(table_rows), schema=spec.schema.to_pyarrow())
            wh.replace_rows(name, arrow, key=spec.key)
    return wh


def inputs_with_ceiling(ceiling_ore: int, tariffs: Iterable[TariffAmount]) -> FinancingInputs:
    """2021's rates with the yearly co-payment ceiling set to *ceiling_ore* and these tariffs."""
    base = FinancingInputs.for_year(2021)
    copayment = base.rates.copayment.model_copy(update={"ceiling": Decimal(ceiling_ore) / 100})
    rates = base.rates.model_copy(update={"copayment": copayment})
    return FinancingInputs(2021, rates, tuple(tariffs))
