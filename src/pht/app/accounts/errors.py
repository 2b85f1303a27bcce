"""Norwegian error pages the project's handlers do not cover by template name alone."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form whose CSRF check failed (``CSRF_FAILURE_VIEW``): 403 with a Norwegian page."""
    return render(request, "403_csrf.html", status=403)
