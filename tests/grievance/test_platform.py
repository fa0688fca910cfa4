"""Pulling grievances from a province platform: a real HTTP server on 127.0.0.1 serves scripted
pages and faults (timeouts, 5xx, garbage, oversized answers), and every pull stores each
grievance once, resumes where a failed one stopped, and never quotes a value in a message."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import typer
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from chelun.commands import command_group
from chelun.grievance import platform
from chelun.grievance.platform import PlatformError, pull, register_pull
from chelun.storage.db import Database
from chelun.storage.tables import Event, Grievance, SyncCursor

from ..identities import resident_id
from .conftest import service_for

PHONE = "13800000001"
ID_NUMBER = resident_id("510104")
NAME = "李大山"
TEXT = "服务区晚上车位全满，只能停在匝道边上"
PERSONAL = (PHONE, ID_NUMBER, NAME, TEXT)
#: A secret in the feed's URL, which no message may repeat.
KEY = "SECRET-KEY-42"
#: Seconds the server waits before answering a request it is told to time out: longer than the
#: 0.5 s the tests give the client.
SLOW = 1.5
#: Faults the client asks again for; the others fail a page at the first answer.
RETRIED = {"timeout", "503"}


def grievance(ref: str, day: int = 1) -> dict[str, Any]:
    return {
        "ref": ref,
        "received_at": f"2026-10-{day:02d} 09:00",
        "text": TEXT,
        "id_number": ID_NUMBER,
        "phone": PHONE,
        "name": NAME,
        "county": "510104",
    }


def sichuan_item(ref: str) -> dict[str, Any]:
    return {
        "bh": ref,
        "slsj": "2026-10-12 09:30:15",
        "nr": TEXT,
        "sfzh": ID_NUMBER,
        "sjhm": PHONE,
        "xm": NAME,
        "xzqh": "510104",
    }


@dataclass
class Feed:
    """What the platform serves: each cursor's page (items, next cursor; the first page's cursor
    is None), faults to play before a cursor's page is served, and every request's query."""

    pages: dict[str | None, tuple[list[Any], str | None]] = field(default_factory=dict)
    faults: dict[str | None, list[str]] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Run before a cursor's page is served (another process at work meanwhile).
    meanwhile: dict[str | None, Callable[[], None]] = field(default_factory=dict)

    def fail(self, cursor: str | None, fault: str, times: int | None = None) -> None:
        """Play ``fault`` on the next requests of ``cursor``'s page: as many times as a pull
        asks (all its attempts) unless ``times`` is given."""
        if times is None:
            times = platform.ATTEMPTS if fault in RETRIED else 1
        self.faults[cursor] = [fault] * times

    def asked(self, path: str = "/feed") -> list[str | None]:
        """The cursor of each request of ``path``, in order (None: the first page)."""
        key = "pageToken" if path == "/sichuan" else "cursor"
        return [query.get(key) for query in self.requests if query["path"] == path]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    feed: Feed

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout) breaks the pipe: nothing to report."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        feed = self.server.feed
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        sichuan = url.path == "/sichuan"
        cursor = query.get("pageToken" if sichuan else "cursor")
        with feed.lock:
            feed.requests.append({"path": url.path, **query})
            queued = feed.faults.get(cursor) or []
            fault = queued.pop(0) if queued else None
        if cursor in feed.meanwhile:
            feed.meanwhile.pop(cursor)()
        if fault == "timeout":
            time.sleep(SLOW)
        elif fault in ("500", "503"):
            self._send(int(fault), f"busy, {PHONE}".encode(), "text/plain")
            return
        elif fault == "not-json":
            self._send(200, f"<html>{PHONE} {TEXT}</html>".encode(), "text/html")
            return
        elif fault == "no-list":
            self._send(200, json.dumps({"data": [{"phone": PHONE, "text": TEXT}]}).encode())
            return
        elif fault == "big":
            self._send(200, json.dumps({"grievances": [grievance("BIG")] * 50}).encode())
            return
        elif fault == "big-unsized":
            # No length said: the answer ends when the connection closes (HTTP/1.0).
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"grievances": [grievance("BIG")] * 50}).encode())
            return
        elif fault == "code":
            body = {"code": 5, "msg": f"号码 {PHONE} 无权限", "data": None}
            self._send(200, json.dumps(body).encode())
            return
        items, next_cursor = feed.pages[cursor]
        if sichuan:
            body = {"code": 0, "data": {"list": items, "nextPageToken": next_cursor or ""}}
        else:
            body = {"grievances": items, "next_cursor": next_cursor}
        self._send(200, json.dumps(body).encode())


@pytest.fixture
def feed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Feed]:
    """The platform on 127.0.0.1, as the feed at ``CHELUN_GRIEVANCE_PLATFORM_URL``; the client
    has 0.5 s to answer and retries at once."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.feed = Feed()
    server.feed.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    monkeypatch.setenv("CHELUN_GRIEVANCE_PLATFORM_URL", f"{server.feed.url}/feed?key={KEY}")
    monkeypatch.delenv("CHELUN_SICHUAN_PLATFORM_URL", raising=False)
    monkeypatch.setenv("CHELUN_HTTP_TIMEOUT", "0.5")
    monkeypatch.setattr(platform, "BACKOFF", 0.0)
    try:
        yield server.feed
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def four_pages(feed: Feed) -> list[str]:
    """Four pages of two grievances each, cursors c2, c3, c4; the refs in order."""
    refs = [f"P-{n}" for n in range(1, 9)]
    cursors: list[str | None] = [None, "c2", "c3", "c4"]
    for index, cursor in enumerate(cursors):
        following = cursors[index + 1] if index + 1 < len(cursors) else None
        feed.pages[cursor] = (
            [grievance(ref) for ref in refs[2 * index : 2 * index + 2]],
            following,
        )
    return refs


