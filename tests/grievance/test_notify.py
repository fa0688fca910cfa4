"""Notices of grievance events, sent to a real HTTP receiver on 127.0.0.1: owed once, sent once,
retried on transient failures, failed on the others, never carrying personal data."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import select, update
from typer.testing import CliRunner

from chelun import hookimpl
from chelun.calendar import BEIJING
from chelun.grievance import notify
from chelun.grievance.models import Delivery, Notice
from chelun.grievance.notify import NotifyResult, enqueue, register_notify, send_pending
from chelun.grievance.service import GrievanceService
from chelun.grievance.settings import GrievanceSettings
from chelun.plugin_manager import PluginError, PluginHost
from chelun.settings import Settings
from chelun.storage.db import Database, open_database
from chelun.storage.tables import Branch, Driver, Event, Notification
from tests.identities import resident_id

from .conftest import service_for, write_csv

PHONE = "13800000001"
NAME = "李大山"
ID_NUMBER = resident_id("510104", "19800101", "123")
TEXT = "服务区晚上车位全满，只能停在匝道边上"
#: What must never leave chelun in a notice: the grievances' personal data and words.
PERSONAL = (PHONE, NAME, ID_NUMBER, TEXT, "拖欠运费", "信息费越收越高", "13900000002", "王小川")
#: Seconds the slow receiver keeps a request; the tests' timeout is far shorter.
SLOW = 3.0


@dataclass
class Inbox:
    """What the receiver got, and what it answers next."""

    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    #: Answers to give, first to last, before the usual 200: a status, or "slow".
    script: list[int | str] = field(default_factory=list)
    #: The status of every answer not scripted.
    always: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def accepted(self) -> Counter[str]:
        """Idempotency keys of the requests answered 2xx, with how often."""
        return Counter(r["key"] for r in self.requests if 200 <= r["status"] < 300)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        return  # the slow answer's client has gone: nothing to report


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            with box.lock:
                answer = box.script.pop(0) if box.script else box.always
                box.requests.append(
                    {
                        "path": self.path,
                        "key": self.headers.get("Idempotency-Key"),
                        "headers": dict(self.headers),
                        "raw": raw.decode("utf-8"),
                        "body": json.loads(raw),
                        "status": 0 if answer == "slow" else answer,
                    }
                )
            if answer == "slow":
                time.sleep(SLOW)
                answer = 200
            self.send_response(int(answer))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = _Server(("127.0.0.1", 0), Receiver)
    box.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "BACKOFF_SECONDS", 0.01)
    for name in ("REPLY_URL", "HANDLER_URL"):
        monkeypatch.delenv(f"CHELUN_GRIEVANCE_{name}", raising=False)
    monkeypatch.delenv("CHELUN_GUIZHOU_GROUP_CHAT_URL", raising=False)


@pytest.fixture
def urls(inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> Inbox:
    """Core's default deliveries pointed at the receiver."""
    monkeypatch.setenv("CHELUN_GRIEVANCE_REPLY_URL", inbox.url("/reply"))
    monkeypatch.setenv("CHELUN_GRIEVANCE_HANDLER_URL", inbox.url("/handler"))
    return inbox


def sichuan_rows() -> list[dict[str, str]]:
    return [
        {
            "ref": "SC-1",
            "received_at": "2026-09-30 10:00",
            "text": TEXT,
            "phone": PHONE,
            "name": NAME,
            "id_number": ID_NUMBER,
            "county": "510104",
            "channel": "platform",
        },
        {
            "ref": "SC-2",
            "received_at": "2026-12-28 09:00",
            "text": "货主拖欠运费三个月没有结算",
            "county": "510107",
        },
        {
            "ref": "SC-3",
            "received_at": "2026-11-02 08:30",
            "text": "运满满上的信息费越收越高，平台抽成太狠",
            "county": "510104",
        },
    ]


def routed(
    database: Database, tmp_path: Path, rows: list[dict[str, str]], province: str = "51"
) -> GrievanceService:
    service = service_for(database, province)
    service.import_file(write_csv(tmp_path / f"g{province}-{len(rows)}.csv", rows))
    service.route_pending()
    return service


def escalate(service: GrievanceService) -> None:
    """Sweep late enough that SC-1 (county) and SC-3 (province, platform) are overdue."""
    result = service.sweep(dt.datetime(2026, 12, 1, 9, tzinfo=BEIJING))
    assert result.escalated == 2


def settings(**values: Any) -> GrievanceSettings:
    return GrievanceSettings(**{"http_timeout": 5.0, **values})


def notify_all(service: GrievanceService, **values: Any) -> NotifyResult:
    enqueue(service.database, service.province)
    return send_pending(service.database, service.pm, service.province, settings=settings(**values))


