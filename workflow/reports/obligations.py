"""Report obligations: derived from the cycle, tracked through submission, chased when late.

An obligation's due date is computed from the meetings (the board meeting that
handles the report and the prep meeting before it), so when a meeting moves,
the due dates move with it and the change is written to the audit trail, as
is every submission, approval and return.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.events import DueMoved
from states.reports import WHO, period, step
from workflow.core import audit
from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ, Clock, local_today
from workflow.core.exceptions import NotAllowed, NotFound, UsageError
from workflow.core.models import Forbund, Insats, Meeting, Obligation
from workflow.core.settings import sqlite_path
from workflow.core.uow import UnitOfWork, read, write
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.forbund.report_rules import FINAL_KIND, FINAL_NAME, ReportKind
from workflow.reports.views import (
    InsatsEnded,
    MeetingReports,
    ObligationView,
    SubmittedObligation,
)

SYSTEM = ("finsam", "finsam", "system")


# ---------------------------------------------------------------- dates


# the states in which a report is still owed: reminded, and its due date follows its meeting
OPEN = ("pending", "returned")


def _board_meeting(
    s: Session, forbund_id: int, board_body: str, year: int, month: int
) -> Meeting | None:
    return s.scalars(
        sa.select(Meeting).where(
            Meeting.forbund_id == forbund_id, Meeting.key == f"{board_body}-{year}-{month:02d}"
        )
    ).first()


def due_for(s: Session, meeting: Meeting, cfg: ForbundFile) -> date:
    """`due_days_before_prep` days before the prep meeting of the handling board meeting."""
    rules = cfg.reports
    prep = s.scalars(
        sa.select(Meeting).where(
            Meeting.prepares_id == meeting.id,
            Meeting.body == rules.prep_body,
            Meeting.status == "planned",
        )
    ).first()
    if prep is None and rules.prep_body in (meeting.joint_with or []):
        prep = meeting  # the body sits with the board that day
    anchor = (prep or meeting).starts_at.astimezone(LOCAL_TZ).date()
    extra = 0 if prep is not None else 14  # no prep meeting: count from two weeks before
    return anchor - timedelta(days=rules.due_days_before_prep + extra)


# ---------------------------------------------------------------- generating


def generate(app: App, forbund_key: str | None, year: int) -> list[ObligationView]:
    """Create the year's obligations of every active insats (those missing; safe to repeat)."""

    def work(uow: UnitOfWork) -> list[ObligationView]:
        s = uow.session
        row = forbunds.resolve(s, forbund_key)
        created = generate_in(s, row, forbunds.config_of(row), year, app.clock.now())
        out = [obligation_dict(o, s.get(Insats, o.insats_id), app.clock) for o in created]
        return out

    return write(app, work)


def generate_in(
    s: Session, row: Forbund, cfg: ForbundFile, year: int, now: datetime
) -> list[Obligation]:
    """The obligations missing for `year`, in the caller's transaction (the scheduler's too)."""

    board = cfg.board_body()
    created = []
    insatser = list(
        s.scalars(sa.select(Insats).where(Insats.forbund_id == row.id, Insats.status == "active"))
    )
    for kind in cfg.reports.kinds:
        meeting = _board_meeting(s, row.id, board, year, kind.board_month)
        if meeting is None and insatser:
            raise UsageError(
                f"no board meeting in month {kind.board_month} of {year} to handle {kind.name}",
                f"generate the cycle first: finsam cycle generate --year {year}",
            )
        for insats in insatser:
            o = _obligation_for(s, insats, kind, year, meeting, cfg, now)
            if o is not None:
                created.append(o)
    for insats in insatser:
        if insats.end and date.fromisoformat(insats.end).year == year:
            o = _final(s, insats, cfg, now)
            if o is not None:
                created.append(o)
    s.flush()
    return created


def has_board_meetings(s: Session, row: Forbund, cfg: ForbundFile, year: int) -> bool:

    return (
        s.scalars(
            sa.select(Meeting.id).where(
                Meeting.forbund_id == row.id, Meeting.key.like(f"{cfg.board_body()}-{year}-%")
            )
        ).first()
        is not None
    )


