"""Structured logs for unattended runs: one JSON object per line on stderr.

Each line says when (the program's clock), which node, what happened, and to
what (`forbund`, `item` such as `outbox:17` or `obligation:4`), so a journal or
a log shipper can filter without parsing prose.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import datetime
from typing import Any, TextIO

from workflow.core.clock import Clock


class EventLog:
    def __init__(self, clock: Clock, node: str, stream: TextIO | None = None) -> None:
        self.clock, self.node = clock, node
        self.stream = stream or sys.stderr
        self.lock = threading.Lock()

    def __call__(self, event: str, level: str = "info", **fields: Any) -> None:
        line = {
            "ts": self.clock.now().isoformat(timespec="seconds"),
            "level": level,
            "node": self.node,
            "event": event,
            **{k: v for k, v in fields.items() if v is not None},
        }
        text = json.dumps(line, ensure_ascii=False, default=_plain)
        with self.lock:
            self.stream.write(text + "\n")
            self.stream.flush()


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


class _Forward(logging.Handler):
    """Library log records (APScheduler's) as the same one-line JSON events."""

    def __init__(self, log: EventLog) -> None:
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log(
            "library",
            level=record.levelname.lower(),
            logger=record.name,
            message=record.getMessage(),
        )


def forward_library_logs(log: EventLog, *names: str) -> None:
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers[:] = [_Forward(log)]
        logger.propagate = False
        logger.setLevel(logging.WARNING)
