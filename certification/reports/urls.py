"""The report's URLs, to be included into the ``certification`` namespace (no app_name of
their own): ``urlpatterns += reports.urls.urlpatterns`` in certification/urls.py."""

from django.urls import path

from certification.reports import views

urlpatterns = [
    path("runs/<int:pk>/report/", views.report_html, name="report-html"),
    path(
        "runs/<int:pk>/report/preview.pdf",
        views.report_preview_pdf,
        name="report-preview-pdf",
    ),
    path(
        "runs/<int:pk>/report/steps.<str:fmt>",
        views.report_steps_export,
        name="report-steps-export",
    ),
    path(
        "runs/<int:pk>/report/evidence.<str:fmt>",
        views.report_evidence_export,
        name="report-evidence-export",
    ),
]
