"""The parameters of the need-based staffing plan (``data/staffing.toml``)."""

from __future__ import annotations

from decimal import Decimal
from functools import cache

from pydantic import BaseModel, ConfigDict

from pht.core.staffing import NeedParameters
from pht.reference.files import read_toml, validated

__all__ = ["load_need_parameters"]

_FILE = "staffing.toml"


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    annual_check_minutes: int
    plan_contact_minutes: int
    assessment_minutes: int
    contacts_without_plan: Decimal
    home_visit_minutes: int
    home_visits_per_frail: Decimal
    productive_hours_per_fte: int
    consultations_per_fte: int
    status: str
    sources: list[str]


@cache
def load_need_parameters() -> NeedParameters:
    """The staffing plan's parameters, checked (a bad file names file and field)."""
    raw = validated(_File, read_toml(_FILE), where=_FILE)
    return NeedParameters(**raw.model_dump(exclude={"sources"}), sources=tuple(raw.sources))
