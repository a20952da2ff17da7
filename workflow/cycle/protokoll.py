"""The protokoll of a meeting: recorded after it, justerat by its justerare, frozen.

The förbundschef (or whoever `[permissions] minutes` names) records who attended
and how (present, remote, absent, an ersättare serving for an absent ledamot),
the justerare, and each §'s text: the standing items come with their usual
wording (`agenda.WORDING`), a plan's § carries the decision the audit trail
holds, so the protokoll cannot say something the trail does not.

Justering is a round per revision of the draft. Sending the draft to the
justerare (`send`) mails each a personal link to it (`MinutesSentForJustering`);
each either approves it (`justera`) or asks for a change with a comment to the
förbundschef (`request_change`, `MinutesChangeRequested`). Recording the minutes
again makes a new revision: the approvals given lapse and the round starts over.
The last approval of a revision freezes the protokoll: its content's SHA-256 goes
into that audit row and onto the minutes, nothing may change it any more, and the
notice goes up on the anslagstavla (`papers.appeal_end` counts the three weeks).
Each approval records who, when, of which revision and how the justerare had
proved who they are (a mailed link, the e-legitimation provider, the CLI).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.events import MinutesApproved, MinutesChangeRequested, MinutesSentForJustering
from states.roles import Actor
from workflow.core import audit
from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ
from workflow.core.exceptions import NotAllowed, NotFound, UsageError
from workflow.core.models import AgendaItem, AuditEvent, Meeting, Minutes
from workflow.core.text import multi_line, single_line
from workflow.core.uow import UnitOfWork, read, write
from workflow.cycle import agenda as agenda_items
from workflow.cycle import placement
from workflow.cycle.meetings import audit_meeting, meeting_dict
from workflow.cycle.papers import appeal_end, called, load
from workflow.cycle.views import (
    Approval,
    Attendee,
    ChangeRequest,
    Decision,
    MinutesView,
    Quorum,
)
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile

JUSTERARE = "justerare"  # the role an approval of the minutes is made in
STATUSES = ("present", "remote", "absent")
HERE = ("present", "remote")  # attending: in the room, or remotely
# how a justerare proved who they are, as the audit row says it
SIGNED_IN = {
    "link": "signed in by a mailed link",
    "oidc": "signed in with e-legitimation",
    "cli": "on the command line",
}
VIA = tuple(SIGNED_IN)


# ---------------------------------------------------------------- reading


def row_of(s: Session, m: Meeting) -> Minutes | None:
    """The meeting's minutes, if recorded."""
    return s.scalars(sa.select(Minutes).where(Minutes.meeting_id == m.id)).first()


def outdated(row: Minutes | None, revision: int) -> str | None:
    """Why `revision` of the minutes is no longer the draft to justera (None: it is); a
    mail asking to justera it, drafted or queued, no longer goes."""
    if row is None:
        return "the minutes are gone"
    if row.approved_at is not None:
        return "the minutes are justerade"
    if revision != row.revision:
        return f"revision {revision} was replaced by revision {row.revision}"
    return None


def _recorded(s: Session, m: Meeting) -> Minutes:
    row = row_of(s, m)
    if row is None:
        raise NotFound(
            f"meeting {m.id} has no minutes yet",
            f"record them first: finsam meeting minutes {m.id} --present EMAIL ... "
            "--justerare EMAIL",
        )
    return row


def minutes(app: App, meeting_id: int) -> MinutesView:
    """The protokoll: attendance, justerare, each § with its text and what was decided
    there, the round of justering, and whether a justerat protokoll is intact."""
    with read(app) as uow:
        s = uow.session
        m, cfg = load(s, meeting_id)
        return view_of(s, m, cfg, _recorded(s, m))


