"""The handler table is complete: every domain event has a handler, and every handler
has a test of its own in tests/integration/test_handlers.py (named test_<handler>...)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

from states import events
from workflow.handlers import HANDLERS

OUTCOMES = {events.DueMoved}  # handed back by handlers, not recorded by services
TESTS = Path(__file__).parents[1] / "integration" / "test_handlers.py"


def _events() -> set[type]:
    return {
        cls
        for _, cls in inspect.getmembers(events, inspect.isclass)
        if cls.__module__ == events.__name__ and dataclasses.is_dataclass(cls)
    } - OUTCOMES


def test_every_event_has_a_handler() -> None:
    assert _events(), "states/events.py defines no events"
    missing = {e.__name__ for e in _events() if not HANDLERS.get(e)}
    assert not missing, f"events without a handler: {sorted(missing)}"
    assert set(HANDLERS) <= _events(), "the table names something that is not an event"


def test_every_handler_is_tested() -> None:
    tree = ast.parse(TESTS.read_text(encoding="utf-8"))
    tests = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    handlers = {h.__name__ for hs in HANDLERS.values() for h in hs}
    untested = {h for h in handlers if not any(t.startswith(f"test_{h}") for t in tests)}
    assert not untested, f"handlers without a test in {TESTS.name}: {sorted(untested)}"
