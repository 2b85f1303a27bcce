"""URLs of surveys: the patient's page under /s/ (no login) and the team's under /surveys/."""

from django.urls import include, path

from pht.app.surveys import public, views

public_patterns = (
    [
        path("svar/", public.page, name="page"),
        path("takk/", public.thanks, name="thanks"),
        path("<str:token>", public.open_link, name="link"),
    ],
    "surveys_public",
)
team_patterns = (
    [
        path("", views.overview, name="overview"),
        path("batch/", views.batch, name="batch"),
        path("patients/<uuid:uid>/", views.results, name="results"),
        path("patients/<uuid:uid>/invite/", views.invite, name="invite"),
    ],
    "surveys",
)

urlpatterns = [
    path("s/", include(public_patterns)),
    path("surveys/", include(team_patterns)),
]
