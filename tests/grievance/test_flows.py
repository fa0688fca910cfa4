"""The grievance flows on Prefect's test server: the same service as the CLI, counts only."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from chelun.flows.grievance import grievance_intake_flow, grievance_sweep_flow
from chelun.settings import Settings
from chelun.storage.db import open_database
from chelun.storage.tables import Grievance

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_intake_then_sweep_flows(sample: Path) -> None:
    first = grievance_intake_flow("51", [str(sample)])
    again = grievance_intake_flow("51", [str(sample)])
    assert first["routed"] == 3 and again["routed"] == 0
    assert again["files"][str(sample)]["already"] == 3
    swept = grievance_sweep_flow("51", at="2026-12-01T09:00:00+08:00")
    assert swept["escalated"] == 2
    database = open_database(Settings())
    with database.engine.connect() as connection:
        escalated = connection.execute(
            select(func.count()).where(Grievance.escalations == 1)
        ).scalar_one()
    database.dispose()
    assert escalated == 2