def _exists(s: Session, insats: Insats, kind: str, year: int) -> bool:
    return (
        s.scalars(
            sa.select(Obligation.id).where(
                Obligation.insats_id == insats.id, Obligation.kind == kind, Obligation.year == year
            )
        ).first()
        is not None
    )


def _obligation_for(
    s: Session,
    insats: Insats,
    kind: ReportKind,
    year: int,
    meeting: Meeting | None,
    cfg: ForbundFile,
    now: datetime,
) -> Obligation | None:
    start, end = period(year, kind.from_month, kind.to_month, kind.previous_year)
    begins = date.fromisoformat(insats.start)
    ends = date.fromisoformat(insats.end) if insats.end else None
    if begins > end or (ends is not None and ends < end) or meeting is None:
        return None  # nothing before its start; an insats ending first owes a final report
    if _exists(s, insats, kind.key, year):
        return None
    o = Obligation(
        insats_id=insats.id,
        kind=kind.key,
        name=kind.name,
        year=year,
        period_start=max(start, begins).isoformat(),
        period_end=end.isoformat(),
        meeting_id=meeting.id,
        due=due_for(s, meeting, cfg).isoformat(),
        created_at=now,
        updated_at=now,
    )
    s.add(o)
    s.flush()
    _audit(s, insats, o, now, SYSTEM, "create", None, "pending", None)
    return o


def _final(s: Session, insats: Insats, cfg: ForbundFile, now: datetime) -> Obligation | None:
    assert insats.end is not None
    ends = date.fromisoformat(insats.end)
    if _exists(s, insats, FINAL_KIND, ends.year):
        return None

    after = datetime.combine(
        ends + timedelta(days=cfg.reports.final_report_days), datetime.min.time(), tzinfo=LOCAL_TZ
    )
    meeting = s.scalars(
        sa.select(Meeting)
        .where(
            Meeting.forbund_id == insats.forbund_id,
            Meeting.body == cfg.board_body(),
            Meeting.status == "planned",
            Meeting.starts_at >= after,
        )
        .order_by(Meeting.starts_at)
    ).first()
    due = due_for(s, meeting, cfg) if meeting else after.date()
    o = Obligation(
        insats_id=insats.id,
        kind=FINAL_KIND,
        name=FINAL_NAME,
        year=ends.year,
        period_start=insats.start,
        period_end=insats.end,
        meeting_id=meeting.id if meeting else None,
        due=due.isoformat(),
        created_at=now,
        updated_at=now,
    )
    s.add(o)
    s.flush()
    _audit(s, insats, o, now, SYSTEM, "create", None, "pending", None)
    return o


def end_insats(app: App, insats_id: int, on: date) -> InsatsEnded:
    """The insats ends: later tertial reports fall away, a final report is owed."""
    now = app.clock.now()

    def work(uow: UnitOfWork) -> InsatsEnded:
        s = uow.session
        insats = s.get(Insats, insats_id, with_for_update=True)
        if insats is None:
            raise NotFound(f"unknown insats {insats_id}", "see 'finsam insats list'")
        if insats.status == "ended":
            raise UsageError(f"insats {insats_id} has ended already ({insats.end})")
        if on < date.fromisoformat(insats.start):
            raise UsageError(f"{on} is before the insats started ({insats.start})")
        cfg = forbunds.config_by_id(s, insats.forbund_id)
        insats.status, insats.end, insats.updated_at = "ended", on.isoformat(), now
        s.add(insats)
        dropped = []
        for o in s.scalars(
            sa.select(Obligation)
            .where(
                Obligation.insats_id == insats.id,
                Obligation.state == "pending",
                Obligation.kind != FINAL_KIND,
            )
            .with_for_update()  # a report submitted meanwhile stays submitted (PostgreSQL)
            .execution_options(populate_existing=True)
        ):
            if date.fromisoformat(o.period_end) > on:
                o.state, o.updated_at = "cancelled", now
                o.version += 1
                s.add(o)
                _audit(
                    s,
                    insats,
                    o,
                    now,
                    SYSTEM,
                    "cancel",
                    "pending",
                    "cancelled",
                    f"the insats ended {on.isoformat()}",
                )
                dropped.append(o)
        final = _final(s, insats, cfg, now)
        s.flush()
        result: InsatsEnded = {
            "insats": insats.id,
            "end": insats.end,
            "cancelled": [obligation_dict(o, insats, app.clock) for o in dropped],
            "final": obligation_dict(final, insats, app.clock) if final else None,
        }
        return result

    return write(app, work)


