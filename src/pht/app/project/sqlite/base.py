"""Django's SQLite backend, with case-insensitive lookups that fold every letter, not only ASCII.

SQLite's ``LIKE`` and ``UPPER`` fold only A-Z, so on the default database a search for
``østby`` did not find *Østby* (nor ``åse`` *Åse*), while PostgreSQL, the production database,
finds both (Django compares ``UPPER(column) LIKE UPPER(pattern)`` there). This backend does the
same on SQLite with Python's Unicode ``str.upper``, registered on every connection as
``PHT_UPPER``, so ``iexact``, ``icontains``, ``istartswith`` and ``iendswith`` behave alike on
both databases. Settings use it whenever the database is SQLite.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import base

FOLDED = ("iexact", "icontains", "istartswith", "iendswith")


def unicode_upper(value: Any) -> str | None:
    """SQL ``PHT_UPPER``: *value* in upper case by Unicode's rules (NULL stays NULL)."""
    return None if value is None else str(value).upper()


class DatabaseOperations(base.DatabaseOperations):
    """Wraps the column of a case-insensitive lookup in ``PHT_UPPER``."""

    def lookup_cast(self, lookup_type: str, internal_type: str | None = None) -> str:
        if lookup_type in FOLDED:
            return "PHT_UPPER(%s)"
        return str(super().lookup_cast(lookup_type, internal_type))


class DatabaseWrapper(base.DatabaseWrapper):
    """SQLite with ``PHT_UPPER`` on both sides of every case-insensitive lookup."""

    ops_class = DatabaseOperations
    operators = {
        **base.DatabaseWrapper.operators,
        "iexact": "LIKE PHT_UPPER(%s) ESCAPE '\\'",
        "icontains": "LIKE PHT_UPPER(%s) ESCAPE '\\'",
        "istartswith": "LIKE PHT_UPPER(%s) ESCAPE '\\'",
        "iendswith": "LIKE PHT_UPPER(%s) ESCAPE '\\'",
    }
    pattern_ops = {
        **base.DatabaseWrapper.pattern_ops,
        "icontains": r"LIKE '%%' || PHT_UPPER({}) || '%%' ESCAPE '\'",
        "istartswith": r"LIKE PHT_UPPER({}) || '%%' ESCAPE '\'",
        "iendswith": r"LIKE '%%' || PHT_UPPER({}) ESCAPE '\'",
    }

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        connection.create_function("PHT_UPPER", 1, unicode_upper, deterministic=True)
        return connection
