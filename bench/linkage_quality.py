"""Linkage quality at scale: pairwise precision, recall and F1 of "same driver" links against the
synthetic pilot's known truth, with the CPU time and peak memory of the intake that made them.

    python bench/linkage_quality.py --drivers 200000 --province 32 --hardest

Generates one province (CSV, the demo's generator; ``--hardest`` for ``Messiness.hardest()``) in
a temporary folder, then runs the intake's stage and link on a fresh SQLite file in a child
process, and compares which rows ended up on the same driver with which rows truly are the same
person. Rows of junk (truth kind "junk") are left out; a true row that was quarantined counts
against recall.

CPU seconds and peak RSS are those of stage + link alone (generation and scoring are left out):
the child measures itself and its staging workers once they have exited, with
``resource.getrusage`` (``RUSAGE_SELF`` + ``RUSAGE_CHILDREN``: user + system time; the sum of the
two ``ru_maxrss``, an upper bound of the peak the processes reached together).

``--bound`` also prints the evidence bound: the recall (and F1 at precision 1.0) of linking every
two rows of one person that a chain of direct evidence joins: the same valid ID number; the same
name key and the same phone, plate or damaged ID; the same name and a damaged ID one typo from the
other's valid one, or two damaged IDs one typo from the same valid number. Rows quarantined at
staging join nothing. No linker that never guesses from a name alone gets past it (a row with no
ID and a phone given nowhere else, say); it is a bound, not a target: it counts one ID number
under two names as evidence whatever the names, where chelun asks for a phone or plate in common.
"""

from __future__ import annotations

import argparse
import atexit
import csv
import json
import resource
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from chelun.demo.quality import linkage_quality
from chelun.demo.roster import SOURCES, Messiness, generate_province
from chelun.storage.db import Database
from chelun.storage.tables import SourceRecord

USAGE_MARK = "linkage-quality-usage: "


