"""What finsam tells people, written to the outbox.

Each message has an idempotency key, so a retried command or a second sweep
cannot queue it twice: reminders `reminder:<obligation>:<due>:<offset>` (to the
project leader; `...:<address hash>` to the owner contact, `...:chef` the
förbundschef's copy of a late one), a returned report `returned:<audit row>:<n>`,
new reports owed `owed:<first obligation>:<address hash>`,
kallelser `notice:<meeting>:<sequence>` (a cancellation `notice-cancel:<meeting>`),
the missing-cycle reminder `cycle:<förbund>:<year>`, arrivals `arrival:<audit row>`,
decision notices `decision:<audit row>:<member>`.

Two ways in. What a change causes (a plan's arrival, approved minutes) is
queued by `enqueue` in the transaction of that change, so it commits with it
or not at all; those are a handful of messages. What falls due with time (the
sweeps: reminders, kallelser, the yearly cycle reminder) can be thousands of
messages, and rendering one (Jinja2 templates, MIME) costs milliseconds, so a
sweep never renders inside a write transaction: SQLite has one writer, and a
sweep holding the write lock while it rendered would make every other command
wait for its whole run. A sweep goes in three steps instead:

1. read what is due in a read unit of work (never blocks, never blocks others),
   as `Draft`s: the message's context and what must still hold to send it;
2. render each draft outside any transaction;
3. insert the rendered rows `BATCH` at a time, each batch a short write of its
   own through `write()` (so under the one retry rule), re-checking there
   cheaply what the read saw and skipping a key that is queued already.

Sweeps queue only what has fallen due, and of several missed reminders only the
latest applicable one.

One message that cannot be made fails alone: a name with a line break in an
old database (a header injection the e-mail library refuses), a förbund whose
stored file no longer passes, a template error. A sweep's message is then not
queued and is reported (`Failed`, with its reason) so the sweep goes on with the
others and tries it again next time, once the data is corrected; a drafted
row is marked failed with its reason (`outbox retry` drafts it anew).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from threading import Event
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Bundle, Session

from notifications.ics import invitation
from notifications.messages import (
    Attachment,
    address,
    build,
    build_direct,
    plain_address,
    render_parts,
)
from notifications.render import render
from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import FinsamError
from workflow.core.models import (
    OWED,
    AgendaItem,
    AuditEvent,
    Forbund,
    Insats,
    Meeting,
    Obligation,
    OutboxMessage,
    SigninLink,
)
from workflow.core.settings import base_url
from workflow.core.text import LIMITS, line_problem
from workflow.core.uow import UnitOfWork, read, write
from workflow.cycle import notices, papers, placement
from workflow.cycle.meetings import meeting_dict
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.mail import links, minutes_mail, report_mail
from workflow.mail.drafting import (
    add_once,
    draft_message,
    personal_key,
    project_people,
)
from workflow.mail.drafting import (
    queued as key_queued,
)
from workflow.mail.links import PersonalLink
from workflow.plans import documents as plan_docs
from workflow.reports.obligations import has_board_meetings

# Rows per insert transaction of a sweep: large enough that the per-commit cost
# is spread, small enough that the write lock is held for milliseconds.
BATCH = 100

OPEN = OWED  # the states of a report still owed

# a recipient: (name, address), or an address ready for a header
Recipient = tuple[str, str] | str


class Unsendable(Exception):
    """A message that cannot be made from what the database holds; it fails alone."""


@dataclass(frozen=True)
class Failed:
    """A message a sweep could not make, and why: reported, never queued, tried again."""

    key: str
    forbund_key: str
    kind: str
    ref: str | None
    reason: str

    def describe(self) -> str:
        about = f" ({self.ref})" if self.ref else ""
        return f"{self.key}{about}: {self.reason}"


def header_address(recipient: Recipient) -> str:
    """'Name <address>' for a header, or Unsendable saying what is wrong with which part.

    Names and addresses are checked on the way in; this catches what an old
    database holds (a CR/LF in a name would be a header injection).
    """
    name, email = checked(recipient)
    try:
        return address(name, email) if name else email
    except (ValueError, IndexError) as exc:  # the e-mail library's own refusals
        raise Unsendable(f"the recipient <{email}> cannot be written in a header: {exc}") from None


def checked(recipient: Recipient) -> tuple[str, str]:
    """(name, address) of a recipient, or Unsendable saying which part is not one line."""
    name, email = ("", recipient) if isinstance(recipient, str) else recipient
    problem = line_problem(email, LIMITS["email"] if isinstance(recipient, tuple) else 1000)
    if problem is not None:
        raise Unsendable(f"the recipient {email!r} {problem}")
    problem = line_problem(name, LIMITS["line"])
    if problem is not None:
        raise Unsendable(f"the name of the recipient <{email}> {problem}")
    return name, email


def _reason(exc: Exception) -> str:
    """Why a message could not be made, in words for the log and `scheduler status`."""
    if isinstance(exc, Unsendable):
        return str(exc)
    if isinstance(exc, FinsamError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------- messages


def _message(
    *,
    key: str,
    forbund_key: str,
    kind: str,
    cfg: ForbundFile,
    to: list[Recipient],
    cc: list[Recipient] | None,
    context: dict[str, Any],
    not_before: datetime,
    now: datetime,
    ref: str | None,
    attachments: list[Attachment] | None = None,
    calendar: tuple[str, bytes] | None = None,
) -> dict[str, Any]:
    """Render one message: the outbox_message row's values (the slow part, no database).
    Unsendable when a recipient cannot be written in a header.

    Names and plain addresses, checked here, go into a message written directly
    (`build_direct`: no header parsed back and refolded); anything else, and a
    message with attachments, is built by the e-mail library as before."""
    everyone = [*to, *(cc or [])]
    direct = attachments is None and all(
        isinstance(r, tuple) and plain_address(r[1]) for r in everyone
    )
    if direct:
        for r in everyone:
            checked(r)
    to_header = None if direct else [header_address(r) for r in to]
    cc_header = None if direct or not cc else [header_address(r) for r in cc]
    subject, text, html = render_parts(kind, context)
    if direct:
        built = build_direct(
            sender=cfg.sender(),
            reply_to=cfg.mail.reply_to,
            to=[r for r in to if isinstance(r, tuple)],
            cc=[r for r in cc if isinstance(r, tuple)] if cc else None,
            subject=subject,
            text=text,
            html=html,
            when=now,
            calendar=calendar,
        )
    else:
        assert to_header is not None
        built = build(
            sender=cfg.sender(),
            reply_to=cfg.mail.reply_to,
            to=to_header,
            cc=cc_header,
            subject=subject,
            text=text,
            html=html,
            when=now,
            attachments=attachments,
            calendar=calendar,
        )
    return {
        "key": key,
        "forbund_key": forbund_key,
        "kind": kind,
        "subject": subject,
        "sender": built.sender,
        "recipients": built.recipients,
        "message_id": built.message_id,
        "raw": built.raw,
        "ref": ref,
        "not_before": not_before,
        "created_at": now,
    }


def enqueue(
    s: Session,
    *,
    key: str,
    forbund_key: str,
    kind: str,
    cfg: ForbundFile,
    to: list[Recipient],
    cc: list[Recipient] | None,
    context: dict[str, Any],
    not_before: datetime,
    now: datetime,
    ref: str | None = None,
    attachments: list[Attachment] | None = None,
    calendar: tuple[str, bytes] | None = None,
) -> OutboxMessage | None:
    """Queue one message in the caller's transaction unless its key is queued already
    (then None). For the few messages a change causes; sweeps use `queue`."""
    if not to:
        return None
    if key_queued(s, key):
        return None
    row = OutboxMessage(
        **_message(
            key=key,
            forbund_key=forbund_key,
            kind=kind,
            cfg=cfg,
            to=to,
            cc=cc,
            context=context,
            not_before=not_before,
            now=now,
            ref=ref,
            attachments=attachments,
            calendar=calendar,
        )
    )
    return row if add_once(s, row) else None


# ---------------------------------------------------------------- drafts, rendered, queued


@dataclass(frozen=True)
class Holds:
    """What must still be true when a sweep's message is inserted, as the read saw it.

    `what` is "open" (obligation `id` still owed, due `value`), "planned"
    (meeting `id` not cancelled, at sequence `value`, not begun), "cancelled"
    (meeting `id` cancelled) or "no-meetings" (förbund `id` still has no board
    meetings in year `value`).
    """

    what: str
    id: int
    value: Any = None


@dataclass(frozen=True)
class Invite:
    """A kallelse's calendar invitation, built when the message is rendered."""

    method: str
    meeting: dict[str, Any]
    summary: str
    description: str
    attendees: list[tuple[str, str]]


