"""``chelun report``: the pilot report's figures from a province written into the real database
as intake, grievance routing, claims and recognition leave it, checked against a recount of the
tables done here; CSV tables and PNG charts (Chinese rendered) written; the report flow's
artifacts read back from Prefect's test server. Nothing personal in any output."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import insert, select
from typer.testing import CliRunner

from chelun.calendar import BEIJING
from chelun.ops.report import (
    ReportError,
    build_report,
    parse_period,
    register_report,
    report_tables,
)
from chelun.storage.db import Database
from chelun.storage.tables import (
    AwardCampaign,
    AwardNomination,
    Branch,
    CareVisit,
    Claim,
    Driver,
    Event,
    Grievance,
    SourceFile,
)
from tests.identities import resident_id

PROVINCE, OTHER = "62", "51"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHELUN = Path(sys.executable).parent / "chelun"
#: The figures of ``figures.csv`` that are counts of the roster (as of now).
ROSTER_FIGURES = (
    "drivers_surveyed",
    "members",
    "drivers_verified",
    "branches_enterprise",
    "branches_mobile",
    "branches_grid",
    "members_in_branches",
    "drivers_paired",
)


def beijing(text: str) -> dt.datetime:
    """An instant given in Beijing time (``YYYY-MM-DD HH:MM``)."""
    return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING)


class Pilot:
    """Writes a small province (and a little of another) into the database: sources, branches,
    drivers at every verification stage, grievances around the period boundaries (Beijing
    midnight is 16:00 UTC the day before), claims, care visits and award campaigns. Keeps every
    personal value it wrote, for the tests that look for leaks."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.personal: set[str] = set()
        self.serial = 0

    def rows(self, table: Any, rows: list[dict[str, Any]]) -> list[int]:
        with self.database.connect() as connection:
            if hasattr(table, "id"):
                return list(connection.execute(insert(table).returning(table.id), rows).scalars())
            connection.execute(insert(table), rows)
        return []

    def driver(self, province: str, **values: Any) -> int:
        self.serial += 1
        number = resident_id(f"{province}0102", "19800101", f"{self.serial:03d}")
        name, phone = f"司机{chr(0x4E00 + self.serial)}某", f"139{self.serial:08d}"
        self.personal |= {number, name, phone}
        row = {
            "province": province,
            "key": number,
            "id_number": number,
            "name": name,
            "phone": phone,
            "home_county": f"{province}0102",
            "member": False,
            "records": 1,
            "sources": 1,
            "phones": 1,
            "enterprises": 0,
            "status": "active",
            "verification_stage": "match",
            "verification_outcome": "confirmed",
            "linked_run": "r1",
        } | values
        return self.rows(Driver, [row])[0]

    def grievance(
        self, province: str, received: str | None, status: str, category: str | None, **more: Any
    ) -> str:
        self.serial += 1
        ref, text = f"G-{self.serial}", f"第{self.serial}号诉求：服务区车位全满，电话13812345678"
        self.personal.add(text)
        self.rows(
            Grievance,
            [
                {
                    "province": province,
                    "ref": ref,
                    "received_at": beijing(received) if received else None,
                    "text": text,
                    "status": status,
                    "category": category,
                    "level": None if status == "quarantined" else "county",
                }
                | more
            ],
        )
        return ref

    def claim(self, province: str, reported: str, status: str, **more: Any) -> None:
        self.serial += 1
        self.rows(
            Claim,
            [
                {
                    "province": province,
                    "ref": f"C-{self.serial}",
                    "status": status,
                    "reported_at": beijing(reported),
                    "name": "报案人某",
                    "phone": "13700000001",
                }
                | more
            ],
        )

    def visit(self, province: str, period: str, driver: int, kind: str, status: str) -> None:
        self.rows(
            CareVisit,
            [
                {
                    "province": province,
                    "period": period,
                    "driver_id": driver,
                    "kind": kind,
                    "reason": "走访",
                    "selected_by": "core",
                    "role": "branch_secretary",
                    "unit": "M1",
                    "assigned_by": "core",
                    "status": status,
                    "note": "见到了王师傅" if status == "done" else None,
                }
            ],
        )

    def campaign(
        self, province: str, kind: str, name: str, published: str | None, nominees: list[tuple]
    ) -> None:
        campaign = self.rows(
            AwardCampaign,
            [
                {
                    "province": province,
                    "kind": kind,
                    "name": f"2026年度{name}评选",
                    "status": "published" if published else "open",
                    "rules": {"code": kind, "name": name},
                    "kind_plugin": "core",
                    "nominations_open": dt.date(2026, 9, 1),
                    "nominations_close": dt.date(2026, 9, 30),
                    "period_start": dt.date(2025, 1, 1),
                    "period_end": dt.date(2025, 12, 31),
                    "opened_by": "user:test",
                    "published_at": beijing(published) if published else None,
                }
            ],
        )[0]
        self.rows(
            AwardNomination,
            [
                {
                    "campaign_id": campaign,
                    "nominee": nominee,
                    "nominee_kind": nominee_kind,
                    "unit": "M1",
                    "unit_kind": "branch",
                    "status": status,
                    "reason": "事迹突出的王师傅",
                }
                for nominee, nominee_kind, status in nominees
            ],
        )

    def build(self) -> Pilot:
        p = PROVINCE
        self.rows(
            SourceFile,
            [
                {
                    "province": p,
                    "name": "transport",
                    "path": "t.csv",
                    "sha256": "0" * 64,
                    "profile": "transport",
                    "format": "csv",
                    "rows": 40,
                    "status": "staged",
                },
                {
                    "province": p,
                    "name": "village",
                    "path": "v.csv",
                    "sha256": "1" * 64,
                    "profile": "village",
                    "format": "csv",
                    "rows": 25,
                    "status": "staged",
                },
                {
                    "province": OTHER,
                    "name": "transport",
                    "path": "t.csv",
                    "sha256": "2" * 64,
                    "profile": "transport",
                    "format": "csv",
                    "rows": 99,
                    "status": "staged",
                },
            ],
        )
        self.rows(
            Branch,
            [
                {"province": p, "code": code, "name": f"支部{code}", "kind": kind}
                for code, kind in (
                    ("E1", "enterprise"),
                    ("M1", "mobile"),
                    ("M2", "mobile"),
                    ("G1", "grid"),
                )
            ]
            + [{"province": OTHER, "code": "X1", "name": "支部X1", "kind": "mobile"}],
        )
        m1 = self.driver(p, member=True, branch="E1")
        m2 = self.driver(p, member=True, branch="M1", verification_stage="phone")
        m3 = self.driver(p, member=True, branch="M2", verification_stage="visit")
        self.driver(p, member=True, verification_stage="phone", verification_outcome="pending")
        self.driver(p, member=True, branch="M1", status="retired")
        stages = [("match", "confirmed")] * 3 + [("phone", "confirmed")] * 2
        stages += [("visit", "confirmed"), ("phone", "pending"), ("phone", "pending")]
        stages += [("visit", "pending"), ("visit", "failed")]
        ordinary = [
            self.driver(
                p,
                verification_stage=stage,
                verification_outcome=outcome,
                contact=(m1, m1, m2)[i] if i < 3 else None,
            )
            for i, (stage, outcome) in enumerate(stages)
        ]
        self.driver(OTHER, member=True, branch="X1")
        self.driver(OTHER)

        # Grievances: Q3 ends at 2026-09-30 16:00 UTC; November ends at 11-30 16:00 UTC.
        self.grievance(p, "2026-09-30 23:30", "closed", "parking_rest")
        self.grievance(p, "2026-10-01 00:10", "routed", "parking_rest")
        self.grievance(p, "2026-10-15 09:00", "resolved", "theft")
        self.grievance(p, "2026-10-20 09:00", "rejected", "platform_fees")
        closed = self.grievance(p, "2026-11-03 09:00", "closed", "platform_fees")
        self.grievance(p, "2026-11-05 09:00", "quarantined", None)
        self.grievance(p, "2026-11-30 23:59", "in_progress", "fines_enforcement")
        self.grievance(p, "2026-12-01 00:01", "closed", "fines_enforcement", escalations=1)
        self.grievance(p, "2027-01-02 09:00", "merged", "other")
        self.grievance(p, None, "routed", "pay_arrears")
        self.grievance(OTHER, "2026-11-03 09:00", "closed", "theft")
        self.rows(
            Event,
            [
                {
                    "province": p,
                    "actor": "user:test",
                    "entity": "grievance",
                    "entity_key": f"{p}:{closed}",
                    "kind": "closed",
                    "reason": "driver answered",
                    "data": {"satisfied": True},
                }
            ],
        )

        money = Decimal
        self.claim(p, "2026-10-05 21:00", "paid", amount_paid=money("1200.00"))
        self.claim(p, "2026-11-10 22:00", "paid", amount_paid=money("800.50"))
        self.claim(p, "2026-11-12 23:00", "rejected", reason_code="site_not_covered")
        self.claim(p, "2026-09-01 02:00", "rejected", reason_code="fraud")
        self.claim(p, "2026-11-20 01:00", "submitted", amount_claimed=money("300.00"))
        self.claim(p, "2026-11-21 01:00", "quarantined")
        self.claim(OTHER, "2026-11-10 22:00", "paid", amount_paid=money("999.00"))

        self.visit(p, "2026-10", m1, "member", "done")
        self.visit(p, "2026-10", ordinary[0], "hardship", "done")
        self.visit(p, "2026-10", ordinary[1], "hardship", "missed")
        self.visit(p, "2026-11", m1, "member", "done")
        self.visit(p, "2026-11", ordinary[2], "hardship", "cancelled")
        self.visit(p, "2026-11", m2, "member", "planned")
        self.visit(p, "2026-12", ordinary[3], "hardship", "done")
        self.visit(OTHER, "2026-11", m3, "member", "done")

        self.campaign(
            p,
            "outstanding_member_driver",
            "优秀党员货车司机",
            "2026-11-07 10:00",
            [
                ("62-0000001", "driver", "awarded"),
                ("62-0000002", "driver", "not_placed"),
                ("62-0000003", "driver", "awarded"),
            ],
        )
        self.campaign(
            p,
            "pioneer_fleet",
            "先锋车队",
            "2026-12-31 23:30",
            [
                ("91620102MA0000001X", "enterprise", "awarded"),
                ("91620102MA0000002X", "enterprise", "excluded"),
            ],
        )
        self.campaign(
            p, "most_beautiful_driver", "最美货车司机", None, [("62-0000004", "driver", "eligible")]
        )
        self.campaign(
            OTHER,
            "outstanding_member_driver",
            "优秀党员货车司机",
            "2026-11-07 10:00",
            [("51-0000001", "driver", "awarded")],
        )
        return self


