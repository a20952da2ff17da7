"""The protokoll service (`workflow.cycle.protokoll`): the §§' wording, attendance and
ersättare serving, revisions whose approvals lapse, the justering that freezes the
protokoll, and a justerare's request for a change; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import CHEF, advance_to, begin_2027, dump

from notifications.render import render
from workflow.core.exceptions import NotAllowed, UsageError
from workflow.core.models import AuditEvent, Minutes
from workflow.core.uow import UnitOfWork, read
from workflow.cycle import meetings, protokoll

CHAIR, VICE, EVA, JOHAN = (
    "karin.holm@ystad.example",
    "lars.berg@skane.example",
    "eva.lind@simrishamn.example",
    "johan.ek@sjobo.example",
)
PER, ULLA = "per.nilsson@ystad.example", "ulla.strom@skane.example"  # ersättare
OPEN, JUSTERARE, AGENDA, OTHER = (
    "standing-motets-oppnande",
    "standing-val-av-justerare",
    "standing-godkannande-av-dagordningen",
    "standing-ovriga-fragor",
)


@pytest.fixture
def board(app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """The id of the board's February 2027 meeting, held (the clock after it)."""
    begin_2027(app, clock, tmp_path, monkeypatch)
    held = {m["key"]: m for m in meetings.list_meetings(app, None, 2027)}
    advance_to(clock, "2027-02-28T12:00")
    return int(held["styrelse-2027-02"]["id"])


def record(app: Any, board: int, **kw: Any) -> Any:
    """The board's minutes with most of it present and Lars Berg and Eva Lind justerare."""
    here = kw.pop("present", [CHAIR, VICE, EVA, CHEF])
    chosen = kw.pop("justerare", [VICE, EVA])
    return protokoll.record_minutes(app, board, here, chosen, actor_email=CHEF, **kw)


def texts(view: Any) -> dict[str, str]:
    return {i["key"]: i["text"] for i in view["items"]}


def stored(app: Any, board: int) -> Minutes:
    with read(app) as uow:
        row = uow.session.scalars(sa.select(Minutes).where(Minutes.meeting_id == board)).one()
        uow.session.expunge(row)
        return row


def trail(app: Any, board: int) -> list[AuditEvent]:
    """The meeting's audit rows, the oldest first."""
    with read(app) as uow:
        rows = uow.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.subject == f"meeting:{board}")
            .order_by(AuditEvent.seq)
        ).all()
        for r in rows:
            uow.session.expunge(r)
        return list(rows)


# ---------------------------------------------------------------- the §§' texts


def test_standing_items_have_their_wording_and_a_written_text_is_kept(app: Any, board: int) -> None:
    first = record(app, board)
    assert texts(first)[OPEN] == "Ordföranden förklarar mötet öppnat."
    assert texts(first)[JUSTERARE] == "Till justerare väljs Lars Berg och Eva Lind."
    assert texts(first)[AGENDA] == "Dagordningen godkänns."
    assert [i["paragraph"] for i in first["items"]][:2] == ["1", "2"]  # numbered in order
    written = "Eva Lind informerar om sommarens feriearbeten."
    second = record(
        app,
        board,
        texts={OTHER: written, JUSTERARE: "Till justerare väljs Lars Berg och Eva Lind."},
    )
    assert texts(second)[OTHER] == written
    assert stored(app, board).texts == {OTHER: written}  # the standard wording not stored
    # so the justerare's names follow when the justerare change
    third = record(app, board, justerare=[CHAIR], texts={OTHER: written})
    assert texts(third)[JUSTERARE] == "Till justerare väljs Karin Holm."
    assert texts(third)[OTHER] == written


def test_a_text_for_an_item_not_on_the_agenda_is_refused(app: Any, board: int) -> None:
    before = dump(app.url)
    with pytest.raises(UsageError, match="no item nonsense on the agenda"):
        record(app, board, texts={"nonsense": "Text."})
    assert dump(app.url) == before


# ---------------------------------------------------------------- attendance and quorum


def test_remote_attendance_counts_for_the_quorum(app: Any, board: int) -> None:
    view = record(app, board, present=[CHAIR, VICE, CHEF], remote=[EVA, JOHAN])
    assert view["quorum"] == {"seats": 7, "present": 4, "serving": 0, "needed": 4, "quorate": True}
    status = {p["email"]: p["status"] for p in view["attendance"]}
    assert (status[EVA], status[CHAIR], status[PER]) == ("remote", "present", "absent")
    assert {p["email"] for p in view["present"]} == {CHAIR, VICE, CHEF, EVA, JOHAN}


def test_an_ersattare_counts_when_serving_for_an_absent_ledamot(app: Any, board: int) -> None:
    view = record(app, board, present=[CHAIR, VICE, EVA, PER, CHEF], serving={PER: JOHAN})
    assert view["quorum"] == {"seats": 7, "present": 3, "serving": 1, "needed": 4, "quorate": True}
    per = next(p for p in view["attendance"] if p["email"] == PER)
    assert (per["seat"], per["serving_for"], per["serving_for_name"]) == (
        "ersättare",
        JOHAN,
        "Johan Ek",
    )


