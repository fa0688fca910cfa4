"""A simulated insurer: a real HTTP server on 127.0.0.1 that speaks the claims API of the outside
contract (docs/claims.md) and misbehaves on request. The tests and the demo submit to it.

- ``POST /v1/claims`` stores a claim under its ``Idempotency-Key``: the same key with the same
  body (byte for byte) answers the stored response again (201); the same key with another body
  answers 422. Like the real insurer, it does not deduplicate by ``claim_ref``: two keys make two
  claims, which ``count`` shows.
- ``GET /v1/claims/{insurer_claim_id}`` answers where the claim stands.
- A fault script (``fail``) spoils the next requests, one fault each: ``"slow"`` (waits
  ``slow_seconds`` before handling the request: past the client's timeout), ``"reset"`` (drops
  the connection without answering), ``"lost"`` (creates the claim, then drops the connection),
  ``"500-after-create"`` (creates it, then answers 500), ``"hold"`` (creates it, sets ``held``
  and answers only once ``release`` is set: to kill a client between sending and recording), a
  status code such as ``500`` or ``429``, or ``(429, "2")`` for a status with ``Retry-After``.
- ``decide_all`` approves (the amount claimed) or rejects the claims received, and pays those
  approved; ``set_status`` puts one claim where a test wants it; ``statement`` writes the
  insurer's payout statement (CSV) of the claims paid.
- With ``token``, requests without ``Authorization: Bearer <token>`` answer 401.
- ``GET /_sim/claims`` lists the claims (without their bodies), ``POST /_sim/decide`` runs
  ``decide_all`` and ``POST /_sim/faults`` (a JSON list) adds faults: for a simulator in another
  process (``python -m chelun.claims.simulator --port 0``, which prints its URL first). With a
  state file, claims are kept there (owner-only) and survive a restart.

It holds what it is sent, ID numbers included, in memory (and in its state file): a test and
demo tool, not for real claims.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: The faults a script may hold besides HTTP statuses.
FAULTS = ("slow", "reset", "lost", "500-after-create", "hold")
#: The largest request body read.
MAX_BODY = 1024 * 1024
#: Seconds a held answer waits for ``release`` at most.
HOLD_LIMIT = 120.0
FIELDS = (
    "claim_ref",
    "policy_no",
    "id_number",
    "incident_time",
    "site_code",
    "loss_type",
    "amount_claimed",
    "police_report_no",
)
_AMOUNT = re.compile(r"\d{1,12}\.\d{2}")
#: What the statement lists of each paid claim.
STATEMENT_COLUMNS = ("insurer_claim_id", "claim_ref", "amount_paid", "payment_ref", "paid_at")

Fault = str | int | tuple[int, str]


@dataclass
class SimClaim:
    """A claim as the insurer holds it."""

    insurer_claim_id: str
    claim_ref: str
    key: str
    body: str
    amount_claimed: str
    status: str = "received"
    amount_approved: str | None = None
    payment_ref: str | None = None
    reason_code: str | None = None
    paid_at: str | None = None

    def answer(self) -> dict[str, Any]:
        """What ``GET /v1/claims/{id}`` answers."""
        return {
            "insurer_claim_id": self.insurer_claim_id,
            "claim_ref": self.claim_ref,
            "status": self.status,
            "amount_approved": self.amount_approved,
            "payment_ref": self.payment_ref,
            "reason_code": self.reason_code,
        }

    def summary(self) -> dict[str, Any]:
        """What ``GET /_sim/claims`` shows: everything but the body."""
        shown = asdict(self)
        del shown["body"]
        return shown


@dataclass(frozen=True)
class SeenRequest:
    """A request the simulator received, with the fault it met (if any)."""

    method: str
    path: str
    key: str | None
    body: bytes
    fault: Fault | None


@dataclass
class _Store:
    claims: dict[str, SimClaim] = field(default_factory=dict)
    #: Idempotency key -> (the body, the claim created).
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    payments: int = 0


class InsurerSimulator:
    """The simulated insurer on ``127.0.0.1`` (a port of its own unless ``port``); use it as a
    context manager, or ``start`` and ``close``. ``url`` is its base URL."""

    def __init__(
        self,
        *,
        token: str | None = None,
        slow_seconds: float = 2.0,
        state: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.slow_seconds = slow_seconds
        self.state = Path(state) if state is not None else None
        self.requests: list[SeenRequest] = []
        #: Set when a ``"hold"`` fault stored its claim; the answer waits for ``release``.
        self.held = threading.Event()
        self.release = threading.Event()
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._store = self._load()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> InsurerSimulator:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # how long ``close`` may wait for the loop
                name="insurer-simulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; a handler still waiting (slow, held) gives up at once."""
        self._closing.set()
        self.release.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> InsurerSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the script ---------------------------------------------------------------------------

    def fail(self, *faults: Fault) -> None:
        """Spoil the next requests to the API, one fault each, in order."""
        for fault in faults:
            _check_fault(fault)
        with self._lock:
            self._faults.extend(faults)

    def _next(self, method: str, path: str, key: str | None, body: bytes) -> Fault | None:
        with self._lock:
            fault = self._faults.pop(0) if self._faults and path.startswith("/v1/") else None
            self.requests.append(SeenRequest(method, path, key, body, fault))
        return fault

    # --- inspection ---------------------------------------------------------------------------

    @property
    def claims(self) -> list[SimClaim]:
        with self._lock:
            return list(self._store.claims.values())

    def count(self, claim_ref: str) -> int:
        """How many claims the insurer holds for ``claim_ref`` (exactly once means 1)."""
        return sum(1 for claim in self.claims if claim.claim_ref == claim_ref)

    def counts(self) -> dict[str, int]:
        """Claims held per ``claim_ref``."""
        found: dict[str, int] = {}
        for claim in self.claims:
            found[claim.claim_ref] = found.get(claim.claim_ref, 0) + 1
        return found

    def claim(self, insurer_claim_id: str) -> SimClaim:
        with self._lock:
            return self._store.claims[insurer_claim_id]

    def posts(self) -> list[SeenRequest]:
        """The claim submissions received (every attempt, faults included)."""
        with self._lock:
            return [r for r in self.requests if r.method == "POST" and r.path == "/v1/claims"]

    # --- decisions ----------------------------------------------------------------------------

    def decide_all(
        self,
        approve: Callable[[SimClaim], bool] | None = None,
        *,
        pay: bool = True,
        reason_code: str = "NOT_COVERED",
    ) -> int:
        """Decide every claim received: approved for the amount claimed when ``approve`` says
        so (every one without it), else rejected with ``reason_code``; then, with ``pay``, pay
        every claim approved. How many claims changed."""
        changed = 0
        with self._lock:
            for claim in self._store.claims.values():
                before = claim.status
                if claim.status == "received":
                    if approve is None or approve(claim):
                        claim.status = "approved"
                        claim.amount_approved = claim.amount_claimed
                    else:
                        claim.status = "rejected"
                        claim.reason_code = reason_code
                if pay and claim.status == "approved":
                    self._pay(claim)
                changed += claim.status != before
            self._save()
        return changed

    def set_status(
        self,
        insurer_claim_id: str,
        status: str,
        *,
        amount_approved: str | None = None,
        payment_ref: str | None = None,
        reason_code: str | None = None,
    ) -> SimClaim:
        """Put one claim where a test wants it (amounts as decimal text)."""
        with self._lock:
            claim = self._store.claims[insurer_claim_id]
            claim.status = status
            claim.amount_approved = amount_approved
            claim.payment_ref = payment_ref
            claim.reason_code = reason_code
            if status == "paid":
                claim.paid_at = claim.paid_at or _now_text()
            self._save()
            return claim

    def _pay(self, claim: SimClaim) -> None:
        self._store.payments += 1
        claim.status = "paid"
        claim.payment_ref = f"PAY-{self._store.payments:08d}"
        claim.paid_at = _now_text()

    def statement(self, path: Path) -> Path:
        """Write the payout statement of the claims paid (CSV, UTF-8), as the insurer sends
        it for reconciliation."""
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(STATEMENT_COLUMNS)
            for claim in self.claims:
                if claim.status == "paid":
                    writer.writerow(
                        [
                            claim.insurer_claim_id,
                            claim.claim_ref,
                            claim.amount_approved,
                            claim.payment_ref,
                            claim.paid_at,
                        ]
                    )
        return path

    # --- the API ------------------------------------------------------------------------------

    def _create(self, key: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        """Store a submission under its key: (status, answer)."""
        if not key or len(key) > 255:
            return 400, {"error": "Idempotency-Key header required (1 to 255 characters)"}
        text = body.decode("utf-8", "replace")
        with self._lock:
            known = self._store.keys.get(key)
            if known is not None:
                stored_body, claim_id = known
                if stored_body != text:
                    return 422, {"error": "this Idempotency-Key was used with another body"}
                claim = self._store.claims[claim_id]
                return 201, {"insurer_claim_id": claim.insurer_claim_id, "status": "received"}
            problem, document = _validated(body)
            if problem:
                return 400, {"error": problem}
            claim_id = f"INS-{len(self._store.claims) + 1:08d}"
            self._store.claims[claim_id] = SimClaim(
                insurer_claim_id=claim_id,
                claim_ref=document["claim_ref"],
                key=key,
                body=text,
                amount_claimed=document["amount_claimed"],
            )
            self._store.keys[key] = (text, claim_id)
            self._save()
        return 201, {"insurer_claim_id": claim_id, "status": "received"}

    def _status(self, claim_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            claim = self._store.claims.get(claim_id)
            if claim is None:
                return 404, {"error": "no such claim"}
            return 200, claim.answer()

    def _authorised(self, header: str | None) -> bool:
        return self.token is None or header == f"Bearer {self.token}"

    # --- state --------------------------------------------------------------------------------

    def _load(self) -> _Store:
        if self.state is None or not self.state.exists():
            return _Store()
        document = json.loads(self.state.read_text(encoding="utf-8"))
        return _Store(
            claims={c["insurer_claim_id"]: SimClaim(**c) for c in document["claims"]},
            keys={key: (body, claim_id) for key, (body, claim_id) in document["keys"].items()},
            payments=document["payments"],
        )

    def _save(self) -> None:
        """Write the state file (under the lock), replacing it at once."""
        if self.state is None:
            return
        document = {
            "claims": [asdict(claim) for claim in self._store.claims.values()],
            "keys": {key: list(value) for key, value in self._store.keys.items()},
            "payments": self._store.payments,
        }
        partial = self.state.with_name(self.state.name + ".partial")
        descriptor = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, ensure_ascii=False)
        os.replace(partial, self.state)


def _check_fault(fault: object) -> None:
    if isinstance(fault, str) and fault in FAULTS:
        return
    if isinstance(fault, int) and not isinstance(fault, bool) and 400 <= fault <= 599:
        return
    if (
        isinstance(fault, tuple)
        and len(fault) == 2
        and isinstance(fault[0], int)
        and isinstance(fault[1], str)
    ):
        return
    raise ValueError(f"unknown fault {fault!r}: one of {', '.join(FAULTS)}, a status or a pair")


def _validated(body: bytes) -> tuple[str | None, dict[str, Any]]:
    """(What is wrong with a submission, or None; the document)."""
    try:
        document = json.loads(body)
    except ValueError:
        return "the body is not JSON", {}
    if not isinstance(document, dict):
        return "the body is not a JSON object", {}
    missing = [name for name in FIELDS if not isinstance(document.get(name), str)]
    if missing:
        return f"missing or not text: {', '.join(missing)}", {}
    if document["loss_type"] not in ("fuel", "cargo"):
        return "loss_type is neither fuel nor cargo", {}
    if not _AMOUNT.fullmatch(document["amount_claimed"]):
        return "amount_claimed is not a decimal with two places", {}
    try:
        Decimal(document["amount_claimed"])
        moment = dt.datetime.fromisoformat(document["incident_time"])
    except (InvalidOperation, ValueError):
        return "incident_time is not ISO 8601", {}
    if moment.utcoffset() != dt.timedelta(hours=8):
        return "incident_time is not at +08:00", {}
    return None, document


def _now_text() -> str:
    return (
        dt.datetime.now(dt.UTC)
        .astimezone(dt.timezone(dt.timedelta(hours=8)))
        .isoformat(timespec="seconds")
    )


def _handler_for(sim: InsurerSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body are written apart: without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK hold every answer back some 40 ms.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def handle(self) -> None:
            try:
                super().handle()
            except (ConnectionError, TimeoutError, OSError):
                pass  # the client went away (a timeout, a kill): nothing to answer

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            body = self._body()
            if body is None:
                return
            path = self.path.split("?", 1)[0]
            key = self.headers.get("Idempotency-Key")
            fault = sim._next(method, path, key, body)
            if fault == "slow":
                sim._closing.wait(sim.slow_seconds)
            elif fault == "reset":
                self._reset()
                return
            elif isinstance(fault, int):
                self._send(fault, {"error": "simulated failure"})
                return
            elif isinstance(fault, tuple):
                self._send(fault[0], {"error": "simulated failure"}, {"Retry-After": fault[1]})
                return
            if path.startswith("/_sim/"):
                status, document = self._control(method, path, body)
            elif not sim._authorised(self.headers.get("Authorization")):
                status, document = 401, {"error": "bearer token required"}
            elif method == "POST" and path == "/v1/claims":
                status, document = sim._create(key, body)
            elif method == "GET" and path.startswith("/v1/claims/"):
                status, document = sim._status(path.removeprefix("/v1/claims/"))
            else:
                status, document = 404, {"error": "no such endpoint"}
            if fault == "lost":
                self._reset()
                return
            if fault == "500-after-create":
                self._send(500, {"error": "simulated failure after the claim was created"})
                return
            if fault == "hold":
                sim.held.set()
                sim.release.wait(HOLD_LIMIT)
            self._send(status, document)

        def _control(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
            if method == "GET" and path == "/_sim/claims":
                return 200, [claim.summary() for claim in sim.claims]
            if method == "POST" and path == "/_sim/decide":
                return 200, {"changed": sim.decide_all()}
            if method == "POST" and path == "/_sim/faults":
                try:
                    faults = [tuple(f) if isinstance(f, list) else f for f in json.loads(body)]
                    sim.fail(*faults)
                except (ValueError, TypeError) as exc:
                    return 400, {"error": str(exc)}
                return 200, {"faults": len(faults)}
            return 404, {"error": "no such endpoint"}

        def _body(self) -> bytes | None:
            length = self.headers.get("Content-Length", "0")
            if not length.isdigit() or int(length) > MAX_BODY:
                self._send(413, {"error": "body missing a length or too large"})
                return None
            return self.rfile.read(int(length))

        def _send(self, status: int, document: Any, headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(document, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _reset(self) -> None:
            """Drop the connection without a word: a TCP reset."""
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # Closing the descriptor itself with a zero linger sends RST, not FIN; the socket
            # object is detached, so nothing later touches a descriptor number reused since.
            os.close(self.connection.detach())

    return Handler


def main(argv: list[str] | None = None) -> None:
    """``python -m chelun.claims.simulator``: serve until SIGTERM or Ctrl-C; the first line
    printed is the base URL."""
    parser = argparse.ArgumentParser(
        prog="python -m chelun.claims.simulator",
        description="A simulated insurer speaking the claims API, for tests and the demo.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--state", type=Path, help="JSON file keeping the claims across runs")
    parser.add_argument("--token", help="bearer token to require")
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    options = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with InsurerSimulator(
        token=options.token,
        slow_seconds=options.slow_seconds,
        state=options.state,
        host=options.host,
        port=options.port,
    ) as sim:
        print(sim.url, flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    sys.exit(0)


if __name__ == "__main__":
    main()
