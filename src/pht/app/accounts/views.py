"""Sign-in (password for the demo, single sign-on with OpenID Connect) and sign-out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from authlib.integrations.base_client import OAuthError
from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from requests import RequestException

from pht.app.accounts import oidc
from pht.app.audit.log import client_address, record_denied

#: Session key: where to go after single sign-on.
NEXT = "pht_oidc_next"


def failures_from_address(address: str) -> int:
    """Failed password logins from *address* within the lock-out's cool-off time (django-axes'
    records, whatever user names were tried)."""
    from axes.models import AccessAttempt

    since = timezone.now() - dt.timedelta(hours=settings.AXES_COOLOFF_TIME)
    total = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since).aggregate(
        n=Sum("failures_since_start")
    )["n"]
    return int(total or 0)


class LoginView(auth_views.LoginView):
    """Password login (when ``PHT_PASSWORD_LOGIN``), slowed per user name and per address.

    django-axes locks a user name + address out after 5 failures; an address that failed
    ``PHT_LOGIN_FAILURES_PER_ADDRESS`` times (any user names: password spraying) gets 429 for
    every further attempt until the cool-off time has passed. Both refusals are audited.
    """

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["password_login"] = settings.PHT_PASSWORD_LOGIN
        context["sso"] = oidc.enabled()
        return context

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.PHT_PASSWORD_LOGIN:
            record_denied(
                user=None,
                request=request,
                detail={"login": "password", "why": "password login is switched off"},
                username=str(request.POST.get("username", ""))[:150],
            )
            request._pht_denied_audited = True  # type: ignore[attr-defined]
            return render(request, "accounts/login.html", self.get_context_data(), status=403)
        address = client_address(request)
        if failures_from_address(address) >= settings.PHT_LOGIN_FAILURES_PER_ADDRESS:
            record_denied(
                user=None,
                request=request,
                detail={"login": "password", "why": "too many failures from this address"},
                username=str(request.POST.get("username", ""))[:150],
            )
            request._pht_denied_audited = True  # type: ignore[attr-defined]
            return render(request, "429.html", status=429)
        return super().post(request, *args, **kwargs)


login = LoginView.as_view()


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """End the session; after single sign-on also at the provider (RP-initiated logout)."""
    id_token = request.session.get(oidc.ID_TOKEN)
    auth_logout(request)
    if id_token and oidc.enabled():
        try:
            return oidc.client().logout_redirect(
                request,
                post_logout_redirect_uri=request.build_absolute_uri(reverse("accounts:login")),
                id_token_hint=id_token,
            )
        except (OAuthError, RequestException, RuntimeError):
            pass  # the provider is away: the pht session has ended all the same
    return redirect(settings.LOGOUT_REDIRECT_URL)


def sso_start(request: HttpRequest) -> HttpResponse:
    """Send the browser to the provider (authorization code flow with PKCE, state and nonce)."""
    if not oidc.enabled():
        return render(request, "404.html", status=404)
    nxt = request.GET.get("next", "")
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        request.session[NEXT] = nxt
    redirect_uri = request.build_absolute_uri(reverse("accounts:sso_callback"))
    try:
        return oidc.client().authorize_redirect(request, redirect_uri)  # type: ignore[no-any-return]
    except (OAuthError, RequestException) as err:
        return _refused(request, "provider unavailable", str(err), status=503)


def sso_callback(request: HttpRequest) -> HttpResponse:
    """The provider's answer: fetch and check the tokens, find the member by HPR number."""
    if not oidc.enabled():
        return render(request, "404.html", status=404)
    try:
        token = oidc.client().authorize_access_token(request)
    except (OAuthError, RequestException, ValueError) as err:
        return _refused(request, "sign-in failed", str(err)[:200])
    except Exception as err:  # an ID token that fails a check (signature, audience, nonce ...)
        if type(err).__module__.startswith(("authlib", "joserfc")):
            return _refused(request, "ID token refused", f"{type(err).__name__}: {err}"[:200])
        raise
    claims = dict(token.get("userinfo") or {})
    if not claims:
        return _refused(request, "no ID token", "")
    hpr = oidc.hpr_number(claims)
    user = oidc.member_for_hpr(hpr)
    if user is None:
        return _refused(
            request,
            "no membership",
            "",
            subject=str(claims.get("sub", ""))[:100],
            hpr=hpr,
            status=403,
        )
    auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session[oidc.ID_TOKEN] = token.get("id_token", "")
    nxt = request.session.pop(NEXT, "") or settings.LOGIN_REDIRECT_URL
    if nxt.startswith("/"):
        return HttpResponseRedirect(nxt)
    return redirect(nxt)


def _refused(
    request: HttpRequest, why: str, error: str, *, status: int = 403, **tried: str
) -> HttpResponse:
    """A refused single sign-on: audited as access.denied, answered with a Norwegian page."""
    record_denied(
        user=None,
        request=request,
        detail={"login": "oidc", "why": why, "error": error, **tried},
        username=f"hpr:{tried['hpr']}" if tried.get("hpr") else "",
    )
    request._pht_denied_audited = True  # type: ignore[attr-defined]
    return render(
        request, "accounts/sso_refused.html", {"why": why, "hpr": tried.get("hpr")}, status=status
    )
