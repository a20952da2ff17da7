"""Insatser: the interventions a förbund funds, who runs them, and for how long."""

from __future__ import annotations

from datetime import date
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workflow.core.app import App
from workflow.core.exceptions import NotFound, UsageError
from workflow.core.models import Insats, Obligation
from workflow.core.uow import UnitOfWork, read, write
from workflow.forbund import registry as forbunds
from workflow.forbund.file import ForbundFile
from workflow.reports.obligations import obligation_dict
from workflow.reports.views import InsatsDetail, InsatsView


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


def _check_email(value: str, option: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    if not value:
        return ""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise UsageError(f"{option} {value!r} is not an e-mail address: {exc}") from None


def add(
    app: App,
    forbund_key: str | None,
    *,
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
    now = app.clock.now()
    if end is not None and end < start:
        raise UsageError(
            f"the insats ends ({end}) before it starts ({start})", "give --end on or after --start"
        )
    for year, amount in (budget or {}).items():
        if amount < 0:
            raise UsageError(f"budget {year}: {amount} is negative", "amounts are whole tkr ≥ 0")
    leader_email = _check_email(leader_email, "--leader-email")
    contact_email = _check_email(contact_email, "--contact-email")

    def work(uow: UnitOfWork) -> InsatsView:
        s = uow.session
        row = forbunds.resolve(s, forbund_key)
        cfg = forbunds.config_of(row)
        members = {m.key for m in cfg.members}
        if owner not in members:
            raise NotFound(
                f"unknown projektägare {owner!r}",
                f"the owner is a member of the förbund: {', '.join(sorted(members))}",
            )
        if s.scalars(
            sa.select(Insats).where(Insats.forbund_id == row.id, Insats.name == name)
        ).first():
            raise UsageError(
                f"{row.key} already has an insats named {name!r}", "see 'finsam insats list'"
            )
        insats = Insats(
            forbund_id=row.id,
            name=name,
            owner=owner,
            leader_name=leader_name,
            leader_email=leader_email,
            contact_name=contact_name,
            contact_email=contact_email,
            start=start.isoformat(),
            end=end.isoformat() if end else None,
            budget={str(k): v for k, v in (budget or {}).items()},
            status="active",
            sus=sus,
            source=source,
            created_at=now,
            updated_at=now,
        )
        s.add(insats)
        s.flush()  # the id, for the answer
        return insats_dict(insats, cfg)

    return write(app, work)


def _get(s: Session, insats_id: int) -> Insats:
    i = s.get(Insats, insats_id)
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


def show(app: App, insats_id: int) -> InsatsDetail:

    with read(app) as uow:
        s = uow.session
        i = _get(s, insats_id)
        # the obligations are added below
        data = cast(InsatsDetail, insats_dict(i, cfg_of(s, i)))
        data["obligations"] = [
            obligation_dict(o, i, app.clock)
            for o in s.scalars(
                sa.select(Obligation)
                .where(Obligation.insats_id == i.id)
                .order_by(Obligation.due, Obligation.id)
            )
        ]
        return data
