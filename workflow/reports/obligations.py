"""Report obligations: derived from the cycle, tracked through submission, chased when late.

An obligation's due date is computed from the meetings (the board meeting that
handles the report and the prep meeting before it), so when a meeting moves,
the due dates move with it and the change is written to the audit trail, as
is every submission, approval and return.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypedDict, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.events import DueMoved, ReportReturned, ReportsOwed
from states.reports import WHO, period, step
from workflow.core import audit, paging
from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ, Clock, local_today
from workflow.core.exceptions import NotAllowed, NotFound, UsageError
from workflow.core.files import open_regular
from workflow.core.models import OWED, AuditEvent, Forbund, Insats, Meeting, Obligation
from workflow.core.settings import max_upload_bytes, sqlite_path
from workflow.core.text import optional_text, single_line
from workflow.core.uow import UnitOfWork, read, write
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.forbund.report_rules import FINAL_KIND, FINAL_NAME, ReportKind
from workflow.reports import figures as report_figures
from workflow.reports import files as store
from workflow.reports.views import (
    InsatsEnded,
    MeetingReports,
    ObligationView,
    SubmittedObligation,
)

SYSTEM = ("finsam", "finsam", "system")
Who = tuple[str, str, str]  # e-mail, name and role of the person an audit row names
YEARS = range(2000, 2101)  # the years a cycle and its reports can be generated for
MAX_ID = 2**63 - 1  # the largest id a database holds: a larger one is no row, not an overflow


# ---------------------------------------------------------------- dates


OPEN = OWED  # the states in which a report is still owed


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


def generate(
    app: App, forbund_key: str | None, year: int, *, actor_email: str | None
) -> list[ObligationView]:
    """Create the year's obligations of every active insats (those missing; safe to repeat).

    Each obligation's `create` row names the person who generated it (the
    `[permissions] reports` of the förbund file), so `audit log --subject
    obligation:ID` shows an obligation's whole life from who created it on.
    """
    if year not in YEARS:
        raise UsageError(
            f"--year {year} is out of range", f"give a year from {YEARS[0]} to {YEARS[-1]}"
        )

    def work(uow: UnitOfWork) -> list[ObligationView]:
        s = uow.session
        row = forbunds.resolve(s, forbund_key)
        cfg = forbunds.config_of(row)
        who, role = forbunds.authorise(cfg, actor_email, "reports")
        actor = (who.email, who.name, role)
        created = generate_in(s, row, cfg, year, app.clock.now(), actor)
        if created:  # their project people hear of them (handlers: a mail each)
            uow.record(ReportsOwed(tuple(o.id or 0 for o in created), app.clock.now()))
        out = [obligation_dict(o, s.get(Insats, o.insats_id), app.clock) for o in created]
        return out

    return write(app, work)


def generate_in(
    s: Session, row: Forbund, cfg: ForbundFile, year: int, now: datetime, actor: Who = SYSTEM
) -> list[Obligation]:
    """The obligations missing for `year`, in the caller's transaction (the scheduler's too,
    whose rows name finsam itself as the actor)."""

    board = cfg.board_body()
    created = []
    insatser = list(
        s.scalars(sa.select(Insats).where(Insats.forbund_id == row.id, Insats.status == "active"))
    )
    for kind in cfg.reports.kinds:
        meeting = _board_meeting(s, row.id, board, year, kind.board_month)
        if meeting is None and insatser:
            raise _no_board_meeting(s, row, cfg, kind, year)
        for insats in insatser:
            o = _obligation_for(s, insats, kind, year, meeting, cfg, now, actor)
            if o is not None:
                created.append(o)
    for insats in insatser:
        if insats.end and date.fromisoformat(insats.end).year == year:
            o = _final(s, insats, cfg, now, actor)
            if o is not None:
                created.append(o)
    s.flush()
    return created


def would_generate(
    cfg: ForbundFile,
    insatser: list[tuple[int, str, str | None]],
    existing: set[tuple[int, str, int]],
    board_keys: set[str],
    year: int,
) -> bool:
    """Whether `generate_in` would create anything for `year` (or refuse for want of a
    board meeting), from what the year sweep read for every förbund at once: the
    förbund's active insatser (id, start, end), the obligations there are (insats id,
    kind, year) and the keys of its board meetings that year. No database: an idle
    sweep asks this of every förbund and opens none whose answer is no."""
    if not insatser:
        return False
    board = cfg.board_body()
    for kind in cfg.reports.kinds:
        if f"{board}-{year}-{kind.board_month:02d}" not in board_keys:
            return True  # generate_in says which meeting is missing
        for id_, start, end in insatser:
            if (id_, kind.key, year) not in existing and _owed_between(start, end, kind, year):
                return True
    return any(
        end and date.fromisoformat(end).year == year and (id_, FINAL_KIND, year) not in existing
        for id_, _, end in insatser
    )


def _no_board_meeting(
    s: Session, row: Forbund, cfg: ForbundFile, kind: ReportKind, year: int
) -> UsageError:
    """The board does not meet in the month a report kind names: say which `[reports]`
    key names that month, and in which months the board does meet (none: no cycle yet)."""
    board = cfg.board_body()
    keys = s.scalars(
        sa.select(Meeting.key).where(
            Meeting.forbund_id == row.id, Meeting.key.like(f"{board}-{year}-%")
        )
    )
    months = sorted({int(k.rsplit("-", 1)[1]) for k in keys if k.rsplit("-", 1)[1].isdigit()})
    where = f'[[reports.kinds]] key = "{kind.key}", board_month = {kind.board_month}'
    message = (
        f"no {board} meeting in month {kind.board_month} of {year} to handle {kind.name} "
        f"(the förbund file's {where})"
    )
    change = (
        f"or change board_month of that [[reports.kinds]] entry in the förbund file's "
        f"[reports] to a month the {board} meets in"
    )
    if not months:
        return UsageError(
            message + f"; the {year} cycle has no {board} meetings yet",
            f"generate the cycle first: finsam cycle generate --year {year}; {change}",
        )
    listed = ", ".join(str(m) for m in months)
    return UsageError(
        message + f"; in {year} the {board} meets in month(s) {listed}",
        f"add a {board} meeting in month {kind.board_month} (or generate the cycle again "
        f"after changing [cycle]), {change}: {listed}",
    )


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
    actor: Who = SYSTEM,
) -> Obligation | None:
    covered = _owed_period(insats, kind, year)
    if covered is None or meeting is None:
        return None  # nothing before its start; an insats ending first owes a final report
    if _exists(s, insats, kind.key, year):
        return None
    o = Obligation(
        insats_id=insats.id,
        kind=kind.key,
        name=kind.name,
        year=year,
        period_start=covered[0],
        period_end=covered[1],
        meeting_id=meeting.id,
        due=due_for(s, meeting, cfg).isoformat(),
        created_at=now,
        updated_at=now,
    )
    s.add(o)
    s.flush()
    _audit(s, insats, o, now, actor, "create", None, "pending", None)
    return o


def _owed_period(insats: Insats, kind: ReportKind, year: int) -> tuple[str, str] | None:
    """The period (first, last day) of `kind` for `year` the insats owes, or None.

    Nothing is owed for a period ending before the insats starts, nor for one
    ending after the insats ends (its final report covers that).
    """
    return _owed_between(insats.start, insats.end, kind, year)


def _owed_between(
    starts: str, ended: str | None, kind: ReportKind, year: int
) -> tuple[str, str] | None:
    """`_owed_period` of an insats running from `starts` to `ended` (ISO dates)."""
    start, end = period(year, kind.from_month, kind.to_month, kind.previous_year)
    begins = date.fromisoformat(starts)
    ends = date.fromisoformat(ended) if ended else None
    if begins > end or (ends is not None and ends < end):
        return None
    return max(start, begins).isoformat(), end.isoformat()


def _final_meeting(s: Session, insats: Insats, cfg: ForbundFile) -> tuple[Meeting | None, date]:
    """The board meeting that handles the final report (the first one `final_report_days`
    after the end) and its due date; without such a meeting, due on that day."""
    assert insats.end is not None
    after = datetime.combine(
        date.fromisoformat(insats.end) + timedelta(days=cfg.reports.final_report_days),
        datetime.min.time(),
        tzinfo=LOCAL_TZ,
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
    return meeting, due_for(s, meeting, cfg) if meeting else after.date()


def _final(
    s: Session, insats: Insats, cfg: ForbundFile, now: datetime, actor: Who = SYSTEM
) -> Obligation | None:
    assert insats.end is not None
    ends = date.fromisoformat(insats.end)
    if _exists(s, insats, FINAL_KIND, ends.year):
        return None
    meeting, due = _final_meeting(s, insats, cfg)
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
    _audit(s, insats, o, now, actor, "create", None, "pending", None)
    return o


def end_insats(
    app: App, insats_id: int, on: date, *, actor_email: str | None, reason: str | None = None
) -> InsatsEnded:
    """The insats ends: later tertial reports fall away, a final report is owed.

    The person ending it needs `[permissions] insatser`; the insats's row and
    every obligation dropped or created name them.
    """
    now = app.clock.now()
    reason = optional_text(reason, "--reason")

    def work(uow: UnitOfWork) -> InsatsEnded:
        s = uow.session
        insats = s.get(Insats, insats_id, with_for_update=True) if 0 < insats_id <= MAX_ID else None
        if insats is None:
            raise NotFound(f"unknown insats {insats_id}", "see 'finsam insats list'")
        cfg = forbunds.config_by_id(s, insats.forbund_id)
        who, role = forbunds.authorise(cfg, actor_email, "insatser")
        actor = (who.email, who.name, role)
        if insats.status == "ended":
            raise UsageError(
                f"insats {insats_id} has ended already ({insats.end})",
                "correct its last day with 'finsam insats edit ID --end YYYY-MM-DD'",
            )
        if on < date.fromisoformat(insats.start):
            raise UsageError(
                f"{on} is before the insats started ({insats.start})",
                f"give --date on or after {insats.start}",
            )
        if on.year > YEARS[-1]:
            raise UsageError(f"--date {on} is out of range", f"give a day up to {YEARS[-1]}")
        planned = insats.end
        insats.status, insats.end, insats.updated_at = "ended", on.isoformat(), now
        s.add(insats)
        row = s.get(Forbund, insats.forbund_id)
        assert row is not None
        audit.change(
            s,
            at=now,
            forbund_key=row.key,
            subject=f"insats:{insats.id}",
            action="end",
            actor=who,
            role=role,
            from_state="active",
            to_state="ended",
            comment=f"ended {on.isoformat()}"
            + (f" (planned end {planned})" if planned and planned != insats.end else "")
            + (f": {reason}" if reason else ""),
        )
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
                    actor,
                    "cancel",
                    "pending",
                    "cancelled",
                    f"the insats ended {on.isoformat()}",
                )
                dropped.append(o)
        final = _final(s, insats, cfg, now, actor)
        if final is not None:
            s.flush()
            uow.record(ReportsOwed((final.id or 0,), now))
        else:  # owed already for a planned end: its period ends now
            settled = _settle_final(s, insats, cfg, on.year, now, actor, "the insats ended")
            final = settled[1] if settled else None
        s.flush()
        result: InsatsEnded = {
            "insats": insats.id,
            "end": insats.end,
            "cancelled": [obligation_dict(o, insats, app.clock) for o in dropped],
            "final": obligation_dict(final, insats, app.clock) if final else None,
        }
        return result

    return write(app, work)


# ---------------------------------------------------------------- a changed period


def follow_period(
    s: Session, insats: Insats, cfg: ForbundFile, now: datetime, actor: Who, why: str
) -> list[tuple[str, Obligation]]:
    """After an insats's start or end changed (`insats edit`): its obligations agree
    with the new period again, in the caller's transaction, each change audited.

    Only reports still to be written follow: a pending one no longer owed is
    cancelled, one whose period changed gets the new period (a final report its
    new due date), one newly owed is created in the years already generated for
    this insats (reopened when it was cancelled); other years are left to
    `reports generate`, as for any insats. A report handed in (submitted,
    returned or approved) was written for its period: a change that would alter
    or drop it is refused, naming it. Returns (what happened, obligation).
    """
    row = s.get(Forbund, insats.forbund_id)
    assert row is not None
    existing = {
        (o.kind, o.year): o
        for o in s.scalars(
            sa.select(Obligation)
            .where(Obligation.insats_id == insats.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    # the years generated for this insats; an ended one owes its final report at once
    years = {year for _, year in existing}
    if insats.end and insats.status == "ended":
        years.add(date.fromisoformat(insats.end).year)
    board = cfg.board_body()
    changes: list[tuple[str, Obligation]] = []
    for year in sorted(years):
        for kind in cfg.reports.kinds:
            wanted = _owed_period(insats, kind, year)
            o = existing.get((kind.key, year))
            if wanted is not None and o is None:
                meeting = _board_meeting(s, row.id, board, year, kind.board_month)
                made = _obligation_for(s, insats, kind, year, meeting, cfg, now, actor)
                if made is not None:  # none without a board meeting: reports generate says so
                    changes.append(("create", made))
                continue
            if o is not None:
                done = _settle(s, insats, o, wanted, None, now, actor, why)
                if done is not None:
                    changes.append((done, o))
        final = _settle_final(s, insats, cfg, year, now, actor, why, existing)
        if final is not None:
            changes.append(final)
    s.flush()
    return changes


def _settle_final(
    s: Session,
    insats: Insats,
    cfg: ForbundFile,
    year: int,
    now: datetime,
    actor: Who,
    why: str,
    existing: dict[tuple[str, int], Obligation] | None = None,
) -> tuple[str, Obligation] | None:
    """The final report of `year` agrees with the insats's end: created, updated,
    reopened or cancelled; (what was done, the obligation) when something changed."""
    if existing is None:
        o = s.scalars(
            sa.select(Obligation).where(
                Obligation.insats_id == insats.id,
                Obligation.kind == FINAL_KIND,
                Obligation.year == year,
            )
        ).first()
    else:
        o = existing.get((FINAL_KIND, year))
    ends = date.fromisoformat(insats.end) if insats.end else None
    owed = ends is not None and ends.year == year
    if o is None:
        made = _final(s, insats, cfg, now, actor) if owed else None
        return ("create", made) if made is not None else None
    wanted = (insats.start, insats.end or "") if owed else None
    placed = _final_meeting(s, insats, cfg) if owed else None
    done = _settle(s, insats, o, wanted, placed, now, actor, why)
    return (done, o) if done is not None else None


def _settle(
    s: Session,
    insats: Insats,
    o: Obligation,
    wanted: tuple[str, str] | None,
    placed: tuple[Meeting | None, date] | None,
    now: datetime,
    actor: Who,
    why: str,
) -> str | None:
    """One obligation brought to the period `wanted` (None: no longer owed); `placed`
    is a final report's meeting and due date. What was done, or None."""
    period_now = (o.period_start, o.period_end)
    same = wanted == period_now
    if o.state == "cancelled":
        if wanted is None:
            return None
        action, before = "reopen", o.state
        o.state = "pending"
    elif o.state != "pending":
        if same:
            return None
        shown = f"{wanted[0]}–{wanted[1]}" if wanted else ""
        change = f"to cover {shown}" if wanted else "to fall away"
        raise UsageError(
            f"report {o.id} ({o.name} {o.year}, insats {insats.name}) is {o.state} for "
            f"{o.period_start}–{o.period_end}; the new period would need it {change}",
            "a report handed in stays as it was written: choose a start and end that keep "
            "its period, or end the insats with 'finsam insats end'",
        )
    elif wanted is None:
        o.state, o.updated_at = "cancelled", now
        o.version += 1
        s.add(o)
        _audit(s, insats, o, now, actor, "cancel", "pending", "cancelled", why)
        return "cancel"
    elif same and (placed is None or placed[1].isoformat() == o.due):
        return None
    else:
        action, before = "period", o.state
    assert wanted is not None
    o.period_start, o.period_end = wanted
    if placed is not None:
        meeting, due = placed
        o.meeting_id, o.due = (meeting.id if meeting else None), due.isoformat()
    elif o.meeting_id is not None:
        meeting_row = s.get(Meeting, o.meeting_id)
        assert meeting_row is not None
        o.due = due_for(s, meeting_row, forbunds.config_by_id(s, insats.forbund_id)).isoformat()
    o.version += 1
    o.updated_at = now
    s.add(o)
    _audit(
        s,
        insats,
        o,
        now,
        actor,
        action,
        before,
        o.state,
        f"{why}: period {period_now[0]}–{period_now[1]} → {wanted[0]}–{wanted[1]}, due {o.due}",
    )
    return action


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
    o = (
        s.get(Obligation, obligation_id, with_for_update=True)
        if 0 < obligation_id <= MAX_ID
        else None
    )
    if o is None:
        raise NotFound(
            f"unknown report obligation {obligation_id}", "see 'finsam reports status --year YEAR'"
        )
    insats = s.get(Insats, o.insats_id)
    assert insats is not None
    return o, insats, forbunds.config_by_id(s, insats.forbund_id)


