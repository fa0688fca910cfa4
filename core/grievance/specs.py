"""Grievance hooks: classifying grievances and routing them to the joint conferences."""

from __future__ import annotations

from chelun.grievance.models import (
    Classification,
    Delivery,
    GrievanceItem,
    GrievancePlatform,
    Notice,
    Route,
)
from chelun.hooks import hookspec


class GrievanceSpec:
    """Hooks of the grievance routing capability."""

    @hookspec(firstresult=True)
    def chelun_classify_grievances(
        self, province: str, grievances: list[GrievanceItem]
    ) -> list[Classification | None] | None:
        """Decide the category of each grievance of a batch.

        Calls: once per batch of up to 1,000 new grievances, in each routing run.

        A routing run takes the province's grievances received and not yet routed, in the order
        they were imported, in batches of ``CHELUN_GRIEVANCE_BATCH`` (1,000 unless set). Return a
        list as long as ``grievances``, in the same order, with a ``Classification`` (category
        and reason) for each grievance this implementation decides and None for those it leaves
        to core; or None to leave the whole batch to the next
        implementation. firstresult: stops at the first non-None result; grievances it left as
        None are classified by core's default (keywords and phrases of the Chinese text), which
        also runs last. The plugin that decided is recorded with each grievance. Must be pure:
        no I/O, the same answer for the same input; never quote the text in a reason.
        """

    @hookspec(firstresult=True)
    def chelun_route_grievances(
        self, province: str, grievances: list[GrievanceItem]
    ) -> list[Route | None] | None:
        """Decide who handles each grievance of a batch: the level, the joint conference, the
        lead department and the departments that assist.

        Calls: once per batch of up to 1,000 new grievances, in each routing run.

        Receives the same batch as ``chelun_classify_grievances``, each with its ``category``
        set, its county and, when linked to the roster, the driver's code and home county.
        Return a list as long as ``grievances``, in the same order, with a ``Route`` for each
        grievance this implementation decides and None for those it leaves to core; or None to
        leave the whole batch to the next implementation. firstresult: stops at the first
        non-None result; grievances left as None are routed by core's default rules
        (docs/grievances.md), which also run last. The plugin that decided is recorded with each
        grievance. Must be pure: no I/O, the same answer for the same input.
        """

    @hookspec(firstresult=True)
    def chelun_grievance_platform(self, province: str) -> GrievancePlatform | None:
        """The province platform whose grievances ``chelun grievance pull`` fetches.

        Calls: once per pull, before the first page.

        Return an object that builds each page's request and reads each answer (see
        ``GrievancePlatform``), or None to leave it to the next implementation. Core's default
        (last) reads a plain JSON feed at ``CHELUN_GRIEVANCE_PLATFORM_URL`` when that is set
        (docs/grievances.md); with no platform at all the pull says so. firstresult.
        """

    @hookspec(firstresult=True)
    def chelun_grievance_deliveries(
        self, province: str, notices: list[Notice]
    ) -> list[Delivery | None] | None:
        """Decide how each notice of a batch reaches its recipient.

        Calls: once per batch of up to 100 notices, in each ``chelun grievance notify`` run.

        Return a list as long as ``notices``, in the same order, with a ``Delivery`` (an HTTP
        POST core sends, retries and never repeats once accepted) for each notice this
        implementation delivers and None for those it leaves to core; or None to leave the
        whole batch to the next implementation. Core's default posts replies to drivers to
        ``CHELUN_GRIEVANCE_REPLY_URL`` and notices to conferences to
        ``CHELUN_GRIEVANCE_HANDLER_URL``; a notice nobody delivers is marked unsent. firstresult:
        stops at the first non-None result; notices it left as None go to core's default. The
        delivery's channel is recorded with each notice. Must be pure: no I/O.
        """


SPEC = GrievanceSpec
