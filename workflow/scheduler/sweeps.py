"""The scheduler's sweeps: each reads finsam's own tables for what is due now and does it.

The tables hold the truth (what is due, and when), so a sweep can run late,
twice, or on two nodes at once and still do each thing once: queued messages
have idempotency keys, obligations are unique per insats, kind and year, and
outbox rows are claimed with leases. A sweep's cost follows what is due, not
the years behind it (`bench/sweep.py`).

No sweep renders a message inside a write transaction: SQLite has one writer,
and every other command would wait for the whole sweep. Messages are read as
drafts, rendered outside, and inserted in short batches (`workflow.mail.compose`).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.events import ReportsOwed
from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import UsageError
from workflow.core.models import Forbund, Insats, Meeting, Obligation, OutboxMessage
from workflow.core.uow import UnitOfWork, read, retrying, write
from workflow.mail import compose as notify
from workflow.mail import delivery as outbox
from workflow.reports import obligations as reports
from workflow.scheduler import nodes

# From this day (month, day) on, the coming year is swept too: its obligations
# are created once its meetings exist, and the förbundschef is reminded while
# they do not.
NEXT_YEAR_FROM = (10, 1)


def quiet(event: str, *args: Any, **fields: Any) -> None:
    """A log that keeps nothing: for sweeps run from tests, benchmarks and the demo."""
    return None


@dataclass
class Context:
    """What a sweep gets besides the app: who runs it, how to log, when to stop."""

    worker: str
    log: Callable[..., None] = quiet
    stop: threading.Event = field(default_factory=threading.Event)


# ---------------------------------------------------------------- year


def years_swept(now: datetime) -> list[int]:
    """This year, and from NEXT_YEAR_FROM on the coming one too."""
    today = now.astimezone(LOCAL_TZ).date()
    if (today.month, today.day) >= NEXT_YEAR_FROM:
        return [today.year, today.year + 1]
    return [today.year]


def board_meetings(
    s: Session, found: dict[int, notify.Head], years: list[int]
) -> dict[tuple[int, int], set[str]]:
    """By (förbund id, year), for each förbund whose board meets that year: the keys of its
    board meetings in the months its report kinds go to the board (`styrelse-2027-03`;
    an empty set when it meets in none of them). Whatever the number of förbund: one
    indexed lookup of those keys a year (the förbund ids and keys on the unique index),
    and for the förbund it found none of, one more query to tell a board that meets in
    other months from one that does not meet that year at all (no cycle: its chef is
    reminded). The few keys, not every meeting: an idle sweep reads little."""
    found_keys: dict[tuple[int, int], set[str]] = {}
    board_of = {id_: h.cfg.board_body() for id_, h in found.items()}
    months_of = {id_: {k.board_month for k in h.cfg.reports.kinds} for id_, h in found.items()}
    ids = sorted(found)
    for year in years:
        wanted = {id_: {f"{board_of[id_]}-{year}-{m:02d}" for m in months_of[id_]} for id_ in ids}
        keys = sorted({k for mine in wanted.values() for k in mine})
        for i in range(0, len(ids), 500):
            if not keys:
                break
            for forbund_id, key in s.execute(
                sa.select(Meeting.forbund_id, Meeting.key).where(
                    Meeting.forbund_id.in_(ids[i : i + 500]), Meeting.key.in_(keys)
                )
            ):
                if key in wanted[forbund_id]:
                    found_keys.setdefault((forbund_id, year), set()).add(key)
        lacking = [id_ for id_ in ids if (id_, year) not in found_keys]
        lo = datetime(year - 1, 7, 1, tzinfo=LOCAL_TZ)
        hi = datetime(year + 1, 7, 1, tzinfo=LOCAL_TZ)
        for board in sorted({board_of[id_] for id_ in lacking}):
            mine = [id_ for id_ in lacking if board_of[id_] == board]
            for i in range(0, len(mine), 500):
                for (forbund_id,) in s.execute(
                    sa.select(Meeting.forbund_id)
                    .where(
                        Meeting.forbund_id.in_(mine[i : i + 500]),
                        Meeting.starts_at >= lo,
                        Meeting.starts_at < hi,
                        Meeting.key.like(f"{board}-{year}-%"),
                    )
                    .distinct()
                ):
                    found_keys.setdefault((forbund_id, year), set())
    return found_keys


@dataclass(frozen=True)
class YearPlan:
    """What the year sweep read for every förbund at once: their heads, the keys of their
    board meetings by (förbund id, year), and the (förbund, year) pairs that lack some
    obligations (`reports.would_generate`)."""

    found: dict[int, notify.Head]
    boards: dict[tuple[int, int], set[str]]
    wanted: list[tuple[notify.Head, int]]


def year_plan(
    s: Session, years: list[int], on_failed: Callable[[notify.Failed], None] | None = None
) -> YearPlan:
    """Read what the year sweep has to do (a few queries however many förbund): an idle
    sweep ends here, in a read that neither waits nor makes anyone wait."""
    found = notify.heads(s, on_failed)
    boards = board_meetings(s, found, years)
    if not boards:
        return YearPlan(found, boards, [])
    insatser: dict[int, list[tuple[int, str, str | None]]] = {}
    for id_, forbund_id, start, end in s.execute(
        sa.select(Insats.id, Insats.forbund_id, Insats.start, Insats.end).where(
            Insats.status == "active"
        )
    ):
        insatser.setdefault(forbund_id, []).append((id_, start, end))
    # the active insatser's obligations, looked up by insats on the unique index (a join
    # scanned every obligation there ever was: the history)
    active = sa.select(Insats.id).where(Insats.status == "active")
    existing: set[tuple[int, str, int]] = {
        (i, k, y)
        for i, k, y in s.execute(
            sa.select(Obligation.insats_id, Obligation.kind, Obligation.year).where(
                Obligation.insats_id.in_(active), Obligation.year.in_(years)
            )
        )
    }
    wanted = [
        (head, year)
        for head in found.values()
        for year in years
        if (keys := boards.get((head.id, year))) is not None  # else the chef is reminded
        and reports.would_generate(head.cfg, insatser.get(head.id, []), existing, keys, year)
    ]
    return YearPlan(found, boards, wanted)


def obligations_in(
    uow: UnitOfWork, now: datetime, years: list[int], plan: YearPlan | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The obligations of every year that has board meetings, in the caller's transaction:
    (what was created, what was skipped and why), as plain data to log after the commit.
    The new ones' project people hear of them (`ReportsOwed`, a mail each).

    Only the förbund `plan` (read before, or here when None) found lacking some are
    opened and generated; `generate_in` skips what exists meanwhile. On PostgreSQL each
    such förbund is claimed for the transaction (`nodes.claim_in`): one held by another
    node is left to it.
    """
    s = uow.session
    created: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []

    def unreadable(f: notify.Failed) -> None:
        skipped.append({"forbund": f.forbund_key, "year": None, "why": f.reason})

    if plan is None:
        plan = year_plan(s, years, unreadable)
    for head, year in plan.wanted:
        if not nodes.claim_in(s, "year", head.key):
            continue  # another node generates it now
        row = s.get(Forbund, head.id)
        if row is None:
            continue  # removed since the read
        try:
            with s.begin_nested():
                new = reports.generate_in(s, row, head.cfg, year, now)
        except UsageError as exc:
            skipped.append({"forbund": row.key, "year": year, "why": exc.message})
            continue
        created += [
            {"forbund": row.key, "item": f"obligation:{o.id}", "report": o.name, "due": o.due}
            for o in new
        ]
        if new:
            uow.record(ReportsOwed(tuple(o.id or 0 for o in new), now))
    return created, skipped


