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
from calendar import monthrange
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.reports import step
from workflow import audit, forbunds
from workflow.bootstrap import App
from workflow.clock import LOCAL_TZ, Clock, local_today
from workflow.config import ForbundFile
from workflow.db import UnitOfWork
from workflow.exceptions import NotAllowed, NotFound, UsageError
from workflow.insatser import cfg_of
from workflow.models import Forbund, Insats, Meeting, Obligation
from workflow.report_config import FINAL_KIND, FINAL_NAME, ReportKind
from workflow.settings import sqlite_path

SYSTEM = ("finsam", "finsam", "system")


# ---------------------------------------------------------------- dates


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


def _period(kind: ReportKind, year: int) -> tuple[date, date]:
    y = year - 1 if kind.previous_year else year
    return date(y, kind.from_month, 1), date(y, kind.to_month, monthrange(y, kind.to_month)[1])


# ---------------------------------------------------------------- generating


def generate(app: App, forbund_key: str | None, year: int) -> list[dict[str, Any]]:
    """Create the year's obligations of every active insats (those missing; safe to repeat)."""
    with UnitOfWork(app.engine) as uow:
        s = uow.session
        assert s is not None
        row = forbunds.resolve(s, forbund_key)
        created = generate_in(s, row, forbunds.config_of(row), year, app.clock.now())
        out = [obligation_dict(o, s.get(Insats, o.insats_id), app.clock) for o in created]
        uow.commit()
        return out


def generate_in(
    s: Session, row: Forbund, cfg: ForbundFile, year: int, now: datetime
) -> list[Obligation]:
    """The obligations missing for `year`, in the caller's transaction (the scheduler's too)."""
    from workflow.meetings import board_body

    board = board_body(cfg)
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
    from workflow.meetings import board_body

    return (
        s.scalars(
            sa.select(Meeting.id).where(
                Meeting.forbund_id == row.id, Meeting.key.like(f"{board_body(cfg)}-{year}-%")
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
    start, end = _period(kind, year)
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
    from workflow.meetings import board_body

    after = datetime.combine(
        ends + timedelta(days=cfg.reports.final_report_days), datetime.min.time(), tzinfo=LOCAL_TZ
    )
    meeting = s.scalars(
        sa.select(Meeting)
        .where(
            Meeting.forbund_id == insats.forbund_id,
            Meeting.body == board_body(cfg),
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


def end_insats(app: App, insats_id: int, on: date) -> dict[str, Any]:
    """The insats ends: later tertial reports fall away, a final report is owed."""
    now = app.clock.now()
    with UnitOfWork(app.engine) as uow:
        s = uow.session
        assert s is not None
        insats = s.get(Insats, insats_id)
        if insats is None:
            raise NotFound(f"unknown insats {insats_id}", "see 'finsam insats list'")
        if insats.status == "ended":
            raise UsageError(f"insats {insats_id} has ended already ({insats.end})")
        if on < date.fromisoformat(insats.start):
            raise UsageError(f"{on} is before the insats started ({insats.start})")
        cfg = cfg_of(s, insats)
        insats.status, insats.end, insats.updated_at = "ended", on.isoformat(), now
        s.add(insats)
        dropped = []
        for o in s.scalars(
            sa.select(Obligation).where(
                Obligation.insats_id == insats.id,
                Obligation.state == "pending",
                Obligation.kind != FINAL_KIND,
            )
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
        result = {
            "insats": insats.id,
            "end": insats.end,
            "cancelled": [obligation_dict(o, insats, app.clock) for o in dropped],
            "final": obligation_dict(final, insats, app.clock) if final else None,
        }
        uow.commit()
        return result


def follow_meetings(s: Session, meeting_ids: list[int], now: datetime) -> list[dict[str, Any]]:
    """After meetings moved: the due dates that hang on them move too, and say so."""
    changed = []
    boards = set(meeting_ids)
    for m in s.scalars(sa.select(Meeting).where(Meeting.id.in_(meeting_ids))):
        if m.prepares_id is not None:
            boards.add(m.prepares_id)
    for o in s.scalars(
        sa.select(Obligation).where(
            Obligation.meeting_id.in_(boards), Obligation.state.in_(("pending", "returned"))
        )
    ):
        insats = s.get(Insats, o.insats_id)
        meeting = s.get(Meeting, o.meeting_id)
        assert insats is not None and meeting is not None
        new = due_for(s, meeting, cfg_of(s, insats)).isoformat()
        if new != o.due:
            old, o.due, o.updated_at = o.due, new, now
            o.version += 1
            s.add(o)
            _audit(
                s,
                insats,
                o,
                now,
                SYSTEM,
                "due-moved",
                o.state,
                o.state,
                f"due {old} → {new}: meeting {meeting.id} moved",
            )
            changed.append({"obligation": o.id, "old_due": old, "new_due": new})
    s.flush()
    return changed


# ---------------------------------------------------------------- submitting and deciding


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
    o = s.get(Obligation, obligation_id)
    if o is None:
        raise NotFound(
            f"unknown report obligation {obligation_id}", "see 'finsam reports status --year YEAR'"
        )
    insats = s.get(Insats, o.insats_id)
    assert insats is not None
    return o, insats, cfg_of(s, insats)


def submit(app: App, obligation_id: int, file: Path, actor_email: str | None) -> dict[str, Any]:
    now = app.clock.now()
    if not file.is_file():
        raise UsageError(f"{file}: no such file", "give the path of the report document")
    content = file.read_bytes()
    sha = hashlib.sha256(content).hexdigest()
    with UnitOfWork(app.engine) as uow:
        s = uow.session
        assert s is not None
        o, insats, cfg = _load(s, obligation_id)
        email, name, roles = _actor(cfg, insats, actor_email)
        verdict = step(o.state, "submit", roles)
        if not verdict.ok:
            raise NotAllowed(f"report {o.id} ({o.name} {o.year}, {insats.name}): {verdict.reason}")
        target = data_dir(app) / sha[:2] / sha
        created = not target.exists()
        if created:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".part")
            shutil.copyfile(file, tmp)
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
            result = obligation_dict(o, insats, app.clock)
            uow.commit()
        except Exception:
            if created:
                target.unlink(missing_ok=True)
            raise
        result["stored_at"] = str(target)
        return result


def decide(
    app: App, obligation_id: int, action: str, actor_email: str | None, comment: str | None = None
) -> dict[str, Any]:
    """approve, or return for komplettering (with a comment saying what is missing)."""
    now = app.clock.now()
    if action == "return" and not (comment and comment.strip()):
        raise UsageError(
            "a returned report needs a comment saying what to complete", "give --comment TEXT"
        )
    with UnitOfWork(app.engine) as uow:
        s = uow.session
        assert s is not None
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
        uow.commit()
        return result


def _role(roles: frozenset[str], action: str) -> str:
    from states.reports import WHO

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


def obligation_dict(o: Obligation, insats: Insats | None, clock: Clock) -> dict[str, Any]:
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
) -> list[dict[str, Any]]:
    with UnitOfWork(app.engine) as uow:
        s = uow.session
        assert s is not None
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


def for_meeting(s: Session, meeting_id: int, clock: Clock) -> dict[str, list[dict[str, Any]]]:
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
