"""Reports in the browser: what a project leader and a förbundschef see and may do.

A report obligation is shown to the people of its insats (its project leader and
owner contact, `Person.projects`) and to the förbundschef of its förbund; to
anyone else it answers as if it did not exist (NotFound), so an address never
tells whether another insats or förbund has a report with that number. Board
members read the tertial overview instead (`reports.overview`), not the drafts.
Every change goes through the services the CLI uses (`obligations`), with the
person and channel "web" in the audit row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.reports import step
from workflow.core import paging
from workflow.core.app import App
from workflow.core.clock import LOCAL_TZ, local_today
from workflow.core.exceptions import NotFound, UsageError
from workflow.core.models import AuditEvent, Forbund, Insats, Meeting, Obligation
from workflow.core.uow import read
from workflow.forbund import registry as forbunds
from workflow.forbund.report_rules import ReportField
from workflow.identity.people import Person
from workflow.reports import figures as report_figures
from workflow.reports import files as store
from workflow.reports import obligations
from workflow.reports.views import ObligationView

WEB = "web"
HANDED_IN_SHOWN = 8  # of an insats's reports handed in, the latest shown on /rapporter
WAITING_SHOWN = 20  # of a förbund's reports waiting for review, a page on /rapporter
OWED_SHOWN = timedelta(days=365)  # how far back the förbundschef's late reports reach
MAX_ID = 2**63 - 1
STATE_SV = {
    "pending": "väntar",
    "submitted": "inlämnad, väntar på granskning",
    "approved": "godkänd",
    "returned": "återsänd för komplettering",
    "cancelled": "utgår",
}
ACTION_SV = {
    "create": "skapad",
    "submit": "inlämnad",
    "approve": "godkänd",
    "return": "återsänd för komplettering",
    "cancel": "utgår",
    "due": "nytt sista datum",
    "move": "flyttad",
}


def is_chef(person: Person, forbund_key: str) -> bool:
    """Whether the person is the förbundschef of the förbund (who reviews its reports)."""
    return any(
        m.forbund_key == forbund_key
        and any(role == "förbundschef" for _, role in m.actor.memberships)
        for m in person.memberships
    )


# ---------------------------------------------------------------- the project leader's page


@dataclass(frozen=True)
class InsatsReports:
    insats_id: int
    insats_name: str
    forbund_key: str
    forbund_name: str
    role: str  # "leader" or "contact"
    reports: list[ObligationView]


def mine(app: App, person: Person) -> list[InsatsReports]:
    """The person's insatser (across förbund), each with every report still owed and the
    latest HANDED_IN_SHOWN handed in (a report's page lists the earlier ones too)."""
    if not person.projects:
        return []
    with read(app) as uow:
        s = uow.session
        ids = [p.insats_id for p in person.projects]
        by_insats: dict[int, list[ObligationView]] = {i: [] for i in ids}
        query = (
            sa.select(Obligation, Insats)
            .join(Insats, Insats.id == Obligation.insats_id)
            .where(Obligation.insats_id.in_(ids), Obligation.state != "cancelled")
            .order_by(Obligation.due.desc())
        )
        for o, i in s.execute(query):
            by_insats[o.insats_id].append(obligations.obligation_dict(o, i, app.clock))
    out = []
    for p in person.projects:
        rows = by_insats[p.insats_id]
        rows.sort(key=lambda r: (r["state"] not in obligations.OPEN, _later_first(r)))
        owed = [r for r in rows if r["state"] in obligations.OPEN]
        rows = owed + [r for r in rows if r["state"] not in obligations.OPEN][:HANDED_IN_SHOWN]
        out.append(
            InsatsReports(p.insats_id, p.insats_name, p.forbund_key, p.forbund_name, p.role, rows)
        )
    return out


def _later_first(r: ObligationView) -> Any:
    due = date.fromisoformat(r["due"])
    return due.toordinal() if r["state"] in obligations.OPEN else -due.toordinal()


@dataclass(frozen=True)
class Incoming:
    """A förbund whose reports the person reviews: what waits for them, what is late."""

    forbund_key: str
    forbund_name: str
    waiting: list[ObligationView]  # submitted, to approve or return: a page, the newest first
    late: list[ObligationView]
    returned: list[ObligationView]
    older: str | None = None  # the next page of `waiting` (`DATE:ID`), None on the last
    paged: bool = False  # `waiting` is an older page (`?fore=`), not the newest


Waiting = tuple[str, tuple[str, int]]  # a förbund's key and the (due, id) of the last shown


def incoming(app: App, person: Person, older: Waiting | None = None) -> list[Incoming]:
    """For each förbund where the person is förbundschef: the reports handed in and waiting
    for review, the latest due date (then the highest id) first, WAITING_SHOWN of them (of
    the förbund `older` names, those after its (due, id)), and the reports late or returned
    that were due within OWED_SHOWN (older ones are on `reports status --year`), so the
    page does not grow with the history. A förbund the person is not chef of answers as
    one that does not exist (NotFound). One query for every förbund, however many."""
    mine_ = [m for m in person.memberships if is_chef(person, m.forbund_key)]
    if older is not None and older[0] not in {m.forbund_key for m in mine_}:
        raise NotFound(
            f"Det finns inga rapporter i förbundet {older[0][:64]!r} som du granskar.",
            "Rapporterna du granskar finns under Rapporter (/rapporter).",
        )
    if not mine_:
        return []
    since = local_today(app.clock) - OWED_SHOWN
    with read(app) as uow:
        s = uow.session
        keys = [m.forbund_key for m in mine_]
        found = s.execute(sa.select(Forbund.key, Forbund.id).where(Forbund.key.in_(keys)))
        ids = {key: id_ for key, id_ in found}
        owed = (
            sa.select(Obligation.id)
            .join(Insats, Insats.id == Obligation.insats_id)
            .where(
                Insats.forbund_id.in_(ids.values()),
                Obligation.state.in_(obligations.OPEN),
                Obligation.due >= since.isoformat(),
            )
        )
        pages = [
            _waiting_page(id_, older[1] if older is not None and older[0] == key else None)
            for key, id_ in ids.items()
        ]
        # by id, from the ids each part finds by its index: no scan of a förbund's history
        query = (
            sa.select(Obligation, Insats)
            .join(Insats, Insats.id == Obligation.insats_id)
            .where(Obligation.id.in_(sa.union_all(owed, *pages)))
            .order_by(Obligation.due.desc(), Obligation.id.desc())
        )
        rows: dict[int, list[ObligationView]] = {}
        for o, i in s.execute(query):
            rows.setdefault(i.forbund_id, []).append(obligations.obligation_dict(o, i, app.clock))
    out = []
    for m in mine_:
        found = rows.get(ids.get(m.forbund_key, -1), [])
        waiting, after = paging.split(
            [r for r in found if r["state"] == "submitted"],
            WAITING_SHOWN,
            lambda r: paging.date_cursor(r["due"], r["id"] or 0),
        )
        oldest_first = sorted(found, key=lambda r: (r["due"], r["insats_name"]))
        out.append(
            Incoming(
                m.forbund_key,
                m.forbund_name,
                waiting,
                [r for r in oldest_first if r["state"] == "pending" and r["late"]],
                [r for r in oldest_first if r["state"] == "returned"],
                None if after is None else str(after),
                older is not None and older[0] == m.forbund_key,
            )
        )
    return out


def _waiting_page(forbund_id: int, before: tuple[str, int] | None) -> sa.Select[Any]:
    """The ids of a page of a förbund's reports waiting for review, and one more (it says
    an older page exists): LIMIT in the database, so a page costs the same whatever the
    history holds."""
    query = (
        sa.select(Obligation.id)
        .join(Insats, Insats.id == Obligation.insats_id)
        .where(Insats.forbund_id == forbund_id, Obligation.state == "submitted")
    )
    if before is not None:
        query = query.where(sa.tuple_(Obligation.due, Obligation.id) < before)
    page = query.order_by(Obligation.due.desc(), Obligation.id.desc()).limit(WAITING_SHOWN + 1)
    return sa.select(page.subquery().c.id)


# ---------------------------------------------------------------- one report's page


@dataclass(frozen=True)
class FormField:
    key: str
    label: str
    type: str
    required: bool
    help: str
    value: str  # as shown in the form
    error: str | None = None


@dataclass(frozen=True)
class TrailEntry:
    at: str  # local time, "2027-04-10 14:05"
    who: str
    role: str
    what: str
    comment: str | None


@dataclass
class ReportPage:
    obligation: ObligationView
    version: int
    insats_id: int
    insats_name: str
    owner: str
    forbund_key: str
    forbund_name: str
    meeting: date | None
    budget_tkr: int | None
    viewer: str  # "project" or "chef"
    may_submit: bool
    may_decide: bool
    fields: list[FormField]
    shown: list[tuple[str, str]]  # the figures handed in, as label and text
    used: str | None  # the costs handed in against the year's budget, "412,5 av 1200 tkr (34,4 %)"
    draft_saved_at: str | None  # local time, "2027-04-10 14:05"
    draft_file: str | None
    earlier: list[ObligationView] = field(default_factory=list)
    trail: list[TrailEntry] = field(default_factory=list)


def _missing(obligation_id: int) -> NotFound:
    return NotFound(
        f"Det finns ingen rapport {obligation_id} som du kan se.",
        "Dina rapporter, och de du granskar, finns under Rapporter (/rapporter).",
    )


def _visible(s: Session, person: Person, obligation_id: int) -> tuple[Obligation, Insats, str]:
    """The obligation, its insats and the viewer's part ("project" or "chef"), or NotFound."""
    o = s.get(Obligation, obligation_id) if 0 < obligation_id <= MAX_ID else None
    insats = s.get(Insats, o.insats_id) if o is not None else None
    row = s.get(Forbund, insats.forbund_id) if insats is not None else None
    if o is None or insats is None or row is None or o.state == "cancelled":
        raise _missing(obligation_id)
    if insats.id in person.insats_ids:
        return o, insats, "project"
    if is_chef(person, row.key):
        return o, insats, "chef"
    raise _missing(obligation_id)


def visible(app: App, person: Person, obligation_id: int) -> None:
    """NotFound unless the person may see the report (before a form is even looked at)."""
    with read(app) as uow:
        _visible(uow.session, person, obligation_id)


def page(
    app: App,
    person: Person,
    obligation_id: int,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> ReportPage:
    """One report as its viewer sees it; `typed` and `errors`: a refused form shown again."""
    with read(app) as uow:
        s = uow.session
        o, insats, viewer = _visible(s, person, obligation_id)
        row = s.get(Forbund, insats.forbund_id)
        assert row is not None
        cfg = forbunds.config_of(row)
        fields = cfg.reports.fields_for(o.kind)
        meeting = s.get(Meeting, o.meeting_id) if o.meeting_id else None
        roles = frozenset({"project"} if viewer == "project" else {"förbundschef"})
        values = typed if typed is not None else _form_values(o, fields)
        result = ReportPage(
            obligation=obligations.obligation_dict(o, insats, app.clock),
            version=o.version,
            insats_id=insats.id or 0,
            insats_name=insats.name,
            owner=_owner(cfg, insats.owner),
            forbund_key=row.key,
            forbund_name=row.name,
            meeting=meeting.starts_at.astimezone(LOCAL_TZ).date() if meeting else None,
            budget_tkr=_budget(insats.budget, o.year),
            viewer=viewer,
            may_submit=step(o.state, "submit", roles).ok,
            may_decide=step(o.state, "approve", roles).ok,
            fields=[
                FormField(
                    f.key,
                    f.label,
                    f.type,
                    f.required,
                    f.help,
                    values.get(f.key, ""),
                    (errors or {}).get(f.key),
                )
                for f in fields
            ],
            shown=_shown(o.figures, fields),
            used=_used(o.figures, fields, _budget(insats.budget, o.year)),
            draft_saved_at=_local(o.draft_saved_at) if o.draft_saved_at else None,
            draft_file=o.draft_file_name,
        )
        result.earlier = [
            obligations.obligation_dict(e, insats, app.clock)
            for e in s.scalars(
                sa.select(Obligation)
                .where(
                    Obligation.insats_id == insats.id,
                    Obligation.id != o.id,
                    Obligation.state.in_(("submitted", "approved", "returned")),
                )
                .order_by(Obligation.due.desc())
                .limit(12)
            )
        ]
        result.trail = [
            TrailEntry(
                _local(e.at),
                e.actor_name or e.actor_email,
                e.actor_role,
                ACTION_SV.get(e.action, e.action),
                e.comment if e.action in ("return", "approve") else None,
            )
            for e in s.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.subject == f"obligation:{o.id}")
                .order_by(AuditEvent.seq)
            )
        ]
    return result


