"""The whole demo, run as a user runs it, leaves personal data nowhere but in chelun's own tables.

``chelun demo`` runs as a real process with a log file and Prefect's run logs sent to its (embedded)
API. Then every ID number, mobile number, plate, name and grievance text that chelun's database
holds is looked for in everything else the run emitted or stored: standard output and error, the
log file, every file under CHELUN_HOME, and every text value of every table of Prefect's database
(run logs, artifacts, flow run parameters, states, events ...).

Not scanned, on purpose:

- chelun's database (``chelun.db`` and its ``-wal``/``-shm``/``-journal`` files): its tables hold
  the roster, by design; it is where the personal data comes from;
- the demo's inputs under ``CHELUN_HOME/demo/<province>/``: the files a province would send
  (transport, police, party, village sources, grievances, claims, nominations, visits, scores)
  and ``truth.csv`` (who is who), personal data by design. Any other file there is scanned.

Names are matched with care for the characters around them: a name of three or more characters
is looked for anywhere; a two-character name (张伟) only as a whole run of Chinese characters,
since two common characters also occur inside ordinary words and place names. Party membership is
a yes or no, nothing to look for; chelun masks it where it is a field (``member=``, ``政治面貌：``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.exc import SAWarning

from chelun.privacy import mask_id, mask_name, mask_phone, mask_plate
from chelun.storage.tables import Claim, Driver, Grievance, SourceRecord

CHELUN = Path(sys.executable).parent / "chelun"
#: chelun's own database: the roster lives there by design.
CHELUN_DATABASE = frozenset({"chelun.db", "chelun.db-wal", "chelun.db-shm", "chelun.db-journal"})
#: What the demo generates in CHELUN_HOME/demo/<province>/ as a province's input, and its truth.
DEMO_INPUTS = frozenset(
    {
        "transport.csv",
        "police.xlsx",
        "party.csv",
        "village.csv",
        "grievances.csv",
        "claims.csv",
        "nominations.csv",
        "visits.csv",
        "scores.csv",
        "truth.csv",
    }
)
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·]+")
_CJK_NAME = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·]{2,}")


@dataclass
class PersonalData:
    """What chelun's tables hold of people, to be looked for elsewhere."""

    ids: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    plates: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    texts: set[str] = field(default_factory=set)

    def add(
        self,
        *,
        ids: Iterable[str | None] = (),
        phones: Iterable[str | None] = (),
        plates: Iterable[str | None] = (),
        names: Iterable[str | None] = (),
        texts: Iterable[str | None] = (),
    ) -> None:
        """Add values as stored, leaving out what is too short to be told from other text."""
        digits = [re.sub(r"\D", "", v) for v in phones if v]
        self.ids |= {v.strip() for v in ids if v and len(v.strip()) >= 15}
        self.phones |= {v for v in digits if len(v) >= 11}
        self.plates |= {v.strip() for v in plates if v and len(v.strip()) >= 7}
        self.names |= {v.strip() for v in names if v and _CJK_NAME.fullmatch(v.strip())}
        self.texts |= {v.strip() for v in texts if v and len(v.strip()) >= 10}

    def found_in(self, text: str) -> list[str]:
        """The personal values ``text`` contains, masked (a failing test prints no more)."""
        runs = set(_CJK_RUN.findall(text))
        found = [f"ID {mask_id(v)}" for v in self.ids if v in text or v.lower() in text]
        found += [f"phone {mask_phone(v)}" for v in self.phones if v in text]
        found += [f"plate {mask_plate(v)}" for v in self.plates if v in text]
        found += [
            f"name {mask_name(v)}" for v in self.names if (v in text if len(v) >= 3 else v in runs)
        ]
        found += [f"grievance text {v[:4]}..." for v in self.texts if v in text]
        return sorted(found)


def personal_data(database_url: str) -> PersonalData:
    """The ID numbers, phones, plates, names and grievance texts in chelun's database: the
    roster, every source row (quarantined ones too), grievances and claims."""
    data = PersonalData()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            for row in connection.execute(
                select(Driver.id_number, Driver.phone, Driver.plate, Driver.name)
            ):
                data.add(ids=[row[0]], phones=[row[1]], plates=[row[2]], names=[row[3]])
            for row in connection.execute(
                select(
                    SourceRecord.id_number,
                    SourceRecord.phone,
                    SourceRecord.plate,
                    SourceRecord.name,
                )
            ):
                data.add(ids=[row[0]], phones=[row[1]], plates=[row[2]], names=[row[3]])
            for row in connection.execute(
                select(Grievance.id_number, Grievance.phone, Grievance.name, Grievance.text)
            ):
                data.add(ids=[row[0]], phones=[row[1]], names=[row[2]], texts=[row[3]])
            for row in connection.execute(select(Claim.id_number, Claim.phone, Claim.name)):
                data.add(ids=[row[0]], phones=[row[1]], names=[row[2]])
    finally:
        engine.dispose()
    return data


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a value read from a database: JSON text decoded (Prefect stores JSON
    with non-ASCII characters escaped), mappings and lists walked."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        yield value
        if value[:1] in '[{"':
            try:
                decoded = json.loads(value)
            except ValueError:
                return
            yield from strings_in(decoded) if not isinstance(decoded, str) else [decoded]
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)


