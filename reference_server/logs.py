"""Logging setup for the two loggers the server writes to.

Why: users switching from uvicorn read logs by eye and grep them, so the shape is
uvicorn's (``INFO:     message`` on stderr), the level names are uvicorn's (including
``trace``, level 5, below ``debug``), and ``--no-access-log`` silences the per-request
lines without touching errors.

- ``reference_server.error`` — startup, shutdown, application exceptions.
- ``reference_server.access`` — one line per request, at INFO.

Both get their own stderr handler and do not propagate, so an application that calls
``logging.basicConfig()`` does not print every server line twice. Calling
:func:`configure_logging` again (each ``--workers`` child does) replaces our handler
rather than adding a second one.
"""

from __future__ import annotations

import logging
import sys

#: uvicorn's extra level below DEBUG (protocol-level chatter).
TRACE = 5
logging.addLevelName(TRACE, "TRACE")

LEVELS: dict[str, int] = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
}

ERROR_LOGGER = "reference_server.error"
ACCESS_LOGGER = "reference_server.access"


class LevelPrefixFormatter(logging.Formatter):
    """``LEVEL:`` padded to a fixed width, then the message (uvicorn's layout)."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"{record.levelname}:".ljust(9)
        message = super().format(record)
        return f"{prefix} {message}"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (so redirections made after
    configuration, e.g. by test harnesses, are honoured)."""

    _reference_server = True

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str, access_log: bool) -> None:
    """Configure the error and access loggers for ``level`` (a key of :data:`LEVELS`);
    disable the access logger when ``access_log`` is false. Idempotent."""
    try:
        numeric = LEVELS[level.lower()]
    except KeyError:
        raise ValueError(
            f"unknown log level {level!r}; expected one of {', '.join(LEVELS)}"
        ) from None
    for name in (ERROR_LOGGER, ACCESS_LOGGER):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if getattr(handler, "_reference_server", False):
                logger.removeHandler(handler)
        handler = _StderrHandler()
        handler.setFormatter(LevelPrefixFormatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(numeric)
        logger.disabled = False
    access = logging.getLogger(ACCESS_LOGGER)
    if not access_log:
        access.setLevel(logging.CRITICAL + 1)
        access.disabled = True


class LogConfigError(Exception):
    """A ``--log-config`` file that cannot be read or applied (one line, no traceback)."""


def apply_log_config(path: str) -> None:
    """Apply ``--log-config`` over the defaults, as uvicorn does: ``.json`` and
    ``.yaml``/``.yml`` go to :func:`logging.config.dictConfig`, anything else to
    :func:`logging.config.fileConfig` (INI) without disabling existing loggers. A logger
    the file names gets the file's handlers instead of ours; one it does not name keeps
    ours, so a file that only adds, say, a JSON handler on the access logger works."""
    import logging.config

    try:
        if path.endswith(".json"):
            import json

            with open(path, encoding="utf-8") as file:
                logging.config.dictConfig(json.load(file))
        elif path.endswith((".yaml", ".yml")):
            try:
                import yaml  # type: ignore[import-untyped, unused-ignore]
            except ImportError:
                raise LogConfigError(
                    f"--log-config {path}: a YAML file needs PyYAML (pip install pyyaml), "
                    "or give the configuration as .json or .ini") from None
            with open(path, encoding="utf-8") as file:
                logging.config.dictConfig(yaml.safe_load(file))
        else:
            logging.config.fileConfig(path, disable_existing_loggers=False)
    except LogConfigError:
        raise
    except Exception as exc:  # json, yaml, configparser and dictConfig each raise their own
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LogConfigError(f"--log-config {path}: cannot apply it: {detail}") from None
