"""The masked export tells no one who is a party member: no column separates members from the
other drivers (political status is sensitive personal information)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from chelun.demo.roster import generate_province
from chelun.plugin_manager import PluginHost
from chelun.roster.export import export_roster
from chelun.roster.service import RosterIntake
from chelun.roster.staging import SourceInput
from chelun.settings import Settings
from chelun.storage.db import Database

#: Above this many distinct values a column is an identifier, compared by emptiness only.
FEW = 50


def export(database: Database, *, reveal: bool) -> list[dict[str, str]]:
    buffer = io.StringIO()
    export_roster(database, "62", buffer, reveal=reveal)
    return list(csv.DictReader(io.StringIO(buffer.getvalue())))


def separating_columns(rows: list[dict[str, str]], members: set[str]) -> list[str]:
    """Columns whose values (or, for identifiers, whose emptiness) never occur both among
    members and among the others: a reader could tell members by them."""
    found = []
    for column in rows[0]:
        if column == "driver":
            continue
        distinct = {row[column] for row in rows}

        def feature(value: str, many: bool = len(distinct) > FEW) -> object:
            if not many:
                return value
            # An identifier: whether it is there, and for row references (NAME:ROW;...) which
            # sources they name.
            parts = value.split(";") if value else []
            names = sorted({p.split(":")[0] for p in parts}) if all(":" in p for p in parts) else []
            return (bool(value), tuple(names))

        of_members = {feature(r[column]) for r in rows if r["driver"] in members}
        of_others = {feature(r[column]) for r in rows if r["driver"] not in members}
        if not of_members <= of_others:
            # A value only members have marks those members.
            found.append(column)
    return found


def test_no_column_of_the_masked_export_separates_members(
    sqlite_database: Database, tmp_path: Path
) -> None:
    sources = generate_province(tmp_path / "pilot", "62", 1_500, seed=11)
    host = PluginHost(Settings(), entry_points=False)
    intake = RosterIntake(sqlite_database, host.manager("62"), "62", actor="user:test")
    intake.run([SourceInput(s.name, s.path) for s in sources])
    intake.verify()
    intake.enrol()

    revealed = export(sqlite_database, reveal=True)
    members = {row["driver"] for row in revealed if row["party_member"] == "1"}
    assert 10 < len(members) < len(revealed) / 5
    assert any(row["branch"] for row in revealed) and any(row["contact"] for row in revealed)
    # The check itself finds what --reveal shows.
    assert {"party_member", "branch", "sources"} <= set(separating_columns(revealed, members))

    masked = export(sqlite_database, reveal=False)
    assert [row["driver"] for row in masked] == [row["driver"] for row in revealed]
    assert separating_columns(masked, members) == []
