"""Notices of grievance events: replies to drivers and word to the conference that now handles a
grievance, delivered through ``chelun_grievance_deliveries`` over HTTP, retried, never twice.

The ``notification`` table is the outbox and the record: one row per event and recipient (a
unique constraint), created by ``enqueue`` and moved by ``send_pending`` from ``pending`` to
``sending`` (claimed) to ``sent``, ``failed`` or ``unsent``. No event is written for a notice:
the grievance's history stays the history of the grievance.

- A claim is a conditional UPDATE (pending to sending, with the time claimed) committed before
  anything is sent, so a second sender at the same time never takes the same notice: on
  PostgreSQL the claiming transaction selects the rows ``FOR UPDATE SKIP LOCKED``, on SQLite a
  writing transaction is exclusive already (``BEGIN IMMEDIATE``). Every later change of the row
  is conditional on that claim (status ``sending`` and the same ``claimed_at``).
- A sender renews its claim at least once a minute while it works through a batch. A notice
  left ``sending`` for ``STALE_AFTER`` (ten minutes, more when the HTTP timeout is long) belongs
  to a sender that died: the next run takes it again and posts it with the same
  ``Idempotency-Key``, so a receiver that got it before the sender died can drop the repeat.
  That is the one case where a receiver may see a notice twice; a notice ``sent`` is never sent
  again.
- A transient failure (timeout, connection error, HTTP 5xx or 429) is retried in the same run a
  few times with a short backoff, then left ``pending`` for the next run; every try counts as an
  attempt, and at ``CHELUN_GRIEVANCE_NOTIFY_ATTEMPTS`` the notice is ``failed``. Any other
  answer (a 4xx but 429, a redirect) fails it at once. ``last_error`` is ``HTTP <status>`` or an
  exception's class, never a body.

SQLAlchemy, httpx and the models are imported inside the functions that use them, so that
``chelun --help`` (which registers the commands below) imports none of them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chelun.commands import (
    ProvinceOption,
    err,
    fail,
    friendly,
    load_settings,
    open_db,
    out,
    province_code,
    warn,
)

if TYPE_CHECKING:
    import httpx
    import pluggy

    from chelun.grievance.models import Delivery, Notice
    from chelun.grievance.settings import GrievanceSettings
    from chelun.storage.db import Database

HOOK = "chelun_grievance_deliveries"
CORE = "chelun.grievance.defaults"
#: The events that owe a notice, per recipient.
OWED: dict[str, tuple[str, ...]] = {
    "driver": ("routed", "escalated", "resolved", "reopened", "rejected", "merged"),
    "handler": ("escalated",),
}
#: Notices claimed, and passed to the hook, at a time.
BATCH = 100
#: Tries of one notice in one run; after them a transient failure waits for the next run.
RUN_TRIES = 3
#: Seconds before the second try of a run, doubled before each further one.
BACKOFF_SECONDS = 0.5
#: How often a sender renews its claim on the notices of the batch it works through.
RENEW_EVERY = dt.timedelta(minutes=1)
#: A notice ``sending`` for longer was claimed by a sender that died (see ``stale_after``).
STALE_AFTER = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class NotifyResult:
    """What one ``send_pending`` run did with the notices it claimed."""

    sent: int = 0
    failed: int = 0
    unsent: int = 0
    retried_later: int = 0


# --- what is owed -------------------------------------------------------------------------------


def enqueue(database: Database, province: str) -> int:
    """Create the notices owed for the province's grievance events and not created yet; how many.

    One INSERT ... SELECT per recipient, in the database: the events of the kinds that owe a
    notice, without a notification row for that recipient (an anti-join on the unique
    ``(event_id, recipient)``). ``ON CONFLICT DO NOTHING`` makes two runs at once create each
    row once. Rows are created in the order of the events, so a driver hears of the routing
    before the resolution.
    """
    from sqlalchemy import and_, literal, select

    from chelun.grievance.service import ENTITY
    from chelun.storage.events import now
    from chelun.storage.tables import Event, Notification
    from chelun.storage.types import UtcDateTime

    created = 0
    at = now()
    with database.connect() as connection:
        for recipient, kinds in OWED.items():
            owed = (
                select(
                    Event.province,
                    Event.id,
                    literal(recipient),
                    literal("pending"),
                    literal(0),
                    literal(at, UtcDateTime()),
                )
                .select_from(Event)
                .outerjoin(
                    Notification,
                    and_(Notification.event_id == Event.id, Notification.recipient == recipient),
                )
                .where(
                    Event.entity == ENTITY,
                    Event.province == province,
                    Event.kind.in_(kinds),
                    Notification.id.is_(None),
                )
                .order_by(Event.id)
            )
            statement = (
                database.insert(Notification)
                .from_select(
                    ["province", "event_id", "recipient", "status", "attempts", "created_at"],
                    owed,
                )
                .on_conflict_do_nothing(index_elements=["event_id", "recipient"])
                # psycopg's count of an INSERT is gone once SQLAlchemy closes its cursor.
                .execution_options(preserve_rowcount=True)
            )
            created += connection.execute(statement).rowcount
    return created


def message_for(
    kind: str,
    recipient: str,
    ref: str,
    data: dict[str, Any],
    *,
    unit: str | None = None,
    merged_into: str | None = None,
) -> str:
    """Core's words for a notice: what happened to grievance ``ref`` and what comes next, with
    the dates of the event's data. Never the grievance's text nor anything about the driver: a
    delivery may post it to a group chat as it is."""
    resolve_due = _day(data.get("resolve_due"))
    until = f"，办结时限至 {resolve_due}" if resolve_due else ""
    where = unit or "相关联席会议"
    if recipient == "handler":
        from chelun.grievance.routing import unit_name

        level, area = data.get("from_level"), data.get("from_area")
        before = unit_name(level, area) if level and area else "下级联席会议"
        ack_due = _day(data.get("ack_due"))
        asks = [f"{ack_due} 前受理"] if ack_due else []
        asks += [f"{resolve_due} 前办结"] if resolve_due else []
        please = f"，请于 {'、'.join(asks)}" if asks else ""
        return f"诉求 {ref} 在{before}逾期未办，已提级至{where}办理{please}。"
    if kind == "routed":
        return f"您的诉求 {ref} 已转交{where}办理{until}。"
    if kind == "escalated":
        return f"您的诉求 {ref} 已提级至{where}办理{until}。"
    if kind == "resolved":
        return f"您的诉求 {ref} 已办结，请对办理结果作出评价（满意或不满意）。"
    if kind == "reopened":
        return f"您的诉求 {ref} 已重新办理{until}。"
    if kind == "rejected":
        return f"您的诉求 {ref} 经审核不予受理。"
    if kind == "merged":
        into = f"诉求 {merged_into}" if merged_into else "同类诉求"
        return f"您的诉求 {ref} 已与{into}合并办理。"
    return f"您的诉求 {ref} 有新的办理进展。"


def _day(value: object) -> str | None:
    """An ISO date of an event's data, as written (a day, never anything else)."""
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


