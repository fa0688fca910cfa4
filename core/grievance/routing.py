"""The joint conferences (联席会议) and their departments, level by level, and escalation.

A grievance is handled by the joint conference of an area: a county, a city (prefecture), the
province, or the inter-ministerial conference (``national``) for what a province cannot settle
about freight platforms. Departments are named as at their level: 交通运输局 in a county or
city, 交通运输厅 in the province, 交通运输部 nationally.
"""

from __future__ import annotations

from dataclasses import dataclass

from chelun.grievance.models import LEVELS
from chelun.identity.divisions import divisions

NATIONAL = "national"
NATIONAL_UNIT = "交通运输新业态协同监管部际联席会议"

#: A department's name at each level (county, city, province, national).
DEPARTMENTS: dict[str, tuple[str, str, str, str]] = {
    "transport": ("交通运输局", "交通运输局", "交通运输厅", "交通运输部"),
    "police": ("公安局", "公安局", "公安厅", "公安部"),
    "traffic_police": (
        "公安局交通警察大队",
        "公安局交通警察支队",
        "公安厅交通警察总队",
        "公安部交通管理局",
    ),
    "human_resources": (
        "人力资源和社会保障局",
        "人力资源和社会保障局",
        "人力资源和社会保障厅",
        "人力资源和社会保障部",
    ),
    "market": ("市场监督管理局", "市场监督管理局", "市场监督管理局", "国家市场监督管理总局"),
    "cyberspace": ("网信办", "网信办", "省委网信办", "国家互联网信息办公室"),
    "justice": ("司法局", "司法局", "司法厅", "司法部"),
    "highways": ("公路事业发展中心", "公路事业发展中心", "公路事业发展中心", "交通运输部公路局"),
    "emergency": ("应急管理局", "应急管理局", "应急管理厅", "应急管理部"),
    "unions": ("总工会", "总工会", "总工会", "中华全国总工会"),
}


def department(key: str, level: str) -> str:
    """A department's name at a level: ``department("transport", "province")`` is 交通运输厅."""
    return DEPARTMENTS[key][LEVELS.index(level)]


def department_at(name: str, level: str) -> str:
    """The same department one level up or down: 交通运输局 at province level is 交通运输厅.
    A name not in ``DEPARTMENTS`` (a plugin's own unit) stays as it is."""
    for names in DEPARTMENTS.values():
        if name in names:
            return names[LEVELS.index(level)]
    return name


def county_in(province: str, code: str | None) -> str | None:
    """``code`` when it is a county (or county-level) code of ``province``, else None."""
    if not code or len(code) != 6 or not code.isdigit() or not code.startswith(province):
        return None
    division = divisions().get(code)
    if division is None or division.level != "county":
        return None
    return code


def area_of(level: str, province: str, county: str | None) -> str | None:
    """The area whose conference handles a grievance at ``level``; None when it needs a county
    and none is known."""
    if level == NATIONAL:
        return NATIONAL
    if level == "province":
        return province
    if county is None:
        return None
    return county if level == "county" else county[:4] + "00"


def unit_name(level: str, area: str) -> str:
    """The joint conference of an area: 锦江区货车司机权益保障联席会议 ..."""
    if level == NATIONAL:
        return NATIONAL_UNIT
    if level == "province":
        name = divisions().province_names.get(area, area)
    else:
        division = divisions().get(area)
        name = division.name if division is not None else area
    return f"{name}货车司机权益保障联席会议"


@dataclass(frozen=True)
class Escalation:
    """Where an overdue grievance goes next."""

    level: str
    area: str
    unit: str
    lead_department: str


def escalation(
    category: str | None, level: str, area: str, province: str, lead_department: str
) -> Escalation | None:
    """One level up: county to city to province; past the province only platform matters, to the
    inter-ministerial conference. None when there is nowhere further to go."""
    if level == "county":
        up, up_area = "city", area[:4] + "00"
    elif level == "city":
        up, up_area = "province", province
    elif level == "province" and category == "platform_fees":
        up, up_area = NATIONAL, NATIONAL
    else:
        return None
    return Escalation(up, up_area, unit_name(up, up_area), department_at(lead_department, up))
