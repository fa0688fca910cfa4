"""Matters group like grievances of many drivers; relaying members are linked; routing and
sweeping runs at once never take a grievance twice, in chunks smaller than the work."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from chelun.calendar import BEIJING
from chelun.grievance import service as service_module
from chelun.grievance.defaults import subject_of
from chelun.grievance.matters import matters
from chelun.grievance.service import GrievanceService
from chelun.identity.codes import driver_code
from chelun.storage.db import Database
from chelun.storage.tables import Driver, Event, Grievance, GrievanceMatter

from .conftest import service_for, write_csv


def test_subjects_are_platforms_and_named_service_areas() -> None:
    assert subject_of("运满满的会员费又涨了") == "满帮"
    assert subject_of("货车帮派单抽成太高") == "满帮"
    assert subject_of("昨晚在广元服务区停车油被偷了") == "广元服务区"
    assert subject_of("在绵阳北停车区的厕所坏了") == "绵阳北停车区"
    assert subject_of("高速服务区没有车位") is None  # no name: no matter to group into
    assert subject_of("货主拖欠运费") is None


def test_like_grievances_of_many_drivers_form_one_matter_and_keep_their_cases(
    database: Database, tmp_path: Path
) -> None:
    texts = [
        "运满满上的信息费越收越高，平台抽成太狠",
        "满帮平台的会员费一年比一年贵",
        "货车帮压价，抽成太高",
        "昨晚在广元服务区停车，油箱被人撬了",
        "广元服务区夜里有人偷油，已经第二次了",
        "货主拖欠运费三个月没有结算",
    ]
    rows = [
        {
            "ref": f"M-{n}",
            "received_at": "2026-11-02 09:00",
            "text": text,
            "county": "510802",
            "phone": f"1380000000{n}",
        }
        for n, text in enumerate(texts)
    ]
    service = service_for(database)
    service.import_file(write_csv(tmp_path / "g.csv", rows))
    service.route_pending()
    with database.engine.connect() as connection:
        found = matters(connection, "51")
        cases = {
            ref: matter
            for ref, matter in connection.execute(select(Grievance.ref, Grievance.matter_id))
        }
        grouped = connection.execute(
            select(func.count()).select_from(Event).where(Event.kind == "grouped")
        ).scalar_one()
    by_subject = {matter.subject: matter for matter in found}
    assert set(by_subject) == {"满帮", "广元服务区"}
    platform = by_subject["满帮"]
    assert (platform.category, platform.cases, platform.drivers, platform.open) == (
        "platform_fees",
        3,
        3,
        3,
    )
    assert by_subject["广元服务区"].category == "theft"
    assert by_subject["广元服务区"].cases == 2
    assert cases["M-5"] is None  # names nothing: a case of its own
    assert grouped == 5
    # Every grievance is still there, each with its own status and deadlines.
    assert len(cases) == 6
    # A later grievance joins the open matter instead of opening another.
    later = [
        {
            "ref": "M-9",
            "received_at": "2026-11-03 09:00",
            "text": "满帮又扣了我的保证金",
            "county": "510802",
        }
    ]
    service.import_file(write_csv(tmp_path / "later.csv", later))
    service.route_pending()
    with database.engine.connect() as connection:
        assert {m.subject: m.cases for m in matters(connection, "51")}["满帮"] == 4
        assert (
            connection.execute(select(func.count()).select_from(GrievanceMatter)).scalar_one() == 2
        )


def test_a_grievance_links_the_paired_member_who_relays_it(
    database: Database, tmp_path: Path
) -> None:
    stamp = dt.datetime.now(dt.UTC)
    common = {
        "province": "51",
        "records": 1,
        "sources": 1,
        "phones": 1,
        "enterprises": 0,
        "linked_run": "r1",
        "updated_at": stamp,
    }
    with database.connect() as connection:
        member = connection.execute(
            insert(Driver).returning(Driver.id),
            [{**common, "key": "member", "phone": "13900000001", "member": True}],
        ).scalar_one()
        connection.execute(
            insert(Driver),
            [{**common, "key": "paired", "phone": "13900000002", "contact": member}],
        )
    rows = [
        {"ref": "P-1", "received_at": "2026-11-02 09:00", "text": "罚款", "phone": "13900000002"},
        {"ref": "P-2", "received_at": "2026-11-02 09:00", "text": "罚款", "phone": "13900000009"},
    ]
    service_for(database).import_file(write_csv(tmp_path / "g.csv", rows))
    with database.engine.connect() as connection:
        relayed = dict(connection.execute(select(Grievance.ref, Grievance.relayed_by)).all())
    assert relayed == {"P-1": member, "P-2": None}
    assert driver_code("51", member)  # exported as the member's roster code


def _many(database: Database, tmp_path: Path, count: int) -> GrievanceService:
    rows = [
        {
            "ref": f"R-{n}",
            "received_at": "2026-10-12 09:00",
            "text": "服务区没有车位",
            "county": "510104",
        }
        for n in range(count)
    ]
    service = service_for(database)
    service.import_file(write_csv(tmp_path / "many.csv", rows))
    return service


def _at_once(database: Database, service: GrievanceService, work: str) -> list[object]:
    second = Database(database.url)
    other = GrievanceService(second, service.pm, "51", actor="user:other")
    start = threading.Barrier(2)
    results: list[object] = []

    def run(one: GrievanceService) -> None:
        start.wait()
        if work == "route":
            results.append(one.route_pending())
        else:
            results.append(
                one.sweep(dt.datetime(2026, 12, 1, 9, tzinfo=BEIJING)).escalated  # type: ignore[attr-defined]
            )

    threads = [threading.Thread(target=run, args=(s,)) for s in (service, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    second.dispose()
    return results


def test_two_routing_runs_at_once_route_each_grievance_once(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHELUN_GRIEVANCE_BATCH", "25")
    service = _many(database, tmp_path, 300)
    results = _at_once(database, service, "route")
    assert sum(results) == 300  # type: ignore[arg-type]
    with database.engine.connect() as connection:
        routed = connection.execute(
            select(Event.entity_key, func.count())
            .where(Event.kind == "routed")
            .group_by(Event.entity_key)
        ).all()
    assert len(routed) == 300 and {count for _, count in routed} == {1}


def test_two_sweeps_in_small_chunks_escalate_each_grievance_once(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _many(database, tmp_path, 300)
    service.route_pending()
    monkeypatch.setattr(service_module, "SWEEP_CHUNK", 20)
    results = _at_once(database, service, "sweep")
    assert sum(results) == 300  # type: ignore[arg-type]
    with database.engine.connect() as connection:
        escalations = connection.execute(select(Grievance.escalations)).scalars().all()
        per_case = connection.execute(
            select(Event.entity_key, func.count())
            .where(Event.kind == "escalated")
            .group_by(Event.entity_key)
        ).all()
    assert set(escalations) == {1}
    assert len(per_case) == 300 and {count for _, count in per_case} == {1}
