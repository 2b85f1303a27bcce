"""URLs of sign-in and sign-out, and of the practice's system clients."""

from django.urls import path

from pht.app.accounts import system_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("sso/", views.sso_start, name="sso"),
    path("sso/callback/", views.sso_callback, name="sso_callback"),
    path("systemer/", system_views.systems, name="systems"),
    path("systemer/trekk-tilbake/", system_views.system_revoke, name="system_revoke"),
]
