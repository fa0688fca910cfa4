"""Sending a published final list where the plugins said (the outbox ``award_publication``).

Each publication is an HTTP POST of its JSON payload with the header ``Idempotency-Key``
(``award:<province>:<campaign>:<channel>``), so a receiver can drop a repeat after a lost
answer. A publication is tried up to ``CHELUN_AWARDS_PUBLISH_ATTEMPTS`` times per run (a
network error, a timeout or a 5xx is tried again; another 4xx is not); once accepted (2xx) it is
never sent again; one that failed is tried again by the next ``chelun awards publish``. Events
and ``last_error`` hold a status code or an exception's class, never a body. Two runs at once
may both post a publication still pending; the key lets the receiver drop the second, and only
one run records its outcome (the update is conditional on the status read).
"""

from __future__ import annotations

import time

import httpx
from sqlalchemy import select, update

from chelun.recognition.settings import RecognitionSettings
from chelun.storage.db import Database
from chelun.storage.events import NewEvent, now, record
from chelun.storage.tables import AwardPublication

#: Seconds to wait before the second attempt; doubled before each further one.
BACKOFF = 0.2
#: Statuses of a receiver that may answer otherwise when asked again.
TRANSIENT = (408, 425, 429)


def _attempt(http: httpx.Client, url: str, payload: object, headers: dict[str, str]) -> str | None:
    """One POST: None when accepted, else why not (a status or an exception's class), with a
    leading ``!`` when asking again cannot help."""
    try:
        response = http.post(url, json=payload, headers=headers)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    if response.is_success:
        return None
    status = f"HTTP {response.status_code}"
    if response.status_code < 500 and response.status_code not in TRANSIENT:
        return "!" + status
    return status


def send_publications(
    database: Database, province: str, campaign: int, settings: RecognitionSettings
) -> dict[str, int]:
    """Send the campaign's publications not yet accepted; how many were sent and failed."""
    from chelun.recognition.service import ENTITY, campaign_key

    with database.engine.connect() as connection:
        owed = connection.execute(
            select(AwardPublication.__table__)
            .where(
                AwardPublication.campaign_id == campaign,
                AwardPublication.status.in_(("pending", "failed")),
            )
            .order_by(AwardPublication.id)
        ).all()
    sent = failed = 0
    if not owed:
        return {"sent": 0, "failed": 0}
    with httpx.Client(timeout=settings.http_timeout, follow_redirects=False) as http:
        for publication in owed:
            headers = {
                **(publication.headers or {}),
                "Idempotency-Key": f"award:{province}:{campaign}:{publication.channel}",
            }
            problem: str | None = "not tried"
            attempts = 0
            for attempt in range(settings.awards_publish_attempts):
                if attempt:
                    time.sleep(BACKOFF * 2 ** (attempt - 1))
                attempts += 1
                problem = _attempt(http, publication.url, publication.payload, headers)
                if problem is None or problem.startswith("!"):
                    break
            status = "sent" if problem is None else "failed"
            reason = (
                f"list published to {publication.channel}"
                if problem is None
                else f"publication to {publication.channel} failed: {problem.lstrip('!')} "
                f"after {attempts} attempt(s)"
            )
            with database.connect() as connection:
                changed = connection.execute(
                    update(AwardPublication)
                    .where(
                        AwardPublication.id == publication.id,
                        AwardPublication.status == publication.status,
                    )
                    .values(
                        status=status,
                        attempts=AwardPublication.attempts + attempts,
                        last_error=None if problem is None else problem.lstrip("!")[:200],
                        sent_at=now() if problem is None else None,
                    )
                ).rowcount
                if not changed:  # another run settled it meanwhile
                    continue
                record(
                    connection,
                    [
                        NewEvent(
                            province,
                            f"plugin:{publication.plugin}",
                            ENTITY,
                            campaign_key(province, campaign),
                            f"publication_{status}",
                            reason,
                            {"channel": publication.channel, "attempts": attempts},
                        )
                    ],
                )
            sent += problem is None
            failed += problem is not None
    return {"sent": sent, "failed": failed}
