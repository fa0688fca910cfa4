"""Overlong values are data to quarantine, never a reason to abort: SQLite and PostgreSQL accept
the same inputs, and the reason never quotes the value."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from chelun.plugin_manager import PluginHost
from chelun.roster.export import export_quarantine
from chelun.roster.service import RosterIntake
from chelun.roster.staging import SourceInput
from chelun.settings import Settings
from chelun.storage.db import Database
from tests.identities import resident_id


def test_an_overlong_name_or_enterprise_quarantines_its_row_only(
    database: Database, tmp_path: Path
) -> None:
    long_name = "张" * 101
    long_enterprise = "兰州" * 101 + "物流有限公司"
    path = tmp_path / "transport.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["姓名", "身份证号", "手机号", "从业资格证号", "所属企业", "车牌号"])
        writer.writerow([long_name, resident_id(order="001"), "13900000001", "Q1", "", ""])
        writer.writerow(
            ["李四", resident_id(order="002"), "13900000002", "Q2", long_enterprise, ""]
        )
        writer.writerow(
            ["王五", resident_id(order="003"), "13900000003", "Q3", "兰州物流", "", "x" * 70]
        )
        writer.writerow(["赵六", "6" * 80, "13900000004", "Q4", "", ""])
    host = PluginHost(Settings(), entry_points=False)
    intake = RosterIntake(database, host.manager("62"), "62", actor="user:test")
    intake.run([SourceInput("transport", path)])

    (account,) = intake.accounts()
    assert account.balanced and account.rows_in == 4
    assert account.reasons.get("overlong") == 2
    buffer = io.StringIO()
    export_quarantine(database, "62", buffer)
    reasons = {int(r["row"]): r["reason"] for r in csv.DictReader(io.StringIO(buffer.getvalue()))}
    assert reasons[1].startswith("overlong: the name is 101 characters long (at most 100)")
    assert reasons[2].startswith("overlong: the enterprise is 208 characters long (at most 200)")
    assert long_name not in buffer.getvalue() and long_enterprise not in buffer.getvalue()
    # 王五's extra column is kept as an attribute; 赵六's 80-character "ID" is junk that
    # nothing corroborates: a clerk corrects it.
    assert reasons[4].startswith("invalid_id_unlinked")
    assert intake.summary().drivers == 1
