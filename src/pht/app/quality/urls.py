"""URLs of the quality pages."""

from django.urls import path

from pht.app.quality import views

app_name = "quality"

urlpatterns = [
    path("", views.index, name="index"),
    path("goals/<int:goal_id>/", views.goal, name="goal"),
]
