"""The shapes the cycle's services hand the CLI: meetings, their moves, agendas and papers.

They are plain dicts at runtime (`--json` prints them as they are, the templates
read the same dicts); the types name their keys. A key named `from` (a Python
keyword) is declared in the functional form, and a class over it adds the docstring.
"""

from datetime import date
from typing import Literal, NotRequired, TypedDict

from workflow.core.views import AuditHead
from workflow.reports.views import MeetingReports

# ---------------------------------------------------------------- meetings


class MeetingView(TypedDict):
    """The CLI's JSON shape for a stored meeting (`cycle show`, `cycle generate`)."""

    id: int | None
    key: str
    body: str
    body_name: str
    kind: str
    theme: str
    date: str
    time: str
    end: str
    starts_at: str
    duration_minutes: int
    location: str | None
    status: str
    sequence: int
    uid: str
    prepares: int | None
    joint_with: list[str]
    note: str
    pinned: bool


class ProposedMeeting(TypedDict):
    """The CLI's JSON shape for a meeting the rules propose (`cycle generate --dry-run`)."""

    id: None
    key: str
    body: str
    kind: str
    theme: str
    date: str
    time: str
    end: str
    location: str | None
    status: str
    sequence: int
    prepares: str | None  # the key of the meeting it prepares: none has an id yet
    joint_with: list[str]
    note: str
    pinned: bool


class DueMovedView(TypedDict):
    """The CLI's JSON shape for a report due date that followed its meeting (DueMoved's fields)."""

    obligation: int
    old_due: str
    new_due: str
    meeting: int | None


class WaitingPlan(TypedDict):
    """The CLI's JSON shape for a plan waiting on a moved meeting (it moves with it)."""

    plan: int
    meeting: int


_ReplacedPlanKeys = TypedDict(
    "_ReplacedPlanKeys",
    {"plan": int, "from": int | None, "to": int | None},
)


class ReplacedPlan(_ReplacedPlanKeys):
    """The CLI's JSON shape for a plan moved off a cancelled meeting (`to` None: none left)."""


class MeetingMoveView(TypedDict):
    """The CLI's JSON shape for `meeting move`: the meeting, its prep meetings, what followed."""

    meeting: MeetingView
    moved: list[MeetingView]
    plans: list[WaitingPlan]
    due_moved: list[DueMovedView]
    forced: bool


class MeetingCancelView(TypedDict):
    """The CLI's JSON shape for `meeting cancel`: the meeting, its prep meetings, what followed."""

    meeting: MeetingView
    cancelled: list[MeetingView]
    plans: list[ReplacedPlan]
    due_moved: list[DueMovedView]


# ---------------------------------------------------------------- agenda


class AgendaPlan(TypedDict):
    """A plan on a meeting's agenda, as the agenda is built from it."""

    id: int | None
    title: str
    revision: int
    status: str
    action: str | None
    paragraph: str | None


class ReceivedReport(TypedDict):
    """A received report on a board meeting's agenda, as the agenda is built from it."""

    id: int | None
    title: str
    state: str


class Decision(TypedDict):
    """The CLI's JSON shape for what the audit trail says was decided on a plan at a meeting."""

    action: str
    kind: str
    outcome: str | None
    comment: str | None
    paragraph: str | None
    revision: int


class AgendaMatter(TypedDict):
    """An item of the föredragningslista before it is numbered."""

    title: str
    kind: Literal["standing", "theme", "report", "plan"]
    obligation: NotRequired[int | None]  # a report's obligation
    plan: NotRequired[int | None]  # a plan's id
    action: NotRequired[str | None]  # what the body did with the plan, once handled
    overview: NotRequired[str]  # a report's: the address of its kind's overview of the year


class AgendaEntry(AgendaMatter):
    """The CLI's JSON shape for a numbered agenda item (the minutes add its decision and §)."""

    number: int
    decision: NotRequired[Decision | None]
    paragraph: NotRequired[str]
    key: NotRequired[str]  # the minutes': the item's key for its text (`agenda.item_key`)
    text: NotRequired[str]  # the minutes': the §'s text (the standard wording unless written)


# ---------------------------------------------------------------- papers


