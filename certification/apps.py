from django.apps import AppConfig


class CertificationConfig(AppConfig):
    name = "certification"
    verbose_name = "Certification"

    def ready(self) -> None:
        from certification import checks  # noqa: F401  (registers the system checks)
        from certification.services import RUN_DIRECTORY
        from chargers import runs

        # chargers learns which run holds a charge point only through this seam.
        runs.register(RUN_DIRECTORY)
