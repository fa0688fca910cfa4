"""The catalogue of scheduled deployments: each of chelun's flows, for each province served, on
a cron schedule in Beijing time (Asia/Shanghai), with its parameters.

``chelun serve`` runs the catalogue from one process (Prefect's ``serve``); ``chelun deploy``
registers it with a Prefect server's work pool, whose workers run it. Both build the same
deployments here. A deployment names its flow by module path
(``chelun.flows.grievance.grievance_sweep_flow``): every machine that runs flows has chelun
installed and imports the flow from there, so no code is copied, pulled or baked into an image.

Planning (which job, which province, which schedule and parameters) is plain Python; Prefect is
imported only when the deployments are built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any

from chelun.ops.settings import OFF

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

    from chelun.ops.settings import OpsSettings
    from chelun.plugin_manager import PluginHost
    from chelun.settings import Settings

#: Every schedule is read in Beijing time.
TIMEZONE = "Asia/Shanghai"
#: The slug of each deployment's one schedule: deploying again updates it in place.
SCHEDULE_SLUG = "chelun"
#: What every flow run's process gets in its environment on a worker: nothing calls out.
OFFLINE_ENV = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


class PlanError(ValueError):
    """A selection or a schedule that cannot be deployed; the message is one line for users."""


@dataclass(frozen=True)
class Job:
    """A flow that runs on a schedule for each province served."""

    #: The deployment of a province is ``<name>-<code>``.
    name: str
    #: The flow's module path, the entrypoint a worker imports.
    flow: str
    #: The default schedule, a cron expression in Beijing time.
    cron: str
    #: What a run does, for listings and the deployment's description.
    summary: str
    #: Parameters besides ``province``.
    parameters: dict[str, Any] = field(default_factory=dict)


JOBS: tuple[Job, ...] = (
    Job(
        "roster-intake",
        "chelun.flows.schedules.drop_intake_flow",
        "0 2 * * *",
        "Daily at 02:00: ingest the roster files waiting in the province's drop folder, then "
        "move them to done/; no file, nothing to do.",
    ),
    Job(
        "grievance-intake",
        "chelun.flows.grievance.grievance_intake_flow",
        "5 * * * *",
        "Hourly at :05: pull the platform's new grievances (where the province has a "
        "platform), route every new grievance, send the notices owed.",
        {"pull_platform": True, "notify": True},
    ),
    Job(
        "grievance-sweep",
        "chelun.flows.grievance.grievance_sweep_flow",
        "25 * * * *",
        "Hourly at :25: escalate the grievances past a deadline, send the notices owed.",
        {"notify": True},
    ),
    Job(
        "claims-batch",
        "chelun.flows.claims.claims_batch_flow",
        "*/30 * * * *",
        "Every 30 minutes: check, assess and submit every claim ready.",
    ),
    Job(
        "claims-sync",
        "chelun.flows.claims.claims_sync_flow",
        "45 * * * *",
        "Hourly at :45: ask the insurer where each submitted claim stands.",
    ),
    Job(
        "award-campaign-step",
        "chelun.flows.recognition.award_campaign_step_flow",
        "0 6 * * *",
        "Daily at 06:00: take each open award campaign one step on, when that step is due.",
    ),
    Job(
        "care-visits-plan",
        "chelun.flows.recognition.care_visits_plan_flow",
        "0 8 1 * *",
        "Monthly, the 1st at 08:00: plan the month's care visits.",
    ),
    Job(
        "report",
        "chelun.flows.report.report_flow",
        "0 7 * * 1",
        "Weekly, Mondays at 07:00: the province's report, its tables and charts published "
        "as artifacts.",
    ),
)
JOB_NAMES: tuple[str, ...] = tuple(job.name for job in JOBS)


@dataclass(frozen=True)
class Planned:
    """One deployment to build: a job for a province, its schedule and its parameters."""

    job: Job
    province: str
    cron: str
    parameters: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.job.name}-{self.province}"


@dataclass
class Plan:
    """The deployments to build, and one line for each job left out and why."""

    deployments: list[Planned]
    notes: list[str] = field(default_factory=list)


@dataclass
class Built:
    """Prefect deployments ready to serve or apply, each with what it was planned as."""

    deployments: list[tuple[Planned, RunnerDeployment]]
    notes: list[str]


def served_provinces(settings: Settings, host: PluginHost) -> list[str]:
    """The provinces chelun serves: those a loaded plugin declares and ``CHELUN_PROVINCES``."""
    codes = set(settings.enabled_provinces)
    codes |= {code for info in host.describe() for code in info.provinces}
    return sorted(codes)


def has_platform(host: PluginHost, province: str) -> bool:
    """Whether the province has a grievance platform to pull from (a plugin's, or core's feed
    at ``CHELUN_GRIEVANCE_PLATFORM_URL``)."""
    from chelun.grievance.platform import HOOK
    from chelun.plugin_manager import decide

    return decide(host.manager(province), HOOK, province=province) is not None


def plan(
    ops: OpsSettings,
    host: PluginHost,
    provinces: Sequence[str],
    only: Sequence[str] = (),
) -> Plan:
    """Each job (those named in ``only``; every job by default) for each of ``provinces``, with
    the schedule ``CHELUN_FLOW_SCHEDULES`` gives it or its default.

    A job whose schedule is ``off`` is left out with a note. The grievance intake pulls the
    platform only in provinces that have one: elsewhere it routes and notifies. Raises
    ``PlanError`` for a job name that does not exist.
    """
    unknown = [name for name in only if name not in JOB_NAMES]
    if unknown:
        raise PlanError(
            f"no job is named {', '.join(map(repr, unknown))}; the jobs are {', '.join(JOB_NAMES)}"
        )
    overrides = ops.schedules
    result = Plan([])
    platforms: dict[str, bool] = {}
    for province in provinces:
        for job in JOBS:
            if only and job.name not in only:
                continue
            cron = overrides.get(job.name, job.cron)
            if cron == OFF:
                continue
            parameters = {"province": province, **job.parameters}
            if parameters.get("pull_platform"):
                if province not in platforms:
                    platforms[province] = has_platform(host, province)
                parameters["pull_platform"] = platforms[province]
            result.deployments.append(Planned(job, province, cron, parameters))
    result.notes += [
        f"{name}: off (CHELUN_FLOW_SCHEDULES)"
        for name, cron in overrides.items()
        if cron == OFF and (not only or name in only)
    ]
    return result


def load_flow(job: Job) -> Flow[..., Any] | None:
    """The job's flow, imported from chelun; None when its module is not installed (a flow
    that a later version of chelun brings)."""
    module_name, _, attribute = job.flow.rpartition(".")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    return getattr(module, attribute)


def build(
    planned: Plan,
    *,
    every: int | None = None,
    work_queue: str | None = None,
    job_variables: dict[str, Any] | None = None,
) -> Built:
    """Prefect deployments of a plan: each on its cron schedule in Beijing time (or, with
    ``every``, every so many seconds, to try a site out), at most one run of a deployment at a
    time, tagged ``chelun`` and ``province:<code>``.

    ``work_queue`` and ``job_variables`` are for deployments registered with a work pool. A
    job whose flow is not installed is left out with a note. Raises ``PlanError`` for a cron
    expression Prefect does not accept.
    """
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron, Interval

    from chelun import __version__

    flows: dict[str, Flow[..., Any] | None] = {}
    notes = list(planned.notes)
    deployments = []
    for item in planned.deployments:
        job = item.job
        if job.name not in flows:
            flows[job.name] = load_flow(job)
            if flows[job.name] is None:
                notes.append(f"{job.name}: skipped, its flow {job.flow} is not installed")
        flow = flows[job.name]
        if flow is None:
            continue
        if every is not None:
            schedule = Interval(every, slug=SCHEDULE_SLUG)
        else:
            try:
                schedule = Cron(item.cron, timezone=TIMEZONE, slug=SCHEDULE_SLUG)
            except ValueError:
                raise PlanError(
                    f"CHELUN_FLOW_SCHEDULES gives {job.name} {item.cron!r}, which is not a cron "
                    "expression (minute hour day month weekday, e.g. */15 * * * *)"
                ) from None
        deployment = flow.to_deployment(
            item.name,
            schedules=[schedule],
            parameters=item.parameters,
            description=job.summary,
            tags=["chelun", f"province:{item.province}"],
            version=__version__,
            concurrency_limit=1,
            work_queue_name=work_queue,
            job_variables=job_variables,
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        # The module path the job names, whatever the flow's function is called.
        deployment.entrypoint = job.flow
        deployments.append((item, deployment))
    return Built(deployments, notes)
