"""Core's default hook implementations, registered in every province's manager.

They run after every plugin (``trylast``), so a province plugin's decision wins.
"""

from __future__ import annotations

from collections.abc import Callable

from chelun.hooks import hookimpl
from chelun.identity.divisions import divisions
from chelun.roster.models import (
    Branch,
    BranchAssignment,
    BranchDirectory,
    DriverProfile,
    EnterpriseSummary,
    Pairing,
    SourceProfile,
)
from chelun.roster.pairing import pair_by_county
from chelun.roster.profiles import BUILT_IN_PROFILES

#: Party rules: an organisation with three or more full members sets up a branch.
MEMBERS_FOR_ENTERPRISE_BRANCH = 3


@hookimpl(trylast=True)
def chelun_source_profiles(register: Callable[[SourceProfile], None]) -> None:
    for profile in BUILT_IN_PROFILES:
        register(profile)


@hookimpl(trylast=True)
def chelun_branches(
    province: str, enterprises: list[EnterpriseSummary], register: Callable[[Branch], None]
) -> None:
    for enterprise in enterprises:
        if enterprise.members >= MEMBERS_FOR_ENTERPRISE_BRANCH:
            register(
                Branch(
                    code=f"ENT-{enterprise.uscc}",
                    name=f"{enterprise.name}党支部",
                    kind="enterprise",
                    province=province,
                    county=enterprise.county,
                    enterprise_uscc=enterprise.uscc,
                )
            )
    table = divisions()
    for city in table.cities(province):
        register(
            Branch(
                code=f"MOB-{city.code}",
                name=f"{city.name}交通运输综合行政执法支队流动党员党支部",
                kind="mobile",
                province=province,
                county=city.code,
                base=f"{city.name}交通运输综合行政执法支队",
            )
        )
    name = table.province_names.get(province, province)
    register(
        Branch(
            code=f"MOB-{province}",
            name=f"{name}物流园区流动党员党支部",
            kind="mobile",
            province=province,
            base=f"{name}物流园区",
        )
    )


@hookimpl(trylast=True)
def chelun_assign_branch(
    driver: DriverProfile, branches: BranchDirectory
) -> BranchAssignment | None:
    branch = branches.for_enterprise(driver.enterprise_uscc)
    if branch is not None:
        return BranchAssignment(branch=branch.code, reason="the driver's enterprise has a branch")
    branch = branches.mobile_for(driver.home_county)
    if branch is not None:
        return BranchAssignment(
            branch=branch.code, reason="mobile branch nearest the driver's home county"
        )
    return None


@hookimpl(trylast=True)
def chelun_pair_drivers(
    members: list[DriverProfile],
    drivers: list[DriverProfile],
    loads: dict[str, int],
    cap: int,
) -> list[Pairing]:
    return pair_by_county(members, drivers, loads, cap)
