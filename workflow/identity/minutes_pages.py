"""The protokoll in the browser: the förbundschef records it after the meeting, its
justerare approve it or ask for a change.

Who sees what is decided here, as `meeting_pages` and `reporting` decide theirs: the
form is for whoever `[permissions] minutes` allows in the meeting's förbund, the
justering page for the justerare the minutes name; to anyone else both answer as if
the meeting did not exist (NotFound), so an address never tells whether another
förbund has a meeting with that number or who its justerare are.

What a person can get wrong on the form (a justerare not present, an ersättare
serving for someone present, no justerare) is checked here first and said in Swedish
at its field (`FormRefused`, nothing stored); what passes goes to
`protokoll.record_minutes`, `justera` and `request_change`, the services the CLI
calls, with channel "web" in the audit row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from workflow.core.app import App
from workflow.core.exceptions import FinsamError, NotFound, UsageError
from workflow.core.models import Meeting, Minutes
from workflow.core.text import LIMITS
from workflow.core.uow import read
from workflow.cycle import agenda as agenda_items
from workflow.cycle import notices, protokoll
from workflow.cycle.notices import PublishedMinutes
from workflow.cycle.papers import called, load
from workflow.cycle.views import AgendaEntry, Approval, ChangeRequest, MinutesView
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.identity.meeting_pages import MAX_ID, MeetingPapers, missing
from workflow.identity.people import Person

STATUS_WORDS = {"present": "Närvarande", "remote": "På distans", "absent": "Frånvarande"}


class FormRefused(Exception):
    """The minutes as typed and what is wrong, by field: shown again, nothing stored."""

    def __init__(self, typed: Typed, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.typed, self.errors = typed, errors


@dataclass
class Typed:
    """The form as a person filled it in: how each person called attended (by e-mail),
    whom each ersättare serves for, the justerare, and each §'s text (by item key)."""

    status: dict[str, str] = field(default_factory=dict)
    serving: dict[str, str] = field(default_factory=dict)
    justerare: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    revision: int | None = None  # the draft the form was opened on (0: none recorded)


@dataclass(frozen=True)
class Row:
    """One person called, as the form shows them."""

    index: int
    email: str
    name: str
    role: str
    member: str
    seat: str  # ledamot | ersättare | övrig
    status: str
    serving_for: str  # "" when serving for nobody
    justerare: bool


@dataclass(frozen=True)
class Signed:
    """A justerare and their approval of the current revision (None: not yet)."""

    name: str
    approval: Approval | None


@dataclass(frozen=True)
class MinutesForm:
    """The recording page: the meeting, whether it has begun, the round of justering
    so far, and the form's people and §§ (as recorded, or as typed)."""

    meeting_id: int
    forbund_key: str
    body_name: str
    day: str
    begun: bool
    cancelled: bool
    board: bool  # the body that decides: its justerare are ledamöter or ersättare serving
    writer: str  # the person at the form (who may not be the only justerare)
    recorded: MinutesView | None
    published: PublishedMinutes | None  # what is recorded, as it will be published
    people: list[Row]
    ledamoter: list[Row]
    items: list[AgendaEntry]
    signed: list[Signed]
    requests: list[ChangeRequest]
    sent_at_local: str | None

    @property
    def frozen(self) -> bool:
        return bool(self.recorded and self.recorded["approved"])


@dataclass(frozen=True)
class JusteringPage:
    """What a justerare reads: the protokoll as it will be published, the revision they
    approve, whether they have, and who is still to."""

    meeting_id: int
    forbund_key: str
    body_name: str
    day: str
    revision: int
    sent: bool
    approved: bool
    published: PublishedMinutes
    mine: Approval | None
    waiting: list[str]  # the names of the justerare still to approve this revision
    protokoll_path: str
    content_sha256: str  # of the protokoll shown: a justering is of what was read


@dataclass(frozen=True)
class Links:
    """What the meeting page offers the person: to write the protokoll, to justera it."""

    write: bool
    justera: bool


def _meeting(s: Session, meeting_id: int) -> tuple[Meeting, ForbundFile]:
    if not 0 < meeting_id <= MAX_ID:
        raise missing(meeting_id)
    try:
        return load(s, meeting_id)
    except NotFound:
        raise missing(meeting_id) from None


def _may_record(cfg: ForbundFile, person: Person) -> bool:
    """Whether `[permissions] minutes` lets the person record this förbund's minutes."""
    if cfg.forbund.key not in person.forbund_keys:
        return False
    try:
        forbunds.authorise(cfg, person.email, "minutes")
    except FinsamError:
        return False
    return True


