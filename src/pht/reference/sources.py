"""The registry of sources that reference-data files cite by key."""

from __future__ import annotations

from functools import cache

from pht.reference.files import read_toml

__all__ = ["load_sources"]


@cache
def load_sources() -> dict[str, str]:
    """Source key → citation (title and address) for every source the reference data cite."""
    return {str(k): str(v) for k, v in read_toml("sources.toml").items()}
