"""Benchmarks: `make bench` runs them all; `python -m bench NAME` runs one.

Each benchmark module defines ``run() -> list[dict]``: rows of measured figures (what, value,
unit), printed as a table. Benchmarks never run inside the test suite.
"""