@dataclass(frozen=True)
class Draft:
    """A message a sweep found due, not rendered yet: plain data, no session needed."""

    key: str
    forbund_key: str
    kind: str
    cfg: ForbundFile
    to: list[Recipient]  # formatted for the header when rendered, where a bad one fails alone
    cc: list[Recipient] | None
    context: dict[str, Any]
    ref: str
    holds: Holds
    invite: Invite | None = None
    # the personal links its text carries: their rows go in with the message, never without
    links: tuple[PersonalLink, ...] = ()

    def failed(self, exc: Exception) -> Failed:
        return Failed(self.key, self.forbund_key, self.kind, self.ref, _reason(exc))

    def emails(self) -> list[str]:
        return [r if isinstance(r, str) else r[1] for r in [*self.to, *(self.cc or [])]]


@dataclass(frozen=True)
class Rendered:
    """A draft rendered: the outbox_message row to insert."""

    draft: Draft
    values: dict[str, Any]


@dataclass(frozen=True)
class Queued:
    """A message a sweep inserted."""

    id: int
    key: str
    forbund_key: str
    kind: str
    ref: str


def render_draft(d: Draft, now: datetime) -> Rendered:
    """Render a draft; touches no database, so it runs outside any transaction."""
    calendar = None
    if d.invite is not None:
        i = d.invite
        ics = invitation(
            i.method, i.meeting, i.summary, i.description, d.cfg.sender(), i.attendees, now
        )
        calendar = (i.method, ics)
    values = _message(
        key=d.key,
        forbund_key=d.forbund_key,
        kind=d.kind,
        cfg=d.cfg,
        to=d.to,
        cc=d.cc,
        context=d.context,
        not_before=now,
        now=now,
        ref=d.ref,
        calendar=calendar,
    )
    return Rendered(d, values)


def queue(
    app: App,
    drafts: Iterable[Draft],
    now: datetime,
    stop: Event | None = None,
    on_queued: Callable[[Queued], None] | None = None,
    on_failed: Callable[[Failed], None] | None = None,
) -> list[Queued]:
    """Render the drafts and insert them, `BATCH` rows per short write transaction.

    Rendering happens here, between the inserts and outside every transaction,
    so the write lock is held only while a batch's rows go in. `stop` ends the
    run after the batch in hand: what was inserted stands, and the rest is
    still due, so the next sweep queues it. `on_queued` hears of each row once
    its batch has committed; `on_failed` of each draft that could not be
    rendered (it is not queued, and the others go on).
    """
    queued: list[Queued] = []
    batch: list[Rendered] = []
    for d in drafts:
        if stop is not None and stop.is_set():
            break
        try:
            rendered = render_draft(d, now)
        except Exception as exc:  # one message fails, never the sweep
            if on_failed is not None:
                on_failed(d.failed(exc))
            continue
        batch.append(rendered)
        if len(batch) >= BATCH:
            queued += _insert_batch(app, batch, now, on_queued)
            batch = []
    if batch:
        queued += _insert_batch(app, batch, now, on_queued)
    return queued


def _insert_batch(
    app: App, batch: list[Rendered], now: datetime, on_queued: Callable[[Queued], None] | None
) -> list[Queued]:
    def work(uow: UnitOfWork) -> list[Queued]:
        s = uow.session
        keep = still_due(s, [r.draft for r in batch], now)
        done = insert_new(s, [r for r in batch if r.draft.key in keep])
        inserted = {q.key for q in done}
        store_links(s, [k for r in batch if r.draft.key in inserted for k in r.draft.links], now)
        return done

    done = write(app, work)
    if on_queued is not None:
        for q in done:
            on_queued(q)
    return done


def store_links(s: Session, personal: list[PersonalLink], now: datetime) -> None:
    """The personal links' rows, in one insert (as `links.store` writes them, without an ORM
    object each: a sweep writes thousands, and building each object validated its fields
    anew, values `links.new` made itself)."""
    if personal:
        s.execute(
            sa.insert(SigninLink.__table__),
            [
                {
                    "token_sha256": links.token_sha256(p.token),
                    "email": p.email,
                    "created_at": now,
                    "expires_at": p.expires_at,
                    "target": p.target,
                }
                for p in personal
            ],
        )


