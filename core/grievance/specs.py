"""Grievance hooks: classifying grievances and routing them to the joint conferences."""

from __future__ import annotations

from chelun.grievance.models import Classification, GrievanceItem, Route
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


SPEC = GrievanceSpec
