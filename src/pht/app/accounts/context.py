"""Template context: the signed-in user's profile (role, practice)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from pht.app.accounts.access import profile_of


def profile(request: HttpRequest) -> dict[str, Any]:
    """Add ``profile`` (or None) to every template."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"profile": None}
    return {"profile": profile_of(user)}
