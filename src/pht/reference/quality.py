"""The quality-improvement catalogue and the quality-grant rule (``data/quality.toml``)."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from pht.core.labels import EffectGoal
from pht.reference.files import read_toml, validated

__all__ = ["QualityCatalogue", "QualityIndicator", "load_quality_catalogue"]

_FILE = "quality.toml"


class QualityIndicator(BaseModel):
    """One indicator a practice can set a goal on."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str
    name: str
    goal: EffectGoal
    source: Literal["registry", "app", "manual"]
    registry_indicator: str = ""
    condition: str = ""
    status: str


class GrantRule(BaseModel):
    """The quality grant from a practice's own goals (assumption, A)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    share_of_list_grant: Decimal
    min_goals: int
    status: str
    sources: list[str]


class QualityCatalogue(BaseModel):
    """The catalogue and the grant rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    grant: GrantRule
    indicator: list[QualityIndicator]

    def get(self, key: str) -> QualityIndicator:
        """The indicator with *key* (KeyError when unknown)."""
        for i in self.indicator:
            if i.key == key:
                return i
        raise KeyError(key)


@cache
def load_quality_catalogue() -> QualityCatalogue:
    """The catalogue, checked (a bad file names file and field)."""
    return validated(QualityCatalogue, read_toml(_FILE), where=_FILE)