def sqlite_texts(path: Path) -> dict[str, list[str]]:
    """Every string of every column of every table of a SQLite database, by table."""
    engine = create_engine(f"sqlite:///{path}")
    metadata = MetaData()
    texts: dict[str, list[str]] = {}
    try:
        with warnings.catch_warnings():  # indexes on expressions are not reflected: not needed
            warnings.simplefilter("ignore", SAWarning)
            metadata.reflect(engine)
        with engine.connect() as connection:
            for table in metadata.tables.values():
                texts[table.name] = [
                    text
                    for row in connection.execute(select(table))
                    for value in row
                    for text in strings_in(value)
                ]
    finally:
        engine.dispose()
    return texts


def scanned_files(home: Path) -> Iterable[Path]:
    """Every file under CHELUN_HOME but chelun's database and the demo's inputs."""
    for path in sorted(home.rglob("*")):
        if not path.is_file() or path.name in CHELUN_DATABASE and path.parent == home:
            continue
        if path.name in DEMO_INPUTS and path.parent.parent == home / "demo":
            continue
        yield path


def test_the_scan_finds_personal_data_where_it_is() -> None:
    data = PersonalData()
    data.add(
        ids=["320102199001011234"],
        phones=["13800138000"],
        plates=["苏A12345"],
        names=["欧阳明华", "张伟"],
        texts=["平台抽成越来越高，一单运费被扣掉近两成"],
    )
    text = (
        'x 320102199001011234 "13800138000" 苏A12345 {"n": "张伟"} 欧阳明华到了 '
        "平台抽成越来越高，一单运费被扣掉近两成"
    )
    assert len(data.found_in(text)) == 6
    # A two-character name inside a longer run of characters is a word, not the name.
    assert data.found_in("张伟大的工程 320102********1234 138****8000") == []
    decoded = list(strings_in('{"message": "\\u5f20\\u4f1f"}'))
    assert data.found_in("\n".join(decoded)) == ["name 张*"]


def test_the_demo_leaves_no_personal_data_outside_chelun_tables(tmp_path: Path) -> None:
    home = tmp_path / "home"
    log_file = tmp_path / "logs" / "chelun.log"
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_", "CHELUN_"))
    }
    environment |= {
        "CHELUN_HOME": str(home),
        "CHELUN_LOG_FILE": str(log_file),
        "CHELUN_LOG_FORMAT": "json",
        "CHELUN_LOG_LEVEL": "INFO",
        # Offline, Prefect keeps no run logs by default: send them to its database, to scan.
        "PREFECT_LOGGING_TO_API_ENABLED": "true",
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [str(CHELUN), "demo", "--drivers", "600"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2_000:]

    data = personal_data(f"sqlite:///{home / 'chelun.db'}")
    assert len(data.ids) > 400 and len(data.phones) > 400 and len(data.names) > 400
    assert data.plates and data.texts

    # The places the run wrote to hold what they should, so that finding nothing there means
    # something: run logs with their context in the log file and in Prefect's database.
    records = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert any(
        r["logger"] == "prefect.task_runs" and r.get("province") == "62" and r.get("flow_run_name")
        for r in records
    )
    prefect_db = home / "prefect" / "prefect.db"
    prefect = sqlite_texts(prefect_db)
    assert any("profile" in message for message in prefect["log"])
    assert prefect["artifact"] and prefect["flow_run"]

    sources: dict[str, str] = {
        "standard output": done.stdout,
        "standard error": done.stderr,
        "the log file": "\n".join(
            text
            for record in records
            for text in strings_in(json.dumps(record, ensure_ascii=False))
        ),
    }
    for table, texts in prefect.items():
        sources[f"Prefect's table {table}"] = "\n".join(texts)
    scanned = list(scanned_files(home))
    assert prefect_db in scanned
    for path in scanned:
        sources[str(path.relative_to(home))] = path.read_bytes().decode("utf-8", errors="replace")

    leaks = {where: found for where, text in sources.items() if (found := data.found_in(text))}
    assert not leaks, leaks
