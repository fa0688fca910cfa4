"""Core's default hook implementations of grievance routing, registered in every province.

They run after every plugin (``trylast``), so a province plugin's decision wins. The routing
rules are listed in docs/grievances.md.
"""

from __future__ import annotations

import re

from chelun.grievance.models import (
    Classification,
    Delivery,
    GrievanceItem,
    GrievancePlatform,
    Notice,
    Route,
)
from chelun.grievance.routing import (
    area_of,
    county_in,
    department,
    unit_name,
)
from chelun.hooks import hookimpl

#: Words and phrases that point to a category, with their weight. A grievance takes the category
#: whose words weigh most in its text; "other" when none is found. Longer, specific phrases weigh
#: more than words that turn up in many kinds of complaint (服务区, 罚).
KEYWORDS: dict[str, dict[str, int]] = {
    "platform_fees": {
        "平台": 2,
        "抽成": 4,
        "抽佣": 4,
        "佣金": 4,
        "会员费": 4,
        "信息费": 4,
        "服务费": 3,
        "技术服务费": 4,
        "续费": 3,
        "压价": 3,
        "竞价": 3,
        "低价": 2,
        "运价": 2,
        "派单": 3,
        "接单": 2,
        "封号": 4,
        "账号": 3,
        "保证金": 3,
        "满帮": 4,
        "运满满": 4,
        "货车帮": 4,
        "货拉拉": 4,
        "滴滴货运": 4,
        "快狗": 4,
        "货运软件": 4,
        "货运平台": 5,
        "APP": 2,
        "app": 2,
        "软件": 2,
        "乱收费": 2,
        "最低价": 2,
        "申诉": 2,
        "货源": 2,
    },
    "fines_enforcement": {
        "罚款": 3,
        "罚单": 4,
        "罚了": 3,
        "被罚": 3,
        "乱罚": 5,
        "处罚": 3,
        "罚": 1,
        "超载": 4,
        "超限": 4,
        "治超": 5,
        "称重": 3,
        "执法": 4,
        "交警": 3,
        "路政": 4,
        "运管": 4,
        "城管": 3,
        "检查站": 3,
        "查车": 3,
        "扣车": 4,
        "扣证": 4,
        "扣了我的": 3,
        "扣分": 3,
        "吊销": 4,
        "违停": 4,
        "违章": 4,
        "抓拍": 3,
        "电子眼": 3,
        "复议": 3,
        "拖车": 2,
        "改装": 2,
        "禁行": 2,
        "占道": 2,
    },
    "parking_rest": {
        "停车": 3,
        "车位": 4,
        "停车场": 3,
        "停车费": 3,
        "停放": 3,
        "过夜": 3,
        "睡觉": 2,
        "睡一觉": 3,
        "休息": 3,
        "歇": 2,
        "司机之家": 5,
        "厕所": 3,
        "上厕所": 3,
        "洗澡": 3,
        "热水": 2,
        "吃饭": 1,
        "赶我们走": 4,
        "没地方停": 5,
        "靠边停": 3,
        "服务区": 1,
        "停满": 4,
        "场地": 1,
    },
    "theft": {
        "偷": 5,
        "盗": 5,
        "被撬": 5,
        "撬": 4,
        "抢": 3,
        "失窃": 5,
        "丢了": 3,
        "丢失": 3,
        "偷油": 6,
        "抽油": 4,
        "不见了": 4,
        "拿跑": 5,
        "报警": 3,
        "派出所": 3,
        "碰瓷": 4,
        "卸走": 4,
        "监控": 2,
        "巡逻": 2,
        "拉走了": 2,
    },
    "pay_arrears": {
        "拖欠": 5,
        "欠款": 5,
        "欠了": 4,
        "欠薪": 5,
        "工资": 4,
        "运费": 2,
        "结算": 3,
        "结账": 3,
        "没有结": 3,
        "不付": 4,
        "付款": 3,
        "回款": 5,
        "回单": 3,
        "压着": 3,
        "押金": 4,
        "管理费": 3,
        "跑路": 4,
        "要不回来": 5,
        "讨薪": 5,
        "账期": 5,
        "尾款": 5,
        "赖账": 5,
        "不给钱": 5,
        "少了": 2,
        "扣工资": 4,
        "从工资里扣": 5,
        "按月结": 4,
        "垫": 2,
    },
    "roads_services": {
        "路况": 4,
        "坑": 3,
        "路面": 3,
        "修路": 4,
        "改造": 2,
        "施工": 3,
        "堵车": 3,
        "收费站": 2,
        "ETC": 4,
        "通行费": 4,
        "高速费": 4,
        "限高": 4,
        "桥": 2,
        "路灯": 4,
        "标志": 2,
        "警示": 2,
        "绕": 2,
        "加油站": 3,
        "加气站": 4,
        "充电桩": 4,
        "充电": 2,
        "年审": 4,
        "年检": 4,
        "检测站": 4,
        "换证": 4,
        "办证": 3,
        "办理": 2,
        "窗口": 3,
        "系统": 2,
        "道路运输证": 4,
        "从业资格证": 2,
        "通行证": 2,
        "进城": 3,
        "查验": 2,
        "单向通行": 3,
        "掉头": 2,
        "省道": 2,
        "国道": 1,
        "山路": 2,
    },
    "emergency_transport": {
        "应急": 5,
        "救灾": 5,
        "灾区": 5,
        "抢险": 5,
        "防汛": 5,
        "洪水": 4,
        "地震": 4,
        "暴雪": 4,
        "滑坡": 4,
        "疫情": 5,
        "防疫": 5,
        "封控": 5,
        "核酸": 4,
        "医疗物资": 5,
        "保供": 5,
        "物资": 3,
        "紧急": 3,
        "急需": 3,
        "绿色通道": 2,
        "被困": 4,
        "滞留": 4,
        "卡口": 3,
        "放行": 3,
        "调运": 4,
        "通行许可": 3,
        "开证明": 2,
        "氧气": 3,
    },
}
#: When two categories weigh the same, the first in this order wins.
PRIORITY = (
    "emergency_transport",
    "theft",
    "pay_arrears",
    "platform_fees",
    "fines_enforcement",
    "parking_rest",
    "roads_services",
)


