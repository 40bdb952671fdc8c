"""System checks that turn a missing system library into a sentence, not a trace."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register


# Tagged, not run by every management command: importing WeasyPrint takes over a second.
# `make run` runs `manage.py check --tag reports` before anything else.
@register("reports")
def weasyprint_system_libraries(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """WeasyPrint renders the report PDF and needs pango from the operating system."""
    try:
        import weasyprint  # noqa: F401
    except OSError as exc:
        return [
            Error(
                f"WeasyPrint cannot load its system libraries ({exc}).",
                hint=(
                    "Install pango: on Debian or Ubuntu run "
                    "'apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0', "
                    "on macOS 'brew install pango'."
                ),
                id="certification.E001",
            )
        ]
    except ImportError as exc:
        return [
            Error(
                f"WeasyPrint is not installed ({exc}).",
                hint="Run 'make run' or 'make test', which install the project's dependencies.",
                id="certification.E002",
            )
        ]
    return []