# --- core's deliveries --------------------------------------------------------------------------


def default_deliveries(province: str, notices: list[Notice]) -> list[Delivery | None]:
    """Core's deliveries: replies to drivers to ``CHELUN_GRIEVANCE_REPLY_URL``, notices to a
    conference to ``CHELUN_GRIEVANCE_HANDLER_URL``; None where that setting is unset."""
    from chelun.grievance.models import Delivery
    from chelun.grievance.settings import GrievanceSettings

    settings = GrievanceSettings()
    deliveries: list[Delivery | None] = []
    for notice in notices:
        payload: dict[str, Any] = {
            "ref": notice.ref,
            "kind": notice.kind,
            "message": notice.message,
            "event_id": notice.event_id,
        }
        if notice.recipient == "driver":
            url, channel = settings.grievance_reply_url, "reply-url"
        else:
            url, channel = settings.grievance_handler_url, "handler-url"
            payload.update(level=notice.level, area=notice.area, unit=notice.unit)
        deliveries.append(
            Delivery(channel=channel, url=url, payload=payload) if url is not None else None
        )
    return deliveries


# --- sending ------------------------------------------------------------------------------------


def stale_after(settings: GrievanceSettings) -> dt.timedelta:
    """How long a notice stays ``sending`` before another run takes it again: ten minutes, or
    longer than a live sender can take between two renewals of its claim (a minute, then one
    request: up to four timeouts, to connect, write, read and wait for a pooled connection)."""
    return max(STALE_AFTER, RENEW_EVERY + dt.timedelta(seconds=4 * settings.http_timeout))


