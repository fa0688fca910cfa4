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
import tempfile
from pathlib import Path

from chelun.demo.quality import linkage_quality
from chelun.demo.roster import generate_province
from chelun.plugin_manager import PluginHost
from chelun.roster.service import RosterIntake
from chelun.roster.staging import SourceInput
from chelun.storage.db import Database


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
        quality = linkage_quality(out / "truth.csv", database, args.province)
        database.dispose()
    print(
        f"province {args.province}, {args.drivers:,} drivers, {quality.true_rows:,} true rows: "
        f"precision {quality.precision:.5f}, recall {quality.recall:.5f} "
        f"(pairs predicted {quality.predicted_pairs:,}, true {quality.true_pairs:,}, "
        f"agreed {quality.agreed_pairs:,})"
    )


if __name__ == "__main__":
    main()
