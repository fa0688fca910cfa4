"""The domain's tables (SQLAlchemy 2 typed ORM).

Hot paths (intake moves millions of rows) use Core statements on these tables' ``__table__``;
the ORM classes serve the rest.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from chelun.claims.models import CLAIM_STATUSES, LOSS_TYPES, REASON_CODES
from chelun.grievance.models import CATEGORIES, LEVELS
from chelun.recognition.models import UNIT_KINDS, VISIT_KINDS, VISITOR_ROLES
from chelun.storage.types import Money, Points, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """A CHECK that ``column`` holds one of ``values``, named after the column."""
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


SOURCE_FILE_STATUSES = ("staging", "staged")
DRIVER_STATUSES = ("active", "retired")
VERIFICATION_STAGES = ("match", "phone", "visit")
VERIFICATION_OUTCOMES = ("pending", "confirmed", "failed")
BRANCH_KINDS = ("enterprise", "mobile", "grid")
ALIAS_KINDS = ("phone", "plate")


class SourceFile(Base):
    """One source of a province as last ingested: its file, profile and progress."""

    __tablename__ = "source_file"
    __table_args__ = (UniqueConstraint("province", "name"), _one_of("status", SOURCE_FILE_STATUSES))

    id: Mapped[int] = mapped_column(primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    profile: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(10))
    encoding: Mapped[str | None] = mapped_column(String(20))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    blank_rows: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)


class SourceRecord(Base):
    """One data row of a source, normalised, with its link to a driver or its quarantine reason.

    Exactly one of ``driver_key`` and ``quarantine`` is set once an intake has linked the
    province: rows in = rows on the roster + rows quarantined.
    """

    __tablename__ = "source_record"
    # The table is its primary key's B-tree (no rowid), and driver_key carries no index: intake
    # writes millions of rows with random driver keys, and keeping an index of them costs more
    # than the few whole-province sorts and hash joins that read by driver.
    __table_args__ = {"sqlite_with_rowid": False}

    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    row_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    rank: Mapped[int] = mapped_column(SmallInteger)
    name: Mapped[str | None] = mapped_column(String(100))
    name_key: Mapped[str | None] = mapped_column(String(100))
    id_number: Mapped[str | None] = mapped_column(String(18))
    id_status: Mapped[str] = mapped_column(String(16))
    id_cleaned: Mapped[str | None] = mapped_column(String(64))
    birth: Mapped[dt.date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(20))
    plate: Mapped[str | None] = mapped_column(String(16))
    enterprise: Mapped[str | None] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18))
    member: Mapped[bool | None] = mapped_column(Boolean)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    driver_key: Mapped[str | None] = mapped_column(String(130))
    link: Mapped[str | None] = mapped_column(String(200))
    quarantine: Mapped[str | None] = mapped_column(Text)
    staged_run: Mapped[str] = mapped_column(String(12))


class Driver(Base):
    """A roster entry: one driver, merged from every source record that is theirs."""

    __tablename__ = "driver"
    __table_args__ = (
        UniqueConstraint("province", "key"),
        _one_of("status", DRIVER_STATUSES),
        _one_of("verification_stage", VERIFICATION_STAGES),
        _one_of("verification_outcome", VERIFICATION_OUTCOMES),
        # A member driver's branch is one the province registered.
        ForeignKeyConstraint(["province", "branch"], ["branch.province", "branch.code"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    key: Mapped[str] = mapped_column(String(130))
    id_number: Mapped[str | None] = mapped_column(String(18))
    name: Mapped[str | None] = mapped_column(String(100))
    birth: Mapped[dt.date | None] = mapped_column(Date)
    home_county: Mapped[str | None] = mapped_column(String(6))
    home_province: Mapped[str | None] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(20))
    plate: Mapped[str | None] = mapped_column(String(16))
    enterprise: Mapped[str | None] = mapped_column(String(200))
    uscc: Mapped[str | None] = mapped_column(String(18))
    member: Mapped[bool] = mapped_column(Boolean, default=False)
    records: Mapped[int] = mapped_column(Integer)
    sources: Mapped[int] = mapped_column(Integer)
    phones: Mapped[int] = mapped_column(Integer)
    enterprises: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="active")
    verification_stage: Mapped[str] = mapped_column(String(12), default="match")
    verification_outcome: Mapped[str] = mapped_column(String(12), default="pending")
    branch: Mapped[str | None] = mapped_column(String(100))
    #: The member driver who is this driver's contact person (结对联系).
    contact: Mapped[int | None] = mapped_column(ForeignKey("driver.id"))
    #: The link run that last found records for this driver; older means none are left.
    linked_run: Mapped[str] = mapped_column(String(12))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)


class Branch(Base):
    """A party branch member drivers are enrolled in (enterprise, mobile or grid)."""

    __tablename__ = "branch"
    __table_args__ = (_one_of("kind", BRANCH_KINDS),)

    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12))
    county: Mapped[str | None] = mapped_column(String(6))
    enterprise_uscc: Mapped[str | None] = mapped_column(String(18))
    base: Mapped[str | None] = mapped_column(String(200))
    grid_counties: Mapped[list[Any] | None] = mapped_column(JSON)


class Event(Base):
    """Append-only log of state changes: who (user or plugin), when, what and why."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_entity", "entity", "entity_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    province: Mapped[str | None] = mapped_column(String(2))
    actor: Mapped[str] = mapped_column(String(120))
    entity: Mapped[str] = mapped_column(String(30))
    entity_key: Mapped[str] = mapped_column(String(130))
    kind: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DriverAlias(Base):
    """What identifies a driver who has no ID number: the name with a phone, or with a plate.

    Kept for every roster entry that was ever keyed without an ID number, and never deleted: when
    rows move, split or vanish, the driver they describe is found again through these, so that
    its code, verification, branch and contact follow the person, not a row. When the driver
    later gains an ID number, the same entry (and code) carries on under it.
    """

    __tablename__ = "driver_alias"
    __table_args__ = (_one_of("kind", ALIAS_KINDS),)

    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    name_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(5), primary_key=True)
    value: Mapped[str] = mapped_column(String(20), primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("driver.id"))