def cycle_drafts(
    s: Session, now: datetime, years: list[int], plan: YearPlan | None = None
) -> list[notify.Draft]:
    """The förbundschef's reminder for each swept year without board meetings (read only):
    every förbund's meetings and keys read at once (or taken from `plan`), not a query or
    two per förbund."""
    if plan is None:
        found = notify.heads(s)
        plan = YearPlan(found, board_meetings(s, found, years), [])
    drafts = [
        d
        for head in plan.found.values()
        for year in years
        if (head.id, year) not in plan.boards
        and (d := notify.cycle_draft(head.key, head.id, head.cfg, year)) is not None
    ]
    taken = notify.queued_keys(s, [d.key for d in drafts])
    return [d for d in drafts if d.key not in taken]


def _failure_logger(ctx: Context) -> Callable[[notify.Failed], None]:
    """Log a message that could not be made, with its reason; the sweep goes on."""

    def logged(f: notify.Failed) -> None:
        ctx.log(
            "message-failed", "error", forbund=f.forbund_key, item=f.key, ref=f.ref, why=f.reason
        )

    return logged


def _year(app: App, ctx: Context) -> dict[str, Any]:
    """This year's (and from October the coming year's) obligations, or a cycle reminder.

    The obligations are a few rows per insats, created in one write; the
    reminders (one per förbund and year at most) are read, rendered outside,
    then inserted. A few rows per förbund: short enough not to need `stop`.
    """
    now = app.clock.now()
    years = years_swept(now)
    skipped: list[dict[str, Any]] = []
    with read(app) as uow:  # what is to do, read without the write lock
        plan = year_plan(
            uow.session,
            years,
            lambda f: skipped.append({"forbund": f.forbund_key, "year": None, "why": f.reason}),
        )
        drafts = cycle_drafts(uow.session, now, years, plan)
    created: list[dict[str, Any]] = []
    if plan.wanted:
        created, more = write(app, lambda uow: obligations_in(uow, now, years, plan))
        skipped += more
    for skip in skipped:
        ctx.log("obligations-skipped", "warning", **skip)
    for o in created:
        ctx.log("obligation", **o)
    failed: list[notify.Failed] = []
    log_failure = _failure_logger(ctx)

    def fail(f: notify.Failed) -> None:
        failed.append(f)
        log_failure(f)

    reminded = notify.queue(app, drafts, now, on_failed=fail)
    for q in reminded:
        ctx.log("cycle-missing", forbund=q.forbund_key, item=q.ref)
    return {
        "obligations": len(created),
        "cycle_reminders": len(reminded),
        **notify.failure_detail(failed),
    }


