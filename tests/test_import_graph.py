"""One direction between the apps: certification may use chargers, never the other way
(issue 12, item 9). Every import statement of every chargers module is read, also those
inside functions, so that a lazy import cannot hide a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHARGERS = ROOT / "chargers"


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def importers_of_certification(paths: list[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in paths:
        hits = sorted(
            name
            for name in imported_modules(path)
            if name == "certification" or name.startswith("certification.")
        )
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    return found


def test_the_ocpp_layer_the_transfers_and_the_catalogs_services_do_not_import_certification() -> (
    None
):
    named = [
        *sorted((CHARGERS / "ocpp").glob("*.py")),
        CHARGERS / "transfers.py",
        CHARGERS / "services.py",
    ]
    assert all(path.exists() for path in named)
    assert importers_of_certification(named) == {}


def test_no_module_of_chargers_imports_certification() -> None:
    paths = sorted(p for p in CHARGERS.rglob("*.py") if "migrations" not in p.parts)
    assert len(paths) > 20
    assert importers_of_certification(paths) == {}


def test_the_check_sees_a_lazy_import(tmp_path: Path) -> None:
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from certification.services import current_context\n")
    module.relative_to(tmp_path)
    found = {
        name
        for name in imported_modules(module)
        if name == "certification" or name.startswith("certification.")
    }
    assert found == {"certification.services", "certification.services.current_context"}
