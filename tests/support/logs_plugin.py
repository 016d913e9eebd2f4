"""Every log line of a whole test run, grepped for personal data at the end.

    .venv/bin/python -m pytest -p tests.support.logs_plugin

All records of the test process go, rendered as in production (JSON lines), to
`$GATEWAY_TEST_LOG` (default: a temporary file); the run's summary says how many lines were
written and which fixture names, e-mails, IBANs, passwords or JWTs they contain (expected: none).
`tests/observability/test_logs.py` does the same over a representative run in every suite.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from gateway.observability import logs

JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]+")
_state: dict[str, Any] = {}


def pytest_configure(config: Any) -> None:
    path = Path(os.environ.get("GATEWAY_TEST_LOG") or tempfile.mkstemp(suffix=".jsonl")[1])
    stream = path.open("w", encoding="utf-8")
    handler = logs.handler(stream, production=True)
    setattr(handler, logs.HANDLER_MARK, False)  # create_app must not replace this one
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    _state.update(path=path, stream=stream, handler=handler)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.observability.test_logs import personal_data

    logging.getLogger().removeHandler(_state["handler"])
    _state["stream"].close()
    text = _state["path"].read_text("utf-8")
    hits = sorted(n for n in personal_data() if n in text) + JWT.findall(text)
    terminalreporter.write_line(
        f"logs: {len(text.splitlines())} lines in {_state['path']}, "
        f"{len(personal_data())} personal values searched, {len(hits)} hits {hits[:10]}"
    )
