"""What a user sees when something is wrong: one line, the right exit code, no traceback; and
a warning, not silence, where a command would otherwise quietly do nothing useful."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chelun.demo.roster import generate_province

CHELUN = Path(sys.executable).parent / "chelun"


def chelun(
    *args: str, home: Path, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CHELUN_HOME": str(home), **env}
    return subprocess.run(
        [str(CHELUN), *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CHELUN_PAIRING_CAP", "0", "CHELUN_PAIRING_CAP='0': input should be greater than or"),
        ("CHELUN_WORKERS", "abc", "CHELUN_WORKERS='abc': input should be a valid integer"),
        ("CHELUN_BATCH_ROWS", "-5", "CHELUN_BATCH_ROWS='-5': input should be greater than or"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it_with_exit_2(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    done = chelun("roster", "enrol", "--province", "62", home=tmp_path / "h", **{variable: value})
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert line.startswith("error: bad setting ") and expected in line


def test_a_bad_setting_in_dotenv_is_one_line_too(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CHELUN_PAIRING_CAP=0\n", encoding="utf-8")
    done = chelun("roster", "enrol", "-p", "62", home=tmp_path / "h", cwd=tmp_path)
    assert done.returncode == 2
    assert "CHELUN_PAIRING_CAP='0'" in one_line(done.stderr)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:1/test", "cannot use the database at"),
        ("postgresql+psycopg://nosuchrole@127.0.0.1:5432/test", "cannot use the database at"),
        ("postgresql+psycopg://postgres@127.0.0.1:5432/nosuchdb", "cannot use the database at"),
        ("nosuchdialect://x/y", "cannot use the database at nosuchdialect://x/y"),
        ("not a url", "CHELUN_DATABASE_URL is not a database URL"),
    ],
    ids=["dead port", "missing role", "missing database", "unknown dialect", "not a url"],
)
@pytest.mark.parametrize("command", [("db", "upgrade"), ("db", "current")], ids=" ".join)
def test_database_commands_fail_in_one_line(
    tmp_path: Path, command: tuple[str, ...], url: str, expected: str
) -> None:
    done = chelun(*command, home=tmp_path / "h", CHELUN_DATABASE_URL=url)
    assert done.returncode == 1
    line = one_line(done.stderr)
    assert expected in line


def test_a_password_in_the_url_is_never_shown(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/test"
    done = chelun("db", "current", home=tmp_path / "h", CHELUN_DATABASE_URL=url)
    assert done.returncode == 1 and "s3cret-pw" not in done.stderr + done.stdout


def test_provinces_without_a_plugin_are_refused_unless_enabled(tmp_path: Path) -> None:
    refused = chelun("roster", "summary", "--province", "33", home=tmp_path / "h")
    assert refused.returncode == 2
    line = one_line(refused.stderr)
    assert "province 33 (浙江省) has no plugin and is not enabled" in line
    assert "62 (甘肃省)" in line and "CHELUN_PROVINCES" in line
    unknown = chelun("roster", "summary", "--province", "99", home=tmp_path / "h")
    assert unknown.returncode == 2 and "unknown province" in one_line(unknown.stderr)
    enabled = chelun(
        "roster", "summary", "--province", "33", home=tmp_path / "h", CHELUN_PROVINCES="33"
    )
    assert enabled.returncode == 0, enabled.stderr


def test_silent_surprises_are_warned_of(tmp_path: Path) -> None:
    home = tmp_path / "h"
    empty = chelun("roster", "export", "--province", "62", "--format", "CSV", home=home)
    assert empty.returncode == 0  # upper-case format accepted
    assert "warning: no intake has been run for province 62" in empty.stderr
    assert empty.stdout.startswith("driver,id_number,name")

    header_only = tmp_path / "village.csv"
    with header_only.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow(["序号", "姓名", "身份证号", "电话", "车牌", "是否党员"])
    # With no plugin loaded, Gansu is served only when enabled by hand.
    done = chelun(
        "intake",
        "-p",
        "62",
        f"village={header_only}",
        home=home,
        CHELUN_LOAD_PLUGINS="nosuch",
        CHELUN_PROVINCES="62",
    )
    assert done.returncode == 0, done.stderr
    assert f"warning: village: {header_only} has headers but no rows" in done.stderr
    assert "warning: plugin 'nosuch'" in done.stderr and "no installed plugin" in done.stderr


def test_files_of_another_province_are_warned_of_with_the_count(tmp_path: Path) -> None:
    gansu = generate_province(tmp_path / "62", "62", 300, seed=4)
    done = chelun(
        "intake", "--province", "32", *[f"{s.name}={s.path}" for s in gansu], home=tmp_path / "h"
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "of another province" in line]
    assert warnings, done.stderr
    assert any("valid ID numbers are of another province than 32" in w for w in warnings)