def _local(at: str | datetime | None) -> str | None:
    return protokoll.local_time(at) if at is not None else None


def form(app: App, person: Person, meeting_id: int, typed: Typed | None = None) -> MinutesForm:
    """The recording page for someone `[permissions] minutes` allows (NotFound for anyone
    else): the people and §§ as recorded, as typed when `typed` is given, or, before any
    recording, ledamöter and officials present, ersättare absent, the standard wording."""
    with read(app) as uow:
        s = uow.session
        m, cfg = _meeting(s, meeting_id)
        if not _may_record(cfg, person):
            raise missing(meeting_id)
        row = protokoll.row_of(s, m)
        draft = row or Minutes(meeting_id=m.id or 0, recorded_at=m.starts_at, revision=0)
        view = protokoll.view_of(s, m, cfg, draft)
        begun = m.starts_at <= app.clock.now()
        cancelled, board = m.status == "cancelled", m.body == cfg.board_body()
        people = _rows(cfg, m, view if row else None, typed)
        recorded = view if row is not None else None
    texts = typed.texts if typed else {}
    items = [{**i, "text": texts.get(i["key"], i["text"])} for i in view["items"]]  # type: ignore[typeddict-item]
    return MinutesForm(
        meeting_id=meeting_id,
        forbund_key=cfg.forbund.key,
        body_name=view["meeting"]["body_name"],
        day=view["meeting"]["date"],
        begun=begun,
        cancelled=cancelled,
        board=board,
        writer=person.email.lower(),
        recorded=recorded,
        published=notices.public(recorded) if recorded else None,
        people=people,
        ledamoter=[p for p in people if p.seat == "ledamot"],
        items=items,  # type: ignore[arg-type]
        signed=[
            Signed(p["name"], p.get("approval"))
            for p in (recorded["justerare"] if recorded else [])
        ],
        requests=[
            {**r, "at": _local(r["at"]) or ""} for r in (recorded["requests"] if recorded else [])
        ],
        sent_at_local=_local(recorded["sent_at"]) if recorded else None,
    )


def _rows(cfg: ForbundFile, m: Meeting, view: MinutesView | None, typed: Typed | None) -> list[Row]:
    """Everyone the kallelse calls, with how they attend on the form."""
    recorded = {p["email"]: p for p in view["attendance"]} if view else {}
    recorded_justerare = [p["email"].lower() for p in view["justerare"]] if view else []
    chosen = set(typed.justerare if typed else recorded_justerare)
    out = []
    for index, p in enumerate(called(cfg, m)):
        email = p["email"].lower()
        seat = protokoll.seat_of(cfg, p["role"])
        before = recorded.get(email)
        if typed is not None:
            status, serving = typed.status.get(email, ""), typed.serving.get(email, "")
        elif before is not None:
            status, serving = before["status"], before["serving_for"] or ""
        else:
            status, serving = ("absent" if seat == "ersättare" else "present"), ""
        out.append(
            Row(index, email, p["name"], p["role"], p["member"], seat, status, serving,
                email in chosen)
        )  # fmt: skip
    return out


def suggested(form_: MinutesForm, ersattare: Row) -> list[Row]:
    """The ledamöter an ersättare may serve for, those of their own organisation first
    (the seat an ersättare usually takes)."""
    return sorted(form_.ledamoter, key=lambda r: (r.member != ersattare.member, r.index))


def record(app: App, person: Person, meeting_id: int, typed: Typed, *, send: bool) -> MinutesView:
    """Record the minutes as typed (and send them to the justerare when `send`), after
    checking, in Swedish at each field, what a person can get wrong; FormRefused and
    nothing stored when something is."""
    shown = form(app, person, meeting_id, typed)
    if not shown.begun:
        raise UsageError("Mötet har inte börjat ännu.", "Protokollet skrivs när mötet har hållits.")
    if shown.cancelled:
        raise UsageError(
            "Sammanträdet är inställt.", "Ett inställt sammanträde har inget protokoll."
        )
    if shown.frozen:
        raise UsageError("Protokollet är justerat och kan inte ändras.")
    errors = _check(shown, typed)
    now_at = shown.recorded["revision"] if shown.recorded else 0
    if typed.revision is not None and typed.revision != now_at:
        errors["fel"] = (
            f"Protokollet har sparats av någon annan sedan du öppnade sidan (nu utkast "
            f"{now_at}). Läs det senaste utkastet ovan; sparar du nu ersätter dina ändringar det."
        )
    if errors:
        raise FormRefused(typed, errors)
    here = [r.email for r in shown.people if typed.status[r.email] == "present"]
    remote = [r.email for r in shown.people if typed.status[r.email] == "remote"]
    serving = {e: seat for e, seat in typed.serving.items() if seat}
    return protokoll.record_minutes(
        app, meeting_id, here, typed.justerare, actor_email=person.email, remote=remote,
        serving=serving, texts=_changed(shown, typed), send=send, revision=now_at,
        channel="web",
    )  # fmt: skip


