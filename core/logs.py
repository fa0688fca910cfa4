"""chelun's logs: one line per record, as text or JSON, with the run's context, personal data
masked in every record of the process.

Context: each record of chelun's handlers carries the command (``chelun grievance sweep``), the
province and, inside a Prefect run, the flow, flow run and task run it belongs to.

Masking applies to every record of the process, whichever logger made it and whichever handler
writes it (chelun's, Prefect's console and its API handler, which stores run logs in Prefect's
database): a record factory masks the message, its arguments and the traceback when the record is
made, and a filter on every handler masks the extra fields a caller attached. Found and masked:

- resident ID numbers, 18 characters (the last may be X), also with a space or dash between
  place, birth date and the rest, and the old 15 digits: ``320102********1234``;
- mainland mobile numbers, with or without +86 and separators: ``138****8000``;
- vehicle plates: ``苏A***45``;
- values of personal fields: ``name=``, ``'phone': ``, ``姓名：``, ``司机：``, ``政治面貌：`` ...
  (names keep their first character; party membership becomes ``***``), the inputs pydantic
  repeats in its errors (``input_value=***``) and SQLAlchemy's statement parameters.

A name or a party membership written into free text with no marker cannot be told from other
words; chelun's own log calls never pass them (a test reads every call), and docs/logs.md says
what is and is not caught.
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
import re
import sys
import traceback
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pythonjsonlogger.json import JsonFormatter as _JsonFormatterBase

from chelun.privacy import mask_id, mask_name, mask_phone, mask_plate
from chelun.settings import ChelunSettings
from chelun.storage.private import private_file

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: The loggers chelun's flows and tasks log to (``get_run_logger``): they follow CHELUN_LOG_LEVEL
#: where Prefect's own level is stricter.
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")
#: Marks what this module installed, so that configuring twice replaces instead of adding.
_OWN = "_chelun_logs"
#: Set on a record once its message and traceback are masked.
_MASKED = "_chelun_masked"


class LogSettings(ChelunSettings):
    """How chelun writes its logs."""

    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: one readable line per record; json: one JSON object per line "
        "(time, level, logger, message, command, province, flow and task run).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="WARNING",
        description="The least severe records written to standard error and the log file; "
        "chelun's flows log at this level to Prefect too.",
    )
    log_file: Path | None = Field(
        default=None,
        description="Also append every record to this file (created owner-only; reopened "
        "when logrotate moves it); unset: standard error only.",
    )

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value


SETTINGS = LogSettings


class LogFileError(RuntimeError):
    """CHELUN_LOG_FILE names a file that cannot be written."""


# -- masking text ---------------------------------------------------------------------------

_ID_NUMBER = re.compile(r"(?<!\d)(?:\d{6}[ -]?\d{8}[ -]?\d{3}[\dXx]|\d{15})(?![\dXx])")
_MOBILE = re.compile(
    r"(?<!\d)(?:(?:\+|00)?86[ -]?|\(\+?86\)[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)"
)
_PLATE = re.compile(
    r"(?<![A-Za-z0-9])[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
    r"[A-Za-z][·• -]?[A-Za-z0-9]{5,6}(?![A-Za-z0-9])"
)
_SEPARATORS = re.compile(r"[^\dXx]")


def _mask_party(value: str) -> str:
    return "***"


#: Field names whose values are personal, and how each is masked. Keys are compared lower-case.
FIELD_MASKS: dict[str, Callable[[str], str]] = {
    **dict.fromkeys(
        ("name", "driver_name", "full_name", "real_name", "contact_name", "姓名", "名字"),
        mask_name,
    ),
    **dict.fromkeys(
        ("id_number", "id_no", "id_card", "idcard", "身份证", "身份证号", "身份证号码"), mask_id
    ),
    **dict.fromkeys(
        ("phone", "mobile", "telephone", "手机", "手机号", "手机号码", "电话", "联系电话"),
        mask_phone,
    ),
    **dict.fromkeys(("plate", "车牌", "车牌号"), mask_plate),
    **dict.fromkeys(
        (
            "member",
            "party",
            "party_member",
            "party_membership",
            "political_status",
            "政治面貌",
            "党员",
        ),
        _mask_party,
    ),
}
#: Words before a name in Chinese text (``司机：张伟``); a separator must follow them.
NAME_MARKERS = ("司机", "驾驶员", "车主", "联系人", "申请人", "投诉人", "举报人", "当事人")
#: Chinese field labels that are never ordinary words, so that no separator need follow them
#: (``姓名张伟``); the others (电话, 党员 ...) need one (``电话：``), or prose would be masked.
_LABELS = ("姓名", "身份证号码", "身份证号", "政治面貌")

_ASCII_KEYS = sorted((key for key in FIELD_MASKS if key.isascii()), key=len, reverse=True)
_CJK_KEYS = sorted((key for key in FIELD_MASKS if not key.isascii()), key=len, reverse=True)
_VALUE = r"""(?:(?P<q>['"])(?P<quoted>.*?)(?P=q)|(?P<bare>[^\s,;，；。、'"()\[\]{}<>]+))"""
_UNQUOTED = "(?![\"'])"  # a label not closed by a quote: a quoted one names a column
_FIELD_PATTERNS = (
    # name=张伟, phone=138...: an assignment in lower case (as code writes it, not NAME=PATH),
    # never a word ending in a key (flow_name=...)
    re.compile(rf"(?<![\w.])(?P<key>{'|'.join(_ASCII_KEYS)})=" + _VALUE),
    # 'name': '张伟', "姓名": "张伟": a mapping's repr or JSON
    re.compile(
        rf"""(?P<kq>['"])(?P<key>(?i:{"|".join(_ASCII_KEYS + _CJK_KEYS)}))(?P=kq)\s*:\s*""" + _VALUE
    ),
    # 姓名：张伟, 姓名张伟, 司机：张伟; not a quoted column name ('姓名', '身份证号': a header list)
    re.compile(
        rf"(?:(?P<key>{'|'.join(_LABELS)}){_UNQUOTED}\s*[:：=]?|(?P<other>{'|'.join(_CJK_KEYS)})\s*[:：=]"
        rf"|(?P<marker>{'|'.join(NAME_MARKERS)})\s*[:：=])\s*" + _VALUE
    ),
)
#: pydantic repeats the value that failed (``input_value='...'``); SQLAlchemy may show a
#: statement's parameters (chelun's engines hide them, a library's may not).
_ECHOED_INPUTS = (
    (
        re.compile(r"""input_value=(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^,\]\s]+)"""),
        "input_value=***",
    ),
    (re.compile(r"\[parameters: [^\n]*"), "[parameters: hidden]"),
)


def _field_value(match: re.Match[str]) -> str:
    groups = match.groupdict()
    key = groups.get("key") or groups.get("other")
    mask = FIELD_MASKS[key.lower()] if key else mask_name
    group = "quoted" if match.group("quoted") is not None else "bare"
    value = match.group(group)
    if value in ("", "None", "null", "***"):
        return match.group(0)
    start, end = match.start(group) - match.start(), match.end(group) - match.start()
    whole = match.group(0)
    return whole[:start] + mask(value) + whole[end:]


def mask_text(text: str) -> str:
    """``text`` with every ID number, mobile number, plate and personal field value masked.

    Masking twice changes nothing more: a masked value matches no pattern.
    """
    for pattern in _FIELD_PATTERNS:
        text = pattern.sub(_field_value, text)
    for pattern, replacement in _ECHOED_INPUTS:
        text = pattern.sub(replacement, text)
    text = _ID_NUMBER.sub(lambda m: mask_id(_SEPARATORS.sub("", m.group(0))), text)
    text = _MOBILE.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group(0))[-11:]), text)
    return _PLATE.sub(lambda m: mask_plate(re.sub(r"[·• -]", "", m.group(0))), text)