class RunLock(Base):
    """Who holds a run lock (``chelun.storage.locks``): one run of a kind per province."""

    __tablename__ = "run_lock"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    process_start: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


GRIEVANCE_STATUSES = (
    "received",
    "routed",
    "in_progress",
    "resolved",
    "closed",
    "reopened",
    "rejected",
    "merged",
    "quarantined",
)
# The category and level codes are the grievance capability's (its hooks' models say them).
GRIEVANCE_CATEGORIES = CATEGORIES
GRIEVANCE_LEVELS = LEVELS


class Grievance(Base):
    """A driver's grievance (诉求) and where it stands: its category, the joint conference that
    handles it (level and area), its deadlines and its status. Every change is also an event
    (entity ``grievance``, key ``<province>:<ref>``).

    ``id_number``, ``phone``, ``name`` and ``text`` are personal data: never in a message.
    A quarantined grievance (a malformed row) keeps what could be read and the reason.
    """

    __tablename__ = "grievance"
    __table_args__ = (
        UniqueConstraint("province", "ref"),
        _one_of("status", GRIEVANCE_STATUSES),
        CheckConstraint(
            "category IS NULL OR category IN ("
            + ", ".join(f"'{value}'" for value in GRIEVANCE_CATEGORIES)
            + ")",
            name="category",
        ),
        CheckConstraint(
            "level IS NULL OR level IN ("
            + ", ".join(f"'{value}'" for value in GRIEVANCE_LEVELS)
            + ")",
            name="level",
        ),
        Index("ix_grievance_sweep", "province", "status", "resolve_due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    ref: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(50))
    received_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    text: Mapped[str | None] = mapped_column(Text)
    id_number: Mapped[str | None] = mapped_column(String(18))
    phone: Mapped[str | None] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(100))
    county: Mapped[str | None] = mapped_column(String(6))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("driver.id"))
    category: Mapped[str | None] = mapped_column(String(30))
    classified_by: Mapped[str | None] = mapped_column(String(120))
    level: Mapped[str | None] = mapped_column(String(10))
    #: The area whose joint conference handles it: a county or city code, a province code, or
    #: ``national`` for the inter-ministerial conference.
    area: Mapped[str | None] = mapped_column(String(8))
    unit: Mapped[str | None] = mapped_column(String(200))
    lead_department: Mapped[str | None] = mapped_column(String(100))
    assisting: Mapped[list[Any] | None] = mapped_column(JSON)
    routed_by: Mapped[str | None] = mapped_column(String(120))
    route_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    #: Why a grievance is quarantined, rejected or merged.
    status_reason: Mapped[str | None] = mapped_column(Text)
    merged_into: Mapped[str | None] = mapped_column(String(100))
    ack_days: Mapped[int | None] = mapped_column(Integer)
    ack_due: Mapped[dt.date | None] = mapped_column(Date)
    resolve_days: Mapped[int | None] = mapped_column(Integer)
    resolve_due: Mapped[dt.date | None] = mapped_column(Date)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    reopens: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    #: What it is about, when named: a freight platform or a service area (from classification).
    subject: Mapped[str | None] = mapped_column(String(100))
    #: The matter it is handled in, with the like grievances of other drivers.
    matter_id: Mapped[int | None] = mapped_column(ForeignKey("grievance_matter.id"))
    #: The member driver paired with the driver (结对联系), who relays the driver's grievance.
    relayed_by: Mapped[int | None] = mapped_column(ForeignKey("driver.id"))
    #: The day the current deadlines are counted from (received, escalated or reopened).
    deadline_from: Mapped[dt.date | None] = mapped_column(Date)


