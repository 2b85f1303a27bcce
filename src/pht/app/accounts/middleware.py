"""Session idle timeout and ``Cache-Control: no-store`` on every page and API answer."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control

#: The session key holding the time of the last request (seconds since the epoch).
LAST_SEEN = "pht_last_seen"
#: Seconds between two writes of LAST_SEEN (a session is not saved on every request).
TOUCH_EVERY = 60


class IdleTimeoutMiddleware:
    """End a signed-in session that was idle for ``PHT_SESSION_IDLE_MINUTES`` (default 30).

    The session also ends after ``SESSION_COOKIE_AGE`` (8 hours) whatever the activity. The last
    request's time is written at most once a minute, so a busy page does not write the session
    on every request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            now = time.time()
            last = session.get(LAST_SEEN)
            idle = settings.PHT_SESSION_IDLE_MINUTES * 60
            if last is not None and now - float(last) > idle:
                logout(request)
                if request.path.startswith("/api/"):
                    return HttpResponse(status=401)
                return redirect_to_login(request.get_full_path())
            if last is None or now - float(last) > TOUCH_EVERY:
                session[LAST_SEEN] = now
        return self.get_response(request)


class NoStoreMiddleware:
    """``Cache-Control: no-store, private`` on every answer the app makes (pages, API, CSV).

    Patient data must not stay in a browser's or a proxy's cache; static files are served by
    WhiteNoise before this runs and keep their long cache lifetime.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        patch_cache_control(response, no_store=True, private=True)
        return response