def stored(database: Database, province: str = "51") -> dict[str, Grievance]:
    with database.sessions() as session:
        cases = session.scalars(select(Grievance).where(Grievance.province == province)).all()
    return {case.ref: case for case in cases}


def cursor_row(database: Database, source: str = "platform") -> SyncCursor | None:
    with database.sessions() as session:
        return session.scalars(select(SyncCursor).where(SyncCursor.source == source)).one_or_none()


def events_per_ref(database: Database) -> dict[str, int]:
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(Event.entity_key, func.count())
            .where(Event.entity == "grievance", Event.kind.in_(("received", "quarantined")))
            .group_by(Event.entity_key)
        ).all()
    return {key.split(":", 1)[1]: count for key, count in rows}


def quotes_nothing_personal(message: str) -> bool:
    return not any(value in message for value in (*PERSONAL, KEY))


def test_a_pull_stores_every_page_with_its_cursor(
    database: Database, feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHELUN_GRIEVANCE_PAGE_SIZE", "2")
    refs = four_pages(feed)
    result = pull(service_for(database))
    assert (result.platform, result.plugin) == ("platform", "chelun.grievance.defaults")
    assert (result.pages, result.rows, result.added, result.already) == (4, 8, 8, 0)
    assert result.finished and result.cursor_after == "c4"
    cases = stored(database)
    assert sorted(cases) == sorted(refs)
    case = cases["P-1"]
    assert (case.status, case.channel, case.phone, case.county) == (
        "received",
        "platform",
        PHONE,
        "510104",
    )
    assert feed.asked() == [None, "c2", "c3", "c4"]
    assert all(query["limit"] == "2" and query["key"] == KEY for query in feed.requests)
    kept = cursor_row(database)
    assert kept is not None and (kept.cursor, kept.pages, kept.items) == ("c4", 4, 8)


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("timeout", "timed out after 0.5 s (3 attempts)"),
        ("500", "HTTP 500"),
        ("503", "HTTP 503 (3 attempts)"),
        ("not-json", "answer is not JSON (content type text/html)"),
        ("no-list", "answer has no 'grievances' list"),
        ("big", "answer over 4,000 bytes"),
        ("big-unsized", "answer over 4,000 bytes"),
    ],
)
def test_a_pull_that_fails_half_way_resumes_without_losing_or_repeating(
    database: Database,
    feed: Feed,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    said: str,
) -> None:
    monkeypatch.setattr(platform, "MAX_BODY", 4_000)
    refs = four_pages(feed)
    feed.fail("c3", fault)
    service = service_for(database)
    with pytest.raises(PlatformError) as failed:
        pull(service)
    message = str(failed.value)
    assert said in message
    assert "'platform', page 3 of this pull (after cursor 'c3'" in message
    assert "the 2 pages before it are stored, and the next pull resumes at this page" in message
    assert f"{feed.url}/feed" in message and quotes_nothing_personal(message)
    assert "\n" not in message
    assert sorted(stored(database)) == refs[:4]
    kept = cursor_row(database)
    assert kept is not None and kept.cursor == "c3"
    attempts = platform.ATTEMPTS if fault in RETRIED else 1
    assert feed.asked() == [None, "c2", *["c3"] * attempts]

    again = pull(service)
    assert feed.asked()[2 + attempts :] == ["c3", "c4"]
    assert (again.pages, again.added, again.already, again.finished) == (2, 4, 0, True)
    cases = stored(database)
    assert sorted(cases) == sorted(refs) and len(cases) == 8
    assert events_per_ref(database) == dict.fromkeys(refs, 1)


