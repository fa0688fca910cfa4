"""Pulling grievances from a province platform over HTTP, page by page, with a kept cursor.

The platform is a plugin's (``chelun_grievance_platform``), or core's plain JSON feed at
``CHELUN_GRIEVANCE_PLATFORM_URL``. Core does the HTTP: a timeout on every request, a few retries
of what is worth retrying (a refused connection, a timeout, HTTP 429/502/503/504), a cap on the
size of an answer, and nothing but JSON. Each page's grievances are stored with the cursor of the
next page in one transaction (``sync_cursor``), so a pull that fails half-way resumes after the
last page stored, neither losing nor repeating one; a grievance pulled twice (same ref) is one
grievance. An item that is not a grievance is kept, quarantined with the reason, never dropped.

Messages name the platform, the page and what went wrong; never a value of the feed.

httpx, SQLAlchemy and pydantic are imported inside the functions that use them: the command line
imports this module to offer ``chelun grievance pull``, and must start at once.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from chelun.commands import ProvinceOption, err, fail, friendly, warn

if TYPE_CHECKING:
    import datetime as dt

    import httpx
    from sqlalchemy import Connection

    from chelun.grievance.intake import GrievanceRow
    from chelun.grievance.models import GrievancePage, GrievancePlatform, PageRequest
    from chelun.grievance.service import GrievanceService

HOOK = "chelun_grievance_platform"
#: The largest answer read, in bytes (after any content-encoding is undone).
MAX_BODY = 16 * 1024 * 1024
#: Requests of one page at most: the first and two retries.
ATTEMPTS = 3
#: Seconds before the first retry of a page, doubled before each further one.
BACKOFF = 0.5
#: Seconds a ``Retry-After`` may make a retry wait at most.
MAX_RETRY_AFTER = 10
#: Retries of a refused connection, done by httpx's transport.
CONNECT_RETRIES = 2
#: Answers worth asking again after a pause: the platform is busy or restarting.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: The longest cursor kept; a platform's cursor is an opaque token, never a document.
CURSOR_LIMIT = 1_000
#: ``sync_cursor.source`` holds at most this many characters.
NAME_LIMIT = 50


class PlatformError(Exception):
    """A pull that cannot go on: no platform, or a page that could not be fetched or read.

    The message is one line: the platform, the page, what went wrong, and that the pages before
    it are stored. ``result`` holds what the pull stored before it stopped.
    """

    def __init__(self, message: str, result: PullResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class PullResult:
    """What one pull did: pages stored, grievances read, added, quarantined and already stored.

    ``finished``: the platform has nothing more for now (the next pull asks again from
    ``cursor_after`` for new grievances); False when the pull stopped at its page limit.
    """

    platform: str
    plugin: str
    pages: int
    rows: int
    added: int
    quarantined: int
    already: int
    cursor_after: str | None
    finished: bool


class _PageFailed(Exception):
    """What went wrong with one page, in a few words; ``pull`` says where."""


# --- core's JSON feed --------------------------------------------------------------------------


class JsonFeed:
    """Core's plain JSON feed: ``GET {url}?cursor=<cursor>&limit=<n>`` (no cursor on the first
    page), answering ``{"grievances": [{...}, ...], "next_cursor": "..." | null}``, each item an
    object with the columns of a grievance file."""

    name = "platform"

    def __init__(self, url: str) -> None:
        self.url = url

    def request(self, cursor: str | None, limit: int) -> PageRequest:
        from chelun.grievance.models import PageRequest

        params = {"limit": str(limit)}
        if cursor is not None:
            params["cursor"] = cursor
        return PageRequest(url=self.url, params=params)

    def parse(self, document: Any) -> GrievancePage:
        from chelun.grievance.models import GrievancePage

        items = document.get("grievances") if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise ValueError("answer has no 'grievances' list")
        next_cursor = document.get("next_cursor")
        if isinstance(next_cursor, int) and not isinstance(next_cursor, bool):
            next_cursor = str(next_cursor)
        if next_cursor is not None and not isinstance(next_cursor, str):
            raise ValueError("answer's 'next_cursor' is neither text nor null")
        # Items are passed on as they are: core quarantines those that are not grievances.
        rows = [
            {**item, "channel": item.get("channel") or self.name}
            if isinstance(item, dict)
            else item
            for item in items
        ]
        return GrievancePage.model_construct(rows=rows, next_cursor=next_cursor or None)


def default_platform(province: str) -> GrievancePlatform | None:
    """Core's JSON feed when ``CHELUN_GRIEVANCE_PLATFORM_URL`` is set; else no platform."""
    from chelun.grievance.settings import GrievanceSettings

    url = GrievanceSettings().grievance_platform_url
    return JsonFeed(url) if url else None