def follow_meetings(s: Session, meeting_ids: tuple[int, ...], now: datetime) -> list[DueMoved]:
    """After meetings moved (or a prep meeting was cancelled): the due dates that hang
    on them move too, each with a `due-moved` audit row."""
    changed = []
    boards = set(meeting_ids)
    for m in s.scalars(sa.select(Meeting).where(Meeting.id.in_(meeting_ids))):
        if m.prepares_id is not None:
            boards.add(m.prepares_id)
    for o in s.scalars(
        sa.select(Obligation)
        .where(Obligation.meeting_id.in_(boards), Obligation.state.in_(OPEN))
        .with_for_update()  # a report submitted meanwhile is left alone (PostgreSQL)
        .execution_options(populate_existing=True)
    ):
        meeting = s.get(Meeting, o.meeting_id)
        assert meeting is not None
        moved = _set_due(s, o, meeting, now, f"meeting {meeting.id} moved")
        if moved is not None:
            changed.append(moved)
    s.flush()
    return changed


def follow_cancelled(s: Session, next_of: dict[int, int | None], now: datetime) -> list[DueMoved]:
    """Reports to be handled at cancelled meetings go to the body's next meeting
    (`next_of`: cancelled meeting -> the next one, or None when the year has no
    more), and their due dates follow it, each with a `due-moved` audit row."""
    changed = []
    for o in s.scalars(
        sa.select(Obligation)
        .where(
            Obligation.meeting_id.in_(list(next_of)),
            Obligation.state.in_((*OPEN, "submitted")),
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ):
        old_meeting = o.meeting_id
        target = next_of[old_meeting] if old_meeting is not None else None
        if target is None:
            continue  # no later meeting of the body: the report keeps its date
        meeting = s.get(Meeting, target)
        assert meeting is not None
        o.meeting_id = meeting.id
        why = f"meeting {old_meeting} cancelled: handled at meeting {meeting.id}"
        if o.state == "submitted":
            o.version += 1
            o.updated_at = now
            s.add(o)
            insats = s.get(Insats, o.insats_id)
            assert insats is not None
            _audit(s, insats, o, now, SYSTEM, "due-moved", o.state, o.state, why)
            changed.append(DueMoved(o.id, o.due, o.due, meeting.id))
            continue
        moved = _set_due(s, o, meeting, now, why, force=True)
        if moved is not None:
            changed.append(moved)
    s.flush()
    return changed


def _set_due(
    s: Session, o: Obligation, meeting: Meeting, now: datetime, why: str, *, force: bool = False
) -> DueMoved | None:
    """Give the obligation the due date its meeting implies; audited when it changed
    (or, with `force`, whenever the meeting itself changed)."""
    insats = s.get(Insats, o.insats_id)
    assert insats is not None
    new = due_for(s, meeting, forbunds.config_by_id(s, insats.forbund_id)).isoformat()
    if new == o.due and not force:
        return None
    old, o.due, o.updated_at = o.due, new, now
    o.version += 1
    s.add(o)
    _audit(s, insats, o, now, SYSTEM, "due-moved", o.state, o.state, f"due {old} → {new}: {why}")
    return DueMoved(o.id, old, new, meeting.id)


def data_dir(app: App) -> Path:
    """Where report files are kept: FINSAM_DATA_DIR, else a folder next to the SQLite file."""
    given = os.environ.get("FINSAM_DATA_DIR")
    if given:
        return Path(given)
    path = sqlite_path(app.url)
    if path is not None:
        return path.parent / f"{path.stem}-files"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "finsam" / "files"


def _private_dirs(root: Path, leaf: Path) -> None:
    """The files folder and the folders in it, made readable by their owner only."""
    for folder in (root, leaf):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)


