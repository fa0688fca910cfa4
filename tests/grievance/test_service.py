"""Import, classification and routing, the lifecycle and the overdue sweep, on real databases."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, insert, select

from chelun import hookimpl
from chelun.calendar import BEIJING
from chelun.grievance.models import Classification, GrievanceItem, Route
from chelun.grievance.service import GrievanceError, GrievanceService
from chelun.identity.normalise import normalise_id
from chelun.plugin_manager import PluginError
from chelun.storage.db import Database
from chelun.storage.tables import Driver, Event, Grievance

from .conftest import service_for, write_csv

PHONE = "13912345678"
#: A resident ID number the roster's normaliser accepts (its check digit computed by it).
ID_NUMBER = next(
    number
    for digit in "0123456789X"
    if (number := normalise_id("51010419900101123" + digit).value) is not None
)
NAME = "王小明"


def grievances(database: Database) -> dict[str, Grievance]:
    with database.sessions() as session:
        return {case.ref: case for case in session.scalars(select(Grievance))}


def events(database: Database, kind: str | None = None) -> list[Event]:
    query = select(Event).where(Event.entity == "grievance").order_by(Event.id)
    if kind:
        query = query.where(Event.kind == kind)
    with database.sessions() as session:
        return list(session.scalars(query))


def imported(database: Database, path: Path, **kwargs: object) -> GrievanceService:
    service = service_for(database, **kwargs)  # type: ignore[arg-type]
    service.import_file(path)
    service.route_pending()
    return service


def test_importing_the_same_file_twice_adds_nothing(database: Database, sample: Path) -> None:
    service = service_for(database)
    first = service.import_file(sample)
    assert service.route_pending() == 3
    second = service.import_file(sample)
    assert service.route_pending() == 0
    assert (first.added, second.added, second.already) == (3, 0, 3)
    assert sorted(grievances(database)) == ["SC-1", "SC-2", "SC-3"]
    assert len(events(database, "received")) == 3
    assert len(events(database, "routed")) == 3


def test_default_routing_follows_the_category(database: Database, sample: Path) -> None:
    imported(database, sample)
    cases = grievances(database)
    parking, arrears, fees = cases["SC-1"], cases["SC-2"], cases["SC-3"]
    assert (parking.category, parking.level, parking.area) == ("parking_rest", "county", "510104")
    assert parking.lead_department == "交通运输局"
    assert (arrears.category, arrears.lead_department) == ("pay_arrears", "人力资源和社会保障局")
    assert (fees.category, fees.level, fees.area) == ("platform_fees", "province", "51")
    assert fees.lead_department == "交通运输厅"
    assert parking.resolve_due == dt.date(2026, 10, 27) and not parking.provisional
    assert arrears.resolve_due is not None and arrears.resolve_due.year == 2027
    assert {case.classified_by for case in cases.values()} == {"chelun.grievance.defaults"}


def test_a_grievance_without_a_county_goes_to_the_province_or_the_drivers_home(
    database: Database, tmp_path: Path
) -> None:
    with database.connect() as connection:
        connection.execute(
            insert(Driver),
            [
                {
                    "province": "51",
                    "key": ID_NUMBER,
                    "id_number": ID_NUMBER,
                    "home_county": "510104",
                    "phone": PHONE,
                    "records": 1,
                    "sources": 1,
                    "phones": 1,
                    "enterprises": 0,
                    "linked_run": "r1",
                    "updated_at": dt.datetime.now(dt.UTC),
                }
            ],
        )
    path = write_csv(
        tmp_path / "g.csv",
        [
            {"ref": "A", "received_at": "2026-10-12 09:00", "text": "停车场晚上油被偷了"},
            {
                "ref": "B",
                "received_at": "2026-10-12 09:00",
                "text": "停车场晚上油被偷了",
                "id_number": ID_NUMBER[:6] + " " + ID_NUMBER[6:],
            },
            {"ref": "C", "received_at": "2026-10-12 09:00", "text": "电瓶被偷", "phone": PHONE},
        ],
    )
    imported(database, path)
    cases = grievances(database)
    assert (cases["A"].level, cases["A"].area, cases["A"].driver_id) == ("province", "51", None)
    assert (cases["B"].level, cases["B"].area) == ("county", "510104")
    assert cases["B"].lead_department == "公安局"
    assert cases["B"].driver_id is not None and cases["C"].driver_id == cases["B"].driver_id


def test_malformed_rows_are_kept_with_a_reason_that_quotes_nothing(
    database: Database, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "bad.csv",
        [
            {"ref": "", "received_at": "2026-10-12 09:00", "text": "没有编号", "phone": PHONE},
            {"ref": "D1", "received_at": "昨天", "text": "时间不对", "name": NAME},
            {"ref": "D2", "received_at": "2026-10-12 09:00", "text": "", "id_number": ID_NUMBER},
            {"ref": "D3", "received_at": "2026-10-12 09:00", "text": "县码错", "county": "51A"},
        ],
    )
    result = service_for(database).import_file(path)
    assert (result.added, result.quarantined) == (4, 4)
    cases = grievances(database)
    assert all(case.status == "quarantined" and case.status_reason for case in cases.values())
    assert "received_at" in cases["D1"].status_reason
    assert "no text" in cases["D2"].status_reason
    assert "county" in cases["D3"].status_reason
    written = " ".join(e.reason + json.dumps(e.data or {}) for e in events(database))
    written += " ".join(case.status_reason or "" for case in cases.values())
    for secret in (PHONE, NAME, ID_NUMBER, "没有编号", "时间不对"):
        assert secret not in written


def test_xlsx_and_json_lines_files_are_read(database: Database, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["ref", "received_at", "text", "county"])
    sheet.append(["X-1", "2026-10-12 09:00", "高速收费站ETC识别不了", "510104"])
    workbook.save(tmp_path / "g.xlsx")
    lines = tmp_path / "g.jsonl"
    lines.write_text(
        json.dumps({"ref": "J-1", "received_at": "2026-10-12 09:00", "text": "平台抽成太高"})
        + "\nnot json\n",
        encoding="utf-8",
    )
    service = service_for(database)
    service.import_file(tmp_path / "g.xlsx")
    service.import_file(lines)
    service.route_pending()
    cases = grievances(database)
    assert cases["X-1"].category == "roads_services"
    assert cases["J-1"].category == "platform_fees"
    assert [case.status for case in cases.values()].count("quarantined") == 1


class TheftDesk:
    """A province plugin that classifies everything as theft and routes nothing itself."""

    PROVINCES = ("51",)

    @hookimpl
    def chelun_classify_grievances(
        self, grievances: list[GrievanceItem]
    ) -> list[Classification | None]:
        return [Classification(category="theft", reason="test desk") for _ in grievances]

    @hookimpl
    def chelun_route_grievances(self, grievances: list[GrievanceItem]) -> list[Route | None]:
        return [None for _ in grievances]


def test_every_decision_records_the_plugin_that_made_it(database: Database, sample: Path) -> None:
    imported(database, sample, extra=[("theft-desk", TheftDesk())])
    cases = grievances(database)
    assert {case.category for case in cases.values()} == {"theft"}
    assert {case.classified_by for case in cases.values()} == {"theft-desk"}
    assert {case.routed_by for case in cases.values()} == {"chelun.grievance.defaults"}
    assert {e.actor for e in events(database, "classified")} == {"plugin:theft-desk"}


class ShortAnswer:
    PROVINCES = ("51",)

    @hookimpl
    def chelun_classify_grievances(self, grievances: list[GrievanceItem]) -> list[Classification]:
        return []


def test_a_plugin_that_answers_for_too_few_grievances_is_named(
    database: Database, sample: Path
) -> None:
    service = service_for(database, extra=[("short", ShortAnswer())])
    service.import_file(sample)
    with pytest.raises(PluginError, match="'short'.*returned 0 decisions for 3"):
        service.route_pending()
    assert {case.status for case in grievances(database).values()} == {"received"}


def test_the_lifecycle_refuses_illegal_transitions(database: Database, sample: Path) -> None:
    service = imported(database, sample)
    with pytest.raises(GrievanceError, match="SC-1 is routed: it cannot be closed"):
        service.close("SC-1", satisfied=True)
    assert service.acknowledge("SC-1") == "in_progress"
    assert service.resolve("SC-1") == "resolved"
    assert service.close("SC-1", satisfied=False) == "reopened"
    assert service.resolve("SC-1") == "resolved"
    assert service.close("SC-1", satisfied=True) == "closed"
    with pytest.raises(GrievanceError, match="nothing, it is final"):
        service.resolve("SC-1")
    with pytest.raises(GrievanceError, match="no grievance 'NOPE'"):
        service.resolve("NOPE")
    assert service.reject("SC-2", "not a matter for the conferences") == "rejected"
    assert service.merge("SC-3", into="SC-1") == "merged"
    kinds = [event.kind for event in service.history("SC-1")]
    assert kinds == [
        "received",
        "classified",
        "routed",
        "in_progress",
        "resolved",
        "closed",
        "reopened",
        "resolved",
        "closed",
    ]
    case = grievances(database)["SC-1"]
    assert (case.satisfied, case.reopens) == (True, 1)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=BEIJING)


def test_the_sweep_escalates_one_level_per_overdue_grievance(
    database: Database, sample: Path
) -> None:
    service = imported(database, sample)
    # SC-1 (county) and SC-3 (province, platform) are overdue; SC-2 was received later.
    first = service.sweep(at("2026-12-01 09:00"))
    assert (first.overdue, first.escalated) == (2, 2)
    cases = grievances(database)
    assert (cases["SC-1"].level, cases["SC-1"].area) == ("city", "510100")
    assert (cases["SC-3"].level, cases["SC-3"].area) == ("national", "national")
    assert cases["SC-3"].lead_department == "交通运输部"
    again = service.sweep(at("2026-12-01 09:00"))
    assert again.escalated == 0
    later = service.sweep(at("2027-06-01 09:00"))
    cases = grievances(database)
    # In Sichuan pay arrears start at the city's conference (the province's plugin).
    assert cases["SC-1"].level == "province" and cases["SC-2"].level == "province"
    assert (later.escalated, later.at_top) == (2, 1)  # SC-3 is at the top already
    last = service.sweep(at("2027-12-01 09:00"))
    assert (last.escalated, last.at_top) == (0, 3)
    assert len(events(database, "escalated")) == 4


def test_a_grievance_in_progress_escalates_only_when_past_its_resolution(
    database: Database, sample: Path
) -> None:
    service = imported(database, sample)
    service.acknowledge("SC-1")
    assert service.sweep(at("2026-10-20 09:00")).escalated == 0  # acknowledged, not yet due
    assert service.sweep(at("2026-10-28 09:00")).escalated == 1  # due 27 October


def test_two_sweeps_at_once_never_escalate_a_grievance_twice(
    database: Database, tmp_path: Path
) -> None:
    rows = [
        {
            "ref": f"R-{n}",
            "received_at": "2026-10-12 09:00",
            "text": "服务区没有车位",
            "county": "510104",
        }
        for n in range(150)
    ]
    service = imported(database, write_csv(tmp_path / "many.csv", rows))
    # Two processes' worth of connections: separate engines on the same database.
    second = Database(database.url)
    other = GrievanceService(second, service.pm, "51", actor="user:other")
    start = threading.Barrier(2)
    results = []

    def sweep(one: GrievanceService) -> None:
        start.wait()
        results.append(one.sweep(at("2026-12-01 09:00")))

    threads = [threading.Thread(target=sweep, args=(s,)) for s in (service, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    second.dispose()
    assert sum(result.escalated for result in results) == 150
    cases = grievances(database)
    assert {case.escalations for case in cases.values()} == {1}
    assert {case.level for case in cases.values()} == {"city"}
    with database.engine.connect() as connection:
        per_case = connection.execute(
            select(Event.entity_key, func.count())
            .where(Event.kind == "escalated")
            .group_by(Event.entity_key)
        ).all()
    assert len(per_case) == 150 and {count for _, count in per_case} == {1}
