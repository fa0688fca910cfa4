"""Jiangsu (江苏, 32): Zhenjiang's grid model (行业党委 + 网格化党支部).

Zhenjiang's transport-industry party committee organises member drivers who have no enterprise
branch into grid branches, one per grid of counties, instead of one mobile branch per city.

Grievances: in Zhenjiang the transport-industry party committee's grids take in drivers'
grievances, so the committee (行业党委) assists every grievance routed to a Zhenjiang conference.
"""

from __future__ import annotations

from collections.abc import Callable

from chelun import hookimpl
from chelun.grievance.defaults import default_route
from chelun.grievance.models import GrievanceItem, Route
from chelun.roster.models import (
    Branch,
    BranchAssignment,
    BranchDirectory,
    DriverProfile,
    EnterpriseSummary,
)

PROVINCES = ("32",)

ZHENJIANG = "3211"
#: Zhenjiang's grids: the city districts together, and each county-level city on its own.
ZHENJIANG_GRIDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "GRID-321100-1": ("镇江市区网格党支部", ("321102", "321111", "321112")),
    "GRID-321100-2": ("丹阳网格党支部", ("321181",)),
    "GRID-321100-3": ("扬中网格党支部", ("321182",)),
    "GRID-321100-4": ("句容网格党支部", ("321183",)),
}


@hookimpl
def chelun_branches(
    province: str, enterprises: list[EnterpriseSummary], register: Callable[[Branch], None]
) -> None:
    for code, (name, counties) in ZHENJIANG_GRIDS.items():
        register(
            Branch(
                code=code,
                name=f"镇江市交通运输行业党委{name}",
                kind="grid",
                province=province,
                county=counties[0],
                grid_counties=counties,
            )
        )


@hookimpl
def chelun_assign_branch(
    driver: DriverProfile, branches: BranchDirectory
) -> BranchAssignment | None:
    if not (driver.home_county or "").startswith(ZHENJIANG):
        return None
    if branches.for_enterprise(driver.enterprise_uscc) is not None:
        return None  # an enterprise branch comes first, in Zhenjiang as elsewhere
    grid = branches.grid_for(driver.home_county)
    if grid is None:
        return None
    return BranchAssignment(
        branch=grid.code, reason=f"Zhenjiang grid model: home county in {grid.name}"
    )


ZHENJIANG_COMMITTEE = "镇江市交通运输行业党委"


@hookimpl
def chelun_route_grievances(province: str, grievances: list[GrievanceItem]) -> list[Route | None]:
    routes: list[Route | None] = []
    for grievance in grievances:
        route = default_route(province, grievance)
        if route.area.startswith(ZHENJIANG):
            routes.append(
                route.model_copy(
                    update={
                        "assisting": (*route.assisting, ZHENJIANG_COMMITTEE),
                        "reason": route.reason + "; Zhenjiang's industry party committee assists",
                    }
                )
            )
        else:
            routes.append(None)
    return routes


# Recognition: this province's variant of award campaigns and care visits.
from chelun.plugins.jiangsu.recognition import chelun_score_nominations  # noqa: E402, F401
