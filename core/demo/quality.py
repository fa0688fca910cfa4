"""How well linkage found the synthetic pilot's known truth: pairwise precision, recall, F1."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from chelun.storage.db import Database
from chelun.storage.tables import SourceRecord


@dataclass(frozen=True)
class LinkageQuality:
    """Pairs of rows on the same driver: as linked, as true, and both."""

    true_rows: int
    predicted_pairs: int
    true_pairs: int
    agreed_pairs: int

    @property
    def precision(self) -> float:
        return self.agreed_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.agreed_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        """The harmonic mean of precision and recall: 2 agreed / (predicted + true)."""
        total = self.predicted_pairs + self.true_pairs
        return 2 * self.agreed_pairs / total if total else 1.0


def _pairs(counter: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in counter.values())


def linkage_quality(truth_csv: Path, database: Database, province: str) -> LinkageQuality:
    """Compare which rows the roster put on one driver with which rows are one person.

    Junk rows (truth kind "junk") are left out; a true row that was quarantined counts against
    recall, never for precision.
    """
    with truth_csv.open(encoding="utf-8") as handle:
        truth = {
            (row["source"], int(row["row"])): row["person"]
            for row in csv.DictReader(handle)
            if row["kind"] == "person"
        }
    with database.connect() as connection:
        predicted = {
            (source, row_no): key
            for source, row_no, key in connection.execute(
                select(SourceRecord.source, SourceRecord.row_no, SourceRecord.driver_key).where(
                    SourceRecord.province == province, SourceRecord.driver_key.is_not(None)
                )
            )
        }
    agreed = Counter((truth[r], predicted[r]) for r in truth if r in predicted)
    return LinkageQuality(
        true_rows=len(truth),
        predicted_pairs=_pairs(Counter(predicted.values())),
        true_pairs=_pairs(Counter(truth.values())),
        agreed_pairs=_pairs(agreed),
    )