# --- the pull ----------------------------------------------------------------------------------


def pull(
    service: GrievanceService,
    *,
    max_pages: int | None = None,
    client: httpx.Client | None = None,
) -> PullResult:
    """Pull the province platform's new grievances, page by page from the kept cursor, storing
    each page with the next cursor in one transaction; stops when the platform has no more for
    now, or after ``max_pages`` (``CHELUN_GRIEVANCE_MAX_PAGES`` unless given).

    Raises ``PlatformError`` when there is no platform or a page fails: the pages before it stay
    stored and the next pull resumes at the page that failed. ``client``: an httpx client to use
    (its timeout and transport); by default one with the settings' timeout and connect retries.
    """
    import httpx

    from chelun.plugin_manager import decide

    decision = decide(service.pm, HOOK, province=service.province)
    if decision is None:
        raise PlatformError(
            f"province {service.province} has no grievance platform to pull from: set "
            "CHELUN_GRIEVANCE_PLATFORM_URL to the platform's JSON feed (docs/grievances.md), or "
            "install the province's plugin"
        )
    platform: GrievancePlatform = decision.value
    _check_name(platform, decision.plugin)
    limit = service.settings.grievance_max_pages if max_pages is None else max_pages
    if limit < 1:
        raise PlatformError(f"a pull fetches at least one page, not {limit}")
    if client is not None:
        return _Pull(service, platform, decision.plugin, client).run(limit)
    with httpx.Client(
        transport=httpx.HTTPTransport(retries=CONNECT_RETRIES),
        timeout=service.settings.http_timeout,
    ) as own:
        return _Pull(service, platform, decision.plugin, own).run(limit)


def _check_name(platform: object, plugin: str) -> None:
    from chelun.plugin_manager import PluginError

    name = getattr(platform, "name", None)
    if not (isinstance(name, str) and 0 < len(name) <= NAME_LIMIT and name.isprintable()):
        raise PluginError(
            plugin,
            HOOK,
            f"the platform's name must be printable text of 1 to {NAME_LIMIT} characters "
            "(the cursor is kept under it)",
        )


