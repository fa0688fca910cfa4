"""``python -m chelun.ops serve|deploy``: the two commands on a command line of their own, the
same functions ``chelun serve`` and ``chelun deploy`` run."""

from __future__ import annotations

from chelun.commands import command_group
from chelun.ops.cli import register_ops

app = command_group(
    "chelun's flows on schedules: serve them from this process, or deploy them to a Prefect "
    "server's work pool (docs/operators.md).",
    pretty_exceptions_enable=False,
)
register_ops(app)

if __name__ == "__main__":
    app(prog_name="chelun")
