"""Plans stored from plan files: the economy guard, revisions from files, diff, render data."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import CHEF, EXAMPLES, SOS_FILE, advance_to, dump, make_app, store_plan_file, to_board

from workflow.core.exceptions import NotAllowed, UsageError
from workflow.plans import documents as plan_docs
from workflow.plans import services as plans
from workflow.plans.content import Content, read_content

LUND_FILE = EXAMPLES / "forbund" / "lund.toml"
LUND_CHEF = "forbundschef@finsamlund.example"
LUND_CHAIR = "ingela.malm@lund.example"
PLANS = EXAMPLES / "plans"


@pytest.fixture
def app(db_url: str, clock: Any) -> Any:
    now = clock.now()
    advance_to(clock, "2016-01-04T09:00")  # registered before the oldest plans (no backdating)
    application = make_app(db_url, clock, SOS_FILE, LUND_FILE)
    clock.set(now)
    yield application
    application.engine.dispose()


def stored(app: Any, forbund: str, path: Path, actor: str = CHEF) -> int:
    return store_plan_file(app, path, forbund, actor)


def lund_to_board(app: Any, content: Content) -> int:
    pid = plans.create(
        app,
        forbund_key="lund",
        year=None,
        last_year=None,
        title=None,
        actor_email=LUND_CHEF,
        content=content,
    )["id"]
    plans.move(app, pid, "submit", actor_email=LUND_CHEF)
    plans.move(app, pid, "recommend-adopt", actor_email=LUND_CHAIR, meeting=date(2016, 11, 20))
    plans.move(app, pid, "recommend-adopt", actor_email=LUND_CHEF, meeting=date(2016, 11, 21))
    return pid


def corrected_lund() -> Content:
    text = (PLANS / "lund-2017.toml").read_text(encoding="utf-8")
    text = text.replace("2018 = 3150, 2019 = 3150", "2018 = 3500, 2019 = 3500")
    text = text.replace(
        "amounts = { 2016 = 2000, 2017 = 2600 }", "amounts = { 2016 = 2072, 2017 = 2725 }"
    )
    return Content(text, "plan")


def test_a_budget_with_errors_cannot_be_adopted(app: Any, clock: Any) -> None:
    advance_to(clock, "2016-11-29T15:00")
    pid = lund_to_board(app, read_content(PLANS / "lund-2017.toml"))
    shown = plans.show(app, pid)
    assert (shown["year"], shown["last_year"], shown["title"]) == (
        2017,
        2019,
        "Verksamhetsplan och budget Lunds samordningsförbund 2017",
    )
    before = dump(app.url)
    with pytest.raises(NotAllowed) as exc:
        plans.move(
            app, pid, "adopt", actor_email=LUND_CHEF, meeting=date(2016, 11, 29), paragraph="5"
        )
    assert "the budget has 6 error(s)" in str(exc.value)
    assert "Medel till förfogande 2017: tryckt 2 600, beräknat 2 725" in str(exc.value)
    assert dump(app.url) == before
    # the board sends it back; the corrected file is stored as the next revision
    plans.move(
        app,
        pid,
        "send-back",
        actor_email=LUND_CHEF,
        meeting=date(2016, 11, 29),
        paragraph="5",
        comment="Summorna stämmer inte",
    )
    plans.edit(app, pid, actor_email=LUND_CHEF, content=corrected_lund())
    plans.move(app, pid, "submit", actor_email=LUND_CHEF)
    plans.move(app, pid, "recommend-adopt", actor_email=LUND_CHAIR, meeting=date(2016, 11, 29))
    plans.move(app, pid, "recommend-adopt", actor_email=LUND_CHEF, meeting=date(2016, 11, 29))
    result = plans.move(
        app, pid, "adopt", actor_email=LUND_CHEF, meeting=date(2016, 11, 29), paragraph="6"
    )
    assert result["to"] == "adopted"
    assert result["warnings"] == [
        "Sparade medel 2017: 2 000, men beräknade medel till förfogande 2016 (prognos) är 2 072"
    ]


def test_warnings_are_shown_to_whoever_moves_the_plan(app: Any) -> None:
    pid = stored(app, "sydostra-skane", PLANS / "sydostra-skane-2021.toml")
    result = plans.move(app, pid, "submit", actor_email=CHEF)
    assert len(result["warnings"]) == 1 and "Nationella rådets" in result["warnings"][0]


def test_a_plan_file_for_other_years_is_refused(app: Any) -> None:
    before = dump(app.url)
    with pytest.raises(UsageError, match="the plan file is for 2017–2019, the plan for 2018"):
        plans.create(
            app,
            forbund_key="lund",
            year=2018,
            last_year=None,
            title=None,
            actor_email=LUND_CHEF,
            content=read_content(PLANS / "lund-2017.toml"),
        )
    assert dump(app.url) == before


def test_revise_in_draft_keeps_the_old_revision_and_diff_shows_it(app: Any) -> None:
    pid = stored(app, "lund", PLANS / "lund-2017.toml", LUND_CHEF)
    result = plans.revise(app, pid, corrected_lund(), actor_email=LUND_CHEF)
    assert (result["revision"], result["new_revision"]) == (1, 2)
    changes = plan_docs.diff(app, pid, None, None)
    assert (changes["from"], changes["to"]) == (1, 2)
    assert changes["sections"] == []
    assert {
        (b["label"], b["year"], b["old"], b["new"], b["change"]) for b in changes["budget"]
    } == {
        ("Försäkringskassan (inkl. AF)", 2018, 3150, 3500, 350),
        ("Försäkringskassan (inkl. AF)", 2019, 3150, 3500, 350),
    }
    assert plan_docs.report_of(plan_docs.load_stored(app, pid, 1)).errors
    assert not plan_docs.report_of(plan_docs.load_stored(app, pid, 2)).errors


def test_revised_after_adoption_and_adopted_again(app: Any, clock: Any) -> None:
    """Insjöriket: 'Antagen av styrelsen 2017-11-28, Redigerad 2019-11-28'."""
    advance_to(clock, "2020-11-25T15:00")
    pid = stored(app, "sydostra-skane", PLANS / "sydostra-skane-2021.toml")
    to_board(app, pid, "2020-11-20")
    plans.move(app, pid, "adopt", actor_email=CHEF, meeting=date(2020, 11, 24), paragraph="45")
    text = (PLANS / "sydostra-skane-2021.toml").read_text(encoding="utf-8")
    edited = Content(
        text.replace(
            "Sydöstra Skånes samordningsförbund bildades 2009.",
            "Sydöstra Skånes samordningsförbund bildades år 2009.",
        ),
        "plan",
    )
    with pytest.raises(NotAllowed, match="a reason is required"):
        plans.revise(app, pid, edited, actor_email=CHEF)
    result = plans.revise(app, pid, edited, actor_email=CHEF, comment="Redigerad inledning")
    assert (result["from"], result["to"], result["new_revision"]) == ("adopted", "draft", 2)
    actions = [r["action"] for r in plans.history(app, pid)][-2:]
    assert actions == ["revise", "edit"]
    advance_to(clock, "2021-03-10T15:00")
    to_board(app, pid, "2021-03-01")
    plans.move(app, pid, "adopt", actor_email=CHEF, meeting=date(2021, 3, 9), paragraph="12")
    doc = plan_docs.document(plan_docs.load_stored(app, pid))
    assert doc["adopted"] == {"date": date(2020, 11, 24), "paragraph": "45"}
    assert doc["edited"] == date(2021, 3, 9)
    first = plan_docs.document(plan_docs.load_stored(app, pid, 1))
    assert first["edited"] is None
    sections = plan_docs.diff(app, pid, 1, 2)["sections"]
    assert [s["title"] for s in sections] == ["Inledning"]
    assert "+Sydöstra Skånes samordningsförbund bildades år 2009." in sections[0]["diff"]


def test_markdown_revisions_still_read(app: Any, tmp_path: Path) -> None:
    (tmp_path / "p.md").write_text("# Plan\n\nText.", encoding="utf-8")
    pid = plans.create(
        app,
        forbund_key="sydostra-skane",
        year=2027,
        last_year=None,
        title=None,
        actor_email=CHEF,
        content=read_content(tmp_path / "p.md"),
    )["id"]
    loaded = plan_docs.load_stored(app, pid)
    assert loaded.plan.sections[0].text == "# Plan\n\nText."
    assert not plan_docs.report_of(loaded).has_budget
