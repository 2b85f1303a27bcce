"""The app's URLs."""

from django.urls import include, path
from oauth2_provider import views as oauth2_views

from pht.app.api.api import api

urlpatterns = [
    path("accounts/", include("pht.app.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("audit/", include("pht.app.audit.urls")),
    path("dashboard/", include("pht.app.dashboards.urls")),
    path("call/", include("pht.app.call.urls")),
    path("kvalitet/", include("pht.app.quality.urls")),
    path("api/", api.urls),
    # OAuth 2.0 for systems (client credentials): tokens and their revocation only
    path("o/token/", oauth2_views.TokenView.as_view(), name="oauth2_token"),
    path("o/revoke_token/", oauth2_views.RevokeTokenView.as_view(), name="oauth2_revoke"),
    path("", include("pht.app.surveys.urls")),
    path("", include("pht.app.care.urls")),
]

handler500 = "pht.app.project.errors.server_error"