def _local(at: datetime) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _owner(cfg: Any, key: str) -> str:
    return next((m.name for m in cfg.members if m.key == key), key)


def _budget(budget: Any, year: int) -> int | None:
    amount = budget.get(str(year)) if isinstance(budget, dict) else None
    return amount if isinstance(amount, int) and not isinstance(amount, bool) else None


def _form_values(o: Obligation, fields: list[ReportField]) -> dict[str, str]:
    """What the form shows: the draft as typed, else the figures handed in last."""
    if isinstance(o.draft_figures, dict):
        return {k: str(v) for k, v in o.draft_figures.items()}
    given = o.figures if isinstance(o.figures, dict) else {}
    return {f.key: _as_typed(given[f.key]) for f in fields if f.key in given}


def _as_typed(value: Any) -> str:
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def _used(given: Any, fields: list[ReportField], budget: int | None) -> str | None:
    """The costs so far (the kind's first tkr figure, as the overview takes them) against
    the budget, as the förbundschef reads them."""
    key = next((f.key for f in fields if f.type == "tkr"), None)
    spent = given.get(key) if isinstance(given, dict) and key else None
    if not isinstance(spent, int | float) or isinstance(spent, bool) or not budget:
        return None
    share = f"{spent * 100 / budget:.1f}".replace(".", ",")
    return f"{_as_typed(spent)} av {budget} tkr ({share} %)"


