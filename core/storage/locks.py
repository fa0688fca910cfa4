"""Run locks: one run of a kind of work per province at a time, enforced by the database.

Two intakes of one province at once would each rewrite what the other wrote; so would two
grievance sweeps. A run takes the lock named for its work and province before it starts and
holds it to the end; a second run is refused at once with a message naming the running one.

- PostgreSQL: a session-level advisory lock on a connection held for the run. A killed process
  loses its connection, and its lock with it.
- SQLite: a row of ``run_lock``, taken inside a write transaction. A row left by a process that
  is gone (same host, no such process, or another process under that number) is taken over.

Either way the ``run_lock`` row says who holds the lock, for the message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Connection, delete, insert, select, text

from chelun.storage.db import Database
from chelun.storage.tables import RunLock


class LockBusy(RuntimeError):
    """Another run holds the lock: the message names it and says what to do."""


class Holder(NamedTuple):
    name: str
    holder: str
    pid: int
    host: str
    process_start: str
    started_at: dt.datetime


def _process_start(pid: int) -> str:
    """When the process started (clock ticks since boot, from /proc), to tell a live holder from
    a new process that reuses its number; empty where /proc is not readable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(lock: Holder) -> bool:
    if lock.host != socket.gethostname():
        return True  # cannot tell from here: another machine's run is taken at its word
    try:
        os.kill(lock.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not lock.process_start or lock.process_start == _process_start(lock.pid)


def _advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _busy(name: str, holder: Holder | None) -> LockBusy:
    who = (
        f"{holder.holder} (process {holder.pid} on {holder.host}, started "
        f"{holder.started_at:%Y-%m-%d %H:%M} UTC)"
        if holder is not None
        else "another run"
    )
    return LockBusy(f"{name} is already running: {who}; wait for it to finish, then run this again")


@contextmanager
def run_lock(database: Database, name: str, holder: str) -> Iterator[None]:
    """Hold the lock ``name`` (e.g. ``roster-intake:32``) for the ``with`` block.

    Raises ``LockBusy`` at once when another live run holds it.
    """
    mine = Holder(
        name=name,
        holder=holder,
        pid=os.getpid(),
        host=socket.gethostname(),
        process_start=_process_start(os.getpid()),
        started_at=dt.datetime.now(dt.UTC),
    )
    if database.is_sqlite:
        # A look without the write lock first: a running intake holds it most of the time,
        # and a second run must be refused at once, not after waiting for it.
        with database.engine.connect() as connection:
            current = _holder(connection, name)
        if current is not None and _alive(current):
            raise _busy(name, current)
        with database.connect() as connection:  # BEGIN IMMEDIATE: one taker at a time
            current = _holder(connection, name)
            if current is not None and _alive(current):
                raise _busy(name, current)
            _write(connection, mine)
        try:
            yield
        finally:
            with database.connect() as connection:
                connection.execute(
                    delete(RunLock).where(RunLock.name == name, RunLock.pid == mine.pid)
                )
        return
    with database.engine.connect() as session:
        # Advisory locks belong to the whole database: two chelun deployments in two schemas
        # of one database keep apart by the schema's name in the key.
        schema = session.execute(text("SELECT current_schema()")).scalar_one()
        key = _advisory_key(f"{schema}:{name}")
        taken = session.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": key}
        ).scalar_one()
        session.commit()
        if not taken:
            with database.engine.connect() as connection:
                raise _busy(name, _holder(connection, name))
        try:
            with database.connect() as connection:
                _write(connection, mine)
            yield
        finally:
            with database.connect() as connection:
                connection.execute(
                    delete(RunLock).where(RunLock.name == name, RunLock.pid == mine.pid)
                )
            session.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            session.commit()


def _holder(connection: Connection, name: str) -> Holder | None:
    row = connection.execute(
        select(
            RunLock.name,
            RunLock.holder,
            RunLock.pid,
            RunLock.host,
            RunLock.process_start,
            RunLock.started_at,
        ).where(RunLock.name == name)
    ).one_or_none()
    return Holder(*row) if row is not None else None


def _write(connection: Connection, lock: Holder) -> None:
    connection.execute(delete(RunLock).where(RunLock.name == lock.name))
    connection.execute(insert(RunLock), [lock._asdict()])
