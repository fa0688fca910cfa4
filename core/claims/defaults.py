"""Core's default hook implementations of insurance claims, registered in every province.

They run after every plugin (``trylast``), so a province plugin's decision wins. Core offers no
scheme of its own and knows no insurer: those come from a province's plugin (Gansu's 车货无忧).
The checks and the assessment are in ``chelun.claims.checks`` (docs/claims.md).
"""

from __future__ import annotations

from chelun.claims.models import Assessment, CheckResult, ClaimItem, PriorClaim, Product
from chelun.hooks import hookimpl


@hookimpl(trylast=True)
def chelun_claim_products(province: str) -> list[Product]:
    return []


@hookimpl(trylast=True)
def chelun_check_claims(
    province: str, product: Product, claims: list[ClaimItem], prior: list[PriorClaim]
) -> list[CheckResult | None]:
    from chelun.claims.checks import check_claims

    return list(check_claims(product, claims, prior))


@hookimpl(trylast=True)
def chelun_assess_claims(
    province: str, product: Product, claims: list[ClaimItem], prior: list[PriorClaim]
) -> list[Assessment | None]:
    from chelun.claims.checks import assess_claims

    return list(assess_claims(product, claims, prior))
