"""WSGI entry point (``gunicorn pht.app.project.wsgi``).

Importing it loads the app and warms it (:mod:`pht.app.project.warmup`): under gunicorn's
``--preload`` once in the master, whose forked workers all start warm.
"""

import os

from django.core.wsgi import get_wsgi_application

from pht.app.project.warmup import warm

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pht.app.project.settings")
application = get_wsgi_application()
warm()