class GrievanceMatter(Base):
    """A matter (事项): the like grievances of many drivers (about one platform, one service
    area) handled together by one joint conference. Each grievance keeps its own lifecycle and
    deadlines; the matter lets the conference see and settle them as one."""

    __tablename__ = "grievance_matter"
    __table_args__ = (UniqueConstraint("province", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    #: ``category|subject|level|area``: grievances with the same key share the matter.
    key: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    area: Mapped[str] = mapped_column(String(8))
    unit: Mapped[str | None] = mapped_column(String(200))
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)


class SyncCursor(Base):
    """Where a pull from an outside system stands: the cursor of the next page to ask for.

    Written in the same transaction as the page's rows, so a pull that fails half-way resumes
    after the last page stored, neither losing nor repeating one.
    """

    __tablename__ = "sync_cursor"

    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    source: Mapped[str] = mapped_column(String(50), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)


NOTIFICATION_RECIPIENTS = ("driver", "handler")
NOTIFICATION_STATUSES = ("pending", "sending", "sent", "failed", "unsent")


class Notification(Base):
    """A notice owed for an event (the outbox): one per event and recipient, never two.

    ``pending`` until a sender claims it (``sending``, with the time claimed), ``sent`` once the
    receiver accepted it; ``failed`` after the last attempt, ``unsent`` when no channel reaches
    the recipient. ``last_error`` holds a status or an exception's class, never a message body.
    """

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient"),
        _one_of("recipient", NOTIFICATION_RECIPIENTS),
        _one_of("status", NOTIFICATION_STATUSES),
        Index("ix_notification_status", "province", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    recipient: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    channel: Mapped[str | None] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


HOLIDAY_KINDS = ("off", "work")


class HolidaySchedule(Base):
    """A year's holiday schedule loaded by an operator (the State Council's notice): it takes
    the place of the library's rules for that year, and the year's deadlines stop being
    provisional."""

    __tablename__ = "holiday_schedule"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    loaded_by: Mapped[str] = mapped_column(String(120))


class HolidayDay(Base):
    """A day of a loaded schedule that is not what its weekday says: a holiday (``off``) or a
    make-up working day (``work``, 调休). It may lie in the year before the schedule's."""

    __tablename__ = "holiday_day"
    __table_args__ = (_one_of("kind", HOLIDAY_KINDS),)

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("holiday_schedule.year"))
    kind: Mapped[str] = mapped_column(String(4))
    name: Mapped[str] = mapped_column(String(50))


class Claim(Base):
    """An insurance claim (理赔) of a driver under a province's scheme, and where it stands.
    Every change is also an event (entity ``claim``, key ``<province>:<ref>``).

    ``id_number``, ``name``, ``phone`` and ``payload`` (the body sent to the insurer) are personal
    data: never in a message. A quarantined claim (a malformed row) keeps what could be read and
    the reason. Amounts are Decimal yuan stored as whole fen.

    Submission: ``idempotency_key``, ``fingerprint`` (SHA-256 of ``payload``) and ``payload``
    are written and committed before the first attempt, with ``sending_at``; every later attempt
    sends the same key and the same bytes, so the insurer creates the claim once even when its
    answer was lost. ``insurer_claim_id`` is set once the insurer answered.
    """

    __tablename__ = "claim"
    __table_args__ = (
        UniqueConstraint("province", "ref"),
        UniqueConstraint("idempotency_key"),
        _one_of("status", CLAIM_STATUSES),
        CheckConstraint(
            "loss_type IS NULL OR loss_type IN ("
            + ", ".join(f"'{value}'" for value in LOSS_TYPES)
            + ")",
            name="loss_type",
        ),
        CheckConstraint(
            "reason_code IS NULL OR reason_code IN ("
            + ", ".join(f"'{value}'" for value in REASON_CODES)
            + ")",
            name="reason_code",
        ),
        Index("ix_claim_work", "province", "status"),
        # Limits and duplicates read a driver's other claims.
        Index("ix_claim_driver", "province", "driver_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    ref: Mapped[str] = mapped_column(String(100))
    product: Mapped[str | None] = mapped_column(String(42))
    id_number: Mapped[str | None] = mapped_column(String(18))
    name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(20))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("driver.id"))
    incident_time: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    #: The Beijing date of the evening the night of the incident began.
    night_of: Mapped[dt.date | None] = mapped_column(Date)
    #: The covered site's code, when the site given is one.
    site: Mapped[str | None] = mapped_column(String(20))
    #: The site as the claim gave it (a code or a name).
    site_given: Mapped[str | None] = mapped_column(String(100))
    loss_type: Mapped[str | None] = mapped_column(String(5))
    amount_claimed: Mapped[Decimal | None] = mapped_column(Money)
    police_report_no: Mapped[str | None] = mapped_column(String(50))
    photos: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str | None] = mapped_column(String(30))
    #: Why: the quarantine reason, a refusal's explanation or the insurer's own code.
    reason: Mapped[str | None] = mapped_column(Text)
    checked_by: Mapped[str | None] = mapped_column(String(120))
    policy_no: Mapped[str | None] = mapped_column(String(50))
    amount_payable: Mapped[Decimal | None] = mapped_column(Money)
    assessed_by: Mapped[str | None] = mapped_column(String(120))
    idempotency_key: Mapped[str | None] = mapped_column(String(80))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str | None] = mapped_column(Text)
    sending_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    insurer_claim_id: Mapped[str | None] = mapped_column(String(64))
    insurer_status: Mapped[str | None] = mapped_column(String(20))
    amount_approved: Mapped[Decimal | None] = mapped_column(Money)
    amount_paid: Mapped[Decimal | None] = mapped_column(Money)
    payment_ref: Mapped[str | None] = mapped_column(String(64))
    appeals: Mapped[int] = mapped_column(Integer, default=0)
    reported_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    synced_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)


