"""Sichuan (四川, 51): phone verification through the province's platform (蜀道畅).

Set ``CHELUN_SICHUAN_PHONE_API`` to the platform's verification endpoint (and
``CHELUN_SICHUAN_PHONE_TOKEN`` if it wants one); without it the plugin has no provider and
drivers wait at the phone stage.

Grievances: Sichuan's city joint conferences have staff of their own (专班), so fines and pay
arrears, which a county conference would take elsewhere, go straight to the city's conference.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

from chelun import hookimpl
from chelun.grievance.defaults import default_route
from chelun.grievance.models import GrievanceItem, Route
from chelun.grievance.routing import unit_name
from chelun.roster.models import PhoneCheck, VerificationOutcome

PROVINCES = ("51",)


class SichuanSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHELUN_SICHUAN_", extra="ignore")

    phone_api: str | None = None
    phone_token: str | None = None


@hookimpl
def chelun_check_phones(
    province: str, checks: list[PhoneCheck]
) -> list[VerificationOutcome] | None:
    settings = SichuanSettings()
    if not settings.phone_api:
        return None
    # httpx is imported only when there is a provider to call.
    from chelun.roster.phone_api import PhoneCheckClient

    client = PhoneCheckClient(settings.phone_api, token=settings.phone_token)
    try:
        return client.check(checks)
    finally:
        client.close()


#: Categories Sichuan's staffed city conferences take directly.
CITY_CATEGORIES = ("fines_enforcement", "pay_arrears")


@hookimpl
def chelun_route_grievances(province: str, grievances: list[GrievanceItem]) -> list[Route | None]:
    routes: list[Route | None] = []
    for grievance in grievances:
        route = None
        if grievance.category in CITY_CATEGORIES:
            county_route = default_route(province, grievance)
            if county_route.level == "county":
                city = county_route.area[:4] + "00"
                route = county_route.model_copy(
                    update={
                        "level": "city",
                        "area": city,
                        "unit": unit_name("city", city),
                        "reason": f"{grievance.category} goes to Sichuan's staffed city "
                        "conference directly",
                    }
                )
        routes.append(route)
    return routes
