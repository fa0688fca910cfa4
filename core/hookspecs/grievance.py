"""Grievance hooks: channels, routing to joint conferences, escalation, calendar, notifications.

Declared only: core does not call these hooks yet.
"""

from __future__ import annotations

from collections.abc import Callable

from chelun.hookspecs import hookspec
from chelun.models.grievance import (
    EscalationDecision,
    Grievance,
    GrievanceChannel,
    HandlingStep,
    NotificationChannel,
    RoutingDecision,
    WorkingDayOverride,
)


class GrievanceSpec:
    """Hooks of the grievance routing capability."""

    @hookspec
    def chelun_grievance_channels(self, register: Callable[[GrievanceChannel], None]) -> None:
        """Contribute the channels grievances arrive through.

        Called once when grievance intake starts. Call ``register(channel)`` for each branch,
        pairing, provincial platform, Driver's Home or hotline channel the plugin serves. A later
        channel with the same code replaces an earlier one. Contribution hook, not firstresult:
        every implementation runs. Must not do I/O.
        """

    @hookspec(firstresult=True)
    def chelun_route_grievance(self, grievance: Grievance) -> RoutingDecision | None:
        """Decide where a new grievance is handled first.

        Called once for each grievance received, before any level handles it. Return a
        ``RoutingDecision`` naming the level (county, city, province, or national for
        freight-platform issues), the conference or body, the departments brought in, the deadline
        in working days and the reason, or None to let the next implementation decide. firstresult:
        stops at the first non-None result. Must be pure: no I/O, same answer for the same
        grievance.
        """

    @hookspec(firstresult=True)
    def chelun_escalate_grievance(
        self, grievance: Grievance, history: list[HandlingStep], overdue: bool
    ) -> EscalationDecision | None:
        """Decide what happens to a grievance its current level did not settle.

        Called when the body handling it reports that it cannot settle it, and by the sweep when its
        deadline passes (``overdue`` is True). ``history`` lists the levels that handled it, oldest
        first; the last step is the current one. Return an ``EscalationDecision`` that sends it up
        (with the next level's routing) or extends the current deadline, with the reason, or None to
        let the next implementation decide. firstresult: stops at the first non-None result. Must be
        pure: no I/O, same answer for the same input.
        """

    @hookspec
    def chelun_working_day_overrides(
        self, province: str, register: Callable[[WorkingDayOverride], None]
    ) -> None:
        """Contribute local changes to the national working-day calendar of ``province``.

        Called once when deadlines are computed for the province. Call ``register(override)``
        for each local holiday or local make-up working day; the national holidays and make-up
        weekends (调休) are core's, not a plugin's. A later override of the same day and divisions
        replaces an earlier one. Contribution hook, not firstresult: every implementation runs.
        May read the province's calendar (I/O allowed); must be idempotent.
        """

    @hookspec
    def chelun_notification_channels(self, register: Callable[[NotificationChannel], None]) -> None:
        """Contribute the channels that tell drivers, contacts and bodies about grievances.

        Called once when grievance handling starts. Call ``register(channel)`` for each channel; its
        ``send`` is called later for each notification and may do I/O, idempotent on the
        notification's key. A later channel with the same code replaces an earlier one. Contribution
        hook, not firstresult: every implementation runs. The hook itself must not do I/O.
        """