@pytest.fixture
def pilot(database: Database) -> Pilot:
    return Pilot(database).build()


@pytest.fixture
def sqlite_pilot(sqlite_database: Database, monkeypatch: pytest.MonkeyPatch) -> Pilot:
    """The pilot in a SQLite file that chelun's settings point at (for commands and flows)."""
    monkeypatch.setenv("CHELUN_DATABASE_URL", sqlite_database.url)
    return Pilot(sqlite_database).build()


def recount(database: Database, province: str, period: str | None) -> dict[str, Any]:
    """The report's figures counted again from the tables' rows, in Python: every row of the
    province read, the period applied to its Beijing day."""
    chosen = parse_period(period)

    def inside(instant: dt.datetime | None) -> bool:
        if chosen.start is None:
            return True
        if instant is None:
            return False
        assert chosen.end is not None
        return chosen.start <= instant.astimezone(BEIJING).date() < chosen.end

    def month_inside(month: str) -> bool:
        return inside(dt.datetime.strptime(month + "-15", "%Y-%m-%d").replace(tzinfo=BEIJING))

    with database.engine.connect() as c:
        drivers = c.execute(select(Driver).where(Driver.province == province)).all()
        branches = c.execute(select(Branch.kind).where(Branch.province == province)).all()
        sources = c.execute(select(SourceFile.rows).where(SourceFile.province == province)).all()
        grievances = c.execute(select(Grievance).where(Grievance.province == province)).all()
        answers = c.execute(
            select(Event.entity_key, Event.data).where(
                Event.province == province, Event.kind == "closed"
            )
        ).all()
        claims = c.execute(select(Claim).where(Claim.province == province)).all()
        visits = c.execute(select(CareVisit).where(CareVisit.province == province)).all()
        campaigns = c.execute(select(AwardCampaign).where(AwardCampaign.province == province)).all()
        nominations = c.execute(select(AwardNomination)).all()
    active = [d for d in drivers if d.status == "active"]
    members = [d for d in active if d.member]
    kept = [g for g in grievances if inside(g.received_at)]
    counted = [g for g in kept if g.status != "quarantined"]
    accepted = [g for g in counted if g.status not in ("rejected", "merged")]
    refs = {f"{province}:{g.ref}" for g in counted}
    period_claims = [k for k in claims if inside(k.reported_at) and k.status != "quarantined"]
    period_visits = [v for v in visits if month_inside(v.period)]
    done = [v for v in period_visits if v.status == "done"]
    published = {k.id for k in campaigns if k.status == "published" and inside(k.published_at)}
    awarded = [n for n in nominations if n.campaign_id in published and n.status == "awarded"]
    return {
        "records": sum(row.rows for row in sources),
        "drivers_surveyed": len(active),
        "members": len(members),
        "drivers_verified": sum(d.verification_outcome == "confirmed" for d in active),
        "branches_enterprise": sum(kind == "enterprise" for (kind,) in branches),
        "branches_mobile": sum(kind == "mobile" for (kind,) in branches),
        "branches_grid": sum(kind == "grid" for (kind,) in branches),
        "members_in_branches": sum(d.branch is not None for d in members),
        "drivers_paired": sum(d.contact is not None for d in active),
        "grievances_collected": len(counted),
        "grievances_accepted": len(accepted),
        "grievances_resolved": sum(g.status in ("resolved", "closed") for g in accepted),
        "grievances_satisfied": sum(
            bool(data["satisfied"]) for key, data in answers if key in refs
        ),
        "claims_reported": len(period_claims),
        "claims_paid": sum(k.status == "paid" for k in period_claims),
        "claims_refused": sum(k.status == "rejected" for k in period_claims),
        "claims_amount_paid": str(
            sum(
                (k.amount_paid or Decimal(0) for k in period_claims if k.status == "paid"),
                Decimal("0.00"),
            )
        ),
        "awards": len(awarded),
        "awards_collectives": sum(n.nominee_kind == "enterprise" for n in awarded),
        "care_visits_done": len(done),
        "drivers_visited": len({v.driver_id for v in done}),
        "members_visited": len({v.driver_id for v in done if v.kind == "member"}),
        "categories": {
            category: (
                sum((g.category or "unclassified") == category for g in counted),
                sum((g.category or "unclassified") == category for g in accepted),
                sum(
                    (g.category or "unclassified") == category
                    and g.status in ("resolved", "closed")
                    for g in accepted
                ),
            )
            for category in {g.category or "unclassified" for g in kept}
        },
    }


