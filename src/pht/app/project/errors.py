"""The app's answer when a request fails on the server.

A request that fails because the database cannot be reached (PostgreSQL restarting, the
connection dropped) gets 503 with ``Retry-After`` and a page that says the service is briefly
unavailable: the failure is the server's state, not the request, and the same click works again
in a few seconds. Any other failure gets the plain 500 page. Neither page touches the database.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader

#: seconds a client is asked to wait before trying again (a PostgreSQL restart takes 2-5 s)
RETRY_AFTER_S = 10


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 when the database is unreachable, else 500."""
    failure = sys.exc_info()[1]
    if isinstance(failure, (OperationalError, InterfaceError)):
        page = loader.get_template("503.html").render()
        response = HttpResponse(page, status=503)
        response["Retry-After"] = str(RETRY_AFTER_S)
        return response
    return HttpResponse(loader.get_template("500.html").render(), status=500)
