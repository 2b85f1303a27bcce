"""WSGI entry point (``gunicorn pht.app.project.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pht.app.project.settings")
application = get_wsgi_application()
