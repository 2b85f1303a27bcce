"""URLs of the dashboards."""

from django.urls import path

from pht.app.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.index, name="index"),
    path("<str:practice_id>/", views.practice, name="practice"),
    path("<str:practice_id>/charts/<str:name>.svg", views.chart_svg, name="chart_svg"),
    path("<str:practice_id>/charts/<str:name>.json", views.chart_json, name="chart_json"),
    path("<str:practice_id>/tables/<str:name>.csv", views.table_csv, name="table_csv"),
]
