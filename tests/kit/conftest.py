"""Helpers of the plugin-kit tests: a virtual environment of their own, layered on the project's,
for installing a scaffolded plugin without touching the project's environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
PROJECT_BIN = Path(sys.executable).parent
UV = PROJECT_BIN / "uv"
#: Every command of the tests finishes well within this (seconds); none waits for ever.
COMMAND_TIMEOUT = 300
WRAPPERS = {
    "chelun": "from chelun.cli import app\n\nsys.exit(app())\n",
    "pytest": "import pytest\n\nsys.exit(pytest.console_main())\n",
}


@dataclass(frozen=True)
class Layered:
    """A virtual environment of a test's own that sees every package of the project's (chelun
    included) through a ``.pth`` file: what is installed into it stays there, and goes with the
    test's temporary folder. ``run`` runs a shell command with it first on ``PATH``."""

    venv: Path
    env: dict[str, str]

    def run(self, command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )


def layered_venv(where: Path) -> Layered:
    """A seeded virtual environment (pip, setuptools, wheel) in ``where``, layered on the
    project's: installs into it need no index and no build isolation."""
    if not UV.exists():
        pytest.skip("uv is not installed in the project's environment (scripts/setup.sh)")
    made = subprocess.run(
        [str(UV), "venv", "-q", "--seed", str(where), "--python", sys.executable],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"a seeded virtual environment cannot be made here: {made.stderr[-300:]}")
    site = next((where / "lib").glob("python3*/site-packages"))
    project_site = sysconfig.get_paths()["purelib"]
    (site / "_chelun_project.pth").write_text(
        f"import site; site.addsitedir({project_site!r})\n", encoding="utf-8"
    )
    for name, body in WRAPPERS.items():
        script = where / "bin" / name
        script.write_text(f"#!{where / 'bin' / 'python'}\nimport sys\n\n{body}", encoding="utf-8")
        script.chmod(0o755)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CHELUN_", "PYTEST_", "PIP_", "VIRTUAL_ENV"))
    }
    env |= {
        "PATH": f"{where / 'bin'}{os.pathsep}{PROJECT_BIN}{os.pathsep}{env.get('PATH', '')}",
        "VIRTUAL_ENV": str(where),
        "CHELUN_HOME": str(where.parent / "chelun-home"),
        # Offline: chelun is installed already, and the venv has setuptools to build with.
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        # Lines as long as they are: rich wraps at the terminal's width, 80 in a pipe.
        "COLUMNS": "250",
    }
    return Layered(where, env)


def plugins_of_project_environment() -> list[str]:
    """The distributions the project's own environment holds with entry points in the group
    ``chelun``: a test that installs a plugin must leave it as it found it."""
    listed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.metadata as m, json; print(json.dumps(sorted({d.metadata['Name'] "
            "for d in m.distributions() if d.entry_points.select(group='chelun')})))",
        ],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=True,
        cwd=PROJECT,
    )
    return json.loads(listed.stdout)
