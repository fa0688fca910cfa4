"""The domain's tables (SQLAlchemy 2 typed ORM).

Hot paths (intake moves millions of rows) use Core statements on these tables' ``__table__``;
the ORM classes serve the rest.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

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


class SourceFile(Base):
    """One source of a province as last ingested: its file, profile and progress."""

    __tablename__ = "source_file"
    __table_args__ = (UniqueConstraint("province", "name"),)

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
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


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
    __table_args__ = (UniqueConstraint("province", "key"),)

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
    contact: Mapped[int | None] = mapped_column(Integer)
    #: The link run that last found records for this driver; older means none are left.
    linked_run: Mapped[str] = mapped_column(String(12))
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.current_timestamp()
    )


class Branch(Base):
    """A party branch member drivers are enrolled in (enterprise, mobile or grid)."""

    __tablename__ = "branch"

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
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    province: Mapped[str | None] = mapped_column(String(2))
    actor: Mapped[str] = mapped_column(String(120))
    entity: Mapped[str] = mapped_column(String(30))
    entity_key: Mapped[str] = mapped_column(String(130))
    kind: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