def submit(
    app: App,
    obligation_id: int,
    file: Path,
    actor_email: str | None,
    figures: dict[str, str] | None = None,
    channel: str = "cli",
) -> SubmittedObligation:
    """Hand in a report file: read once into the store's staging folder (hashed and typed as
    it is written), the row committed, then the file put in its place (`reports.files`).

    Who may submit, and the figures given (`reports.figures`: checked against the kind's
    `[[reports.fields]]`), are asked before a byte is read, so a refusal leaves the store as
    it was; the write transaction asks again, since the state may change meanwhile. No
    figures at all: the file alone, the earlier figures kept.
    """
    name = single_line(file.name, "--file (the file's name)", "line")
    fd = open_regular(file, "the report document", follow_symlinks=False)
    try:
        return submit_open(app, obligation_id, fd, name, actor_email, figures, channel)
    finally:
        os.close(fd)


def submit_open(
    app: App,
    obligation_id: int,
    fd: int,
    name: str,
    actor_email: str | None,
    figures: dict[str, str] | None = None,
    channel: str = "cli",
) -> SubmittedObligation:
    """`submit` of a file open at `fd` (a command's file, a browser's upload) named `name`;
    closes nothing of the caller's."""
    name = single_line(name, "the file's name", "line")
    staged = _stage(app, obligation_id, fd, name, actor_email, figures)
    stored = StoredFile(name, staged.size, staged.sha256, staged.mime)
    try:
        result = _record(app, obligation_id, actor_email, figures, stored, channel)
    except Exception:  # not committed: nothing of the submission stays
        staged.discard()
        raise
    except BaseException:  # interrupted, perhaps after the commit: the next sweep decides
        staged.abandon()
        raise
    result["stored_at"] = str(store.publish(staged))
    return result