def _check(shown: MinutesForm, typed: Typed) -> dict[str, str]:
    """What is wrong with the form as typed, by field ("status-N", "serving-N",
    "justerare", "text-KEY"), in Swedish."""
    errors: dict[str, str] = {}
    people = {r.email: r for r in shown.people}
    for r in shown.people:
        if typed.status.get(r.email) not in STATUS_WORDS:
            errors[f"status-{r.index}"] = (
                f"Välj om {r.name} var närvarande, på distans eller frånvarande."
            )
    here = {e for e, s in typed.status.items() if s in ("present", "remote")}
    taken: dict[str, str] = {}
    for email, seat in typed.serving.items():
        sub = people.get(email)
        if not seat or sub is None:
            continue
        target = people.get(seat)
        key = f"serving-{sub.index}"
        if sub.seat != "ersättare" or target is None or target.seat != "ledamot":
            errors[key] = "Välj en ledamot ur listan, eller Ingen."
        elif email not in here:
            errors[key] = f"{sub.name} är frånvarande och kan inte tjänstgöra för någon."
        elif seat in here:
            errors[key] = (
                f"{sub.name} kan inte tjänstgöra för {target.name}, som är närvarande. "
                "En ersättare tjänstgör för en frånvarande ledamot."
            )
        elif seat in taken:
            errors[key] = f"{taken[seat]} tjänstgör redan för {target.name}."
        else:
            taken[seat] = sub.name
    if not typed.justerare:
        errors["justerare"] = "Välj minst en justerare bland de närvarande."
    else:
        away = [people[e].name for e in typed.justerare if e in people and e not in here]
        unknown = [e for e in typed.justerare if e not in people]
        if unknown:
            errors["justerare"] = "Välj justerarna bland de kallade."
        elif away:
            errors["justerare"] = (
                f"{agenda_items.names_joined(away)} är inte närvarande och kan inte justera "
                "protokollet. Välj justerare bland de närvarande (på plats eller på distans)."
            )
        elif shown.board and (
            cannot := [
                people[e].name
                for e in typed.justerare
                if people[e].seat == "övrig"
                or (people[e].seat == "ersättare" and not typed.serving.get(e))
            ]
        ):
            errors["justerare"] = (
                f"{agenda_items.names_joined(cannot)} kan inte justera styrelsens protokoll. "
                "En justerare är en närvarande ledamot eller en tjänstgörande ersättare."
            )
        elif set(typed.justerare) <= {shown.writer}:
            errors["justerare"] = (
                "Den som skriver protokollet kan inte ensam justera det. Välj en justerare "
                "till bland de närvarande."
            )
    keys = {i["key"] for i in shown.items}
    for key, text in typed.texts.items():
        if key not in keys:
            errors["texts"] = (
                "Föredragningslistan har ändrats sedan sidan laddades. Ladda om sidan."
            )
        elif len(text) > LIMITS["comment"]:
            errors[f"text-{key}"] = (
                f"Texten är {len(text)} tecken lång; högst {LIMITS['comment']} får plats."
            )
    return errors


def _changed(shown: MinutesForm, typed: Typed) -> dict[str, str]:
    """The texts to give the service: a text still as the form prefilled it with the
    standard wording is left out, so "Till justerare väljs …" follows the justerare
    chosen now rather than those the page was loaded with."""
    before = [s.name for s in shown.signed]
    out = {}
    for item in shown.items:
        text = typed.texts.get(item["key"])
        if text is None or text == agenda_items.standard_text(item, before):
            continue
        out[item["key"]] = text
    return out


# ---------------------------------------------------------------- the justering


def _justering_of(
    s: Session, person: Person, meeting_id: int
) -> tuple[Meeting, ForbundFile, Minutes]:
    m, cfg = _meeting(s, meeting_id)
    row = protokoll.row_of(s, m)
    if (
        row is None
        or cfg.forbund.key not in person.forbund_keys
        or person.email.lower() not in row.justerare
    ):
        raise missing(meeting_id)
    return m, cfg, row