SERVING_REFUSED = [
    ({PER: EVA}, [PER], f"{PER} cannot serve for {EVA}"),  # Eva Lind is present
    ({CHEF: JOHAN}, [], f"{CHEF} is no ersättare"),
    ({PER: JOHAN, ULLA: JOHAN}, [PER, ULLA], f"more than one ersättare serves for {JOHAN}"),
    ({PER: JOHAN}, [], f"{PER} serves for {JOHAN} but is not recorded as attending"),
]


@pytest.mark.parametrize(
    ("serving", "also", "message"),
    SERVING_REFUSED,
    ids=["for-a-present-ledamot", "not-an-ersattare", "two-for-one-seat", "not-attending"],
)
def test_serving_that_cannot_be_is_refused(
    app: Any, board: int, serving: dict[str, str], also: list[str], message: str
) -> None:
    record(app, board)
    before = dump(app.url)
    with pytest.raises(UsageError, match=message):
        record(app, board, present=[CHAIR, VICE, EVA, CHEF, *also], serving=serving)
    assert dump(app.url) == before


# ---------------------------------------------------------------- revisions and justering


def test_recording_again_makes_a_revision_and_the_approvals_lapse(app: Any, board: int) -> None:
    assert record(app, board)["revision"] == 1
    partly = protokoll.justera(app, board, VICE, revision=1)
    assert [(a["email"], a["revision"], a["via"]) for a in partly["approvals"]] == [
        (VICE, 1, "cli")
    ]
    again = record(app, board, present=[CHAIR, VICE, EVA, JOHAN, CHEF])
    assert (again["revision"], again["approvals"], again["approved"]) == (2, [], False)
    assert trail(app, board)[-1].comment.endswith(f"the approvals of {VICE} lapse")
    before = dump(app.url)
    with pytest.raises(UsageError, match=r"changed since you read them \(revision 1; now 2\)"):
        protokoll.justera(app, board, EVA, revision=1)
    with pytest.raises(UsageError, match="changed since"):
        protokoll.request_change(app, board, EVA, "Fel namn.", revision=1)
    assert dump(app.url) == before


def test_the_last_approval_freezes_the_protokoll(app: Any, board: int) -> None:
    record(app, board, texts={OTHER: "Inga övriga frågor."}, send=True)
    assert stored(app, board).sent_at is not None
    protokoll.justera(app, board, VICE, revision=1)
    assert protokoll.minutes(app, board)["content_sha256"] is None
    done = protokoll.justera(app, board, EVA, revision=1, via="oidc")
    assert done["approved"] and done["intact"] is True
    last = trail(app, board)[-1]
    assert (last.action, last.actor_role, last.actor_email) == ("justera", "justerare", EVA)
    assert done["content_sha256"] == last.content_sha256 == protokoll.content_sha256(done)
    assert len(done["content_sha256"]) == 64
    before = dump(app.url)
    with pytest.raises(NotAllowed, match="are justerade"):
        record(app, board)
    with pytest.raises(UsageError, match="justerade already"):
        protokoll.request_change(app, board, VICE, "Ett stavfel.")
    assert dump(app.url) == before
    # the justerat protokoll says what it said then, whatever changes after it; the hash
    # is of that: a change behind finsam's back shows
    with UnitOfWork(app) as uow:
        row = uow.session.scalars(sa.select(Minutes).where(Minutes.meeting_id == board)).one()
        row.texts = {OTHER: "Något annat."}
        uow.commit()
    assert protokoll.minutes(app, board) == done
    with UnitOfWork(app) as uow:
        row = uow.session.scalars(sa.select(Minutes).where(Minutes.meeting_id == board)).one()
        said = dict(row.frozen or {})
        said["items"] = [{**i, "text": "Något annat."} for i in said["items"]]
        row.frozen = said
        uow.commit()
    assert protokoll.minutes(app, board)["intact"] is False


def test_a_justerare_asks_for_a_change(app: Any, board: int) -> None:
    record(app, board)
    view = protokoll.request_change(app, board, EVA, "Johan Ek anmälde förhinder.", revision=1)
    assert [(r["email"], r["name"], r["comment"], r["revision"]) for r in view["requests"]] == [
        (EVA, "Eva Lind", "Johan Ek anmälde förhinder.", 1)
    ]
    row = trail(app, board)[-1]
    assert (row.action, row.actor_role, row.actor_email, row.comment) == (
        "request change",
        "justerare",
        EVA,
        "Johan Ek anmälde förhinder.",
    )
    before = dump(app.url)
    with pytest.raises(NotAllowed, match=f"{CHEF} is not a justerare"):
        protokoll.request_change(app, board, CHEF, "Jag vill ändra.")
    with pytest.raises(UsageError, match="say what should change"):
        protokoll.request_change(app, board, EVA, "   ")
    assert dump(app.url) == before