def notice_rows(database: Database) -> list[dict[str, Any]]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(
                Notification.id,
                Notification.event_id,
                Notification.recipient,
                Notification.status,
                Notification.channel,
                Notification.attempts,
                Notification.last_error,
                Notification.sent_at,
                Event.entity_key,
                Event.kind,
            )
            .join(Event, Event.id == Notification.event_id)
            .order_by(Notification.id)
        )
        return [{**row._asdict(), "ref": row.entity_key.split(":")[1]} for row in rows]


def assert_no_personal_data(inbox: Inbox, database: Database) -> None:
    sent = [r["raw"] + json.dumps(r["headers"], ensure_ascii=False) for r in inbox.requests]
    errors = [row["last_error"] or "" for row in notice_rows(database)]
    for text in sent + errors:
        assert not any(value in text for value in PERSONAL)


def test_notices_are_owed_for_routed_and_escalated_events_once_and_per_province(
    database: Database, tmp_path: Path
) -> None:
    service = routed(database, tmp_path, sichuan_rows())
    elsewhere = {"ref": "GZ-1", "received_at": "2026-10-12 09:00", "text": "没有车位"}
    guizhou = routed(database, tmp_path, [{**elsewhere, "county": "520102"}], province="52")
    assert enqueue(database, "51") == 3
    assert enqueue(database, "51") == 0
    escalate(service)
    assert enqueue(database, "51") == 4
    assert enqueue(database, "51") == 0
    owed = {(row["ref"], row["kind"], row["recipient"]) for row in notice_rows(database)}
    assert owed == {
        ("SC-1", "routed", "driver"),
        ("SC-2", "routed", "driver"),
        ("SC-3", "routed", "driver"),
        ("SC-1", "escalated", "driver"),
        ("SC-1", "escalated", "handler"),
        ("SC-3", "escalated", "driver"),
        ("SC-3", "escalated", "handler"),
    }
    assert {row["status"] for row in notice_rows(database)} == {"pending"}
    assert enqueue(database, guizhou.province) == 1
    service.resolve("SC-2")
    service.reject("SC-1", "not a matter for the conferences")
    assert enqueue(database, "51") == 2


def test_each_notice_is_sent_once_and_a_second_run_sends_nothing(
    database: Database, tmp_path: Path, urls: Inbox
) -> None:
    service = routed(database, tmp_path, sichuan_rows())
    escalate(service)
    result = notify_all(service)
    assert result == NotifyResult(sent=7)
    assert len(urls.requests) == 7
    rows = notice_rows(database)
    assert urls.accepted() == Counter(
        {f"grievance-{row['event_id']}-{row['recipient']}": 1 for row in rows}
    )
    assert {(row["status"], row["attempts"]) for row in rows} == {("sent", 1)}
    assert all(row["sent_at"] is not None and row["last_error"] is None for row in rows)
    assert {row["channel"] for row in rows} == {"reply-url", "handler-url"}
    by_key = {r["key"]: r for r in urls.requests}
    first = next(row for row in rows if row["ref"] == "SC-1" and row["kind"] == "routed")
    reply = by_key[f"grievance-{first['event_id']}-driver"]
    assert reply["path"] == "/reply"
    assert set(reply["body"]) == {"ref", "kind", "message", "event_id"}
    assert reply["body"]["event_id"] == first["event_id"]
    assert reply["body"]["message"].startswith("您的诉求 SC-1 已转交锦江区")
    assert "办结时限至 2026-" in reply["body"]["message"]
    handler = next(r for r in urls.requests if r["path"] == "/handler")
    assert set(handler["body"]) == {"ref", "kind", "message", "event_id", "level", "area", "unit"}
    assert (handler["body"]["ref"], handler["body"]["level"]) in {
        ("SC-1", "city"),
        ("SC-3", "national"),
    }
    assert "逾期未办" in handler["body"]["message"]
    assert_no_personal_data(urls, database)

    assert notify_all(service) == NotifyResult()
    assert len(urls.requests) == 7


def test_a_503_is_retried_with_the_same_key_and_sent_once(
    database: Database, tmp_path: Path, urls: Inbox
) -> None:
    service = routed(database, tmp_path, sichuan_rows()[:1])
    urls.script = [503]
    assert notify_all(service) == NotifyResult(sent=1)
    [row] = notice_rows(database)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, "HTTP 503")
    assert [r["status"] for r in urls.requests] == [503, 200]
    assert {r["key"] for r in urls.requests} == {f"grievance-{row['event_id']}-driver"}
    assert urls.accepted().total() == 1