def classify_text(text: str) -> Classification:
    """The category of a grievance's text by its words and phrases, with the words found."""
    best: tuple[int, int, str] | None = None
    found: dict[str, list[str]] = {}
    for category in PRIORITY:
        words = [word for word in KEYWORDS[category] if word in text]
        # A short word inside a longer word already counted adds nothing (偷 in 偷油).
        words = [w for w in words if not any(w != o and w in o for o in words)]
        score = sum(KEYWORDS[category][word] for word in words)
        found[category] = words
        if score and (best is None or score > best[0]):
            best = (score, -PRIORITY.index(category), category)
    subject = subject_of(text)
    if best is None:
        return Classification(
            category="other", reason="no words of a category found", subject=subject
        )
    category = best[2]
    return Classification(
        category=category,  # type: ignore[arg-type]
        reason=f"words of {category}: {', '.join(found[category][:5])} (weight {best[0]})",
        subject=subject,
    )


#: Freight platforms by the names drivers call them, each with the name a matter is kept under.
PLATFORMS: dict[str, str] = {
    "满帮": "满帮",
    "运满满": "满帮",
    "货车帮": "满帮",
    "货拉拉": "货拉拉",
    "滴滴货运": "滴滴货运",
    "快狗": "快狗打车",
    "路歌": "路歌",
    "福佑": "福佑卡车",
}
#: A named service area or parking area: two to eight Han characters before 服务区/停车区.
_PLACE = re.compile(r"([\u4e00-\u9fff]{2,8}?)(服务区|停车区)")
#: Words that end up before 服务区 without naming one (在服务区, 高速服务区).
_NOT_A_NAME = ("在", "的", "高速", "一个", "这个", "那个", "某", "附近", "个")


