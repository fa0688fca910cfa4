"""Sichuan (四川, 51): phone verification through the province's platform (蜀道畅).

Set ``CHELUN_SICHUAN_PHONE_API`` to the platform's verification endpoint (and
``CHELUN_SICHUAN_PHONE_TOKEN`` if it wants one); without it the plugin has no provider and
drivers wait at the phone stage.

Grievances: Sichuan's city joint conferences have staff of their own (专班), so fines and pay
arrears, which a county conference would take elsewhere, go straight to the city's conference.

Grievance pull: set ``CHELUN_SICHUAN_PLATFORM_URL`` to the feed of Sichuan's freight-driver
service platform (四川货车司机服务平台); ``chelun grievance pull -p 51`` then reads its protocol.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chelun import hookimpl
from chelun.grievance.defaults import default_route
from chelun.grievance.models import (
    GrievanceItem,
    GrievancePage,
    GrievancePlatform,
    PageRequest,
    Route,
)
from chelun.grievance.routing import unit_name
from chelun.roster.models import PhoneCheck, VerificationOutcome
from chelun.settings import ChelunSettings

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


class SichuanPlatformSettings(ChelunSettings):
    """Where Sichuan's freight-driver service platform publishes its grievances."""

    sichuan_platform_url: str | None = Field(
        default=None,
        description="The grievance feed of 四川货车司机服务平台 (GET with pageToken and pageSize); "
        "unset: core's CHELUN_GRIEVANCE_PLATFORM_URL, if any, is pulled instead.",
    )


#: The platform's field names (pinyin initials), as the columns of a grievance file.
PLATFORM_FIELDS = {
    "bh": "ref",  # 编号
    "slsj": "received_at",  # 受理时间, YYYY-MM-DD HH:MM:SS, Beijing time
    "nr": "text",  # 内容
    "sfzh": "id_number",  # 身份证号
    "sjhm": "phone",  # 手机号码
    "xm": "name",  # 姓名
    "xzqh": "county",  # 行政区划
}


class SichuanPlatform:
    """四川货车司机服务平台's grievance feed: ``GET {url}?pageToken=...&pageSize=n`` answers
    ``{"code": 0, "data": {"list": [...], "nextPageToken": "..."}}``, a non-zero code for an
    error; each item has the platform's field names (``PLATFORM_FIELDS``)."""

    name = "sichuan-platform"

    def __init__(self, url: str) -> None:
        self.url = url

    def request(self, cursor: str | None, limit: int) -> PageRequest:
        params = {"pageSize": str(limit)}
        if cursor is not None:
            params["pageToken"] = cursor
        return PageRequest(url=self.url, params=params)

    def parse(self, document: Any) -> GrievancePage:
        if not isinstance(document, dict) or "code" not in document:
            raise ValueError("answer has no 'code'")
        code = str(document["code"]).strip()
        if code != "0":
            shown = code if code.lstrip("-").isdigit() and len(code) <= 10 else "(not a number)"
            raise ValueError(f"platform answered code {shown}")
        data = document.get("data")
        items = data.get("list") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ValueError("answer has no 'data.list' list")
        token = data.get("nextPageToken")
        if token is not None and not isinstance(token, str):
            raise ValueError("answer's 'data.nextPageToken' is neither text nor null")
        # Items that are not objects are passed on: core quarantines them with the reason.
        rows = [self._row(item) if isinstance(item, dict) else item for item in items]
        return GrievancePage.model_construct(rows=rows, next_cursor=token or None)

    def _row(self, item: dict[str, Any]) -> dict[str, Any]:
        row = {column: item.get(field) for field, column in PLATFORM_FIELDS.items()}
        row["channel"] = self.name
        return row


@hookimpl
def chelun_grievance_platform(province: str) -> GrievancePlatform | None:
    url = SichuanPlatformSettings().sichuan_platform_url
    return SichuanPlatform(url) if url else None


# Recognition: this province's variant of award campaigns and care visits.
from chelun.plugins.sichuan.recognition import chelun_assign_visits  # noqa: E402, F401