def _shown(given: Any, fields: list[ReportField]) -> list[tuple[str, str]]:
    if not isinstance(given, dict):
        return []
    return [(f.label, _as_typed(given[f.key])) for f in fields if f.key in given]


# ---------------------------------------------------------------- acting


@dataclass(frozen=True)
class Upload:
    """A file a browser sent: open at `fd` (the caller closes it), and its name."""

    fd: int
    name: str


class FormRefused(UsageError):
    """Figures the form cannot take: each field's Swedish message, and what was typed."""

    def __init__(self, errors: dict[str, str], typed: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()), "rätta de markerade fälten och försök igen")
        self.errors, self.typed = errors, typed


@dataclass(frozen=True)
class _Files:
    """The files a report names now, read in its session: the draft's, then the last one."""

    named: tuple[tuple[str | None, int | None, str | None], ...]


def _fields(app: App, person: Person, obligation_id: int) -> tuple[list[ReportField], _Files]:
    with read(app) as uow:
        s = uow.session
        o, insats, _viewer = _visible(s, person, obligation_id)
        cfg = forbunds.config_by_id(s, insats.forbund_id)
        files = _Files(
            (
                (o.draft_file_name, o.draft_file_size, o.draft_file_sha256),
                (o.file_name, o.file_size, o.file_sha256),
            )
        )
        return cfg.reports.fields_for(o.kind), files


