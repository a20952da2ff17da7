"""The database tables (SQLModel). The schema itself is owned by the alembic migrations.

Instants are stored as timezone-aware UTC on every backend (`UTCDateTime`), so
the same row reads back the same on SQLite and PostgreSQL, which the audit
chain's hashes depend on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator):
    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _utc(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


# an `Obligation.next_reminder_at` that asks the notify sweep to look at the report at
# its next run (an instant long past, so that `next_reminder_at <= now` holds)
LOOK_AGAIN = datetime(2000, 1, 1, tzinfo=UTC)
LOOK_AGAIN_SQL = "2000-01-01 00:00:00"  # the same as a column default, on every backend


class Forbund(SQLModel, table=True):
    __tablename__ = "forbund"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=64)
    name: str
    config: dict = Field(sa_type=sa.JSON)
    config_sha256: str = Field(max_length=64)
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class Plan(SQLModel, table=True):
    __tablename__ = "plan"
    __table_args__ = (sa.UniqueConstraint("forbund_id", "year", name="uq_plan_forbund_year"),)
    id: int | None = Field(default=None, primary_key=True)
    forbund_id: int = Field(foreign_key="forbund.id", index=True)
    year: int
    last_year: int
    title: str
    state: str = Field(max_length=64)
    revision: int = 1
    version: int = 1
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class Revision(SQLModel, table=True):
    __tablename__ = "plan_revision"
    __table_args__ = (sa.UniqueConstraint("plan_id", "number", name="uq_revision_plan_number"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    number: int
    title: str
    content: str = ""
    content_format: str = Field(
        default="markdown", max_length=16, sa_column_kwargs={"server_default": "markdown"}
    )
    content_sha256: str = Field(max_length=64)
    created_at: datetime = _utc()
    frozen_at: datetime | None = _utc(default=None, nullable=True)


class AuditEvent(SQLModel, table=True):
    """One append-only row per change, in two hash chains: the whole trail's (`seq`,
    `prev_hash`, `hash`) and its förbund's own (`*_in_forbund`, issue 14).

    The constraints' names start `audit_event_seq`/`audit_event_prev` (and the
    columns `seq`/`prev_hash`) so that a writer losing a förbund's head is retried
    like one losing the whole trail's head (`db_errors._AUDIT_HEAD`).
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.UniqueConstraint("forbund_key", "seq_in_forbund", name="audit_event_seq_in_forbund"),
        sa.UniqueConstraint(
            "forbund_key", "prev_hash_in_forbund", name="audit_event_prev_hash_in_forbund"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)
    at: datetime = _utc()
    forbund_key: str = Field(max_length=64)
    plan_id: int | None = Field(default=None, index=True)
    plan_year: int | None = None
    subject: str | None = Field(default=None, max_length=64, index=True)
    revision: int
    action: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    outcome: str | None = Field(default=None, max_length=32)
    from_state: str | None = Field(default=None, max_length=64)
    to_state: str = Field(max_length=64)
    new_revision: int | None = None
    actor_email: str
    actor_name: str
    actor_role: str
    body: str | None = Field(default=None, max_length=64)
    meeting_date: str | None = Field(default=None, max_length=10)
    paragraph: str | None = Field(default=None, max_length=32)
    comment: str | None = None
    follows_recommendation: bool | None = None
    content_sha256: str = Field(max_length=64)
    prev_hash: str = Field(unique=True, max_length=64)
    hash: str = Field(unique=True, max_length=64)
    seq_in_forbund: int
    prev_hash_in_forbund: str = Field(max_length=64)
    hash_in_forbund: str = Field(max_length=64)
    # the front door the change came through: "cli" (also every row before 0012) or "web"
    channel: str = Field(default="cli", max_length=16, sa_column_kwargs={"server_default": "cli"})


