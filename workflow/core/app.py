"""The application object every service takes: where the data is, what time it is,
how long a writer waits for a busy database, and which handlers follow which events.

It is built in one place (`workflow.bootstrap`) for the CLI, the daemon and the
tests; the core only knows its shape, so that nothing here imports a capability.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from workflow.core.clock import Clock, SystemClock

# A handler does what follows from an event, in the transaction that recorded it
# (it gets the event and the unit of work), and may hand back outcomes (one, a
# list, or None) for the service to report. The unit of work is typed `Any` here
# because it is built on the app: this module stays below it.
Handler = Callable[[Any, Any], Any]
HandlerTable = Mapping[type, Sequence[Handler]]

# How long a write waits for a busy database (another finsam writing) before the
# command gives up with exit 3; FINSAM_BUSY_SECONDS changes it.
DEFAULT_BUSY_SECONDS = 15.0


@dataclass
class App:
    url: str
    engine: Engine
    clock: Clock = field(default_factory=SystemClock)
    busy_seconds: float = DEFAULT_BUSY_SECONDS
    handlers: HandlerTable = field(default_factory=dict)
