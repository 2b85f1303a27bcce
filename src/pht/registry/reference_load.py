"""Put the pilot's reference data (municipalities, practices) into the warehouse."""

from __future__ import annotations

import pyarrow as pa

from pht.reference.pilot import Pilot
from pht.registry.warehouse import Warehouse

__all__ = ["load_pilot_reference"]


def pilot_municipalities(pilot: Pilot) -> pa.Table:
    """The pilot's municipalities as rows of the ``municipalities`` table."""
    return pa.table(
        {
            "municipality_code": [m.code for m in pilot.municipalities],
            "name": [m.name for m in pilot.municipalities],
            "population": [m.population for m in pilot.municipalities],
            "centrality": pa.nulls(len(pilot.municipalities), pa.int64()),
        }
    )


def pilot_practices(pilot: Pilot) -> pa.Table:
    """The pilot's practices as rows of the ``practices`` table."""
    ps = pilot.practices
    return pa.table(
        {
            "practice_id": [p.practice_id for p in ps],
            "name": [p.name for p in ps],
            "municipality_code": [p.municipality for p in ps],
            "district": [p.district for p in ps],
            "financing_model": [p.financing_model.value for p in ps],
            "pht_start": [p.joined for p in ps],
            "pht_end": [pilot.last_day for _ in ps],
        }
    )


def load_pilot_reference(warehouse: Warehouse, pilot: Pilot) -> dict[str, int]:
    """Write the pilot's municipalities and practices; loading twice changes nothing."""
    warehouse.init()
    with warehouse.transaction():
        written = {
            "municipalities": warehouse.replace_rows(
                "municipalities", pilot_municipalities(pilot), key=("municipality_code",)
            ),
            "practices": warehouse.replace_rows(
                "practices", pilot_practices(pilot), key=("practice_id",)
            ),
        }
    return written
