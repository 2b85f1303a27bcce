"""Django's SQLite backend with Unicode-aware case-insensitive lookups (see :mod:`.base`)."""
