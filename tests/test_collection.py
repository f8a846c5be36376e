"""The suite's layout lets two test modules share a basename in different folders.

pytest imports test modules in "prepend" mode: a module in a folder without __init__.py is
imported under its bare basename, so tests/runs/test_history.py and a tests/teams/
test_history.py would clash. Every tests folder is a package instead, so each module is
imported as tests.<folder>.<module>; helpers are imported the same way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_every_tests_folder_is_a_package():
    folders = {path.parent for path in TESTS.rglob("*.py")}
    missing = sorted(
        str(folder.relative_to(TESTS.parent))
        for folder in folders
        if "__pycache__" not in folder.parts and not (folder / "__init__.py").exists()
    )
    assert missing == []


def test_two_modules_with_one_basename_are_both_collected(tmp_path):
    """The same layout in a scratch tree: both test_history modules are collected."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    for folder in ("tests", "tests/runs", "tests/teams"):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "__init__.py").write_text("")
    for app in ("runs", "teams"):
        (tmp_path / "tests" / app / "test_history.py").write_text(f"def test_{app}():\n    pass\n")

    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "tests/runs/test_history.py::test_runs" in result.stdout
    assert "tests/teams/test_history.py::test_teams" in result.stdout
