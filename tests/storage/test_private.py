"""Personal data stays private: the home folder and the database are the user's alone, and
database errors never carry the rows they were given."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from chelun.storage.db import Database
from chelun.storage.tables import Driver

CHELUN = Path(sys.executable).parent / "chelun"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_home_database_and_prefect_state_are_private_whatever_the_umask(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "CHELUN_HOME": str(home)}
    done = subprocess.run(
        ["sh", "-c", f'umask 022; exec "{CHELUN}" roster summary --province 62'],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert mode(home) == 0o700
    assert mode(home / "prefect") == 0o700
    for name in ("chelun.db", "chelun.db-wal", "chelun.db-shm"):
        if (home / name).exists():
            assert mode(home / name) == 0o600, name


def test_database_errors_do_not_carry_the_rows(database: Database) -> None:
    row = {
        "province": "62",
        "key": "620102198001011234",
        "id_number": "620102198001011234",
        "name": "张三丰",
        "phone": "13912345678",
        "records": 1,
        "sources": 1,
        "phones": 1,
        "enterprises": 0,
        "verification_stage": "nowhere",
        "linked_run": "r",
        "updated_at": dt.datetime.now(dt.UTC),
    }
    with pytest.raises(IntegrityError) as caught, database.connect() as connection:
        connection.execute(insert(Driver), [row])
    message = str(caught.value)
    for secret in ("620102198001011234", "张三丰", "13912345678"):
        assert secret not in message
