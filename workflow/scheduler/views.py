"""The shapes the scheduler hands the CLI: a sweep's run, the nodes and sweeps' status.

They are plain dicts at runtime (`--json` prints them as they are); the types
name their keys.
"""

from typing import Any, Literal, NotRequired, TypedDict


class SweepError(TypedDict):
    """What a failed sweep run records and reports: the exception, named."""

    error: str


class SweepRun(TypedDict):
    """The CLI's JSON shape for one sweep's run (`scheduler tick`): its counts, or its error."""

    sweep: str
    outcome: Literal["ok", "error", "skipped"]
    error: NotRequired[str]
    counts: NotRequired[dict[str, Any]]  # numbers; with "problems" (words) when some failed


class NodeView(TypedDict):
    """The CLI's JSON shape for a scheduler node and its heartbeat."""

    name: str
    kind: str
    host: str
    pid: int
    started_at: str
    last_beat: str
    stopped_at: str | None
    alive: bool


class SweepStateView(TypedDict):
    """The CLI's JSON shape for a sweep's last run, by any node."""

    name: str
    node: str
    started_at: str
    finished_at: str | None
    outcome: str
    detail: dict[str, Any]  # the run's counts (and "problems"), or its error


class NextDue(TypedDict):
    """The CLI's JSON shape for the earliest thing still to happen, and when."""

    at: str
    what: str


class SchedulerStatus(TypedDict):
    """The CLI's JSON shape for `scheduler status`; `healthy` decides the exit code."""

    now: str
    healthy: bool
    problems: list[str]
    nodes: list[NodeView]
    sweeps: list[SweepStateView]
    outbox: dict[str, int]  # messages by state
    next_due: NextDue | None
