"""Plans in the browser: upload, preview and save; the actions from draft to adoption
as three people; the audit rows' channel; a stale form (409); CSRF; tenancy."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from helpers import ALE_FILE, CHAIR, CHEF, DEMO_PLAN, advance_to, dump
from webtools import csrf_of, signed_in_client

from workflow.core import audit
from workflow.plans import services as plans
from workflow.plans.content import Content

OFFICIAL = "ingrid.wall@forsakringskassan.example"  # tjänsteperson in the beredningsgrupp
ALE_CHEF = "per.liljeback@sofakst.example"
VICE = "lars.berg@skane.example"  # vice ordförande in the presidium
VERSION = re.compile(r'name="version" value="(\d+)"')


def _upload(client: Any, path: Path, plan: int | None = None) -> Any:
    form = client.get(f"/plans/{plan}" if plan else "/plans/new")
    data = {"csrf": csrf_of(form.text, "/plans/preview")}
    if plan:
        data["plan"] = str(plan)
    files = {"file": (path.name, path.read_bytes(), "application/toml")}
    return client.post("/plans/preview", data=data, files=files)


def _hidden(html: str, name: str) -> str:
    from html import unescape

    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no hidden field {name}"
    return unescape(found.group(1))


def _save(client: Any, preview: Any) -> Any:
    fields = ("content", "format", "filename", "forbund")
    data = {name: _hidden(preview.text, name) for name in fields}
    data["csrf"] = csrf_of(preview.text, "/plans/save")
    return client.post("/plans/save", data=data)


def _act(client: Any, plan: int, action: str, comment: str = "", **extra: str) -> Any:
    shown = client.get(f"/plans/{plan}")
    assert shown.status_code == 200, shown.text
    assert f'name="action" value="{action}"' in shown.text, f"{action} is not offered"
    data = {
        "csrf": csrf_of(shown.text, f"/plans/{plan}/act"),
        "action": action,
        "version": VERSION.search(shown.text).group(1),  # type: ignore[union-attr]
        "comment": comment,
        **extra,
    }
    return client.post(f"/plans/{plan}/act", data=data)


def test_upload_preview_then_save_creates_the_plan(year: Any) -> None:
    chef = signed_in_client(year, CHEF)
    before = plans.list_plans(year)
    preview = _upload(chef, DEMO_PLAN)
    assert preview.status_code == 200, preview.text
    assert "Kontroll av ekonomin" in preview.text and ">Spara<" in preview.text
    assert plans.list_plans(year) == before  # the preview stores nothing
    saved = _save(chef, preview)
    assert saved.status_code == 303
    plan_id = int(saved.headers["location"].rsplit("/", 1)[1])
    stored = plans.show(year, plan_id)
    assert stored["year"] == 2028 and stored["content"] == DEMO_PLAN.read_text()
    rows = audit.log(year, plan_id)
    assert [(r["action"], r["channel"], r["actor"]) for r in rows] == [("create", "web", CHEF)]
    page = chef.get(f"/plans/{plan_id}")
    assert page.status_code == 200 and "Budget (tkr)" in page.text and "webben" in page.text


def test_a_malformed_upload_is_refused_with_the_clis_words(year: Any, tmp_path: Path) -> None:
    chef = signed_in_client(year, CHEF)
    bad = tmp_path / "plan.toml"
    bad.write_text("[plan\nyear = 2028\n")
    before = dump(str(year.engine.url))
    answer = _upload(chef, bad)
    assert answer.status_code == 400 and "plan.toml" in answer.text
    assert dump(str(year.engine.url)) == before


def test_draft_to_adoption_as_three_people_in_the_browser(year: Any, clock: Any) -> None:
    """The förbundschef submits and speaks for the beredningsgrupp, the presidium's vice
    ordförande recommends, the board's ordförande records the adoption; each signs in
    when their meeting has begun (weeks apart: sessions expire)."""
    chef = signed_in_client(year, CHEF)
    plan_id = int(_save(chef, _upload(chef, DEMO_PLAN)).headers["location"].rsplit("/", 1)[1])
    assert _act(chef, plan_id, "submit").status_code == 303
    advance_to(clock, "2027-09-06T11:30")
    official = signed_in_client(year, OFFICIAL)
    assert 'name="action"' not in official.get(f"/plans/{plan_id}").text  # nothing for her
    vice = signed_in_client(year, VICE)
    answer = _act(vice, plan_id, "recommend-adopt", "Presidiet föreslår bifall")
    assert answer.status_code == 303, answer.text
    advance_to(clock, "2027-09-06T15:00")
    chef = signed_in_client(year, CHEF)
    answer = _act(chef, plan_id, "recommend-adopt", "Beredningsgruppen tillstyrker")
    assert answer.status_code == 303, answer.text
    advance_to(clock, "2027-09-21T16:00")
    chair = signed_in_client(year, CHAIR)
    board = chair.get(f"/plans/{plan_id}").text
    assert re.search(r'name="paragraph" value="\d+"', board), "the § is not prefilled"
    answer = _act(chair, plan_id, "adopt", "Styrelsen antar planen")
    assert answer.status_code == 303, answer.text
    assert plans.show(year, plan_id)["state"] == "adopted"
    rows = audit.log(year, plan_id)
    assert [(r["action"], r["actor"], r["channel"]) for r in rows] == [
        ("create", CHEF, "web"),
        ("submit", CHEF, "web"),
        ("recommend-adopt", VICE, "web"),
        ("recommend-adopt", CHEF, "web"),
        ("adopt", CHAIR, "web"),
    ]
    assert rows[-1]["meeting"] == "2027-09-21" and rows[-1]["paragraph"]
    assert audit.verify_database(year).ok
    assert audit.verify_database(year, forbund_key="sydostra-skane").ok


def test_a_stale_form_is_409_naming_who_and_nothing_is_written(year: Any) -> None:
    chef = signed_in_client(year, CHEF)
    plan_id = int(_save(chef, _upload(chef, DEMO_PLAN)).headers["location"].rsplit("/", 1)[1])
    stale = chef.get(f"/plans/{plan_id}").text
    plans.edit(year, plan_id, actor_email=CHEF, title="Ny titel")  # someone else, meanwhile
    before = dump(str(year.engine.url))
    answer = chef.post(
        f"/plans/{plan_id}/act",
        data={
            "csrf": csrf_of(stale, f"/plans/{plan_id}/act"),
            "action": "submit",
            "version": VERSION.search(stale).group(1),  # type: ignore[union-attr]
        },
    )
    assert answer.status_code == 409
    assert "Annika Rasmusson" in answer.text and "(edit)" in answer.text
    assert dump(str(year.engine.url)) == before


def test_a_post_without_the_csrf_token_is_403_and_changes_nothing(year: Any) -> None:
    chef = signed_in_client(year, CHEF)
    plan_id = int(_save(chef, _upload(chef, DEMO_PLAN)).headers["location"].rsplit("/", 1)[1])
    before = dump(str(year.engine.url))
    answer = chef.post(f"/plans/{plan_id}/act", data={"action": "submit", "version": "1"})
    assert answer.status_code == 403
    wrong = chef.post(f"/plans/{plan_id}/act", data={"action": "submit", "csrf": "x" * 43})
    assert wrong.status_code == 403
    assert dump(str(year.engine.url)) == before


def test_another_forbunds_plan_is_404_for_every_plan_route(year: Any) -> None:
    ale = plans.create(
        year,
        forbund_key="ale-kungalv",
        year=2027,
        last_year=None,
        title=None,
        actor_email=ALE_CHEF,
        content=Content("# Plan\n\nText.", "markdown"),
    )["id"]
    chef = signed_in_client(year, CHEF)
    token = csrf_of(chef.get("/").text, "/signout")
    before = dump(str(year.engine.url))
    assert chef.get(f"/plans/{ale}").status_code == 404
    assert chef.get(f"/plans/{ale}/diff").status_code == 404
    assert (
        chef.post(f"/plans/{ale}/act", data={"csrf": token, "action": "submit"}).status_code == 404
    )
    files = {"file": ("plan.md", b"# Plan\n", "text/markdown")}
    assert (
        chef.post("/plans/preview", data={"csrf": token, "plan": str(ale)}, files=files).status_code
        == 404
    )
    assert dump(str(year.engine.url)) == before
    assert ALE_FILE.exists()


def test_markdown_is_shown_escaped_and_the_diff_compares_revisions(year: Any) -> None:
    pid = plans.create(
        year,
        forbund_key="sydostra-skane",
        year=2027,
        last_year=None,
        title=None,
        actor_email=CHEF,
        content=Content("# Plan\n\n<script>alert(1)</script> *viktigt*", "markdown"),
    )["id"]
    plans.revise(year, pid, Content("# Plan\n\nNy text.", "markdown"), actor_email=CHEF)
    chef = signed_in_client(year, CHEF)
    first = chef.get(f"/plans/{pid}/diff?from=1&to=2")
    assert first.status_code == 200 and "Ny text." in first.text
    assert "&lt;script&gt;" in first.text and "<script>" not in first.text
    plans.revise(
        year, pid, Content("# Plan\n\n<b onclick=x>fet</b> *viktigt*", "markdown"), actor_email=CHEF
    )
    page = chef.get(f"/plans/{pid}").text
    assert "&lt;b onclick=x&gt;" in page and "<em>viktigt</em>" in page and "<b " not in page
    assert chef.get(f"/plans/{pid}/diff?from=x").status_code == 400


def test_the_channel_is_hashed_only_when_it_is_not_the_clis() -> None:
    """Rows from before migration 0012 (no channel, read as "cli") keep their hashes;
    a row's channel cannot be changed without breaking its hash."""
    row = {"seq": 1, "at": None, "forbund_key": "k", "action": "submit", "prev_hash": "0" * 64}
    assert audit.row_hash(row) == audit.row_hash({**row, "channel": "cli"})
    assert audit.row_hash({**row, "channel": "web"}) != audit.row_hash(row)
