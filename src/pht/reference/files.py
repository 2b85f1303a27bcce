"""Reading reference-data files from the package, with errors that name the file."""

from __future__ import annotations

import csv
import tomllib
from importlib import resources
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from pht.core.errors import ReferenceDataError

__all__ = ["data_text", "read_csv", "read_toml", "validated"]

M = TypeVar("M", bound=BaseModel)


def data_text(name: str) -> str:
    """The text of the reference-data file *name* (in ``pht/reference/data``)."""
    try:
        return (resources.files("pht.reference") / "data" / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReferenceDataError(f"reference-data file {name} is missing") from None


def read_toml(name: str) -> dict[str, Any]:
    """Parse a TOML reference-data file."""
    try:
        return tomllib.loads(data_text(name))
    except tomllib.TOMLDecodeError as err:
        raise ReferenceDataError(str(err), where=name) from None


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of a CSV reference-data file as dicts (empty cells as empty strings)."""
    return list(csv.DictReader(data_text(name).splitlines()))


def validated(model: type[M], data: Any, *, where: str) -> M:
    """Validate *data* into *model*; a failure names the file and the field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ReferenceDataError(f"{loc}: {first['msg']}", where=where) from None
