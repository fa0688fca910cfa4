"""A failing step leaves no personal data in Prefect: not in the states it records, not in its
result storage. (A batch of rows that the database refuses must not travel into prefect.db.)"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from chelun.demo.roster import generate_province
from chelun.settings import Settings
from chelun.sources.readers import open_table
from chelun.storage.db import Database

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_a_refused_batch_leaves_no_personal_data_in_prefect(tmp_path: Path) -> None:
    from prefect import get_client
    from prefect.settings import get_current_settings

    from chelun.flows.intake import intake_flow

    sources = generate_province(tmp_path / "pilot", "62", 300, seed=9)
    database = Database(Settings().resolved_database_url)
    database.ensure_schema()
    database.dispose()
    path = Settings().resolved_database_url.split("///", 1)[1]
    # The database refuses the 50th row onwards: the failing batch holds hundreds of people.
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON source_record WHEN NEW.row_no >= 50 "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        )
    state = intake_flow(
        province="62",
        sources={s.name: str(s.path) for s in sources},
        return_state=True,
    )
    assert state.is_failed()

    secrets = set()
    for source in sources:
        with open_table(source.path) as table:
            for _, cells, _ in table.rows():
                secrets.update(c for c in cells or () if len(c) >= 11 and c[:17].isdigit())
    assert len(secrets) > 100  # ID numbers and phones of the files

    async def messages() -> list[str]:
        async with get_client() as client:
            flow_run = await client.read_flow_run(state.state_details.flow_run_id)
            task_runs = await client.read_task_runs()
            texts = [flow_run.state.message or ""]
            for task_run in task_runs:
                if task_run.flow_run_id == flow_run.id:
                    history = await client.read_flow_run_states(flow_run.id)
                    texts += [s.message or "" for s in history]
                    texts.append(task_run.state.message or "")
            return texts

    recorded = "\n".join(asyncio.run(messages()))
    assert "refused by the test" in recorded
    assert not [secret for secret in secrets if secret in recorded]
    storage = Path(get_current_settings().results.local_storage_path)
    stored = [p for p in storage.rglob("*") if p.is_file()] if storage.exists() else []
    for file in stored:
        data = file.read_bytes()
        assert not [s for s in secrets if s.encode() in data], file
