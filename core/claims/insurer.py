"""Submitting assessed claims to a scheme's insurer exactly once, and following their decisions.

The insurer is a plugin's (``chelun_insurer_client``); ``HttpInsurerClient`` speaks the claims
API of the outside contract (docs/claims.md) and is what a plugin usually returns.

Exactly once. The insurer creates a claim for every new ``Idempotency-Key`` and answers the
stored response to a repeat of a key with the same body; it does not deduplicate by claim
reference. So each claim is sent in three steps:

1. Prepare and claim, committed before anything is sent: the claim's idempotency key (derived
   from the province, the ref and the number of appeals, so that a retry reuses it and an
   appealed claim sent again gets a new one), its body (canonical JSON) and the body's SHA-256
   fingerprint are stored, and ``sending_at`` is set by a conditional UPDATE (only if it is
   empty or older than ``CHELUN_CLAIMS_STALE_MINUTES``): two runs at once never send one claim
   at the same time.
2. Send the stored bytes under the stored key. A claim that has a key is never given a new
   body: if its data changed since, the first body is sent again (the insurer may hold it
   already) and the change is reported for an operator (``changed``, and ``changed: true`` in
   the event).
3. Record the insurer's answer (``submitted``, the insurer's claim id), conditional on the claim
   still being held by this run, with an event ``submitted`` (the id and the fingerprint, never
   the body).

A run killed between 2 and 3 leaves the claim ``assessed`` with its key and ``sending_at``;
once that is stale, the next run sends the same bytes with the same key and the insurer answers
the stored response: the claim exists at the insurer once. A failure after the client's own
retries clears ``sending_at`` at once (resending under the key is safe, and the next run should
not wait for the stale time); a refusal that is not transient also records ``submit_failed``.

Messages and events name the claim's ref, the insurer's claim id, HTTP statuses and exception
classes: never a body, an ID number or a name.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import ValidationError
from sqlalchemy import Row, and_, func, or_, select, update

from chelun.calendar import BEIJING
from chelun.claims.models import InsurerAnswer, Product, Submission, money
from chelun.plugin_manager import PluginError, decide
from chelun.storage.events import now, record
from chelun.storage.tables import Claim

if TYPE_CHECKING:
    import httpx

    from chelun.claims.models import InsurerClient
    from chelun.claims.service import ClaimsService

HOOK = "chelun_insurer_client"
#: Requests of one call at most: the first and three retries.
ATTEMPTS = 4
#: Seconds before the first retry, doubled before each further one (less a random jitter).
BACKOFF = 0.5
#: Seconds a ``Retry-After`` (or the backoff) may make a retry wait at most.
MAX_WAIT = 30.0
#: Claims read per query of a run.
BATCH = 200
#: Problems kept in a run's result for its report.
PROBLEMS_KEPT = 50
#: The longest idempotency key stored (the column's size).
KEY_LIMIT = 80
#: A ref that fits this is readable inside its key; any other ref is hashed.
_PLAIN_REF = re.compile(r"[A-Za-z0-9._]{1,50}(?:-[A-Za-z0-9._]{1,50})*")
#: What a field of the insurer's answer that is stored here may hold.
_TOKEN = re.compile(r"[\x21-\x7e]{1,64}")
#: The statuses a submitted claim may be in while the insurer decides and pays.
FOLLOWED = ("submitted", "approved")


class InsurerError(Exception):
    """The insurer did not take a request: ``transient`` when asking again later may work
    (timeouts, dropped connections, 5xx, 429), not when it refused what was sent (4xx).

    The message is one line: the request, the HTTP status or the exception's class, the
    attempts; never a body.
    """

    def __init__(self, message: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status


# --- the contract's client --------------------------------------------------------------------


def canonical_body(submission: Submission) -> bytes:
    """The body of ``POST /v1/claims``: JSON with sorted keys, no spaces and UTF-8 text, so the
    same submission is always the same bytes (the insurer compares bodies under one key)."""
    return json.dumps(
        submission.model_dump(mode="json"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")


def retry_after(value: str | None, *, limit: float = MAX_WAIT) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (whole seconds or an HTTP date), at most
    ``limit``; None when there is none or it cannot be read."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), limit)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return min(max((when - now()).total_seconds(), 0.0), limit)


class HttpInsurerClient:
    """The insurer's claims API over httpx (the outside contract in docs/claims.md).

    ``POST /v1/claims`` with ``Idempotency-Key`` and the canonical JSON body, serialised once
    and sent as the same bytes on every attempt; ``GET /v1/claims/{id}``. Timeouts, connection
    errors (refused, reset, dropped), HTTP 5xx and 429 are asked again, up to ``attempts``
    requests, after an exponential backoff with jitter or the ``Retry-After`` the insurer asks
    for (at most ``max_wait`` seconds); any other 4xx is a refusal, not retried. HTTP 422 to a
    submission means the insurer holds another body under that key.

    A 2xx answer that is not JSON is taken as transient (a proxy on the way may have mangled
    it; the insurer answers a repeat with the stored response); a JSON answer that does not
    follow the contract is not (the insurer's API changed: an operator must look).

    ``sleep`` waits between attempts (a test passes its own to see the waits); ``transport``
    replaces httpx's (tests).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF,
        max_wait: float = MAX_WAIT,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        from chelun import __version__

        if attempts < 1:
            raise ValueError("a client makes at least one attempt")
        headers = {"Accept": "application/json", "User-Agent": f"chelun/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.attempts = attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self._http = httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )

    def submit(self, submission: Submission, idempotency_key: str) -> InsurerAnswer:
        """Create the claim at the insurer (or get the stored answer to an earlier attempt)."""
        body = canonical_body(submission)
        headers = {"Idempotency-Key": idempotency_key, "Content-Type": "application/json"}
        document = self._request("POST", "/v1/claims", content=body, headers=headers)
        return _answer(document, "POST /v1/claims")

    def status(self, insurer_claim_id: str) -> InsurerAnswer:
        """Where the insurer stands on a claim."""
        path = f"/v1/claims/{quote(insurer_claim_id, safe='')}"
        return _answer(self._request("GET", path), f"GET {path}")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpInsurerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """The decoded JSON answer of a request, asked again while that is worth it."""
        import httpx

        what = f"{method} {path}"
        last = ""
        status: int | None = None
        for attempt in range(1, self.attempts + 1):
            wait: float | None = None
            try:
                response = self._http.request(method, path, content=content, headers=headers)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                last, status = type(exc).__name__, None
            except httpx.HTTPError as exc:
                raise InsurerError(f"{what}: {type(exc).__name__}", transient=False) from None
            else:
                status = response.status_code
                if 200 <= status < 300:
                    try:
                        return json.loads(response.content, parse_float=Decimal)
                    except (ValueError, RecursionError):
                        last = f"HTTP {status} with an answer that is not JSON"
                elif status == 429 or status >= 500:
                    last = f"HTTP {status}"
                    wait = retry_after(response.headers.get("retry-after"), limit=self.max_wait)
                elif status == 422 and method == "POST":
                    raise InsurerError(
                        f"{what}: HTTP 422: the insurer holds another body under this "
                        "idempotency key (the claim changed since it was first sent); not retried",
                        transient=False,
                        status=status,
                    )
                else:
                    raise InsurerError(
                        f"{what}: HTTP {status}{_hint(status)}; not retried",
                        transient=False,
                        status=status,
                    )
            if attempt < self.attempts:
                self.sleep(wait if wait is not None else self._pause(attempt))
        plural = "s" if self.attempts != 1 else ""
        raise InsurerError(
            f"{what}: {last} ({self.attempts} attempt{plural})", transient=True, status=status
        )

    def _pause(self, attempt: int) -> float:
        """Backoff before the retry after ``attempt``: doubling, jittered, at most ``max_wait``."""
        ceiling = min(self.max_wait, self.backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def _hint(status: int) -> str:
    if status in (401, 403):
        return " (the insurer refused the credentials: check the plugin's token)"
    if status == 404:
        return " (the insurer does not know it)"
    return ""


def _answer(document: Any, what: str) -> InsurerAnswer:
    """The insurer's answer as an ``InsurerAnswer``; says which field does not fit, never its
    value."""
    if not isinstance(document, dict):
        raise InsurerError(f"{what}: the answer is not a JSON object", transient=False)
    try:
        return InsurerAnswer.model_validate(document)
    except ValidationError as exc:
        where = ".".join(str(part) for part in exc.errors()[0]["loc"]) or "the answer"
        raise InsurerError(
            f"{what}: the answer does not follow the contract ({exc.error_count()} problems, "
            f"first at {where[:60]})",
            transient=False,
        ) from None


# --- keys and bodies --------------------------------------------------------------------------


def idempotency_key(province: str, ref: str, appeals: int) -> str:
    """The key of one submission of a claim: the same for every retry of it, another once the
    claim was appealed (its body may change), unique among claims. Deterministic, so that a
    database restored from a backup still sends what it sent under the same key.

    A plain ref (letters, digits, ``.``, ``_`` and single ``-``) is readable in the key, which
    helps when talking to the insurer; any other ref is hashed."""
    if _PLAIN_REF.fullmatch(ref) and len(ref) <= 60:
        shown = ref
    else:
        shown = "h" + hashlib.sha256(ref.encode("utf-8")).hexdigest()[:40]
    key = f"chelun-{province}-{shown}-{appeals}"
    assert len(key) <= KEY_LIMIT
    return key


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class _NotReady(Exception):
    """A claim that cannot be sent as it is (a field missing): the message names the fields."""


#: Claim columns read to build and send a submission.
_COLUMNS = (
    Claim.id,
    Claim.ref,
    Claim.status,
    Claim.appeals,
    Claim.updated_at,
    Claim.idempotency_key,
    Claim.fingerprint,
    Claim.payload,
    Claim.policy_no,
    Claim.id_number,
    Claim.incident_time,
    Claim.site,
    Claim.loss_type,
    Claim.amount_claimed,
    Claim.police_report_no,
)
_REQUIRED = (
    "policy_no",
    "id_number",
    "incident_time",
    "site",
    "loss_type",
    "amount_claimed",
    "police_report_no",
)


def submission_for(claim: Any) -> Submission:
    """What is sent of a claim (a ``Claim`` or a row with its columns): the incident time in
    ISO 8601 with +08:00, the amount claimed as decimal text with two places."""
    missing = [name for name in _REQUIRED if getattr(claim, name) in (None, "")]
    if missing:
        raise _NotReady(f"the claim has no {', '.join(missing)}")
    try:
        return Submission(
            claim_ref=claim.ref,
            policy_no=claim.policy_no,
            id_number=claim.id_number,
            incident_time=claim.incident_time.astimezone(BEIJING).isoformat(timespec="seconds"),
            site_code=claim.site,
            loss_type=claim.loss_type,
            amount_claimed=f"{money(claim.amount_claimed):.2f}",
            police_report_no=claim.police_report_no,
        )
    except (ValidationError, ValueError) as exc:
        fields = (
            sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
            if isinstance(exc, ValidationError)
            else ["amount_claimed"]
        )
        raise _NotReady(f"the claim's {', '.join(fields)} cannot be sent as it is") from None


def _stored_submission(payload: str, stored_fingerprint: str | None) -> Submission:
    """The submission stored before the first attempt, checked against its fingerprint."""
    body = payload.encode("utf-8")
    if stored_fingerprint != fingerprint(body):
        raise _NotReady("the stored body does not match its fingerprint")
    try:
        submission = Submission.model_validate_json(body)
    except ValidationError:
        raise _NotReady("the stored body is not a submission") from None
    if canonical_body(submission) != body:
        raise _NotReady("the stored body is not in canonical form")
    return submission


# --- submitting ---------------------------------------------------------------------------------


@dataclass
class SubmitResult:
    """What one run of ``submit_pending`` did.

    ``submitted``: claims the insurer took in this run (``resent`` of them had been sent before
    by a run that died or failed; ``changed`` of them had data changed since their body was
    stored, which was sent as first stored: see the events). ``failed``: claims tried and not
    taken (``problems`` says why, a line each). ``waiting``: claims left at ``assessed`` without
    being tried: their product has no insurer client, or the insurer was unavailable.
    """

    submitted: int = 0
    resent: int = 0
    failed: int = 0
    waiting: int = 0
    changed: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, ref: str, message: str) -> None:
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append(f"claim {ref}: {message}")


def submit_pending(service: ClaimsService, *, client: InsurerClient | None = None) -> SubmitResult:
    """Send the province's assessed claims to their insurers, each exactly once (see the
    module's notes), product by product; a product's client comes from ``chelun_insurer_client``
    unless ``client`` is given (used for every product, and not closed here)."""
    result = SubmitResult()
    for product in service.products().values():
        found = _client_for(service, product, client)
        if found is None:
            result.waiting += _assessed(service, product.code)
            continue
        insurer, plugin = found
        try:
            _Submitter(service, product, insurer, plugin, result).run()
        finally:
            if client is None:
                insurer.close()
    return result


def _client_for(
    service: ClaimsService, product: Product, client: InsurerClient | None
) -> tuple[InsurerClient, str] | None:
    """The client of a product's insurer and the plugin that gave it; None if there is none."""
    if client is not None:
        return client, "(client given)"
    decision = decide(service.pm, HOOK, province=service.province, product=product)
    if decision is None:
        return None
    value = decision.value
    if not all(callable(getattr(value, name, None)) for name in ("submit", "status", "close")):
        raise PluginError(
            decision.plugin,
            HOOK,
            f"returned a {type(value).__name__}, which has no submit, status and close",
        )
    return value, decision.plugin


def _assessed(service: ClaimsService, product: str, after: int = 0) -> int:
    with service.database.engine.connect() as connection:
        return connection.scalar(
            select(func.count())
            .select_from(Claim)
            .where(
                Claim.province == service.province,
                Claim.product == product,
                Claim.status == "assessed",
                Claim.id > after,
            )
        )


class _Unavailable(Exception):
    """The insurer is not taking requests: the product's other claims wait for the next run."""


class _Submitter:
    """Sending one product's assessed claims."""

    def __init__(
        self,
        service: ClaimsService,
        product: Product,
        insurer: InsurerClient,
        plugin: str,
        result: SubmitResult,
    ) -> None:
        self.service = service
        self.product = product
        self.insurer = insurer
        self.plugin = plugin
        self.result = result
        self.stale = dt.timedelta(minutes=service.settings.claims_stale_minutes)

    def run(self) -> None:
        after = 0
        while True:
            rows = self._candidates(after)
            if not rows:
                return
            for row in rows:
                try:
                    self._submit(row)
                except _Unavailable:
                    self.result.waiting += _assessed(self.service, self.product.code, row.id)
                    return
            after = rows[-1].id

    def _claimable(self, at: dt.datetime) -> Any:
        return or_(Claim.sending_at.is_(None), Claim.sending_at < at - self.stale)

    def _candidates(self, after: int) -> list[Row[Any]]:
        with self.service.database.engine.connect() as connection:
            return list(
                connection.execute(
                    select(*_COLUMNS)
                    .where(
                        Claim.province == self.service.province,
                        Claim.product == self.product.code,
                        Claim.status == "assessed",
                        Claim.id > after,
                        self._claimable(now()),
                    )
                    .order_by(Claim.id)
                    .limit(BATCH)
                )
            )

    def _submit(self, row: Row[Any]) -> None:
        key = idempotency_key(self.service.province, row.ref, row.appeals)
        resend = row.idempotency_key == key and row.payload is not None
        changed = False
        try:
            if resend:
                submission = _stored_submission(row.payload, row.fingerprint)
                try:
                    changed = canonical_body(submission_for(row)) != row.payload.encode("utf-8")
                except _NotReady:
                    changed = True
            else:
                submission = submission_for(row)
        except _NotReady as exc:
            self._refused(row, str(exc))
            return
        body = canonical_body(submission)
        token = self._hold(row, key, body, resend)
        if token is None:
            return  # another run holds it, or it moved on since it was read
        try:
            answer = self.insurer.submit(submission, key)
        except InsurerError as exc:
            self._failed(row, key, token, exc)
            return
        except BaseException as exc:
            self._release(row.id, key, token)
            if isinstance(exc, Exception):
                raise PluginError(self.plugin, HOOK, f"submit raised {type(exc).__name__}") from exc
            raise
        self._record(row, key, token, body, answer, resend, changed)

    def _hold(self, row: Row[Any], key: str, body: bytes, resend: bool) -> dt.datetime | None:
        """Take the claim for sending (and store its key and body if new), committed before
        anything is sent; the time taken, or None if another run holds it."""
        token = now()
        values: dict[str, Any] = {"sending_at": token}
        if not resend:
            values.update(
                idempotency_key=key, payload=body.decode("utf-8"), fingerprint=fingerprint(body)
            )
        with self.service.database.connect() as connection:
            held = connection.execute(
                update(Claim)
                .where(
                    Claim.id == row.id,
                    Claim.status == "assessed",
                    Claim.updated_at == row.updated_at,
                    Claim.idempotency_key.is_not_distinct_from(row.idempotency_key),
                    self._claimable(token),
                )
                .values(**values)
            ).rowcount
        return token if held == 1 else None

    def _mine(self, claim_id: int, key: str, token: dt.datetime) -> Any:
        return and_(
            Claim.id == claim_id,
            Claim.status == "assessed",
            Claim.idempotency_key == key,
            Claim.sending_at == token,
        )

    def _release(self, claim_id: int, key: str, token: dt.datetime) -> None:
        with self.service.database.connect() as connection:
            connection.execute(
                update(Claim).where(self._mine(claim_id, key, token)).values(sending_at=None)
            )

    def _record(
        self,
        row: Row[Any],
        key: str,
        token: dt.datetime,
        body: bytes,
        answer: InsurerAnswer,
        resend: bool,
        changed: bool,
    ) -> None:
        if not isinstance(answer, InsurerAnswer):
            self._release(row.id, key, token)
            raise PluginError(self.plugin, HOOK, f"submit returned a {type(answer).__name__}")
        if not _TOKEN.fullmatch(answer.insurer_claim_id):
            self._failed(
                row,
                key,
                token,
                InsurerError(
                    "the insurer's claim id is not 1 to 64 printable characters", transient=False
                ),
            )
            return
        at = now()
        data = {
            "insurer_claim_id": answer.insurer_claim_id,
            "idempotency_key": key,
            "fingerprint": fingerprint(body),
            "resent": resend,
        }
        reason = f"sent to {self.product.insurer}: its claim {answer.insurer_claim_id}"
        if changed:
            data["changed"] = True
            reason += (
                "; the claim's data changed after its body was stored, and the body first "
                "stored was sent (the insurer may hold it already): tell the insurer of the change"
            )
        with self.service.database.connect() as connection:
            done = connection.execute(
                update(Claim)
                .where(self._mine(row.id, key, token))
                .values(
                    status="submitted",
                    insurer_claim_id=answer.insurer_claim_id,
                    insurer_status=answer.status,
                    submitted_at=at,
                    synced_at=at,
                    sending_at=None,
                    updated_at=at,
                )
            ).rowcount
            if done != 1:
                return  # another run took it over (this one looked dead) and records it
            record(connection, [self.service.event(row.ref, "submitted", reason, data)])
        self.result.submitted += 1
        self.result.resent += resend
        if changed:
            self.result.changed += 1
            self.result.problem(row.ref, "data changed after the body was sent; see its history")

    def _failed(self, row: Row[Any], key: str, token: dt.datetime, exc: InsurerError) -> None:
        """Release the claim after the client gave up: the next run may try at once."""
        with self.service.database.connect() as connection:
            connection.execute(
                update(Claim).where(self._mine(row.id, key, token)).values(sending_at=None)
            )
            if not exc.transient:
                data = {"idempotency_key": key, "status_code": exc.status}
                record(connection, [self.service.event(row.ref, "submit_failed", str(exc), data)])
        self.result.failed += 1
        self.result.problem(row.ref, str(exc))
        if exc.transient or exc.status in (401, 403):
            raise _Unavailable

    def _refused(self, row: Row[Any], message: str) -> None:
        """A claim that cannot be sent as it is stored: an event, and the claim stays
        ``assessed`` for an operator."""
        with self.service.database.connect() as connection:
            record(connection, [self.service.event(row.ref, "submit_failed", message)])
        self.result.failed += 1
        self.result.problem(row.ref, message)


# --- following the insurer's decisions ----------------------------------------------------------


@dataclass
class SyncResult:
    """What one run of ``sync`` did: claims asked about, and what the insurer's answers moved.

    ``failed``: claims whose status could not be asked or whose answer could not be applied
    (``problems`` says why); the next run asks again.
    """

    asked: int = 0
    approved: int = 0
    rejected: int = 0
    paid: int = 0
    unchanged: int = 0
    failed: int = 0
    problems: list[str] = field(default_factory=list)

    def problem(self, ref: str, message: str) -> None:
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append(f"claim {ref}: {message}")


_FOLLOW_COLUMNS = (Claim.id, Claim.ref, Claim.status, Claim.insurer_claim_id, Claim.amount_approved)


def sync(service: ClaimsService, *, client: InsurerClient | None = None) -> SyncResult:
    """Ask the insurer where each submitted or approved claim stands and record its decisions:
    ``approved`` (amount approved), ``rejected`` (reason code ``insurer_rejected``, the
    insurer's own code kept in ``reason``), ``paid`` (amount paid, payment reference; a claim
    may go straight from submitted to paid). Each change is conditional and has its event."""
    result = SyncResult()
    for product in service.products().values():
        found = _client_for(service, product, client)
        if found is None:
            continue
        insurer, plugin = found
        try:
            _sync_product(service, product, insurer, plugin, result)
        finally:
            if client is None:
                insurer.close()
    return result


def _sync_product(
    service: ClaimsService,
    product: Product,
    insurer: InsurerClient,
    plugin: str,
    result: SyncResult,
) -> None:
    after = 0
    while True:
        with service.database.engine.connect() as connection:
            rows = list(
                connection.execute(
                    select(*_FOLLOW_COLUMNS)
                    .where(
                        Claim.province == service.province,
                        Claim.product == product.code,
                        Claim.status.in_(FOLLOWED),
                        Claim.insurer_claim_id.is_not(None),
                        Claim.id > after,
                    )
                    .order_by(Claim.id)
                    .limit(BATCH)
                )
            )
        if not rows:
            return
        for row in rows:
            result.asked += 1
            try:
                answer = insurer.status(row.insurer_claim_id)
            except InsurerError as exc:
                result.failed += 1
                result.problem(row.ref, str(exc))
                if exc.transient or exc.status in (401, 403):
                    return
                continue
            except Exception as exc:
                raise PluginError(plugin, HOOK, f"status raised {type(exc).__name__}") from exc
            outcome = _apply(service, row, answer)
            if outcome in ("approved", "rejected", "paid", "unchanged"):
                setattr(result, outcome, getattr(result, outcome) + 1)
            else:
                result.failed += 1
                result.problem(row.ref, outcome)
        after = rows[-1].id


def _apply(service: ClaimsService, row: Row[Any], answer: InsurerAnswer) -> str:
    """Record one answer; the outcome (approved, rejected, paid, unchanged) or, when the answer
    cannot be applied, why."""
    if not isinstance(answer, InsurerAnswer):
        return f"the insurer's client returned a {type(answer).__name__}"
    if answer.insurer_claim_id != row.insurer_claim_id or (
        answer.claim_ref is not None and answer.claim_ref != row.ref
    ):
        return "the insurer answered about another claim"
    at = now()
    values: dict[str, Any] = {"insurer_status": answer.status, "synced_at": at}
    events = []
    data: dict[str, Any] = {"insurer_claim_id": row.insurer_claim_id}
    outcome = "unchanged"
    try:
        approved = money(answer.amount_approved) if answer.amount_approved is not None else None
    except ValueError:
        return "the insurer's amount approved is not an amount of yuan with two places"
    if answer.status == "received":
        if row.status != "submitted":
            return f"the insurer says received, but the claim is {row.status} here; left as it is"
    elif answer.status == "approved" and row.status == "approved":
        pass
    elif answer.status in ("approved", "paid"):
        if approved is None:
            return f"the insurer says {answer.status} without an amount approved"
        if answer.status == "paid" and not (
            answer.payment_ref and _TOKEN.fullmatch(answer.payment_ref)
        ):
            return "the insurer says paid without a payment reference of 1 to 64 characters"
        if row.status == "submitted":
            values.update(status="approved", amount_approved=approved, decided_at=at)
            events.append(
                service.event(
                    row.ref,
                    "approved",
                    f"the insurer approved {approved:,.2f} yuan",
                    {**data, "amount_approved": str(approved)},
                )
            )
            outcome = "approved"
        if answer.status == "paid":
            values.update(
                status="paid", amount_paid=approved, payment_ref=answer.payment_ref, paid_at=at
            )
            events.append(
                service.event(
                    row.ref,
                    "paid",
                    f"the insurer paid {approved:,.2f} yuan (payment {answer.payment_ref})",
                    {**data, "amount_paid": str(approved), "payment_ref": answer.payment_ref},
                )
            )
            outcome = "paid"
    else:  # rejected
        code = _insurer_code(answer.reason_code)
        values.update(status="rejected", reason_code="insurer_rejected", reason=code, decided_at=at)
        events.append(
            service.event(
                row.ref,
                "rejected",
                f"the insurer rejected the claim (its reason: {code})",
                {**data, "reason_code": "insurer_rejected", "insurer_reason_code": code},
            )
        )
        outcome = "rejected"
    if events:
        values["updated_at"] = at
    with service.database.connect() as connection:
        done = connection.execute(
            update(Claim)
            .where(
                Claim.id == row.id,
                Claim.status == row.status,
                Claim.insurer_claim_id == row.insurer_claim_id,
            )
            .values(**values)
        ).rowcount
        if done != 1:
            return "the claim changed here while the insurer was asked; asked again next run"
        record(connection, events)
    return outcome


def _insurer_code(value: str | None) -> str:
    """The insurer's reason code as kept: printable, one line, at most 100 characters."""
    if not value:
        return "(no reason code given)"
    text = " ".join(value.split())
    text = "".join(char for char in text if char.isprintable())
    return text[:100] or "(no reason code given)"
