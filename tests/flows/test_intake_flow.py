"""The intake flow on Prefect's test server: tasks per file, an artifact of counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from chelun.demo.roster import generate_province


@pytest.mark.usefixtures("prefect_harness")
def test_intake_flow_stages_links_and_publishes_counts(tmp_path: Path) -> None:
    from prefect.artifacts import Artifact

    from chelun.flows.intake import intake_flow

    sources = generate_province(tmp_path / "pilot", "62", 300, seed=5)
    result = intake_flow(province="62", sources={s.name: str(s.path) for s in sources})
    summary = result["summary"]
    assert summary.drivers > 250
    assert all(account.balanced for account in summary.accounts)
    assert {s["source"] for s in result["staged"]} == {s.name for s in sources}

    artifact = Artifact.get("roster-intake-62")
    assert artifact is not None
    assert "rows_in" in str(artifact.data)
    for secret_column in ("id_number", "phone", "name"):
        assert secret_column not in str(artifact.data)

    again = intake_flow(province="62", sources={s.name: str(s.path) for s in sources})
    assert all(s["skipped"] for s in again["staged"])
    assert again["summary"].drivers == summary.drivers