def view_of(s: Session, m: Meeting, cfg: ForbundFile, row: Minutes) -> MinutesView:
    """The protokoll from its row, in the caller's session. A justerat protokoll is read
    from what it said when its last justerare approved it (`frozen`): a later change of
    the förbund file, the calendar or the agenda does not change it."""
    said = _thawed(row.frozen) if row.frozen else _as_it_stands(s, m, cfg, row)
    people = said["attendance"]
    by_email = {p["email"]: p for p in people}
    approvals = [_named(a, by_email) for a in row.approvals]
    approved_by = {a["email"]: a for a in approvals}
    view: MinutesView = {
        "forbund": said["forbund"],
        "meeting": said["meeting"],
        "date": said["date"],
        "present": [_called(p) for p in people if p["status"] in HERE],
        "justerare": [
            {**_called(by_email[e]), "approval": approved_by.get(e)}
            for e in said["justerare"]
            if e in by_email
        ],
        "approvals": approvals,
        "approved": row.approved_at is not None,
        "posted_on": date.fromisoformat(row.posted_on) if row.posted_on else None,
        "appeal_ends": date.fromisoformat(row.appeal_ends) if row.appeal_ends else None,
        "items": said["items"],
        # the förbund's own chain's head (issue 14) as it stood when the meeting ended
        "audit_head": audit.forbund_head_at(s, cfg.forbund.key, _end(m)),
        "quorum": said["quorum"],
        "attendance": people,
        "revision": row.revision,
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "requests": list(row.requests or []),
        "content_sha256": row.content_sha256,
        "intact": None,
    }
    if row.content_sha256:
        view["intact"] = content_sha256(view) == row.content_sha256
    return view


def _as_it_stands(s: Session, m: Meeting, cfg: ForbundFile, row: Minutes) -> dict[str, Any]:
    """What the protokoll says now, from the agenda, the trail and the recorded minutes.
    Minutes justerade before their texts were recorded (migration 0018) keep what they
    said then: no standard wording, and the quorum counted by the rule of decision 48."""
    before_texts = row.approved_at is not None and not row.attendance
    items = placement.agenda_of(s, m, cfg)
    offset = placement.paragraph_offset(s, m, cfg)
    decisions = _decisions(s, m)
    people = attendance_of(cfg, m, row)
    names = {p["email"]: p["name"] for p in people}
    chosen = [names[e] for e in row.justerare if e in names]
    for item in items:
        item["decision"] = decisions.get(item.get("plan")) if item["kind"] == "plan" else None
        given = item["decision"]["paragraph"] if item["decision"] else None
        item["paragraph"] = given or str(offset + item["number"])
        item["key"] = agenda_items.item_key(item)
        written = (row.texts or {}).get(item["key"])
        standard = "" if before_texts else agenda_items.standard_text(item, chosen)
        item["text"] = written if written is not None else standard
    return {
        "forbund": cfg.forbund.name,
        "meeting": meeting_dict(m, cfg),
        "date": m.starts_at.astimezone(LOCAL_TZ).date(),
        "attendance": people,
        "justerare": list(row.justerare),
        "items": items,
        "quorum": quorum(cfg, m, people, serving_unrecorded=before_texts),
    }


def snapshot(view: MinutesView) -> dict[str, Any]:
    """What a justerat protokoll keeps as it said it (JSON): the rest of its view follows
    from the justering itself."""
    return {
        "forbund": view["forbund"],
        "meeting": view["meeting"],
        "date": view["date"].isoformat(),
        "attendance": view["attendance"],
        "justerare": [p["email"] for p in view["justerare"]],
        "items": view["items"],
        "quorum": view["quorum"],
    }


def _thawed(frozen: dict[str, Any]) -> dict[str, Any]:
    return {**frozen, "date": date.fromisoformat(frozen["date"])}


def _called(p: Attendee) -> Any:
    """The shape `present` and `justerare` had before attendance was recorded."""
    return {"name": p["name"], "email": p["email"], "role": p["role"], "body": "",
            "member": p["member"]}  # fmt: skip


def _named(a: Approval, by_email: Mapping[str, Attendee]) -> Approval:
    """The approval with the justerare's name and its local time ('2027-11-25 kl. 14.03')."""
    found = by_email.get(a["email"])
    name = a.get("name") or (found["name"] if found else a["email"])
    return {**a, "name": name, "at_local": local_time(a["at"])}


def local_time(at: str | datetime) -> str:
    """An instant as the protokoll and its pages write it: '2027-11-25 kl. 14.03'."""
    instant = datetime.fromisoformat(at) if isinstance(at, str) else at
    return instant.astimezone(LOCAL_TZ).strftime("%Y-%m-%d kl. %H.%M")