class _Pull:
    """One pull of one platform: where it stands, and the pages stored so far."""

    def __init__(
        self,
        service: GrievanceService,
        platform: GrievancePlatform,
        plugin: str,
        client: httpx.Client,
    ) -> None:
        self.service = service
        self.platform = platform
        self.plugin = plugin
        self.client = client
        self.pages = self.rows = self.added = self.quarantined = 0

    def run(self, limit: int) -> PullResult:
        cursor, pages_before = self._position()
        seen = {cursor}
        finished = False
        for number in range(1, limit + 1):
            request = self.platform.request(cursor, self.service.settings.grievance_page_size)
            try:
                page = self._page(request)
                next_cursor = _next_cursor(page)
                items = page.rows
                if not isinstance(items, list):
                    raise _PageFailed("the platform's page holds no list of grievances")
            except _PageFailed as failed:
                raise self._error(number, cursor, request, str(failed)) from None
            # Moving back to a cursor already asked for would go round in circles: stay.
            to = next_cursor if next_cursor is not None and next_cursor not in seen else cursor
            stand_in = _stand_in(self.platform.name, cursor)
            rows = [
                _row(item, position, stand_in, pages_before + number)
                for position, item in enumerate(items, start=1)
            ]
            self._store(number, cursor, to, rows)
            finished = not rows or to == cursor
            cursor = to
            if finished:
                break
            seen.add(to)
        return self._result(cursor, finished)

    def _result(self, cursor: str | None, finished: bool) -> PullResult:
        return PullResult(
            platform=self.platform.name,
            plugin=self.plugin,
            pages=self.pages,
            rows=self.rows,
            added=self.added,
            quarantined=self.quarantined,
            already=self.rows - self.added,
            cursor_after=cursor,
            finished=finished,
        )

    def _position(self) -> tuple[str | None, int]:
        """The cursor of the next page to ask for (None: from the start), and pages so far."""
        from sqlalchemy import select

        from chelun.storage.tables import SyncCursor

        with self.service.database.engine.connect() as connection:
            found = connection.execute(
                select(SyncCursor.cursor, SyncCursor.pages).where(
                    SyncCursor.province == self.service.province,
                    SyncCursor.source == self.platform.name,
                )
            ).first()
        return (found.cursor, found.pages or 0) if found is not None else (None, 0)

    def _page(self, request: PageRequest) -> GrievancePage:
        from pydantic import ValidationError

        from chelun.grievance.models import GrievancePage
        from chelun.plugin_manager import PluginError

        document = _fetch(self.client, request)
        try:
            page = self.platform.parse(document)
        except ValidationError as exc:
            # pydantic quotes the input: say where it does not fit, never what it holds.
            first = ".".join(str(part) for part in exc.errors()[0]["loc"]) or "the answer"
            raise _PageFailed(
                f"answer is not a page of grievances ({exc.error_count()} problems, first at "
                f"{first[:80]})"
            ) from None
        except ValueError as exc:
            raise _PageFailed(_one_line(str(exc)) or "answer is not a page of grievances") from None
        except Exception as exc:  # the plugin's mistake on an answer it did not expect
            raise _PageFailed(
                f"plugin {self.plugin!r} could not read the answer ({type(exc).__name__})"
            ) from None
        if not isinstance(page, GrievancePage):
            raise PluginError(
                self.plugin,
                HOOK,
                f"the platform read a page as a {type(page).__name__}, not a GrievancePage",
            )
        return page

    def _store(
        self, number: int, cursor: str | None, to: str | None, rows: list[GrievanceRow]
    ) -> None:
        """Store a page's rows and move the cursor, in one transaction."""
        from chelun.grievance.service import INSERT_BATCH
        from chelun.storage.events import now

        at = now()
        with self.service.database.connect() as connection:
            if not self._advance(connection, cursor, to, len(rows), at):
                raise PlatformError(
                    f"platform {self.platform.name!r}: another pull moved its cursor while this "
                    f"one fetched page {number}; this pull stops without storing that page, and "
                    "nothing is lost: the next pull goes on from where the other one got to",
                    self._result(cursor, False),
                )
            new: dict[str, str] = {}
            for start in range(0, len(rows), INSERT_BATCH):
                new.update(
                    self.service.store_rows(connection, rows[start : start + INSERT_BATCH], at)
                )
        self.pages += 1
        self.rows += len(rows)
        self.added += len(new)
        self.quarantined += sum(1 for status in new.values() if status == "quarantined")

    def _advance(
        self,
        connection: Connection,
        cursor: str | None,
        to: str | None,
        items: int,
        at: dt.datetime,
    ) -> bool:
        """Move the kept cursor from ``cursor`` to ``to``; False if it is no longer at
        ``cursor`` (another pull of the same platform moved it meanwhile)."""
        from chelun.storage.tables import SyncCursor

        statement = (
            self.service.database.insert(SyncCursor)
            .values(
                province=self.service.province,
                source=self.platform.name,
                cursor=to,
                pages=1,
                items=items,
                updated_at=at,
            )
            .on_conflict_do_update(
                index_elements=["province", "source"],
                set_={
                    "cursor": to,
                    "pages": SyncCursor.pages + 1,
                    "items": SyncCursor.items + items,
                    "updated_at": at,
                },
                where=SyncCursor.cursor.is_not_distinct_from(cursor),
            )
            .returning(SyncCursor.pages)
        )
        return connection.execute(statement).first() is not None

    def _error(
        self, number: int, cursor: str | None, request: PageRequest, what: str
    ) -> PlatformError:
        where = "from the start" if cursor is None else f"after cursor {cursor[:40]!r}"
        stored = (
            "nothing of this pull is stored; the next pull starts again at this page"
            if self.pages == 0
            else f"the {_count(self.pages, 'page')} before it {'is' if self.pages == 1 else 'are'} "
            "stored, and the next pull resumes at this page"
        )
        return PlatformError(
            f"platform {self.platform.name!r}, page {number} of this pull ({where}, "
            f"{_bare_url(request.url)}): {what}; {stored}",
            self._result(cursor, False),
        )


