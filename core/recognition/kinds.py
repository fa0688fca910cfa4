"""The awards core registers in every province, as the pilot ran them: pioneer fleets (先锋车队),
outstanding member truck drivers (优秀党员货车司机) and most beautiful truck drivers (最美货车司机).

A province's plugin replaces one by registering a kind with the same code, or adds its own.
"""

from __future__ import annotations

from decimal import Decimal

from chelun.recognition.models import AwardKind, Criterion, FactWeight, Quotas

D = Decimal

PIONEER_FLEET = AwardKind(
    code="pioneer_fleet",
    name="先锋车队",
    nominee="enterprise",
    nominators=("branch", "city_committee"),
    quotas=Quotas(nominations_per_unit=2, per_unit=1, per_city=2, per_province=5),
    criteria=(
        Criterion(code="organisation", name="组织建设", weight=D("0.4")),
        Criterion(code="service", name="服务保障", weight=D("0.3")),
        Criterion(code="safety", name="安全生产", weight=D("0.3")),
    ),
    facts=(
        FactWeight(fact="members", points=D("1"), cap=D("10")),
        FactWeight(fact="paired", points=D("0.2"), cap=D("10")),
    ),
    notice_days=5,
    disqualifiers=("unsafe",),
    description="Fleets whose member drivers lead in organisation, service and safety.",
)

OUTSTANDING_MEMBER_DRIVER = AwardKind(
    code="outstanding_member_driver",
    name="优秀党员货车司机",
    nominee="member_driver",
    nominators=("branch", "city_committee"),
    quotas=Quotas(nominations_per_unit=3, per_unit=1, per_city=3, per_province=10),
    criteria=(
        Criterion(code="deeds", name="先进事迹", weight=D("0.5")),
        Criterion(code="role", name="作用发挥", weight=D("0.3")),
        Criterion(code="esteem", name="群众评价", weight=D("0.2")),
    ),
    facts=(
        FactWeight(fact="paired", points=D("0.5"), cap=D("10")),
        FactWeight(fact="relayed", points=D("1"), cap=D("10")),
        FactWeight(fact="years_clean", points=D("1"), cap=D("5")),
    ),
    notice_days=5,
    disqualifiers=("unverified", "upheld_complaint", "fraud_claim", "unsafe"),
    description="Member drivers who pair with drivers, relay their grievances and drive safely.",
)

MOST_BEAUTIFUL_DRIVER = AwardKind(
    code="most_beautiful_driver",
    name="最美货车司机",
    nominee="driver",
    nominators=("branch", "enterprise", "city_committee"),
    quotas=Quotas(nominations_per_unit=2, per_unit=1, per_city=2, per_province=10),
    criteria=(
        Criterion(code="deeds", name="先进事迹", weight=D("0.6")),
        Criterion(code="esteem", name="群众评价", weight=D("0.4")),
    ),
    facts=(FactWeight(fact="years_clean", points=D("2"), cap=D("10")),),
    notice_days=7,
    disqualifiers=("unverified", "upheld_complaint", "fraud_claim", "unsafe"),
    description="Any driver on the roster, for deeds of courage, kindness or service.",
)

STANDARD_KINDS: tuple[AwardKind, ...] = (
    PIONEER_FLEET,
    OUTSTANDING_MEMBER_DRIVER,
    MOST_BEAUTIFUL_DRIVER,
)
