"""Users, practices and roles: who may see which patients."""
