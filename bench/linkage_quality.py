"""Linkage quality at scale: pairwise precision and recall of "same driver" links against the
synthetic pilot's known truth.

    python bench/linkage_quality.py --drivers 200000 --province 32

Generates one province (CSV, the demo's generator) in a temporary folder, runs the intake's
stage and link on a fresh SQLite file, and compares which rows ended up on the same driver with
which rows truly are the same person. Rows of junk (truth kind "junk") are left out; a true row
that was quarantined counts against recall.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from chelun.demo.synthetic import generate_province
from chelun.plugin_manager import PluginHost
from chelun.roster.service import RosterIntake
from chelun.roster.staging import SourceInput
from chelun.storage.db import Database


def pairs(counter: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in counter.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", type=int, default=200_000)
    parser.add_argument("--province", default="32")
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chelun-linkage-") as folder:
        out = Path(folder)
        sources = generate_province(
            out, args.province, args.drivers, seed=args.seed, spreadsheet=False
        )
        database = Database(f"sqlite:///{out / 'roster.db'}")
        database.ensure_schema()
        intake = RosterIntake(
            database, PluginHost(entry_points=False).manager(args.province), args.province
        )
        intake.run([SourceInput(s.name, s.path) for s in sources], workers=2)
        with (out / "truth.csv").open(encoding="utf-8") as handle:
            truth = {
                (row["source"], int(row["row"])): row["person"]
                for row in csv.DictReader(handle)
                if row["kind"] == "person"
            }
        with database.connect() as connection:
            predicted = {
                (source, row_no): key
                for source, row_no, key in connection.execute(
                    text(
                        "SELECT source, row_no, driver_key FROM source_record "
                        "WHERE driver_key IS NOT NULL"
                    )
                )
            }
        database.dispose()
    agreed = pairs(Counter((truth[r], predicted[r]) for r in truth if r in predicted))
    predicted_pairs = pairs(Counter(predicted.values()))
    true_pairs = pairs(Counter(truth.values()))
    print(
        f"province {args.province}, {args.drivers:,} drivers, {len(truth):,} true rows: "
        f"precision {agreed / predicted_pairs:.5f}, recall {agreed / true_pairs:.5f} "
        f"(pairs predicted {predicted_pairs:,}, true {true_pairs:,}, agreed {agreed:,})"
    )


if __name__ == "__main__":
    main()
