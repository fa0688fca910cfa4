"""Submission to the insurer exactly once and status sync, against the simulated insurer: a real
HTTP server on 127.0.0.1 that misbehaves as the outside contract says a real one may."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from chelun import hookimpl
from chelun.calendar import BEIJING
from chelun.claims.insurer import (
    HttpInsurerClient,
    InsurerError,
    SubmitResult,
    canonical_body,
    fingerprint,
    idempotency_key,
    submit_pending,
    sync,
)
from chelun.claims.models import Evidence, PolicyPeriod, Product, Site, Submission
from chelun.claims.service import ClaimsService
from chelun.claims.settings import ClaimsSettings
from chelun.claims.simulator import InsurerSimulator
from chelun.plugin_manager import PluginHost, decide
from chelun.settings import Settings
from chelun.storage.db import Database
from chelun.storage.tables import Claim, Event

#: Personal data of the test claims: none of it may reach a message or an event.
ID_NUMBER = "62010219900101123X"
NAME = "马国强"
PHONE = "13909310001"
PERSONAL = (ID_NUMBER, NAME, PHONE)
PRODUCT = Product(
    code="test-night-cover",
    name="测试夜间保障",
    province="62",
    insurer="测试保险公司",
    sites=(
        Site(
            code="T-01",
            name="测试服务区",
            road="G30 连霍高速",
            county="620121",
            latitude=36.7,
            longitude=103.3,
        ),
    ),
    night_start=dt.time(22),
    night_end=dt.time(6),
    covered=("fuel", "cargo"),
    per_incident_limit=Decimal("5000.00"),
    per_driver_year_limit=Decimal("20000.00"),
    deductible=Decimal("200.00"),
    periods=(
        PolicyPeriod(policy_no="TP-2026", start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31)),
    ),
    evidence=Evidence(),
)
#: The faults of the contract, as the simulator plays them.
FAULTS = ("slow", "reset", 500, (429, "1"), "lost", "500-after-create")


class SchemePlugin:
    """A scheme for province 62 as a plugin; with ``url``, it also offers the insurer's client."""

    PROVINCES = ("62",)

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self.clients: list[HttpInsurerClient] = []

    @hookimpl
    def chelun_claim_products(self, province: str) -> list[Product]:
        return [PRODUCT]

    @hookimpl
    def chelun_insurer_client(self, province: str, product: Product) -> HttpInsurerClient | None:
        if self.url is None or product.code != PRODUCT.code:
            return None
        client = HttpInsurerClient(self.url, timeout=5, sleep=lambda seconds: None)
        self.clients.append(client)
        return client


def make_service(
    database: Database, plugin: object | None = None, *, stale_minutes: int = 10
) -> ClaimsService:
    """A service for 62 served by the test scheme alone (the installed Gansu plugin left out)."""
    host = PluginHost(
        Settings(block_plugins="gansu"), extra=[("test-scheme", plugin or SchemePlugin())]
    )
    return ClaimsService(
        database,
        host.manager("62"),
        "62",
        actor="user:test",
        settings=ClaimsSettings(claims_stale_minutes=stale_minutes),
    )


def add_claim(database: Database, ref: str, **values: Any) -> None:
    """An assessed claim, as the processing run leaves it."""
    moment = dt.datetime(2026, 3, 10, 23, 30, tzinfo=BEIJING)
    row = {
        "province": "62",
        "ref": ref,
        "product": PRODUCT.code,
        "id_number": ID_NUMBER,
        "name": NAME,
        "phone": PHONE,
        "incident_time": moment,
        "night_of": moment.date(),
        "site": "T-01",
        "site_given": "测试服务区",
        "loss_type": "fuel",
        "amount_claimed": Decimal("1200.00"),
        "police_report_no": "甘公(永)警受字2026-001",
        "photos": 2,
        "status": "assessed",
        "policy_no": "TP-2026",
        "amount_payable": Decimal("1000.00"),
        "appeals": 0,
        "reported_at": dt.datetime.now(dt.UTC),
        "updated_at": dt.datetime.now(dt.UTC),
    }
    row.update(values)
    with database.connect() as connection:
        connection.execute(insert(Claim), [row])


def stored(database: Database, ref: str) -> Claim:
    with database.sessions() as session:
        return session.scalars(select(Claim).where(Claim.ref == ref)).one()