def attendance_of(cfg: ForbundFile, m: Meeting, row: Minutes) -> list[Attendee]:
    """Who attended and how, as recorded (names and roles as they stood then); minutes
    recorded before attendance was (migration 0018) are read from their `present`."""
    if row.attendance:
        return [dict(a) for a in row.attendance]  # type: ignore[misc]
    here = set(row.present)
    return [
        {
            "name": p["name"],
            "email": p["email"].lower(),
            "role": p["role"],
            "member": p["member"],
            "status": "present" if p["email"].lower() in here else "absent",
            "seat": seat_of(cfg, p["role"]),
            "serving_for": None,
            "serving_for_name": None,
        }
        for p in called(cfg, m)
    ]


def seat_of(cfg: ForbundFile, role: str) -> Any:
    """'ledamot' for a role with a seat, 'ersättare' for one that serves in an absent
    ledamot's, 'övrig' for the others (the förbundschef, a secretary)."""
    if role in cfg.minutes.seats:
        return "ledamot"
    return "ersättare" if role in cfg.minutes.substitutes else "övrig"


def _end(m: Meeting) -> datetime:
    return m.starts_at + timedelta(minutes=m.duration_minutes)


def quorum(
    cfg: ForbundFile, m: Meeting, people: Sequence[Attendee], serving_unrecorded: bool = False
) -> Quorum | None:
    """Whether the meeting was beslutför: the ledamöter of its body attending (in the
    room or remotely), and the ersättare recorded serving for absent ones, against the
    förbund file's share of the seats; None for a body other than the board (the one
    that decides) or a board without seats. `serving_unrecorded`: minutes justerade
    before who served was recorded, where an ersättare present served while a seat
    was empty (decision 48)."""
    rules = cfg.minutes
    if m.body != cfg.board_body():  # the body that decides; the others prepare
        return None
    seats = {p["email"] for p in people if p["role"] in rules.seats}
    if not seats:
        return None
    here = {p["email"] for p in people if p["status"] in HERE}
    sitting = len(seats & here)
    substitutes = {p["email"] for p in people if p["role"] in rules.substitutes}
    recorded = {p["serving_for"] for p in people if p["status"] in HERE}
    serving = len(recorded & (seats - here))
    if serving_unrecorded:
        serving = min(len(substitutes & here), len(seats) - sitting)
    needed = len(seats) * rules.quorum_percent // 100 + 1  # more than the share
    return {
        "seats": len(seats),
        "present": sitting,
        "serving": serving,
        "needed": needed,
        "quorate": sitting + serving >= needed,
    }


def _decisions(s: Session, m: Meeting) -> dict[int, Decision]:
    """What the audit trail says was decided on each plan at this meeting (one statement)."""
    rows = s.execute(
        sa.select(AgendaItem.plan_id, AuditEvent)
        .join(AuditEvent, AuditEvent.seq == AgendaItem.audit_seq)
        .where(AgendaItem.meeting_id == m.id, AgendaItem.status == "handled")
    )
    return {
        plan_id: {
            "action": row.action,
            "kind": row.kind,
            "outcome": row.outcome,
            "comment": row.comment,
            "paragraph": row.paragraph,
            "revision": row.revision,
        }
        for plan_id, row in rows
    }


def content_sha256(view: MinutesView) -> str:
    """The SHA-256 of what the protokoll says: the meeting, who attended and how, the
    justerare and each § (title, text, decision), and the draft's revision; not the
    dates of its notice or the trail's head, which follow from the justering."""
    m = view["meeting"]
    content = {
        "forbund": view["forbund"],
        "meeting": [m["id"], m["body_name"], m["date"], m["time"], m["end"], m["location"]],
        "attendance": [
            [p["name"], p["role"], p["member"], p["status"], p["serving_for_name"]]
            for p in view["attendance"]
        ],
        "justerare": [p["name"] for p in view["justerare"]],
        "items": [
            [i["paragraph"], i["title"], i.get("text", ""), i.get("decision")]
            for i in view["items"]
        ],
        "revision": view["revision"],
    }
    raw = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- recording


def _emails(values: Sequence[str], option: str) -> list[str]:
    """The addresses given, each one line of an e-mail's length (they end up in messages)."""
    return [single_line(v.strip(), option, "email").lower() for v in values]


