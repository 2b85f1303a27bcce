"""Fixtures for the evaluation: small simulated extracts in in-memory warehouses, made by code."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from pht.evaluation.study import Study
from pht.registry.warehouse import Warehouse
from pht.synth.panel import SimulatedExtract, simulate_extract


@pytest.fixture(scope="session")
def small_extract() -> SimulatedExtract:
    """6 pilot practices (2 on the grant model, 2 starting in 2020) and 10 comparisons."""
    return simulate_extract(
        11, pilot_practices=6, comparison_practices=10, persons_per_practice=120, years=5
    )


@pytest.fixture(scope="session")
def small_study(small_extract: SimulatedExtract) -> Iterator[Study]:
    """A study on the small extract, every indicator on the practice-level panel (fast)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wh = Warehouse.open(":memory:")
        small_extract.write(wh)
        study = Study.open(
            wh,
            first_quarter=small_extract.first_quarter,
            last_quarter=small_extract.last_quarter,
            targets=small_extract.targets,
            use_population=False,
        )
        study.level = "practice"
        yield study
        study.release()
        wh.close()
