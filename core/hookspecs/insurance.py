"""Insurance hooks: schemes, coverage, assessment and submission to the insurer.

Declared only: core does not call these hooks yet.
"""

from __future__ import annotations

from collections.abc import Callable

from chelun.hookspecs import hookspec
from chelun.models.insurance import (
    Claim,
    ClaimAssessment,
    CoverageDecision,
    InsuranceScheme,
    SubmissionReceipt,
)


class InsuranceSpec:
    """Hooks of the insurance claims capability."""

    @hookspec
    def chelun_insurance_schemes(
        self, province: str, register: Callable[[InsuranceScheme], None]
    ) -> None:
        """Contribute the insurance schemes that cover drivers of ``province``.

        Called once when a claim batch starts. Call ``register(scheme)`` for each scheme in force
        (sites, night window, policy period, per-incident limits); a province without a scheme
        registers none. A later scheme with the same code replaces an earlier one. Contribution
        hook, not firstresult: every implementation runs. May read the province's policy records
        (I/O allowed); must be idempotent.
        """

    @hookspec(firstresult=True)
    def chelun_check_coverage(
        self, claim: Claim, scheme: InsuranceScheme
    ) -> CoverageDecision | None:
        """Decide whether a claim's incident is covered by the scheme it names.

        Called once for each new claim, with the registered scheme of that code. Return a
        ``CoverageDecision`` (covered or not, the checks that failed among site, night window,
        policy period, kind of loss and evidence, and the reasons), or None to let the next
        implementation decide. firstresult: stops at the first non-None result. Must be pure: no
        I/O, same answer for the same input.
        """

    @hookspec(firstresult=True)
    def chelun_assess_claim(
        self, claim: Claim, scheme: InsuranceScheme, coverage: CoverageDecision
    ) -> ClaimAssessment | None:
        """Decide how much to pay on a claim.

        Called once for each claim after its coverage decision, covered or not. Return a
        ``ClaimAssessment`` with the approved amount (zero rejects), the amount by kind of loss
        within the scheme's per-incident limits, and the reasons, or None to let the next
        implementation decide. firstresult: stops at the first non-None result. Must be pure: no
        I/O, same answer for the same input.
        """

    @hookspec(firstresult=True)
    def chelun_submit_claim(
        self, claim: Claim, assessment: ClaimAssessment, idempotency_key: str
    ) -> SubmissionReceipt | None:
        """Submit an assessed claim to the insurer's system.

        Called by the claim batch for each claim with a non-zero approved amount, and again on
        retries with the same ``idempotency_key``. Return the insurer's ``SubmissionReceipt``, or
        None when this plugin does not talk to the claim's insurer. firstresult: stops at the first
        non-None result. May do I/O (httpx, with timeouts); must be idempotent on
        ``idempotency_key``: a second call with the same key files nothing new and returns the
        receipt of the first submission.
        """