def _report_usage() -> None:
    """At exit, after the staging workers were shut down and reaped (atexit runs last what
    was registered first): this process's and its children's CPU time and peak RSS."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    usage = {
        "cpu_s": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
        "peak_rss_mb": (own.ru_maxrss + children.ru_maxrss) / 1024,
        "own_rss_mb": own.ru_maxrss / 1024,
        "workers_rss_mb": children.ru_maxrss / 1024,
    }
    print(USAGE_MARK + json.dumps(usage), flush=True)


def intake(folder: Path, province: str, workers: int) -> None:
    """Stage and link the generated files (the child process)."""
    atexit.register(_report_usage)
    from chelun.plugin_manager import PluginHost
    from chelun.roster.service import RosterIntake
    from chelun.roster.staging import SourceInput

    database = Database(f"sqlite:///{folder / 'roster.db'}")
    database.ensure_schema()
    run = RosterIntake(database, PluginHost(entry_points=False).manager(province), province)
    run.run([SourceInput(name, folder / f"{name}.csv") for name in SOURCES], workers=workers)
    database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", type=int, default=200_000)
    parser.add_argument("--province", default="32")
    parser.add_argument("--seed", type=int, default=2022)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--hardest", action="store_true", help="the generator's hardest setting for linkage"
    )
    parser.add_argument("--bound", action="store_true", help="also print the evidence bound")
    parser.add_argument("--intake-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.intake_only is not None:
        intake(args.intake_only, args.province, args.workers)
        return
    messiness = Messiness.hardest() if args.hardest else Messiness()
    with tempfile.TemporaryDirectory(prefix="chelun-linkage-") as name:
        folder = Path(name)
        sources = generate_province(
            folder,
            args.province,
            args.drivers,
            seed=args.seed,
            spreadsheet=False,
            messiness=messiness,
        )
        rows = sum(source.rows for source in sources)
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--intake-only",
                str(folder),
                "--province",
                args.province,
                "--workers",
                str(args.workers),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        [line] = [line for line in child.stdout.splitlines() if line.startswith(USAGE_MARK)]
        usage = json.loads(line[len(USAGE_MARK) :])
        database = Database(f"sqlite:///{folder / 'roster.db'}")
        quality = linkage_quality(folder / "truth.csv", database, args.province)
        reasons = _quarantine_reasons(database, args.province)
        bound = (
            evidence_bound(folder / "truth.csv", database, args.province) if args.bound else None
        )
        database.dispose()
    setting = "hardest" if args.hardest else "default"
    print(
        f"province {args.province}, {args.drivers:,} drivers ({setting} messiness, seed "
        f"{args.seed}), {rows:,} rows, {quality.true_rows:,} true rows\n"
        f"F1 {quality.f1:.5f}, precision {quality.precision:.5f}, recall {quality.recall:.5f} "
        f"(pairs predicted {quality.predicted_pairs:,}, true {quality.true_pairs:,}, "
        f"agreed {quality.agreed_pairs:,})\n"
        f"stage + link: {usage['cpu_s']:.1f} CPU s, peak RSS {usage['peak_rss_mb']:,.0f} MB "
        f"({usage['own_rss_mb']:,.0f} MB the intake process, {usage['workers_rss_mb']:,.0f} MB "
        f"its largest staging worker)\n"
        "quarantined: " + ", ".join(f"{code} {n:,}" for code, n in sorted(reasons.items()))
    )
    if bound is not None:
        print(f"evidence bound: recall {bound:.5f}, F1 {2 * bound / (1 + bound):.5f}")


def evidence_bound(truth_csv: Path, database: Database, province: str) -> float:
    """The recall of linking the rows of each person that direct evidence joins (see above)."""
    # Imported here: the rest of the benchmark runs on code that has no ``valid_neighbours``
    # (to measure it before and after a change).
    from chelun.roster.linkage import STAGING_QUARANTINE, one_typo_apart, valid_neighbours

    with truth_csv.open(encoding="utf-8") as handle:
        people: dict[str, list[tuple[str, int]]] = {}
        for row in csv.DictReader(handle):
            if row["kind"] == "person":
                people.setdefault(row["person"], []).append((row["source"], int(row["row"])))
    s = SourceRecord
    with database.connect() as connection:
        records = {
            (source, row_no): rest
            for source, row_no, *rest in connection.execute(
                select(
                    s.source, s.row_no, s.id_number, s.id_cleaned, s.name_key, s.phone, s.plate,
                    s.link,
                ).where(s.province == province)
            )
        }  # fmt: skip
    neighbours: dict[str, set[str]] = {}

    def near(damaged: str) -> set[str]:
        if damaged not in neighbours:
            neighbours[damaged] = valid_neighbours(damaged)
        return neighbours[damaged]

    def joined(a: list[Any], b: list[Any]) -> bool:
        (id_a, bad_a, name_a, phone_a, plate_a, _), (id_b, bad_b, name_b, phone_b, plate_b, _) = (
            a,
            b,
        )
        if id_a and id_a == id_b:
            return True
        if not name_a or name_a != name_b:
            return False
        if (phone_a and phone_a == phone_b) or (plate_a and plate_a == plate_b):
            return True
        if bad_a and ((id_b and one_typo_apart(bad_a, id_b)) or bad_a == bad_b):
            return True
        if bad_b and id_a and one_typo_apart(bad_b, id_a):
            return True
        return bool(bad_a and bad_b and near(bad_a) & near(bad_b))

    true_pairs = linked_pairs = 0
    for rows in people.values():
        n = len(rows)
        true_pairs += n * (n - 1) // 2
        usable = [records[r] for r in rows if records[r][5] not in STAGING_QUARANTINE]
        parent = list(range(len(usable)))
        for i in range(len(usable)):
            for j in range(i + 1, len(usable)):
                if joined(usable[i], usable[j]):
                    parent[_root(parent, i)] = _root(parent, j)
        sizes = Counter(_root(parent, i) for i in range(len(usable)))
        linked_pairs += sum(k * (k - 1) // 2 for k in sizes.values())
    return linked_pairs / true_pairs if true_pairs else 1.0


def _root(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _quarantine_reasons(database: Database, province: str) -> Counter[str]:
    s = SourceRecord
    with database.connect() as connection:
        links = connection.execute(
            select(s.link).where(s.province == province, s.quarantine.is_not(None))
        ).scalars()
        return Counter(link.removeprefix("q:") for link in links)


if __name__ == "__main__":
    main()
