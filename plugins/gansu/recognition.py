"""Gansu (甘肃, 62): recognition.

Gansu pays theft claims under its 车货无忧 scheme, and an award must not go to anyone who tried
to cheat it: a driver with any claim rejected for fraud, whenever reported (core looks at the
campaign's period only), is not eligible, and neither is a fleet one of whose drivers had a
claim rejected for fraud in the period (core checks drivers only).
"""

from __future__ import annotations

from chelun import hookimpl
from chelun.recognition.models import AwardKind, CampaignInfo, Eligibility, NominationItem

PROVINCES = ("62",)


def fraud_rule(item: NominationItem) -> Eligibility | None:
    """Gansu's exclusion of one nominee, or None to leave the nominee to core."""
    if item.nominee_kind == "driver" and item.fraud_claims_ever:
        return Eligibility(
            eligible=False,
            rule="fraud_claim",
            reason=f"Gansu: {item.fraud_claims_ever} 车货无忧 claim(s) rejected for fraud, at "
            "any time",
        )
    if item.nominee_kind == "enterprise" and item.drivers_fraud_claims:
        return Eligibility(
            eligible=False,
            rule="fleet_fraud_claim",
            reason=f"Gansu: {item.drivers_fraud_claims} 车货无忧 claim(s) of the fleet's drivers "
            "rejected for fraud in the period",
        )
    return None


@hookimpl
def chelun_check_nominations(
    province: str, kind: AwardKind, campaign: CampaignInfo, nominations: list[NominationItem]
) -> list[Eligibility | None]:
    return [fraud_rule(item) for item in nominations]
