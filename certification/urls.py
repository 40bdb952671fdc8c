from django.urls import path

from certification import views
from certification.reports import urls as report_urls

app_name = "certification"

urlpatterns = [
    path("runs/", views.RunListView.as_view(), name="run-list"),
    path("runs/new/", views.RunCreateView.as_view(), name="run-create"),
    path("runs/<int:pk>/", views.run_detail, name="run-detail"),
    path("runs/<int:pk>/commands/", views.run_command, name="run-command"),
    path("runs/<int:pk>/faults/", views.run_fault, name="run-fault"),
    path("runs/<int:pk>/unattended/", views.run_unattended, name="run-unattended"),
    path("rehearsals/new/", views.rehearsal_create, name="rehearsal-create"),
    path("unattended/<int:pk>/", views.unattended_detail, name="unattended-detail"),
    path("unattended/<int:pk>/stop/", views.unattended_stop, name="unattended-stop"),
    path("runs/<int:pk>/submit/", views.run_submit, name="run-submit"),
    path("runs/<int:pk>/return/", views.run_return, name="run-return"),
    path("runs/<int:pk>/publish/", views.run_publish, name="run-publish"),
    path("runs/<int:pk>/reopen/", views.run_reopen, name="run-reopen"),
    path("runs/<int:pk>/archive/", views.run_archive, name="run-archive"),
    path("runs/<int:pk>/report.pdf", views.report_pdf, name="report-pdf"),
    path("runs/<int:pk>/report/r<int:revision>.pdf", views.report_pdf, name="report-revision-pdf"),
    path("verify/<uuid:report_id>/", views.verify_report, name="verify"),
    path("catalog/models/<int:pk>/comparison/", views.firmware_comparison, name="comparison"),
    path("runs/<int:pk>/steps/<int:number>/start/", views.step_start, name="step-start"),
    path("runs/<int:pk>/steps/<int:number>/finish/", views.step_finish, name="step-finish"),
    path("runs/<int:pk>/steps/<int:number>/skip/", views.step_skip, name="step-skip"),
    path("runs/<int:pk>/steps/<int:number>/decide/", views.step_decide, name="step-decide"),
    path("plans/", views.PlanListView.as_view(), name="plan-list"),
    path("plans/<int:pk>/", views.plan_detail, name="plan-detail"),
    path("plans/import/", views.plan_import, name="plan-import"),
    path("plans/<int:pk>/copy/", views.plan_copy, name="plan-copy"),
    path("plans/<int:pk>/publish/", views.plan_publish, name="plan-publish"),
    path("plans/<int:pk>/export.json", views.plan_export, name="plan-export"),
    path("plans/<int:pk>/steps/new/", views.step_edit, name="step-create"),
    path("plans/<int:pk>/steps/<int:number>/edit/", views.step_edit, name="step-edit"),
]

# The report as an HTML page, a draft PDF preview and the exports.
urlpatterns += report_urls.urlpatterns
