"""Headers of static files (served by WhiteNoise before any middleware runs)."""

from __future__ import annotations

from typing import Any

#: The Content-Security-Policy of static files: nothing runs or loads from an SVG or a script
#: file but what the pages' policy allows (``settings.CONTENT_SECURITY_POLICY``).
STATIC_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'"
)


def static_headers(headers: Any, path: str, url: str) -> None:
    """WhiteNoise's hook: CSP and nosniff on every static file, SVG included."""
    headers["Content-Security-Policy"] = STATIC_CSP
    headers["X-Content-Type-Options"] = "nosniff"