# --- Recognition: award campaigns and care visits ------------------------------------------------
# The unit, visit and visitor codes are the recognition capability's (its hooks' models say them).

CAMPAIGN_STATUSES = (
    "open",
    "closed",
    "checked",
    "scored",
    "shortlisted",
    "notice",
    "objections",
    "published",
)
NOMINATION_STATUSES = (
    "nominated",
    "eligible",
    "excluded",
    "scored",
    "shortlisted",
    "not_placed",
    "awarded",
    "withdrawn",
)
NOMINEE_TYPES = ("driver", "enterprise")
OBJECTION_STATUSES = ("pending", "upheld", "dismissed")
PUBLICATION_STATUSES = ("pending", "sent", "failed")
VISIT_STATUSES = ("planned", "done", "missed", "cancelled")


class AwardCampaign(Base):
    """An award campaign (评选表彰) of a province and where it stands. ``rules`` is the award
    kind as it was when the campaign opened, so a plugin changed later does not change a running
    campaign. Every change is also an event (entity ``award_campaign``, key ``<province>:<id>``).
    """

    __tablename__ = "award_campaign"
    __table_args__ = (
        _one_of("status", CAMPAIGN_STATUSES),
        Index("ix_award_campaign_work", "province", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The plugin that registered the award kind.
    kind_plugin: Mapped[str] = mapped_column(String(120))
    nominations_open: Mapped[dt.date] = mapped_column(Date)
    nominations_close: Mapped[dt.date] = mapped_column(Date)
    #: The period eligibility looks at (grievances, claims, safety record).
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    notice_start: Mapped[dt.date | None] = mapped_column(Date)
    notice_end: Mapped[dt.date | None] = mapped_column(Date)
    #: The notice's end falls in a year whose holiday schedule is not published yet.
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_by: Mapped[str] = mapped_column(String(120))
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)


class AwardNomination(Base):
    """One nominee of a campaign, by public identifier (a driver's roster code, a fleet's credit
    code), the unit that nominated, and its eligibility, score, rank and place.

    ``reason`` is the unit's own words and may name people: never in a message.
    """

    __tablename__ = "award_nomination"
    __table_args__ = (
        UniqueConstraint("campaign_id", "nominee"),
        _one_of("status", NOMINATION_STATUSES),
        _one_of("nominee_kind", NOMINEE_TYPES),
        _one_of("unit_kind", UNIT_KINDS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("award_campaign.id"))
    nominee: Mapped[str] = mapped_column(String(20))
    nominee_kind: Mapped[str] = mapped_column(String(10))
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("driver.id"))
    unit: Mapped[str] = mapped_column(String(100))
    unit_kind: Mapped[str] = mapped_column(String(16))
    #: The nominee's city (prefecture), six digits: what the per-city quota counts.
    city: Mapped[str | None] = mapped_column(String(6))
    reason: Mapped[str | None] = mapped_column(Text)
    #: The row of the nomination file it came from.
    source_row: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))
    #: Why it is excluded, withdrawn or not placed.
    status_reason: Mapped[str | None] = mapped_column(Text)
    checked_by: Mapped[str | None] = mapped_column(String(120))
    criteria_points: Mapped[Decimal | None] = mapped_column(Points)
    fact_points: Mapped[Decimal | None] = mapped_column(Points)
    total_score: Mapped[Decimal | None] = mapped_column(Points)
    score_parts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    scored_by: Mapped[str | None] = mapped_column(String(120))
    rank: Mapped[int | None] = mapped_column(Integer)
    nominated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)


