"""Printing results: a Rich table for people, CSV and JSON for programs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table

from pht.core.money import Money

__all__ = ["Format", "console", "emit_json", "emit_rows", "err_console"]

console = Console()
err_console = Console(stderr=True)


class Format(StrEnum):
    """Output formats every report command takes."""

    TABLE = "table"
    CSV = "csv"
    JSON = "json"


def _plain(value: Any) -> Any:
    if isinstance(value, Money):
        return str(value.rounded().amount)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def emit_json(data: Any) -> None:
    """Print *data* as JSON (money and decimals as exact strings, dates in ISO form)."""
    sys.stdout.write(json.dumps(_plain(data), ensure_ascii=False, indent=2) + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Money):
        return str(value)
    return str(_plain(value))


def emit_rows(
    rows: Sequence[Mapping[str, Any]],
    *,
    fmt: Format,
    title: str | None = None,
    columns: Sequence[str] | None = None,
    footer: Mapping[str, Any] | None = None,
) -> None:
    """Print rows as a table, CSV or JSON (JSON: ``{"rows": [...], "totals": {...}}``)."""
    cols = list(columns or (rows[0].keys() if rows else []))
    if fmt is Format.JSON:
        emit_json({"rows": [dict(r) for r in rows], **({"totals": footer} if footer else {})})
        return
    if fmt is Format.CSV:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(cols)
        for r in rows:
            writer.writerow([_plain(r.get(c)) if r.get(c) is not None else "" for c in cols])
        sys.stdout.write(buf.getvalue())
        return
    table = Table(title=title, show_footer=footer is not None)
    for c in cols:
        numeric = bool(rows) and isinstance(rows[0].get(c), (int, Decimal, Money, float))
        table.add_column(
            c,
            justify="right" if numeric else "left",
            footer=_cell(footer.get(c)) if footer else "",
        )
    for r in rows:
        table.add_row(*[_cell(r.get(c)) for c in cols])
    console.print(table)
