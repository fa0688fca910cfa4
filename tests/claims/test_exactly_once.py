"""Exactly once, the hard way: a real ``chelun claims process`` killed with SIGKILL after the
insurer created the claim and before the process recorded the answer; the next runs must not
create the claim again, and must record it once the dead run's hold on it is stale."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import chelun.plugins.gansu as gansu
from chelun.claims.insurer import idempotency_key
from chelun.claims.simulator import InsurerSimulator
from chelun.storage.db import Database

from .test_insurer import add_claim, claim_events, set_claim, stored

CHELUN = str(Path(sys.executable).with_name("chelun"))
REF = "GS-KILL-1"
#: Until plugins/gansu/__init__.py re-exports the scheme's and the insurer's hooks, the same
#: service runs in a small script that registers those modules itself.
WIRED = hasattr(gansu, "chelun_claim_products") and hasattr(gansu, "chelun_insurer_client")
SCRIPT = """
from chelun.claims.insurer import submit_pending
from chelun.claims.service import ClaimsService
from chelun.plugin_manager import PluginHost
from chelun.plugins.gansu import insurer, scheme
from chelun.settings import Settings
from chelun.storage.db import open_database

extra = [("gansu-scheme", scheme), ("gansu-insurer", insurer)]
host = PluginHost(Settings(block_plugins="gansu"), extra=extra)
service = ClaimsService(open_database(), host.manager("62"), "62", actor="user:cli")
print(submit_pending(service))
"""


def process_command() -> list[str]:
    if WIRED:
        return [CHELUN, "claims", "process", "--province", "62"]
    return [sys.executable, "-c", SCRIPT]


def environment(database: Database, home: Path, url: str) -> dict[str, str]:
    env = dict(os.environ)  # PREFECT_HOME and the rest, as tests/conftest.py set them
    env.update(
        CHELUN_HOME=str(home),
        CHELUN_DATABASE_URL=database.url,
        CHELUN_GANSU_INSURER_URL=url,
        CHELUN_GANSU_INSURER_TIMEOUT="60",
    )
    env.pop("CHELUN_GANSU_INSURER_TOKEN", None)
    return env


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(process_command(), capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_a_process_killed_between_sending_and_recording_leaves_the_claim_at_the_insurer_once(
    database: Database, tmp_path: Path
) -> None:
    add_claim(
        database,
        REF,
        product="gansu-chehuowuyou",
        site="GS-G30-07",
        site_given="永登服务区",
        policy_no="GS-CHWY-2026",
    )
    with InsurerSimulator() as sim:
        env = environment(database, tmp_path / "home", sim.url)
        sim.fail("hold")  # store the claim, then keep the answer until the process is dead
        process = subprocess.Popen(
            process_command(),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            if not sim.held.wait(timeout=120):
                process.kill()
                pytest.fail(f"the process never sent the claim: {process.communicate()[1][-2000:]}")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=60)
            process.stderr.close()  # type: ignore[union-attr]
            sim.release.set()
        assert process.returncode == -signal.SIGKILL
        # The insurer created the claim; the process died before it recorded the answer.
        assert sim.count(REF) == 1
        [created] = sim.claims
        left = stored(database, REF)
        assert left.status == "assessed" and left.insurer_claim_id is None
        assert left.idempotency_key == idempotency_key("62", REF, 0)
        assert left.sending_at is not None and left.payload is not None
        assert claim_events(database, "submitted") == []

        # At once, the dead run still holds the claim: nothing is sent.
        run(env)
        assert len(sim.posts()) == 1 and stored(database, REF).status == "assessed"

        # Once the hold is stale, the next run sends the same bytes under the same key and the
        # insurer answers the stored response: recorded, and still one claim at the insurer.
        set_claim(database, REF, sending_at=left.sending_at - dt.timedelta(minutes=11))
        run(env)
        done = stored(database, REF)
        assert done.status == "submitted"
        assert done.insurer_claim_id == created.insurer_claim_id
        assert sim.count(REF) == 1
        first, again = sim.posts()
        assert first.key == again.key == left.idempotency_key
        assert first.body == again.body == left.payload.encode("utf-8")
        [event] = claim_events(database, "submitted")
        assert event.data["resent"] is True