def figure_values(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {row["figure"]: row["value"] for row in rows}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


#: Per period, figures a reader can check by eye against ``Pilot.build``: grievances collected,
#: accepted and resolved, the amount paid, awards, care visits done.
BY_EYE: dict[str | None, tuple[int, int, int, str, int, int]] = {
    None: (9, 7, 4, "2000.50", 3, 4),
    "2026-Q3": (1, 1, 1, "0.00", 0, 0),
    "2026-Q4": (6, 5, 3, "2000.50", 3, 4),
    "2026-11": (2, 2, 1, "800.50", 2, 1),
    "2026": (7, 6, 4, "2000.50", 3, 4),
    "2027": (1, 0, 0, "0.00", 0, 0),
}


def test_figures_equal_a_recount_of_the_tables(pilot: Pilot) -> None:
    database = pilot.database
    for period, by_eye in BY_EYE.items():
        expected = recount(database, PROVINCE, period)
        tables = report_tables(build_report(database, PROVINCE, parse_period(period)))
        figures = figure_values(tables["figures"])
        for figure, value in expected.items():
            if figure not in ("records", "categories"):
                assert str(figures[figure]) == str(value), (period, figure)
        funnel = {row["stage"]: row["count"] for row in tables["intake_funnel"]}
        assert funnel["records"] == expected["records"] == 65
        categories = {
            row["category"]: (row["collected"], row["accepted"], row["resolved"])
            for row in tables["grievances_by_category"]
            if row["category"] != "all"
        }
        assert categories == expected["categories"], period
        months = {row["group"]: row for row in tables["grievances_by_month"]}
        assert months.pop("all")["collected"] == figures["grievances_collected"]
        assert sum(row["collected"] for row in months.values()) == figures["grievances_collected"]
        # The recount is not vacuous.
        assert (
            figures["grievances_collected"],
            figures["grievances_accepted"],
            figures["grievances_resolved"],
            figures["claims_amount_paid"],
            figures["awards"],
            figures["care_visits_done"],
        ) == by_eye, period
        assert figures["drivers_surveyed"] == 14 and figures["members"] == 4


def test_the_report_agrees_with_each_capabilitys_own_statistics(pilot: Pilot) -> None:
    from chelun.claims.export import claim_stats
    from chelun.grievance.stats import grouped_stats
    from chelun.recognition.visits import visit_stats
    from chelun.roster.service import roster_summary

    database = pilot.database
    report = build_report(database, PROVINCE, parse_period(None))
    _, by_category = grouped_stats(database, PROVINCE, report.at, "category")
    assert {k: (f.collected, f.accepted, f.resolved) for k, f in by_category.items()} == {
        k: (f.collected, f.accepted, f.resolved) for k, f in report.categories.items()
    }
    assert vars(claim_stats(database, PROVINCE)) == vars(report.claims)
    visits = [row for row in visit_stats(database, [PROVINCE]) if row["period"] == "all"]
    assert visits == [report.visits.row(PROVINCE, "all")]
    assert roster_summary(database, PROVINCE) == report.roster


def test_periods_are_years_quarters_and_months_in_beijing_time() -> None:
    q4 = parse_period("2026-q4")
    assert (q4.label, q4.start, q4.end) == ("2026-Q4", dt.date(2026, 10, 1), dt.date(2027, 1, 1))
    assert q4.months() == ["2026-10", "2026-11", "2026-12"]
    assert q4.instants() == (beijing("2026-10-01 00:00"), beijing("2027-01-01 00:00"))
    december = parse_period("2026-12")
    assert (december.start, december.end) == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    assert len(parse_period("2026").months() or []) == 12
    assert parse_period(None).everything and parse_period("all").label == "all"
    for wrong in ("2026-13", "2026-Q5", "26", "2026-1", "Q3-2026", "2026-11-01", "1999"):
        with pytest.raises(ReportError, match="is not a period"):
            parse_period(wrong)


def report_app() -> typer.Typer:
    app = typer.Typer()
    register_report(app)
    app.command("version")(lambda: None)  # a second command keeps `report` a subcommand
    return app


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def assert_nothing_personal(pilot: Pilot, *texts: str | bytes) -> None:
    assert len(pilot.personal) > 30
    for text in texts:
        found = text.decode("latin-1") if isinstance(text, bytes) else text
        leaked = sorted(value for value in pilot.personal if value in found)
        assert not leaked, f"personal data in the output: {leaked[:3]}"


def test_the_command_prints_the_figures_and_writes_csv_tables_and_png_charts(
    sqlite_pilot: Pilot, tmp_path: Path
) -> None:
    folder = tmp_path / "report"
    result = CliRunner().invoke(
        report_app(), ["report", "-p", "gansu", "--period", "2026-Q4", "--out", str(folder)]
    )
    assert result.exit_code == 0, result.output
    assert "摸排司机" in result.stdout and "办结（办结率）" in result.stdout
    assert "60.0% (3/5)" in result.stdout  # the resolution rate beside its denominator
    assert "roster as of" in result.stdout and "period 2026-Q4" in result.stdout
    figures = {row["figure"]: row for row in read_csv(folder / "figures.csv")}
    expected = recount(sqlite_pilot.database, PROVINCE, "2026-Q4")
    for figure, value in expected.items():
        if figure not in ("records", "categories"):
            assert figures[figure]["value"] == str(value), figure
    assert figures["grievances_resolved"]["denominator"] == "5"
    assert figures["grievances_resolved"]["rate"] == "0.6"
    assert {figures[name]["scope"] for name in ROSTER_FIGURES} == {
        f"roster as of {dt.datetime.now(BEIJING).date().isoformat()}"
    }
    charts = sorted(folder.glob("*.png"))
    assert len(charts) >= 3 and len(list(folder.glob("*.csv"))) >= 1
    for chart in charts:
        width, height = png_size(chart)
        assert 900 <= width <= 2400 and 450 <= height <= 1600, (chart.name, width, height)
    outputs = [result.stdout, result.stderr]
    outputs += [path.read_bytes() for path in folder.iterdir()]
    assert_nothing_personal(sqlite_pilot, *outputs)


def test_charts_render_their_chinese(sqlite_pilot: Pilot, tmp_path: Path) -> None:
    from matplotlib.figure import Figure

    from chelun.ops.charts import chart_font, draw_charts

    font = chart_font()
    assert font.chinese and font.family == "Noto Sans SC", font.source
    report = build_report(sqlite_pilot.database, PROVINCE, parse_period("2026"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts = draw_charts(report, tmp_path)
        # The check can fail: a font without Chinese makes matplotlib say so.
        Figure().text(0, 0, "办结率", family="DejaVu Sans").figure.savefig(io.BytesIO())
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing and all("DejaVu Sans" in message for message in missing), missing
    assert len(charts) == 4 and all(png_size(chart) for chart in charts)


def test_without_a_chinese_font_the_charts_are_in_english(
    sqlite_pilot: Pilot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chelun.ops import charts

    monkeypatch.setattr(charts, "FONT_PACKAGE", "no_such_font_package")
    monkeypatch.setattr(charts, "SYSTEM_FAMILIES", ())
    charts.chart_font.cache_clear()
    try:
        font = charts.chart_font()
        assert not font.chinese and "labelled in English" in font.source
        report = build_report(sqlite_pilot.database, PROVINCE, parse_period(None))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            drawn = charts.draw_charts(report, tmp_path)
    finally:
        charts.chart_font.cache_clear()
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert len(drawn) == 4 and all(png_size(chart) for chart in drawn)


def test_a_bad_period_or_folder_is_refused_in_one_line(sqlite_pilot: Pilot, tmp_path: Path) -> None:
    result = CliRunner().invoke(report_app(), ["report", "-p", "62", "--period", "2026-13"])
    assert result.exit_code == 2
    assert "--period '2026-13' is not a period" in result.stderr
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) <= 2
    taken = tmp_path / "a-file"
    taken.write_text("")
    result = CliRunner().invoke(report_app(), ["report", "-p", "62", "--out", str(taken)])
    assert result.exit_code == 2 and "is a file, not a folder" in result.stderr


def test_a_province_with_no_data_gives_a_report_of_zeros(sqlite_pilot: Pilot) -> None:
    from chelun.settings import Settings

    result = CliRunner().invoke(report_app(), ["report", "--province", "52"])
    assert result.exit_code == 0, result.output
    folder = Settings().home / "reports" / "52" / "all"  # the default folder
    figures = read_csv(folder / "figures.csv")
    assert len(figures) > 20 and {row["value"] for row in figures} <= {"0", "0.00"}
    assert all(row["rate"] == "" for row in figures)  # no rate over a denominator of 0
    assert len(list(folder.glob("*.png"))) == 4


@pytest.mark.usefixtures("prefect_harness")
def test_the_report_flow_publishes_the_tables_and_charts_as_artifacts(
    sqlite_pilot: Pilot,
) -> None:
    from prefect.artifacts import Artifact

    from chelun.flows.report import report_flow
    from chelun.settings import Settings

    result = report_flow(province=PROVINCE, period="2026-Q4")
    folder = Settings().home / "reports" / PROVINCE / "2026-Q4"
    assert result["folder"] == str(folder) and (folder / "figures.csv").is_file()
    keys = result["artifacts"]
    assert keys["figures"] == "report-62-2026-q4-figures"
    published: list[str] = []
    table = Artifact.get(keys["figures"])
    assert table is not None and table.type == "table"
    rows = json.loads(str(table.data))
    assert {row["figure"]: row["value"] for row in rows}["grievances_resolved"] == 3
    charts = [name for name in keys if (folder / f"{name}.png").is_file()]
    assert len(charts) == 4
    for name in charts:
        image = Artifact.get(keys[name])
        assert image is not None and image.type == "image"
        prefix = "data:image/png;base64,"
        assert str(image.data).startswith(prefix)
        assert (
            base64.b64decode(str(image.data)[len(prefix) :])
            == (folder / f"{name}.png").read_bytes()
        )
        published.append(str(image.description))
    summary = Artifact.get(keys["summary"])
    assert summary is not None and "| 摸排司机 | drivers_surveyed | 14 |" in str(summary.data)
    for name in keys:
        artifact = Artifact.get(keys[name])
        assert artifact is not None
        published += [str(artifact.data), str(artifact.description)]
    assert_nothing_personal(sqlite_pilot, *published)
    with pytest.raises(ReportError, match="is not a period"):
        report_flow(province=PROVINCE, period="2026-13")


def test_chelun_report_as_a_real_process(sqlite_pilot: Pilot, tmp_path: Path) -> None:
    from chelun.cli import app

    if "report" not in {command.name for command in app.registered_commands}:
        pytest.skip("chelun.cli does not add `chelun report` yet")
    folder = tmp_path / "out"
    done = subprocess.run(
        [str(CHELUN), "report", "--province", "62", "--out", str(folder)],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "4 charts (PNG)" in done.stderr
    assert len(list(folder.glob("*.png"))) >= 3 and (folder / "figures.csv").is_file()
