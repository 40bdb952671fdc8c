"""The project's URLs with the report's added to the certification namespace, as they will
be once certification/urls.py includes them (``@pytest.mark.urls("tests.reports.urls")``)."""

from django.urls import URLResolver, include, path

from certification import urls as certification_urls
from certification.reports import urls as report_urls
from config import urls as project_urls

urlpatterns = [
    *(
        pattern
        for pattern in project_urls.urlpatterns
        if not (isinstance(pattern, URLResolver) and pattern.namespace == "certification")
    ),
    path(
        "",
        include(
            (
                [*certification_urls.urlpatterns, *report_urls.urlpatterns],
                "certification",
            )
        ),
    ),
]
