"""The ``chelun plugins new`` and ``chelun plugins check`` commands' work; ``chelun.cli`` holds
their options and help."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer

from chelun.commands import err, fail, out


def plugins_new(name: str, province: str, where: Path) -> None:
    """Write plugin ``name``'s package for ``province`` in ``where``, and say what comes next."""
    from chelun.kit.scaffold import ScaffoldError, new_plugin

    try:
        made = new_plugin(name, province, where)
    except ScaffoldError as exc:
        raise fail(str(exc), 2) from None
    folder = made.folder.name
    err.print(
        f"created {folder}/, plugin {made.name!r} for province {made.province}:",
        highlight=False,
    )
    for relative in made.files:
        out.print(f"  {folder}/{relative}", highlight=False, markup=False)
    err.print(
        "next (docs/plugins.md):\n"
        f"  cd {folder}\n"
        "  pip install -e .\n"
        "  pytest\n"
        f"  chelun plugins check {made.name}",
        highlight=False,
        markup=False,
    )


def plugins_check(
    reference: str, province: str | None, *, as_json: bool = False, timeout: float = 60.0
) -> int:
    """Run the conformance checks of the plugin ``reference`` names and print the report; the
    exit code: 0 when every check passed, 1 when one failed."""
    from chelun.identity.divisions import resolve_province
    from chelun.kit.conformance import TargetError, find_plugin, run_conformance

    code = None
    if province is not None:
        try:
            code = resolve_province(province)
        except ValueError as exc:
            raise fail(str(exc), 2) from None
    try:
        target = find_plugin(reference, root=Path.cwd())
    except TargetError as exc:
        raise fail(str(exc), 2) from None
    with tempfile.TemporaryDirectory(prefix="chelun-check-") as workdir:
        report = run_conformance(target, code, workdir=Path(workdir), timeout=timeout)
    if as_json:
        payload = {
            "plugin": report.plugin,
            "origin": report.origin,
            "version": report.version,
            "province": report.province,
            "passed": report.passed,
            "failed": report.failed_checks(),
            "findings": [
                {
                    "check": finding.check,
                    "level": finding.level,
                    "hook": finding.hook,
                    "message": finding.message,
                }
                for finding in report.findings
            ],
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        typer.echo(report.text())
    return 0 if report.passed else 1
