"""The processing run of a province's claims: evidence, checks, assessment, then submission.

``process`` takes every claim as far as it can go, in steps, each in batches of
``claims_batch`` claims (in the order of their ids), one transaction per batch:

1. Evidence: a ``reported`` claim with a police report number (when its scheme asks for one)
   and at least the scheme's number of photos becomes ``evidence_complete``; the others wait at
   ``reported`` for an operator to ``attach`` what is missing.
2. Checks: claims with complete evidence and appealed claims are decided through the hook
   ``chelun_check_claims`` (core's rules in ``chelun.claims.checks`` decide what no plugin
   does) and become ``checked`` (with the policy number) or ``rejected`` (with a reason code).
   An appeal that set a refusal aside (``ClaimsService.appeal(..., override=...)``, read from
   the claim's last ``appealed`` event) has that one check skipped: a plugin's refusal for the
   reason set aside is replaced by core's decision without that check.
3. Assessment: checked claims get their payable amount through ``chelun_assess_claims`` and
   become ``assessed``; one with nothing payable is ``rejected``, as ``annual_limit_reached``
   when the driver's limit for the policy period is used up, else ``nothing_payable``.
4. Submission: ``chelun.claims.insurer.submit_pending`` sends the assessed claims.

Every change is a conditional UPDATE (``WHERE status = <the status read>``), one statement per
batch, with its events in the same transaction; the events name the deciding plugin as actor
(``plugin:<name>``) and the claim records it (``checked_by``, ``assessed_by``). Two runs at once
never decide a claim twice: on PostgreSQL a batch's rows are locked (``FOR UPDATE SKIP
LOCKED``) and the other run passes them by; on SQLite a batch's transaction is the only writer.

Two runs at once each see the other's batch only once it is committed: two claims of one
driver the same night, or near the driver's limit, that fall into batches of two concurrent
runs are each checked without the other. The assessment of the later one still counts what the
earlier was assessed if it runs after it; the duplicate is not caught then. To rule it out,
start one run per province at a time (``chelun.storage.locks.run_lock`` around the run).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, Select, bindparam, func, select, update

from chelun.claims.checks import (
    ZERO,
    assess_claims,
    check_claims,
    incident_date,
    limit_left,
    used_in_period,
)
from chelun.claims.models import Assessment, CheckResult, ClaimItem, PriorClaim, Product
from chelun.claims.service import ClaimError, ClaimsService, appeal_overrides
from chelun.identity.codes import driver_code
from chelun.plugin_manager import PluginError, decide_batch
from chelun.storage.events import NewEvent, now, record
from chelun.storage.tables import Claim, Driver

if TYPE_CHECKING:
    from chelun.claims.models import InsurerClient

#: Core's default implementations, named as the deciding plugin when core decides.
CORE = "chelun.claims.defaults"
#: The statuses the checks take: evidence complete, or appealed (checked again).
TO_CHECK = ("evidence_complete", "appealed")
#: What a claim must hold to be checked (a claim imported without them is quarantined).
NEEDED = (Claim.incident_time, Claim.night_of, Claim.loss_type, Claim.amount_claimed)
#: The columns a ``ClaimItem`` is built from.
ITEM_COLUMNS = (
    Claim.id,
    Claim.ref,
    Claim.status,
    Claim.driver_id,
    Claim.incident_time,
    Claim.night_of,
    Claim.site,
    Claim.loss_type,
    Claim.amount_claimed,
    Claim.police_report_no,
    Claim.photos,
)


@dataclass(frozen=True)
class ProcessResult:
    """What a processing run did: claims moved by each step, and those left waiting for
    evidence (``reported``) at the end."""

    evidence_complete: int = 0
    checked: int = 0
    rejected: int = 0
    assessed: int = 0
    submitted: int = 0
    waiting: int = 0
    #: Claims the insurer did not take in this run, and why (a line each; no personal data).
    submit_failed: int = 0
    #: Assessed claims not tried: no insurer client for their scheme, or the insurer is down.
    insurer_waiting: int = 0
    problems: tuple[str, ...] = ()


def process(service: ClaimsService, *, client: InsurerClient | None = None) -> ProcessResult:
    """Check and assess every claim that can be, then submit the assessed ones to their
    insurer (through ``client`` when given, else the scheme's plugin client).

    One run at a time checks and assesses a province's claims (the run lock
    ``claims-check:<province>``; a second run is refused with ``LockBusy``): two runs deciding
    at once could each let one of a driver's two claims of a night, or of the last of a yearly
    limit, through. Submission needs no lock: each claim is claimed for sending on its own.
    """
    from chelun.claims.insurer import submit_pending
    from chelun.storage.locks import run_lock

    with run_lock(service.database, f"claims-check:{service.province}", service.actor):
        result = check_and_assess(service)

    sent = submit_pending(service, client=client)
    return dataclasses.replace(
        result,
        submitted=sent.submitted,
        submit_failed=sent.failed,
        insurer_waiting=sent.waiting,
        problems=tuple(sent.problems),
    )


def check_and_assess(service: ClaimsService) -> ProcessResult:
    """Steps 1 to 3 of a processing run (see the module's docstring); nothing is submitted."""
    evidence = checked = rejected = assessed = 0
    relink(service)
    for product in service.products().values():
        evidence += complete_evidence(service, product)
        passed, refused = check_pending(service, product)
        valued, nothing = assess_pending(service, product)
        checked += passed
        assessed += valued
        rejected += refused + nothing
    with service.database.engine.connect() as connection:
        waiting = connection.execute(
            select(func.count())
            .select_from(Claim)
            .where(Claim.province == service.province, Claim.status == "reported")
        ).scalar_one()
    return ProcessResult(evidence, checked, rejected, assessed, 0, waiting)


def relink(service: ClaimsService) -> int:
    """Link to the roster the claims not yet decided whose driver was not on it when they were
    reported but is now (by ID number), so that they are not refused as ``not_on_roster``."""
    driver = (
        select(Driver.id)
        .where(
            Driver.province == Claim.province,
            Driver.id_number == Claim.id_number,
            Driver.status == "active",
        )
        .order_by(Driver.id)
        .limit(1)
        .scalar_subquery()
    )
    with service.database.connect() as connection:
        return connection.execute(
            update(Claim)
            .where(
                Claim.province == service.province,
                Claim.driver_id.is_(None),
                Claim.id_number.is_not(None),
                Claim.status.in_(("reported", "evidence_complete", "appealed")),
                driver.is_not(None),
            )
            .values(driver_id=driver)
            .execution_options(preserve_rowcount=True)
        ).rowcount


def _in_batches(
    service: ClaimsService,
    query: Select[Any],
    work: Callable[[Connection, Sequence[Row[Any]]], tuple[int, int]],
) -> tuple[int, int]:
    """Run ``work`` on the rows of ``query`` (which selects ``Claim.id`` first) in batches by
    id, each batch in its own write transaction, and add up the counts it returns. On
    PostgreSQL a batch's rows are locked and rows another run holds are skipped."""
    last = 0
    totals = (0, 0)
    while True:
        with service.database.connect() as connection:
            rows = connection.execute(
                query.where(Claim.id > last)
                .order_by(Claim.id)
                .limit(service.settings.claims_batch)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return totals
            last = rows[-1].id
            done = work(connection, rows)
        totals = (totals[0] + done[0], totals[1] + done[1])


def _mine(service: ClaimsService, product: Product) -> tuple[Any, ...]:
    return (Claim.province == service.province, Claim.product == product.code)


# --- step 1: evidence ------------------------------------------------------------------------


def complete_evidence(service: ClaimsService, product: Product) -> int:
    """Move the product's ``reported`` claims whose evidence is complete to
    ``evidence_complete``; how many."""
    wanted = product.evidence
    conditions = [*_mine(service, product), Claim.status == "reported"]
    conditions += [column.is_not(None) for column in NEEDED]
    conditions.append(Claim.photos >= wanted.min_photos)
    if wanted.police_report:
        conditions += [Claim.police_report_no.is_not(None), Claim.police_report_no != ""]
    report = "police report number given, " if wanted.police_report else ""

    def move(connection: Connection, rows: Sequence[Row[Any]]) -> tuple[int, int]:
        at = now()
        changes = [
            {"row": row.id, "was": "reported", "status": "evidence_complete", "updated_at": at}
            for row in rows
        ]
        events = [
            service.event(
                row.ref,
                "evidence_complete",
                f"evidence complete: {report}{row.photos} photo(s), {wanted.min_photos} needed",
                {"photos": row.photos},
            )
            for row in rows
        ]
        _write(connection, changes, events)
        return len(rows), 0

    query = select(Claim.id, Claim.ref, Claim.photos).where(*conditions)
    return _in_batches(service, query, move)[0]


# --- what the hooks see ----------------------------------------------------------------------


def _item(service: ClaimsService, product: Product, row: Row[Any]) -> ClaimItem:
    return ClaimItem(
        ref=row.ref,
        province=service.province,
        product=product.code,
        driver=driver_code(service.province, row.driver_id) if row.driver_id else None,
        incident_time=row.incident_time,
        night_of=row.night_of,
        site=row.site,
        loss_type=row.loss_type,
        amount_claimed=row.amount_claimed,
        police_report=bool(row.police_report_no),
        photos=row.photos,
    )


def _prior(
    connection: Connection, service: ClaimsService, product: Product, rows: Sequence[Row[Any]]
) -> list[PriorClaim]:
    """The other claims under the product of the batch's drivers. An approved claim counts
    with the amount the insurer approved (as ``amount_payable``)."""
    drivers = {row.driver_id for row in rows} - {None}
    if not drivers:
        return []
    query = select(
        Claim.ref,
        Claim.driver_id,
        Claim.site,
        Claim.night_of,
        Claim.status,
        Claim.policy_no,
        Claim.amount_payable,
        Claim.amount_approved,
        Claim.amount_paid,
    ).where(
        *_mine(service, product),
        Claim.driver_id.in_(drivers),
        Claim.id.not_in([row.id for row in rows]),
        Claim.night_of.is_not(None),
    )
    return [
        PriorClaim(
            ref=other.ref,
            driver=driver_code(service.province, other.driver_id),
            site=other.site,
            night_of=other.night_of,
            status=other.status,
            policy_no=other.policy_no,
            amount_payable=other.amount_approved
            if other.status == "approved" and other.amount_approved is not None
            else other.amount_payable,
            amount_paid=other.amount_paid,
        )
        for other in connection.execute(query.order_by(Claim.id))
    ]


def _decide(
    service: ClaimsService,
    hook: str,
    kind: type,
    product: Product,
    items: list[ClaimItem],
    prior: list[PriorClaim],
) -> tuple[list[Any], str]:
    """The first plugin's decision for each item (None for those it leaves to core), and the
    plugin's name. A list of the wrong length or holding something else is its error."""
    answers, plugin = decide_batch(
        service.pm,
        hook,
        len(items),
        kind,
        province=service.province,
        product=product,
        claims=items,
        prior=prior,
    )
    return answers, plugin or CORE


def _filled(
    answers: list[Any], plugin: str, core: Callable[[], list[Any]], redo: list[bool]
) -> list[tuple[Any, str]]:
    """Each decision with the plugin that made it: core's own (``core()``, computed once, only
    if needed) where the plugin left an item None or ``redo`` says so."""
    ours: list[Any] | None = None
    decided = []
    for index, answer in enumerate(answers):
        if answer is None or redo[index]:
            ours = ours if ours is not None else core()
            decided.append((ours[index], CORE))
        else:
            decided.append((answer, plugin))
    return decided


# --- step 2: checks --------------------------------------------------------------------------


def check_pending(service: ClaimsService, product: Product) -> tuple[int, int]:
    """Check the product's claims with complete evidence and the appealed ones; how many
    became ``checked`` and how many ``rejected``."""
    conditions = [*_mine(service, product), Claim.status.in_(TO_CHECK)]
    conditions += [column.is_not(None) for column in NEEDED]
    return _in_batches(
        service,
        select(*ITEM_COLUMNS).where(*conditions),
        lambda connection, rows: _check_batch(service, product, connection, rows),
    )


def _check_batch(
    service: ClaimsService, product: Product, connection: Connection, rows: Sequence[Row[Any]]
) -> tuple[int, int]:
    hook = "chelun_check_claims"
    items = [_item(service, product, row) for row in rows]
    prior = _prior(connection, service, product, rows)
    appealed = [row.ref for row in rows if row.status == "appealed"]
    skip = {
        ref: (code,)
        for ref, code in appeal_overrides(connection, service.province, appealed).items()
    }
    answers, plugin = _decide(service, hook, CheckResult, product, items, prior)
    # A refusal for the reason an appeal set aside is decided again by core, without that check.
    redo = [
        answer is not None and not answer.eligible and answer.reason_code in skip.get(item.ref, ())
        for answer, item in zip(answers, items, strict=True)
    ]
    decided = _filled(answers, plugin, lambda: check_claims(product, items, prior, skip=skip), redo)
    at = now()
    changes = []
    events = []
    passed = refused = 0
    for row, item, (result, by) in zip(rows, items, decided, strict=True):
        result = _with_policy(product, item, result, by, hook)
        change = {
            "row": row.id,
            "was": row.status,
            "checked_by": by,
            "policy_no": result.policy_no,
            "updated_at": at,
        }
        if result.eligible:
            passed += 1
            change |= {"status": "checked", "reason_code": None, "reason": None}
            data: dict[str, Any] = {"policy_no": result.policy_no}
            if item.ref in skip:
                data["override"] = skip[item.ref][0]
            events.append(service.event(item.ref, "checked", result.reason, data, f"plugin:{by}"))
        else:
            refused += 1
            change |= {
                "status": "rejected",
                "reason_code": result.reason_code,
                "reason": result.reason,
            }
            events.append(_rejected(service, item.ref, result.reason_code, result.reason, by))
        changes.append(change)
    _write(connection, changes, events)
    return passed, refused


def _write(connection: Connection, changes: list[dict[str, Any]], events: list[NewEvent]) -> None:
    """A batch's changes in one UPDATE statement (executemany), each conditional on the status
    read (``was``), and their events. The rows are this run's (locked on PostgreSQL, the only
    writer on SQLite): should one have changed all the same, the batch is rolled back rather
    than recorded for a change that did not happen."""
    done = connection.execute(
        update(Claim).where(Claim.id == bindparam("row"), Claim.status == bindparam("was")),
        changes,
    ).rowcount
    if connection.dialect.supports_sane_multi_rowcount and done != len(changes):
        raise ClaimError(
            f"{len(changes) - done} of {len(changes)} claims changed while they were being "
            "processed; nothing of their batch was written: run the processing again"
        )
    record(connection, events)


def _with_policy(
    product: Product, item: ClaimItem, result: CheckResult, by: str, hook: str
) -> CheckResult:
    """An eligible claim goes on under a policy: the one the decision names, else the period
    covering the incident's date; a plugin finding eligible a claim no period covers errs."""
    if not result.eligible or result.policy_no is not None:
        return result
    period = product.period(incident_date(item))
    if period is None:
        raise PluginError(
            by, hook, f"found claim {item.ref} eligible, but no policy period covers it"
        )
    return result.model_copy(update={"policy_no": period.policy_no})


def _rejected(service: ClaimsService, ref: str, code: str | None, reason: str, by: str) -> NewEvent:
    return service.event(
        ref, "rejected", f"{code}: {reason}", {"reason_code": code}, f"plugin:{by}"
    )


# --- step 3: assessment ----------------------------------------------------------------------


def assess_pending(service: ClaimsService, product: Product) -> tuple[int, int]:
    """Assess the product's checked claims; how many became ``assessed`` and how many were
    ``rejected`` with nothing payable."""
    conditions = [*_mine(service, product), Claim.status == "checked"]
    conditions += [column.is_not(None) for column in NEEDED]
    return _in_batches(
        service,
        select(*ITEM_COLUMNS).where(*conditions),
        lambda connection, rows: _assess_batch(service, product, connection, rows),
    )


def _assess_batch(
    service: ClaimsService, product: Product, connection: Connection, rows: Sequence[Row[Any]]
) -> tuple[int, int]:
    items = [_item(service, product, row) for row in rows]
    prior = _prior(connection, service, product, rows)
    answers, plugin = _decide(service, "chelun_assess_claims", Assessment, product, items, prior)
    decided = _filled(
        answers, plugin, lambda: assess_claims(product, items, prior), [False] * len(items)
    )
    at = now()
    earlier: dict[tuple[str, str], Decimal] = {}
    changes = []
    events = []
    valued = nothing = 0
    for row, item, (assessment, by) in zip(rows, items, decided, strict=True):
        payable: Decimal = assessment.payable
        change = {
            "row": row.id,
            "was": row.status,
            "amount_payable": payable,
            "assessed_by": by,
            "updated_at": at,
        }
        period = product.period(incident_date(item))
        key = (item.driver or "", period.policy_no if period else "")
        if payable > 0:
            valued += 1
            earlier[key] = earlier.get(key, ZERO) + payable
            change |= {"status": "assessed", "reason_code": None, "reason": None}
            data = {"amount_payable": str(payable)}
            events.append(
                service.event(item.ref, "assessed", assessment.reason, data, f"plugin:{by}")
            )
        else:
            nothing += 1
            # Nothing payable because the driver's limit is used up says so to the driver.
            code = "nothing_payable"
            if period is not None and item.driver is not None:
                used = used_in_period(item.driver, period, prior, earlier.get(key, ZERO))
                if limit_left(product, used) <= 0:
                    code = "annual_limit_reached"
            change |= {"status": "rejected", "reason_code": code, "reason": assessment.reason}
            events.append(_rejected(service, item.ref, code, assessment.reason, by))
        changes.append(change)
    _write(connection, changes, events)
    return valued, nothing
