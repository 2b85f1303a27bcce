"""The app's URLs."""

from django.urls import include, path

from pht.app.api.api import api

urlpatterns = [
    path("accounts/", include("pht.app.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("audit/", include("pht.app.audit.urls")),
    path("dashboard/", include("pht.app.dashboards.urls")),
    path("call/", include("pht.app.call.urls")),
    path("api/", api.urls),
    path("", include("pht.app.surveys.urls")),
    path("", include("pht.app.care.urls")),
]
