"""URLs of the dashboards."""

from django.urls import path

from pht.app.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.index, name="index"),
    path("okonomi/", views.financing_index, name="financing_index"),
    path("kommune/", views.municipality_index, name="municipality_index"),
    path("kommune/<str:code>/", views.municipality_page, name="municipality"),
    path("kommune/<str:code>/chart.svg", views.municipality_chart_svg, name="municipality_svg"),
    path("kommune/<str:code>/chart.json", views.municipality_chart_json, name="municipality_json"),
    path("kommune/<str:code>/<str:name>.csv", views.municipality_csv, name="municipality_csv"),
    path("<str:practice_id>/", views.practice, name="practice"),
    path("<str:practice_id>/okonomi/", views.financing, name="financing"),
    path("<str:practice_id>/okonomi/chart.svg", views.financing_chart_svg, name="financing_svg"),
    path("<str:practice_id>/okonomi/chart.json", views.financing_chart_json, name="financing_json"),
    path("<str:practice_id>/charts/<str:name>.svg", views.chart_svg, name="chart_svg"),
    path("<str:practice_id>/charts/<str:name>.json", views.chart_json, name="chart_json"),
    path("<str:practice_id>/tables/<str:name>.csv", views.table_csv, name="table_csv"),
]
