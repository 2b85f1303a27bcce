"""Object-level access rules, in one place.

A team member sees only the patients of their own practice; anything else answers 404, so a
guessed URL reveals nothing. Users without a practice role see no patient-level data at all.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from pht.app.accounts.models import Profile

F = TypeVar("F", bound=Callable[..., HttpResponse])


def profile_of(user: Any) -> Profile | None:
    """The user's profile, or None (a user without one has no role and sees nothing)."""
    if not user.is_authenticated:
        return None
    cache = user._state.fields_cache
    if "profile" not in cache:
        # one query for the profile with its practice and municipality (every page shows them)
        cache["profile"] = (
            Profile.objects.select_related("practice", "municipality").filter(user=user).first()
        )
    try:
        return user.profile  # type: ignore[no-any-return]
    except Profile.DoesNotExist:
        return None


def practice_of(user: Any) -> Any:
    """The practice whose patients *user* may see; 404 for users without patient access."""
    profile = profile_of(user)
    if profile is None or not profile.sees_patients:
        raise Http404
    return profile.practice


def patient_access_required(view: F) -> F:
    """Signed in and in a practice role; others get 403 (they have no patient-level access)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        profile = profile_of(request.user)
        if profile is None or not profile.sees_patients:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapper)  # type: ignore[return-value]


def team_lead_required(view: F) -> F:
    """Signed in as the practice's GP team lead (daily leader) or as a superuser."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        profile = profile_of(request.user)
        if not request.user.is_superuser and (profile is None or not profile.is_team_lead):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(wrapper)  # type: ignore[return-value]
