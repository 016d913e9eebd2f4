"""Logging: structlog through the standard library, one line per event.

* production (`GATEWAY_ENV=production`): JSON lines on stderr; development: aligned console text;
* structlog events and foreign ones (uvicorn's error log) share one handler, so one format and one
  scrubbing pass apply to all; uvicorn's access line is off: the gateway's own `request` line
  (gateway/edge/middleware/observe.py) says more, once;
* the level is INFO, or the one uvicorn was given (`uvicorn … --log-level warning`);
* tracebacks are plain text frames **without local variables** (structlog would otherwise render
  them with `rich`, locals included: raw back-end bodies and other customers' data in the log);
* every string value is scrubbed: a signed download link (`/documents/<token>` → `/documents/…`),
  the query string of a logged path, a JWT, an IBAN. Nothing else is relied on: the gateway's
  own events never log a body, a token, a name or an e-mail in the first place.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

HANDLER_MARK = "_gateway_handler"
SCRUB = (
    (re.compile(r"/documents/[^\s\"'?]+"), "/documents/[redacted]"),
    (re.compile(r"(/[\w./-]*)\?[^\s\"']*"), r"\1?[redacted]"),
    (re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*"), "[jwt]"),
    (re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b"), "[iban]"),
)


def scrub_text(text: str) -> str:
    for pattern, replacement in SCRUB:
        text = pattern.sub(replacement, text)
    return text


def scrub(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = scrub_text(value)
    return event


def _json(event: EventDict, **_: Any) -> str:
    return orjson.dumps(event, default=str).decode()


SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,  # request_id of the request being served
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_structlog() -> None:
    """structlog events become standard `logging` records (rendered by `handler`)."""
    structlog.configure(
        processors=[
            *SHARED,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def formatter(production: bool) -> structlog.stdlib.ProcessorFormatter:
    renderer: Processor = (
        structlog.processors.JSONRenderer(serializer=_json)
        if production
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # plain frames, never locals
            scrub,
            renderer,
        ],
    )


def handler(stream: TextIO | None = None, production: bool = True) -> logging.Handler:
    found = logging.StreamHandler(stream or sys.stderr)
    found.setFormatter(formatter(production))
    setattr(found, HANDLER_MARK, True)
    return found


def configure(production: bool, level: int = logging.INFO) -> None:
    """Install the gateway's handler on the root logger (replacing an earlier one) and route
    uvicorn's loggers to it. Called by `create_app`, so any way of serving gets it."""
    configure_structlog()
    given = logging.getLogger("uvicorn.error").level  # `--log-level` of a uvicorn command line
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler(production=production))
    root.setLevel(given or level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.disabled = name == "uvicorn.access"  # whatever an earlier dictConfig said
        logger.setLevel(logging.NOTSET)  # the root's level, whatever uvicorn set
    for name in ("httpx", "httpcore"):  # their INFO lines carry every back-end URL (client ids)
        logging.getLogger(name).setLevel(logging.WARNING)