def still_due(s: Session, drafts: list[Draft], now: datetime) -> set[str]:
    """The keys of the drafts whose `holds` is still true: a few queries per batch.

    This catches what changed between the sweep's read and its insert (a report
    submitted, a meeting moved or cancelled, the year's meetings generated), so
    such a message is not even queued. What changes after the insert is
    delivery's to catch: it skips a reminder whose report is no longer owed and
    a kallelse whose meeting has begun or was replaced (its staleness check).
    """
    keep: set[str] = set()
    by_what: dict[str, list[Draft]] = {}
    for d in drafts:
        by_what.setdefault(d.holds.what, []).append(d)
    owed = by_what.get("open", [])
    if owed:
        due = {
            id_: due
            for id_, due in s.execute(
                sa.select(Obligation.id, Obligation.due).where(
                    Obligation.id.in_({d.holds.id for d in owed}), Obligation.state.in_(OPEN)
                )
            )
        }
        keep.update(d.key for d in owed if due.get(d.holds.id) == d.holds.value)
    about_meetings = by_what.get("planned", []) + by_what.get("cancelled", [])
    if about_meetings:
        found = {
            m.id: m
            for m in s.scalars(
                sa.select(Meeting).where(Meeting.id.in_({d.holds.id for d in about_meetings}))
            )
        }
        for d in about_meetings:
            m = found.get(d.holds.id)
            if m is None:
                continue
            if d.holds.what == "cancelled":
                if m.status == "cancelled":
                    keep.add(d.key)
            elif m.status != "cancelled" and m.sequence == d.holds.value and m.starts_at > now:
                keep.add(d.key)
    for d in by_what.get("no-meetings", []):
        row = s.get(Forbund, d.holds.id)
        if row is not None and not has_board_meetings(s, row, d.cfg, d.holds.value):
            keep.add(d.key)
    return keep


def insert_new(s: Session, rows: list[Rendered]) -> list[Queued]:
    """Insert the rows whose key is not queued yet (`ON CONFLICT DO NOTHING`), in order.

    A key queued by someone else since the read (another sweep, another node) is
    skipped by the unique index itself, without failing the batch.
    """
    if not rows:
        return []
    if s.get_bind().dialect.name == "postgresql":
        ids = _insert_arrays(s, [r.values for r in rows])
    else:
        # start-up: a dialect's insert is loaded on its own database only
        from sqlalchemy.dialects.sqlite import insert

        t = OutboxMessage.__table__
        statement = (
            insert(t).on_conflict_do_nothing(index_elements=[t.c.key]).returning(t.c.id, t.c.key)
        )
        ids = {key: id_ for id_, key in s.execute(statement, [r.values for r in rows])}
    return [
        Queued(ids[r.draft.key], r.draft.key, r.draft.forbund_key, r.draft.kind, r.draft.ref)
        for r in rows
        if r.draft.key in ids
    ]


# PostgreSQL: a batch as one array per column, so the statement's text is the same for
# every batch. A multi-row VALUES list of a hundred rows made a new text of over a
# thousand parameters each time, which the driver parsed anew (milliseconds of the
# node's CPU, inside the write transaction). The defaults are those of the model.
_ARRAY_INSERT = sa.text(
    """
    INSERT INTO outbox_message (key, forbund_key, kind, subject, sender, recipients,
        message_id, raw, ref, not_before, created_at, state, attempts, accepted)
    SELECT k, f, kd, sj, sd, CAST(rc AS JSON), m, r, rf, nb, ca, 'queued', 0, CAST('[]' AS JSON)
    FROM unnest(CAST(:key AS TEXT[]), CAST(:forbund_key AS TEXT[]), CAST(:kind AS TEXT[]),
        CAST(:subject AS TEXT[]), CAST(:sender AS TEXT[]), CAST(:recipients AS TEXT[]),
        CAST(:message_id AS TEXT[]), CAST(:raw AS BYTEA[]), CAST(:ref AS TEXT[]),
        CAST(:not_before AS TIMESTAMPTZ[]), CAST(:created_at AS TIMESTAMPTZ[]))
        WITH ORDINALITY AS u(k, f, kd, sj, sd, rc, m, r, rf, nb, ca, n)
    ORDER BY n
    ON CONFLICT (key) DO NOTHING
    RETURNING id, key
    """
)
_COLUMNS = (
    "key", "forbund_key", "kind", "subject", "sender", "recipients", "message_id", "raw",
    "ref", "not_before", "created_at",
)  # fmt: skip


def _insert_arrays(s: Session, values: list[dict[str, Any]]) -> dict[str, int]:
    """Insert the rows (`_message`'s values) on PostgreSQL; {key: id} of those inserted."""
    columns: dict[str, list[Any]] = {c: [v[c] for v in values] for c in _COLUMNS}
    columns["recipients"] = [json.dumps(r) for r in columns["recipients"]]
    for c in ("not_before", "created_at"):
        columns[c] = [t.astimezone(UTC) for t in columns[c]]
    return {key: id_ for id_, key in s.execute(_ARRAY_INSERT, columns)}


def queued_keys(s: Session, keys: list[str]) -> set[str]:
    """Which of these keys are queued already: one query per few hundred, not one each.

    On PostgreSQL the keys go as one array parameter (`key = ANY(...)`): a list of
    hundreds of parameters made a statement text of its own for every length, which
    the driver converted anew each time (milliseconds a query)."""
    if not keys:
        return set()
    if s.get_bind().dialect.name == "postgresql":
        listed = sa.bindparam("keys", list(keys), type_=sa.ARRAY(sa.String))
        return set(
            s.scalars(sa.select(OutboxMessage.key).where(OutboxMessage.key == sa.any_(listed)))
        )
    found: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        found.update(s.scalars(sa.select(OutboxMessage.key).where(OutboxMessage.key.in_(chunk))))
    return found


# ---------------------------------------------------------------- reminders


def reminder_time(due: date, offset: int, hour: int) -> datetime:
    """08:00 (local) `offset` days before the due date, whatever the season."""
    return datetime.combine(due - timedelta(days=offset), time(hour), tzinfo=LOCAL_TZ)


def reminder_times(o: Any, cfg: ForbundFile) -> list[tuple[datetime, int]]:
    """When each of the förbund's reminders for this report falls due, with its offset
    (`o`: an Obligation, or a row with its `due`)."""
    due = date.fromisoformat(o.due)
    hour = cfg.mail.reminder_hour
    return [(reminder_time(due, off, hour), off) for off in cfg.mail.reminder_offsets]


def open_obligations(s: Session, row: Forbund) -> Any:
    """The förbund's reports still owed (pending or returned), each with its insats."""
    return s.execute(
        sa.select(Obligation, Insats)
        .join(Insats, Insats.id == Obligation.insats_id)
        .where(Insats.forbund_id == row.id, Obligation.state.in_(OPEN))
    )


@dataclass(frozen=True)
class Head:
    """A förbund as a sweep needs it: its id, key and parsed file (no other column read)."""

    id: int
    key: str
    cfg: ForbundFile