class Approval(TypedDict):
    """A justerare's approval of the minutes, as stored with them: who, when, of which
    revision of the draft, and how they had proved who they are (`via`: "link" for a
    mailed link, "oidc" for the e-legitimation provider, "cli" for the command line)."""

    email: str
    at: str
    name: NotRequired[str]
    revision: NotRequired[int]
    via: NotRequired[str]
    signed_in_at: NotRequired[str | None]  # when the session approving began (the web)
    at_local: NotRequired[str]  # `at` in Swedish time as the protokoll writes it (… kl. 14.03)


class CalledPerson(TypedDict):
    """Someone called to a meeting: in the kallelse, and the present and justerare of minutes."""

    name: str
    email: str
    role: str
    body: str
    member: str
    approval: NotRequired[Approval | None]  # a justerare's of the minutes, once given


class Attendee(TypedDict):
    """Someone called to a meeting and how they attended, as the minutes record it (the
    name, role and organisation as they stood when the minutes were recorded)."""

    name: str
    email: str
    role: str
    member: str
    status: Literal["present", "remote", "absent"]
    seat: Literal["ledamot", "ersättare", "övrig"]  # by the förbund file's `[minutes]` roles
    serving_for: str | None  # an ersättare's: the e-mail of the ledamot they serve for
    serving_for_name: str | None


class ChangeRequest(TypedDict):
    """A justerare's request for a change of the minutes, to the förbundschef."""

    email: str
    name: str
    at: str
    comment: str
    revision: int


class OverviewLink(TypedDict):
    """The overview of one report kind and year that a board meeting handles, among its
    handlingar: the page in `finsam web` the board reads the reports' figures on."""

    kind: str
    year: int
    name: str  # the kind's name, e.g. Tertialrapport 1
    url: str


class AgendaView(TypedDict):
    """The CLI's JSON shape for `meeting agenda`: the meeting, its items, its reports and
    the overviews of their kinds."""

    meeting: MeetingView
    items: list[AgendaEntry]
    reports: MeetingReports
    overviews: list[OverviewLink]


class NoticeView(TypedDict):
    """The kallelse template's context (`meeting notice`): who is called, when, the papers."""

    forbund: str
    meeting: MeetingView
    date: date
    called: list[CalledPerson]
    items: list[AgendaEntry]
    documents: list[AgendaEntry]
    overviews: list[OverviewLink]
    sender: str
    page: str  # the meeting's page in `finsam web`


class Quorum(TypedDict):
    """Whether a meeting was beslutsför, by the förbund file's `[minutes]` rule."""

    seats: int  # the body's ledamöter
    present: int  # ledamöter present
    serving: int  # ersättare present, serving for absent ledamöter
    needed: int  # the fewest who make the meeting quorate
    quorate: bool


class MinutesView(TypedDict):
    """The CLI's JSON shape for the protokoll (`meeting minutes`, `meeting justera`)."""

    forbund: str
    meeting: MeetingView
    date: date
    present: list[CalledPerson]
    justerare: list[CalledPerson]
    approvals: list[Approval]
    approved: bool
    posted_on: date | None
    appeal_ends: date | None
    items: list[AgendaEntry]
    audit_head: AuditHead  # the förbund's own audit chain's head at the meeting's end
    quorum: Quorum | None  # None for a body without seats (a body of officials)
    attendance: list[Attendee]  # everyone called, present or not
    revision: int  # the draft's: each change after the first recording counts one up
    sent_at: str | None  # when this revision went to the justerare (ISO), if it has
    requests: list[ChangeRequest]  # every change asked for, the oldest first
    content_sha256: str | None  # the justerat protokoll's content, frozen
    intact: bool | None  # the content still hashes to it (None: not justerat yet)


class Standing(TypedDict):
    """The CLI's JSON shape for when a plan's adoption stands (vinner laga kraft), if known."""

    revision: int
    meeting: NotRequired[int]
    state: Literal["unknown", "not_approved", "approved"]
    posted_on: NotRequired[str | None]
    appeal_ends: NotRequired[str | None]
    stands_on: NotRequired[str]
    note: str


# ---------------------------------------------------------------- exports


class CalendarExport(TypedDict):
    """The CLI's JSON shape for `calendar export`: the file written and what it holds."""

    path: str
    events: int
    cancelled: int
    bytes: int


class WheelExport(TypedDict):
    """The CLI's JSON shape for `cycle wheel`: the SVG written, its meetings and rings."""

    path: str
    meetings: int
    bodies: list[str]
