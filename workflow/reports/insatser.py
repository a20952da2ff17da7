"""Insatser: the interventions a förbund funds, who runs them, and for how long.

Adding, editing and ending an insats is a change to a register the kansli
keeps: the person acting needs the förbund file's `[permissions] insatser`
(the förbundschef by default), and each change is an audit row with subject
`insats:ID` naming them, the role they acted in and what changed. Names and
contacts are single lines (they end up in mail headers); e-mail addresses are
checked; dates lie between 1900 and 2100.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from states.roles import Actor
from workflow.core import audit
from workflow.core.app import App
from workflow.core.exceptions import NotFound, UsageError
from workflow.core.models import Forbund, Insats, Obligation
from workflow.core.text import single_line
from workflow.core.uow import UnitOfWork, read, write
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.reports.obligations import MAX_ID, follow_period, obligation_dict
from workflow.reports.views import InsatsDetail, InsatsEdited, InsatsView

YEARS = range(1900, 2101)  # an insats's days and budget years
MAX_TKR = 1_000_000_000  # a budget line, in whole tkr

# a field's name as the caller knows it: "leader_name" -> "--leader-name"
Label = Callable[[str], str]


def option(name: str) -> str:
    """The CLI option of a field: the default label of what is refused."""
    return "--" + name.replace("_", "-")


@dataclass(frozen=True)
class NewInsats:
    """An insats to add, as given (checked by `add_many`)."""

    name: str
    owner: str
    start: date
    end: date | None = None
    leader_name: str = ""
    leader_email: str = ""
    contact_name: str = ""
    contact_email: str = ""
    budget: dict[int, int] = field(default_factory=dict)
    sus: bool = False
    source: str = ""


@dataclass(frozen=True)
class InsatsChanges:
    """What `insats edit` changes; None leaves a field as it is. `no_end` removes a
    planned end; a budget year given as None is removed."""

    name: str | None = None
    owner: str | None = None
    start: date | None = None
    end: date | None = None
    no_end: bool = False
    leader_name: str | None = None
    leader_email: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    budget: dict[int, int | None] | None = None
    sus: bool | None = None

    def empty(self) -> bool:
        return self == InsatsChanges()


def insats_dict(i: Insats, cfg: ForbundFile | None = None) -> InsatsView:
    members = {m.key: m.name for m in cfg.members} if cfg else {}
    return {
        "id": i.id,
        "name": i.name,
        "owner": i.owner,
        "owner_name": members.get(i.owner, i.owner),
        "leader_name": i.leader_name,
        "leader_email": i.leader_email,
        "contact_name": i.contact_name,
        "contact_email": i.contact_email,
        "start": i.start,
        "end": i.end,
        "budget": {str(k): v for k, v in i.budget.items()},
        "status": i.status,
        "sus": i.sus,
        "source": i.source,
    }


# ---------------------------------------------------------------- checking what is given


def _check_email(value: str, label: str) -> str:
    # start-up: the validator loads only when an address is checked
    from email_validator import EmailNotValidError, validate_email

    value = single_line(value, label, "email").strip()
    if not value:
        return ""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise UsageError(
            f"{label} {value!r} is not an e-mail address: {exc}",
            f"give an address like name@example.se, or {label} '' for none",
        ) from None


def _name(value: str, label: str) -> str:
    value = single_line(value, label, "name").strip()
    if not value:
        raise UsageError(f"{label} is empty", "an insats needs a name of visible text")
    return value


def _day(value: date, label: str) -> date:
    if value.year not in YEARS:
        raise UsageError(
            f"{label} {value.isoformat()} is out of range",
            f"give a day from {YEARS[0]}-01-01 to {YEARS[-1]}-12-31",
        )
    return value


def _period(start: date, end: date | None, label: Label) -> None:
    _day(start, label("start"))
    if end is not None:
        _day(end, label("end"))
        if end < start:
            raise UsageError(
                f"the insats ends ({end}) before it starts ({start})",
                f"give {label('end')} on or after {label('start')}",
            )


def _budget_line(year: int, amount: int | None, label: str) -> None:
    if year not in YEARS:
        raise UsageError(
            f"{label} {year}: the year is out of range", f"give years {YEARS[0]}–{YEARS[-1]}"
        )
    if amount is not None and not 0 <= amount <= MAX_TKR:
        raise UsageError(
            f"{label} {year}: {amount} is out of range", f"amounts are whole tkr, 0–{MAX_TKR}"
        )


def _checked(n: NewInsats, label: Label) -> NewInsats:
    """`n` with its text checked and trimmed and its e-mail addresses normalised."""
    _period(n.start, n.end, label)
    for year, amount in n.budget.items():
        _budget_line(year, amount, label("budget"))
    return replace(
        n,
        name=_name(n.name, label("name")),
        owner=single_line(n.owner, label("owner"), "key").strip(),
        leader_name=single_line(n.leader_name, label("leader_name"), "name").strip(),
        contact_name=single_line(n.contact_name, label("contact_name"), "name").strip(),
        leader_email=_check_email(n.leader_email, label("leader_email")),
        contact_email=_check_email(n.contact_email, label("contact_email")),
        source=single_line(n.source, label("source"), "line"),
    )


def _member(cfg: ForbundFile, owner: str) -> str:
    members = {m.key for m in cfg.members}
    if owner not in members:
        raise NotFound(
            f"unknown projektägare {owner!r}",
            f"the owner is a member of the förbund: {', '.join(sorted(members))}",
        )
    return owner


def _unique_name(s: Session, forbund: Forbund, name: str, other_than: int | None = None) -> None:
    query = sa.select(Insats.id).where(Insats.forbund_id == forbund.id, Insats.name == name)
    if other_than is not None:
        query = query.where(Insats.id != other_than)
    if s.scalars(query).first() is not None:
        raise UsageError(
            f"{forbund.key} already has an insats named {name!r}", "see 'finsam insats list'"
        )


# ---------------------------------------------------------------- adding


def add(
    app: App,
    forbund_key: str | None,
    *,
    actor_email: str | None,
    name: str,
    owner: str,
    start: date,
    end: date | None = None,
    leader_name: str = "",
    leader_email: str = "",
    contact_name: str = "",
    contact_email: str = "",
    budget: dict[int, int] | None = None,
    sus: bool = False,
    source: str = "",
) -> InsatsView:
    """Add one insats (`insats add`), audited as the person named by `actor_email`."""
    new = NewInsats(
        name=name,
        owner=owner,
        start=start,
        end=end,
        leader_name=leader_name,
        leader_email=leader_email,
        contact_name=contact_name,
        contact_email=contact_email,
        budget=dict(budget or {}),
        sus=sus,
        source=source,
    )
    return add_many(app, forbund_key, [new], actor_email=actor_email)[0]


def add_many(
    app: App,
    forbund_key: str | None,
    new: list[NewInsats],
    *,
    actor_email: str | None,
    label: Label = option,
) -> list[InsatsView]:
    """Add insatser in one transaction: all of them, or (refused) none.

    `label` names a field in a refusal (`--leader-name` on the command line,
    the plan file's field for a plan's decided insatser).
    """
    now = app.clock.now()
    checked = [_checked(n, label) for n in new]

    def work(uow: UnitOfWork) -> list[InsatsView]:
        s = uow.session
        row = forbunds.resolve(s, forbund_key)
        cfg = forbunds.config_of(row)
        who, role = forbunds.authorise(cfg, actor_email, "insatser")
        return [_insert(s, row, cfg, who, role, n, now) for n in checked]

    return write(app, work)


def _insert(
    s: Session, row: Forbund, cfg: ForbundFile, who: Actor, role: str, n: NewInsats, now: datetime
) -> InsatsView:
    _member(cfg, n.owner)
    _unique_name(s, row, n.name)
    insats = Insats(
        forbund_id=row.id,
        name=n.name,
        owner=n.owner,
        leader_name=n.leader_name,
        leader_email=n.leader_email,
        contact_name=n.contact_name,
        contact_email=n.contact_email,
        start=n.start.isoformat(),
        end=n.end.isoformat() if n.end else None,
        budget={str(k): v for k, v in sorted(n.budget.items())},
        status="active",
        sus=n.sus,
        source=n.source,
        created_at=now,
        updated_at=now,
    )
    s.add(insats)
    s.flush()  # the id, for the audit row and the answer
    facts = [
        f"owner {n.owner}",
        f"period {insats.start} – {insats.end or ''}",
        f"leader {_shown(n.leader_name)} {_shown(n.leader_email)}",
        f"contact {_shown(n.contact_name)} {_shown(n.contact_email)}",
        "budget " + (", ".join(f"{y}: {a} tkr" for y, a in insats.budget.items()) or "(none)"),
        f"SUS {'yes' if n.sus else 'no'}",
    ]
    if n.source:
        facts.append(f"from {n.source}")
    audit.change(
        s,
        at=now,
        forbund_key=row.key,
        subject=f"insats:{insats.id}",
        action="add",
        actor=who,
        role=role,
        to_state="active",
        comment=f"added {n.name!r}: " + "; ".join(facts),
    )
    return insats_dict(insats, cfg)


def _shown(value: str | None) -> str:
    return value if value else "(none)"


# ---------------------------------------------------------------- editing


def _checked_changes(c: InsatsChanges) -> InsatsChanges:
    if c.end is not None and c.no_end:
        raise UsageError("--end and --no-end contradict each other", "give one of them")
    if c.start is not None:
        _day(c.start, "--start")
    if c.end is not None:
        _day(c.end, "--end")
    for year, amount in (c.budget or {}).items():
        _budget_line(year, amount, "--budget")

    def text(value: str | None, name: str) -> str | None:
        return None if value is None else single_line(value, option(name), "name").strip()

    def email(value: str | None, name: str) -> str | None:
        return None if value is None else _check_email(value, option(name))

    return replace(
        c,
        name=None if c.name is None else _name(c.name, "--name"),
        owner=None if c.owner is None else single_line(c.owner, "--owner", "key").strip(),
        leader_name=text(c.leader_name, "leader_name"),
        contact_name=text(c.contact_name, "contact_name"),
        leader_email=email(c.leader_email, "leader_email"),
        contact_email=email(c.contact_email, "contact_email"),
    )


# the fields edited as they are, and how the audit trail names them
_PLAIN = (
    ("name", "name"),
    ("owner", "owner"),
    ("leader_name", "leader name"),
    ("leader_email", "leader e-mail"),
    ("contact_name", "contact name"),
    ("contact_email", "contact e-mail"),
)


def edit(
    app: App, insats_id: int, changes: InsatsChanges, *, actor_email: str | None
) -> InsatsEdited:
    """Correct an insats (`insats edit`): name, owner, period, contacts, budget, SUS.

    Each field that changes is one audit row (`leader e-mail: a@x → b@x`). A new
    period carries the insats's reports along (see `obligations.follow_period`):
    pending ones follow, ones handed in refuse a change that would alter them.
    """
    if changes.empty():
        raise UsageError(
            "nothing to change",
            "give what to change: --name, --owner, --start, --end/--no-end, --leader-name, "
            "--leader-email, --contact-name, --contact-email, --budget YEAR=TKR, --sus/--no-sus",
        )
    c = _checked_changes(changes)
    now = app.clock.now()

    def work(uow: UnitOfWork) -> InsatsEdited:
        s = uow.session
        insats = _get(s, insats_id, lock=True)
        row = s.get(Forbund, insats.forbund_id)
        assert row is not None
        cfg = forbunds.config_of(row)
        who, role = forbunds.authorise(cfg, actor_email, "insatser")
        said = _apply(s, row, cfg, insats, c)
        if not said:
            return _detail(s, app, insats, cfg, [])
        insats.updated_at = now
        s.add(insats)
        for words in said:
            audit.change(
                s,
                at=now,
                forbund_key=row.key,
                subject=f"insats:{insats.id}",
                action="edit",
                actor=who,
                role=role,
                from_state=insats.status,
                to_state=insats.status,
                comment=words,
            )
        if c.start is not None or c.end is not None or c.no_end:
            why = f"insats {insats.id}'s period is now {insats.start} – {insats.end or ''}"
            for done, o in follow_period(s, insats, cfg, now, (who.email, who.name, role), why):
                said.append(f"report {o.id} ({o.name} {o.year}): {_FOLLOWED[done](o)}")
        s.flush()
        return _detail(s, app, insats, cfg, said)

    return write(app, work)


# what a changed period did to a report, in words
_FOLLOWED: dict[str, Callable[[Obligation], str]] = {
    "create": lambda o: f"now owed, {o.period_start}–{o.period_end}, due {o.due}",
    "reopen": lambda o: f"owed again, {o.period_start}–{o.period_end}, due {o.due}",
    "period": lambda o: f"now covers {o.period_start}–{o.period_end}, due {o.due}",
    "cancel": lambda o: "no longer owed",
}


def _apply(
    s: Session, row: Forbund, cfg: ForbundFile, insats: Insats, c: InsatsChanges
) -> list[str]:
    """Set what changes on `insats`; each change in words, before → after."""
    said = []
    if c.name is not None and c.name != insats.name:
        _unique_name(s, row, c.name, other_than=insats.id)
    if c.owner is not None:
        _member(cfg, c.owner)
    for attr, words in _PLAIN:
        new = getattr(c, attr)
        old = getattr(insats, attr)
        if new is not None and new != old:
            setattr(insats, attr, new)
            said.append(f"{words}: {_shown(old)} → {_shown(new)}")
    said += _apply_period(insats, c)
    if c.budget:
        budget = dict(insats.budget)
        for year, amount in sorted(c.budget.items()):
            old = budget.get(str(year))
            if amount is None:
                budget.pop(str(year), None)
            else:
                budget[str(year)] = amount
            if old != amount:
                said.append(f"budget {year}: {_tkr(old)} → {_tkr(amount)}")
        insats.budget = dict(sorted(budget.items()))
    if c.sus is not None and c.sus != insats.sus:
        said.append(f"SUS: {'yes' if insats.sus else 'no'} → {'yes' if c.sus else 'no'}")
        insats.sus = c.sus
    return said


def _apply_period(insats: Insats, c: InsatsChanges) -> list[str]:
    start = c.start or date.fromisoformat(insats.start)
    end = c.end or (None if c.no_end or not insats.end else date.fromisoformat(insats.end))
    if end is None and insats.status == "ended":
        raise UsageError(
            f"insats {insats.id} has ended ({insats.end}): its last day cannot be removed",
            "correct it with --end YYYY-MM-DD",
        )
    _period(start, end, option)
    said = []
    if start.isoformat() != insats.start:
        said.append(f"start: {insats.start} → {start.isoformat()}")
        insats.start = start.isoformat()
    new_end = end.isoformat() if end else None
    if new_end != insats.end:
        said.append(f"end: {_shown(insats.end)} → {_shown(new_end)}")
        insats.end = new_end
    return said


def _tkr(amount: int | None) -> str:
    return "(none)" if amount is None else f"{amount} tkr"


def _detail(
    s: Session, app: App, insats: Insats, cfg: ForbundFile, said: list[str]
) -> InsatsEdited:
    data = cast(InsatsEdited, _with_obligations(s, app, insats, cfg))
    data["changed"] = said
    return data


# ---------------------------------------------------------------- reading


def _get(s: Session, insats_id: int, *, lock: bool = False) -> Insats:
    i = s.get(Insats, insats_id, with_for_update=lock) if 0 < insats_id <= MAX_ID else None
    if i is None:
        raise NotFound(f"unknown insats {insats_id}", "see 'finsam insats list'")
    return i


def cfg_of(s: Session, i: Insats) -> ForbundFile:
    return forbunds.config_by_id(s, i.forbund_id)


def list_insatser(app: App, forbund_key: str | None) -> list[InsatsView]:
    with read(app) as uow:
        s = uow.session
        row = forbunds.resolve(s, forbund_key)
        cfg = forbunds.config_of(row)
        rows = s.scalars(sa.select(Insats).where(Insats.forbund_id == row.id).order_by(Insats.id))
        return [insats_dict(i, cfg) for i in rows]


def _with_obligations(s: Session, app: App, i: Insats, cfg: ForbundFile) -> InsatsDetail:
    # the obligations are added below
    data = cast(InsatsDetail, insats_dict(i, cfg))
    data["obligations"] = [
        obligation_dict(o, i, app.clock)
        for o in s.scalars(
            sa.select(Obligation)
            .where(Obligation.insats_id == i.id)
            .order_by(Obligation.due, Obligation.id)
        )
    ]
    return data


def show(app: App, insats_id: int) -> InsatsDetail:
    with read(app) as uow:
        s = uow.session
        i = _get(s, insats_id)
        return _with_obligations(s, app, i, cfg_of(s, i))
