"""A client for phone-verification providers that speak chelun's small JSON protocol.

``POST {url}`` with ``{"checks": [{"driver": ..., "phone": ...}, ...]}`` and an
``Idempotency-Key`` header (the same batch always carries the same key, so a retried request is
not called twice); the answer is ``{"results": [{"driver": ..., "outcome": "confirmed" |
"failed" | "unreachable", "detail": ...}]}``. Province plugins point it at their platform.
"""

from __future__ import annotations

import hashlib
import time

import httpx

from chelun.roster.models import PhoneCheck, VerificationOutcome


class PhoneApiError(RuntimeError):
    """The provider could not be reached or answered wrongly; says where and what, no data."""


class PhoneCheckClient:
    """Posts batches of phone checks, retrying with backoff on connection errors and 5xx."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        attempts: int = 4,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url
        self.attempts = attempts
        self.backoff = backoff
        self.client = httpx.Client(timeout=timeout, headers=headers, transport=transport)

    def check(self, checks: list[PhoneCheck]) -> list[VerificationOutcome]:
        payload = {"checks": [check.model_dump() for check in checks]}
        key = hashlib.sha256("|".join(f"{c.driver}:{c.phone}" for c in checks).encode()).hexdigest()
        last: Exception | None = None
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self.client.post(
                    self.url, json=payload, headers={"Idempotency-Key": key}
                )
            except httpx.TransportError as exc:
                last = exc
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last = PhoneApiError(f"{self.url} answered HTTP {response.status_code}")
                continue
            if response.status_code != 200:
                raise PhoneApiError(f"{self.url} answered HTTP {response.status_code}")
            try:
                results = response.json()["results"]
                return [VerificationOutcome.model_validate(item) for item in results]
            except (ValueError, KeyError, TypeError) as exc:
                raise PhoneApiError(f"{self.url} answered with an unexpected body") from exc
        # The last failure is the cause: a network error behind it marks the refusal transient.
        raise PhoneApiError(
            f"{self.url} unreachable after {self.attempts} attempts: {type(last).__name__}"
        ) from last

    def close(self) -> None:
        self.client.close()