# ---------------------------------------------------------------- notify


def _notify(app: App, ctx: Context) -> dict[str, Any]:
    """Reminders and kallelser: read, rendered outside, inserted in short batches;
    `stop` ends it after the batch in hand, what was inserted stands. A message
    that cannot be made is logged and counted, and the others go on."""

    def logged(q: notify.Queued) -> None:
        ctx.log("queued", forbund=q.forbund_key, item=f"outbox:{q.id}", kind=q.kind, ref=q.ref)

    with nodes.forbund_claims(app, "notify") as claim:
        return notify.sweep(
            app,
            stop=ctx.stop,
            on_queued=logged,
            on_failed=_failure_logger(ctx),
            claim=claim,
            rotate=zlib.crc32(ctx.worker.encode()),  # each node from its own förbund on
        )


# ---------------------------------------------------------------- outbox


def _outbox(app: App, ctx: Context) -> dict[str, Any]:
    return dict(outbox.send(app, stop=ctx.stop, log=ctx.log, worker=ctx.worker))


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Sweep:
    name: str
    run: Callable[[App, Context], dict[str, Any]]  # counts; "failed" and "problems" if any
    every: int  # seconds, the default; FINSAM_SCHEDULER_<NAME>_SECONDS overrides
    # on PostgreSQL one node at a time (an advisory lock); else all share (the year and
    # notify sweeps by förbund: each claims a förbund while it works on it)
    exclusive: bool
    doc: str


SWEEPS: tuple[Sweep, ...] = (
    Sweep(
        "year",
        _year,
        3600,
        False,
        "create the year's report obligations; remind the förbundschef of missing meetings",
    ),
    Sweep(
        "notify",
        _notify,
        300,
        False,
        "queue the reminders and kallelser that have fallen due",
    ),
    Sweep("outbox", _outbox, 60, False, "deliver what is queued (rows claimed with leases)"),
)
BY_NAME = {s.name: s for s in SWEEPS}


def dry_run(app: App) -> dict[str, Any]:
    """What a tick would create, queue and send now, changing nothing.

    The year's obligations are created in a transaction that is never
    committed, so the reminders they would make due are counted too; that
    transaction also reads the drafts and what is queued already, and is rolled
    back before anything is rendered (on SQLite it holds the write lock only if
    it created obligations, and only until then). The drafts are then rendered
    and counted, never inserted: a message not queued yet has no id (None).
    """
    now = app.clock.now()
    years = years_swept(now)
    t = OutboxMessage

    def attempt(
        deadline: float,
    ) -> tuple[int, list[notify.Draft], list[notify.Draft], Any, list[notify.Failed]]:
        with UnitOfWork(app, deadline=deadline) as uow:  # never committed
            s = uow.session
            created, _ = obligations_in(uow, now, years)
            cycle = cycle_drafts(s, now, years)
            failed: list[notify.Failed] = []
            drafts = notify.due_in(s, now, failed.append)
            due = s.scalars(
                sa.select(t)
                .where(
                    t.state == "queued",
                    t.not_before <= now,
                    sa.or_(t.next_attempt_at.is_(None), t.next_attempt_at <= now),
                )
                .order_by(t.id)
            ).all()
            waiting = [
                {
                    "id": m.id,
                    "forbund": m.forbund_key,
                    "kind": m.kind,
                    "to": list(m.recipients),
                    "subject": m.subject,
                }
                for m in due
            ]
            return len(created), cycle, drafts, waiting, failed

    obligations, cycle, drafts, send, failed = retrying(app, attempt)
    for f in failed:  # a förbund whose messages cannot be drafted at all
        entry = {"id": None, "forbund": f.forbund_key, "kind": f.kind, "to": []}
        send.append({**entry, "subject": None, "error": f.reason})
    for d in [*cycle, *drafts]:
        entry = {"id": None, "forbund": d.forbund_key, "kind": d.kind}
        try:
            values = notify.render_draft(d, now).values
        except Exception as exc:  # one message fails, never the dry run
            failure = d.failed(exc)
            send.append({**entry, "to": d.emails(), "subject": None, "error": failure.reason})
            continue
        send.append({**entry, "to": list(values["recipients"]), "subject": values["subject"]})
    return {
        "now": now.isoformat(),
        "year": {"obligations": obligations, "cycle_reminders": len(cycle)},
        "notify": notify.counts(d.kind for d in drafts),
        "would_send": send,
    }
