"""The schema: migrations match the models, constraints hold, events are uniform and UTC."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from chelun.storage.db import SCHEMA_HEAD, Database
from chelun.storage.events import NewEvent, record, record_selected
from chelun.storage.tables import Base, Branch, Driver, Event


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_the_schema_head_constant_is_alembics_head(database: Database, tmp_path) -> None:
    # ensure_schema trusts SCHEMA_HEAD without asking alembic: it must be the newest migration.
    assert database.head_revision() == SCHEMA_HEAD
    assert database.current_revision() == SCHEMA_HEAD
    older = Database(f"sqlite:///{tmp_path / 'older.db'}")
    older.ensure_schema()
    with older.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0006'")
    assert not older._stamped_head()
    fresh = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert not fresh._stamped_head()
    fresh.ensure_schema()
    assert fresh._stamped_head()


def _driver(**values: object) -> dict[str, object]:
    return {
        "province": "62",
        "key": "620102199001011234",
        "records": 1,
        "sources": 1,
        "phones": 1,
        "enterprises": 0,
        "linked_run": "r1",
        "updated_at": dt.datetime.now(dt.UTC),
        **values,
    }


@pytest.mark.parametrize(
    "values",
    [
        {"verification_stage": "guess"},
        {"verification_outcome": "maybe"},
        {"status": "deleted"},
        {"branch": "NO-SUCH-BRANCH"},
        {"contact": 999_999},
    ],
    ids=["stage", "outcome", "status", "branch", "contact"],
)
def test_driver_constraints_refuse_what_the_data_cannot_hold(
    database: Database, values: dict[str, object]
) -> None:
    with pytest.raises(IntegrityError), database.connect() as connection:
        connection.execute(insert(Driver), [_driver(**values)])


def test_driver_may_name_a_registered_branch_and_a_member_contact(database: Database) -> None:
    with database.connect() as connection:
        connection.execute(
            insert(Branch),
            [{"province": "62", "code": "MOB-6201", "name": "兰州", "kind": "mobile"}],
        )
        connection.execute(insert(Driver), [_driver(branch="MOB-6201")])
        member = connection.execute(select(Driver.id)).scalar_one()
        connection.execute(insert(Driver), [_driver(key="620102199001015678", contact=member)])
    with pytest.raises(IntegrityError), database.connect() as connection:
        connection.execute(
            insert(Branch), [{"province": "62", "code": "X", "name": "x", "kind": "club"}]
        )


def test_events_are_utc_with_microseconds_on_every_database(database: Database) -> None:
    before = dt.datetime.now(dt.UTC)
    with database.connect() as connection:
        record(
            connection,
            [NewEvent("62", "user:test", "driver", "1", "test.one", "because")],
        )
        connection.execute(insert(Driver), [_driver()])
        record_selected(
            connection,
            select(Driver.province, Driver.key, Driver.status),
            actor="flow:test",
            entity="driver",
            kind="test.bulk",
        )
    with database.session() as session:
        events = session.scalars(select(Event).order_by(Event.id)).all()
    assert [e.kind for e in events] == ["test.one", "test.bulk"]
    assert events[1].reason == "active" and events[1].actor == "flow:test"
    for event in events:
        assert event.at.tzinfo is not None and event.at.utcoffset() == dt.timedelta(0)
        assert before <= event.at <= dt.datetime.now(dt.UTC)
    assert any(event.at.microsecond for event in events)


def test_naive_times_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="timezone-aware"), database.connect() as connection:
        connection.execute(insert(Driver), [_driver(updated_at=dt.datetime(2026, 1, 1))])


def test_events_cannot_be_rewritten(database: Database) -> None:
    with database.connect() as connection:
        record(connection, [NewEvent("62", "user:test", "driver", "1", "test.one", "because")])
    with pytest.raises(Exception, match="append-only"), database.connect() as connection:
        connection.execute(text("UPDATE event SET reason = 'rewritten'"))


def test_plain_rows_are_the_drivers_rows_as_tuples(database: Database) -> None:
    from chelun.storage.db import plain_rows

    with database.connect() as connection:
        connection.execute(
            insert(Driver),
            [_driver(key=f"62010219900101{i:04d}", member=i % 2 == 0) for i in range(5)],
        )
        query = (
            select(Driver.id, Driver.key, Driver.member, Driver.branch)
            .where(Driver.province == "62", Driver.records >= 1)
            .order_by(Driver.id)
        )
        plain = plain_rows(connection, query)
        rows = connection.execute(query).all()
    assert [type(row) for row in plain] == [tuple] * 5
    assert [(i, k, bool(m), b) for i, k, m, b in plain] == [tuple(row) for row in rows]