def _stage(
    app: App,
    obligation_id: int,
    fd: int,
    name: str,
    actor_email: str | None,
    figures: dict[str, str] | None,
) -> store.Staged:
    """Ask who may submit and check the figures, then read the file into staging."""
    with read(app) as uow:
        _may_submit(uow.session, obligation_id, actor_email, lock=False)
        _checked_figures(uow.session, obligation_id, figures)
    store.sweep_staging(app)  # what a killed submission left, settled first
    return store.stage(store.root(app.url), fd, name, max_upload_bytes())


@dataclass(frozen=True)
class StoredFile:
    """A report file as a row names it: in the store by its sha256 (or staged for it)."""

    name: str
    size: int
    sha256: str
    mime: str


def submit_stored(
    app: App,
    obligation_id: int,
    actor_email: str | None,
    figures: dict[str, str] | None,
    file: StoredFile,
    channel: str = "web",
) -> SubmittedObligation:
    """Hand in a report whose file is in the store already: the draft's file, or the file
    of a returned report handed in again with corrected figures."""
    with read(app) as uow:
        o, _insats, _cfg = _peek(uow.session, obligation_id)
        named = {o.file_sha256, o.draft_file_sha256} - {None, ""}
    if file.sha256 not in named:
        raise UsageError(
            f"report {obligation_id} names no stored file {file.sha256[:12]}",
            "attach the report's file",
        )
    return _record(app, obligation_id, actor_email, figures, file, channel)