def set_claim(database: Database, ref: str, **values: Any) -> None:
    with database.connect() as connection:
        connection.execute(update(Claim).where(Claim.ref == ref).values(**values))


def claim_events(database: Database, kind: str | None = None) -> list[Event]:
    query = select(Event).where(Event.entity == "claim").order_by(Event.id)
    if kind:
        query = query.where(Event.kind == kind)
    with database.sessions() as session:
        return list(session.scalars(query))


def assert_no_personal_data(database: Database, *texts: object) -> None:
    with database.sessions() as session:
        written = [
            f"{event.reason} {json.dumps(event.data, ensure_ascii=False)}"
            for event in session.scalars(select(Event))
        ]
    for text in [*written, *(str(text) for text in texts)]:
        for value in PERSONAL:
            assert value not in text


@pytest.fixture
def sim() -> Iterator[InsurerSimulator]:
    with InsurerSimulator(slow_seconds=30) as simulator:
        yield simulator


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def client(sim: InsurerSimulator, waits: list[float]) -> Iterator[HttpInsurerClient]:
    with HttpInsurerClient(sim.url, timeout=0.25, sleep=waits.append) as http:
        yield http


# --- exactly once -----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", FAULTS, ids=str)
def test_after_each_fault_the_claim_is_at_the_insurer_once_and_submitted_here(
    database: Database,
    sim: InsurerSimulator,
    client: HttpInsurerClient,
    fault: object,
) -> None:
    add_claim(database, "GS-1")
    service = make_service(database)
    sim.fail(fault)
    result = submit_pending(service, client=client)
    assert result == SubmitResult(submitted=1)
    assert sim.count("GS-1") == 1
    [at_insurer] = sim.claims
    claim = stored(database, "GS-1")
    assert claim.status == "submitted"
    assert claim.insurer_claim_id == at_insurer.insurer_claim_id
    assert claim.insurer_status == "received"
    assert claim.submitted_at is not None and claim.sending_at is None
    # The fault cost a retry: the same key and the very same bytes both times.
    posts = sim.posts()
    assert len(posts) == 2 and posts[0].fault == fault
    assert {post.key for post in posts} == {claim.idempotency_key}
    assert {post.body for post in posts} == {claim.payload.encode("utf-8")}
    assert claim.fingerprint == fingerprint(posts[0].body)
    [event] = claim_events(database, "submitted")
    assert event.entity_key == "62:GS-1"
    assert event.data["insurer_claim_id"] == at_insurer.insurer_claim_id
    assert event.data["fingerprint"] == claim.fingerprint
    assert "payload" not in event.data
    # A second run has nothing to send.
    assert submit_pending(service, client=client) == SubmitResult()
    assert len(sim.posts()) == 2 and sim.count("GS-1") == 1
    assert_no_personal_data(database)


def test_the_body_is_the_contracts_canonical_json(
    sqlite_database: Database, sim: InsurerSimulator, client: HttpInsurerClient
) -> None:
    add_claim(sqlite_database, "GS-1", amount_claimed=Decimal("980.5"))
    submit_pending(make_service(sqlite_database), client=client)
    [post] = sim.posts()
    assert json.loads(post.body) == {
        "claim_ref": "GS-1",
        "policy_no": "TP-2026",
        "id_number": ID_NUMBER,
        "incident_time": "2026-03-10T23:30:00+08:00",
        "site_code": "T-01",
        "loss_type": "fuel",
        "amount_claimed": "980.50",
        "police_report_no": "甘公(永)警受字2026-001",
    }
    assert post.body == canonical_body(Submission.model_validate_json(post.body))
    assert "甘公".encode() in post.body  # UTF-8, not \\u escapes
    assert post.key == idempotency_key("62", "GS-1", 0) == "chelun-62-GS-1-0"


def test_retry_after_in_seconds_is_honoured(
    sim: InsurerSimulator, client: HttpInsurerClient, waits: list[float]
) -> None:
    sim.fail((429, "7"), (503, "3"))
    client.submit(_submission(), "k-1")
    assert waits == [7.0, 3.0]
    assert sim.count("GS-1") == 1


def test_retry_after_as_a_date_is_honoured_up_to_the_cap(
    sim: InsurerSimulator, waits: list[float]
) -> None:
    later = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), True)
    sim.fail((429, later))
    with HttpInsurerClient(sim.url, max_wait=12, sleep=waits.append) as http:
        http.submit(_submission(), "k-1")
    assert waits == [12.0]