#: Values never masked: they carry no text a person typed.
_PLAIN_TYPES = (bool, float, uuid.UUID, dt.date, dt.time, dt.timedelta, type(None))


def mask_value(value: Any, key: str | None = None) -> Any:
    """``value`` masked: a personal field's value (by ``key``) as a whole, strings by pattern,
    mappings and sequences item by item; anything else as its text, if that text needed it
    (an object whose text is clean is returned as it is, so ``%d`` still formats it)."""
    if key is not None and value not in (None, ""):
        mask = FIELD_MASKS.get(key.strip().lower())
        if mask is not None:
            return mask(str(value))
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        masked = [mask_value(item) for item in value]
        return tuple(masked) if isinstance(value, tuple) else masked
    if isinstance(value, _PLAIN_TYPES):
        return value
    text = str(value)
    masked = mask_text(text)
    return value if masked == text else masked


# -- masking records ------------------------------------------------------------------------

#: A record's own attributes; anything else on it is an extra field a caller attached.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
#: Extra fields Prefect attaches to run logs: ids and generated names, nothing a person typed.
_RUN_FIELDS = frozenset(
    {
        "flow_run_id",
        "flow_run_name",
        "flow_name",
        "task_run_id",
        "task_run_name",
        "task_name",
        "worker_id",
        "send_to_api",
    }
)
_TRACEBACKS = logging.Formatter()


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask a record in place: its message and arguments, its traceback and stack, and the
    extra fields a caller attached. Safe to call again on the same record."""
    if not record.__dict__.get(_MASKED):
        _mask_message(record)
        _mask_exception(record)
        record.__dict__[_MASKED] = True
    for key, value in list(record.__dict__.items()):
        if key in _RECORD_ATTRIBUTES or key in _RUN_FIELDS or key.startswith("_"):
            continue
        record.__dict__[key] = mask_value(value, key)
    return record


def _mask_message(record: logging.LogRecord) -> None:
    if isinstance(record.msg, Mapping) and not record.args:
        record.msg = mask_value(record.msg)
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format: the handler reports it, with the parts masked
        record.msg, record.args = mask_text(str(record.msg)), mask_value(record.args)
        return
    masked = mask_text(message)
    if masked == message:
        return
    if record.args and isinstance(record.msg, str):
        # Keep the format and its arguments apart where masking each gives a clean message:
        # some formatters read the arguments (uvicorn's access log does).
        msg, args = mask_text(record.msg), mask_value(record.args)
        try:
            kept = msg % args
        except Exception:
            kept = None
        if kept is not None and mask_text(kept) == kept:
            record.msg, record.args = msg, args
            return
    record.msg, record.args = masked, ()


def _mask_exception(record: logging.LogRecord) -> None:
    if record.exc_info and not record.exc_text:
        record.exc_text = _TRACEBACKS.formatException(record.exc_info)
    if record.exc_text:
        masked = mask_text(record.exc_text)
        if masked != record.exc_text:
            record.exc_text = masked
            # Every standard formatter prints exc_text; one that formatted the exception
            # afresh would print it unmasked.
            record.exc_info = None
    if record.stack_info:
        record.stack_info = mask_text(record.stack_info)


class MaskingFilter(logging.Filter):
    """Masks personal data in every record a handler receives (see :func:`mask_record`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record)
        return True


