"""One schema for the what-if, shared by the financing page's form and the HTTP API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = ["WhatIfQuery", "parse_whatif"]

LABELS = {
    "nurse_consultations": "Flere sykepleierkonsultasjoner per pasient i målgruppene",
    "nurse_fte": "Flere sykepleierårsverk",
    "listed": "Listeinnbyggere",
}


class WhatIfQuery(BaseModel):
    """The changes to try on one practice's year."""

    model_config = ConfigDict(extra="forbid")
    nurse_consultations: Decimal = Field(default=Decimal(0), ge=0, le=50)
    nurse_fte: Decimal = Field(default=Decimal(0), ge=-20, le=20)
    listed: int | None = Field(default=None, ge=1, le=200_000)

    @field_validator("nurse_consultations", "nurse_fte", mode="before")
    @classmethod
    def _comma(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().replace(",", ".").replace(" ", "") or "0"
        return value

    @field_validator("listed", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().replace(" ", "").replace("\u00a0", "") or None
        return value

    @property
    def is_change(self) -> bool:
        """Whether anything is changed."""
        return bool(self.nurse_consultations or self.nurse_fte or self.listed)


def parse_whatif(data: dict[str, Any]) -> tuple[WhatIfQuery | None, dict[str, str]]:
    """The query from form or query-string *data*, or the errors per field (Norwegian)."""
    fields = {k: v for k, v in data.items() if k in WhatIfQuery.model_fields and v not in (None,)}
    try:
        return WhatIfQuery.model_validate(fields), {}
    except ValidationError as err:
        errors: dict[str, str] = {}
        for e in err.errors():
            field = str(e["loc"][0]) if e["loc"] else "__all__"
            errors.setdefault(field, _message(e))
        return None, errors


def _message(e: Any) -> str:
    kind = e.get("type", "")
    ctx = e.get("ctx") or {}
    if kind in ("decimal_parsing", "int_parsing", "int_from_float", "decimal_type"):
        return "Skriv et tall."
    if "ge" in ctx:
        return f"Må være minst {ctx['ge']}."
    if "le" in ctx:
        return f"Kan være høyst {ctx['le']}."
    if kind == "extra_forbidden":
        return "Ukjent felt."
    return "Ugyldig verdi."