# parsed förbund files by (key, sha256 of the file): an idle sweep reads three short
# columns of each förbund, never the stored file itself, and parses nothing anew
_CONFIGS: dict[tuple[str, str], ForbundFile] = {}
_CONFIGS_MAX = 1024


def heads(s: Session, on_failed: Callable[[Failed], None] | None = None) -> dict[int, Head]:
    """Every förbund whose file passes, by id, in key order: one short query, and one more
    for the files not parsed yet in this process. A förbund whose stored file no longer
    passes is reported to `on_failed` (each time: it is never cached) and left out."""
    rows = s.execute(
        sa.select(Forbund.id, Forbund.key, Forbund.config_sha256).order_by(Forbund.key)
    ).all()
    missing = [id_ for id_, key, sha in rows if (key, sha) not in _CONFIGS]
    if len(_CONFIGS) + len(missing) > _CONFIGS_MAX:
        _CONFIGS.clear()
    for i in range(0, len(missing), 500):
        for row in s.scalars(sa.select(Forbund).where(Forbund.id.in_(missing[i : i + 500]))):
            try:
                _CONFIGS[(row.key, row.config_sha256)] = forbunds.config_of(row)
            except FinsamError as exc:
                if on_failed is not None:
                    on_failed(Failed(f"forbund:{row.key}", row.key, "notify", None, exc.message))
    return {
        id_: Head(id_, key, _CONFIGS[(key, sha)])
        for id_, key, sha in rows
        if (key, sha) in _CONFIGS
    }


def _looked_at(o: Any, head: Head, now: datetime, memo: dict[Any, Any]) -> tuple[Any, Any]:
    """(the offset of the latest reminder come by `now`, None before the first; the time of
    the next one after `now`, None after the last) of report `o` under its förbund's rules.
    Many reports share a due date and most förbund the rules, and comparing times across
    zones is slow enough to count: `memo` keeps each answer for the sweep."""
    rules = head.cfg.mail
    when = (o.due, rules.reminder_hour, tuple(rules.reminder_offsets))
    if when not in memo:
        times = reminder_times(o, head.cfg)
        come = [(at, off) for at, off in times if at <= now]
        # after downtime only the latest one goes out
        memo[when] = (
            max(come)[1] if come else None,
            min((at for at, _ in times if at > now), default=None),
        )
    return memo[when]


def _reminded(
    o: Any, insats: Any, head: Head, offset: int
) -> tuple[list[tuple[str, str]], list[str]]:
    """The people a report's reminder at `offset` goes to, and the key of each one's copy
    (the förbundschef's copy of a late one last)."""
    key = f"reminder:{o.id}:{o.due}:{offset}"
    to = project_people(insats)
    keys = [personal_key(key, i, email) for i, (_, email) in enumerate(to)]
    if offset < 0 and head.cfg.chef()[1] and to:
        keys.append(f"{key}:chef")
    return to, keys


def _to_look_at(now: datetime) -> Any:
    """The reports still owed whose next reminder has come (`next_reminder_at`), with their
    insatser, as plain rows: on the index, so a sweep with nothing due reads none."""
    return (
        sa.select(_OWED, _OWING)
        .join(Insats, Insats.id == Obligation.insats_id)
        .where(Obligation.state.in_(OPEN), Obligation.next_reminder_at <= now)
        .order_by(Obligation.id)
    )


def due_reminders(
    s: Session, found: dict[int, Head], now: datetime
) -> tuple[dict[int, list[Owed]], set[str], dict[int, date]]:
    """The latest applicable reminder of each open report, not queued yet, by förbund id
    (read only): (what is owed, the keys of it queued already, the day of each meeting
    the reports go to). Set-based: the reports whose next reminder has come (one indexed
    query for every förbund; `settle_reminders` moves each on once its reminder is
    queued), their keys checked in sets; only what is due is read further (its
    meetings, in one query). Drafted by `Due.drafts`.

    One message per recipient, since each carries a personal link that signs its
    reader in on the report's page (`workflow.mail.links`); a late report's
    förbundschef gets a copy of their own, with a plain link to the page."""
    if not found:
        return {}, set(), {}
    due_now = []  # (förbund, obligation, insats, recipients, their drafts' keys)
    memo: dict[Any, Any] = {}
    for o, insats in s.execute(_to_look_at(now)):
        head = found.get(insats.forbund_id)
        if head is None:
            continue
        offset, _ = _looked_at(o, head, now, memo)
        if offset is not None:
            to, keys = _reminded(o, insats, head, offset)
            due_now.append((head, o, insats, to, keys))
    done = queued_keys(s, [k for *_, keys in due_now for k in keys])
    due_now = [d for d in due_now if not done.issuperset(d[-1])]
    meeting_ids = sorted({o.meeting_id for _, o, *_ in due_now if o.meeting_id})
    meeting_days: dict[int, date] = {}
    for i in range(0, len(meeting_ids), 500):
        for id_, starts_at in s.execute(
            sa.select(Meeting.id, Meeting.starts_at).where(Meeting.id.in_(meeting_ids[i : i + 500]))
        ):
            meeting_days[id_] = starts_at.astimezone(LOCAL_TZ).date()
    owed_by: dict[int, list[Owed]] = {}
    for head, o, insats, to, keys in due_now:
        owed_by.setdefault(head.id, []).append(Owed(o, insats, tuple(to), tuple(keys)))
    return owed_by, done, meeting_days


# reports settled per write transaction: the write lock held for milliseconds
SETTLE_BATCH = 500