def test_a_pull_stops_when_another_moved_the_cursor_meanwhile(
    database: Database, feed: Feed
) -> None:
    refs = four_pages(feed)

    def other_pull() -> None:
        with database.connect() as connection:
            connection.execute(
                update(SyncCursor).where(SyncCursor.source == "platform").values(cursor="c4")
            )

    feed.meanwhile["c2"] = other_pull
    service = service_for(database)
    with pytest.raises(PlatformError, match="another pull moved its cursor .* page 2"):
        pull(service)
    assert sorted(stored(database)) == refs[:2]  # page 2 was left to the other pull
    kept = cursor_row(database)
    assert kept is not None and (kept.cursor, kept.pages) == ("c4", 1)
    pull(service)
    assert feed.asked()[2:] == ["c4"]


def test_a_page_answered_after_a_retry_is_stored(database: Database, feed: Feed) -> None:
    refs = four_pages(feed)
    feed.fail("c2", "503", times=platform.ATTEMPTS - 1)
    result = pull(service_for(database))
    assert result.finished and sorted(stored(database)) == sorted(refs)


def test_a_platform_that_cannot_be_reached_fails_the_pull(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()
    monkeypatch.setenv("CHELUN_GRIEVANCE_PLATFORM_URL", f"http://127.0.0.1:{port}/feed")
    monkeypatch.delenv("CHELUN_SICHUAN_PLATFORM_URL", raising=False)
    with pytest.raises(PlatformError, match="page 1 of this pull .*cannot connect"):
        pull(service_for(database))
    assert stored(database) == {} and cursor_row(database) is None


def test_the_same_grievance_on_two_pages_is_one_grievance(database: Database, feed: Feed) -> None:
    feed.pages[None] = ([grievance("D-1"), grievance("D-2")], "c2")
    feed.pages["c2"] = ([grievance("D-2"), grievance("D-3")], None)
    result = pull(service_for(database))
    assert (result.rows, result.added, result.already) == (4, 3, 1)
    assert sorted(stored(database)) == ["D-1", "D-2", "D-3"]
    assert events_per_ref(database) == {"D-1": 1, "D-2": 1, "D-3": 1}


def test_a_caught_up_feed_is_asked_again_from_its_last_cursor(
    database: Database, feed: Feed
) -> None:
    refs = four_pages(feed)
    service = service_for(database)
    pull(service)
    items, _ = feed.pages["c4"]
    items.append(grievance("P-9"))
    again = pull(service)
    assert feed.asked()[4:] == ["c4"]
    assert (again.pages, again.rows, again.added, again.already) == (1, 3, 1, 2)
    assert again.finished and again.cursor_after == "c4"
    assert sorted(stored(database)) == sorted([*refs, "P-9"])


def test_an_empty_page_ends_the_pull_and_its_cursor_is_kept(database: Database, feed: Feed) -> None:
    feed.pages[None] = ([grievance("E-1")], "c2")
    feed.pages["c2"] = ([], "c3")
    feed.pages["c3"] = ([grievance("E-2")], None)
    service = service_for(database)
    first = pull(service)
    assert first.finished and (first.pages, first.added, first.cursor_after) == (2, 1, "c3")
    second = pull(service)
    assert feed.asked() == [None, "c2", "c3"]
    assert second.added == 1 and sorted(stored(database)) == ["E-1", "E-2"]


@pytest.mark.parametrize(
    ("pages", "requests", "kept"),
    [
        # The platform answers with the cursor it was asked with.
        ({None: ["R-1"], "c2": ["R-2"]}, ["c2", "c2"], "c2"),
        # The platform goes round in a circle: c2, c3, c2 ...
        ({None: ["R-1"], "c2": ["R-2"], "c3": ["R-3"]}, ["c2", "c3", "c2"], "c3"),
    ],
    ids=["same cursor", "circle"],
)
def test_a_feed_that_repeats_its_cursor_stops(
    database: Database,
    feed: Feed,
    pages: dict[str | None, list[str]],
    requests: list[str],
    kept: str,
) -> None:
    cursors = list(pages)
    for index, cursor in enumerate(cursors):
        feed.pages[cursor] = ([grievance(ref) for ref in pages[cursor]], requests[index])
    service = service_for(database)
    result = pull(service)
    assert result.finished and result.cursor_after == kept
    assert len(feed.requests) == len(cursors)
    assert sorted(stored(database)) == sorted(ref for refs in pages.values() for ref in refs)
    pull(service)
    assert feed.asked()[len(cursors)] == kept


def test_the_page_limit_stops_a_pull_and_the_next_continues(database: Database, feed: Feed) -> None:
    refs = four_pages(feed)
    service = service_for(database)
    first = pull(service, max_pages=1)
    assert not first.finished and (first.pages, first.cursor_after) == (1, "c2")
    second = pull(service)
    assert second.finished and feed.asked() == [None, "c2", "c3", "c4"]
    assert sorted(stored(database)) == sorted(refs)


def test_malformed_items_are_quarantined_with_a_reason_that_quotes_no_value(
    database: Database, feed: Feed
) -> None:
    phone_as_number = {**grievance("M-1"), "phone": int(PHONE)}
    without_ref = {key: value for key, value in grievance("").items() if key != "ref"}
    bad_time = {**grievance("M-3"), "received_at": f"{PHONE}"}
    feed.pages[None] = (
        [42, TEXT, phone_as_number, without_ref, bad_time, [PHONE], grievance("OK-1")],
        None,
    )
    service = service_for(database)
    result = pull(service)
    assert (result.rows, result.added, result.quarantined) == (7, 7, 6)
    cases = stored(database)
    assert len(cases) == 7
    assert cases["OK-1"].status == "received"
    quarantined = {ref: case for ref, case in cases.items() if case.status == "quarantined"}
    assert len(quarantined) == 6
    reasons = {case.status_reason or "" for case in quarantined.values()}
    assert "row 1: page 1, item 1: a number, not an object" in reasons
    assert "row 2: page 1, item 2: a string, not an object" in reasons
    assert "row 3: page 1, item 3: phone not text (a string or null)" in reasons
    assert "row 6: page 1, item 6: a list, not an object" in reasons
    assert any(r.startswith("row 4: page 1, item 4: no ref") for r in reasons)
    assert any(r.startswith("row 5: page 1, item 5: received_at") for r in reasons)
    assert cases["M-1"].text == TEXT  # a quarantined grievance keeps what could be read
    with database.engine.connect() as connection:
        written = [reason for (reason,) in connection.execute(select(Event.reason))]
    assert all(quotes_nothing_personal(text) for text in [*reasons, *written])

    again = pull(service)  # the feed is caught up: its page is asked again
    assert (again.rows, again.added) == (7, 0)
    assert len(stored(database)) == 7


def test_without_a_platform_the_pull_says_what_to_set(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHELUN_GRIEVANCE_PLATFORM_URL", raising=False)
    monkeypatch.delenv("CHELUN_SICHUAN_PLATFORM_URL", raising=False)
    with pytest.raises(PlatformError, match="CHELUN_GRIEVANCE_PLATFORM_URL"):
        pull(service_for(database))


def test_sichuan_pulls_its_own_platform_with_its_own_protocol(
    database: Database, feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHELUN_SICHUAN_PLATFORM_URL", f"{feed.url}/sichuan")
    monkeypatch.setenv("CHELUN_GRIEVANCE_PLATFORM_URL", f"{feed.url}/feed")  # Sichuan's wins
    monkeypatch.setenv("CHELUN_GRIEVANCE_PAGE_SIZE", "2")
    feed.pages[None] = ([sichuan_item("SC-1"), sichuan_item("SC-2")], "tok-2")
    feed.pages["tok-2"] = ([sichuan_item("SC-3"), 7], None)
    result = pull(service_for(database, "51"))
    assert (result.platform, result.plugin) == ("sichuan-platform", "sichuan")
    assert (result.pages, result.added, result.quarantined, result.finished) == (2, 4, 1, True)
    assert feed.asked("/sichuan") == [None, "tok-2"] and feed.asked("/feed") == []
    assert all(query["pageSize"] == "2" for query in feed.requests)
    cases = stored(database)
    case = cases["SC-1"]
    assert (case.status, case.channel, case.county, case.phone, case.id_number) == (
        "received",
        "sichuan-platform",
        "510104",
        PHONE,
        ID_NUMBER,
    )
    assert case.received_at is not None and case.received_at.isoformat().startswith(
        "2026-10-12T01:30:15"
    )
    kept = cursor_row(database, "sichuan-platform")
    assert kept is not None and kept.cursor == "tok-2"


def test_a_sichuan_error_code_fails_the_pull_without_its_message(
    database: Database, feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHELUN_SICHUAN_PLATFORM_URL", f"{feed.url}/sichuan")
    feed.pages[None] = ([sichuan_item("SC-1")], None)
    feed.fail(None, "code")
    with pytest.raises(PlatformError) as failed:
        pull(service_for(database, "51"))
    message = str(failed.value)
    assert "'sichuan-platform', page 1 of this pull (from the start" in message
    assert "platform answered code 5" in message and quotes_nothing_personal(message)
    assert "nothing of this pull is stored" in message
    assert stored(database) == {}


def test_grievance_pull_on_the_command_line(
    database: Database, feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHELUN_DATABASE_URL", database.url)
    root = typer.Typer()
    group = command_group("Grievances.")
    register_pull(group)
    root.add_typer(group, name="grievance")
    runner = CliRunner()
    feed.pages[None] = ([grievance("CLI-1")], "c2")
    feed.pages["c2"] = ([grievance("CLI-2")], None)
    feed.fail("c2", "503")

    failed = runner.invoke(root, ["grievance", "pull", "--province", "51"])
    assert failed.exit_code == 1
    assert failed.output.startswith("error: platform 'platform', page 2 of this pull")
    assert "HTTP 503" in failed.output and "Traceback" not in failed.output
    assert quotes_nothing_personal(failed.output)
    assert stored(database)["CLI-1"].status == "routed"  # stored before the failure, routed

    done = runner.invoke(root, ["grievance", "pull", "-p", "sichuan", "--pages", "5"])
    assert done.exit_code == 0, done.output
    assert "1 page, 1 grievance read, 1 new (0 quarantined), 0 already stored; 1 routed" in (
        done.output
    )
    assert "caught up" in done.output
    assert {ref: case.status for ref, case in stored(database).items()} == {
        "CLI-1": "routed",
        "CLI-2": "routed",
    }
