"""Operations: backups of the app database and the warehouse, with a checked restore."""