def _record(
    app: App,
    obligation_id: int,
    actor_email: str | None,
    figures: dict[str, str] | None,
    file: StoredFile,
    channel: str,
) -> SubmittedObligation:
    now = app.clock.now()

    def work(uow: UnitOfWork) -> SubmittedObligation:
        s = uow.session
        o, insats, email, who, roles, to_state = _may_submit(s, obligation_id, actor_email)
        checked = _checked_figures(s, obligation_id, figures)
        before = o.state
        o.state, o.submitted_at, o.submitted_by = to_state, now, email
        o.file_name, o.file_size, o.file_sha256 = file.name, file.size, file.sha256
        if checked is not None:
            o.figures = checked
        _clear_draft(o)
        o.version += 1
        o.updated_at = now
        s.add(o)
        _audit(
            s,
            insats,
            o,
            now,
            (email, who, _role(roles, "submit")),
            "submit",
            before,
            o.state,
            _submit_comment(f"{file.name} ({file.size} bytes, {file.mime})", checked),
            file.sha256,
            channel,
        )
        return cast(SubmittedObligation, obligation_dict(o, insats, app.clock))

    return write(app, work)


def _clear_draft(o: Obligation) -> None:
    o.draft_figures = o.draft_file_name = o.draft_file_size = o.draft_file_sha256 = None
    o.draft_saved_at = o.draft_saved_by = None