def test_backoff_doubles_with_jitter_and_gives_up_after_the_attempts(
    sim: InsurerSimulator, waits: list[float]
) -> None:
    sim.fail(500, 502, 503, 504)
    with HttpInsurerClient(sim.url, backoff=1.0, sleep=waits.append) as http:
        with pytest.raises(InsurerError) as failed:
            http.submit(_submission(), "k-1")
    assert failed.value.transient and failed.value.status == 504
    assert str(failed.value) == "POST /v1/claims: HTTP 504 (4 attempts)"
    assert len(waits) == 3
    for wait, ceiling in zip(waits, (1.0, 2.0, 4.0), strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert len(sim.posts()) == 4 and sim.claims == []


def test_a_refusal_is_not_retried(sim: InsurerSimulator, waits: list[float]) -> None:
    sim.fail(400)
    with HttpInsurerClient(sim.url, sleep=waits.append) as http:
        with pytest.raises(InsurerError) as failed:
            http.submit(_submission(), "k-1")
    assert not failed.value.transient and failed.value.status == 400
    assert waits == [] and len(sim.posts()) == 1


def test_the_bearer_token_is_sent(waits: list[float]) -> None:
    with InsurerSimulator(token="s3cret") as sim:
        with HttpInsurerClient(sim.url, sleep=waits.append) as anonymous:
            with pytest.raises(InsurerError) as failed:
                anonymous.submit(_submission(), "k-1")
        assert failed.value.status == 401 and not failed.value.transient
        assert "token" in str(failed.value)
        with HttpInsurerClient(sim.url, token="s3cret", sleep=waits.append) as http:
            answer = http.submit(_submission(), "k-1")
            assert http.status(answer.insurer_claim_id).claim_ref == "GS-1"
    assert sim.count("GS-1") == 1


class _NotJson(BaseHTTPRequestHandler):
    """A proxy that mangles every answer: 200 with an HTML page."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        page = b"<html>gateway</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_an_answer_that_is_not_json_is_transient(waits: list[float]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotJson)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        with HttpInsurerClient(url, attempts=2, sleep=waits.append) as http:
            with pytest.raises(InsurerError) as failed:
                http.submit(_submission(), "k-1")
    finally:
        server.shutdown()
        server.server_close()
    assert failed.value.transient and len(waits) == 1
    assert "not JSON" in str(failed.value)


def test_a_changed_body_under_the_same_key_is_reported_not_retried(
    database: Database, sim: InsurerSimulator, client: HttpInsurerClient
) -> None:
    add_claim(database, "GS-1")
    service = make_service(database)
    # The insurer already holds another body under the key this claim will use (a database
    # restored from an older backup, say).
    key = idempotency_key("62", "GS-1", 0)
    client.submit(_submission(amount_claimed="1.00"), key)
    before = len(sim.posts())
    result = submit_pending(service, client=client)
    assert (result.submitted, result.failed, result.waiting) == (0, 1, 0)
    assert len(sim.posts()) == before + 1  # asked once, not retried
    assert sim.count("GS-1") == 1
    claim = stored(database, "GS-1")
    assert claim.status == "assessed" and claim.idempotency_key == key
    assert claim.sending_at is None
    [event] = claim_events(database, "submit_failed")
    assert event.data["status_code"] == 422
    assert "another body under this idempotency key" in event.reason
    assert "422" in result.problems[0]
    assert_no_personal_data(database, *result.problems)


def test_a_transient_failure_releases_the_claim_and_the_next_run_resends_it(
    database: Database, sim: InsurerSimulator, client: HttpInsurerClient
) -> None:
    add_claim(database, "GS-1")
    add_claim(database, "GS-2")
    service = make_service(database)
    sim.fail("lost", "reset", 500, "slow")  # the first claim reaches the insurer; no answer does
    result = submit_pending(service, client=client)
    # The insurer looks down: the run stops asking it, the second claim waits.
    assert (result.submitted, result.failed, result.waiting) == (0, 1, 1)
    assert sim.count("GS-1") == 1 and sim.count("GS-2") == 0
    first = stored(database, "GS-1")
    assert first.status == "assessed" and first.sending_at is None
    assert first.idempotency_key and first.payload and first.fingerprint
    assert claim_events(database, "submit_failed") == []  # transient: no event
    result = submit_pending(service, client=client)
    assert (result.submitted, result.resent, result.failed) == (2, 1, 0)
    assert sim.counts() == {"GS-1": 1, "GS-2": 1}
    again = stored(database, "GS-1")
    assert again.status == "submitted" and again.idempotency_key == first.idempotency_key
    assert {post.body for post in sim.posts() if post.key == first.idempotency_key} == {
        first.payload.encode("utf-8")
    }
    assert_no_personal_data(database, *result.problems)


def test_a_claim_another_run_is_sending_waits_until_that_run_looks_dead(
    database: Database, sim: InsurerSimulator, client: HttpInsurerClient
) -> None:
    add_claim(database, "GS-1")
    service = make_service(database, stale_minutes=10)
    sim.fail("lost", "lost", "lost", "lost")
    submit_pending(service, client=client)
    sent = len(sim.posts())
    taken = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=9)
    set_claim(database, "GS-1", sending_at=taken)
    assert submit_pending(service, client=client) == SubmitResult()
    assert len(sim.posts()) == sent and stored(database, "GS-1").status == "assessed"
    set_claim(database, "GS-1", sending_at=taken - dt.timedelta(minutes=2))
    result = submit_pending(service, client=client)
    assert (result.submitted, result.resent) == (1, 1)
    assert sim.count("GS-1") == 1


def test_data_changed_after_the_body_was_stored_sends_the_stored_body_and_says_so(
    sqlite_database: Database, sim: InsurerSimulator, client: HttpInsurerClient
) -> None:
    add_claim(sqlite_database, "GS-1")
    service = make_service(sqlite_database)
    sim.fail("500-after-create", 500, 500, 500)
    submit_pending(service, client=client)
    first = stored(sqlite_database, "GS-1")
    set_claim(sqlite_database, "GS-1", police_report_no="甘公(永)警受字2026-999")
    result = submit_pending(service, client=client)
    assert (result.submitted, result.resent, result.changed) == (1, 1, 1)
    assert sim.posts()[-1].body == first.payload.encode("utf-8")
    assert sim.count("GS-1") == 1
    [event] = claim_events(sqlite_database, "submitted")
    assert event.data["changed"] is True and "changed" in event.reason
    assert stored(sqlite_database, "GS-1").payload == first.payload


def test_a_stored_body_that_does_not_match_its_fingerprint_is_not_sent(
    sqlite_database: Database, sim: InsurerSimulator, client: HttpInsurerClient
) -> None:
    add_claim(sqlite_database, "GS-1")
    service = make_service(sqlite_database)
    sim.fail(500, 500, 500, 500)
    submit_pending(service, client=client)
    payload = stored(sqlite_database, "GS-1").payload.replace("1200.00", "9200.00")
    set_claim(sqlite_database, "GS-1", payload=payload)
    sent = len(sim.posts())
    result = submit_pending(service, client=client)
    assert (result.submitted, result.failed) == (0, 1)
    assert len(sim.posts()) == sent
    [event] = claim_events(sqlite_database, "submit_failed")
    assert "fingerprint" in event.reason


def test_an_appealed_claim_is_sent_again_under_a_new_key(
    sqlite_database: Database, sim: InsurerSimulator, client: HttpInsurerClient
) -> None:
    add_claim(sqlite_database, "GS-1")
    service = make_service(sqlite_database)
    submit_pending(service, client=client)
    first = stored(sqlite_database, "GS-1")
    # Rejected by the insurer, appealed, checked and assessed again.
    set_claim(sqlite_database, "GS-1", status="assessed", appeals=1)
    result = submit_pending(service, client=client)
    assert result.submitted == 1 and result.resent == 0
    second = stored(sqlite_database, "GS-1")
    assert second.idempotency_key == "chelun-62-GS-1-1" != first.idempotency_key
    assert second.insurer_claim_id != first.insurer_claim_id
    assert sim.count("GS-1") == 2  # one claim at the insurer per submission


def test_keys_are_unique_and_fit_their_column() -> None:
    refs = ["GS-1", "GS-1-0", "GS", "甘-1", "a b", "x" * 100, "x" * 99, "-x", "GS--1"]
    keys = {idempotency_key("62", ref, appeals) for ref in refs for appeals in (0, 1, 10)}
    assert len(keys) == len(refs) * 3
    assert all(len(key) <= 80 and key.isascii() and key.isprintable() for key in keys)


def test_two_runs_at_once_send_each_claim_once(database: Database, sim: InsurerSimulator) -> None:
    refs = [f"GS-{n}" for n in range(20)]
    for ref in refs:
        add_claim(database, ref)
    results: list[SubmitResult] = []

    def run() -> None:
        with HttpInsurerClient(sim.url, timeout=5) as http:
            results.append(submit_pending(make_service(database), client=http))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(result.submitted for result in results) == 20
    assert sim.counts() == dict.fromkeys(refs, 1)
    assert len(sim.posts()) == 20  # no claim was sent by two runs
    assert len(claim_events(database, "submitted")) == 20


def test_claims_of_a_product_without_an_insurer_client_wait(
    sqlite_database: Database, sim: InsurerSimulator
) -> None:
    add_claim(sqlite_database, "GS-1")
    result = submit_pending(make_service(sqlite_database))
    assert result == SubmitResult(waiting=1)
    assert sim.posts() == [] and stored(sqlite_database, "GS-1").idempotency_key is None


def test_the_plugins_client_is_used_and_closed(
    sqlite_database: Database, sim: InsurerSimulator
) -> None:
    add_claim(sqlite_database, "GS-1")
    scheme = SchemePlugin(sim.url)
    result = submit_pending(make_service(sqlite_database, scheme))
    assert result.submitted == 1 and sim.count("GS-1") == 1
    [used] = scheme.clients
    assert used._http.is_closed


def test_a_claim_missing_what_the_insurer_needs_is_kept_with_an_event(
    sqlite_database: Database, sim: InsurerSimulator, client: HttpInsurerClient
) -> None:
    add_claim(sqlite_database, "GS-1", policy_no=None)
    add_claim(sqlite_database, "GS-2")
    result = submit_pending(make_service(sqlite_database), client=client)
    assert (result.submitted, result.failed) == (1, 1)
    assert stored(sqlite_database, "GS-1").status == "assessed"
    [event] = claim_events(sqlite_database, "submit_failed")
    assert event.entity_key == "62:GS-1" and "policy_no" in event.reason
    assert sim.counts() == {"GS-2": 1}


# --- status sync ------------------------------------------------------------------------------


def test_sync_brings_the_insurers_decisions_and_payments_back(
    database: Database, sim: InsurerSimulator, client: HttpInsurerClient
) -> None:
    for ref in ("A", "R", "P", "W"):
        add_claim(database, ref)
    service = make_service(database)
    submit_pending(service, client=client)
    ids = {claim.claim_ref: claim.insurer_claim_id for claim in sim.claims}
    sim.set_status(ids["A"], "approved", amount_approved="1000.00")
    sim.set_status(ids["R"], "rejected", reason_code="NOT_AT_NIGHT")
    sim.set_status(ids["P"], "paid", amount_approved="1000.00", payment_ref="PAY-77")
    result = sync(service, client=client)
    assert (result.asked, result.approved, result.rejected, result.paid) == (4, 1, 1, 1)
    assert (result.unchanged, result.failed) == (1, 0)
    approved = stored(database, "A")
    assert approved.status == "approved" and approved.amount_approved == Decimal("1000.00")
    assert approved.decided_at is not None and approved.amount_paid is None
    rejected = stored(database, "R")
    assert (rejected.status, rejected.reason_code, rejected.reason) == (
        "rejected",
        "insurer_rejected",
        "NOT_AT_NIGHT",
    )
    paid = stored(database, "P")  # straight from submitted to paid
    assert paid.status == "paid" and paid.payment_ref == "PAY-77"
    assert paid.amount_approved == paid.amount_paid == Decimal("1000.00")
    assert paid.decided_at is not None and paid.paid_at is not None
    assert stored(database, "W").status == "submitted"
    kinds = [(event.entity_key, event.kind) for event in claim_events(database)]
    assert kinds[4:] == [
        ("62:A", "approved"),
        ("62:R", "rejected"),
        ("62:P", "approved"),
        ("62:P", "paid"),
    ]
    # The insurer pays the approved claim; the others are asked again, decided ones are not.
    sim.decide_all(pay=True)
    result = sync(service, client=client)
    assert (result.asked, result.paid, result.unchanged) == (2, 2, 0)
    assert stored(database, "A").payment_ref.startswith("PAY-")
    assert sync(service, client=client).asked == 0
    assert_no_personal_data(database)


def test_sync_leaves_a_claim_alone_when_the_answer_breaks_the_contract(
    sqlite_database: Database, sim: InsurerSimulator, client: HttpInsurerClient
) -> None:
    add_claim(sqlite_database, "GS-1")
    service = make_service(sqlite_database)
    submit_pending(service, client=client)
    [held] = sim.claims
    sim.set_status(held.insurer_claim_id, "paid", amount_approved="1000.00")  # no payment ref
    result = sync(service, client=client)
    assert (result.asked, result.failed, result.paid) == (1, 1, 0)
    assert "payment reference" in result.problems[0]
    assert stored(sqlite_database, "GS-1").status == "submitted"


def test_sync_stops_asking_an_insurer_that_is_down(
    database: Database, sim: InsurerSimulator, client: HttpInsurerClient
) -> None:
    add_claim(database, "GS-1")
    add_claim(database, "GS-2")
    service = make_service(database)
    submit_pending(service, client=client)
    sim.fail("reset", "reset", "reset", "reset")
    result = sync(service, client=client)
    assert (result.asked, result.failed) == (1, 1)
    assert "ReadError" in result.problems[0] or "RemoteProtocolError" in result.problems[0]
    sim.decide_all(pay=False)
    assert sync(service, client=client).approved == 2


# --- Gansu's client ---------------------------------------------------------------------------


def test_gansu_offers_its_insurer_client_when_the_url_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chelun.plugins.gansu import insurer as gansu_insurer

    gansu = PRODUCT.model_copy(update={"code": gansu_insurer.PRODUCT})
    host = PluginHost(Settings(block_plugins="gansu"), extra=[("gansu-insurer", gansu_insurer)])
    pm = host.manager("62")
    monkeypatch.delenv("CHELUN_GANSU_INSURER_URL", raising=False)
    assert decide(pm, "chelun_insurer_client", province="62", product=gansu) is None
    with InsurerSimulator(token="t0ken") as sim:
        monkeypatch.setenv("CHELUN_GANSU_INSURER_URL", sim.url)
        monkeypatch.setenv("CHELUN_GANSU_INSURER_TOKEN", "t0ken")
        monkeypatch.setenv("CHELUN_GANSU_INSURER_TIMEOUT", "3")
        assert decide(pm, "chelun_insurer_client", province="62", product=PRODUCT) is None
        decision = decide(pm, "chelun_insurer_client", province="62", product=gansu)
        assert decision is not None and decision.plugin == "gansu-insurer"
        with decision.value as http:
            assert isinstance(http, HttpInsurerClient)
            assert http._http.timeout.read == 3
            http.submit(_submission(), "k-1")  # the simulator answers 401 without the token
        assert sim.count("GS-1") == 1


def _submission(**values: str) -> Submission:
    fields = {
        "claim_ref": "GS-1",
        "policy_no": "TP-2026",
        "id_number": ID_NUMBER,
        "incident_time": "2026-03-10T23:30:00+08:00",
        "site_code": "T-01",
        "loss_type": "fuel",
        "amount_claimed": "1200.00",
        "police_report_no": "甘公(永)警受字2026-001",
        **values,
    }
    return Submission(**fields)


# --- the simulator as a process ---------------------------------------------------------------


def _start_simulator(state: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "chelun.claims.simulator", "--port", "0", "--state", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=30)
    assert process.stdout is not None
    process.stdout.close()


def test_the_simulator_runs_as_a_process_and_keeps_its_claims_across_restarts(
    tmp_path: Path,
) -> None:
    import httpx

    state = tmp_path / "insurer.json"
    process, url = _start_simulator(state)
    try:
        assert url.startswith("http://127.0.0.1:")
        with HttpInsurerClient(url) as http:
            first = http.submit(_submission(), "k-1")
        httpx.post(f"{url}/_sim/decide").raise_for_status()
    finally:
        _stop(process)
    assert process.returncode == 0
    assert state.stat().st_mode & 0o077 == 0  # it holds ID numbers: the owner's alone
    process, url = _start_simulator(state)
    try:
        with HttpInsurerClient(url) as http:
            assert http.submit(_submission(), "k-1") == first  # the key is remembered
            assert http.status(first.insurer_claim_id).status == "paid"
        [held] = httpx.get(f"{url}/_sim/claims").json()
        assert held["claim_ref"] == "GS-1" and "body" not in held
    finally:
        _stop(process)