def test_a_timeout_is_retried_with_the_same_key(
    database: Database, tmp_path: Path, urls: Inbox
) -> None:
    service = routed(database, tmp_path, sichuan_rows()[:1])
    urls.script = ["slow"]
    assert notify_all(service, http_timeout=0.3) == NotifyResult(sent=1)
    [row] = notice_rows(database)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, "ReadTimeout")
    assert len({r["key"] for r in urls.requests}) == 1 and len(urls.requests) == 2


def test_a_receiver_that_keeps_failing_leaves_the_notice_failed_after_the_last_attempt(
    database: Database, tmp_path: Path, urls: Inbox
) -> None:
    service = routed(database, tmp_path, sichuan_rows()[:1])
    urls.always = 503
    # Three tries a run; the fourth and fifth wait for the next run.
    assert notify_all(service, grievance_notify_attempts=5) == NotifyResult(retried_later=1)
    [row] = notice_rows(database)
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 3, "HTTP 503")
    assert notify_all(service, grievance_notify_attempts=5) == NotifyResult(failed=1)
    [row] = notice_rows(database)
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 5, "HTTP 503")
    assert row["sent_at"] is None
    assert notify_all(service, grievance_notify_attempts=5) == NotifyResult()
    assert len(urls.requests) == 5
    assert_no_personal_data(urls, database)


def test_a_400_fails_at_once(database: Database, tmp_path: Path, urls: Inbox) -> None:
    service = routed(database, tmp_path, sichuan_rows()[:1])
    urls.script = [400]
    assert notify_all(service) == NotifyResult(failed=1)
    [row] = notice_rows(database)
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 1, "HTTP 400")
    assert len(urls.requests) == 1


def test_notices_nobody_delivers_are_marked_unsent(
    database: Database, tmp_path: Path, inbox: Inbox
) -> None:
    service = routed(database, tmp_path, sichuan_rows())
    escalate(service)
    assert notify_all(service) == NotifyResult(unsent=7)
    errors = Counter((row["status"], row["last_error"]) for row in notice_rows(database))
    assert errors == {
        ("unsent", "no channel reaches the driver"): 5,
        ("unsent", "no channel reaches the handler"): 2,
    }
    assert inbox.requests == []
    assert notify_all(service) == NotifyResult()


def _send_in_process(url: str, start: Any, results: Any) -> None:
    """One sender in a process of its own: its own engine, plugins and HTTP client. Small
    batches, so that the two senders claim at the same moments again and again."""
    notify.BATCH = 5
    database = Database(url)
    pm = PluginHost(Settings(), entry_points=False).manager("51")
    start.wait(60)
    result = send_pending(database, pm, "51", settings=settings())
    database.dispose()
    results.put(result.sent)


def test_two_senders_at_once_deliver_every_notice_exactly_once(
    database: Database, tmp_path: Path, urls: Inbox
) -> None:
    rows = [
        {"ref": f"R-{n}", "received_at": "2026-10-12 09:00", "text": "没有车位", "county": "510104"}
        for n in range(250)
    ]
    routed(database, tmp_path, rows)
    assert enqueue(database, "51") == 250
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    senders = [
        context.Process(target=_send_in_process, args=(database.url, start, results))
        for _ in range(2)
    ]
    for sender in senders:
        sender.start()
    start.set()
    sent = [results.get(timeout=120) for _ in senders]
    for sender in senders:
        sender.join(30)
        assert sender.exitcode == 0
    assert sum(sent) == 250
    assert len(urls.requests) == 250
    assert set(urls.accepted().values()) == {1} and len(urls.accepted()) == 250
    assert {row["status"] for row in notice_rows(database)} == {"sent"}


def test_a_notice_left_sending_by_a_dead_run_is_taken_again(
    database: Database, tmp_path: Path, urls: Inbox
) -> None:
    service = routed(database, tmp_path, sichuan_rows())
    assert enqueue(database, "51") == 3
    stale, fresh, sent = [row["id"] for row in notice_rows(database)]
    now = dt.datetime.now(dt.UTC)
    with database.connect() as connection:
        for row, claimed, status in (
            (stale, now - dt.timedelta(hours=1), "sending"),
            (fresh, now - dt.timedelta(minutes=1), "sending"),
            (sent, now - dt.timedelta(hours=1), "sent"),
        ):
            connection.execute(
                update(Notification)
                .where(Notification.id == row)
                .values(status=status, claimed_at=claimed, attempts=1)
            )
    result = send_pending(database, service.pm, "51", settings=settings())
    assert result == NotifyResult(sent=1)
    states = {row["id"]: (row["status"], row["attempts"]) for row in notice_rows(database)}
    assert states == {stale: ("sent", 2), fresh: ("sending", 1), sent: ("sent", 1)}
    [request] = urls.requests
    event_id = next(row["event_id"] for row in notice_rows(database) if row["id"] == stale)
    assert request["key"] == f"grievance-{event_id}-driver"


