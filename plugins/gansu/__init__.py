"""Gansu (甘肃, 62).

Grievances: theft at a motorway service area is a claim under Gansu's cargo-and-vehicle
insurance scheme (车货无忧) as much as a police matter, so the scheme's provincial team leads it,
with the public security department assisting.
"""

from __future__ import annotations

from chelun import hookimpl
from chelun.grievance.models import GrievanceItem, Route
from chelun.grievance.routing import department, unit_name

PROVINCES = ("62",)

INSURANCE_TEAM = "车货无忧保险工作专班"
SERVICE_AREA_WORDS = ("服务区", "停车区")


@hookimpl
def chelun_route_grievances(province: str, grievances: list[GrievanceItem]) -> list[Route | None]:
    return [
        Route(
            level="province",
            area=province,
            unit=unit_name("province", province),
            lead_department=INSURANCE_TEAM,
            assisting=(department("police", "province"), department("transport", "province")),
            reason="theft at a service area: Gansu's 车货无忧 insurance scheme team leads",
        )
        if grievance.category == "theft"
        and any(word in grievance.text for word in SERVICE_AREA_WORDS)
        else None
        for grievance in grievances
    ]


# Claims: the 车货无忧 scheme as data and its insurer's client; recognition: Gansu's variant of
# award campaigns (anyone touched by a fraud claim is excluded).
from chelun.plugins.gansu.insurer import chelun_insurer_client  # noqa: E402, F401
from chelun.plugins.gansu.recognition import chelun_check_nominations  # noqa: E402, F401
from chelun.plugins.gansu.scheme import chelun_claim_products  # noqa: E402, F401
