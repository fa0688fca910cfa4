"""scripts/test.sh's exit code, run for real in bash: "no tests collected" cannot pass CI.

``scripts/pytest-status.sh STATUS SELECTION_GIVEN`` decides; ``scripts/test.sh`` is also run
whole, in a copy of the scripts folder where setup does nothing and ``.venv/bin/python`` is a
stand-in that exits with a chosen pytest status (the real setup installs packages).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATUS = ROOT / "scripts" / "pytest-status.sh"
NO_TESTS_FOR_SELECTION = "pytest collected no tests for this selection"


def environment(ci: str | None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    if ci is not None:
        env["CI"] = ci
    return env


def decide(status: int, selection: bool, *, ci: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(STATUS), str(status), "1" if selection else "0"],
        capture_output=True,
        text=True,
        env=environment(ci),
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("status", "selection", "ci", "expected"),
    [
        (5, True, "true", 5),  # CI: nothing collected fails, selection or not
        (5, False, "true", 5),
        (5, True, "TRUE", 5),
        (5, False, None, 5),  # the whole suite collected nothing: fails
        (5, True, None, 0),  # a selection by hand that matched nothing: passes, and says so
        (5, True, "false", 0),
        (0, False, None, 0),
        (0, True, "true", 0),
        (1, False, None, 1),
        (1, True, "true", 1),
        (2, True, None, 2),
    ],
)
def test_pytest_status_decides_the_exit_code(
    status: int, selection: bool, ci: str | None, expected: int
) -> None:
    done = decide(status, selection, ci=ci)
    assert done.returncode == expected, done.stderr
    if status == 5 and expected == 0:
        assert NO_TESTS_FOR_SELECTION in done.stdout
    if status == 5 and expected != 0:
        assert "collected no tests" in done.stderr
        assert NO_TESTS_FOR_SELECTION not in done.stdout + done.stderr


def test_pytest_status_needs_both_arguments() -> None:
    done = subprocess.run(
        ["bash", str(STATUS), "5"], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2 and "usage" in done.stderr


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A copy of scripts/ whose setup does nothing and whose pytest exits with $PYTEST_STATUS
    after writing its arguments to ``args``."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name in ("test.sh", "pytest-status.sh"):
        shutil.copy2(ROOT / "scripts" / name, scripts / name)
    (scripts / "setup.sh").write_text("exit 0\n", encoding="utf-8")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(
        '#!/usr/bin/env bash\nprintf "%s\\n" "$@" > "$(dirname "$0")/../../args"\n'
        'exit "$PYTEST_STATUS"\n',
        encoding="utf-8",
    )
    python.chmod(0o755)
    return tmp_path


def run_test_sh(
    sandbox: Path, *args: str, pytest_status: int, ci: str | None
) -> subprocess.CompletedProcess[str]:
    env = environment(ci) | {"PYTEST_STATUS": str(pytest_status)}
    return subprocess.run(
        ["bash", str(sandbox / "scripts" / "test.sh"), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "pytest_status", "ci", "expected"),
    [
        ((), 5, None, 5),
        (("-k", "nothing"), 5, None, 0),
        (("-k", "nothing"), 5, "true", 5),
        ((), 0, "true", 0),
        (("-x",), 1, None, 1),
    ],
)
def test_test_sh_runs_pytest_and_applies_the_rule(
    sandbox: Path, args: tuple[str, ...], pytest_status: int, ci: str | None, expected: int
) -> None:
    done = run_test_sh(sandbox, *args, pytest_status=pytest_status, ci=ci)
    assert done.returncode == expected, done.stdout + done.stderr
    assert (sandbox / "args").read_text(encoding="utf-8").split() == ["-m", "pytest", *args]
    assert (NO_TESTS_FOR_SELECTION in done.stdout) == (pytest_status == 5 and expected == 0)


def test_ci_runs_the_readme_test_command_under_ci() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in ci.splitlines() if line and not line.startswith("#")]
    assert "export CI=true" in commands
    assert commands[-1] == "exec bash scripts/test.sh"
    assert "bash scripts/test.sh" in (ROOT / "README.md").read_text(encoding="utf-8")
