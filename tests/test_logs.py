"""chelun's logs: structured, with context, and personal data masked in every record, including
what Prefect stores of a run."""

from __future__ import annotations

import ast
import io
import json
import logging
import os
import stat
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from chelun import logs
from chelun.logs import (
    RUN_LOGGERS,
    LogFileError,
    LogSettings,
    configure_logging,
    mask_prefect_state_messages,
    mask_record,
    mask_text,
    masked_excepthook,
)

ID = "320102199001011234"
PHONE = "13800138000"
NAME = "欧阳明华"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the process's logging back as it was: handlers, levels, the record factory, the
    bound context, the excepthook and warnings."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    names = ["", "chelun", *RUN_LOGGERS]
    levels = {name: logging.getLogger(name).level for name in names}
    factory = logging.getLogRecordFactory()
    bound = dict(logs._BOUND)
    hook = sys.excepthook
    showwarning = warnings.showwarning
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    logging.setLogRecordFactory(factory)
    logs._BOUND.clear()
    logs._BOUND.update(bound)
    sys.excepthook = hook
    if warnings.showwarning is not showwarning:
        logging.captureWarnings(False)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (f"driver {ID} phone {PHONE}", "driver 320102********1234 phone 138****8000"),
        ("32010219900101123X and 320102900101123", "320102********123X and 320102*****1123"),
        ("320102 19900101 1234", "320102********1234"),
        (
            "+86 138-0013-8000, (+86)138 0013 8000, 8613800138000",
            "138****8000, " * 2 + "138****8000",
        ),
        ("plates 苏A12345 川AD12345 苏A 12345", "plates 苏A***45 川A****45 苏A***45"),
        (
            f"name={NAME} phone={PHONE} flow_name=roster",
            "name=欧*** phone=138****8000 flow_name=roster",
        ),
        (f"{{'name': '{NAME}', 'member': True}}", "{'name': '欧***', 'member': ***}"),
        (f"姓名{NAME}，电话：13900001111", "姓名欧***，电话：139****1111"),
        ("司机：王小明 政治面貌：中共党员", "司机：王** 政治面貌：***"),
        (
            "[type=string_too_long, input_value='王小明', input_type=str]",
            "[type=string_too_long, input_value=***, input_type=str]",
        ),
        ("[SQL: INSERT]\n[parameters: ('王小明', 1)]", "[SQL: INSERT]\n[parameters: hidden]"),
    ],
)
def test_mask_text_masks_ids_phones_plates_and_marked_personal_fields(
    text: str, masked: str
) -> None:
    assert mask_text(text) == masked
    assert mask_text(masked) == masked


@pytest.mark.parametrize(
    "text",
    [
        "party: party profile, 7 rows",
        "2026-05-01T10:00:00.123+08:00 reading 4 files in 2 processes",
        "flow run 147a2a6e-6ac7-4885-86d0-9f8385ba92ea, 1,930,000 drivers, 4/4 provinces",
        "请打电话给我 党员之家 司机反映运费低",
        "time 1714550400123456789 ns, code 62-0000042, county 620102",
    ],
)
def test_mask_text_leaves_ordinary_lines_alone(text: str) -> None:
    assert mask_text(text) == text


def _record(msg: object, *args: object, **attributes: object) -> logging.LogRecord:
    record = logging.LogRecord("chelun.test", logging.WARNING, __file__, 1, msg, args, None)
    record.__dict__.update(attributes)
    return record


def test_mask_record_masks_arguments_extras_and_keeps_the_format_where_it_can() -> None:
    kept = mask_record(_record("driver %s has %d claims", ID, 3))
    assert (kept.msg, kept.args) == ("driver %s has %d claims", ("320102********1234", 3))
    spanning = mask_record(_record("phone 138%s", "00138000"))
    assert spanning.getMessage() == "phone 138****8000"
    extras = mask_record(_record("x", driver_name=NAME, note=f"call {PHONE}", province="62"))
    assert (extras.driver_name, extras.note, extras.province) == ("欧***", "call 138****8000", "62")
    mapping = mask_record(_record({"name": NAME, "rows": 3}))
    assert mapping.msg == {"name": "欧***", "rows": 3}
    assert mask_record(_record("%d rows", "x")).msg == "%d rows"  # a bad format stays a bad one


def _fail_with_id() -> None:
    raise ValueError(f"no driver with ID {ID} and phone {PHONE}")


