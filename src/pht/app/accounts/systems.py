"""Systems calling the API with their own credentials: OAuth 2.0 client credentials.

django-oauth-toolkit issues the tokens (``POST /o/token/`` with ``grant_type=client_credentials``,
the client's id and secret, and the scopes wanted) and revokes them (``/o/revoke_token/``).
A :class:`~pht.app.accounts.models.SystemClient` ties the OAuth application to one practice,
the scopes it may ask for and a service user named after it, so its requests pass the same
permission table (:mod:`pht.app.accounts.permissions`) and are audited under its name.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.throttling import SimpleRateThrottle
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauth2_provider.scopes import SettingsScopes


class ClientScopes(SettingsScopes):
    """A client may ask only for the scopes it was registered with (none without a record)."""

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        client = getattr(application, "system_client", None) if application is not None else None
        if client is None or not client.active:
            return []
        known = set(super().get_all_scopes())
        return [s for s in client.scope_list() if s in known]

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return self.get_available_scopes(application, request)


class SystemToken(HttpBearer):
    """The API's bearer-token authentication of system clients.

    The token must be valid (django-oauth-toolkit checks it and its expiry) and belong to an
    active system client; the request then acts as the client's service user, and the token's
    scopes limit what it may do (``request.oauth_token``).
    """

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        valid, oauth_request = get_oauthlib_core().verify_request(request, scopes=[])
        if not valid:
            return None
        access_token = oauth_request.access_token
        application = access_token.application
        client = getattr(application, "system_client", None) if application else None
        if client is None or not client.active or not client.user.is_active:
            return None
        request.user = client.user
        request.oauth_token = access_token  # type: ignore[attr-defined]
        return client


class ClientRateThrottle(SimpleRateThrottle):
    """Requests per system client (``PHT_API_RATE_PER_CLIENT``); over it the API answers 429."""

    scope = "pht-client"

    @property
    def cache(self) -> Any:  # type: ignore[override]
        return caches["limits"]  # shared by every server process

    def __init__(self) -> None:
        super().__init__(rate=settings.PHT_API_RATE_PER_CLIENT)

    def allow_request(self, request: HttpRequest) -> bool:
        self.num_requests, self.duration = self.parse_rate(settings.PHT_API_RATE_PER_CLIENT)
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        token = getattr(request, "oauth_token", None)
        return None if token is None else f"pht-api:client:{token.application_id}"


class UserRateThrottle(SimpleRateThrottle):
    """Requests per signed-in user (``PHT_API_RATE_PER_USER``); system clients count above."""

    scope = "pht-user"

    @property
    def cache(self) -> Any:  # type: ignore[override]
        return caches["limits"]  # shared by every server process

    def __init__(self) -> None:
        super().__init__(rate=settings.PHT_API_RATE_PER_USER)

    def allow_request(self, request: HttpRequest) -> bool:
        self.num_requests, self.duration = self.parse_rate(settings.PHT_API_RATE_PER_USER)
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        if getattr(request, "oauth_token", None) is not None:
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return f"pht-api:user:{user.pk}"
        return f"pht-api:address:{self.get_ident(request)}"