def _actor(cfg: ForbundFile, insats: Insats, email: str | None) -> tuple[str, str, frozenset[str]]:
    if not email:
        raise UsageError("who is acting? nobody was named", "give --as EMAIL or set FINSAM_USER")
    email = email.strip().lower()
    roles: set[str] = set()
    name = email
    if email in {insats.leader_email.lower(), insats.contact_email.lower()} - {""}:
        roles.add("project")
        name = insats.leader_name if email == insats.leader_email.lower() else insats.contact_name
    person = cfg.actor(email)
    if person is not None:
        name = person.name
        if any(role == "förbundschef" for _, role in person.memberships):
            roles.add("förbundschef")
    if not roles and person is None:
        raise NotFound(
            f"{email} is neither a contact of insats {insats.id} ({insats.name}) nor "
            f"a person in {cfg.forbund.name}",
            f"the insats's contacts: {insats.leader_email or '-'}, {insats.contact_email or '-'}",
        )
    return email, name or email, frozenset(roles)


def _load(s: Session, obligation_id: int) -> tuple[Obligation, Insats, ForbundFile]:
    # locked until commit (PostgreSQL; SQLite writers hold the file's lock): two
    # people acting on one report at once act one after the other, the second on
    # the state the first left
    o = s.get(Obligation, obligation_id, with_for_update=True)
    if o is None:
        raise NotFound(
            f"unknown report obligation {obligation_id}", "see 'finsam reports status --year YEAR'"
        )
    insats = s.get(Insats, o.insats_id)
    assert insats is not None
    return o, insats, forbunds.config_by_id(s, insats.forbund_id)


def submit(
    app: App, obligation_id: int, file: Path, actor_email: str | None
) -> SubmittedObligation:
    now = app.clock.now()
    if not file.is_file():
        raise UsageError(f"{file}: no such file", "give the path of the report document")
    content = file.read_bytes()
    sha = hashlib.sha256(content).hexdigest()

    def work(uow: UnitOfWork) -> SubmittedObligation:
        s = uow.session
        o, insats, cfg = _load(s, obligation_id)
        email, name, roles = _actor(cfg, insats, actor_email)
        verdict = step(o.state, "submit", roles)
        if not verdict.ok:
            raise NotAllowed(f"report {o.id} ({o.name} {o.year}, {insats.name}): {verdict.reason}")
        target = data_dir(app) / sha[:2] / sha
        created = not target.exists()
        if created:
            _private_dirs(data_dir(app), target.parent)
            tmp = target.with_suffix(".part")
            shutil.copyfile(file, tmp)
            tmp.chmod(0o600)  # reports hold personal data: their owner only
            tmp.replace(target)
        try:
            before = o.state
            o.state, o.submitted_at, o.submitted_by = verdict.to_state, now, email
            o.file_name, o.file_size, o.file_sha256 = file.name, len(content), sha
            o.version += 1
            o.updated_at = now
            s.add(o)
            _audit(
                s,
                insats,
                o,
                now,
                (email, name, _role(roles, "submit")),
                "submit",
                before,
                o.state,
                f"{file.name} ({len(content)} bytes)",
                sha,
            )
            # the stored file's place is added below
            result = cast(SubmittedObligation, obligation_dict(o, insats, app.clock))
        except Exception:
            if created:
                target.unlink(missing_ok=True)
            raise
        result["stored_at"] = str(target)
        return result

    return write(app, work)