# ---------------------------------------------------------------- minutes from before


def test_minutes_recorded_with_present_only_still_render(app: Any, board: int) -> None:
    with UnitOfWork(app) as uow:  # as minutes recorded before migration 0018 are stored
        uow.session.add(
            Minutes(
                meeting_id=board,
                recorded_at=app.clock.now(),
                present=[CHAIR, VICE, EVA, CHEF],
                justerare=[VICE],
            )
        )
        uow.commit()
    view = protokoll.minutes(app, board)
    status = {p["email"]: p["status"] for p in view["attendance"]}
    assert (status[EVA], status[JOHAN]) == ("present", "absent")
    assert view["quorum"]["present"] == 3 and view["revision"] == 1
    assert texts(view)[JUSTERARE] == "Till justerare väljs Lars Berg."
    md = render("minutes.md.j2", view)
    assert "Till justerare väljs Lars Berg." in md and "Eva Lind" in md
    assert "Lars Berg" in render("minutes.html.j2", view)


# ---------------------------------------------------------------- what cannot be


def test_the_boards_justerare_are_ledamoter_or_ersattare_serving(app: Any, board: int) -> None:
    before = dump(app.url)
    with pytest.raises(UsageError, match=r"\(förbundschef\) cannot justera the board's minutes"):
        record(app, board, justerare=[CHEF, VICE])
    with pytest.raises(UsageError, match=r"\(ersättare\) cannot justera"):
        record(app, board, present=[CHAIR, VICE, EVA, PER], justerare=[PER])
    assert dump(app.url) == before
    # an ersättare serving for an absent ledamot may
    seated = record(
        app, board, present=[CHAIR, VICE, EVA, PER, CHEF], justerare=[PER], serving={PER: JOHAN}
    )
    assert [p["name"] for p in seated["justerare"]] == ["Per Nilsson"]


def test_a_draft_changed_since_it_was_opened_or_read_is_not_overwritten_or_approved(
    app: Any, board: int, clock: Any
) -> None:
    first = record(app, board, send=True)
    read_then = protokoll.content_sha256(first)
    record(app, board, revision=1, texts={OTHER: "En fråga om lokalerna."})
    before = dump(app.url)
    with pytest.raises(UsageError, match="recorded again since you began"):
        record(app, board, revision=1, texts={OTHER: "Inga."})
    with pytest.raises(UsageError, match="changed since you read them"):
        protokoll.justera(app, board, VICE, revision=2, read_sha256=read_then)
    assert dump(app.url) == before
    now = protokoll.minutes(app, board)
    done = protokoll.justera(
        app, board, VICE, revision=2, read_sha256=protokoll.content_sha256(now)
    )
    assert [a["email"] for a in done["approvals"]] == [VICE]


def test_a_justerat_meeting_neither_moves_nor_takes_more_decisions(
    app: Any, board: int, clock: Any
) -> None:
    from datetime import date

    record(app, board)
    protokoll.justera(app, board, VICE)
    protokoll.justera(app, board, EVA)
    before = dump(app.url)
    with pytest.raises(UsageError, match="has minutes: it was held"):
        meetings.move(app, board, date(2027, 2, 16), actor_email=CHEF)
    with pytest.raises(UsageError, match="has minutes: it was held"):
        meetings.cancel(app, board, actor_email=CHEF)
    assert dump(app.url) == before


def test_a_cancelled_meeting_has_no_minutes(app: Any, clock: Any, board: int) -> None:
    held = {m["key"]: m for m in meetings.list_meetings(app, None, 2027)}
    march = int(held["styrelse-2027-03"]["id"])
    meetings.cancel(app, march, actor_email=CHEF)
    advance_to(clock, "2027-03-31T12:00")
    with pytest.raises(UsageError, match="was cancelled"):
        record(app, march)


def test_minutes_justerade_before_their_texts_say_what_they_said(app: Any, board: int) -> None:
    """Minutes recorded and justerade before migration 0018 (attendance from `present`
    only): no standard wording added, and an ersättare present serves in an empty seat
    as the rule of the time had it."""
    record(app, board, present=[CHAIR, VICE, EVA, PER, CHEF])
    protokoll.justera(app, board, VICE)
    with UnitOfWork(app) as uow:
        row = uow.session.scalars(sa.select(Minutes).where(Minutes.meeting_id == board)).one()
        row.approved_at, row.attendance, row.texts = clock_now(app), [], {}
        row.content_sha256, row.frozen, row.posted_on, row.appeal_ends = (
            None, None, "2027-02-28", "2027-03-21",
        )  # fmt: skip
        uow.commit()
    old = protokoll.minutes(app, board)
    assert all(i["text"] == "" for i in old["items"])
    assert old["quorum"] is not None and old["quorum"]["serving"] == 1
    assert old["intact"] is None


def clock_now(app: Any) -> Any:
    return app.clock.now()
