"""URLs of the team's work."""

from django.urls import path

from pht.app.care import views, work_views

app_name = "care"

urlpatterns = [
    path("", views.home, name="home"),
    path("tasks/", views.due_list, name="due_list"),
    path("worklist/", views.worklist, name="worklist"),
    path("recalls/", work_views.recall_register, name="recalls"),
    path("recalls/invite/", work_views.recall_invite, name="recall_invite"),
    path(
        "recalls/create-overdue/",
        work_views.recall_create_overdue,
        name="recall_create_overdue",
    ),
    path("recalls/<int:pk>/close/", work_views.recall_close, name="recall_close"),
    path("checks/results/", work_views.check_results, name="check_results"),
    path("patients/<uuid:uid>/", views.patient_detail, name="patient"),
    path("patients/<uuid:uid>/plan/", views.plan_edit, name="plan"),
    path("patients/<uuid:uid>/plan/contact/", work_views.plan_contact, name="plan_contact"),
    path("patients/<uuid:uid>/plan/review/", work_views.plan_review, name="plan_review"),
    path("patients/<uuid:uid>/plan/end/", work_views.plan_end, name="plan_end"),
    path("patients/<uuid:uid>/plan/history/", work_views.plan_history, name="plan_history"),
    path("patients/<uuid:uid>/plan/min-plan/", work_views.min_plan, name="min_plan"),
    path(
        "patients/<uuid:uid>/checks/<str:condition>/new/",
        work_views.check_create,
        name="check_create",
    ),
    path("patients/<uuid:uid>/threads/new/", work_views.thread_create, name="thread_create"),
    path("threads/<int:pk>/", work_views.thread_detail, name="thread"),
    path("threads/<int:pk>/fhir/", work_views.thread_fhir, name="thread_fhir"),
    path("patients/<uuid:uid>/tasks/new/", views.task_create, name="task_create"),
    path("patients/<uuid:uid>/activities/new/", views.activity_create, name="activity_create"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task_complete"),
    path("tasks/<int:pk>/invite/", views.task_invite, name="task_invite"),
    path("tasks/<int:pk>/assign/", work_views.task_assign, name="task_assign"),
]