# ---------------------------------------------------------------- drafts


MAX_DRAFT_TEXT = 10_000  # characters of one figure as typed, kept in a draft


def save_draft(
    app: App,
    obligation_id: int,
    actor_email: str | None,
    figures: dict[str, str],
    upload: tuple[int, str] | None = None,
) -> ObligationView:
    """Keep what a project leader has typed (and a file) without handing it in.

    The figures are kept as typed (the kind's keys only, each at most
    MAX_DRAFT_TEXT characters): a draft may be half done, and is checked when
    submitted. A file goes through the same checks as a submission (type, size,
    read once) and into the store at once, named by the draft. No state changes,
    so no audit row: the draft's row says who saved it and when.
    """
    now = app.clock.now()
    staged = None
    if upload is not None:
        fd, name = upload
        name = single_line(name, "the file's name", "line")
        staged = _stage(app, obligation_id, fd, name, actor_email, None)

    def work(uow: UnitOfWork) -> ObligationView:
        s = uow.session
        o, insats, email, _who, _roles, _to = _may_submit(s, obligation_id, actor_email)
        cfg = forbunds.config_by_id(s, insats.forbund_id)
        keys = {f.key for f in cfg.reports.fields_for(o.kind)}
        o.draft_figures = {
            k: v[:MAX_DRAFT_TEXT] for k, v in figures.items() if k in keys and v.strip()
        }
        if staged is not None:
            o.draft_file_name, o.draft_file_size = upload[1] if upload else "", staged.size
            o.draft_file_sha256 = staged.sha256
        o.draft_saved_at, o.draft_saved_by, o.updated_at = now, email, now
        s.add(o)
        return obligation_dict(o, insats, app.clock)

    if staged is None:
        return write(app, work)
    try:
        result = write(app, work)
    except Exception:
        staged.discard()
        raise
    except BaseException:
        staged.abandon()
        raise
    store.publish(staged)
    return result