def settle_reminders(app: App, now: datetime, besides: Iterable[int] = ()) -> int:
    """Move each report still owed whose reminder has come on to its next reminder, once
    every copy due now is queued (by this sweep, an earlier one or another node); how
    many moved on. A report with a copy not queued (its message failed, the sweep was
    stopped, another node is at it) is left, and the next sweep looks at it again.
    The förbund ids `besides` are left to the nodes that held them in this sweep, so
    nodes sharing a sweep share this work too (any node may settle any report).

    Checked anew in the write that moves them, each row locked before anything it hangs
    on is read (PostgreSQL; a row another transaction holds is skipped), so a change to
    what the reminder hangs on (a new owner contact, the förbund's rules) is either
    seen here or, since its own write sets the row back and waits for the lock, sets it
    back after this one."""
    looked = sa.select(Obligation.id).where(
        Obligation.state.in_(OPEN), Obligation.next_reminder_at <= now
    )
    others = sorted(set(besides))
    if others:
        looked = looked.join(Insats, Insats.id == Obligation.insats_id).where(
            Insats.forbund_id.not_in(others)
        )
    with read(app) as uow:
        ids = list(uow.session.scalars(looked))
    moved = 0
    for i in range(0, len(ids), SETTLE_BATCH):
        chunk = ids[i : i + SETTLE_BATCH]

        def work(uow: UnitOfWork, chunk: list[int] = chunk) -> int:
            s = uow.session
            # the rows locked first, what they hang on read after (PostgreSQL, each
            # statement its own snapshot): a change committed before the lock is read
            # below; one after it waits for this write, then sets its rows back
            mine = list(
                s.scalars(
                    sa.select(Obligation.id)
                    .where(
                        Obligation.id.in_(chunk),
                        Obligation.state.in_(OPEN),
                        Obligation.next_reminder_at <= now,
                    )
                    .with_for_update(skip_locked=True)
                )
            )
            if not mine:
                return 0
            found = heads(s)
            rows = s.execute(_to_look_at(now).where(Obligation.id.in_(mine))).all()
            memo: dict[Any, Any] = {}
            wanted: list[tuple[int, datetime | None, list[str]]] = []
            for o, insats in rows:
                head = found.get(insats.forbund_id)
                if head is None:
                    continue  # its file does not pass: looked at again, and reported
                offset, later = _looked_at(o, head, now, memo)
                keys = [] if offset is None else _reminded(o, insats, head, offset)[1]
                wanted.append((o.id, later, keys))
            done = queued_keys(s, [k for *_, keys in wanted for k in keys])
            settled = [
                {"oid": id_, "later": later} for id_, later, keys in wanted if done.issuperset(keys)
            ]
            if settled:
                t = Obligation.__table__
                s.execute(
                    sa.update(t)
                    .where(t.c.id == sa.bindparam("oid"))
                    .values(next_reminder_at=sa.bindparam("later")),
                    settled,
                )
            return len(settled)

        moved += write(app, work)
    return moved


@dataclass(frozen=True)
class Owed:
    """A report whose reminder is due: its row and its insats's (`_OWED`, `_OWING`), the
    people reminded and the key of each one's copy (the förbundschef's copy last)."""

    o: Any
    insats: Any
    to: tuple[tuple[str, str], ...]
    keys: tuple[str, ...]


def notice_key(meeting_id: int, sequence: int, method: str) -> str:
    """A kallelse's key (`notice:<meeting>:<sequence>`), or its cancellation's."""
    return (
        f"notice-cancel:{meeting_id}" if method == "CANCEL" else f"notice:{meeting_id}:{sequence}"
    )


