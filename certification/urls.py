from django.urls import path

from certification import views

app_name = "certification"

urlpatterns = [
    path("runs/", views.RunListView.as_view(), name="run-list"),
    path("runs/new/", views.RunCreateView.as_view(), name="run-create"),
    path("runs/<int:pk>/", views.run_detail, name="run-detail"),
    path("runs/<int:pk>/commands/", views.run_command, name="run-command"),
    path("runs/<int:pk>/steps/<int:number>/start/", views.step_start, name="step-start"),
    path("runs/<int:pk>/steps/<int:number>/finish/", views.step_finish, name="step-finish"),
    path("runs/<int:pk>/steps/<int:number>/skip/", views.step_skip, name="step-skip"),
    path("runs/<int:pk>/steps/<int:number>/decide/", views.step_decide, name="step-decide"),
    path("plans/", views.PlanListView.as_view(), name="plan-list"),
    path("plans/<int:pk>/", views.plan_detail, name="plan-detail"),
    path("plans/<int:pk>/copy/", views.plan_copy, name="plan-copy"),
    path("plans/<int:pk>/steps/new/", views.step_edit, name="step-create"),
    path("plans/<int:pk>/steps/<int:number>/edit/", views.step_edit, name="step-edit"),
]