def subject_of(text: str) -> str | None:
    """What a grievance is about, when its text names it: a freight platform or a service area.

    The platform comes first (a fee dispute that mentions a service area is about the
    platform). A service area's name is the run of Han characters before 服务区, cut after
    the last word such as 在 or 的 that cannot be part of a name.
    """
    for word, platform in PLATFORMS.items():
        if word in text:
            return platform
    for match in _PLACE.finditer(text):
        name = match.group(1)
        for word in _NOT_A_NAME:
            if word in name:
                name = name[name.rindex(word) + len(word) :]
        if len(name) >= 2:
            return name + match.group(2)
    return None


@hookimpl(trylast=True)
def chelun_classify_grievances(grievances: list[GrievanceItem]) -> list[Classification | None]:
    return [classify_text(grievance.text) for grievance in grievances]


@hookimpl(trylast=True)
def chelun_route_grievances(province: str, grievances: list[GrievanceItem]) -> list[Route | None]:
    return [default_route(province, grievance) for grievance in grievances]


@hookimpl(trylast=True)
def chelun_grievance_platform(province: str) -> GrievancePlatform | None:
    from chelun.grievance.platform import default_platform

    return default_platform(province)


@hookimpl(trylast=True)
def chelun_grievance_deliveries(province: str, notices: list[Notice]) -> list[Delivery | None]:
    from chelun.grievance.notify import default_deliveries

    return default_deliveries(province, notices)


#: Core's rules, per category: the level of the first conference, the lead department, the
#: assisting ones and, where the settings' limits are too slow, working days to acknowledge and
#: to resolve. Explained in docs/grievances.md.
RULES: dict[str, tuple[str, str, tuple[str, ...], int | None, int | None]] = {
    # Platform fees (commissions, membership fees, price-crushing) are set by platforms that
    # work across counties and provinces: a county cannot summon them. The province's
    # conference leads; the inter-ministerial conference is one escalation away.
    "platform_fees": ("province", "transport", ("market", "cyberspace", "unions"), None, None),
    "fines_enforcement": ("county", "transport", ("traffic_police", "justice"), None, None),
    "parking_rest": ("county", "transport", ("traffic_police", "highways"), None, None),
    "theft": ("county", "police", ("transport",), None, None),
    "pay_arrears": ("county", "human_resources", ("transport", "justice", "unions"), None, None),
    "roads_services": ("county", "transport", ("highways",), None, None),
    # Passes for emergency supplies are issued by a city's command; they cannot wait weeks.
    "emergency_transport": ("city", "transport", ("traffic_police", "emergency"), 1, 2),
    "other": ("county", "transport", ("unions",), None, None),
}


def default_route(province: str, grievance: GrievanceItem) -> Route:
    """Core's routing of one grievance (``RULES``); the county is the grievance's own, else the
    linked driver's home county; without either, the province's conference takes it."""
    level, lead, assisting, ack_days, resolve_days = RULES[grievance.category or "other"]
    county = county_in(province, grievance.county)
    where = "the grievance's county"
    if county is None:
        county = county_in(province, grievance.home_county)
        where = "the driver's home county"
    reason = f"{grievance.category or 'other'} goes to the {level} conference"
    area = area_of(level, province, county)
    if area is None:
        level, area = "province", province
        reason += "; no county of the province known, so the province's conference takes it"
    elif level in ("county", "city"):
        reason += f" of {where}"
    return Route(
        level=level,  # type: ignore[arg-type]
        area=area,
        unit=unit_name(level, area),
        lead_department=department(lead, level),
        assisting=tuple(department(key, level) for key in assisting),
        reason=reason,
        ack_days=ack_days,
        resolve_days=resolve_days,
    )