def _fetch(client: httpx.Client, request: PageRequest) -> Any:
    """The decoded JSON answer to one page's request, asked again when worth it."""
    import httpx

    # httpx drops a URL's own query when given params: keep both (a feed's key, say).
    try:
        url = httpx.URL(request.url).copy_merge_params(request.params)
    except (httpx.InvalidURL, TypeError):
        raise _PageFailed("the platform's URL is not a valid URL") from None
    last = ""
    pause = 0.0
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(pause or BACKOFF * 2 ** (attempt - 1))
        pause = 0.0
        try:
            with client.stream("GET", url, headers=request.headers) as response:
                status = response.status_code
                if status in RETRY_STATUSES:
                    last = f"HTTP {status}"
                    pause = _retry_after(response.headers.get("retry-after"))
                    continue
                if not 200 <= status < 300:
                    raise _PageFailed(f"HTTP {status}")
                body = _body(response)
                kind = response.headers.get("content-type", "").split(";")[0].strip()
        except httpx.TimeoutException:
            last = f"timed out after {_seconds(client.timeout)}"
            continue
        except httpx.RemoteProtocolError:
            last = "the connection broke off"
            continue
        except httpx.InvalidURL:
            raise _PageFailed("the platform's URL is not a valid URL") from None
        except httpx.TransportError as exc:
            # Refused connections were retried by the transport already.
            raise _PageFailed(f"cannot connect ({type(exc).__name__})") from None
        return _decoded(body, kind)
    raise _PageFailed(f"{last} ({ATTEMPTS} attempts)")


