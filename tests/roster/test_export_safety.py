"""Exports neutralise cells a spreadsheet would run as formulas (CSV injection, OWASP)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from chelun.outputs import FORMULA_STARTS, neutralise
from chelun.plugin_manager import PluginHost
from chelun.roster.export import export_quarantine, export_roster
from chelun.roster.service import RosterIntake
from chelun.roster.staging import SourceInput
from chelun.settings import Settings
from chelun.storage.db import Database
from tests.identities import resident_id

HOSTILE = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://127.0.0.1/x","open")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
]


@pytest.mark.parametrize("value", [*HOSTILE, "=*****"])
def test_formula_text_is_prefixed(value: str) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["张三", "62-0000001", "", 42, None, "'=already"])
def test_other_values_pass_unchanged(value: object) -> None:
    assert neutralise(value) == value


def test_no_exported_cell_can_run_as_a_formula(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "transport.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "身份证号", "手机号", "从业资格证号", "所属企业", "车牌号"])
        for n, enterprise in enumerate(HOSTILE, start=1):
            writer.writerow(
                [
                    "=张三" if n == 1 else "张三",
                    resident_id(order=f"{n:03d}"),
                    "",
                    f"Q{n}",
                    enterprise,
                    "",
                ]
            )
        writer.writerow(["@李四", "not-an-id", "", "Q9", "=1+1", ""])
    host = PluginHost(Settings(), entry_points=False)
    intake = RosterIntake(database, host.manager("62"), "62", actor="user:test")
    intake.run([SourceInput("-transport", path)])

    outputs = []
    for reveal in (False, True):
        buffer = io.StringIO()
        assert export_roster(database, "62", buffer, reveal=reveal) == len(HOSTILE)
        outputs.append(buffer.getvalue())
    buffer = io.StringIO()
    assert export_quarantine(database, "62", buffer) == 1
    outputs.append(buffer.getvalue())

    for text in outputs:
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS), cell
    enterprises = {row["enterprise"] for row in csv.DictReader(io.StringIO(outputs[0]))}
    # The reader strips the cells' surrounding white space (the tab) before anything is stored.
    assert enterprises == {"'" + value.strip() for value in HOSTILE}
