"""Synthetic grievances for the demo: drivers' complaints in varied wording, over two months.

Each text is put together from parts (what happened, where, what the driver asks), so that no
two read alike; phones are drawn from the province's own roster (``phones``) for most of them,
so that grievances link to roster drivers, and left out for the rest (a hotline call).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

from chelun.identity.divisions import divisions

PLACES = ("服务区", "高速收费站", "物流园", "货运场站", "国道边", "停车场")
PLATFORMS = ("货运平台", "配货平台", "网络货运平台", "找货APP")
ASKS = ("希望有关部门尽快处理", "请帮忙协调", "请给个说法", "盼尽快解决", "希望早日解决")

#: What happened, per category: the texts a driver might write.
TEXTS: dict[str, tuple[str, ...]] = {
    "platform_fees": (
        "{platform}抽成越来越高，一单运费被扣掉近两成",
        "{platform}会员费一年涨了三次，不交就接不到单",
        "{platform}上货主压价严重，运价低于成本也只能拉",
        "{platform}信息费收了却没有派单，也不退钱",
    ),
    "fines_enforcement": (
        "在{place}附近被罚款两百元，说是超限，但过磅单是合格的",
        "执法人员态度粗暴，扣了驾驶证也不说明理由",
        "同一段路一天被查了三次，每次都罚款",
        "超限站称重结果前后不一致，罚款不合理",
    ),
    "parking_rest": (
        "{place}晚上车位全满，只能停在匝道边上，很危险",
        "{place}不让货车过夜停车，开了一天车没地方休息",
        "{place}停车收费太贵，一晚上要五十元",
    ),
    "theft": (
        "夜里在{place}休息，油箱被人撬开偷了三百升柴油",
        "车上的货物在{place}被盗，报警后一直没有结果",
        "{place}停车时篷布被割开，少了两件货",
    ),
    "pay_arrears": (
        "货主拖欠运费三个月没有结算，多次催要无果",
        "车队老板欠了我半年工资，一直拖着不给",
        "运费说好到货就付，现在一个多月了还没到账",
    ),
    "roads_services": (
        "{place}的卫生间常年坏着，热水也没有",
        "这段国道坑洼太多，货车经常爆胎",
        "{place}加油站柴油经常断供，排队要两个小时",
    ),
    "emergency_transport": (
        "运送防汛物资需要通行证，办了三天还没办下来",
        "大雪封路，车上拉的是急需的药品，请求帮忙协调放行",
        "疫情期间运送生活物资被拦在高速口，请求开通绿色通道",
    ),
    "other": (
        "想咨询一下货车司机参加社保的政策",
        "驾驶证年审能不能在外地办理",
        "司机之家什么时候能开到我们县",
    ),
}

CHANNELS = ("platform", "hotline", "branch", "paired_member", "service_point")


def generate_grievances(
    folder: Path,
    province: str,
    count: int,
    *,
    seed: int,
    phones: list[str],
    today: dt.date,
) -> Path:
    """Write ``count`` grievances of ``province`` received over the 60 days before ``today``
    as ``grievances.csv`` (the columns of ``chelun grievance import``); returns its path."""
    rng = random.Random(seed)
    counties = [d.code for d in divisions().counties(province)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "grievances.csv"
    categories = list(TEXTS)
    weights = (18, 20, 14, 8, 14, 12, 4, 10)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ref", "received_at", "text", "phone", "county", "channel"])
        for number in range(1, count + 1):
            category = rng.choices(categories, weights)[0]
            text = rng.choice(TEXTS[category]).format(
                place=rng.choice(PLACES), platform=rng.choice(PLATFORMS)
            )
            received = dt.datetime.combine(
                today - dt.timedelta(days=rng.randint(1, 60)),
                dt.time(rng.randint(7, 22), rng.choice((0, 15, 30, 45))),
            )
            writer.writerow(
                [
                    f"DEMO-{province}-{number:05d}",
                    received.strftime("%Y-%m-%d %H:%M"),
                    f"{text}，{rng.choice(ASKS)}。",
                    rng.choice(phones) if phones and rng.random() < 0.7 else "",
                    rng.choice(counties),
                    rng.choice(CHANNELS),
                ]
            )
    return path