class Meeting(SQLModel, table=True):
    """A meeting of one body; prep meetings point at the board meeting they prepare."""

    __tablename__ = "meeting"
    __table_args__ = (
        sa.UniqueConstraint("forbund_id", "key", name="uq_meeting_key"),
        sa.Index("ix_meeting_forbund_starts", "forbund_id", "starts_at"),
        # the sweeps: meetings by start across every förbund (kallelser, a year's meetings)
        sa.Index("ix_meeting_starts_at", "starts_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    forbund_id: int = Field(foreign_key="forbund.id", index=True)
    year: int
    key: str = Field(max_length=128)
    body: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    theme: str = ""
    starts_at: datetime = _utc()
    duration_minutes: int
    location: str | None = None
    joint_with: list = Field(default_factory=list, sa_type=sa.JSON)
    prepares_id: int | None = Field(default=None, foreign_key="meeting.id")
    offset_days: int = 0
    pinned: bool = False
    status: str = Field(default="planned", max_length=16)
    uid: str = Field(unique=True, max_length=128)
    sequence: int = 0
    note: str = ""
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class MeetingChange(SQLModel, table=True):
    """What happened to a meeting and when: its moves and cancellation."""

    __tablename__ = "meeting_change"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    at: datetime = _utc()
    change: str = Field(max_length=32)
    old_starts_at: datetime | None = _utc(default=None, nullable=True)
    new_starts_at: datetime | None = _utc(default=None, nullable=True)
    reason: str = ""


class AgendaItem(SQLModel, table=True):
    """A plan on a meeting's agenda: waiting for the meeting, then handled there."""

    __tablename__ = "agenda_item"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    revision: int
    state: str = Field(max_length=64)
    status: str = Field(default="waiting", max_length=16)
    action: str | None = Field(default=None, max_length=64)
    paragraph: str | None = Field(default=None, max_length=32)
    # the decision's row: looked up by it for every plan shown (when its adoption stands)
    audit_seq: int | None = Field(default=None, index=True)
    added_at: datetime = _utc()


class Minutes(SQLModel, table=True):
    """The protokoll of a meeting and its approval (justering)."""

    __tablename__ = "minutes"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", unique=True)
    recorded_at: datetime = _utc()
    present: list = Field(default_factory=list, sa_type=sa.JSON)
    justerare: list = Field(default_factory=list, sa_type=sa.JSON)
    approvals: list = Field(default_factory=list, sa_type=sa.JSON)
    approved_at: datetime | None = _utc(default=None, nullable=True)
    posted_on: str | None = Field(default=None, max_length=10)
    appeal_ends: str | None = Field(default=None, max_length=10)
    # who attended and how: [{email, status: present|remote|absent, serving_for}]
    attendance: list = Field(
        default_factory=list, sa_type=sa.JSON, sa_column_kwargs={"server_default": "[]"}
    )
    # each §'s text by its item's key (`protokoll.item_key`); a § without one has the
    # standard wording
    texts: dict = Field(
        default_factory=dict, sa_type=sa.JSON, sa_column_kwargs={"server_default": "{}"}
    )
    revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    sent_at: datetime | None = _utc(default=None, nullable=True)  # this revision to justering
    # the changes the justerare asked for: [{email, at, comment, revision}]
    requests: list = Field(
        default_factory=list, sa_type=sa.JSON, sa_column_kwargs={"server_default": "[]"}
    )
    content_sha256: str | None = Field(default=None, max_length=64)  # frozen once justerat
    # what the justerat protokoll says, as it said it then (`protokoll.snapshot`)
    frozen: dict | None = Field(default=None, sa_type=sa.JSON)


class Insats(SQLModel, table=True):
    """A funded intervention, run by a member (projektägare) with a project leader."""

    __tablename__ = "insats"
    __table_args__ = (
        sa.UniqueConstraint("forbund_id", "name", name="uq_insats_name"),
        # who an insats names, in any case: asked on every request (people.find)
        sa.Index("ix_insats_leader_email_lower", sa.text("lower(leader_email)")),
        sa.Index("ix_insats_contact_email_lower", sa.text("lower(contact_email)")),
    )
    id: int | None = Field(default=None, primary_key=True)
    forbund_id: int = Field(foreign_key="forbund.id", index=True)
    name: str
    owner: str = Field(max_length=64)
    leader_name: str = ""
    leader_email: str = ""
    contact_name: str = ""
    contact_email: str = ""
    start: str = Field(max_length=10)
    end: str | None = Field(default=None, max_length=10)
    budget: dict = Field(default_factory=dict, sa_type=sa.JSON)
    status: str = Field(default="active", max_length=16)
    sus: bool = False
    source: str = ""
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


# the states of a report still owed: reminded, its due date following its meeting
OWED = ("pending", "returned")


class Obligation(SQLModel, table=True):
    """A report an insats owes: its period, the board meeting that handles it, its due date."""

    __tablename__ = "obligation"
    __table_args__ = (
        sa.UniqueConstraint("insats_id", "kind", "year", name="uq_obligation_kind_year"),
        # reports still owed, by due date, across every förbund (`scheduler status`)
        sa.Index("ix_obligation_state_due", "state", "due"),
        # the notify sweep: reports still owed whose next reminder has come
        sa.Index("ix_obligation_state_next_reminder", "state", "next_reminder_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    insats_id: int = Field(foreign_key="insats.id", index=True)
    kind: str = Field(max_length=32)
    name: str
    year: int
    period_start: str = Field(max_length=10)
    period_end: str = Field(max_length=10)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)
    due: str = Field(max_length=10)
    state: str = Field(default="pending", max_length=16, index=True)
    version: int = 1
    submitted_at: datetime | None = _utc(default=None, nullable=True)
    submitted_by: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    file_sha256: str | None = Field(default=None, max_length=64)
    # the report's figures by the key of [[reports.fields]] (None before any were given)
    figures: dict | None = Field(default=None, sa_type=sa.JSON, nullable=True)
    # what the project leader saved in the browser and has not handed in yet: the
    # figures as typed (key -> text) and a file already in the store
    draft_figures: dict | None = Field(default=None, sa_type=sa.JSON, nullable=True)
    draft_file_name: str | None = None
    draft_file_size: int | None = None
    draft_file_sha256: str | None = Field(default=None, max_length=64)
    draft_saved_at: datetime | None = _utc(default=None, nullable=True)
    draft_saved_by: str | None = None
    decided_at: datetime | None = _utc(default=None, nullable=True)
    decided_by: str | None = None
    comment: str | None = None
    # when the notify sweep next looks at this report: its next reminder, as the sweep
    # last worked it out (None: no reminder is left). LOOK_AGAIN, long past, asks for a
    # look at the next sweep; a new report, and a change to what its reminders hang on,
    # sets it (`_look_again_*` below). Earlier than the truth costs a look; never later.
    next_reminder_at: datetime | None = _utc(
        default=LOOK_AGAIN,
        nullable=True,
        # for rows written without it (a node of the version before, still running
        # during the upgrade): looked at by the next sweep, not never
        sa_column_kwargs={"server_default": sa.text(f"'{LOOK_AGAIN_SQL}'")},
    )
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class OutboxMessage(SQLModel, table=True):
    """A message to send, written in the transaction of the change that caused it.

    `claimed_by` and `lease_until` are the claim of the deliverer sending it: only
    that deliverer, and only before the lease runs out, may mark the row. `accepted`
    lists the recipients whose server took the message, so a retry after a partial
    failure goes only to the others (the raw message itself stays the same).
    A row in state "draft" has no message yet, only `draft`: it is rendered and
    queued right after the transaction that wrote it (or by the next notify sweep).
    """

    __tablename__ = "outbox_message"
    # `outbox list --state S` pages newest first: the rows of a state in id order
    __table_args__ = (sa.Index("ix_outbox_message_state_id", "state", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)
    forbund_key: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    subject: str
    sender: str
    recipients: list = Field(default_factory=list, sa_type=sa.JSON)
    message_id: str = Field(unique=True, max_length=255)
    raw: bytes = Field(sa_type=sa.LargeBinary)
    ref: str | None = Field(default=None, max_length=64, index=True)
    state: str = Field(default="queued", max_length=16, index=True)
    not_before: datetime = _utc()
    next_attempt_at: datetime | None = _utc(default=None, nullable=True)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = _utc(default=None, nullable=True)
    sent_at: datetime | None = _utc(default=None, nullable=True)
    last_error: str | None = None
    accepted: list = Field(
        default_factory=list, sa_type=sa.JSON, sa_column_kwargs={"server_default": "[]"}
    )
    # a message a change caused, not rendered yet (state "draft"): what is needed to
    # render it after that change's transaction, so no writer renders holding the lock
    draft: dict | None = Field(default=None, sa_type=sa.JSON, nullable=True)
    created_at: datetime = _utc()


class OutboxAttempt(SQLModel, table=True):
    """One try to deliver one message to one recipient, and how it went."""

    __tablename__ = "outbox_attempt"
    id: int | None = Field(default=None, primary_key=True)
    message: int = Field(foreign_key="outbox_message.id", index=True)
    at: datetime = _utc()
    worker: str = Field(max_length=128)
    recipient: str
    outcome: str = Field(max_length=16)
    detail: str = ""


class SchedulerNode(SQLModel, table=True):
    """A `finsam scheduler run` process: where it runs and when it last said it was alive."""

    __tablename__ = "scheduler_node"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    kind: str = Field(max_length=16)  # "daemon" (scheduler run) or "tick" (one row per host)
    host: str = Field(max_length=128)
    pid: int
    started_at: datetime = _utc()
    last_beat: datetime = _utc()
    stopped_at: datetime | None = _utc(default=None, nullable=True)


class SweepState(SQLModel, table=True):
    """The last run of each sweep, by any node, and how it went."""

    __tablename__ = "sweep_state"
    name: str = Field(primary_key=True, max_length=32)
    node: str = Field(max_length=200)
    started_at: datetime = _utc()
    finished_at: datetime | None = _utc(default=None, nullable=True)
    outcome: str = Field(max_length=16)
    detail: dict = Field(default_factory=dict, sa_type=sa.JSON)


class WebSession(SQLModel, table=True):
    """A person signed in to `finsam web`: the cookie's random id is kept only as its
    SHA-256, so a copy of the database signs nobody in. `csrf` is the token every form
    of this session carries; idle and absolute expiry are read from `last_seen_at`
    and `created_at`."""

    __tablename__ = "web_session"
    id: int | None = Field(default=None, primary_key=True)
    id_sha256: str = Field(unique=True, max_length=64)
    email: str = Field(max_length=254, index=True)
    csrf: str = Field(max_length=64)
    created_at: datetime = _utc()
    last_seen_at: datetime = _utc()
    # how the person proved who they are: "link" (a mailed link) or "oidc" (the
    # e-legitimation provider); a justerare's approval records it
    method: str = Field(default="link", max_length=16, sa_column_kwargs={"server_default": "link"})


class SigninLink(SQLModel, table=True):
    """A one-time sign-in link mailed to a person: its token only as a SHA-256."""

    __tablename__ = "signin_link"
    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(unique=True, max_length=64)
    email: str = Field(max_length=254)
    created_at: datetime = _utc()
    expires_at: datetime = _utc()
    used_at: datetime | None = _utc(default=None, nullable=True)
    # the page it opens after sign-in (a report's, from a reminder); None: the desk
    target: str | None = Field(default=None, max_length=200)


class SigninAttempt(SQLModel, table=True):
    """One request for a sign-in link, counted for the rate limits: the address and the
    client only as SHA-256, so the table keeps no address that is nobody's."""

    __tablename__ = "signin_attempt"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc(index=True)
    address_sha256: str = Field(max_length=64, index=True)
    client_sha256: str = Field(max_length=64, index=True)


class CalendarFeed(SQLModel, table=True):
    """A person's calendar feed (`/kalender/<token>.ics`): the token only as SHA-256, so
    the address can be shown once, when it is made. One row per person: a new address
    replaces the old one's hash, switching the feed off deletes the row. `last_used_at`
    is written at most once an hour (a calendar asks every few minutes)."""

    __tablename__ = "calendar_feed"
    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(unique=True, max_length=64)
    email: str = Field(unique=True, max_length=254)
    created_at: datetime = _utc()
    last_used_at: datetime | None = _utc(default=None, nullable=True)


# ---------------------------------------------------------------- when reminders are looked at
#
# `Obligation.next_reminder_at` lets an idle notify sweep read nothing: the sweep sets it
# to a report's next reminder once everything due now is queued. Whatever a reminder
# hangs on (the report's due date, state and meeting; its insats's project people; its
# förbund's file, with the reminder rules and the chef) sets it back to LOOK_AGAIN when it
# changes, here, in the flush that writes the change, whichever service made it.

_REMINDED = ("due", "state", "meeting_id")
_PEOPLE = ("leader_email", "contact_email", "forbund_id")  # a reminder's keys name addresses


def _changed(target: Any, names: tuple[str, ...]) -> bool:
    state = sa.inspect(target)
    return any(state.attrs[n].history.has_changes() for n in names)


@sa.event.listens_for(Obligation, "before_update")
def _look_again_obligation(mapper: Any, connection: Any, target: Obligation) -> None:
    if _changed(target, _REMINDED):
        target.next_reminder_at = LOOK_AGAIN


@sa.event.listens_for(Insats, "before_update")
def _look_again_insats(mapper: Any, connection: Any, target: Insats) -> None:
    if _changed(target, _PEOPLE):
        o = Obligation.__table__.c
        connection.execute(
            sa.update(Obligation.__table__)
            .where(o.insats_id == target.id, o.state.in_(OWED))
            .values(next_reminder_at=LOOK_AGAIN)
        )


@sa.event.listens_for(Forbund, "before_update")
def _look_again_forbund(mapper: Any, connection: Any, target: Forbund) -> None:
    if _changed(target, ("config_sha256",)):
        o, i = Obligation.__table__.c, Insats.__table__.c
        connection.execute(
            sa.update(Obligation.__table__)
            .where(
                o.state.in_(OWED),
                o.insats_id.in_(sa.select(i.id).where(i.forbund_id == target.id)),
            )
            .values(next_reminder_at=LOOK_AGAIN)
        )
