"""Payout reconciliation: the insurer's statement matched against the claims, every mismatch
reported with both values, nothing fixed."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from chelun.calendar import BEIJING
from chelun.claims.insurer import HttpInsurerClient, submit_pending, sync
from chelun.claims.reconcile import (
    MISMATCH_COLUMNS,
    ReconcileError,
    reconcile,
    write_mismatches,
)
from chelun.claims.simulator import STATEMENT_COLUMNS, InsurerSimulator
from chelun.storage.db import Database
from chelun.storage.tables import Claim, Event

from .test_insurer import PERSONAL, add_claim, make_service


def paid(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 4, day, hour, tzinfo=BEIJING)


def add_paid(database: Database, ref: str, insurer_id: str, amount: str, payment: str, at: Any):
    add_claim(
        database,
        ref,
        status="paid",
        insurer_claim_id=insurer_id,
        amount_approved=Decimal(amount),
        amount_paid=Decimal(amount),
        payment_ref=payment,
        paid_at=at,
        decided_at=at,
        submitted_at=at,
    )


def write_statement(path: Path, lines: list[tuple[str, ...]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:  # as Excel saves it
        writer = csv.writer(handle)
        writer.writerow(STATEMENT_COLUMNS)
        writer.writerows(lines)
    return path


def snapshot(database: Database) -> list[tuple[Any, ...]]:
    with database.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(Claim).order_by(Claim.id))]


def test_every_kind_of_mismatch_is_found_and_the_rest_match(
    database: Database, tmp_path: Path
) -> None:
    add_paid(database, "M1", "INS-1", "1000.00", "PAY-1", paid(2))
    add_paid(database, "M2", "INS-2", "800.00", "PAY-2", paid(2))
    add_paid(database, "M3", "INS-3", "900.00", "PAY-3", paid(3))
    add_claim(database, "M4", status="approved", insurer_claim_id="INS-4")
    add_paid(database, "M5", "INS-5", "700.00", "PAY-5", paid(3))  # not on the statement
    add_paid(database, "M6", "INS-6", "600.00", "PAY-6", paid(1) - dt.timedelta(days=20))
    add_paid(database, "M7", "INS-7", "500.00", "PAY-7", paid(4))
    add_paid(database, "M8", "INS-8", "400.00", "PAY-8", paid(5))
    statement = write_statement(
        tmp_path / "statement.csv",
        [
            ("INS-1", "M1", "1000.00", "PAY-1", "2026-04-01 09:00"),
            ("INS-2", "M2", "850.00", "PAY-2", "2026-04-02"),
            ("INS-3", "M3", "900.00", "=cmd|' /C calc'!A0", "2026-04-03 10:00:00"),
            ("INS-4", "M4", "1000.00", "PAY-4", "2026-04-03"),
            ("INS-99", "NOPE", "10.00", "PAY-99", "2026-04-03"),
            ("INS-1", "M1", "1000.00", "PAY-1", "2026-04-01"),
            ("INS-7", "OTHER", "500.00", "PAY-7", "2026-04-04"),
            ("INS-9", "M9", "abc", "PAY-9", "2026-04-04"),
            ("", "M8", "400.00", "PAY-8", "2026/04/05"),
        ],
    )
    before = snapshot(database)
    service = make_service(database)
    result = reconcile(service, statement)
    assert snapshot(database) == before  # reported, never fixed
    assert (result.lines, result.matched) == (9, 2)  # M1 and M8 (by its ref)
    assert (result.first_day, result.last_day) == (dt.date(2026, 4, 1), dt.date(2026, 4, 5))
    found = {
        (m.kind, m.line, m.insurer_claim_id, m.claim_ref, m.statement, m.here)
        for m in result.mismatches
    }
    assert found == {
        ("amount_differs", 2, "INS-2", "M2", "850.00", "800.00"),
        ("payment_ref_differs", 3, "INS-3", "M3", "=cmd|' /C calc'!A0", "PAY-3"),
        ("not_paid_here", 4, "INS-4", "M4", "paid", "approved"),
        ("unknown_claim", 5, "INS-99", "NOPE", "INS-99", None),
        ("duplicate_line", 6, "INS-1", "M1", None, None),
        ("claim_ref_differs", 7, "INS-7", "OTHER", "OTHER", "M7"),
        ("unreadable_line", 8, "INS-9", "M9", None, None),
        ("missing_from_statement", None, "INS-5", "M5", None, "700.00"),
    }
    assert result.by_kind()["amount_differs"] == 1
    with database.sessions() as session:
        [event] = session.scalars(select(Event).where(Event.entity == "claims_statement"))
    assert event.kind == "reconciled" and event.entity_key.startswith("62:")
    assert event.data["matched"] == 2 and event.data["mismatches"]["unknown_claim"] == 1

    out = io.StringIO()
    assert write_mismatches(result, out) == 8
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == MISMATCH_COLUMNS
    assert ["payment_ref_differs", "3", "INS-3", "M3", "'=cmd|' /C calc'!A0", "PAY-3"] == rows[
        [row[0] for row in rows].index("payment_ref_differs")
    ][:6]
    for value in PERSONAL:
        assert value not in out.getvalue()


def test_a_line_naming_a_ref_held_under_another_insurer_id_is_shown_with_both_ids(
    sqlite_database: Database, tmp_path: Path
) -> None:
    add_paid(sqlite_database, "M1", "INS-1", "1000.00", "PAY-1", paid(2))
    statement = write_statement(
        tmp_path / "s.csv", [("INS-2", "M1", "1000.00", "PAY-1", "2026-04-02")]
    )
    result = reconcile(make_service(sqlite_database), statement)
    unknown, missing = result.mismatches
    assert (unknown.kind, unknown.statement, unknown.here) == ("unknown_claim", "INS-2", "INS-1")
    assert "twice" in unknown.note
    assert (missing.kind, missing.insurer_claim_id) == ("missing_from_statement", "INS-1")
    assert result.matched == 0


def test_the_days_expected_on_the_statement_can_be_given(
    sqlite_database: Database, tmp_path: Path
) -> None:
    add_paid(sqlite_database, "M1", "INS-1", "1000.00", "PAY-1", paid(2))
    add_paid(sqlite_database, "M2", "INS-2", "800.00", "PAY-2", paid(9))
    statement = write_statement(
        tmp_path / "s.csv", [("INS-1", "M1", "1000.00", "PAY-1", "2026-04-02")]
    )
    service = make_service(sqlite_database)
    assert reconcile(service, statement).mismatches == []
    result = reconcile(service, statement, last_day=dt.date(2026, 4, 30))
    assert [(m.kind, m.claim_ref) for m in result.mismatches] == [("missing_from_statement", "M2")]


def test_a_statement_without_a_column_is_refused(sqlite_database: Database, tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("insurer_claim_id,claim_ref,amount_paid\nINS-1,M1,1.00\n", encoding="utf-8")
    with pytest.raises(ReconcileError) as refused:
        reconcile(make_service(sqlite_database), path)
    assert "payment_ref, paid_at" in str(refused.value)


def test_the_simulated_insurers_statement_matches_after_sync(
    database: Database, tmp_path: Path
) -> None:
    for ref in ("A", "B", "C"):
        add_claim(database, ref)
    service = make_service(database)
    with InsurerSimulator() as sim, HttpInsurerClient(sim.url) as client:
        submit_pending(service, client=client)
        sim.decide_all(lambda claim: claim.claim_ref != "C", pay=True)
        assert sync(service, client=client).paid == 2
        statement = sim.statement(tmp_path / "statement.csv")
    result = reconcile(service, statement)
    assert (result.lines, result.matched, result.mismatches) == (2, 2, [])