def decide(
    app: App, obligation_id: int, action: str, actor_email: str | None, comment: str | None = None
) -> ObligationView:
    """approve, or return for komplettering (with a comment saying what is missing)."""
    now = app.clock.now()
    if action == "return" and not (comment and comment.strip()):
        raise UsageError(
            "a returned report needs a comment saying what to complete", "give --comment TEXT"
        )

    def work(uow: UnitOfWork) -> ObligationView:
        s = uow.session
        o, insats, cfg = _load(s, obligation_id)
        email, name, roles = _actor(cfg, insats, actor_email)
        verdict = step(o.state, action, roles)
        if not verdict.ok:
            raise NotAllowed(f"report {o.id} ({o.name} {o.year}, {insats.name}): {verdict.reason}")
        before = o.state
        o.state, o.decided_at, o.decided_by, o.comment = verdict.to_state, now, email, comment
        o.version += 1
        o.updated_at = now
        s.add(o)
        _audit(
            s,
            insats,
            o,
            now,
            (email, name, _role(roles, action)),
            action,
            before,
            o.state,
            comment,
            o.file_sha256 or "",
        )
        result = obligation_dict(o, insats, app.clock)
        return result

    return write(app, work)


def _role(roles: frozenset[str], action: str) -> str:
    return next(r for r in WHO[action] if r in roles)


def _audit(
    s: Session,
    insats: Insats,
    o: Obligation,
    now: datetime,
    actor: tuple[str, str, str],
    action: str,
    before: str | None,
    after: str,
    comment: str | None,
    sha: str = "",
) -> None:
    row = s.get(Forbund, insats.forbund_id)
    assert row is not None
    audit.append(
        s,
        at=now,
        forbund_key=row.key,
        plan_id=None,
        plan_year=None,
        subject=f"obligation:{o.id}",
        revision=0,
        action=action,
        kind="report",
        from_state=before,
        to_state=after,
        actor_email=actor[0],
        actor_name=actor[1],
        actor_role=actor[2],
        comment=comment,
        content_sha256=sha,
    )


# ---------------------------------------------------------------- reading


def obligation_dict(o: Obligation, insats: Insats | None, clock: Clock) -> ObligationView:
    today = local_today(clock)
    due = date.fromisoformat(o.due)
    late = o.state in ("pending", "returned") and today > due
    return {
        "id": o.id,
        "insats": o.insats_id,
        "insats_name": insats.name if insats else None,
        "kind": o.kind,
        "name": o.name,
        "year": o.year,
        "period": f"{o.period_start}–{o.period_end}",
        "period_start": o.period_start,
        "period_end": o.period_end,
        "meeting": o.meeting_id,
        "due": o.due,
        "state": o.state,
        "submitted": o.submitted_at.astimezone(LOCAL_TZ).date().isoformat()
        if o.submitted_at
        else None,
        "submitted_by": o.submitted_by,
        "file_name": o.file_name,
        "file_size": o.file_size,
        "file_sha256": o.file_sha256,
        "comment": o.comment,
        "late": late,
        "days_late": (today - due).days if late else 0,
    }


def status(
    app: App,
    forbund_key: str | None,
    year: int,
    *,
    late_only: bool = False,
    insats_id: int | None = None,
) -> list[ObligationView]:
    with read(app) as uow:
        s = uow.session
        row = forbunds.resolve(s, forbund_key)
        query = (
            sa.select(Obligation, Insats)
            .join(Insats, Insats.id == Obligation.insats_id)
            .where(
                Insats.forbund_id == row.id,
                Obligation.year == year,
                Obligation.state != "cancelled",
            )
        )
        if insats_id is not None:
            if s.get(Insats, insats_id) is None:
                raise NotFound(f"unknown insats {insats_id}", "see 'finsam insats list'")
            query = query.where(Insats.id == insats_id)
        rows = [
            obligation_dict(o, i, app.clock)
            for o, i in s.execute(query.order_by(Obligation.due, Insats.name))
        ]
        return [r for r in rows if r["late"]] if late_only else rows


def for_meeting(s: Session, meeting_id: int, clock: Clock) -> MeetingReports:
    """The reports a board meeting handles: received (submitted or approved) and missing."""
    rows = [
        obligation_dict(o, s.get(Insats, o.insats_id), clock)
        for o in s.scalars(
            sa.select(Obligation)
            .where(Obligation.meeting_id == meeting_id, Obligation.state != "cancelled")
            .order_by(Obligation.id)
        )
    ]
    return {
        "received": [r for r in rows if r["state"] in ("submitted", "approved")],
        "missing": [r for r in rows if r["state"] in ("pending", "returned")],
    }
