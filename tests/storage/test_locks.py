"""Run locks: one run per province and kind of work, refused while held, freed when the holder
dies, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time

import pytest
from sqlalchemy import insert, select

from chelun.storage.db import Database
from chelun.storage.locks import LockBusy, run_lock
from chelun.storage.tables import RunLock


def test_a_second_run_is_refused_naming_the_first(database: Database) -> None:
    with run_lock(database, "roster intake of province 32", "user:cli"):
        with pytest.raises(LockBusy) as refused:
            with run_lock(database, "roster intake of province 32", "flow:roster-intake"):
                pytest.fail("entered a held lock")
        message = str(refused.value)
        assert "roster intake of province 32 is already running" in message
        assert f"user:cli (process {os.getpid()}" in message
        # Another province is another lock.
        with run_lock(database, "roster intake of province 51", "user:cli"):
            pass
    with run_lock(database, "roster intake of province 32", "user:cli"):
        pass  # released at the end of the block


def test_a_lock_left_by_a_dead_process_is_taken_over(database: Database) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    with database.connect() as connection:
        connection.execute(
            insert(RunLock),
            [
                {
                    "name": "roster intake of province 62",
                    "holder": "user:cli",
                    "pid": int(dead.stdout),
                    "host": socket.gethostname(),
                    "process_start": "1",
                    "started_at": dt.datetime.now(dt.UTC),
                }
            ],
        )
    # On SQLite the row's process is gone; on PostgreSQL nobody holds the advisory lock, and
    # the row is only a label. Either way the lock is free.
    with run_lock(database, "roster intake of province 62", "user:cli"):
        with database.engine.connect() as connection:
            holder = connection.execute(select(RunLock.pid)).scalar_one()
        assert holder == os.getpid()


HOLDER = """
import sys, time
from chelun.storage.db import Database
from chelun.storage.locks import run_lock
with run_lock(Database(sys.argv[1]), "roster intake of province 52", "user:cli"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_killed_holder_does_not_block_for_ever(database: Database) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, database.url],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockBusy, match=f"process {holder.pid}"):
            with run_lock(database, "roster intake of province 52", "user:cli"):
                pass
    finally:
        holder.kill()
        holder.wait(timeout=30)
    deadline = time.monotonic() + 30
    while True:  # PostgreSQL notices the closed session within moments
        try:
            with run_lock(database, "roster intake of province 52", "user:cli"):
                break
        except LockBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
