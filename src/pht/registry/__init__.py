"""The registry warehouse: the tables of the registry extract format in DuckDB, through Ibis.

Importers (CSV, Parquet, FHIR), the synthetic generator and pseudonymisation write here; the
analytic rooms (population, financing, evaluation) read Ibis expressions over these tables.
"""

from pht.registry.schema import SCHEMA_VERSION, TABLES, ColumnSpec, TableSpec
from pht.registry.warehouse import Warehouse

__all__ = ["SCHEMA_VERSION", "TABLES", "ColumnSpec", "TableSpec", "Warehouse"]
