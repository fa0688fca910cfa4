"""Sichuan (四川, 51): recognition.

Care visits are hosted by Sichuan's Warm Heart Homes (暖心之家), where drivers on the road eat,
sleep, shower and wash at a discount: a driver whose home city has one is visited there, by the
visitor core assigns, rather than sought out at home.
"""

from __future__ import annotations

from chelun import hookimpl
from chelun.recognition.defaults import default_assignment
from chelun.recognition.models import VisitAssignment, VisitItem

PROVINCES = ("51",)

#: The Warm Heart Homes by the city (prefecture, first four digits) they serve.
WARM_HEART_HOMES: dict[str, str] = {
    "5101": "成都暖心之家(青白江)",
    "5103": "自贡暖心之家",
    "5105": "泸州暖心之家",
    "5106": "德阳暖心之家",
    "5107": "绵阳暖心之家",
    "5108": "广元暖心之家",
    "5109": "遂宁暖心之家",
    "5110": "内江暖心之家",
    "5111": "乐山暖心之家",
    "5113": "南充暖心之家",
    "5114": "眉山暖心之家",
    "5115": "宜宾暖心之家",
    "5116": "广安暖心之家",
    "5117": "达州暖心之家",
    "5118": "雅安暖心之家",
    "5119": "巴中暖心之家",
    "5120": "资阳暖心之家",
    "5134": "西昌暖心之家",
}


@hookimpl
def chelun_assign_visits(province: str, visits: list[VisitItem]) -> list[VisitAssignment | None]:
    assignments: list[VisitAssignment | None] = []
    for visit in visits:
        home = WARM_HEART_HOMES.get((visit.home_county or "")[:4])
        if home is None:
            assignments.append(None)
            continue
        core = default_assignment(visit)
        assignments.append(
            core.model_copy(update={"place": home, "reason": f"{core.reason}; hosted at {home}"})
        )
    return assignments
