from __future__ import annotations

import builtins
from typing import Any

import pytest
from django.core.management import call_command

from certification.checks import weasyprint_system_libraries


def test_reports_check_passes_on_a_machine_with_pango() -> None:
    assert weasyprint_system_libraries() == []
    call_command("check", "--tag", "reports", "--fail-level", "ERROR")


def test_missing_pango_is_reported_with_the_package_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def import_without_pango(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", import_without_pango)
    [error] = weasyprint_system_libraries()
    assert error.id == "certification.E001"
    assert "libpango-1.0-0" in error.msg
    assert "apt-get install libpango-1.0-0" in (error.hint or "")