@dataclass(frozen=True)
class Due:
    """What one förbund has due now, as read for every förbund at once: the keys are
    known, nothing is drafted yet. A node drafts only the förbund it claims, so nodes
    sharing a sweep do not each draft every förbund's messages."""

    head: Head
    owed: list[Owed]
    notices: list[tuple[int, int, str]]  # (meeting id, its sequence, "REQUEST" or "CANCEL")
    queued: set[str]  # of these keys, those queued already when read
    meeting_days: dict[int, date]

    def keys(self) -> list[str]:
        """The key of every message this förbund has due (some may be queued already)."""
        return [k for owed in self.owed for k in owed.keys] + [notice_key(*n) for n in self.notices]

    def drafts(self, s: Session, now: datetime, taken: set[str] | None = None) -> list[Draft]:
        """The drafts of what is due and not queued (when read, nor in `taken`): reminders,
        then kallelser (each meeting read again: one moved or cancelled since is left to
        the next sweep)."""
        done = self.queued | (taken or set())
        head = self.head
        cfg, chef = head.cfg, head.cfg.chef()
        base, valid = base_url(), links.valid_for()
        drafts: list[Draft] = []
        for owed in self.owed:
            o, insats, to, keys = owed.o, owed.insats, owed.to, owed.keys
            if done.issuperset(keys):
                continue
            context = _reminder_context(cfg, o, insats, self.meeting_days.get(o.meeting_id), now)
            for (name, email), key in zip(to, keys, strict=False):
                if key in done:
                    continue
                link = links.new(email, links.report_page(o.id or 0), now, valid)
                personal = {**context, "greeting": name or insats.name, "link": link.url(base)}
                personal["hours"] = int(valid.total_seconds() // 3600)
                drafts.append(_reminder(head.key, cfg, o, key, (name, email), personal, (link,)))
            if len(keys) > len(to) and keys[-1] not in done:  # the chef's copy of a late one
                page = base + links.report_page(o.id or 0)
                copy = {**context, "greeting": chef[0], "link": page}
                copy["copy_of"] = ", ".join(n or e for n, e in to)
                drafts.append(_reminder(head.key, cfg, o, keys[-1], chef, copy, ()))
        for id_, sequence, method in self.notices:
            if notice_key(id_, sequence, method) in done:
                continue
            m = s.get(Meeting, id_)
            if (
                m is None
                or m.sequence != sequence
                or (m.status == "cancelled") != (method == "CANCEL")
            ):
                continue
            draft = _notice(s, head.key, cfg, m, method)
            if draft is not None:
                drafts.append(draft)
        return drafts


# what a reminder needs of a report owed and of its insats: plain rows, not ORM objects
# (a sweep reads thousands, and building an object each was a tenth of its reading)
_OWED = Bundle(
    "o",
    Obligation.id,
    Obligation.due,
    Obligation.name,
    Obligation.year,
    Obligation.period_start,
    Obligation.period_end,
    Obligation.comment,
    Obligation.state,
    Obligation.meeting_id,
)
_OWING = Bundle(
    "insats",
    Insats.forbund_id,
    Insats.name,
    Insats.leader_name,
    Insats.leader_email,
    Insats.contact_name,
    Insats.contact_email,
)


def _reminder(
    forbund_key: str,
    cfg: ForbundFile,
    o: Any,  # an `_OWED` row
    key: str,
    to: tuple[str, str],
    context: dict[str, Any],
    personal: tuple[PersonalLink, ...],
) -> Draft:
    return Draft(
        key=key,
        forbund_key=forbund_key,
        kind="reminder",
        cfg=cfg,
        to=[to],
        cc=None,
        context=context,
        ref=f"obligation:{o.id}",
        holds=Holds("open", o.id or 0, o.due),
        links=personal,
    )


def _reminder_context(
    cfg: ForbundFile, o: Any, insats: Any, meeting: date | None, now: datetime
) -> dict[str, Any]:
    """The context every reader's copy of a reminder shares; `o` and `insats` rows of
    `_OWED` and `_OWING`, `meeting` the day of the meeting the report goes to."""
    due = date.fromisoformat(o.due)
    today = now.astimezone(LOCAL_TZ).date()
    return {
        "greeting": insats.leader_name or insats.contact_name or insats.name,
        "report": f"{o.name} {o.year}",
        "insats": insats.name,
        "period": f"{o.period_start} – {o.period_end}",
        "due": due,
        "days_left": max((due - today).days, 0),
        "days_late": max((today - due).days, 0),
        "meeting": meeting,
        "comment": o.comment if o.state == "returned" else None,
        "chef": cfg.chef()[0],
        "forbund": cfg.forbund.name,
        "link": None,
        "hours": None,
        "copy_of": None,
    }


def cycle_missing(
    s: Session, row: Forbund, cfg: ForbundFile, year: int, now: datetime
) -> Draft | None:
    """The förbundschef's once-a-year reminder that `year` has no board meetings in finsam,
    if it has none, the chef has an address and it is not queued yet (read only)."""
    draft = cycle_draft(row.key, row.id or 0, cfg, year)
    if draft is None or has_board_meetings(s, row, cfg, year) or queued_keys(s, [draft.key]):
        return None
    return draft


def cycle_draft(forbund_key: str, forbund_id: int, cfg: ForbundFile, year: int) -> Draft | None:
    """The missing-cycle reminder itself, if the chef has an address (no database: the
    year sweep has checked the meetings and the key for every förbund at once)."""
    chef_name, chef_email = cfg.chef()
    if not chef_email:
        return None
    return Draft(
        key=f"cycle:{forbund_key}:{year}",
        forbund_key=forbund_key,
        kind="cycle",
        cfg=cfg,
        to=[(chef_name, chef_email)],
        cc=None,
        context={"chef": chef_name, "forbund": cfg.forbund.name, "year": year},
        ref=f"year:{year}",
        holds=Holds("no-meetings", forbund_id, year),
    )


# ---------------------------------------------------------------- kallelser


def due_notices(
    s: Session, found: dict[int, Head], now: datetime
) -> dict[int, list[tuple[int, int, str]]]:
    """Kallelser due (the lead time has come, or the meeting moved after one went out)
    and cancellations of meetings that had one, not queued yet, by förbund id (read only):
    each as (meeting id, sequence, "REQUEST" or "CANCEL"), drafted by `Due.drafts`.

    Set-based: the coming meetings within the widest lead time, and those cancelled
    or moved, in one indexed query for every förbund; their keys checked in sets."""
    if not found:
        return {}
    widest = timedelta(days=max(h.cfg.mail.notice_days_before for h in found.values()))
    # a meeting whose latest message is queued has nothing due: left out by the index on
    # the keys, so an idle sweep reads no meeting whose kallelse went out already
    sent = sa.exists().where(
        OutboxMessage.key
        == sa.case(
            (
                Meeting.status == "cancelled",
                sa.literal("notice-cancel:") + sa.cast(Meeting.id, sa.String),
            ),
            else_=sa.literal("notice:")
            + sa.cast(Meeting.id, sa.String)
            + ":"
            + sa.cast(Meeting.sequence, sa.String),
        )
    )
    candidates = [
        m
        for m in s.scalars(
            sa.select(Meeting)
            .where(
                Meeting.starts_at > now,
                sa.or_(
                    Meeting.starts_at <= now + widest,
                    Meeting.status == "cancelled",
                    Meeting.sequence > 0,
                ),
                ~sent,
            )
            .order_by(Meeting.starts_at, Meeting.id)
        )
        if m.forbund_id in found
    ]
    # exact keys, so the unique index answers (a LIKE would read every message sent)
    keyed = [
        (m, [f"notice:{m.id}:{seq}" for seq in range(m.sequence + 1)], f"notice-cancel:{m.id}")
        for m in candidates
    ]
    queued_now = queued_keys(s, [k for _, keys, cancel in keyed for k in (*keys, cancel)])
    due: dict[int, list[tuple[int, int, str]]] = {}
    for m, keys, cancel in keyed:
        head = found[m.forbund_id]
        lead = timedelta(days=head.cfg.mail.notice_days_before)
        earlier = not queued_now.isdisjoint(keys)
        method = None
        if m.status == "cancelled":
            if earlier and cancel not in queued_now:
                method = "CANCEL"
        elif (now >= m.starts_at - lead or earlier) and keys[-1] not in queued_now:
            method = "REQUEST"
        if method is not None:
            due.setdefault(head.id, []).append((m.id or 0, m.sequence, method))
    return due


def _notice(
    s: Session, forbund_key: str, cfg: ForbundFile, m: Meeting, method: str
) -> Draft | None:
    data = meeting_dict(m, cfg)
    called = papers.called(cfg, m)
    if not called:
        return None
    items = placement.agenda_of(s, m, cfg)
    context = {
        "forbund": cfg.forbund.name,
        "meeting": data,
        "date": m.starts_at.astimezone(LOCAL_TZ).date(),
        "called": called,
        "items": items,
        "documents": [i for i in items if i["kind"] in ("plan", "report")],
        "overviews": papers.link_overviews(s, forbund_key, m.id or 0, items),
        "sender": cfg.chef()[0],
        "method": method,
        # the member's page of the meeting: the kallelse and handlingar, on a phone
        "page": f"{base_url()}/moten/{m.id}",
    }
    invite = Invite(
        method,
        data,
        f"{data['body_name']}: {data['theme'] or 'sammanträde'}",
        "\n".join(f"{i['number']}. {i['title']}" for i in items),
        [(p["name"], p["email"]) for p in called],
    )
    cancelling = method == "CANCEL"
    return Draft(
        key=notice_key(m.id or 0, m.sequence, method),
        forbund_key=forbund_key,
        kind="notice",
        cfg=cfg,
        to=[(p["name"], p["email"]) for p in called],
        cc=None,
        context=context,
        ref=f"meeting:{m.id}",
        holds=Holds("cancelled", m.id) if cancelling else Holds("planned", m.id, m.sequence),
        invite=invite,
    )


# ---------------------------------------------------------------- the notify sweep


def due_in(
    s: Session, now: datetime, on_failed: Callable[[Failed], None] | None = None
) -> list[Draft]:
    """Every reminder and kallelse due now and not queued yet, for every förbund (read only),
    in förbund key order: a constant number of queries however many förbund there are.

    Reads in the caller's transaction, so a dry run sees what its own
    uncommitted work (the year's new obligations) would make due. A förbund
    whose messages cannot be drafted (its stored file no longer passes) is
    reported to `on_failed` and the others go on.
    """
    return [d for due in due_work(s, now, on_failed) for d in due.drafts(s, now)]


def due_work(
    s: Session, now: datetime, on_failed: Callable[[Failed], None] | None = None
) -> list[Due]:
    """What each förbund has due now, in förbund key order, those with nothing due left
    out: a constant number of queries however many förbund there are (read only)."""
    found = heads(s, on_failed)
    owed, queued, meeting_days = due_reminders(s, found, now)
    notices_due = due_notices(s, found, now)
    return [
        Due(head, owed.get(id_, []), notices_due.get(id_, []), queued, meeting_days)
        for id_, head in found.items()
        if id_ in owed or id_ in notices_due
    ]


def counts(kinds: Iterable[str]) -> dict[str, int]:
    """{"reminders": n, "notices": n} of these messages' kinds."""
    kinds = list(kinds)
    return {"reminders": kinds.count("reminder"), "notices": kinds.count("notice")}


# how many failures a sweep's record names; the log has every one
NAMED_FAILURES = 5


def failure_detail(failed: list[Failed]) -> dict[str, Any]:
    """{"failed": n, "problems": [...]} for a sweep's record, or {} when nothing failed."""
    if not failed:
        return {}
    named = [f.describe() for f in failed[:NAMED_FAILURES]]
    if len(failed) > NAMED_FAILURES:
        named.append(f"and {len(failed) - NAMED_FAILURES} more (see the log)")
    return {"failed": len(failed), "problems": named}


# a sweep's claim on one förbund: a context manager saying whether this node has it
# (on PostgreSQL an advisory lock, so nodes share the förbund; elsewhere always True)
Claim = Callable[[str], AbstractContextManager[bool]]


def sweep(
    app: App,
    now: datetime | None = None,
    stop: Event | None = None,
    on_queued: Callable[[Queued], None] | None = None,
    on_failed: Callable[[Failed], None] | None = None,
    claim: Claim | None = None,
    rotate: int = 0,
) -> dict[str, Any]:
    """Queue every reminder and kallelse that has fallen due, for every förbund (idempotent).

    Read, then render and insert in short batches (see the module's docstring):
    other commands write between the batches. `stop` ends it after the batch in
    hand; the rest comes with the next sweep. A message that cannot be made
    fails alone: the counts say how many (`failed`) and name the first few
    (`problems`); `on_failed` hears of each.

    With `claim`, each förbund's messages are made only while this node holds
    its claim: a förbund another node holds is left to it (`elsewhere` counts
    them), and what the other node queued meanwhile is not drafted again. A node
    drafts only the förbund it holds, and starts at förbund number `rotate` (modulo
    how many have work: nodes given different numbers work apart, and meet only at
    the end). The keys keep each message once whatever the claims do.
    """
    now = now or app.clock.now()
    failed: list[Failed] = []

    def fail(f: Failed) -> None:
        failed.append(f)
        if on_failed is not None:
            on_failed(f)

    render_drafts(app, now, fail)  # what a change drafted and a crash left unrendered
    if claim is None:
        with read(app) as uow:
            drafts = due_in(uow.session, now, fail)
        done = queue(app, drafts, now, stop, on_queued, fail)
        _settle_unless(app, now, stop)
        return {**counts(q.kind for q in done), **failure_detail(failed)}
    with read(app) as uow:
        work = due_work(uow.session, now, fail)
    if work:  # each node from its own place in the list, so that they rarely meet
        first = rotate % len(work)
        work = work[first:] + work[:first]
    done: list[Queued] = []
    elsewhere: list[int] = []  # the förbund another node held
    for due in work:
        if stop is not None and stop.is_set():
            break
        with claim(due.head.key) as held:
            if not held:
                elsewhere.append(due.head.id)
                continue
            with read(app) as uow:  # drafted now, less what another node queued since
                taken = queued_keys(uow.session, due.keys())
                mine = due.drafts(uow.session, now, taken)
            done += queue(app, mine, now, stop, on_queued, fail)
    _settle_unless(app, now, stop, elsewhere)
    extra = {"elsewhere": len(elsewhere)} if elsewhere else {}
    return {**counts(q.kind for q in done), **extra, **failure_detail(failed)}


def _settle_unless(
    app: App, now: datetime, stop: Event | None, besides: Iterable[int] = ()
) -> None:
    """The reports reminded move on to their next reminder (`settle_reminders`; those of
    the förbund `besides`, which other nodes held, are theirs), unless the sweep was
    stopped: the next one does it then, and nothing is lost meanwhile."""
    if stop is None or not stop.is_set():
        settle_reminders(app, now, besides)


# ---------------------------------------------------------------- plans and decisions


def plan_arrived(
    s: Session,
    row: Forbund,
    cfg: ForbundFile,
    *,
    audit_seq: int,
    plan_title: str,
    revision: int,
    meeting: Meeting,
    body: str,
    comment: str | None,
    now: datetime,
) -> None:
    """Tell the members of the next body that the plan is on their meeting's agenda."""
    draft_message(
        s,
        key=f"arrival:{audit_seq}",
        forbund_key=row.key,
        kind="arrival",
        ref=f"meeting:{meeting.id}",
        now=now,
        draft={
            "plan_title": plan_title,
            "revision": revision,
            "meeting": meeting.id,
            "body": body,
            "comment": comment,
        },
    )


DECISION_TEXT = {
    "adopt": "att anta planen",
    "send_back": "att återremittera planen",
    "reject": "att avslå planen",
}


def decisions_approved(
    s: Session,
    meeting: Meeting,
    cfg: ForbundFile,
    approved: date,
    appeal_ends: date,
    now: datetime,
) -> int:
    """The minutes are approved: each member's registry gets a protokollsutdrag per decision."""
    row = s.get(Forbund, meeting.forbund_id)
    assert row is not None
    queued = 0
    for item in s.scalars(
        sa.select(AgendaItem).where(
            AgendaItem.meeting_id == meeting.id, AgendaItem.status == "handled"
        )
    ):
        event = s.scalars(sa.select(AuditEvent).where(AuditEvent.seq == item.audit_seq)).first()
        if event is None or event.kind != "decision" or event.plan_id is None:
            continue
        for member in cfg.members:
            queued += draft_message(
                s,
                key=f"decision:{event.seq}:{member.key}",
                forbund_key=row.key,
                kind="decision",
                ref=f"plan:{event.plan_id}",
                now=now,
                draft={
                    "meeting": meeting.id,
                    "decision": event.seq,
                    "paragraph": event.paragraph or item.paragraph or "",
                    "member": member.key,
                    "approved": approved.isoformat(),
                    "appeal_ends": appeal_ends.isoformat(),
                },
            )
    return queued


# ---------------------------------------------------------------- rendering drafts


@dataclass(frozen=True)
class _Parts:
    """What a drafted message is made of, read from the database; rendered afterwards."""

    id: int
    key: str
    forbund_key: str
    kind: str
    ref: str | None
    cfg: ForbundFile
    to: list[Recipient]
    context: dict[str, Any]
    plan: Any = None  # decisions: the plan (a loaded document), attached as HTML
    links: tuple[PersonalLink, ...] = ()  # report mails: the reader's personal link


def render_drafts(
    app: App, now: datetime | None = None, on_failed: Callable[[Failed], None] | None = None
) -> int:
    """Render the messages changes drafted and queue them; returns how many.

    Read in a read unit of work, rendered outside every transaction, queued in
    one short write that takes only rows still drafts (another process may have
    rendered them meanwhile). Called right after a change commits, and by the
    notify sweep for drafts a crash left behind. A draft that cannot be made
    is marked failed with its reason, in the same write, and the others go on.
    """
    now = now or app.clock.now()
    failed: list[tuple[int, Failed]] = []  # the row's id, and why
    parts: list[_Parts] = []
    with read(app) as uow:
        s = uow.session
        rows = list(
            s.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.state == "draft")
                .order_by(OutboxMessage.id)
            )
        )
        for r in rows:
            try:
                p = _parts(app, s, r, now)
            except Exception as exc:  # one draft fails, never the others
                if isinstance(exc, sa.exc.SQLAlchemyError):
                    raise  # the database, not the message: the whole run is retried
                assert r.id is not None
                failed.append((r.id, Failed(r.key, r.forbund_key, r.kind, r.ref, _reason(exc))))
                continue
            if p is not None:
                parts.append(p)
    plans: dict[int, bytes] = {}  # a plan's HTML once, however many members get it
    rendered: list[tuple[_Parts, dict[str, Any]]] = []
    for p in parts:
        try:
            rendered.append((p, _render_parts(p, now, plans)))
        except Exception as exc:  # one draft fails, never the others
            failed.append((p.id, Failed(p.key, p.forbund_key, p.kind, p.ref, _reason(exc))))
    if not rendered and not failed:
        return 0
    t = OutboxMessage.__table__

    def work(uow: UnitOfWork) -> int:
        done = 0
        for p, values in rendered:
            changed = uow.session.execute(
                sa.update(t)
                .where(t.c.id == p.id, t.c.state == "draft")
                .values(
                    subject=values["subject"],
                    sender=values["sender"],
                    recipients=values["recipients"],
                    message_id=values["message_id"],
                    raw=values["raw"],
                    state="queued",
                    draft=None,
                )
            ).rowcount
            if changed:  # its links go in with it; another process's render made its own
                links.store(uow.session, p.links, now)
            done += changed
        for id_, f in failed:  # the draft stays, so 'outbox retry' can draft it anew
            uow.session.execute(
                sa.update(t)
                .where(t.c.id == id_, t.c.state == "draft")
                .values(state="failed", last_error=f.reason)
            )
        return done

    done = write(app, work)
    if on_failed is not None:
        for _, f in failed:
            on_failed(f)
    return done