MASKING = MaskingFilter()


def install_masking() -> None:
    """Mask every log record of this process: a record factory masks each record as it is
    made (message, arguments, traceback), and the masking filter goes on every handler that
    exists (root's, Prefect's console and API handlers ...) for the extra fields."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, _OWN, False):

        def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return mask_record(factory(*args, **kwargs))

        setattr(masking_factory, _OWN, True)
        logging.setLogRecordFactory(masking_factory)
    loggers = [logging.getLogger()] + [
        logger
        for logger in list(logging.Logger.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in list(logger.handlers):
            if MASKING not in handler.filters:
                handler.addFilter(MASKING)


def mask_prefect_state_messages() -> None:
    """Mask the message Prefect gives a failed or crashed flow or task run (``Flow run
    encountered an exception: ValueError: ...``), which it stores with the run's state.

    Prefect builds it with ``prefect.states.format_exception``; this wraps that function. A
    test fails if a Prefect upgrade stops calling it."""
    import prefect.states

    original = prefect.states.format_exception
    if getattr(original, _OWN, False):
        return

    def format_exception(exc: BaseException, tb: Any = None) -> str:
        return mask_text(original(exc, tb))

    setattr(format_exception, _OWN, True)
    prefect.states.format_exception = format_exception


# -- context --------------------------------------------------------------------------------

_BOUND: dict[str, str] = {}
#: Context fields, in the order a text line shows them, with their labels there.
CONTEXT_FIELDS = {
    "command": "command",
    "province": "province",
    "flow_name": "flow",
    "flow_run_name": "flow_run",
    "flow_run_id": None,
    "task_run_name": "task_run",
    "task_run_id": None,
}


def bind(**fields: str | None) -> None:
    """Attach context to every later record of this process (``bind(province="62")``); None
    removes a field. A Prefect run's own context (its province parameter) wins inside it."""
    for key, value in fields.items():
        if value is None:
            _BOUND.pop(key, None)
        else:
            _BOUND[key] = str(value)


def current_context() -> dict[str, str]:
    """The context of a record made now: what was bound (the command, the province) and, inside
    a Prefect flow or task run, the run's names, ids and province parameter."""
    return _BOUND | _prefect_run()


