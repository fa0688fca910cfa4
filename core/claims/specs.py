"""Claims hooks: the schemes a province offers, the checks, the assessment and the insurer."""

from __future__ import annotations

from chelun.claims.models import (
    Assessment,
    CheckResult,
    ClaimItem,
    InsurerClient,
    PriorClaim,
    Product,
)
from chelun.hooks import hookspec


class ClaimsSpec:
    """Hooks of the insurance claims capability."""

    @hookspec
    def chelun_claim_products(self, province: str) -> list[Product]:
        """The insurance schemes (products) the province offers, as data.

        Calls: whenever a claims command or flow starts for the province.

        Return a list of ``Product`` (sites, night window, what is covered, limits, deductible,
        policy periods, evidence), possibly empty. Not firstresult: every plugin serving the
        province adds its own; two products with one code are refused. Core offers none: a
        province without a plugin scheme has no claims. Must be pure: no I/O.
        """

    @hookspec(firstresult=True)
    def chelun_check_claims(
        self, province: str, product: Product, claims: list[ClaimItem], prior: list[PriorClaim]
    ) -> list[CheckResult | None] | None:
        """Decide whether each claim of a batch may go on to assessment.

        Calls: once per batch of up to 500 claims with complete evidence, in each processing
        run; ``prior`` holds the other claims of the batch's drivers.

        Return a list as long as ``claims``, in the same order, with a ``CheckResult`` for each
        claim this implementation decides and None for those it leaves to core; or None to leave
        the whole batch to the next implementation. firstresult: stops at the first non-None
        result; claims left as None are checked by core's default (on the roster, inside a
        policy period, at a covered site, inside the night window, a covered loss, the annual
        limit not reached, no other claim of the driver at the site that night), which also runs
        last. A refusal carries a reason code a driver can read. The plugin that decided is
        recorded. Must be pure: no I/O.
        """

    @hookspec(firstresult=True)
    def chelun_assess_claims(
        self, province: str, product: Product, claims: list[ClaimItem], prior: list[PriorClaim]
    ) -> list[Assessment | None] | None:
        """Compute the amount payable for each claim of a batch, in Decimal yuan.

        Calls: once per batch of up to 500 checked claims, in each processing run.

        Return a list as long as ``claims``, in the same order, with an ``Assessment`` for each
        claim this implementation decides and None for those it leaves to core; or None to leave
        the whole batch to the next implementation. firstresult: stops at the first non-None
        result; core's default (last) pays the amount claimed less the deductible, at most the
        per-incident limit and what is left of the driver's limit for the policy year (claims
        approved or paid count, and so do those assessed before in the same batch). Must be
        pure: no I/O; never a float.
        """

    @hookspec(firstresult=True)
    def chelun_insurer_client(self, province: str, product: Product) -> InsurerClient | None:
        """The client that submits a product's claims to its insurer and asks their status.

        Calls: once per processing or sync run, per product with claims to send or follow.

        Return an object with ``submit(submission, idempotency_key)``, ``status(insurer_claim_id)``
        and ``close()`` (see ``InsurerClient``), or None to leave it to the next implementation.
        firstresult. Core has no insurer of its own: claims of a product without a client wait
        at ``assessed``. Core gives each claim its idempotency key and payload fingerprint and
        keeps them, so a claim reaches the insurer once however often a run is retried or killed.
        """


SPEC = ClaimsSpec