def _parts(app: App, s: Session, row: OutboxMessage, now: datetime) -> _Parts | None:
    """The recipients and template context of a drafted message, from its draft."""
    assert row.id is not None
    if row.kind in report_mail.KINDS or row.kind in minutes_mail.KINDS:
        mail = report_mail if row.kind in report_mail.KINDS else minutes_mail
        got = mail.parts(s, row, now)
        if got is None:
            return None
        to: list[Recipient] = list(got.to)
        return _Parts(
            row.id, row.key, row.forbund_key, row.kind, row.ref, got.cfg, to, got.context,
            links=got.links,
        )  # fmt: skip
    d = row.draft or {}
    forbund = s.scalars(sa.select(Forbund).where(Forbund.key == row.forbund_key)).first()
    meeting = s.get(Meeting, d.get("meeting"))
    if forbund is None or meeting is None:
        return None
    cfg = forbunds.config_of(forbund)
    assert row.id is not None
    start = meeting.starts_at.astimezone(LOCAL_TZ)
    if row.kind == "arrival":
        body = d["body"]
        people = [(p.name, p.email) for b in cfg.bodies if b.key == body for p in b.people]
        context = {
            "plan_title": d["plan_title"],
            "revision": d["revision"],
            "body": _body_name(cfg, body),
            "meeting_date": start.date(),
            "meeting_time": start.strftime("%H:%M"),
            "location": meeting.location,
            "comment": d["comment"],
            "forbund": cfg.forbund.name,
        }
        to = list(dict.fromkeys(people))
        return _Parts(row.id, row.key, row.forbund_key, row.kind, row.ref, cfg, to, context)
    event = s.scalars(sa.select(AuditEvent).where(AuditEvent.seq == d["decision"])).first()
    member = next((m for m in cfg.members if m.key == d["member"]), None)
    if event is None or event.plan_id is None or member is None:
        return None
    loaded = plan_docs.load_stored(app, event.plan_id, event.revision, session=s)
    context = {
        "forbund": cfg.forbund.name,
        "body": _body_name(cfg, meeting.body),
        "meeting_date": start.date(),
        "paragraph": d["paragraph"],
        "plan_title": loaded.plan.title,
        "decision": DECISION_TEXT[event.outcome or "adopt"],
        "reason": event.comment if event.outcome != "adopt" else None,
        "approved": date.fromisoformat(d["approved"]),
        "appeal_ends": date.fromisoformat(d["appeal_ends"]),
        "attached": True,
        "member": member.name,
        "chef": cfg.chef()[0],
        "revision": event.revision,
        "anslagstavla": notices.board_url(cfg.forbund.key),
    }
    to = [(member.name, member.registrator)]
    return _Parts(row.id, row.key, row.forbund_key, row.kind, row.ref, cfg, to, context, loaded)


def _body_name(cfg: ForbundFile, key: str) -> str:
    """The name of a body, or Unsendable when the förbund file no longer has it."""
    for b in cfg.bodies:
        if b.key == key:
            return b.name
    raise Unsendable(f"the body {key!r} is no longer in the förbund file")


def _render_parts(p: _Parts, now: datetime, plans: dict[int, bytes]) -> dict[str, Any]:
    attachments = None
    if p.plan is not None:
        html = plans.get(id(p.plan)) or render("plan.html.j2", plan_docs.document(p.plan)).encode(
            "utf-8"
        )
        plans[id(p.plan)] = html
        name = f"{p.context['plan_title']} (revision {p.context['revision']}).html"
        attachments = [Attachment(name, html, "text", "html")]
    return _message(
        key=p.key,
        forbund_key=p.forbund_key,
        kind=p.kind,
        cfg=p.cfg,
        to=p.to,
        cc=None,
        context=p.context,
        not_before=now,
        now=now,
        ref=p.ref,
        attachments=attachments,
    )
