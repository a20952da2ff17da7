"""Sydöstra Skåne's spring 2027, as the member's meeting pages show it (the web's tests and
the browser's build it alike, through the services the CLI calls).

The year's meetings; two insatser owing their reports, Mariamottagningen's tertial 1
handed in with its PDF and Unga vuxna's still owed (both handled at the board's May
meeting); the March board meeting's minutes recorded and approved; the 2028 plan
through the presidium and the beredningsgrupp on 26 April, so it lies before the
board in May. The clock stands on 4 May 2027, the May meeting a week ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from helpers import CHAIR, CHEF, LEADER, MEMBER, add_maria, advance_to, store_plan_file

SOS = "sydostra-skane"
VICE = "lars.berg@skane.example"  # vice ordförande of the board, justerare
OFFICIAL = "ingrid.wall@forsakringskassan.example"  # tjänsteperson in the beredningsgrupp
NORA = "nora.al@ystad.example"  # leads Unga vuxna, not called to any meeting
UNGA = "Unga vuxna"
PDF = b"%PDF-1.4 Tertialrapport 1 2027, Mariamottagningen\n"
MAY_COMING = "2027-05-04T09:00"


@dataclass(frozen=True)
class Spring:
    """The ids the pages are asked about."""

    meetings: dict[str, int]  # by key: "styrelse-2027-05", "beredningsgrupp-styrelse-2027-05"
    plan: int
    maria_t1: int  # handed in, with its file
    unga_t1: int  # still owed


def spring(app: Any, clock: Any, folder: Path) -> Spring:
    """Build the story on `app` (whose FINSAM_DATA_DIR the caller has set), moving `clock`."""
    from workflow.cycle import meetings, protokoll
    from workflow.plans import services as plans
    from workflow.reports import insatser
    from workflow.reports import obligations as reports

    advance_to(clock, "2027-01-10T09:00")
    meetings.generate(app, SOS, 2027, actor_email=CHEF)
    ids = {m["key"]: int(m["id"] or 0) for m in meetings.list_meetings(app, SOS, 2027)}
    add_maria(app, SOS, budget={2027: 1200})
    insatser.add(
        *(app, SOS),
        actor_email=CHEF,
        name=UNGA,
        owner="ystad",
        start=date(2020, 1, 1),
        leader_name="Nora Al",
        leader_email=NORA,
        budget={2027: 2000},
    )
    owed = {
        (str(r["insats_name"]), str(r["kind"])): int(r["id"] or 0)
        for r in reports.generate(app, SOS, 2027, actor_email=CHEF)
    }

    advance_to(clock, "2027-03-17T10:00")  # the day after the March board meeting
    march = ids["styrelse-2027-03"]
    protokoll.record_minutes(app, march, [CHAIR, VICE, MEMBER], [VICE], actor_email=CHEF)
    advance_to(clock, "2027-03-18T10:00")
    protokoll.justera(app, march, VICE)

    advance_to(clock, "2027-04-12T09:00")
    plan = store_plan_file(app, forbund=SOS)
    plans.move(app, plan, "submit", actor_email=CHEF)
    doc = folder / "tertialrapport-1.pdf"
    doc.write_bytes(PDF)
    advance_to(clock, "2027-04-16T10:00")
    reports.submit(app, owed[("Mariamottagningen", "tertial-1")], doc, LEADER)
    advance_to(clock, "2027-04-26T11:30")
    plans.move(app, plan, "recommend-adopt", actor_email=CHAIR)
    advance_to(clock, "2027-04-26T15:00")
    plans.move(app, plan, "recommend-adopt", actor_email=CHEF)
    advance_to(clock, MAY_COMING)
    return Spring(
        meetings=ids,
        plan=plan,
        maria_t1=owed[("Mariamottagningen", "tertial-1")],
        unga_t1=owed[(UNGA, "tertial-1")],
    )
