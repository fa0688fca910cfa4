"""``chelun plugins new``: the outside contract. Run in an empty folder it writes one package
folder; installed (into a virtual environment of the test's own, layered on the project's), the
plugin is listed for its province, its own tests pass, ``chelun plugins check`` passes, and a
flow routes the province's grievances through it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chelun.cli import app
from chelun.kit.scaffold import ScaffoldError, new_plugin
from tests.kit.conftest import layered_venv, plugins_of_project_environment

NAME = "zhejiang-pilot"
FLOW = """
import json, sys
from sqlalchemy import select
from chelun.flows.grievance import grievance_intake_flow
from chelun.settings import Settings
from chelun.storage.db import open_database
from chelun.storage.tables import Grievance

result = grievance_intake_flow("33", [sys.argv[1]])
database = open_database(Settings())
with database.engine.connect() as connection:
    rows = connection.execute(select(Grievance.ref, Grievance.routed_by, Grievance.level))
    routed = {ref: [by, level] for ref, by, level in rows}
database.dispose()
print(json.dumps({"routed": result["routed"], "grievances": routed}))
"""
GRIEVANCES = """\
ref,received_at,text,county
ZJ-1,2026-11-02 09:00,服务区晚上车位全满，只能停在匝道边上,330109
ZJ-2,2026-11-02 09:30,货主拖欠运费三个月没有结算,330109
"""


def test_new_writes_one_package_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["plugins", "new", NAME, "--province", "33"])
    assert done.exit_code == 0, done.output
    assert [path.name for path in tmp_path.iterdir()] == ["chelun-zhejiang-pilot"]
    folder = tmp_path / "chelun-zhejiang-pilot"
    written = sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
    assert written == [
        "README.md",
        "pyproject.toml",
        "src/chelun_zhejiang_pilot/__init__.py",
        "tests/test_plugin.py",
    ]
    project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == "chelun-zhejiang-pilot"
    assert project["project"]["entry-points"]["chelun"] == {NAME: "chelun_zhejiang_pilot"}
    assert project["tool"]["pytest"]["ini_options"]["chelun_plugin"] == NAME
    module = (folder / "src/chelun_zhejiang_pilot/__init__.py").read_text(encoding="utf-8")
    assert 'PROVINCES = ("33",)' in module and 'CHELUN_HOOK_API = ">=1,<2"' in module
    for hook in (
        "chelun_source_profiles",  # roster
        "chelun_route_grievances",  # grievances
        "chelun_check_claims",  # claims
        "chelun_award_kinds",  # recognition
    ):
        assert f"def {hook}(" in module
    # The same again: the folder exists, nothing is overwritten.
    again = CliRunner().invoke(app, ["plugins", "new", NAME, "--province", "33"])
    assert again.exit_code == 2 and "exists already" in again.stderr
    assert (folder / "pyproject.toml").read_text(encoding="utf-8").startswith("[build-system]")


@pytest.mark.parametrize(
    ("name", "province", "expected"),
    [
        ("Zhejiang", "33", "is not usable"),
        ("zhe jiang", "33", "is not usable"),
        ("-zhejiang", "33", "is not usable"),
        ("gansu", "62", "installed already"),
        ("zhejiang", "99", "unknown province"),
        ("zhejiang", "zhejiang", "unknown province"),
    ],
)
def test_new_refuses_what_it_cannot_write(
    tmp_path: Path, name: str, province: str, expected: str
) -> None:
    with pytest.raises(ScaffoldError, match=expected):
        new_plugin(name, province, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_pilot_province_can_be_named(tmp_path: Path) -> None:
    made = new_plugin("gansu-extra", "gansu", tmp_path)
    assert made.province == "62" and made.folder == tmp_path / "chelun-gansu-extra"


def test_scaffold_installed_is_listed_tested_checked_and_used_by_a_flow(tmp_path: Path) -> None:
    before = plugins_of_project_environment()
    work = tmp_path / "work"
    work.mkdir()
    layered = layered_venv(tmp_path / "venv")
    layered.env["CHELUN_PROVINCES"] = "33"
    layered.env["PREFECT_HOME"] = str(tmp_path / "prefect")

    def run(command: str, cwd: Path = work) -> str:
        done = layered.run(command, cwd)
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    run(f"chelun plugins new {NAME} --province 33")
    package = work / "chelun-zhejiang-pilot"
    run("pip install -e .", package)

    listed = {entry["name"]: entry for entry in json.loads(run("chelun plugins list --json"))}
    assert listed[NAME]["status"] == "loaded" and listed[NAME]["provinces"] == ["33"]
    assert listed[NAME]["hook_api"] == ">=1,<2"
    assert listed[NAME]["origin"] == "entry point chelun_zhejiang_pilot"
    assert set(listed[NAME]["hooks"]) == {
        "chelun_award_kinds",
        "chelun_check_claims",
        "chelun_route_grievances",
        "chelun_source_profiles",
    }

    tested = run("pytest -q -p no:cacheprovider", package)
    assert "12 passed" in tested

    checked = run(f"chelun plugins check {NAME}")
    assert "result: passed 7 checks" in checked

    (work / "grievances.csv").write_text(GRIEVANCES, encoding="utf-8")
    flow = json.loads(
        run(f"python - grievances.csv <<'PYTHON'\n{FLOW}PYTHON\n").strip().splitlines()[-1]
    )
    assert flow["routed"] == 2
    # Service-area parking: the plugin's routing decided; pay arrears: core's.
    assert flow["grievances"]["ZJ-1"] == [NAME, "province"]
    assert flow["grievances"]["ZJ-2"] == ["chelun.grievance.defaults", "county"]

    assert plugins_of_project_environment() == before