def _body(response: httpx.Response) -> bytes:
    """The answer's bytes, refused beyond ``MAX_BODY``, whether it says its length or not."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _PageFailed(f"answer over {_size(MAX_BODY)}")
    chunks = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > MAX_BODY:
            raise _PageFailed(f"answer over {_size(MAX_BODY)}")
        chunks.append(chunk)
    return b"".join(chunks)


def _decoded(body: bytes, kind: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        shown = kind if kind.isprintable() and len(kind) <= 60 else ""
        raise _PageFailed(
            "answer is not JSON" + (f" (content type {shown})" if shown else "")
        ) from None


def _next_cursor(page: GrievancePage) -> str | None:
    value = page.next_cursor
    if value is None or value == "":
        return None
    if not (isinstance(value, str) and len(value) <= CURSOR_LIMIT and value.isprintable()):
        raise _PageFailed(
            f"the next cursor is not printable text of at most {CURSOR_LIMIT:,} characters"
        )
    return value


def _row(item: object, position: int, stand_in: str, page: int) -> GrievanceRow:
    """One item of a page as a grievance row; quarantined, with the reason, if it is not one."""
    from chelun.grievance.intake import COLUMNS, GrievanceRow, checked

    where = f"page {page}, item {position}"
    if not isinstance(item, dict):
        return GrievanceRow(
            position, f"{stand_in}-{position}", {}, f"{where}: {_kind_of(item)}, not an object"
        )
    cells: dict[str, str] = {}
    not_text = []
    for key, value in item.items():
        column = str(key).strip().lower()
        if column not in COLUMNS:
            continue
        if value is None or isinstance(value, str):
            cells[column] = value or ""
        else:
            not_text.append(column)
    row = checked(position, cells, stand_in)
    problems = [f"{', '.join(not_text)} not text (a string or null)"] if not_text else []
    if row.problem:
        problems.append(row.problem)
    row.problem = f"{where}: {'; '.join(problems)}" if problems else None
    return row


def _stand_in(name: str, cursor: str | None) -> str:
    """The stand-in ref prefix of a page's items without a usable ref: the same page asked again
    gives the same refs, so such an item is still stored once."""
    return "~" + hashlib.sha256(f"{name}\n{cursor or ''}".encode()).hexdigest()[:8]


def _kind_of(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _retry_after(value: str | None) -> float:
    """Seconds a ``Retry-After`` of whole seconds asks for, at most ``MAX_RETRY_AFTER``."""
    if value and value.strip().isdigit():
        return float(min(int(value.strip()), MAX_RETRY_AFTER))
    return 0.0


def _seconds(timeout: httpx.Timeout) -> str:
    value = timeout.read if timeout.read is not None else timeout.connect
    return "no time limit" if value is None else f"{value:g} s"


def _size(limit: int) -> str:
    mib = limit / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 and mib.is_integer() else f"{limit:,} bytes"


def _bare_url(url: str) -> str:
    """The URL without its query, fragment or credentials: what a message may show."""
    import httpx

    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "an invalid URL"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 200 else line[:197] + "..."


# --- the command -------------------------------------------------------------------------------

PagesOption = Annotated[
    int | None,
    typer.Option(
        "--pages",
        metavar="N",
        min=1,
        help="Fetch at most N pages (default CHELUN_GRIEVANCE_MAX_PAGES); the next pull resumes.",
    ),
]


def register_pull(app: typer.Typer) -> None:
    """Add ``pull`` to the grievance commands: ``chelun grievance pull``."""
    app.command("pull")(grievance_pull)


@friendly
def grievance_pull(province: ProvinceOption, pages: PagesOption = None) -> None:
    """Pull new grievances from the province's platform, then classify and route them.

    The platform is the province plugin's, else the JSON feed at CHELUN_GRIEVANCE_PLATFORM_URL.
    Each page is stored with the platform's cursor: a pull that fails resumes where it stopped,
    and a grievance pulled twice is stored once. Malformed items are kept as quarantined
    grievances with the reason.
    """
    from chelun.grievance.cli import _service

    service = _service(province)
    try:
        result = pull(service, max_pages=pages)
    except PlatformError as exc:
        # What was stored before the failure is routed now, not at the next pull.
        if exc.result is not None and exc.result.added:
            service.route_pending()
        raise fail(str(exc)) from None
    routed = service.route_pending()
    state = (
        "caught up"
        if result.finished
        else f"more to pull: stopped after {_count(result.pages, 'page')}, run it again"
    )
    err.print(
        f"province {service.province}, platform {result.platform!r} ({result.plugin}): "
        f"{_count(result.pages, 'page')}, {_count(result.rows, 'grievance')} read, "
        f"{result.added:,} new ({result.quarantined:,} quarantined), {result.already:,} already "
        f"stored; {routed:,} routed; {state}",
        highlight=False,
        soft_wrap=True,
    )
    if result.quarantined:
        warn(
            f"{result.quarantined:,} grievances quarantined: see `chelun grievance quarantine "
            f"-p {service.province}`"
        )


def _count(number: int, word: str) -> str:
    return f"{number:,} {word}{'' if number == 1 else 's'}"