def record_minutes(
    app: App,
    meeting_id: int,
    present: Sequence[str],
    justerare: Sequence[str],
    *,
    actor_email: str | None,
    remote: Sequence[str] = (),
    serving: Mapping[str, str] | None = None,
    texts: Mapping[str, str] | None = None,
    send: bool = False,
    revision: int | None = None,
    channel: str = "cli",
) -> MinutesView:
    """Record who attended and how, the justerare and the §§' texts (`minutes`
    permission, audited); a new revision when recorded before, and then the approvals
    given lapse. `serving` maps an ersättare to the absent ledamot they serve for;
    `texts` a § (`agenda.item_key`) to its text, the standard wording where left out.
    `send` sends the draft to the justerare in the same transaction. `revision`: the
    one the writer started from (0 for none), refused when someone recorded another
    since."""
    now = app.clock.now()
    here = _emails(present, "--present")
    away = _emails(remote, "--remote")
    chosen = _emails(justerare, "--justerare")
    serves = {
        a: b
        for a, b in zip(
            _emails(list((serving or {}).keys()), "--serving"),
            _emails(list((serving or {}).values()), "--serving"),
            strict=True,
        )
    }
    written = {
        single_line(k, "--text", "key"): multi_line(v.strip(), f"the text of {k}")
        for k, v in (texts or {}).items()
    }

    def work(uow: UnitOfWork) -> None:
        s = uow.session
        m, cfg = load(s, meeting_id, lock=True)
        who, role = forbunds.authorise(cfg, actor_email, "minutes")
        if m.starts_at > now:
            raise UsageError(
                f"meeting {m.id} has not taken place yet", "minutes are recorded after the meeting"
            )
        if m.status == "cancelled":
            raise UsageError(f"meeting {m.id} was cancelled", "a cancelled meeting has no minutes")
        people = _attendance(cfg, m, here, away, serves)
        _check_justerare(cfg, m, people, chosen, who.email)
        existing = row_of(s, m)
        if revision is not None and revision != (existing.revision if existing else 0):
            raise UsageError(
                f"the minutes of meeting {m.id} were recorded again since you began (now "
                f"revision {existing.revision if existing else 0}, you began from {revision})",
                "open them again and make your changes to the latest draft",
            )
        if existing is not None and existing.approved_at is not None:
            raise NotAllowed(
                f"the minutes of meeting {m.id} are justerade", "justerade minutes do not change"
            )
        row = existing or Minutes(meeting_id=m.id, recorded_at=now)
        lapsed = [a["email"] for a in (existing.approvals if existing else [])]
        row.revision = (existing.revision + 1) if existing else 1
        row.present = [p["email"] for p in people if p["status"] in HERE]
        row.attendance = list(people)
        row.justerare = chosen
        row.texts = _texts(s, m, cfg, people, chosen, written)
        row.approvals = []
        row.sent_at = now if send else None
        row.recorded_at = now
        s.add(row)
        comment = (
            f"{'re-recorded' if existing else 'recorded'} the minutes (revision "
            f"{row.revision}): present {', '.join(row.present)}; justerare "
            f"{', '.join(row.justerare)}"
        )
        if lapsed:
            comment += f"; the approvals of {', '.join(lapsed)} lapse"
        if send:
            comment += "; sent to the justerare"
        audit_meeting(
            s, cfg, m, from_state=m.status, at=now, who=who, role=role, action="minutes",
            to_state="minutes recorded", comment=comment, channel=channel,
        )  # fmt: skip
        if send:
            s.flush()
            uow.record(MinutesSentForJustering(meeting_id=m.id or 0, revision=row.revision, at=now))

    write(app, work)
    return minutes(app, meeting_id)


def _attendance(
    cfg: ForbundFile,
    m: Meeting,
    present: list[str],
    remote: list[str],
    serving: dict[str, str],
) -> list[Attendee]:
    """Everyone the kallelse called, with how they attended; refuses an address not
    called, one given twice, and an ersättare serving for someone not an absent
    ledamot of the body, or two serving for one."""
    people = {p["email"].lower(): p for p in called(cfg, m)}
    for email in [*present, *remote, *serving, *serving.values()]:
        if email not in people:
            raise NotFound(
                f"{email} is not called to meeting {m.id}", f"called: {', '.join(sorted(people))}"
            )
    both = set(present) & set(remote)
    if both:
        raise UsageError(
            f"{', '.join(sorted(both))} given as both present and remote", "give each once"
        )
    rules = cfg.minutes
    status = {e: "present" for e in present} | {e: "remote" for e in remote}
    for sub, seat in serving.items():
        if people[sub]["role"] not in rules.substitutes:
            raise UsageError(
                f"{sub} is no ersättare and serves for nobody",
                f"ersättare are the roles {', '.join(rules.substitutes)}",
            )
        if sub not in status:
            raise UsageError(f"{sub} serves for {seat} but is not recorded as attending")
        if people[seat]["role"] not in rules.seats or seat in status:
            raise UsageError(
                f"{sub} cannot serve for {seat}", "an ersättare serves for an absent ledamot"
            )
    served = list(serving.values())
    twice = {e for e in served if served.count(e) > 1}
    if twice:
        raise UsageError(
            f"more than one ersättare serves for {', '.join(sorted(twice))}",
            "one ersättare serves in one seat",
        )
    return [
        {
            "name": p["name"],
            "email": email,
            "role": p["role"],
            "member": p["member"],
            "status": status.get(email, "absent"),  # type: ignore[typeddict-item]
            "seat": seat_of(cfg, p["role"]),
            "serving_for": serving.get(email),
            "serving_for_name": people[serving[email]]["name"] if email in serving else None,
        }
        for email, p in people.items()
    ]


