"""Practice dashboards: aggregates only (no patient-level data), charts as Vega-Lite."""
