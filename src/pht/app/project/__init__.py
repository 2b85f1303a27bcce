"""The Django project: settings declared once, URLs, WSGI/ASGI entry points."""