def _check_justerare(
    cfg: ForbundFile, m: Meeting, people: list[Attendee], chosen: list[str], writer: str
) -> None:
    """The justerare attend; on the board (the body that decides) each is a ledamot or
    an ersättare serving; and the one who writes the minutes does not justera them
    alone."""
    if not chosen:
        raise UsageError("the minutes need at least one justerare", "give --justerare EMAIL")
    here = {p["email"]: p for p in people if p["status"] in HERE}
    if not set(chosen) <= set(here):
        raise UsageError("a justerare must be among those present", "add them to --present")
    if len(set(chosen)) != len(chosen):
        raise UsageError("a justerare is given twice", "give each justerare once")
    if m.body == cfg.board_body():
        for email in chosen:
            p = here[email]
            if p["seat"] == "övrig" or (p["seat"] == "ersättare" and not p["serving_for"]):
                raise UsageError(
                    f"{email} ({p['role']}) cannot justera the board's minutes",
                    "a justerare is a ledamot present or an ersättare serving",
                )
    if set(chosen) <= {writer.lower()}:
        raise UsageError(
            "the one who writes the minutes cannot be their only justerare",
            "choose a justerare among the others present",
        )


def _texts(
    s: Session,
    m: Meeting,
    cfg: ForbundFile,
    people: list[Attendee],
    chosen: list[str],
    written: dict[str, str],
) -> dict[str, str]:
    """The texts to keep: those given for an item on the agenda that differ from its
    standard wording (which follows the justerare when they change)."""
    items = placement.agenda_of(s, m, cfg)
    keys = {agenda_items.item_key(i): i for i in items}
    unknown = sorted(set(written) - set(keys))
    if unknown:
        raise UsageError(
            f"no item {', '.join(unknown)} on the agenda of meeting {m.id}",
            f"items: {', '.join(keys)}",
        )
    names = {p["email"]: p["name"] for p in people}
    justerare = [names[e] for e in chosen]
    return {k: v for k, v in written.items() if v != agenda_items.standard_text(keys[k], justerare)}


# ---------------------------------------------------------------- the justering


def _justerare_of(s: Session, meeting_id: int, email: str | None, option: str) -> tuple[
    Meeting, ForbundFile, Minutes, Actor, str
]:  # fmt: skip
    if not email:
        raise UsageError(
            "who approves? nobody was named",
            f"give {option} EMAIL (or set FINSAM_USER) to the e-mail of a justerare",
        )
    email = single_line(email.strip(), option, "email").lower()
    m, cfg = load(s, meeting_id, lock=True)
    row = _recorded(s, m)
    if email not in row.justerare:
        raise NotAllowed(
            f"{email} is not a justerare of meeting {m.id}",
            f"justerare: {', '.join(row.justerare)}",
        )
    if row.approved_at is not None:
        raise UsageError(f"the minutes of meeting {m.id} are justerade already")
    return m, cfg, row, forbunds.actor(cfg, email), email


def _current(row: Minutes, revision: int | None) -> None:
    """Refuse to act on a draft other than the one the justerare read."""
    if revision is not None and revision != row.revision:
        raise UsageError(
            f"the minutes have changed since you read them (revision {revision}; now "
            f"{row.revision})",
            "read the new draft and approve it or ask for a change",
        )


