"""Settings declared once, read from the environment.

``PHT_HOME`` is where pht keeps its local state (default ``./var``): the registry warehouse
(``PHT_WAREHOUSE``, default ``$PHT_HOME/warehouse.duckdb``) and generated data.
``PHT_REPLACE_THRESHOLD`` (default 0.05): the share of a table's stored rows a registry load may
delete or overwrite without ``--replace``.
``PHT_BACKEND`` (``duckdb`` or ``spark``), ``PHT_SPARK_REMOTE`` (a Spark Connect URL) and
``PHT_SPARK_MASTER``: where ``pht pipeline run`` runs (docs/scale.md).
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
    # Share of a table's stored rows one load may delete or overwrite without --replace
    # (PHT_REPLACE_THRESHOLD; pht.registry.batches).
    replace_threshold: float = 0.05
    # Whether a load writes its batch while its rules run, keeping it only when they find
    # nothing (PHT_LOAD_WHILE_CHECKING=0 turns it off; pht.registry.load).
    load_while_checking: bool = True
    # Where `pht pipeline run` runs: duckdb or spark, and how to reach Spark (pht.ops.pipeline).
    backend: str = "duckdb"
    spark_remote: str | None = None
    spark_master: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Settings from environment variables (or *env* when given)."""
        values = os.environ if env is None else env
        home = Path(values.get("PHT_HOME", "var")).expanduser()
        warehouse = Path(values.get("PHT_WAREHOUSE", str(home / "warehouse.duckdb"))).expanduser()
        try:
            threshold = float(values.get("PHT_REPLACE_THRESHOLD", "0.05"))
        except ValueError:
            threshold = 0.05
        return cls(
            home=home,
            warehouse=warehouse,
            replace_threshold=threshold,
            load_while_checking=values.get("PHT_LOAD_WHILE_CHECKING", "1").strip() != "0",
            backend=values.get("PHT_BACKEND", "duckdb").strip().lower() or "duckdb",
            spark_remote=values.get("PHT_SPARK_REMOTE") or None,
            spark_master=values.get("PHT_SPARK_MASTER") or None,
        )


def get_settings() -> Settings:
    """The settings of this process."""
    return Settings.from_env()
