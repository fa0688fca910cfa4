"""Gansu's 车货无忧 (cargo and fuel, worry-free): free insurance for truck drivers against theft
of fuel and cargo while they rest at night in the province's expressway service areas.

The scheme is data: the service areas it covers, the night window, what it covers, its limits
and its policy years. Renewing the policy is one more ``PolicyPeriod`` below, not code.

Assumptions of this plugin, not published figures: the insurer (PICC's Gansu branch), the
limits (5,000 yuan an incident, 20,000 yuan a driver a policy year), the 200 yuan deductible,
the policy numbers, and the evidence asked for. The service areas are real ones along Gansu's
expressways; their coordinates are approximate (to about a kilometre or two) and their codes
(``GS-<road>-<nn>``, numbered along the road) are this plugin's own.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chelun import hookimpl
from chelun.claims.models import Evidence, PolicyPeriod, Product, Site

PROVINCES = ("62",)

G30 = "G30 连霍高速"
G3011 = "G3011 柳格高速"
G6 = "G6 京藏高速"
G22 = "G22 青兰高速"
G70 = "G70 福银高速"
G69 = "G69 银百高速"
G75 = "G75 兰海高速"
G7011 = "G7011 十天高速"
G8513 = "G8513 平绵高速"
G1816 = "G1816 乌玛高速"

#: (code, name, road, county code, latitude, longitude). The county is the six-digit code of
#: the county (or county-level district or city) the service area lies in; 嘉峪关 is a
#: prefecture-level city without counties, so its own code stands for the county.
_SITES: tuple[tuple[str, str, str, str, float, float], ...] = (
    # G30 连霍, east to west: 天水 - 定西 - 兰州 - 河西走廊 - 星星峡
    ("GS-G30-01", "天水服务区", G30, "620503", 34.58, 105.87),
    ("GS-G30-02", "甘谷服务区", G30, "620523", 34.73, 105.33),
    ("GS-G30-03", "武山服务区", G30, "620524", 34.72, 104.89),
    ("GS-G30-04", "陇西服务区", G30, "621122", 35.00, 104.64),
    ("GS-G30-05", "定西服务区", G30, "621102", 35.58, 104.63),
    ("GS-G30-06", "榆中服务区", G30, "620123", 35.84, 104.12),
    ("GS-G30-07", "永登服务区", G30, "620121", 36.74, 103.26),
    ("GS-G30-08", "天祝服务区", G30, "620623", 36.97, 103.14),
    ("GS-G30-09", "古浪服务区", G30, "620622", 37.47, 102.90),
    ("GS-G30-10", "武威服务区", G30, "620602", 37.93, 102.64),
    ("GS-G30-11", "永昌服务区", G30, "620321", 38.25, 101.97),
    ("GS-G30-12", "山丹服务区", G30, "620725", 38.78, 101.09),
    ("GS-G30-13", "张掖服务区", G30, "620702", 38.93, 100.45),
    ("GS-G30-14", "临泽服务区", G30, "620723", 39.15, 100.16),
    ("GS-G30-15", "高台服务区", G30, "620724", 39.38, 99.82),
    ("GS-G30-16", "清水服务区", G30, "620902", 39.58, 98.93),
    ("GS-G30-17", "酒泉服务区", G30, "620902", 39.74, 98.49),
    ("GS-G30-18", "嘉峪关服务区", G30, "620200", 39.80, 98.29),
    ("GS-G30-19", "玉门服务区", G30, "620981", 40.29, 97.05),
    ("GS-G30-20", "瓜州服务区", G30, "620922", 40.52, 95.78),
    ("GS-G30-21", "柳园服务区", G30, "620922", 41.10, 95.39),
    # G3011 柳格: 柳园 - 敦煌
    ("GS-G3011-01", "敦煌服务区", G3011, "620982", 40.14, 94.66),
    # G6 京藏: 景泰 - 白银 - 兰州
    ("GS-G6-01", "景泰服务区", G6, "620423", 37.19, 104.06),
    ("GS-G6-02", "白银服务区", G6, "620402", 36.55, 104.17),
    # G22 青兰: 平凉 - 静宁 - 会宁 - 定西
    ("GS-G22-01", "平凉服务区", G22, "620802", 35.54, 106.67),
    ("GS-G22-02", "静宁服务区", G22, "620826", 35.52, 105.73),
    ("GS-G22-03", "会宁服务区", G22, "620422", 35.69, 105.05),
    # G70 福银: 泾川
    ("GS-G70-01", "泾川服务区", G70, "620821", 35.33, 107.37),
    # G69 银百: 环县 - 庆阳
    ("GS-G69-01", "环县服务区", G69, "621022", 36.57, 107.31),
    ("GS-G69-02", "庆阳服务区", G69, "621002", 35.73, 107.64),
    # G75 兰海: 兰州 - 临洮 - 渭源 - 岷县 - 宕昌 - 武都
    ("GS-G75-01", "临洮服务区", G75, "621124", 35.38, 103.86),
    ("GS-G75-02", "渭源服务区", G75, "621123", 35.14, 104.21),
    ("GS-G75-03", "岷县服务区", G75, "621126", 34.43, 104.04),
    ("GS-G75-04", "宕昌服务区", G75, "621223", 34.05, 104.39),
    ("GS-G75-05", "武都服务区", G75, "621202", 33.39, 104.92),
    # G7011 十天: 徽县 - 成县
    ("GS-G7011-01", "徽县服务区", G7011, "621227", 33.77, 106.09),
    ("GS-G7011-02", "成县服务区", G7011, "621221", 33.74, 105.74),
    # G8513 平绵: 庄浪 - 秦安
    ("GS-G8513-01", "庄浪服务区", G8513, "620825", 35.20, 106.04),
    ("GS-G8513-02", "秦安服务区", G8513, "620522", 34.86, 105.67),
    # G1816 乌玛: 兰州 - 刘家峡 - 临夏 - 合作
    ("GS-G1816-01", "刘家峡服务区", G1816, "622923", 35.93, 103.31),
    ("GS-G1816-02", "临夏服务区", G1816, "622921", 35.49, 103.00),
    ("GS-G1816-03", "合作服务区", G1816, "623001", 35.00, 102.91),
)

#: 车货无忧. The insurer (人保财险甘肃省分公司, PICC's Gansu branch), the figures and the policy
#: numbers are this plugin's assumptions; the operator replaces them with the policy's own.
CHEHUOWUYOU = Product(
    code="gansu-chehuowuyou",
    name="车货无忧",
    province="62",
    insurer="人保财险甘肃省分公司",
    sites=tuple(
        Site(code=code, name=name, road=road, county=county, latitude=lat, longitude=lon)
        for code, name, road, county, lat, lon in _SITES
    ),
    night_start=dt.time(22, 0),
    night_end=dt.time(6, 0),
    covered=("fuel", "cargo"),
    per_incident_limit=Decimal("5000.00"),
    per_driver_year_limit=Decimal("20000.00"),
    deductible=Decimal("200.00"),
    periods=(
        # The bundled policy, live today.
        PolicyPeriod(
            policy_no="PICC-GS-2026-CHWY", start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31)
        ),
        # Its renewal: data, not code.
        PolicyPeriod(
            policy_no="PICC-GS-2027-CHWY", start=dt.date(2027, 1, 1), end=dt.date(2027, 12, 31)
        ),
    ),
    evidence=Evidence(police_report=True, min_photos=1),
)


@hookimpl
def chelun_claim_products(province: str) -> list[Product]:
    """Gansu offers 车货无忧 (this plugin serves province 62 only)."""
    return [CHEHUOWUYOU] if province == "62" else []