def justera(
    app: App,
    meeting_id: int,
    email: str | None,
    *,
    revision: int | None = None,
    read_sha256: str | None = None,
    via: str = "cli",
    signed_in_at: datetime | None = None,
    channel: str = "cli",
) -> MinutesView:
    """A justerare approves the minutes (the revision they read, when given, and its
    content's SHA-256 as they read it: a decision or an agenda changed since counts as
    a change too); with the last approval the protokoll is frozen (`snapshot`) and the
    appeal clock starts.

    Each approval is the justerare's own audit row; the last one says that the
    minutes now stand, when the appeal time ends, and the content's SHA-256.
    """
    if via not in VIA:
        raise UsageError(f"unknown way of signing in {via!r}", f"one of {', '.join(VIA)}")
    now = app.clock.now()

    def work(uow: UnitOfWork) -> None:
        s = uow.session
        m, cfg, row, who, email_ = _justerare_of(s, meeting_id, email, "--as")
        _current(row, revision)
        if read_sha256 is not None and content_sha256(view_of(s, m, cfg, row)) != read_sha256:
            raise UsageError(
                f"the minutes of meeting {m.id} have changed since you read them",
                "read them again and approve them or ask for a change",
            )
        if any(a["email"] == email_ for a in row.approvals):
            raise UsageError(f"{email_} has approved these minutes already")
        row.approvals = [
            *row.approvals,
            {
                "email": email_,
                "name": who.name,
                "at": now.isoformat(),
                "revision": row.revision,
                "via": via,
                "signed_in_at": signed_in_at.isoformat() if signed_in_at else None,
            },
        ]
        done = len({a["email"] for a in row.approvals} & set(row.justerare))
        comment = (
            f"approved the minutes, revision {row.revision} ({done} of {len(row.justerare)} "
            f"justerare; {SIGNED_IN[via]})"
        )
        to_state = "minutes approved in part"
        sha = ""
        if {a["email"] for a in row.approvals} >= set(row.justerare):
            row.approved_at = now
            approved = now.astimezone(LOCAL_TZ).date()
            posted = approved  # finsam's anslagstavla shows the notice from this moment
            ends = appeal_end(posted)
            row.posted_on = posted.isoformat()
            row.appeal_ends = ends.isoformat()
            s.add(row)
            s.flush()
            said = view_of(s, m, cfg, row)
            sha = content_sha256(said)
            row.content_sha256 = sha
            row.frozen = snapshot(said)
            to_state = "minutes approved"
            comment += (
                f"; the minutes stand and are frozen (content sha256 {sha}): notice up on "
                f"{posted.isoformat()}, the appeal time runs until {ends.isoformat()}"
            )
            # the members hear of the board's decisions once the minutes stand
            uow.record(
                MinutesApproved(meeting_id=m.id or 0, approved=approved, appeal_ends=ends, at=now)
            )
        s.add(row)
        audit_meeting(
            s, cfg, m, from_state=m.status, at=now, who=who, role=JUSTERARE, action="justera",
            to_state=to_state, comment=comment, content_sha256=sha, channel=channel,
        )  # fmt: skip

    write(app, work)
    return minutes(app, meeting_id)


def request_change(
    app: App,
    meeting_id: int,
    email: str | None,
    comment: str,
    *,
    revision: int | None = None,
    channel: str = "cli",
) -> MinutesView:
    """A justerare asks for a change of the draft: their comment goes to the
    förbundschef (`MinutesChangeRequested`), who records a new revision."""
    text = multi_line(comment.strip(), "the comment")
    if not text:
        raise UsageError("say what should change", "write a comment to the förbundschef")
    now = app.clock.now()

    def work(uow: UnitOfWork) -> None:
        s = uow.session
        m, cfg, row, who, email_ = _justerare_of(s, meeting_id, email, "--as")
        _current(row, revision)
        asked: ChangeRequest = {
            "email": email_,
            "name": who.name,
            "at": now.isoformat(),
            "comment": text,
            "revision": row.revision,
        }
        row.requests = [*(row.requests or []), asked]
        s.add(row)
        event = audit_meeting(
            s, cfg, m, from_state=m.status, at=now, who=who, role=JUSTERARE,
            action="request change", to_state="change requested", comment=text, channel=channel,
        )  # fmt: skip
        s.flush()
        uow.record(MinutesChangeRequested(meeting_id=m.id or 0, audit_seq=event.seq, at=now))

    write(app, work)
    return minutes(app, meeting_id)
