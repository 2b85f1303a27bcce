"""The main job behind ``make run``: build the pilot into the local registry and summarise it."""

from __future__ import annotations

from pht.cli.output import Format, console, emit_rows
from pht.core.settings import get_settings
from pht.reference import load_pilot
from pht.registry.reference_load import load_pilot_reference
from pht.registry.warehouse import Warehouse


def run_main_job() -> None:
    """Build the 2018 pilot's reference data into the warehouse and print a summary."""
    settings = get_settings()
    pilot = load_pilot()
    with Warehouse.open(settings.warehouse) as wh:
        written = load_pilot_reference(wh, pilot)
        info = wh.info()
    console.print(
        f"[bold]pht[/]: {pilot.name} built into {info.path} "
        f"(schema version {info.schema_version}): "
        + ", ".join(f"{n} {t}" for t, n in written.items())
    )
    emit_rows(
        [{"table": t.name, "rows": t.rows} for t in info.tables],
        fmt=Format.TABLE,
        title="Warehouse",
    )