def save_draft(
    app: App, person: Person, obligation_id: int, typed: dict[str, str], upload: Upload | None
) -> ObligationView:
    """Keep the form as typed (and a file) without handing it in."""
    _fields(app, person, obligation_id)  # another's report is unknown, before anything
    given = (upload.fd, upload.name) if upload is not None else None
    return obligations.save_draft(app, obligation_id, person.email, typed, given)


def submit(
    app: App, person: Person, obligation_id: int, typed: dict[str, str], upload: Upload | None
) -> ObligationView:
    """Hand the report in: every figure checked (FormRefused names each one wrong), with
    the file sent now, else the draft's, else (handed in again) the one sent before."""
    fields, files = _fields(app, person, obligation_id)
    errors = report_figures.form_errors(typed, fields)
    if errors:
        raise FormRefused(errors, typed)
    given = {k: v for k, v in typed.items() if k in {f.key for f in fields}}
    if upload is not None:
        return obligations.submit_open(
            app, obligation_id, upload.fd, upload.name, person.email, given, WEB
        )
    kept = _kept_file(app, files)
    if kept is None:
        raise FormRefused(
            {"file": "Bifoga rapportfilen (PDF, Word, Excel eller OpenDocument)."}, typed
        )
    return obligations.submit_stored(app, obligation_id, person.email, given, kept, WEB)


def _kept_file(app: App, files: _Files) -> obligations.StoredFile | None:
    for name, size, sha in files.named:
        if name and sha and size is not None:
            path = store.stored_path(store.root(app.url), sha)
            if path.is_file():
                return obligations.StoredFile(name, size, sha, store.mime_of(path, name))
    return None


def decide(
    app: App, person: Person, obligation_id: int, action: str, comment: str | None
) -> ObligationView:
    """Approve, or return with a comment (the project people get it by mail)."""
    if action not in ("approve", "return"):
        raise UsageError(f"Okänt beslut {action[:20]!r}.", "Välj Godkänn eller Returnera.")
    with read(app) as uow:
        _visible(uow.session, person, obligation_id)
    return obligations.decide(app, obligation_id, action, person.email, comment, WEB)


@dataclass(frozen=True)
class ReportFile:
    path: Path
    name: str
    mime: str


def file_of(app: App, person: Person, obligation_id: int, draft: bool = False) -> ReportFile:
    """The report's file (or its draft's) for its viewer; NotFound when there is none."""
    with read(app) as uow:
        o, _insats, viewer = _visible(uow.session, person, obligation_id)
        name, sha = (
            (o.draft_file_name, o.draft_file_sha256) if draft else (o.file_name, o.file_sha256)
        )
    if draft and viewer != "project":
        raise _missing(obligation_id)
    if not name or not sha:
        raise NotFound(
            f"Rapport {obligation_id} har ingen fil ännu.", "Filen bifogas på rapportens sida."
        )
    path = store.stored_path(store.root(app.url), sha)
    if not path.is_file():
        raise NotFound(
            f"Filen till rapport {obligation_id} saknas i arkivet.",
            "Förbundschefen ser vad som saknas med 'finsam db check'.",
        )
    return ReportFile(path, name, store.mime_of(path, name))
