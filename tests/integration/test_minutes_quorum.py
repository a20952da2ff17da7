"""The protokoll says whether the meeting was beslutsför, by the förbund file's `[minutes]`
rule: the ledamöter present and the ersättare recorded serving for absent ones, more
than half of the seats (an ersättare merely present serves for nobody); and the audit
head it states is the förbund's chain at the meeting's end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import CHEF, advance_to, begin_2027

from notifications.render import render
from workflow.core import audit
from workflow.cycle import meetings, protokoll

CHAIR, VICE, EVA = (
    "karin.holm@ystad.example",
    "lars.berg@skane.example",
    "eva.lind@simrishamn.example",
)
PER = "per.nilsson@ystad.example"  # ersättare
JOHAN = "johan.ek@sjobo.example"  # ledamot
OFFICIAL = "ingrid.wall@forsakringskassan.example"  # in the beredningsgrupp


@pytest.fixture
def february(app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The board's February 2027 meeting and the beredningsgrupp's before it, both held."""
    begin_2027(app, clock, tmp_path, monkeypatch)
    held = {m["key"]: m for m in meetings.list_meetings(app, None, 2027)}
    advance_to(clock, "2027-02-28T12:00")
    return held


def test_seven_seats_need_four_and_an_ersattare_serves_only_when_recorded_serving(
    app: Any, february: Any
) -> None:
    board = february["styrelse-2027-02"]["id"]
    short = protokoll.record_minutes(app, board, [CHAIR, VICE, EVA, CHEF], [VICE], actor_email=CHEF)
    assert short["quorum"] == {
        "seats": 7, "present": 3, "serving": 0, "needed": 4, "quorate": False
    }  # fmt: skip
    assert "Styrelsen var inte beslutför: 3 av 7 ledamöter närvarande; minst 4 krävs." in render(
        "minutes.md.j2", short
    )
    # present, but recorded serving for nobody: an ersättare does not fill an empty seat
    idle = protokoll.record_minutes(
        app, board, [CHAIR, VICE, EVA, PER, CHEF], [VICE], actor_email=CHEF
    )
    assert idle["quorum"] == {"seats": 7, "present": 3, "serving": 0, "needed": 4, "quorate": False}
    full = protokoll.record_minutes(
        app, board, [CHAIR, VICE, EVA, PER, CHEF], [VICE], actor_email=CHEF, serving={PER: JOHAN}
    )
    assert full["quorum"] == {"seats": 7, "present": 3, "serving": 1, "needed": 4, "quorate": True}
    html = render("minutes.html.j2", full)
    assert (
        "Styrelsen var beslutför: 3 av 7 ledamöter närvarande och 1 tjänstgörande ersättare; "
        "minst 4 krävs." in html
    )


def test_a_body_that_prepares_has_no_quorum_line(app: Any, february: Any) -> None:
    prep = february["beredningsgrupp-styrelse-2027-02"]
    recorded = protokoll.record_minutes(app, prep["id"], [OFFICIAL], [OFFICIAL], actor_email=CHEF)
    assert recorded["quorum"] is None
    assert "beslutför" not in render("minutes.md.j2", recorded)


def test_the_audit_head_is_the_chains_at_the_meetings_end(app: Any, february: Any) -> None:
    board = february["styrelse-2027-02"]
    at_the_end = audit.head_of(app, "sydostra-skane")  # nothing was written since
    recorded = protokoll.record_minutes(
        app, board["id"], [CHAIR, VICE, EVA, PER], [VICE], actor_email=CHEF
    )
    assert recorded["audit_head"] == at_the_end  # not the row the recording itself wrote
    assert audit.head_of(app, "sydostra-skane")["seq"] == at_the_end["seq"] + 1
