"""Small hand-built populations for the population tests: a builder that writes rows into an
in-memory warehouse (or returns them as Arrow tables for another backend)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pyarrow as pa

from pht.core.identifiers import make_orgnr, make_person_id
from pht.registry import TABLES, Warehouse

D = dt.date.fromisoformat


class Population:
    """Rows of the extract format, built by code."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._persons = 0
        self._ids: set[str] = set()
        self._contacts = 0
        self._admissions = 0
        self.rows["municipalities"].append(
            {"municipality_code": "0301", "name": "Oslo", "population": 700000, "centrality": 1}
        )

    def practice(self, first8: str = "91234568", model: str | None = "fee") -> str:
        orgnr = make_orgnr(first8)
        assert orgnr
        self.rows["practices"].append(
            {
                "practice_id": orgnr,
                "name": f"Legekontor {first8}",
                "municipality_code": "0301",
                "financing_model": model,
                "pht_start": D("2018-04-01") if model else None,
            }
        )
        return orgnr

    def practitioner(self, hpr: str, practice_id: str, role: str = "gp") -> str:
        self.rows["practitioners"].append(
            {
                "practitioner_id": hpr,
                "practice_id": practice_id,
                "role": role,
                "fte": 1.0,
                "start": D("2010-01-01"),
            }
        )
        return hpr

    def person(
        self,
        birth: str,
        sex: str = "F",
        *,
        gp: str | None = None,
        death: str | None = None,
        listed_from: str = "2010-01-01",
    ) -> str:
        pid = None
        while pid is None or pid in self._ids:
            self._persons += 1
            pid = make_person_id(D(birth), self._persons % 500)
        self._ids.add(pid)
        self.rows["persons"].append(
            {
                "person_id": pid,
                "birth_date": D(birth),
                "sex": sex,
                "municipality_code": "0301",
                "death_date": D(death) if death else None,
            }
        )
        if gp:
            self.rows["list_memberships"].append(
                {"person_id": pid, "gp_id": gp, "start": D(listed_from), "end": None}
            )
        return pid

    def contact(
        self,
        person_id: str,
        date: str,
        diagnoses: str = "",
        tariffs: str = "2ad",
        *,
        practitioner: str,
        practice: str,
        setting: str = "office",
    ) -> None:
        self._contacts += 1
        self.rows["contacts"].append(
            {
                "contact_id": f"c{self._contacts}",
                "person_id": person_id,
                "practitioner_id": practitioner,
                "practice_id": practice,
                "date": D(date),
                "setting": setting,
                "diagnoses": diagnoses or None,
                "tariffs": tariffs or None,
            }
        )

    def admission(
        self,
        person_id: str,
        admitted: str,
        main: str,
        others: str = "",
        *,
        acute: bool = True,
        days: int = 3,
    ) -> None:
        self._admissions += 1
        self.rows["admissions"].append(
            {
                "admission_id": f"a{self._admissions}",
                "person_id": person_id,
                "admitted": D(admitted),
                "discharged": D(admitted) + dt.timedelta(days=days),
                "main_diagnosis": main,
                "other_diagnoses": others or None,
                "acute": acute,
            }
        )

    def service(self, person_id: str, service: str, start: str, end: str | None = None) -> None:
        self.rows["municipal_services"].append(
            {
                "person_id": person_id,
                "service": service,
                "start": D(start),
                "end": D(end) if end else None,
                "hours_per_week": 2.0,
            }
        )

    def arrow(self, name: str) -> pa.Table:
        spec = TABLES[name]
        rows = self.rows.get(name, [])
        cols = {c.name: [r.get(c.name) for r in rows] for c in spec.columns}
        return pa.table(cols, schema=spec.schema.to_pyarrow())

    def warehouse(self) -> Warehouse:
        wh = Warehouse.open(":memory:")
        wh.init()
        with wh.transaction():
            for name, spec in TABLES.items():
                if self.rows.get(name):
                    wh.replace_rows(name, self.arrow(name), key=spec.key)
        return wh
