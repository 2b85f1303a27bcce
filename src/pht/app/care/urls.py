"""URLs of the team's work."""

from django.urls import path

from pht.app.care import views

app_name = "care"

urlpatterns = [
    path("", views.home, name="home"),
    path("tasks/", views.due_list, name="due_list"),
    path("worklist/", views.worklist, name="worklist"),
    path("patients/<uuid:uid>/", views.patient_detail, name="patient"),
    path("patients/<uuid:uid>/plan/", views.plan_edit, name="plan"),
    path("patients/<uuid:uid>/tasks/new/", views.task_create, name="task_create"),
    path("patients/<uuid:uid>/activities/new/", views.activity_create, name="activity_create"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task_complete"),
    path("tasks/<int:pk>/invite/", views.task_invite, name="task_invite"),
]
