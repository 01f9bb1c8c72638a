"""The taxes app reaches the payments app only through its services and selectors: it
imports no payments model, and queries no payments table (ORM or SQL)."""

from __future__ import annotations

import ast
from pathlib import Path

import ecitizen.taxes

APP = Path(ecitizen.taxes.__file__).parent
#: Tests and migrations may use the payments app's models.
EXEMPT = {"tests", "migrations"}
PAYMENTS = "ecitizen.payments"


def _modules() -> list[Path]:
    return sorted(
        path
        for path in APP.rglob("*.py")
        if not EXEMPT.intersection(path.relative_to(APP).parts[:-1])
    )


def _problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    where = path.relative_to(APP.parent.parent)
    problems = []
    from_payments: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PAYMENTS):
            if node.module == f"{PAYMENTS}.models" or any(
                alias.name == "models" for alias in node.names
            ):
                problems.append(f"{where}:{node.lineno} imports the payments app's models")
            from_payments.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            problems += [
                f"{where}:{node.lineno} imports the payments app's models"
                for alias in node.names
                if alias.name.startswith(f"{PAYMENTS}.models")
            ]
    for node in ast.walk(tree):
        # Bill.objects..., Bill._meta.db_table: querying a payments model here.
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"objects", "_meta", "_default_manager"}
            and isinstance(node.value, ast.Name)
            and node.value.id in from_payments
        ):
            problems.append(f"{where}:{node.lineno} queries {node.value.id}.{node.attr}")
        # Raw SQL naming a payments table.
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and "payments_" in node.value
        ):
            problems.append(f"{where}:{node.lineno} names a payments table")
    return problems


def test_the_modules_are_found():
    names = {str(path.relative_to(APP)) for path in _modules()}
    assert "selectors.py" in names
    assert any(name.startswith("services") for name in names)
    assert not any(name.startswith(("tests", "migrations")) for name in names)


def test_taxes_uses_payments_only_through_its_services_and_selectors():
    problems = [problem for path in _modules() for problem in _problems(path)]
    assert problems == []
