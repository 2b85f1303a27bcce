"""Settings declared once, read from the environment.

``PHT_HOME`` is where pht keeps its local state (default ``./var``): the registry warehouse
(``PHT_WAREHOUSE``, default ``$PHT_HOME/warehouse.duckdb``) and generated data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings", "get_settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Where pht keeps its state."""

    home: Path
    warehouse: Path

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Settings from environment variables (or *env* when given)."""
        values = os.environ if env is None else env
        home = Path(values.get("PHT_HOME", "var")).expanduser()
        warehouse = Path(values.get("PHT_WAREHOUSE", str(home / "warehouse.duckdb"))).expanduser()
        return cls(home=home, warehouse=warehouse)


def get_settings() -> Settings:
    """The settings of this process."""
    return Settings.from_env()
