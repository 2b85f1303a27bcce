"""URLs of the call."""

from django.urls import path

from pht.app.call import report_views, views

app_name = "call"

urlpatterns = [
    path("", views.index, name="index"),
    path("mine/", views.mine, name="mine"),
    path("mine/new/", views.edit, name="new"),
    path("mine/<str:application_id>/", views.edit, name="edit"),
    path("mine/<str:application_id>/withdraw/", views.withdraw, name="withdraw"),
    path("reports/", report_views.report_list, name="reports"),
    path("reports/<str:application_id>/<int:year>/", report_views.report_edit, name="report_edit"),
    path("reports/<str:application_id>/<int:year>.pdf", report_views.report_pdf, name="report_pdf"),
    path("cases/reports/", report_views.officer_reports, name="officer_reports"),
    path("cases/", views.officer, name="officer"),
    path("cases/selection/", views.selection, name="selection"),
    path("cases/propose/", views.propose, name="propose"),
    path("cases/decisions/", views.decisions, name="decisions"),
    path("cases/decisions/approve/", views.approve, name="approve"),
    path("cases/payments/", views.payments, name="payments"),
    path("cases/<str:application_id>/", views.officer_application, name="officer_application"),
    path("cases/<str:application_id>/score/", views.score, name="score"),
    path("cases/<str:application_id>/accept-late/", views.accept_late, name="accept_late"),
    path("cases/<str:application_id>/conflict/", views.conflict, name="conflict"),
    path("cases/<str:application_id>/meeting/", views.meeting, name="meeting"),
    path("cases/<str:application_id>/override/", views.override, name="override"),
    path("cases/<str:application_id>/letter.pdf", views.letter, name="letter"),
]
