"""One real difference per pilot province, each plugin registered as it is shipped: Jiangsu
scores the grid model in pioneer fleets, Sichuan hosts visits at its Warm Heart Homes, Guizhou
publishes the final list to branch group chats, Gansu excludes anyone touched by a fraud claim."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from chelun.identity.codes import driver_code
from chelun.plugins.gansu import recognition as gansu
from chelun.plugins.guizhou import recognition as guizhou
from chelun.plugins.jiangsu import recognition as jiangsu
from chelun.plugins.sichuan import recognition as sichuan
from chelun.storage.db import Database
from chelun.storage.tables import AwardPublication

from .conftest import Roster, at, award_service, credit_code, nominations, scores, visit_service


def _fleets(database: Database, tmp_path: Path, plugins: list) -> dict[str, object]:
    roster = Roster(database, "32")
    roster.branch("GRID-1", kind="grid")
    roster.branch("ENT-1", kind="enterprise")
    grid_fleet, other_fleet = credit_code("320102", 1), credit_code("320205", 2)
    for _ in range(2):
        roster.driver(uscc=grid_fleet, member=True, branch="GRID-1")
    for _ in range(2):
        roster.driver("320205", uscc=other_fleet, member=True, branch="ENT-1")
    service = award_service(database, "32", plugins)
    campaign = service.open("pioneer_fleet", "先锋车队", dt.date(2026, 9, 10), at=at("2026-09-01"))
    service.nominate(
        campaign,
        nominations(tmp_path / "n.csv", [(grid_fleet, "320100", ""), (other_fleet, "320200", "")]),
        at=at("2026-09-02"),
    )
    service.record_scores(
        campaign,
        scores(
            tmp_path / "s.csv",
            [
                (fleet, criterion, "r1", 80)
                for fleet in (grid_fleet, other_fleet)
                for criterion in ("organisation", "service", "safety")
            ],
        ),
    )
    for _ in range(3):
        service.advance(campaign, at=at("2026-09-11"))
    return {row.nominee: row for row in service.nominations(campaign)}


def test_jiangsu_scores_the_grid_members_of_pioneer_fleets(
    database: Database, tmp_path: Path
) -> None:
    rows = _fleets(database, tmp_path, [("recognition-jiangsu", jiangsu)])
    grid_fleet, other_fleet = credit_code("320102", 1), credit_code("320205", 2)
    assert rows[grid_fleet].score_parts["grid"] == "4.00"
    assert rows[other_fleet].score_parts["grid"] == "0.00"
    assert rows[grid_fleet].total_score - rows[other_fleet].total_score == 4
    assert rows[grid_fleet].scored_by == "recognition-jiangsu"


def test_without_jiangsus_plugin_fleets_score_alike(database: Database, tmp_path: Path) -> None:
    rows = _fleets(database, tmp_path, [])
    assert len({row.total_score for row in rows.values()}) == 1
    assert all("grid" not in row.score_parts for row in rows.values())


def test_sichuan_hosts_visits_at_its_warm_heart_homes(database: Database) -> None:
    roster = Roster(database, "51")
    roster.branch("MOB-5101")
    chengdu = roster.driver("510104", member=True, branch="MOB-5101")
    aba = roster.driver("513201", member=True, branch="MOB-5101")
    service = visit_service(database, "51", [("recognition-sichuan", sichuan)])
    assert service.plan("2026-10", at=at("2026-10-01")).planned == 2
    visits = {visit.driver_id: visit for visit in service.visits("2026-10")}
    assert visits[chengdu].place == "成都暖心之家(青白江)"
    assert visits[chengdu].role == "branch_secretary" and visits[chengdu].unit == "MOB-5101"
    assert visits[aba].place is None  # no Warm Heart Home in Aba: core's assignment stands
    core = visit_service(database, "51")
    core.plan("2026-11", at=at("2026-11-01"))
    assert {visit.place for visit in core.visits("2026-11")} == {None}


class _GroupChats(BaseHTTPRequestHandler):
    """Branch group chat robots on 127.0.0.1; ``fail`` answers 503 to everything."""

    posts: list[tuple[str, str, dict]] = []
    fail = False

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).posts.append((self.path, self.headers["Idempotency-Key"], body))
        self.send_response(503 if type(self).fail else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def group_chats(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_GroupChats]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GroupChats)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _GroupChats.posts = []
    _GroupChats.fail = False
    monkeypatch.setenv(
        "CHELUN_GUIZHOU_GROUP_CHAT_URL", f"http://127.0.0.1:{server.server_port}/hooks/{{branch}}"
    )
    yield _GroupChats
    server.shutdown()
    server.server_close()


def test_guizhou_publishes_the_final_list_to_branch_group_chats_once(
    database: Database, tmp_path: Path, group_chats: type[_GroupChats]
) -> None:
    roster = Roster(database, "52")
    for code in ("BR-A", "BR-B"):
        roster.branch(code)
    first = roster.driver("520102", member=True, branch="BR-A")
    second = roster.driver("520302", member=True, branch="BR-B")
    codes = [driver_code("52", first), driver_code("52", second)]
    service = award_service(database, "52", [("recognition-guizhou", guizhou)])
    campaign = service.open(
        "outstanding_member_driver",
        "2026年度优秀党员货车司机",
        dt.date(2026, 9, 10),
        at=at("2026-09-01"),
    )
    service.nominate(
        campaign,
        nominations(tmp_path / "n.csv", [(codes[0], "BR-A", ""), (codes[1], "520100", "")]),
        at=at("2026-09-02"),
    )
    service.record_scores(
        campaign,
        scores(tmp_path / "s.csv", [(code, "deeds", "r1", 90) for code in codes]),
    )
    for day in ["2026-09-11"] * 4 + ["2026-09-14", "2026-09-22"]:
        service.advance(campaign, at=at(day))
    group_chats.fail = True
    result = service.publish(campaign, at=at("2026-09-22"))
    assert result.counts["failed"] == 2 and result.counts["sent"] == 0
    assert len(group_chats.posts) == 2 * service.settings.awards_publish_attempts
    group_chats.fail = False
    group_chats.posts.clear()
    again = service.publish(campaign, at=at("2026-09-23"))
    assert again.counts == {"sent": 2, "failed": 0}
    assert sorted(path for path, _, _ in group_chats.posts) == ["/hooks/BR-A", "/hooks/BR-B"]
    assert {key for _, key, _ in group_chats.posts} == {
        f"award:52:{campaign}:group-chat:BR-A",
        f"award:52:{campaign}:group-chat:BR-B",
    }
    text = group_chats.posts[0][2]["text"]["content"]
    assert "2026年度优秀党员货车司机" in text and codes[0] in text and codes[1] in text
    for number in roster.ids.values():
        assert number not in text
    group_chats.posts.clear()
    assert service.publish(campaign).counts == {"sent": 0, "failed": 0}
    assert group_chats.posts == []
    with database.engine.connect() as connection:
        assert set(connection.execute(select(AwardPublication.status)).scalars()) == {"sent"}


def test_gansu_excludes_anyone_touched_by_a_fraud_claim(database: Database, tmp_path: Path) -> None:
    roster = Roster(database, "62")
    roster.branch("MOB-6201")
    long_ago = roster.driver("620102", member=True, branch="MOB-6201")
    roster.claim(long_ago, reported=at("2023-05-01"))
    fleet = credit_code("620102", 3)
    roster.driver("620102", uscc=fleet, member=True, branch="MOB-6201")
    cheat = roster.driver("620102", uscc=fleet)
    roster.claim(cheat, reported=at("2026-02-01"))

    def refused(plugins: list, kind: str, nominee: str) -> list[str]:
        service = award_service(database, "62", plugins)
        campaign = service.open(kind, "x", dt.date(2026, 9, 10), at=at("2026-09-01"))
        path = nominations(tmp_path / f"{kind}.csv", [(nominee, "MOB-6201", "")])
        return [r.reason for r in service.nominate(campaign, path, at=at("2026-09-02")).refused]

    member = driver_code("62", long_ago)
    plugin = [("recognition-gansu", gansu)]
    assert refused([], "outstanding_member_driver", member) == []
    (reason,) = refused(plugin, "outstanding_member_driver", member)
    assert "Gansu: 1 车货无忧 claim(s) rejected for fraud, at any time" in reason
    assert "rule fraud_claim, by recognition-gansu" in reason
    assert refused([], "pioneer_fleet", fleet) == []
    (reason,) = refused(plugin, "pioneer_fleet", fleet)
    assert "rule fleet_fraud_claim" in reason
