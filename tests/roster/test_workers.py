"""Staging workers never outlive a killed intake."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from chelun.demo.roster import generate_province

SCRIPT = """
import sys, time
from pathlib import Path
from chelun.plugin_manager import PluginHost
from chelun.roster import service
from chelun.roster.staging import SourceInput
from chelun.storage.db import Database

service.PARALLEL_MIN_BYTES = 0
database = Database(sys.argv[1])
database.ensure_schema()
intake = service.RosterIntake(database, PluginHost(entry_points=False).manager("62"), "62")
pool = service._staging_pool(2)
sources = [SourceInput(p.stem, p) for p in sorted(Path(sys.argv[2]).glob("*.csv"))
           if p.name != "truth.csv"]
futures = [pool.submit(time.sleep, 0) for _ in range(2)]
[f.result() for f in futures]
print(" ".join(str(pid) for pid in pool._processes), flush=True)
intake.stage_all(sources, workers=2)
print("finished", flush=True)
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_exit_when_the_intake_is_killed(tmp_path: Path) -> None:
    generate_province(tmp_path / "pilot", "62", 20000, seed=2, spreadsheet=False)
    env = {**os.environ, "CHELUN_BATCH_ROWS": "200"}
    parent = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, f"sqlite:///{tmp_path / 'w.db'}", str(tmp_path / "pilot")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert parent.stdout is not None
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    assert len(workers) == 2 and all(alive(pid) for pid in workers)
    time.sleep(1.0)  # let them get into the files
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid in workers if alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert not survivors, "staging workers outlived the killed intake"