def _prefect_run() -> dict[str, str]:
    """The current Prefect run's fields; nothing outside a run or where Prefect is not loaded
    (logging never imports Prefect)."""
    context = sys.modules.get("prefect.context")
    if context is None:
        return {}
    fields: dict[str, str] = {}
    try:
        flow_run_context = context.FlowRunContext.get()
        task_run_context = context.TaskRunContext.get()
        parameters: Mapping[str, Any] = {}
        if flow_run_context is not None and flow_run_context.flow_run is not None:
            run = flow_run_context.flow_run
            fields |= {"flow_run_id": str(run.id), "flow_run_name": run.name}
            if flow_run_context.flow is not None:
                fields["flow_name"] = flow_run_context.flow.name
            parameters = run.parameters or {}
        if task_run_context is not None:
            task_run = task_run_context.task_run
            fields |= {"task_run_id": str(task_run.id), "task_run_name": task_run.name}
            if task_run.flow_run_id is not None:
                fields.setdefault("flow_run_id", str(task_run.flow_run_id))
            parameters = {**(task_run_context.parameters or {}), **parameters}
    except Exception:  # a half-built run context: the record goes out without it
        return fields
    province = parameters.get("province")
    if isinstance(province, str) and province:
        fields["province"] = province
    return fields


class ContextFilter(logging.Filter):
    """Adds the context fields to a record, keeping any the record already has."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current_context().items():
            if record.__dict__.get(key) in (None, "", "<unknown>"):
                record.__dict__[key] = value
        return True


# -- formats and configuration --------------------------------------------------------------


def _time(record: logging.LogRecord) -> str:
    """The record's time in ISO 8601 with the machine's offset (``+08:00`` in China)."""
    return dt.datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """``2026-05-01T10:00:00.123+08:00 WARNING chelun.plugins [command=demo province=32
    flow=roster-intake flow_run=muscular-wildcat] message``, then the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        context = " ".join(
            f"{label}={record.__dict__[key]}"
            for key, label in CONTEXT_FIELDS.items()
            if label and record.__dict__.get(key) not in (None, "", "<unknown>")
        )
        line = f"{_time(record)} {record.levelname} {record.name} "
        line += f"[{context}] {record.message}" if context else record.message
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line

    def formatException(self, ei: Any) -> str:
        return mask_text(super().formatException(ei))


class JsonFormatter(_JsonFormatterBase):
    """One JSON object a line: time, level, logger, message, the context fields, any other
    extra fields, and ``exc_info`` (the traceback) when there is one."""

    def __init__(self) -> None:
        super().__init__(json_ensure_ascii=False)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data |= {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.message,
        }
        for key in CONTEXT_FIELDS:
            if record.__dict__.get(key) not in (None, "", "<unknown>"):
                log_data[key] = record.__dict__[key]
        super().add_fields(log_data, record, message_dict)

    def formatException(self, ei: Any) -> str:  # type: ignore[override]
        return mask_text(logging.Formatter.formatException(self, ei))


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (a test's capture, a redirected
    stream), as Python's last-resort handler does."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(
    settings: LogSettings | None = None, *, command: str | None = None
) -> LogSettings:
    """Set up chelun's logging in this process; calling it again replaces what it set up.

    One handler on the root logger writes standard error, another the log file if one is set,
    in the configured format, with the context fields. Prefect's console handler leaves the root
    logger (chelun's writes the same records, with their context). The ``chelun`` logger and
    Prefect's run loggers log at the configured level, warnings go through logging, and every
    record of the process is masked (:func:`install_masking`).
    """
    settings = settings or LogSettings()
    if command:
        bind(command=command)
    level = logging.getLevelName(settings.log_level)
    handlers: list[logging.Handler] = [StderrHandler()]
    if settings.log_file is not None:
        handlers.append(_file_handler(settings.log_file))
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OWN, False) or type(handler).__name__ == "PrefectConsoleHandler":
            root.removeHandler(handler)
            if getattr(handler, _OWN, False):
                handler.close()
    formatter = JsonFormatter() if settings.log_format == "json" else TextFormatter()
    for handler in handlers:
        handler.setLevel(level)
        handler.setFormatter(formatter)
        handler.addFilter(ContextFilter())
        setattr(handler, _OWN, True)
        root.addHandler(handler)
    logging.getLogger("chelun").setLevel(level)
    for name in RUN_LOGGERS:
        run_logger = logging.getLogger(name)
        if run_logger.getEffectiveLevel() > level:
            run_logger.setLevel(level)
    logging.captureWarnings(True)
    install_masking()
    return settings


def _file_handler(path: Path) -> logging.Handler:
    path = path.expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        private_file(path)
        return logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        raise LogFileError(
            f"cannot write the log file {path}: {exc.strerror or exc}{where}; check CHELUN_LOG_FILE"
        ) from None


def configure_cli_logging(command: str | None) -> LogSettings:
    """What every ``chelun`` command runs first: logging configured (:func:`configure_logging`)
    with the command's name, and an uncaught error's traceback printed masked."""
    settings = configure_logging(command=command)
    sys.excepthook = masked_excepthook
    return settings


def masked_excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    """Python's default report of an uncaught error, masked."""
    text = "".join(traceback.format_exception(exc_type, exc, tb))
    sys.stderr.write(mask_text(text))