class WrongCount:
    PROVINCE_NEUTRAL = True

    @hookimpl
    def chelun_grievance_deliveries(self, notices: list[Notice]) -> list[Delivery | None]:
        return []


def test_a_plugin_that_answers_wrongly_is_named_and_its_batch_released(
    database: Database, tmp_path: Path, urls: Inbox
) -> None:
    routed(database, tmp_path, sichuan_rows())
    enqueue(database, "51")
    pm = PluginHost(Settings(), extra=[("wrong", WrongCount())], entry_points=False).manager("51")
    with pytest.raises(PluginError, match="plugin 'wrong', hook chelun_grievance_deliveries"):
        send_pending(database, pm, "51", settings=settings())
    assert {row["status"] for row in notice_rows(database)} == {"pending"}
    assert urls.requests == []


def guizhou_roster(database: Database) -> None:
    """A member driver of a branch, and a driver paired with them who has no branch."""
    with database.session() as session:
        session.add(Branch(province="52", code="GZ-B1", name="货运党支部", kind="mobile"))
        session.flush()
        member = Driver(
            province="52",
            key="m",
            phone="13900000002",
            name="王小川",
            member=True,
            branch="GZ-B1",
            records=1,
            sources=1,
            phones=1,
            enterprises=0,
            linked_run="r1",
        )
        session.add(member)
        session.flush()
        session.add(
            Driver(
                province="52",
                key="p",
                phone=PHONE,
                name=NAME,
                contact=member.id,
                records=1,
                sources=1,
                phones=1,
                enterprises=0,
                linked_run="r1",
            )
        )


def test_guizhou_replies_go_to_the_group_chat_of_the_drivers_branch(
    database: Database, tmp_path: Path, urls: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHELUN_GUIZHOU_GROUP_CHAT_URL", urls.url("/hooks/{branch}"))
    guizhou_roster(database)
    rows = [
        {"ref": "GZ-1", "received_at": "2026-10-12 09:00", "text": "服务区没有车位"},
        {"ref": "GZ-2", "received_at": "2026-10-12 09:00", "text": TEXT, "phone": PHONE},
        {"ref": "GZ-3", "received_at": "2026-10-12 09:00", "text": "车位", "phone": "13900000002"},
    ]
    for row in rows:
        row["county"] = "520102"
    service = routed(database, tmp_path, rows, province="52")
    assert notify_all(service) == NotifyResult(sent=3)
    by_ref = {re.search(r"GZ-\d", r["raw"]).group(): r for r in urls.requests}  # type: ignore[union-attr]
    assert by_ref["GZ-1"]["path"] == "/reply"  # no driver, no branch: core's reply
    for ref in ("GZ-2", "GZ-3"):  # the paired driver's member's branch, and the member's own
        request = by_ref[ref]
        assert request["path"] == "/hooks/GZ-B1"
        assert set(request["body"]) == {"msgtype", "text"}
        assert request["body"]["msgtype"] == "text"
        assert request["body"]["text"]["content"].startswith(f"您的诉求 {ref} 已转交")
    channels = {row["ref"]: row["channel"] for row in notice_rows(database)}
    assert channels == {"GZ-1": "reply-url", "GZ-2": "group-chat:GZ-B1", "GZ-3": "group-chat:GZ-B1"}
    assert_no_personal_data(urls, database)


def test_the_commands_send_and_list_the_notices(
    tmp_path: Path, urls: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = open_database(Settings())
    service = GrievanceService(
        database, PluginHost(Settings(), entry_points=False).manager("51"), "51"
    )
    service.import_file(write_csv(tmp_path / "g.csv", sichuan_rows()))
    service.route_pending()
    database.dispose()
    urls.script = [400]
    app = typer.Typer()
    register_notify(app)
    runner = CliRunner()
    sent = runner.invoke(app, ["notify", "--province", "sichuan"])
    assert sent.exit_code == 0, sent.output
    assert "province 51: 3 notices queued; 2 sent, 1 failed, 0 unsent" in sent.output
    listed = runner.invoke(app, ["notices", "-p", "51", "--status", "failed", "--format", "CSV"])
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.strip().splitlines()
    assert lines[0] == "ref,kind,recipient,status,channel,attempts,last_error"
    assert len(lines) == 2 and lines[1].endswith(",routed,driver,failed,reply-url,1,HTTP 400")
    table = runner.invoke(app, ["notices", "-p", "51"])
    assert table.exit_code == 0 and "SC-3" in table.stdout
    wrong = runner.invoke(app, ["notices", "-p", "51", "--status", "lost"])
    assert wrong.exit_code == 2 and "unknown status 'lost'" in wrong.output
    for output in (sent.output, listed.output, table.output):
        assert not any(value in output for value in PERSONAL)