@dataclass
class _Claim:
    """The notices of one batch a sender holds, and the claim's time (its token)."""

    token: dt.datetime
    held: set[int] = field(default_factory=set)
    #: The last id the claim looked at: the next batch starts after it.
    last: int = 0


@dataclass(frozen=True)
class _Owed:
    """One claimed notice: its row, what is sent and how."""

    id: int
    recipient: str
    attempts: int
    notice: Notice
    delivery: Delivery | None


def send_pending(
    database: Database,
    pm: pluggy.PluginManager,
    province: str,
    *,
    settings: GrievanceSettings | None = None,
    client: httpx.Client | None = None,
    limit: int | None = None,
) -> NotifyResult:
    """Send the province's pending notices (and those a dead sender left ``sending``), in
    batches of ``BATCH``; at most ``limit`` of them. See the module's notes for the guarantees.

    Each batch is claimed, turned into ``Notice`` models (with the driver's branch, else the
    relaying member's), given to ``chelun_grievance_deliveries`` and posted one by one, each
    with the header ``Idempotency-Key: grievance-<event_id>-<recipient>``. A run passes each
    notice once (the batches follow the notices' ids), so it ends however the receivers answer.
    """
    import httpx

    from chelun.grievance.settings import GrievanceSettings

    settings = settings or GrievanceSettings()
    counts = {"sent": 0, "failed": 0, "unsent": 0, "retried_later": 0}
    own = client is None
    http = client if client is not None else httpx.Client(timeout=settings.http_timeout)
    after = taken = 0
    try:
        while limit is None or taken < limit:
            size = BATCH if limit is None else min(BATCH, limit - taken)
            claim = _claim(database, province, after, size, stale_after(settings))
            if not claim.last:
                break
            after = claim.last
            taken += len(claim.held)
            try:
                owed = _owed(database, pm, province, sorted(claim.held))
                for outcome in _deliver(database, claim, owed, settings, http):
                    counts[outcome] += 1
            except BaseException:
                _release(database, claim)
                raise
    finally:
        if own:
            http.close()
    return NotifyResult(**counts)