def _checked_figures(
    s: Session, obligation_id: int, given: dict[str, str] | None
) -> report_figures.Figures | None:
    """The figures `given`, checked against what the obligation's kind asks for; None when
    none were given (a file alone is still a submission, as before figures existed)."""
    if given is None:
        return None
    o, _insats, cfg = _peek(s, obligation_id)
    fields = cfg.reports.fields_for(o.kind)
    return report_figures.check(given, fields, f"{o.name} ({o.kind})")


def _submit_comment(file_part: str, figures: report_figures.Figures | None) -> str:
    """The submission's audit comment: the file, then the figures given, at most 500 chars."""
    if figures is None:
        return file_part
    return report_figures.shorten(f"{file_part}; {report_figures.in_words(figures)}")


def _may_submit(
    s: Session, obligation_id: int, actor_email: str | None, *, lock: bool = True
) -> tuple[Obligation, Insats, str, str, frozenset[str], str]:
    """The obligation, its insats, the person (e-mail, name, roles) and the state a
    submission leads to; or the refusal (unknown report, unknown person, not allowed now).
    `lock=False` is the look before the file is read: a reader that never waits for a
    writer's row lock (the write transaction looks again, locked)."""
    o, insats, cfg = _load(s, obligation_id) if lock else _peek(s, obligation_id)
    email, who, roles = _actor(cfg, insats, actor_email)
    verdict = step(o.state, "submit", roles)
    if not verdict.ok:
        raise NotAllowed(f"report {o.id} ({o.name} {o.year}, {insats.name}): {verdict.reason}")
    return o, insats, email, who, roles, verdict.to_state


