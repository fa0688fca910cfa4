"""Core's default pairing: each ordinary driver with the least-loaded member of their county.

Pure and light (no database): the default hook implementations import it.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

from chelun.roster.models import DriverProfile, Pairing

REASON = "same home county, least loaded"


def pair_by_county(
    members: list[DriverProfile], drivers: list[DriverProfile], loads: dict[str, int], cap: int
) -> list[Pairing]:
    """Core's pairing: each driver to the least-loaded member of the same home county."""
    heaps: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for member in members:
        if member.home_county and loads.get(member.driver, 0) < cap:
            heaps[member.home_county].append((loads.get(member.driver, 0), member.driver))
    for heap in heaps.values():
        heapq.heapify(heap)
    pairings = []
    for driver in sorted(drivers, key=lambda d: d.driver):
        heap = heaps.get(driver.home_county or "")
        if not heap:
            continue
        load, member = heapq.heappop(heap)
        pairings.append(Pairing.model_construct(member=member, driver=driver.driver, reason=REASON))
        if load + 1 < cap:
            heapq.heappush(heap, (load + 1, member))
    return pairings
