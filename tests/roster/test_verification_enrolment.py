"""Verification funnel, enrolment (with Zhenjiang's grid) and pairing, on real databases."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select, text

from chelun import hookimpl
from chelun.plugin_manager import PluginError, PluginHost
from chelun.roster.models import Branch as Branch_
from chelun.roster.models import HomeVisit, Pairing
from chelun.roster.service import RosterIntake
from chelun.roster.staging import SourceInput
from chelun.settings import Settings
from chelun.storage.db import Database
from chelun.storage.tables import Branch, Driver, Event
from tests.roster.test_intake import resident_id, write_csv

POLICE = ["姓名", "公民身份号码", "准驾车型", "联系电话", "住址"]
TRANSPORT = ["姓名", "身份证号", "手机号", "从业资格证号", "所属企业", "统一社会信用代码", "车牌号"]
PARTY = ["姓名", "身份证号码", "政治面貌", "所在党组织", "手机号码"]
USCC_A = "91110000600037341L"


def intake(database: Database, province: str, extra: list | None = None) -> RosterIntake:
    host = PluginHost(Settings(), extra=extra or [], entry_points=False)
    return RosterIntake(database, host.manager(province), province, actor="user:test")


def phone(n: int) -> str:
    return f"139{n:08d}"


class PhoneProvider(BaseHTTPRequestHandler):
    """A phone-verification platform on 127.0.0.1: even numbers answer, odd ones fail."""

    fail_first = 0
    calls: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        PhoneProvider.calls.append(
            {"key": self.headers.get("Idempotency-Key"), "n": len(body["checks"])}
        )
        if PhoneProvider.fail_first > 0:
            PhoneProvider.fail_first -= 1
            self.send_response(503)
            self.end_headers()
            return
        results = [
            {
                "driver": check["driver"],
                "outcome": "confirmed" if int(check["phone"][-1]) % 2 == 0 else "unreachable",
                "detail": "answered" if int(check["phone"][-1]) % 2 == 0 else "no answer",
            }
            for check in body["checks"]
        ]
        payload = json.dumps({"results": results}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[PhoneProvider]]:
    PhoneProvider.calls = []
    PhoneProvider.fail_first = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), PhoneProvider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(
        "CHELUN_SICHUAN_PHONE_API", f"http://127.0.0.1:{server.server_port}/verifications"
    )
    try:
        yield PhoneProvider
    finally:
        server.shutdown()
        server.server_close()


def sichuan_files(tmp_path: Path) -> list[SourceInput]:
    ids = [resident_id("510104", f"1980010{i}", f"{i}1{i}") for i in range(1, 7)]
    police = write_csv(
        tmp_path / "police.csv",
        [POLICE] + [["司机" + str(i), ids[i], "A2", phone(i), ""] for i in range(6)],
    )
    # Drivers 0 and 1 are in two sources: the cross-source match confirms them.
    transport = write_csv(
        tmp_path / "transport.csv",
        [TRANSPORT] + [["司机" + str(i), ids[i], phone(i), "Q", "", "", ""] for i in range(2)],
    )
    village = write_csv(
        tmp_path / "village.csv",
        [
            ["序号", "姓名", "身份证号", "电话", "车牌", "是否党员", "备注"],
            ["1", "无证", "", "", "川A12345", "否", ""],
        ],
    )
    return [
        SourceInput("police", police),
        SourceInput("transport", transport),
        SourceInput("village", village),
    ]


def stages(database: Database) -> dict[str, tuple[str, str]]:
    with database.session() as session:
        return {
            d.name: (d.verification_stage, d.verification_outcome)
            for d in session.scalars(select(Driver))
        }


def test_funnel_moves_drivers_stage_by_stage_through_the_provider(
    database: Database, tmp_path: Path, provider: type[PhoneProvider]
) -> None:
    provider.fail_first = 1  # the platform is down once: the client retries
    run = intake(database, "51")
    run.run(sichuan_files(tmp_path))
    result = run.verify()
    assert result.confirmed_by_match == 2
    after = stages(database)
    assert after["司机0"] == after["司机1"] == ("match", "confirmed")
    assert after["司机2"] == after["司机4"] == ("phone", "confirmed")  # even: answered
    assert after["司机3"] == after["司机5"] == ("visit", "pending")  # odd: no answer, to visit
    assert after["无证"] == ("visit", "pending")  # no phone at all: straight to a visit
    assert len(provider.calls) == 2 and provider.calls[0]["key"] == provider.calls[1]["key"]

    with database.session() as session:
        events = session.scalars(select(Event).where(Event.entity == "driver")).all()
    by_kind = Counter((e.kind, e.actor) for e in events)
    assert by_kind[("verification.confirmed", "user:test")] == 2
    assert by_kind[("verification.confirmed", "plugin:sichuan")] == 2
    assert by_kind[("verification.next_stage", "plugin:sichuan")] == 2
    assert all("139" not in e.reason for e in events)  # no phone numbers in the log

    # A clerk records home visits: one confirmed, one failed; a repeat changes nothing.
    codes = {name: f"51-{d:07d}" for name, d in _ids(database).items()}
    visits = [
        HomeVisit(
            driver=codes["司机3"],
            outcome="confirmed",
            visited_on=dt.date(2026, 11, 2),
            visitor="城关镇",
        ),
        HomeVisit(
            driver=codes["无证"],
            outcome="failed",
            visited_on=dt.date(2026, 11, 3),
            visitor="城关镇",
            detail="not known at the address",
        ),
    ]
    from chelun.roster.verification import Verification

    verification = Verification(database, run.pm, "51", actor="user:test")
    assert verification.record_visits(visits, actor="user:clerk") == 2
    assert verification.record_visits(visits, actor="user:clerk") == 0
    after = stages(database)
    assert after["司机3"] == ("visit", "confirmed")
    assert after["无证"] == ("visit", "failed")
    assert after["司机5"] == ("visit", "pending")

    # Running the funnel again asks the provider about nobody new.
    calls = len(provider.calls)
    run.verify()
    assert len(provider.calls) == calls


def _ids(database: Database) -> dict[str, int]:
    with database.session() as session:
        return {d.name: d.id for d in session.scalars(select(Driver))}


def test_without_a_provider_drivers_wait_at_the_phone_stage(
    database: Database, tmp_path: Path
) -> None:
    run = intake(database, "51")
    run.run(sichuan_files(tmp_path))
    run.verify()
    after = stages(database)
    assert after["司机2"] == ("phone", "pending")
    assert after["司机0"] == ("match", "confirmed")


def member_files(
    tmp_path: Path, county: str, members: int, ordinary: int, enterprise_members: int = 0
) -> list[SourceInput]:
    """Members and ordinary drivers of one county; some members work for enterprise A."""
    total = members + ordinary
    ids = [resident_id(county, "19800101", f"{i:03d}") for i in range(total)]
    party = write_csv(
        tmp_path / "party.csv",
        [PARTY] + [[f"党员{i}", ids[i], "中共党员", "支部", phone(i)] for i in range(members)],
    )
    transport = write_csv(
        tmp_path / "transport.csv",
        [TRANSPORT]
        + [
            [
                f"党员{i}" if i < members else f"司机{i}",
                ids[i],
                phone(i),
                "Q",
                "甲物流" if i < enterprise_members else "",
                USCC_A if i < enterprise_members else "",
                "",
            ]
            for i in range(total)
        ],
    )
    return [SourceInput("party", party), SourceInput("transport", transport)]


def branches_of(database: Database) -> dict[str, str]:
    with database.session() as session:
        return {d.name: d.branch for d in session.scalars(select(Driver)) if d.member}


def test_members_join_their_enterprise_branch_else_a_mobile_one(
    database: Database, tmp_path: Path
) -> None:
    run = intake(database, "62")
    run.run(member_files(tmp_path, "620102", members=5, ordinary=0, enterprise_members=3))
    result = run.enrol(cap=5)
    assert result.enrolled == 5
    assigned = branches_of(database)
    assert {assigned[f"党员{i}"] for i in range(3)} == {f"ENT-{USCC_A}"}
    assert {assigned[f"党员{i}"] for i in (3, 4)} == {"MOB-620100"}  # Lanzhou's mobile branch
    with database.session() as session:
        kinds = Counter(session.scalars(select(Branch.kind)).all())
        reasons = session.scalars(
            select(Event.actor).where(Event.kind == "enrolment.assigned")
        ).all()
    assert kinds["enterprise"] == 1 and kinds["mobile"] > 1
    assert set(reasons) == {"plugin:chelun.roster.defaults"}
    assert run.enrol(cap=5).enrolled == 0  # idempotent: everyone keeps their branch


def test_zhenjiang_members_join_grid_branches_in_jiangsu_only(
    database: Database, tmp_path: Path
) -> None:
    run = intake(database, "32")
    (tmp_path / "zj").mkdir()
    run.run(member_files(tmp_path / "zj", "321181", members=4, ordinary=0, enterprise_members=0))
    run.enrol(cap=5)
    assigned = branches_of(database)
    assert set(assigned.values()) == {"GRID-321100-2"}  # 丹阳 grid
    with database.session() as session:
        actors = set(session.scalars(select(Event.actor).where(Event.kind == "enrolment.assigned")))
    assert actors == {"plugin:jiangsu"}

    # Outside Zhenjiang (Nanjing), the default mobile branch applies.
    (tmp_path / "nj").mkdir()
    other = intake(database, "32")
    files = member_files(tmp_path / "nj", "320102", members=2, ordinary=0)
    other.run([SourceInput("party-nj", files[0].path), SourceInput("transport-nj", files[1].path)])
    other.enrol(cap=5)
    with database.session() as session:
        nanjing = {
            d.branch for d in session.scalars(select(Driver).where(Driver.home_county == "320102"))
        }
    assert nanjing == {"MOB-320100"}


def test_grid_model_stays_out_of_other_provinces(database: Database, tmp_path: Path) -> None:
    # The same Zhenjiang-born members ingested by Gansu get Gansu's default, not a grid.
    run = intake(database, "62")
    run.run(member_files(tmp_path, "321181", members=3, ordinary=0))
    run.enrol(cap=5)
    assert set(branches_of(database).values()) == {"MOB-62"}


def test_ordinary_drivers_are_paired_within_county_under_the_cap(
    database: Database, tmp_path: Path
) -> None:
    run = intake(database, "62")
    run.run(member_files(tmp_path, "620102", members=2, ordinary=7))
    result = run.enrol(cap=3)
    assert result.paired == 6  # two members, three each; the seventh waits
    with database.session() as session:
        drivers = session.scalars(select(Driver)).all()
        loads = Counter(d.contact for d in drivers if d.contact)
        members = {d.id for d in drivers if d.member}
        events = session.scalars(select(Event).where(Event.kind == "pairing.paired")).all()
    assert set(loads) == members and set(loads.values()) == {3}
    assert sum(1 for d in drivers if not d.member and d.contact is None) == 1
    assert len(events) == 6 and {e.actor for e in events} == {"plugin:chelun.roster.defaults"}
    assert run.enrol(cap=3).paired == 0  # the cap holds across runs
    assert run.enrol(cap=4).paired == 1  # a higher cap pairs the one left


def test_a_plugin_breaking_the_pairing_rules_is_named(database: Database, tmp_path: Path) -> None:
    class Greedy:
        PROVINCES = ("62",)

        @hookimpl
        def chelun_pair_drivers(self, members, drivers, loads, cap):  # type: ignore[no-untyped-def]
            return [
                Pairing(member=members[0].driver, driver=d.driver, reason="all to one")
                for d in drivers
            ]

    run = intake(database, "62", extra=[("greedy", Greedy())])
    run.run(member_files(tmp_path, "620102", members=1, ordinary=4))
    with pytest.raises(PluginError, match="greedy.*chelun_pair_drivers.*cap"):
        run.enrol(cap=2)
    with database.connect() as connection:
        paired = connection.execute(
            text("SELECT COUNT(*) FROM driver WHERE contact IS NOT NULL")
        ).scalar_one()
    assert paired == 0  # nothing half-written


def test_a_branch_for_another_province_is_refused_and_named(
    database: Database, tmp_path: Path
) -> None:
    class Trespasser:
        PROVINCES = ("62",)

        @hookimpl
        def chelun_branches(self, province, enterprises, register):  # type: ignore[no-untyped-def]
            register(Branch_(code="MOB-5101", name="成都", kind="mobile", province="51"))

    run = intake(database, "62", extra=[("trespasser", Trespasser())])
    run.run(member_files(tmp_path, "620102", members=1, ordinary=1))
    with pytest.raises(PluginError, match="trespasser.*chelun_branches.*province 51"):
        run.enrol()
    with database.session() as session:
        assert session.scalars(select(Branch).where(Branch.province == "51")).all() == []


def test_visits_for_drivers_not_asked_about_are_refused_and_named(
    database: Database, tmp_path: Path
) -> None:
    class Stranger:
        PROVINCES = ("62",)

        @hookimpl
        def chelun_home_visits(self, province, drivers):  # type: ignore[no-untyped-def]
            return [
                HomeVisit(
                    driver="51-0000001",
                    outcome="confirmed",
                    visited_on=dt.date(2026, 11, 30),
                    visitor="x",
                )
            ]

    run = intake(database, "62", extra=[("stranger", Stranger())])
    village = write_csv(
        tmp_path / "village.csv",
        [
            ["序号", "姓名", "身份证号", "电话", "车牌", "是否党员", "备注"],
            ["1", "无证", "", "", "甘A12345", "否", ""],
        ],
    )
    run.run([SourceInput("village", village)])
    with pytest.raises(PluginError, match="stranger.*chelun_home_visits.*51-0000001"):
        run.verify()


def test_profiles_built_for_enrolment_are_those_pydantic_builds() -> None:
    from chelun.roster.enrolment import _profiles
    from chelun.roster.models import DriverProfile

    rows = [(42, "320102", 1, "91320100MA1W5XK29L", "某某运输"), (7, None, 0, None, None)]
    fast = _profiles(rows, "32")
    slow = [
        DriverProfile(
            driver=f"32-{i:07d}",
            province="32",
            home_county=county,
            member=bool(member),
            enterprise_uscc=uscc,
            enterprise=enterprise,
        )
        for i, county, member, uscc, enterprise in rows
    ]
    assert fast == slow
    assert [p.model_fields_set for p in fast] == [p.model_fields_set for p in slow]
    assert [p.model_dump() for p in fast] == [p.model_dump() for p in slow]
    assert hash(fast[0]) == hash(slow[0])
    with pytest.raises(ValueError):
        fast[0].member = False  # frozen, as pydantic's own
