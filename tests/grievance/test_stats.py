"""Statistics from stored grievances and events, each rate with its denominator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from chelun.calendar import BEIJING
from chelun.grievance.stats import grievance_stats, rate
from chelun.storage.db import Database

from .conftest import service_for


def test_rates_have_their_denominators(database: Database, sample: Path) -> None:
    service = service_for(database)
    service.import_file(sample)
    service.route_pending()
    service.acknowledge("SC-1")
    service.resolve("SC-1")
    service.close("SC-1", satisfied=False)
    service.resolve("SC-1")
    service.close("SC-1", satisfied=True)
    service.reject("SC-2", "a duplicate sent by mistake")
    as_of = dt.datetime(2026, 11, 20, 9, 0, tzinfo=BEIJING)
    total, by_category = grievance_stats(database, "51", as_of)
    assert (total.collected, total.accepted, total.resolved) == (3, 2, 1)
    assert (total.answers, total.satisfied) == (2, 1)
    assert total.overdue == 1  # SC-3 (platform fees, received 2 November) is past its deadline
    assert len(total.days_to_resolve) == 1
    assert by_category["parking_rest"].resolved == 1
    assert rate(total.resolved, total.accepted) == "50.0% (1/2)"
    assert rate(0, 0) == "- (0/0)"