def _peek(s: Session, obligation_id: int) -> tuple[Obligation, Insats, ForbundFile]:
    """`_load` without the row lock."""
    o = s.get(Obligation, obligation_id) if 0 < obligation_id <= MAX_ID else None
    if o is None:
        return _load(s, obligation_id)  # its refusal, said once
    insats = s.get(Insats, o.insats_id)
    assert insats is not None
    return o, insats, forbunds.config_by_id(s, insats.forbund_id)


def decide(
    app: App,
    obligation_id: int,
    action: str,
    actor_email: str | None,
    comment: str | None = None,
    channel: str = "cli",
) -> ObligationView:
    """approve, or return for komplettering (with a comment saying what is missing)."""
    now = app.clock.now()
    comment = optional_text(comment, "--comment")
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
        row = _audit(
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
            channel,
        )
        if action == "return":  # the project people get the comment and a link back
            uow.record(ReportReturned(o.id or 0, row.seq, now))
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
    channel: str = "cli",
) -> AuditEvent:
    row = s.get(Forbund, insats.forbund_id)
    assert row is not None
    return audit.append(
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
        channel=channel,
    )


# ---------------------------------------------------------------- reading


def obligation_dict(o: Obligation, insats: Insats | None, clock: Clock) -> ObligationView:
    today = local_today(clock)
    due = date.fromisoformat(o.due)
    late = o.state in OWED and today > due
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
        "figures": o.figures,
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
    """Every report obligation of the year (the late ones, one insats's), the earliest due
    first: what a check or a page of one year reads; `status_page` is `reports status`'s."""
    with read(app) as uow:
        s = uow.session
        query = _status_query(s, app, forbund_key, year, late_only, insats_id)
        return [
            obligation_dict(o, i, app.clock)
            for o, i in s.execute(query.order_by(Obligation.due, Insats.name))
        ]


class ObligationPage(TypedDict):
    """One page of `reports status`: the obligations, the latest due first, and how to get
    the earlier ones (`next` is `{"before": "DATE:ID"}` to pass back, or None)."""

    obligations: list[ObligationView]
    next: dict[str, str] | None


def status_page(
    app: App,
    forbund_key: str | None,
    year: int,
    *,
    late_only: bool = False,
    insats_id: int | None = None,
    limit: int | None = paging.PAGE_SIZE,
    before: tuple[str, int] | None = None,
) -> ObligationPage:
    """`reports status`: the year's obligations, the latest due date first and then the
    highest id, `limit` of them after `before` (the (due, id) of the last one shown).

    One query a page; "late" is asked of the database (still owed, due before today),
    so a page of late ones is as long as asked. Each page is one consistent read; a due
    date moved between two pages (a meeting moved) can show its obligation on both, or
    on neither. `limit=None` reads every row in one query (the CSV export).
    """
    paging.check_limit(limit)
    with read(app) as uow:
        s = uow.session
        query = _status_query(s, app, forbund_key, year, late_only, insats_id)
        if before is not None:
            query = query.where(sa.tuple_(Obligation.due, Obligation.id) < before)
        query = query.order_by(Obligation.due.desc(), Obligation.id.desc())
        if limit is not None:
            query = query.limit(limit + 1)
        found = [obligation_dict(o, i, app.clock) for o, i in s.execute(query)]
    rows, after = paging.split(found, limit, lambda r: paging.date_cursor(r["due"], r["id"] or 0))
    return {"obligations": rows, "next": None if after is None else {"before": str(after)}}


def _status_query(
    s: Session,
    app: App,
    forbund_key: str | None,
    year: int,
    late_only: bool,
    insats_id: int | None,
) -> sa.Select[tuple[Obligation, Insats]]:
    """The year's obligations of the förbund, not cancelled (late ones, one insats's)."""
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
        if not 0 < insats_id <= MAX_ID or s.get(Insats, insats_id) is None:
            raise NotFound(f"unknown insats {insats_id}", "see 'finsam insats list'")
        query = query.where(Insats.id == insats_id)
    if late_only:
        today = local_today(app.clock).isoformat()
        query = query.where(Obligation.state.in_(OPEN), Obligation.due < today)
    return query


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
        "missing": [r for r in rows if r["state"] in OWED],
    }
