"""Recognition and care hooks: award kinds, eligibility, scoring, quotas, care visit targets.

Declared only: core does not call these hooks yet.
"""

from __future__ import annotations

from collections.abc import Callable

from chelun.hookspecs import hookspec
from chelun.models.recognition import (
    AwardKind,
    CareVisitTarget,
    EligibilityDecision,
    Nomination,
    Score,
)


class RecognitionSpec:
    """Hooks of the recognition and care capability."""

    @hookspec
    def chelun_award_kinds(self, register: Callable[[AwardKind], None]) -> None:
        """Contribute the kinds of award campaigns can run.

        Called once when a campaign is set up. Call ``register(award)`` for each award kind
        (collective or individual, members only or not, clean record required, notice period, quota
        rules). A later award kind with the same code replaces an earlier one. Contribution hook,
        not firstresult: every implementation runs. Must not do I/O.
        """

    @hookspec(firstresult=True)
    def chelun_check_eligibility(
        self, nomination: Nomination, award: AwardKind
    ) -> EligibilityDecision | None:
        """Decide whether a nominee may receive an award.

        Called once for each nomination when nominations close, and again when an objection is
        upheld. Return an ``EligibilityDecision`` (eligible or not, with the reasons: member only,
        safety record, anything the province requires), or None to let the next implementation
        decide. firstresult: stops at the first non-None result. May read the province's records
        (read-only I/O, e.g. a safety record); must be idempotent.
        """

    @hookspec(firstresult=True)
    def chelun_score_nomination(self, nomination: Nomination, award: AwardKind) -> Score | None:
        """Score an eligible nomination.

        Called once for each eligible nomination before the ranking. Return a ``Score`` with the
        points, their breakdown by criterion and the reason, or None to let the next implementation
        decide. firstresult: stops at the first non-None result. Must be pure: no I/O, same score
        for the same input.
        """

    @hookspec(firstresult=True)
    def chelun_quota(self, award: AwardKind, province: str, city: str | None) -> int | None:
        """Decide how many finalists an award may have in a province, or in one of its cities.

        Called when the ranking is cut, once for the province (``city`` is None) and once for each
        city with nominations (``city`` is a four-digit code). Return the number of finalists
        allowed (zero or more), or None to let the next implementation decide. firstresult: stops at
        the first non-None result. Must be pure: no I/O.
        """

    @hookspec
    def chelun_care_visit_targets(
        self, province: str, register: Callable[[CareVisitTarget], None]
    ) -> None:
        """Contribute the drivers of ``province`` to visit in a care visit plan (走访慰问).

        Called once when a care visit plan is drawn up. Call ``register(target)`` for each member
        driver or driver to visit, with a short reason category and a priority. A later target for
        the same driver replaces an earlier one. Contribution hook, not firstresult: every
        implementation runs. May read the province's records (I/O allowed); must be idempotent.
        """
