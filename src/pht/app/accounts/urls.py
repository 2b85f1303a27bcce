"""URLs of sign-in and sign-out."""

from django.urls import path

from pht.app.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("sso/", views.sso_start, name="sso"),
    path("sso/callback/", views.sso_callback, name="sso_callback"),
]
