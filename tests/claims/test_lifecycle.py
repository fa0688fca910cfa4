"""What an operator does to a claim (report, attach, appeal), the transitions refused, and the
export and figures computed from the stored claims."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from chelun.claims.export import (
    COLUMNS,
    REVEALED,
    claim_stats,
    export_claims,
    export_quarantine,
    stats_rows,
)
from chelun.claims.models import REASONS
from chelun.claims.service import ClaimError, ClaimInputError, ClaimsService, appeal_overrides
from chelun.identity.codes import driver_code
from chelun.storage.db import Database
from chelun.storage.tables import Claim

from .test_intake import (
    AT,
    ID_WANG,
    PHONE_WANG,
    PRODUCT,
    add_driver,
    claims_service,
    events,
    row,
    stored,
    write_csv,
)

CONTRACT = (
    "claim_ref",
    "status",
    "reason_code",
    "amount_payable",
    "insurer_claim_id",
    "amount_paid",
    "payment_ref",
    "product",
    "site",
    "site_name",
    "loss_type",
    "amount_claimed",
    "incident_time",
    "night_of",
    "policy_no",
    "driver",
    "reason",
    "reported_at",
    "submitted_at",
    "paid_at",
)


@pytest.fixture
def service(database: Database, tmp_path: Path) -> ClaimsService:
    """Claims A to E reported, Q quarantined for its photos, M for its amount."""
    service = claims_service(database)
    path = write_csv(
        tmp_path / "claims.csv",
        [
            row("A"),
            row("B", police_report_no="", photos="0"),
            row("C"),
            row("D"),
            row("E", site="杭州", loss_type="cargo", amount_claimed="2,000.5"),
            row("Q", photos="很多"),
            row("M", amount_claimed="abc", photos="x"),
        ],
    )
    service.import_file(path, at=AT)
    return service


def set_state(database: Database, ref: str, **values: Any) -> None:
    """Move a claim as the processing run and the insurer sync would."""
    with database.connect() as connection:
        connection.execute(update(Claim).where(Claim.ref == ref).values(**values))


def test_report_stores_one_claim_with_the_checks_of_a_row(service: ClaimsService) -> None:
    claim = service.report(row("R-1", site="嘉兴", amount_claimed="800"), at=AT)
    assert (claim.status, claim.site, claim.amount_claimed) == (
        "reported",
        "ZJ02",
        Decimal("800.00"),
    )
    assert claim.night_of == dt.date(2026, 11, 19)
    (event,) = service.history("R-1")
    assert (event.kind, event.reason, event.actor) == (
        "reported",
        "reported at the command line",
        "user:test",
    )


def test_report_refuses_malformed_values_and_stores_nothing(service: ClaimsService) -> None:
    with pytest.raises(ClaimInputError) as refused:
        service.report(row("R-2", amount_claimed="-3", incident_time="soon"), at=AT)
    assert [column for column, _ in refused.value.problems] == ["incident_time", "amount_claimed"]
    assert "-3" not in str(refused.value)
    with pytest.raises(ClaimInputError, match="claim_ref is empty"):
        service.report(row(""), at=AT)
    with pytest.raises(ClaimError, match="claim A is already stored"):
        service.report(row("A"), at=AT)
    assert "R-2" not in stored(service.database)


def test_report_quarantines_data_that_contradicts_the_roster(service: ClaimsService) -> None:
    add_driver(service.database, ID_WANG, id_number=ID_WANG, phone=PHONE_WANG, name="王建国")
    claim = service.report(row("R-3", name="李建国"), at=AT)
    assert claim.status == "quarantined" and claim.driver_id is None
    assert claim.reason == (
        "reported at the command line: name is not the roster's name for this id_number "
        "(contradictory)"
    )


def test_attach_adds_evidence_to_a_reported_claim(service: ClaimsService) -> None:
    assert service.attach("B", police_report_no=" JB-9 ", photos=3) == "reported"
    claim = service.get("B")
    assert (claim.police_report_no, claim.photos) == ("JB-9", 3)
    event = service.history("B")[-1]
    assert event.kind == "evidence_added"
    assert event.reason == "evidence added: police report number, 3 photos in all"
    assert "JB-9" not in event.reason and "JB-9" not in str(event.data)
    assert service.attach("B", photos=3) == "reported"
    assert service.get("B").photos == 3


def test_attach_releases_a_claim_quarantined_only_for_its_evidence(
    service: ClaimsService,
) -> None:
    with pytest.raises(ClaimError, match="quarantined for photos: give it too"):
        service.attach("Q", police_report_no="JB-1")
    assert service.attach("Q", photos=2) == "reported"
    claim = service.get("Q")
    assert (claim.status, claim.photos, claim.reason) == ("reported", 2, None)
    with pytest.raises(ClaimError, match="quarantined for amount_claimed, photos, not only"):
        service.attach("M", photos=2)
    assert service.get("M").status == "quarantined"


def test_attach_reopens_a_refusal_for_missing_evidence_only(service: ClaimsService) -> None:
    set_state(service.database, "B", status="rejected", reason_code="evidence_missing", reason="x")
    set_state(service.database, "C", status="rejected", reason_code="duplicate_suspected")
    assert service.attach("B", police_report_no="JB-2", photos=1) == "reported"
    claim = service.get("B")
    assert (claim.status, claim.reason_code, claim.reason) == ("reported", None, None)
    assert service.history("B")[-1].data == {
        "from": "rejected",
        "reason_code": "evidence_missing",
        "police_report": True,
        "photos": 1,
    }
    with pytest.raises(ClaimError, match="refused for duplicate_suspected, not for missing"):
        service.attach("C", photos=4)
    assert service.get("C").photos == 2


def test_attach_refuses_bad_evidence_and_other_statuses(service: ClaimsService) -> None:
    with pytest.raises(ClaimInputError, match="give the police report number or"):
        service.attach("A")
    with pytest.raises(ClaimInputError, match="photos is not a count"):
        service.attach("A", photos=-1)
    with pytest.raises(ClaimInputError, match="police_report_no is empty, longer than 50"):
        service.attach("A", police_report_no="J" * 51)
    set_state(service.database, "D", status="submitted")
    with pytest.raises(ClaimError) as refused:
        service.attach("D", photos=5)
    assert str(refused.value) == (
        "claim D is submitted: it cannot be given evidence (only from reported, quarantined, "
        "rejected); what an operator can do now: nothing, processing goes on"
    )
    with pytest.raises(ClaimError, match="no claim 'NOPE' in province 33"):
        service.attach("NOPE", photos=1)


def test_appeal_reopens_a_refusal_and_counts_it(service: ClaimsService) -> None:
    set_state(service.database, "A", status="rejected", reason_code="outside_night_window")
    assert service.appeal("A", "  司机提供了  停车时间证明 ") == "appealed"
    claim = service.get("A")
    assert (claim.status, claim.appeals, claim.reason_code) == (
        "appealed",
        1,
        "outside_night_window",
    )
    event = service.history("A")[-1]
    assert (event.kind, event.reason) == ("appealed", "appealed: 司机提供了 停车时间证明")
    assert event.data == {
        "from": "rejected",
        "reason_code": "outside_night_window",
        "override": None,
    }
    set_state(service.database, "A", status="rejected")
    service.appeal("A", "again")
    assert service.get("A").appeals == 2


def test_an_appeal_may_set_aside_a_suspected_duplicate(service: ClaimsService) -> None:
    set_state(service.database, "C", status="rejected", reason_code="duplicate_suspected")
    set_state(service.database, "D", status="rejected", reason_code="no_policy_period")
    with pytest.raises(ClaimInputError, match="not_on_roster is not a refusal an appeal can"):
        service.appeal("C", "checked", override="not_on_roster")
    with pytest.raises(ClaimInputError, match="needs a reason"):
        service.appeal("C", "   ")
    with pytest.raises(ClaimError, match="refused for no_policy_period, not duplicate_suspected"):
        service.appeal("D", "checked", override="duplicate_suspected")
    assert service.get("D").status == "rejected"
    service.appeal("C", "two thefts that night, both reported to the police", "duplicate_suspected")
    service.appeal("D", "the renewal covers it")
    with service.database.engine.connect() as connection:
        assert appeal_overrides(connection, "33", ["C", "D", "A"]) == {"C": "duplicate_suspected"}
    assert "setting aside duplicate_suspected" in service.history("C")[-1].reason


def test_illegal_transitions_are_refused_with_what_can_be_done(service: ClaimsService) -> None:
    with pytest.raises(ClaimError) as refused:
        service.appeal("A", "why not")
    assert str(refused.value) == (
        "claim A is reported: it cannot be appealed (only from rejected); what an operator "
        "can do now: attach evidence"
    )
    set_state(service.database, "C", status="paid")
    with pytest.raises(ClaimError, match="claim C is paid: .* nothing, it is final"):
        service.appeal("C", "more")
    assert [event.kind for event in service.history("C")] == ["reported"]


def exported(service: ClaimsService, reveal: bool = False) -> tuple[str, list[dict[str, str]]]:
    stream = io.StringIO()
    count = export_claims(service, stream, reveal=reveal)
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert count == len(rows)
    return stream.getvalue(), rows


def test_export_keeps_the_contract_and_masks_personal_data(
    service: ClaimsService, database: Database
) -> None:
    driver = add_driver(database, "k", id_number=None, phone=None, name=None)
    set_state(
        database,
        "A",
        status="paid",
        amount_payable=Decimal("1000"),
        amount_paid=Decimal("1000.5"),
        payment_ref="PAY-1",
        insurer_claim_id="INS-1",
        policy_no="TP-2026",
        driver_id=driver,
        paid_at=dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC),
    )
    set_state(database, "C", status="rejected", reason_code="duplicate_suspected")
    text, rows = exported(service)
    assert tuple(text.splitlines()[0].split(",")[: len(CONTRACT)]) == CONTRACT
    assert [r["claim_ref"] for r in rows] == ["A", "B", "C", "D", "E"]
    paid = rows[0]
    assert (paid["status"], paid["amount_payable"], paid["amount_paid"]) == (
        "paid",
        "1000.00",
        "1000.50",
    )
    assert (paid["payment_ref"], paid["insurer_claim_id"], paid["policy_no"]) == (
        "PAY-1",
        "INS-1",
        "TP-2026",
    )
    assert (paid["site"], paid["site_name"], paid["loss_type"]) == ("ZJ01", "长兴服务区", "fuel")
    assert (paid["incident_time"], paid["night_of"]) == ("2026-11-20 02:30", "2026-11-19")
    assert paid["amount_claimed"] == "1200.00" and paid["paid_at"] == "2026-11-30 10:00"
    assert paid["driver"] == driver_code("33", driver) and paid["reported_at"] == "2026-12-01 12:00"
    assert rows[2]["reason"] == REASONS["duplicate_suspected"]
    assert (rows[4]["site"], rows[4]["site_given"], rows[4]["amount_claimed"]) == (
        "",
        "杭州",
        "2000.50",
    )
    for secret in (ID_WANG, PHONE_WANG, "王建国", "JB330000001"):
        assert secret not in text
    assert not set(REVEALED) & set(rows[0])

    revealed, rows = exported(service, reveal=True)
    assert tuple(revealed.splitlines()[0].split(",")) == COLUMNS + REVEALED
    assert (rows[0]["id_number"], rows[0]["name"], rows[0]["phone"]) == (
        ID_WANG,
        "王建国",
        PHONE_WANG,
    )
    assert rows[0]["police_report_no"] == "JB330000001"


def test_the_quarantine_lists_what_is_wrong_and_no_value(service: ClaimsService) -> None:
    stream = io.StringIO()
    assert export_quarantine(service.database, "33", stream) == 2
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert [r["claim_ref"] for r in rows] == ["Q", "M"]
    assert rows[0]["reason"] == "row 6: photos is not a count (a whole number from 0 to 1000)"
    assert "abc" not in stream.getvalue() and "很多" not in stream.getvalue()


def test_figures_come_from_the_stored_claims(service: ClaimsService, database: Database) -> None:
    reported = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)
    for ref, days, paid in (("A", 2, "1000"), ("B", 5, "300.25"), ("D", 9, "10")):
        set_state(
            database,
            ref,
            status="paid",
            amount_paid=Decimal(paid),
            paid_at=reported + dt.timedelta(days=days),
        )
    set_state(database, "C", status="rejected", reason_code="duplicate_suspected")
    stats = claim_stats(database, "33")
    assert (stats.reported, stats.quarantined, stats.paid, stats.refused, stats.open) == (
        5,
        2,
        3,
        1,
        1,
    )
    assert stats.refused_by_reason == {"duplicate_suspected": 1}
    assert stats.amount_paid == Decimal("1310.25")
    assert stats.median_days == 5
    rows = {
        figure: (value, of, denominator) for figure, value, of, denominator in stats_rows(stats)
    }
    assert rows["paid"] == ("3", "reported", "5")
    assert rows["refused:duplicate_suspected"] == ("1", "refused", "1")
    assert rows["amount_paid"] == ("1310.25", "paid", "3")
    assert rows["median_days_to_payment"] == ("5.0", "paid", "3")
    assert claim_stats(database, "62").reported == 0


def test_a_product_offered_for_another_province_is_the_plugins_error(database: Database) -> None:
    from chelun.plugin_manager import PluginError

    wrong = PRODUCT.model_copy(update={"province": "62"})
    with pytest.raises(PluginError, match="product test-night is of 62"):
        claims_service(database, wrong).products()
    assert events(database) == []
