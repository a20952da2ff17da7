"""The one table of what follows from what: each domain event and the handlers that
run for it, in the transaction that recorded it, before the commit.

Services record events (`uow.record(PlanArrived(...))`) and never call another
capability's side effects; this module is the only place that wires them, so it
is the one module that may import every capability. A handler takes the event
and the unit of work, works in its session, and may hand back outcomes
(`DueMoved`) for the service to report.
"""

from __future__ import annotations

from states.events import (
    DueMoved,
    MeetingCancelled,
    MeetingMoved,
    MinutesApproved,
    MinutesChangeRequested,
    MinutesSentForJustering,
    PlanArrived,
    ReportReturned,
    ReportsOwed,
)
from workflow.core.app import Handler
from workflow.core.models import Forbund, Meeting
from workflow.core.uow import UnitOfWork
from workflow.cycle import meetings
from workflow.forbund import registry
from workflow.mail import compose, minutes_mail, report_mail
from workflow.reports import obligations


def tell_next_body(event: PlanArrived, uow: UnitOfWork) -> None:
    """The members of the body the plan arrived at hear of it: a drafted outbox row,
    rendered and queued once the move has committed."""
    s = uow.session
    row = s.get(Forbund, event.forbund_id)
    meeting = s.get(Meeting, event.meeting_id)
    assert row is not None and meeting is not None
    compose.plan_arrived(
        s,
        row,
        registry.config_of(row),
        audit_seq=event.audit_seq,
        plan_title=event.plan_title,
        revision=event.revision,
        meeting=meeting,
        body=event.body,
        comment=None,
        now=event.at,
    )
    uow.after_commit("render-drafts", lambda: compose.render_drafts(uow.app))


def move_due_dates(event: MeetingMoved, uow: UnitOfWork) -> list[DueMoved]:
    """Reports due before a moved meeting get the due date its new day implies."""
    return obligations.follow_meetings(uow.session, event.meeting_ids, event.at)


def move_reports_of_cancelled(event: MeetingCancelled, uow: UnitOfWork) -> list[DueMoved]:
    """Reports to be handled at a cancelled meeting go to the body's next meeting (as
    waiting plans do); reports whose prep meeting was cancelled get a new due date."""
    s = uow.session
    next_of: dict[int, int | None] = {}
    for m in s.scalars(meetings.by_ids(event.meeting_ids)):
        after = max(event.at, m.starts_at)
        following = meetings.next_meeting(s, m.forbund_id, m.body, after, 0)
        next_of[m.id] = following.id if following is not None else None
    moved = obligations.follow_cancelled(s, next_of, event.at)
    return moved + obligations.follow_meetings(s, event.meeting_ids, event.at)


def send_decisions(event: MinutesApproved, uow: UnitOfWork) -> None:
    """Once the minutes stand, each member's registry gets a protokollsutdrag per decision
    (drafted here, rendered and queued once the justering has committed)."""
    s = uow.session
    meeting = s.get(Meeting, event.meeting_id)
    assert meeting is not None
    cfg = registry.config_by_id(s, meeting.forbund_id)
    compose.decisions_approved(s, meeting, cfg, event.approved, event.appeal_ends, event.at)
    uow.after_commit("render-drafts", lambda: compose.render_drafts(uow.app))


def tell_project_returned(event: ReportReturned, uow: UnitOfWork) -> None:
    """The insats's project people get the förbundschef's comment and a link back."""
    report_mail.returned(uow.session, event.obligation_id, event.audit_seq, event.at)
    uow.after_commit("render-drafts", lambda: compose.render_drafts(uow.app))


def tell_project_owed(event: ReportsOwed, uow: UnitOfWork) -> None:
    """The insats's project people hear of the reports they now owe, with a link in."""
    report_mail.owed(uow.session, event.obligation_ids, event.at)
    uow.after_commit("render-drafts", lambda: compose.render_drafts(uow.app))


def send_to_justerare(event: MinutesSentForJustering, uow: UnitOfWork) -> None:
    """Each justerare of the minutes gets the draft's revision with a personal link to the
    meeting's justering page (drafted here, rendered once the recording has committed)."""
    minutes_mail.sent_for_justering(uow.session, event.meeting_id, event.revision, event.at)
    uow.after_commit("render-drafts", lambda: compose.render_drafts(uow.app))


def tell_chef_of_change(event: MinutesChangeRequested, uow: UnitOfWork) -> None:
    """The förbundschef gets the justerare's comment and a link to revise the minutes."""
    minutes_mail.change_requested(uow.session, event.meeting_id, event.audit_seq, event.at)
    uow.after_commit("render-drafts", lambda: compose.render_drafts(uow.app))


HANDLERS: dict[type, list[Handler]] = {
    PlanArrived: [tell_next_body],
    MeetingMoved: [move_due_dates],
    MeetingCancelled: [move_reports_of_cancelled],
    MinutesApproved: [send_decisions],
    MinutesSentForJustering: [send_to_justerare],
    MinutesChangeRequested: [tell_chef_of_change],
    ReportReturned: [tell_project_returned],
    ReportsOwed: [tell_project_owed],
}