class AwardScore(Base):
    """One reviewer's score of one criterion for one nominee; a reviewer's later score of the
    same criterion replaces the earlier one until the campaign is scored."""

    __tablename__ = "award_score"
    __table_args__ = (UniqueConstraint("nomination_id", "criterion", "reviewer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("award_nomination.id"))
    criterion: Mapped[str] = mapped_column(String(40))
    reviewer: Mapped[str] = mapped_column(String(100))
    score: Mapped[Decimal] = mapped_column(Points)
    recorded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)


class AwardObjection(Base):
    """An objection (异议) to a nominee raised during the public notice, and its decision."""

    __tablename__ = "award_objection"
    __table_args__ = (_one_of("status", OBJECTION_STATUSES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nomination_id: Mapped[int] = mapped_column(ForeignKey("award_nomination.id"))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str] = mapped_column(Text)
    raised_by: Mapped[str] = mapped_column(String(120))
    raised_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    decision: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class AwardPublication(Base):
    """A publication of a final list owed to one channel (the outbox): ``pending`` until the
    receiver accepts it (``sent``), ``failed`` after a run's last attempt (tried again by the
    next publish run). ``last_error`` is a status or an exception's class, never a body."""

    __tablename__ = "award_publication"
    __table_args__ = (
        UniqueConstraint("campaign_id", "channel"),
        _one_of("status", PUBLICATION_STATUSES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("award_campaign.id"))
    channel: Mapped[str] = mapped_column(String(120))
    plugin: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class CareVisit(Base):
    """A care visit (走访慰问) planned for a driver in a period (a month, ``YYYY-MM``): why, who
    visits (a branch secretary or an instructor, for which unit, where), and its outcome. Every
    change is also an event (entity ``care_visit``, key ``<province>:<period>:<driver code>``).

    ``note`` is the visitor's words and may name people: never in a message.
    """

    __tablename__ = "care_visit"
    __table_args__ = (
        UniqueConstraint("province", "period", "driver_id"),
        _one_of("kind", VISIT_KINDS),
        _one_of("role", VISITOR_ROLES),
        _one_of("status", VISIT_STATUSES),
        Index("ix_care_visit_period", "province", "period", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    period: Mapped[str] = mapped_column(String(7))
    driver_id: Mapped[int] = mapped_column(ForeignKey("driver.id"))
    kind: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text)
    selected_by: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(100))
    place: Mapped[str | None] = mapped_column(String(100))
    assigned_by: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default="planned")
    visited_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    planned_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=_now)