def justering(app: App, person: Person, meeting_id: int) -> JusteringPage:
    """The justering page for a justerare of the recorded minutes; NotFound for anyone
    else (a board member not chosen, another förbund's person)."""
    with read(app) as uow:
        s = uow.session
        m, cfg, row = _justering_of(s, person, meeting_id)
        view = protokoll.view_of(s, m, cfg, row)
        revision, sent = row.revision, row.sent_at is not None
    email = person.email.lower()
    return JusteringPage(
        meeting_id=meeting_id,
        forbund_key=cfg.forbund.key,
        body_name=view["meeting"]["body_name"],
        day=view["meeting"]["date"],
        revision=revision,
        sent=sent,
        approved=view["approved"],
        published=notices.public(view),
        mine=next((p.get("approval") for p in view["justerare"] if p["email"] == email), None),
        waiting=[p["name"] for p in view["justerare"] if not p.get("approval")],
        protokoll_path=notices.protokoll_path(cfg.forbund.key, meeting_id),
        content_sha256=protokoll.content_sha256(view),
    )


def stale(page: JusteringPage, revision: int | None, read: str | None = None) -> str | None:
    """The Swedish message when the justerare acted on a draft other than the current
    one, or on the same draft whose content has changed since (a decision recorded at
    the meeting, an agenda changed); None: they read this one."""
    if read is not None and read != page.content_sha256 and revision == page.revision:
        return (
            "Protokollet har ändrats sedan du läste det (ett beslut eller en punkt på "
            "föredragningslistan). Läs det nedan igen och justera det eller begär en ändring."
        )
    if revision is None or revision == page.revision:
        return None
    return (
        f"Protokollet har ändrats sedan du läste det (du läste utkast {revision}, nu gäller "
        f"utkast {page.revision}). Läs det nya utkastet nedan och justera det eller begär "
        "en ändring."
    )


def _ready(page: JusteringPage) -> None:
    if page.approved:
        raise UsageError("Protokollet är redan justerat.")
    if not page.sent:
        raise UsageError(
            "Protokollet är inte skickat för justering ännu.",
            "Förbundschefen skickar det när utkastet är klart.",
        )


def approve(
    app: App,
    person: Person,
    page: JusteringPage,
    revision: int,
    *,
    via: str,
    signed_in_at: datetime | None,
    read_sha256: str | None = None,
) -> MinutesView:
    """The justerare approves the revision they read (`protokoll.justera`), from the page
    as they were shown it (`justering`)."""
    _ready(page)
    if page.mine is not None:
        raise UsageError("Du har redan justerat det här utkastet.")
    return protokoll.justera(
        app, page.meeting_id, person.email, revision=revision, read_sha256=read_sha256,
        via=via, signed_in_at=signed_in_at, channel="web",
    )  # fmt: skip


def ask_change(
    app: App, person: Person, page: JusteringPage, revision: int, comment: str
) -> MinutesView:
    """The justerare asks the förbundschef for a change (`protokoll.request_change`)."""
    _ready(page)
    return protokoll.request_change(
        app, page.meeting_id, person.email, comment, revision=revision, channel="web"
    )


# ---------------------------------------------------------------- the meeting page's links


def links(person: Person, papers: MeetingPapers, view: MinutesView | None) -> Links:
    """Whether the meeting page offers the person "Skriv protokollet" (may record, the
    meeting has begun, not justerat) and "Justera protokollet" (a justerare of the
    revision sent, not approved by them yet), from what the page read already."""
    approved = bool(view and view["approved"])
    email = person.email.lower()
    waits = bool(
        view
        and not approved
        and view["sent_at"]
        and any(p["email"] == email and not p.get("approval") for p in view["justerare"])
    )
    cfg = next((m.cfg for m in person.memberships if m.forbund_key == papers.forbund_key), None)
    may = cfg is not None and _may_record(cfg, person)
    begun = papers.held and not papers.cancelled
    return Links(write=begun and not approved and may, justera=waits)


def parse(form_items: Sequence[tuple[str, str]]) -> Typed:
    """The form's fields as `Typed`: status:EMAIL, serving:EMAIL, justerare, text:KEY."""
    typed = Typed()
    for name, value in form_items:
        if name.startswith("status:"):
            typed.status[name[7:].lower()] = value
        elif name.startswith("serving:"):
            typed.serving[name[8:].lower()] = value.lower()
        elif name == "justerare":
            if value.lower() not in typed.justerare:
                typed.justerare.append(value.lower())
        elif name.startswith("text:"):
            typed.texts[name[5:]] = value.replace("\r\n", "\n").strip()
        elif name == "revision" and value.isascii() and value.isdigit() and len(value) < 10:
            typed.revision = int(value)
    return typed
