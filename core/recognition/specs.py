"""Recognition hooks: award kinds, eligibility, safety records, scoring, publishing the final
list, and choosing and assigning care visits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from chelun.hooks import hookspec
from chelun.recognition.models import (
    AwardKind,
    CampaignInfo,
    Eligibility,
    ListEntry,
    NominationItem,
    Publication,
    SafetyRecord,
    Score,
    VisitAssignment,
    VisitCandidate,
    VisitItem,
    VisitSelection,
)


class RecognitionSpec:
    """Hooks of the recognition capability (award campaigns and care visits)."""

    @hookspec
    def chelun_award_kinds(self, province: str, register: Callable[[AwardKind], None]) -> None:
        """Contribute the awards a province runs campaigns for.

        Calls: once per command or flow that needs the province's awards (``chelun awards
        kinds``, ``open``).

        Call ``register(kind)`` for each ``AwardKind``: who can be nominated, who may nominate,
        the quotas, the criteria and their weights, the facts that add points, the public
        notice period in working days and the disqualifiers. Core registers three (pioneer
        fleets, outstanding member truck drivers, most beautiful truck drivers) and runs last;
        a code registered twice keeps its first registration, so a plugin's kind with a core
        code replaces core's. A campaign keeps the kind as it was when opened. Contribution
        hook, not firstresult: every implementation runs. Must be pure: no I/O.
        """

    @hookspec(firstresult=True)
    def chelun_safety_records(
        self, province: str, nominees: list[str], since: dt.date, until: dt.date
    ) -> list[SafetyRecord | None] | None:
        """Supply the safety and conduct record of each nominee for a period.

        Calls: once per batch of up to 500 nominees, when nominations are received and when a
        campaign's eligibility is checked.

        ``nominees`` are driver codes and fleets' credit codes. Return a list as long as
        ``nominees``, in the same order, with a ``SafetyRecord`` (violations, accidents, credit
        blacklisting, upheld complaints, the last violation) for each nominee this source knows
        and None for the others; or None when this plugin keeps no records. firstresult: stops
        at the first non-None result. Core keeps no such record (its default returns None): an
        award whose disqualifiers include ``no_safety_record`` then excludes every nominee. May
        do I/O (httpx, with timeouts); must be safe to call again.
        """

    @hookspec(firstresult=True)
    def chelun_check_nominations(
        self,
        province: str,
        kind: AwardKind,
        campaign: CampaignInfo,
        nominations: list[NominationItem],
    ) -> list[Eligibility | None] | None:
        """Decide whether each nominee of a batch is eligible for the award, and why.

        Calls: once per batch of up to 500 nominations, when a nomination file is received
        (an ineligible nominee is refused) and when the campaign's eligibility is checked.

        Each nomination carries the facts core read: on the roster and active, verified, a
        member, the driver's claims rejected for fraud (in the period and ever), the safety
        record a plugin supplied. Return a list as long as ``nominations``, in the same order,
        with an ``Eligibility`` (every exclusion with its rule and reason) for each nomination
        this implementation decides and None for those it leaves to core; or None to leave the
        whole batch to the next implementation. firstresult: stops at the first non-None
        result; nominations left as None are checked by core's default (on the roster and
        active, a member for member-only awards, then the kind's disqualifiers), which also
        runs last. The plugin that decided is recorded with each nomination. Must be pure: no
        I/O, the same answer for the same input.
        """

    @hookspec(firstresult=True)
    def chelun_score_nominations(
        self,
        province: str,
        kind: AwardKind,
        campaign: CampaignInfo,
        nominations: list[NominationItem],
    ) -> list[Score | None] | None:
        """Score each eligible nominee of a batch.

        Calls: once per batch of up to 500 eligible nominations, when a campaign is scored.

        Each nomination carries its reviewers' mean score per criterion (``scores``) and the
        facts core read (drivers paired, grievances relayed, the safety record ...). Return a
        list as long as ``nominations``, in the same order, with a ``Score`` (the reviewers'
        part, the facts' part and where every point comes from) for each nomination this
        implementation scores and None for those it leaves to core; or None to leave the whole
        batch to the next implementation. firstresult: stops at the first non-None result;
        nominations left as None are scored by core's default (each criterion's weight times
        its mean score, plus each fact's points up to its cap), which also runs last. Core then
        ranks by total, the reviewers' part, then the nominee's code, and applies the quotas.
        The plugin that scored is recorded. Must be pure: no I/O.
        """

    @hookspec
    def chelun_award_publications(
        self, province: str, campaign: CampaignInfo, entries: list[ListEntry]
    ) -> list[Publication]:
        """Say where a published final list goes besides chelun's own export.

        Calls: once per campaign, when its final list is published (``chelun awards publish``
        or the last ``advance``); a later publish run resends what was not accepted without
        asking again.

        ``entries`` are the awarded nominees in rank order, by public identifier. Return a list
        of ``Publication`` (an HTTP POST core sends with an ``Idempotency-Key``, retries, and
        never repeats once accepted), possibly empty. Not firstresult: every plugin serving the
        province adds its own; two with one channel keep the first. Core publishes nowhere
        else. Must be pure: no I/O (core does the sending).
        """

    @hookspec(firstresult=True)
    def chelun_select_for_visits(
        self, province: str, period: str, candidates: list[VisitCandidate]
    ) -> list[VisitSelection | None] | None:
        """Decide which drivers a care-visit plan takes for a period, and why.

        Calls: once per batch of up to 1,000 candidates, in each ``chelun visits plan`` run.

        Candidates are the province's active member drivers and the drivers the data shows in
        hardship (a claim rejected in the look-back days, a grievance unresolved for long), not
        yet planned for the period. Return a list as long as ``candidates``, in the same order,
        with a ``VisitSelection`` (visit or not, member or hardship, and why) for each candidate
        this implementation decides and None for those it leaves to core; or None to leave the
        whole batch to the next implementation. firstresult: stops at the first non-None
        result; core's default (last) visits member drivers not visited in the member interval
        and every driver in hardship. The plugin that decided is recorded. Must be pure: no I/O.
        """

    @hookspec(firstresult=True)
    def chelun_assign_visits(
        self, province: str, visits: list[VisitItem]
    ) -> list[VisitAssignment | None] | None:
        """Decide who makes each planned visit of a batch, and where.

        Calls: once per batch of up to 1,000 visits, in each ``chelun visits plan`` run.

        Return a list as long as ``visits``, in the same order, with a ``VisitAssignment``
        (a branch secretary or an instructor, the unit, the place) for each visit this
        implementation assigns and None for those it leaves to core; or None to leave the whole
        batch to the next implementation. firstresult: stops at the first non-None result;
        core's default (last) gives a member's visit to the secretary of their branch, a paired
        driver's to the secretary of their paired member's branch, and any other to the
        party-building instructor of the driver's home county. The plugin that assigned is
        recorded. Must be pure: no I/O.
        """


SPEC = RecognitionSpec
