"""Run the benchmarks and print their figures (`make bench`)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if any(a in n for a in argv)]
    console = Console()
    table = Table(title="pht benchmarks")
    for col in ("benchmark", "what", "value", "unit"):
        table.add_column(col)
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        console.print(f"running {name} ...")
        for row in module.run():
            table.add_row(name, row["what"], f"{row['value']:,.2f}", row["unit"])
    console.print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
