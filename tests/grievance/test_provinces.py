"""Each pilot province routes some grievances its own way; the others are core's."""

from __future__ import annotations

import datetime as dt

import pytest

from chelun.calendar import BEIJING
from chelun.grievance.defaults import classify_text
from chelun.grievance.models import GrievanceItem, Route
from chelun.plugin_manager import PluginHost, decide
from chelun.settings import Settings

RECEIVED = dt.datetime(2026, 10, 12, 9, 0, tzinfo=BEIJING)


def routed(province: str, text: str, county: str) -> tuple[Route | None, str]:
    item = GrievanceItem(
        ref="T-1",
        province=province,
        received_at=RECEIVED,
        text=text,
        county=county,
        category=classify_text(text).category,
    )
    pm = PluginHost(Settings(), entry_points=False).manager(province)
    decision = decide(pm, "chelun_route_grievances", province=province, grievances=[item])
    assert decision is not None
    return decision.value[0], decision.plugin


@pytest.mark.parametrize(
    ("province", "text", "county", "plugin", "level", "lead"),
    [
        ("51", "交警在路口乱罚款，一天开了三张罚单", "510104", "sichuan", "city", "交通运输局"),
        (
            "62",
            "服务区晚上停车，油箱被撬偷油",
            "620102",
            "gansu",
            "province",
            "车货无忧保险工作专班",
        ),
        ("52", "山体滑坡道路中断，救灾物资急需通行", "520102", "guizhou", "province", "交通运输厅"),
        ("32", "服务区没有车位，只能停在匝道上", "321102", "jiangsu", "county", "交通运输局"),
    ],
)
def test_each_pilot_province_has_a_routing_of_its_own(
    province: str, text: str, county: str, plugin: str, level: str, lead: str
) -> None:
    route, decided_by = routed(province, text, county)
    assert decided_by == plugin
    assert route is not None
    assert (route.level, route.lead_department) == (level, lead)


def test_zhenjiang_grievances_have_the_industry_committee_assisting() -> None:
    route, _ = routed("32", "服务区没有车位，只能停在匝道上", "321102")
    assert route is not None and "镇江市交通运输行业党委" in route.assisting


def test_what_a_province_does_not_change_is_left_to_core() -> None:
    route, plugin = routed("51", "服务区没有车位，只能停在匝道上", "510104")
    assert plugin == "sichuan" and route is None  # None: core's default routes it