def _claim(database: Database, province: str, after: int, size: int, stale: dt.timedelta) -> _Claim:
    """Claim the next ``size`` notices after id ``after``: pending ones, and those left
    ``sending`` for longer than ``stale``. Committed before anything is sent."""
    from sqlalchemy import and_, or_, select, update

    from chelun.storage.events import now
    from chelun.storage.tables import Notification

    token = now()
    claimable = or_(
        Notification.status == "pending",
        and_(Notification.status == "sending", Notification.claimed_at < token - stale),
    )
    with database.connect() as connection:
        # FOR UPDATE SKIP LOCKED on PostgreSQL: a sender claiming at the same time passes these
        # rows by. SQLite has no such clause (SQLAlchemy leaves it out): its writer is alone.
        ids = list(
            connection.scalars(
                select(Notification.id)
                .where(Notification.province == province, Notification.id > after, claimable)
                .order_by(Notification.id)
                .limit(size)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return _Claim(token)
        held = connection.scalars(
            update(Notification)
            .where(Notification.id.in_(ids), claimable)
            .values(status="sending", claimed_at=token)
            .returning(Notification.id)
        )
        return _Claim(token, set(held), max(ids))


def _renew(database: Database, claim: _Claim) -> None:
    """Renew the claim on the notices still held: a live sender never looks dead. A notice
    another run took meanwhile (this one looked dead) is no longer held, and not sent."""
    from sqlalchemy import update

    from chelun.storage.events import now
    from chelun.storage.tables import Notification

    token = now()
    with database.connect() as connection:
        held = connection.scalars(
            update(Notification)
            .where(
                Notification.id.in_(claim.held),
                Notification.status == "sending",
                Notification.claimed_at == claim.token,
            )
            .values(claimed_at=token)
            .returning(Notification.id)
        )
        claim.held = set(held)
    claim.token = token


def _settle(database: Database, claim: _Claim, notice_id: int, **values: Any) -> bool:
    """Change a held notice (an attempt's outcome), conditional on the claim; False when the
    notice is no longer held (another run took it, thinking this one dead)."""
    from sqlalchemy import update

    from chelun.storage.tables import Notification

    with database.connect() as connection:
        done = connection.execute(
            update(Notification)
            .where(
                Notification.id == notice_id,
                Notification.status == "sending",
                Notification.claimed_at == claim.token,
            )
            .values(**values)
        ).rowcount
    if done != 1 or values.get("status", "sending") != "sending":
        claim.held.discard(notice_id)
    return done == 1


def _release(database: Database, claim: _Claim) -> None:
    """Put the notices still held back to ``pending`` (a run that stops early)."""
    from sqlalchemy import update

    from chelun.storage.tables import Notification

    if not claim.held:
        return
    with database.connect() as connection:
        connection.execute(
            update(Notification)
            .where(
                Notification.id.in_(claim.held),
                Notification.status == "sending",
                Notification.claimed_at == claim.token,
            )
            .values(status="pending")
        )
    claim.held.clear()


def _owed(
    database: Database, pm: pluggy.PluginManager, province: str, ids: list[int]
) -> list[_Owed]:
    """The claimed notices as ``Notice`` models, each with the delivery the hook decided."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import aliased

    from chelun.grievance.models import Notice
    from chelun.identity.codes import driver_code
    from chelun.storage.tables import Driver, Event, Grievance, Notification

    member = aliased(Driver)
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(
                Notification.id,
                Notification.recipient,
                Notification.attempts,
                Event.id.label("event_id"),
                Event.kind,
                Event.entity_key,
                Event.data,
            )
            .join(Event, Event.id == Notification.event_id)
            .where(Notification.id.in_(ids))
            .order_by(Notification.id)
        ).all()
        refs = {row.entity_key.partition(":")[2] for row in rows}
        cases = {
            case.ref: case
            for case in connection.execute(
                select(
                    Grievance.ref,
                    Grievance.channel,
                    Grievance.driver_id,
                    Grievance.level,
                    Grievance.area,
                    Grievance.unit,
                    Grievance.merged_into,
                    func.coalesce(Driver.branch, member.branch).label("branch"),
                )
                .outerjoin(Driver, Driver.id == Grievance.driver_id)
                .outerjoin(member, member.id == Grievance.relayed_by)
                .where(Grievance.province == province, Grievance.ref.in_(refs))
            )
        }
    notices = []
    for row in rows:
        ref = row.entity_key.partition(":")[2]
        case = cases.get(ref)
        data = row.data or {}
        if row.kind == "escalated":
            level, area, unit = data.get("to_level"), data.get("to_area"), data.get("unit")
            if level and area and not unit:
                from chelun.grievance.routing import unit_name

                unit = unit_name(level, area)
        elif row.kind == "routed":
            level, area, unit = data.get("level"), data.get("area"), data.get("unit")
        else:
            level = area = unit = None
        if level is None and case is not None:
            level, area, unit = case.level, case.area, case.unit
        notices.append(
            Notice(
                event_id=row.event_id,
                ref=ref,
                province=province,
                kind=row.kind,
                recipient=row.recipient,
                message=message_for(
                    row.kind,
                    row.recipient,
                    ref,
                    data,
                    unit=unit,
                    merged_into=case.merged_into if case is not None else None,
                ),
                channel=case.channel if case is not None else None,
                driver=driver_code(province, case.driver_id)
                if case is not None and case.driver_id is not None
                else None,
                branch=case.branch if case is not None else None,
                level=level,
                area=area,
                unit=unit,
            )
        )
    deliveries = _deliveries(pm, province, notices)
    return [
        _Owed(row.id, row.recipient, row.attempts, notice, delivery)
        for row, notice, delivery in zip(rows, notices, deliveries, strict=True)
    ]


def _deliveries(
    pm: pluggy.PluginManager, province: str, notices: list[Notice]
) -> list[Delivery | None]:
    """Each notice's delivery as the hook decides it; core's own for those a plugin left None."""
    from chelun.grievance.models import Delivery
    from chelun.plugin_manager import PluginError, decide

    decision = decide(pm, HOOK, province=province, notices=notices)
    if decision is None:
        return default_deliveries(province, notices)
    answers = list(decision.value)
    if len(answers) != len(notices):
        raise PluginError(
            decision.plugin, HOOK, f"returned {len(answers)} deliveries for {len(notices)} notices"
        )
    for answer in answers:
        if answer is not None and not isinstance(answer, Delivery):
            raise PluginError(
                decision.plugin, HOOK, f"returned a {type(answer).__name__}, not a Delivery"
            )
    if decision.plugin != CORE:
        left = [index for index, answer in enumerate(answers) if answer is None]
        if left:
            fallback = default_deliveries(province, [notices[index] for index in left])
            for index, delivery in zip(left, fallback, strict=True):
                answers[index] = delivery
    return answers


def _deliver(
    database: Database,
    claim: _Claim,
    owed: list[_Owed],
    settings: GrievanceSettings,
    http: httpx.Client,
) -> Iterator[str]:
    """Post each claimed notice, retrying transient failures a few times; yields each
    notice's outcome (sent, failed, unsent, retried_later). Each attempt is written as it ends."""
    from chelun.storage.events import now

    trying: list[_Owed] = []
    for item in owed:
        if item.delivery is None:
            if _settle(
                database,
                claim,
                item.id,
                status="unsent",
                last_error=f"no channel reaches the {item.recipient}",
            ):
                yield "unsent"
        else:
            trying.append(item)
    attempts = {item.id: item.attempts for item in trying}
    for round_ in range(RUN_TRIES):
        if round_ and trying:
            time.sleep(BACKOFF_SECONDS * 2 ** (round_ - 1))
        again = []
        for item in trying:
            if now() - claim.token >= RENEW_EVERY:
                _renew(database, claim)
            if item.id not in claim.held:
                continue
            assert item.delivery is not None
            error, transient = _post(http, item, settings)
            attempts[item.id] += 1
            values = {"attempts": attempts[item.id], "channel": item.delivery.channel}
            if error is None:
                if _settle(database, claim, item.id, status="sent", sent_at=now(), **values):
                    yield "sent"
            elif not transient or attempts[item.id] >= settings.grievance_notify_attempts:
                if _settle(database, claim, item.id, status="failed", last_error=error, **values):
                    yield "failed"
            elif _settle(database, claim, item.id, last_error=error, **values):
                again.append(item)
        trying = again
    for item in trying:
        if _settle(database, claim, item.id, status="pending"):
            yield "retried_later"


def _post(http: httpx.Client, item: _Owed, settings: GrievanceSettings) -> tuple[str | None, bool]:
    """POST one delivery; (None, _) when accepted (2xx), else the error for ``last_error`` and
    whether it is worth another try. Never the answer's body: it may quote the message back."""
    import httpx

    delivery = item.delivery
    assert delivery is not None
    key = f"grievance-{item.notice.event_id}-{item.recipient}"
    try:
        response = http.post(
            delivery.url,
            json=delivery.payload,
            headers={**delivery.headers, "Idempotency-Key": key},
            timeout=settings.http_timeout,
        )
    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        return type(exc).__name__, True
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return type(exc).__name__, False
    status = response.status_code
    if 200 <= status < 300:
        return None, False
    return f"HTTP {status}", status >= 500 or status == 429


# --- commands -----------------------------------------------------------------------------------

NOTICE_COLUMNS = ("ref", "kind", "recipient", "status", "channel", "attempts", "last_error")
NOTICE_FORMATS = ("table", "csv")


def register_notify(app: typer.Typer) -> None:
    """Add ``notify`` and ``notices`` to the grievance command group."""
    app.command("notify")(friendly(grievance_notify))
    app.command("notices")(friendly(grievance_notices))


def grievance_notify(
    province: ProvinceOption,
    limit: Annotated[
        int | None,
        typer.Option("--limit", metavar="N", min=1, help="Send at most N notices in this run."),
    ] = None,
) -> None:
    """Send the notices grievance events owe: replies to drivers (routed, escalated, resolved,
    reopened, rejected, merged) and word to the conference that takes an escalated grievance.

    Each notice is sent once: a notice the receiver accepted is never sent again, and a run
    at the same time as another never takes the same notice. Failures that may pass (timeouts,
    HTTP 5xx and 429) are tried again, in this run and the next ones, up to
    CHELUN_GRIEVANCE_NOTIFY_ATTEMPTS tries. Where replies go: CHELUN_GRIEVANCE_REPLY_URL and
    CHELUN_GRIEVANCE_HANDLER_URL, unless the province's plugin delivers them its own way.
    """
    from chelun.plugin_manager import PluginHost

    current = load_settings()
    code = province_code(province, current)
    database = open_db(current)
    pm = PluginHost(current, report=lambda failure: warn(str(failure))).manager(code)
    queued = enqueue(database, code)
    result = send_pending(database, pm, code, limit=limit)
    err.print(
        f"province {code}: {queued:,} notices queued; {result.sent:,} sent, "
        f"{result.failed:,} failed, {result.unsent:,} unsent (no channel), "
        f"{result.retried_later:,} to try again in a later run",
        highlight=False,
    )
    if result.failed or result.unsent:
        warn(
            f"see why with `chelun grievance notices -p {code} --status failed` "
            "(or --status unsent)"
        )


def grievance_notices(
    province: ProvinceOption,
    status: Annotated[
        str | None, typer.Option(metavar="STATUS", help="Only notices in this status.")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="table (default) or csv.")
    ] = "table",
) -> None:
    """List the notices: ref, event kind, recipient, status, channel, attempts and the last
    error (an HTTP status or an error's name). No personal data."""
    import csv
    import sys

    from rich.table import Table
    from sqlalchemy import select

    from chelun.storage.tables import NOTIFICATION_STATUSES, Event, Notification

    shape = format.strip().lower()
    if shape not in NOTICE_FORMATS:
        raise fail(f"unknown format {format!r}: {' or '.join(NOTICE_FORMATS)}", 2)
    if status is not None and status not in NOTIFICATION_STATUSES:
        raise fail(f"unknown status {status!r}: one of {', '.join(NOTIFICATION_STATUSES)}", 2)
    current = load_settings()
    code = province_code(province, current)
    database = open_db(current)
    query = (
        select(
            Event.entity_key,
            Event.kind,
            Notification.recipient,
            Notification.status,
            Notification.channel,
            Notification.attempts,
            Notification.last_error,
        )
        .join(Event, Event.id == Notification.event_id)
        .where(Notification.province == code)
        .order_by(Notification.id)
    )
    if status is not None:
        query = query.where(Notification.status == status)
    with database.engine.connect() as connection:
        rows = [
            (key.partition(":")[2], kind, recipient, state, channel or "", str(tries), error or "")
            for key, kind, recipient, state, channel, tries, error in connection.execute(query)
        ]
    if shape == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(NOTICE_COLUMNS)
        writer.writerows(rows)
        return
    table = Table(*NOTICE_COLUMNS, title=f"Notices of province {code}")
    for row in rows:
        table.add_row(*row)
    out.print(table)
