"""The HTTP API (django-ninja, OpenAPI at /api/docs): the same rules and actions as the pages."""