def test_json_lines_carry_context_and_no_personal_data(
    tmp_path: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "logs" / "chelun.log"
    configure_logging(
        LogSettings(log_format="json", log_level="info", log_file=log_file), command="demo"
    )
    logs.bind(province="62")
    logger = logging.getLogger("chelun.test")
    logger.info("driver %s phone %s", ID, PHONE, extra={"driver_name": NAME})
    try:
        _fail_with_id()
    except ValueError:
        logger.exception("lookup failed")
    logger.debug("not written at INFO")
    logging.getLogger().handlers[-1].flush()

    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert list(first)[:6] == ["time", "level", "logger", "message", "command", "province"]
    assert first["message"] == "driver 320102********1234 phone 138****8000"
    assert (first["level"], first["logger"], first["command"], first["province"]) == (
        "INFO",
        "chelun.test",
        "demo",
        "62",
    )
    assert first["driver_name"] == "欧***"
    assert "ValueError: no driver with ID 320102********1234" in second["exc_info"]
    written = log_file.read_text(encoding="utf-8") + capsys.readouterr().err
    for value in (ID, PHONE, NAME):
        assert value not in written
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600


def test_text_lines_show_the_context_in_brackets(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(LogSettings(log_format="TEXT", log_level="WARNING"), command="intake")
    logs.bind(province="32")
    logging.getLogger("chelun.test").warning("3 rows for %s", PHONE)
    line = capsys.readouterr().err.strip()
    assert line.endswith("WARNING chelun.test [command=intake province=32] 3 rows for 138****8000")


def test_a_handler_added_later_still_gets_masked_records(restore_logging: None) -> None:
    configure_logging(LogSettings())
    stream = io.StringIO()
    late = logging.StreamHandler(stream)  # a library's own handler, with no chelun filter
    library = logging.getLogger("some.library")
    library.addHandler(late)
    try:
        library.warning("request for %s failed", PHONE)
        try:
            _fail_with_id()
        except ValueError:
            library.error("lookup failed", exc_info=True)
    finally:
        library.removeHandler(late)
    written = stream.getvalue()
    assert "request for 138****8000 failed" in written
    assert "ValueError: no driver with ID 320102********1234" in written
    assert ID not in written and PHONE not in written


def test_configuring_twice_replaces_chelun_handlers(restore_logging: None) -> None:
    configure_logging(LogSettings())
    configure_logging(LogSettings())
    own = [h for h in logging.getLogger().handlers if getattr(h, logs._OWN, False)]
    assert len(own) == 1


def test_log_settings_read_the_environment_and_refuse_a_bad_level(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHELUN_LOG_LEVEL", "info")
    monkeypatch.setenv("CHELUN_LOG_FORMAT", "JSON")
    monkeypatch.setenv("CHELUN_LOG_FILE", str(tmp_path / "x.log"))
    settings = LogSettings()
    assert (settings.log_level, settings.log_format, settings.log_file) == (
        "INFO",
        "json",
        tmp_path / "x.log",
    )
    monkeypatch.setenv("CHELUN_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError):
        LogSettings()


def test_a_log_file_that_cannot_be_written_is_a_clear_error(
    tmp_path: Path, restore_logging: None
) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    with pytest.raises(LogFileError, match="cannot write the log file .*CHELUN_LOG_FILE"):
        configure_logging(LogSettings(log_file=tmp_path / "a-file" / "chelun.log"))


def test_an_uncaught_error_is_printed_masked(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        _fail_with_id()
    except ValueError as exc:
        masked_excepthook(ValueError, exc, exc.__traceback__)
    printed = capsys.readouterr().err
    assert "Traceback" in printed and "320102********1234" in printed
    assert ID not in printed and PHONE not in printed


def test_prefect_run_logs_and_failure_messages_are_stored_masked(
    prefect_harness: None, tmp_path: Path, restore_logging: None
) -> None:
    """Through Prefect's own API handler into its database: the run logs of a flow and of a
    task, and the message of the failed run's state."""
    from prefect import flow, get_run_logger, task
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler
    from prefect.settings import PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    log_file = tmp_path / "chelun.log"
    configure_logging(LogSettings(log_format="json", log_level="INFO", log_file=log_file))
    mask_prefect_state_messages()

    @task(name="look-up", persist_result=False)
    def look_up(province: str) -> None:
        get_run_logger().info("driver %s, phone %s", ID, PHONE)

    @flow(name="privacy-check", persist_result=False)
    def privacy_check(province: str) -> None:
        get_run_logger().warning("姓名：%s phone=%s", NAME, PHONE)
        look_up(province)
        _fail_with_id()

    with temporary_settings({PREFECT_LOGGING_TO_API_ENABLED: True}):
        state = privacy_check(province="62", return_state=True)
        APILogHandler().flush()
    flow_run_id = state.state_details.flow_run_id
    assert state.is_failed()

    messages = ""
    with get_client(sync_client=True) as client:
        for _ in range(50):  # the server stores a batch of logs shortly after it is sent
            found = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
            messages = "\n".join(log.message for log in found)
            if "look-up" in messages or "320102********1234" in messages:
                break
            APILogHandler().flush()
        states = client.read_flow_run_states(flow_run_id)
    assert "姓名：欧*** phone=138****8000" in messages
    assert "driver 320102********1234, phone 138****8000" in messages
    assert "ValueError: no driver with ID 320102********1234" in messages
    failed = [s.message or "" for s in states if s.is_failed()]
    assert failed and "320102********1234" in failed[0]
    for value in (ID, PHONE, NAME):
        assert value not in messages and value not in failed[0]

    records = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    in_task = next(r for r in records if r["message"].startswith("driver "))
    assert in_task["province"] == "62" and in_task["flow_name"] == "privacy-check"
    assert in_task["task_run_name"].startswith("look-up")


def test_importing_chelun_flows_masks_prefect_handlers_and_failure_messages(
    tmp_path: Path,
) -> None:
    """What a worker's flow-run process gets: Prefect's API and console handlers masked."""
    script = """
import logging
import chelun.flows
import prefect.states
from chelun.logs import MASKING
handlers = [h for name in ("prefect.flow_runs", "prefect.task_runs")
            for h in logging.getLogger(name).handlers]
assert handlers and all(MASKING in h.filters for h in handlers), handlers
assert "320102199001011234" not in prefect.states.format_exception(
    ValueError("ID 320102199001011234"))
record = logging.getLogger("x").makeRecord("x", 30, "f", 1, "%s", ("13800138000",), None)
assert record.getMessage() == "138****8000", record.getMessage()
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "CHELUN_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.stdout.strip() == "ok", done.stderr[-2_000:]


#: What a log call must not be handed: personal fields, as attribute, key or variable.
PERSONAL_FIELDS = {
    "id_number",
    "phone",
    "phones",
    "mobile",
    "plate",
    "member",
    "driver_name",
    "names",
    "text",
    "note",
}
#: Variables too common to flag by name alone (``note`` is a row count in the intake flow).
AMBIGUOUS_VARIABLES = {"note", "text"}
#: Objects whose ``name`` is a person's.
PEOPLE = {"driver", "row", "record", "grievance", "claim", "person", "nominee", "visit"}
LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}


def _is_log_call(node: ast.Call) -> bool:
    func = node.func
    if not isinstance(func, ast.Attribute) or func.attr not in LOG_METHODS:
        return False
    receiver = func.value
    if isinstance(receiver, ast.Name):
        return "log" in receiver.id.lower()
    if isinstance(receiver, ast.Call):
        called = receiver.func
        name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
        return name in {"get_run_logger", "getLogger"}
    return False


def _personal_parts(node: ast.AST) -> list[str]:
    parts = []
    for part in ast.walk(node):
        if isinstance(part, ast.Attribute) and (
            part.attr in PERSONAL_FIELDS
            or part.attr == "name"
            and isinstance(part.value, ast.Name)
            and part.value.id in PEOPLE
        ):
            parts.append(ast.unparse(part))
        elif isinstance(part, ast.Name) and part.id in PERSONAL_FIELDS - AMBIGUOUS_VARIABLES:
            parts.append(part.id)
        elif (
            isinstance(part, ast.Subscript)
            and isinstance(part.slice, ast.Constant)
            and part.slice.value in PERSONAL_FIELDS | {"name"}
        ):
            parts.append(ast.unparse(part))
    return parts


def test_chelun_log_calls_are_never_handed_personal_fields() -> None:
    """By construction: no log call in core, flows or plugins passes a name, ID number, phone,
    plate, party membership or text of a person. Masking is the second line of defence."""
    calls = 0
    offending = []
    for folder in ("core", "flows", "plugins"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and _is_log_call(node):
                    calls += 1
                    for argument in [*node.args, *(k.value for k in node.keywords)]:
                        offending += [
                            f"{path.relative_to(ROOT)}:{node.lineno}: {part}"
                            for part in _personal_parts(argument)
                        ]
    assert calls >= 3  # the intake flow's and the plugin manager's, at least
    assert not offending, offending


def test_a_list_of_column_names_is_not_taken_for_labelled_values() -> None:
    # A profile error shows the file's headers: '姓名', '身份证号' name columns, they label nothing.
    headers = "no source profile matches the headers ['姓名', '身份证号', '手机号']"
    assert mask_text(headers) == headers
    assert (
        mask_text("姓名：张伟，身份证号 620102199001011234")
        == "姓名：张*，身份证号 620102********1234"
    )
    assert mask_text("{'姓名': '张伟'}") == "{'姓名': '张*'}"
