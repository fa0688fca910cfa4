"""Roster intake hooks: sources, verification, enrolment and pairing."""

from __future__ import annotations

from collections.abc import Callable

from chelun.hooks import hookspec
from chelun.roster.models import (
    Branch,
    BranchAssignment,
    BranchDirectory,
    DriverProfile,
    EnterpriseSummary,
    HomeVisit,
    Pairing,
    PhoneCheck,
    SourceProfile,
    VerificationOutcome,
)


class RosterSpec:
    """Hooks of the roster intake capability."""

    @hookspec
    def chelun_source_profiles(self, register: Callable[[SourceProfile], None]) -> None:
        """Contribute source profiles: the kinds of file an intake recognises by their headers.

        Called once when an intake starts, for the province being ingested. Call
        ``register(profile)`` for each profile; core registers the four usual kinds
        (transport licensing, public security, party member database, village survey) and runs
        last, so a plugin's profile named like a built-in one replaces it; when two profiles
        fit a file equally, a plugin's wins. Contribution hook, not firstresult: every
        implementation runs. Must not do I/O.
        """

    @hookspec
    def chelun_branches(
        self,
        province: str,
        enterprises: list[EnterpriseSummary],
        register: Callable[[Branch], None],
    ) -> None:
        """Contribute the party branches that member drivers of ``province`` can join.

        Called once per enrolment run, with the province's enterprises as the roster counts
        them (drivers and member drivers each). Call ``register(branch)`` for each enterprise,
        mobile (logistics park, enforcement unit) or grid branch. Core's default, which runs
        last, registers an enterprise branch for every enterprise with at least three member
        drivers and a mobile branch per city plus one for the province. A code registered
        twice keeps its first registration. Codes must be stable across runs: assignments refer
        to them. Contribution hook, not firstresult: every implementation runs. May read the
        province's own directory (I/O allowed); must be idempotent.
        """

    @hookspec(firstresult=True)
    def chelun_assign_branch(
        self, driver: DriverProfile, branches: BranchDirectory
    ) -> BranchAssignment | None:
        """Decide the branch of one member driver.

        Called during enrolment for each member driver without a branch, with the directory of
        the branches the province registered (lookups by enterprise, county and grid). Return a
        ``BranchAssignment`` naming a registered branch code and the reason, or None to let the
        next implementation decide. firstresult: stops at the first non-None result; core's
        default (the enterprise branch of the driver's enterprise, else the mobile branch of
        the home county, its city or the province) runs last. Must be pure: no I/O, the same
        answer for the same input.
        """

    @hookspec(firstresult=True)
    def chelun_pair_drivers(
        self,
        province: str,
        members: list[DriverProfile],
        drivers: list[DriverProfile],
        loads: dict[str, int],
        cap: int,
    ) -> list[Pairing] | None:
        """Pair ordinary drivers with member drivers, who become their contact person.

        Called once per enrolment run with the province's member drivers, its ordinary drivers
        not yet paired, how many drivers each member already has (``loads``) and the most a
        member may have (``cap``, the ``CHELUN_PAIRING_CAP`` setting). Return the new pairings
        (each ordinary driver at most once, no member over the cap), or None to let the next
        implementation decide. firstresult: stops at the first non-None result; core's default,
        which runs last, pairs within the home county, least-loaded member first. Must be pure
        and deterministic.
        """

    @hookspec(firstresult=True)
    def chelun_check_phones(
        self, province: str, checks: list[PhoneCheck]
    ) -> list[VerificationOutcome] | None:
        """Verify drivers by phone (电话核实) through the province's provider.

        Called by the verification run with a batch of drivers that the cross-source match did
        not confirm. Return one outcome per check (confirmed, failed, unreachable); drivers
        left out stay at the phone stage. Return None when this plugin has no provider.
        firstresult: stops at the first non-None result. May do I/O (httpx, with timeouts);
        must be safe to call again for the same batch.
        """

    @hookspec(firstresult=True)
    def chelun_home_visits(self, province: str, drivers: list[str]) -> list[HomeVisit] | None:
        """Report home-visit results (上门走访) for drivers waiting at the visit stage.

        Called by the verification run with the codes of drivers whose phone check failed.
        Return the visits the province's platform has recorded for any of them, or None when
        this plugin keeps no visit records. firstresult: stops at the first non-None result.
        May do I/O; must be safe to call again.
        """


SPEC = RosterSpec
