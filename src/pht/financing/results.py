"""What the results of both financing models share: the practice a row is about, and a year's
rows with their total and a lookup by practice."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any, Generic, Protocol, TypeVar

from pht.core.money import Money, total

__all__ = ["PracticeIncome", "PracticeResults"]


@dataclass(frozen=True)
class PracticeIncome:
    """The practice one model's income row is about (the start of every model's row)."""

    practice_id: str
    name: str
    municipality_code: str
    financing_model: str | None
    listed_person_years: Decimal

    def identity_row(self) -> dict[str, Any]:
        """The practice columns of a flat report row."""
        return {
            "practice_id": self.practice_id,
            "practice": self.name,
            "municipality_code": self.municipality_code,
            "financing_model": self.financing_model,
            "listed_person_years": self.listed_person_years,
        }


class _Row(Protocol):
    @property
    def practice_id(self) -> str: ...

    @property
    def total(self) -> Money: ...


R = TypeVar("R", bound=_Row)


class PracticeResults(Generic[R]):
    """A model's rows for a year (``practices``), with their total and a lookup by practice.

    Mixed into the frozen result dataclasses, which declare the ``practices`` field.
    """

    practices: tuple[R, ...]

    @property
    def total(self) -> Money:
        """Sum over practices."""
        return total(p.total for p in self.practices)

    @cached_property
    def _by_id(self) -> dict[str, R]:
        return {p.practice_id: p for p in self.practices}

    def practice(self, practice_id: str) -> R:
        """The row of one practice (KeyError when it has none)."""
        return self._by_id[practice_id]
