"""``chelun serve`` and ``chelun deploy``: chelun's flows on their schedules, from one process or
on a Prefect server's workers.

Both need a Prefect server (``PREFECT_API_URL``): it keeps the schedules and creates each run
when it is due, which Prefect's embedded mode does not. Prefect is imported after
``load_settings`` has pointed it at chelun's private home with analytics off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from chelun.commands import fail, friendly, load_settings, out, province_code, warn

if TYPE_CHECKING:
    from chelun.ops.deployments import Built, Plan, Planned
    from chelun.settings import Settings

ProvincesOption = Annotated[
    list[str] | None,
    typer.Option(
        "--province",
        "-p",
        metavar="CODE",
        help="A province (code or pinyin name); repeat for several. Default: every province "
        "served (those with a plugin, and CHELUN_PROVINCES).",
    ),
]
OnlyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--only",
        metavar="NAME",
        help="Only this job; repeat for several: roster-intake, grievance-intake, "
        "grievance-sweep, claims-batch, claims-sync, award-campaign-step, care-visits-plan, "
        "report. Default: every job.",
    ),
]


def register_ops(app: typer.Typer) -> None:
    """Add ``serve`` and ``deploy`` to the ``chelun`` command line."""
    app.command("serve")(serve_command)
    app.command("deploy")(deploy_command)


@friendly
def serve_command(
    province: ProvincesOption = None,
    only: OnlyOption = None,
    every: Annotated[
        int | None,
        typer.Option(
            "--every",
            metavar="SECONDS",
            min=1,
            help="Run each flow every SECONDS instead of on its schedule: to try a site out.",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", metavar="N", min=1, help="Run at most N flows at once (default: no limit)."
        ),
    ] = None,
) -> None:
    """Run chelun's flows on their schedules from this process, until interrupted (Ctrl-C).

    For a small site, where one machine does all the work: each province's roster intake,
    grievance pull and sweep, claims batch and sync, campaign steps, care-visit plan and weekly
    report, on cron schedules in Beijing time (docs/operators.md lists them). Needs a Prefect
    server, which keeps the schedules: start one with `prefect server start` and set
    PREFECT_API_URL (e.g. http://127.0.0.1:4200/api). Each run is a process of its own. On
    exit, the schedules are paused until chelun serve runs again.
    """
    current = load_settings()
    planned = _plan(current, province, only)
    url = _require_server("chelun serve")
    built = _build(planned, every=every)
    _show(built, every)
    out.print(
        f"serving {_count(built)} with the Prefect server at {url}; Ctrl-C stops",
        highlight=False,
        soft_wrap=True,
    )
    from prefect import serve

    deployments = [deployment for _, deployment in built.deployments]
    serve(*deployments, print_starting_message=False, limit=limit)
    out.print("stopped; the schedules are paused until chelun serve runs again")


@friendly
def deploy_command(
    pool: Annotated[
        str,
        typer.Option(
            "--pool",
            metavar="NAME",
            help="The work pool whose workers run the flows (prefect work-pool create --type "
            "process NAME).",
        ),
    ],
    province: ProvincesOption = None,
    only: OnlyOption = None,
    work_queue: Annotated[
        str | None,
        typer.Option(
            "--work-queue",
            metavar="NAME",
            help="The pool's queue for these runs (default: the pool's default queue).",
        ),
    ] = None,
) -> None:
    """Register chelun's flows, on their schedules, with a Prefect server's work pool.

    For a site with several machines: the server creates each run when it is due, and the
    workers of the pool (prefect worker start --pool NAME, on each machine, with chelun
    installed and the same CHELUN_ settings) share the runs. PREFECT_API_URL must point at the
    server. Deploying again updates the deployments in place. docs/operators.md walks through
    the whole setup.
    """
    from chelun.ops.deployments import OFFLINE_ENV

    current = load_settings()
    planned = _plan(current, province, only)
    url = _require_server("chelun deploy")
    _require_pool(pool, url)
    built = _build(planned, work_queue=work_queue, job_variables={"env": OFFLINE_ENV})
    _apply(built, pool, url)
    _show(built, None)
    out.print(
        f"{_count(built)} registered with work pool {pool!r} on the Prefect "
        f"server at {url}; start a worker on each machine: prefect worker start --pool {pool}",
        highlight=False,
        soft_wrap=True,
    )


def _plan(current: Settings, provinces: list[str] | None, only: list[str] | None) -> Plan:
    """The deployments of the provinces and jobs asked for; one-line errors for a selection
    that is wrong."""
    from chelun.ops.deployments import PlanError, plan, served_provinces
    from chelun.ops.settings import OpsSettings
    from chelun.plugin_manager import PluginHost

    host = PluginHost(current, report=lambda failure: warn(str(failure)))
    codes = sorted({province_code(value, current) for value in provinces or []})
    codes = codes or served_provinces(current, host)
    if not codes:
        raise fail("no province is served: install a province's plugin or set CHELUN_PROVINCES", 2)
    try:
        return plan(OpsSettings(), host, codes, only or ())
    except PlanError as exc:
        raise fail(str(exc), 2) from None


def _build(planned: Plan, **options: Any) -> Built:
    """Prefect's deployments of a plan, each job left out said in one line; an error when
    nothing is left."""
    from chelun.ops.deployments import PlanError, build

    try:
        built = build(planned, **options)
    except PlanError as exc:
        raise fail(str(exc), 2) from None
    for note in built.notes:
        warn(note)
    if not built.deployments:
        raise fail("nothing to schedule: every job asked for is off or not installed", 2)
    return built


def _apply(built: Built, pool: str, url: str) -> None:
    """Create or update each deployment on the server; one line for one it refuses."""
    import httpx
    from prefect.deployments.runner import DeploymentApplyError
    from prefect.exceptions import PrefectException

    for planned, deployment in built.deployments:
        try:
            deployment.apply(work_pool_name=pool)
        except (DeploymentApplyError, PrefectException, httpx.HTTPError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise fail(
                f"the Prefect server at {url} did not take deployment {planned.name}: {reason}"
            ) from None


def _count(built: Built) -> str:
    count = len(built.deployments)
    return f"{count} deployment{'' if count == 1 else 's'}"


def _show(built: Built, every: int | None) -> None:
    """A table of the deployments: name, schedule and parameters besides the province; names
    and schedules are never cut, whatever the terminal's width."""
    from rich.table import Table

    table = Table()
    table.add_column("deployment", no_wrap=True)
    table.add_column("schedule" if every else "schedule (Beijing time)", no_wrap=True)
    table.add_column("parameters", overflow="fold")
    for planned, _ in built.deployments:
        table.add_row(planned.name, f"every {every} s" if every else planned.cron, _extra(planned))
    out.print(table)


def _extra(planned: Planned) -> str:
    return ", ".join(
        f"{name}={value}" for name, value in planned.parameters.items() if name != "province"
    )


def _require_server(command: str) -> str:
    """``PREFECT_API_URL`` (its user and password left out), once a server answers there."""
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    url = PREFECT_API_URL.value()
    if not url:
        raise fail(
            f"{command} needs a Prefect server, which keeps the schedules: start one with "
            "`prefect server start` and set PREFECT_API_URL to its API (e.g. "
            "http://127.0.0.1:4200/api)",
            2,
        )
    shown = _without_credentials(url)
    import httpx
    from prefect.client.orchestration import get_client

    # One try, ten seconds: a server that does not answer is said at once, not after Prefect's
    # client has retried with backoff for a minute.
    try:
        with temporary_settings(updates={PREFECT_CLIENT_MAX_RETRIES: 0}):
            with get_client(sync_client=True, httpx_settings={"timeout": 10}) as client:
                problem = client.api_healthcheck()
    except httpx.HTTPError as exc:
        problem = exc
    if problem is not None:
        if isinstance(problem, httpx.HTTPStatusError):
            reason = f"HTTP {problem.response.status_code} at /health"
        else:
            reason = " ".join(str(problem).split()) or type(problem).__name__
        raise fail(
            f"no Prefect server answers at {shown} ({reason}): start it "
            "with `prefect server start`, or correct PREFECT_API_URL",
            1,
        )
    return shown


def _require_pool(pool: str, url: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            raise fail(
                f"the Prefect server at {url} has no work pool {pool!r}: create it with "
                f"`prefect work-pool create --type process {pool}`",
                2,
            ) from None


def _without_credentials(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))
