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

        Calls: once per intake (one ``RosterIntake``), whatever the number of files.

        Asked when the intake stages its first file, for the province being ingested; staging in
        worker processes hands them the profiles, not the hook, and an intake that stages
        nothing never asks. Call ``register(profile)`` for each profile; core registers the four
        usual kinds (transport licensing, public security, party member database, village
        survey) and runs last, so a plugin's profile named like a built-in one replaces it; when
        two profiles fit a file equally, a plugin's wins. Contribution hook, not firstresult:
        every implementation runs. Must not do I/O.
        """

    @hookspec
    def chelun_branches(
        self,
        province: str,
        enterprises: list[EnterpriseSummary],
        register: Callable[[Branch], None],
    ) -> None:
        """Contribute the party branches that member drivers of ``province`` can join.

        Calls: once per enrolment run, whatever the number of drivers.

        Receives the province's enterprises as the roster counts them (drivers and member
        drivers each). Call ``register(branch)`` for each enterprise, mobile (logistics park,
        enforcement unit) or grid branch. Core's default, which runs last, registers an
        enterprise branch for every enterprise with at least three member drivers and a mobile
        branch per city plus one for the province. A code registered twice keeps its first
        registration. Codes must be stable across runs: assignments refer to them. Contribution
        hook, not firstresult: every implementation runs. May read the province's own directory
        (I/O allowed); must be idempotent.
        """

    @hookspec(firstresult=True)
    def chelun_assign_branch(
        self, driver: DriverProfile, branches: BranchDirectory
    ) -> BranchAssignment | None:
        """Decide the branch of one member driver.

        Calls: once per member driver without a branch, in each enrolment run.

        Those are the province's active member drivers with an ID number and no branch yet: a
        driver no implementation placed is asked again in the next run. Receives the directory
        of the branches the province registered (lookups by enterprise, county and grid).
        Return a ``BranchAssignment`` naming a registered branch code and the reason, or None to
        let the next implementation decide. firstresult: stops at the first non-None result;
        core's default (the enterprise branch of the driver's enterprise, else the mobile branch
        of the home county, its city or the province) runs last. Must be pure: no I/O, the same
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

        Calls: once per home city with members and unpaired drivers, in each enrolment run.

        A home city is the prefecture of the home county (its first four digits). Only active
        drivers with an ID number and a home county count, and a city is asked when it has at
        least one member driver and one ordinary driver not yet paired. Receives that city's
        member drivers, its ordinary drivers not yet paired, how many drivers each member
        already has (``loads``) and the most a member may have (``cap``, the
        ``CHELUN_PAIRING_CAP`` setting). Return the new pairings (each ordinary driver at most
        once, no member over the cap), or None to let the next implementation decide.
        firstresult: stops at the first non-None result; core's default, which runs last, pairs
        within the home county, least-loaded member first. Must be pure and deterministic.
        """

    @hookspec(firstresult=True)
    def chelun_check_phones(
        self, province: str, checks: list[PhoneCheck]
    ) -> list[VerificationOutcome] | None:
        """Verify drivers by phone (电话核实) through the province's provider.

        Calls: once per batch of up to 1,000 drivers at the phone stage, in each verification run.

        A batch (``PHONE_BATCH``) holds drivers waiting at the phone stage, in roster order:
        those the cross-source match did not confirm and who have a phone number. The run stops
        asking at the first batch that no implementation answers (all return None): without a
        provider the hook is called once per run, and never when no driver waits. Return one
        outcome per check (confirmed, failed, unreachable); drivers left out stay at the phone
        stage. Return None when this plugin has no provider. firstresult: stops at the first
        non-None result. May do I/O (httpx, with timeouts); must be safe to call again for the
        same batch.
        """

    @hookspec(firstresult=True)
    def chelun_home_visits(self, province: str, drivers: list[str]) -> list[HomeVisit] | None:
        """Report home-visit results (上门走访) for drivers waiting at the visit stage.

        Calls: once per batch of up to 5,000 drivers at the visit stage, in each verification run.

        A batch (``VISIT_BATCH``) holds the codes of drivers waiting at the visit stage, in
        roster order: those with no phone number or whom the phone check did not confirm. The
        run stops asking at the first batch that no implementation answers (all return None):
        without visit records the hook is called once per run, and never when no driver waits.
        Return the visits the province's platform has recorded for any of them, or None when
        this plugin keeps no visit records. firstresult: stops at the first non-None result.
        May do I/O; must be safe to call again.
        """


SPEC = RosterSpec
