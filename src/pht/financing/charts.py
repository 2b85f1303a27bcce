"""Vega-Lite charts of the comparison (Altair), for the web app and the reports."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from pht.financing.compare import Comparison

__all__ = ["comparison_chart", "drivers_chart"]

_MODELS = {"fee_model": "Honorarmodell", "grant_model": "Driftstilskuddsmodell"}
_DRIVERS = {
    "list_and_need": "Listestørrelse og behov",
    "activity": "Aktivitet",
    "quality": "Kvalitetstilskudd",
}


def _nok(value: Any) -> float:
    # charts draw numbers; the exact amounts stay in the tables
    return float(value.amount)


def comparison_chart(comparison: Comparison) -> dict[str, Any]:
    """Grouped bars: each practice's income under the two models (a Vega-Lite spec)."""
    data = pd.DataFrame(
        [
            {
                "praksis": p.fee.name,
                "modell": _MODELS[key],
                "kroner": _nok(p.fee.total if key == "fee_model" else p.grant.total),
            }
            for p in comparison.practices
            for key in _MODELS
        ]
    )
    chart = (
        alt.Chart(data, title=f"Inntekt per legekontor {comparison.year}: to finansieringsmodeller")
        .mark_bar()
        .encode(
            y=alt.Y("praksis:N", title=None, sort="-x"),
            x=alt.X("kroner:Q", title="NOK", axis=alt.Axis(format=",.0f")),
            color=alt.Color("modell:N", title="Modell"),
            yOffset="modell:N",
            tooltip=["praksis", "modell", alt.Tooltip("kroner:Q", format=",.2f")],
        )
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec


def drivers_chart(comparison: Comparison) -> dict[str, Any]:
    """Stacked bars: the difference (grant − fee) per practice split into its drivers."""
    data = pd.DataFrame(
        [
            {"praksis": p.fee.name, "driver": _DRIVERS[k], "kroner": _nok(v)}
            for p in comparison.practices
            for k, v in p.drivers.items()
        ]
    )
    chart = (
        alt.Chart(data, title=f"Forskjell driftstilskudd − honorar {comparison.year}, etter årsak")
        .mark_bar()
        .encode(
            y=alt.Y("praksis:N", title=None),
            x=alt.X("sum(kroner):Q", title="NOK", axis=alt.Axis(format=",.0f")),
            color=alt.Color("driver:N", title="Årsak"),
            tooltip=["praksis", "driver", alt.Tooltip("kroner:Q", format=",.2f")],
        )
    )
    spec: dict[str, Any] = chart.to_dict()
    return spec
