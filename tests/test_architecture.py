"""The architecture's import contracts (``.importlinter``): they hold for the code, and
they do catch a violation (so a contract that can never fail is noticed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
#: Every app the contracts name (a new app's contracts need no edit here).
APPS = sorted(set(re.findall(r"\becitizen\.([a-z0-9_]+)", (ROOT / ".importlinter").read_text())))


def _lint(config: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [str(LINT_IMPORTS), str(config), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=config.parent,
        env=env,
        check=False,
    )


def test_the_code_keeps_every_contract():
    result = _lint(ROOT / ".importlinter")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _fake_platform(tmp_path: Path, imports: dict[str, str]) -> Path:
    """A package named ``ecitizen`` with every app and its models, where ``imports``
    maps a module (``core.views``) to the import line it holds."""
    package = tmp_path / "ecitizen"
    for app in APPS:
        (package / app).mkdir(parents=True)
        (package / app / "__init__.py").write_text("")
        (package / app / "models.py").write_text("")
    (package / "__init__.py").write_text("")
    for module, line in imports.items():
        app, name = module.split(".")
        (package / app / f"{name}.py").write_text(line + "\n")
    config = tmp_path / ".importlinter"
    # The same contracts; the fake has no tests, migrations or demo to ignore.
    text = (ROOT / ".importlinter").read_text()
    text = text.replace("\ntype = ", "\nunmatched_ignore_imports_alerting = none\ntype = ")
    config.write_text(text)
    return tmp_path


def test_core_importing_an_app_breaks_a_contract(tmp_path):
    root = _fake_platform(tmp_path, {"core.views": "import ecitizen.accounts.models"})
    result = _lint(root / ".importlinter", pythonpath=root)
    assert result.returncode != 0
    assert "core imports no app BROKEN" in result.stdout


def test_a_lower_layer_importing_a_higher_one_breaks_a_contract(tmp_path):
    root = _fake_platform(tmp_path, {"payments.services": "import ecitizen.cases.services"})
    result = _lint(root / ".importlinter", pythonpath=root)
    assert "apps are layered in the order of the architecture BROKEN" in result.stdout


def test_importing_another_app_s_models_breaks_a_contract(tmp_path):
    root = _fake_platform(tmp_path, {"cases.views": "import ecitizen.payments.models"})
    result = _lint(root / ".importlinter", pythonpath=root)
    assert "only payments imports payments's models BROKEN" in result.stdout
