"""Guizhou (贵州, 52).

Grievances: in a mountain province one landslide cuts roads across several cities, so emergency
transport needs go to the province's conference, with the emergency management department, and
must be settled within one working day.
"""

from __future__ import annotations

from chelun import hookimpl
from chelun.grievance.models import GrievanceItem, Route
from chelun.grievance.routing import department, unit_name

PROVINCES = ("52",)


@hookimpl
def chelun_route_grievances(province: str, grievances: list[GrievanceItem]) -> list[Route | None]:
    return [
        Route(
            level="province",
            area=province,
            unit=unit_name("province", province),
            lead_department=department("transport", "province"),
            assisting=(
                department("emergency", "province"),
                department("traffic_police", "province"),
            ),
            reason="emergency transport in Guizhou is coordinated by the province",
            ack_days=0,
            resolve_days=1,
        )
        if grievance.category == "emergency_transport"
        else None
        for grievance in grievances
    ]
