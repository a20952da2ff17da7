"""Reports in the browser: from a reminder's personal link to a report handed in with its
figures and file, the förbundschef's review, a return and a resubmission, and who may
see what. Real database, real files in the store; mails read from the outbox rows."""

from __future__ import annotations

import json
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from helpers import CHEF, LEADER, MEMBER, add_maria, advance_to, dump
from webtools import ALE_CHAIR, client_for, csrf_of, outbox_rows, redeem, signed_in_client, token_in

from web.server import create_app
from workflow.core import audit
from workflow.cycle import meetings
from workflow.mail import compose as notify
from workflow.reports import insatser
from workflow.reports import obligations as reports

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CONTACT = "per.ohman@skane.example"
FIGURES = {
    "participants_women": "12",
    "participants_men": "9",
    "participants_other": "1",
    "participants_new": "7",
    "ended_work_or_studies": "4",
    "sus_up_to_date": "ja",
    "costs_tkr": "412,5",
    "goal_fulfilment": "Målen nås.",
    "deviations": "",
}


@pytest.fixture
def world(sqlite_web_app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sydöstra Skåne's 2027 meetings, Mariamottagningen (Sofia Ek leads it, Per Öhman is
    Region Skåne's contact) owing its 2027 reports, 5 April 2027 at eight."""
    app = sqlite_web_app
    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))
    advance_to(clock, "2027-01-10T09:00")
    meetings.generate(app, "sydostra-skane", 2027, actor_email=CHEF)
    add_maria(
        app,
        "sydostra-skane",
        contact_name="Per Öhman",
        contact_email=CONTACT,
        budget={2027: 1200},
    )
    made = reports.generate(app, "sydostra-skane", 2027, actor_email=CHEF)
    advance_to(clock, "2027-04-05T08:00")
    return {"app": app, "reports": {r["kind"]: r["id"] for r in made}}


def _mail_to(app: Any, kind: str, email: str) -> Any:
    rows = [r for r in outbox_rows(app, kind) if email in r.recipients]
    assert rows, f"no {kind} mail to {email}"
    return rows[-1]


def _text(raw: bytes) -> str:
    message = message_from_bytes(raw, policy=policy.default)
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def _form(report: int, figures: dict[str, str], action: str = "lamna") -> dict[str, str]:
    return {"action": action, **{f"f_{k}": v for k, v in figures.items()}}


def _post(client: Any, report: int, data: dict[str, str], file: bytes | None = None) -> Any:
    page = client.get(f"/rapporter/{report}")
    data = {**data, "csrf": csrf_of(page.text, f"/rapporter/{report}")}
    files = {"file": ("rapport.pdf", file, "application/pdf")} if file is not None else None
    return client.post(f"/rapporter/{report}", data=data, files=files)


def test_a_new_report_mails_each_project_person_a_link_of_their_own(world: Any) -> None:
    app = world["app"]
    owed = outbox_rows(app, "owed")
    assert sorted(json.loads(r.recipients)[0] for r in owed) == sorted([LEADER, CONTACT])
    text = _text(owed[0].raw)
    assert "Tertialrapport 1 2027" in text and "Årsberättelse 2027" in text
    assert token_in(owed[0].raw) != token_in(owed[1].raw)


def test_from_the_reminder_link_to_a_report_handed_in(world: Any, clock: Any) -> None:
    app, t1 = world["app"], world["reports"]["tertial-1"]
    advance_to(clock, "2027-04-05T08:00")  # 14 days before 19 April
    notify.sweep(app)
    reminder = [
        r
        for r in outbox_rows(app, "reminder")
        if LEADER in r.recipients and "Tertialrapport 1" in _text(r.raw)
    ][-1]
    assert "Så lämnar du rapporten" in _text(reminder.raw)
    client = client_for(create_app(app))
    landed = redeem(client, token_in(reminder.raw))
    assert landed.status_code == 303 and landed.headers["location"] == f"/rapporter/{t1}"
    page = client.get(f"/rapporter/{t1}")
    assert page.status_code == 200 and "Lämna in" in page.text and "1200 tkr" in page.text
    # the link is used up: followed again by its own person, it just opens the page
    again = client.get(f"/signin/{token_in(reminder.raw)}")
    assert again.status_code == 303 and again.headers["location"] == f"/rapporter/{t1}"

    handed = _post(client, t1, _form(t1, FIGURES), PDF)
    assert handed.status_code == 303, handed.text
    row = reports.status(app, "sydostra-skane", 2027, insats_id=None)
    mine = next(r for r in row if r["id"] == t1)
    assert mine["state"] == "submitted" and mine["file_name"] == "rapport.pdf"
    assert mine["figures"]["costs_tkr"] == 412.5 and mine["figures"]["sus_up_to_date"] is True
    last = audit.log(app, subject=f"obligation:{t1}")[-1]
    assert (last["action"], last["actor"], last["role"]) == ("submit", LEADER, "project")
    assert last["channel"] == "web"


def test_wrong_figures_are_named_field_by_field_and_nothing_is_stored(world: Any) -> None:
    app, t1 = world["app"], world["reports"]["tertial-1"]
    client = signed_in_client(app, LEADER)
    before = dump(app.url)
    wrong = {**FIGURES, "participants_women": "tolv", "costs_tkr": "412,55", "goal_fulfilment": ""}
    answer = _post(client, t1, _form(t1, wrong), PDF)
    assert answer.status_code == 400
    assert "Deltagare, kvinnor" not in answer.text or "tolv" in answer.text
    assert "Skriv ett heltal" in answer.text and "högst en decimal" in answer.text
    assert 'aria-invalid="true"' in answer.text and 'value="tolv"' in answer.text
    assert dump(app.url) == before


def test_a_draft_is_kept_and_its_file_goes_in_with_the_report(world: Any) -> None:
    app, t1 = world["app"], world["reports"]["tertial-1"]
    client = signed_in_client(app, LEADER)
    half = {"participants_women": "12"}
    assert _post(client, t1, _form(t1, half, "utkast"), PDF).status_code == 303
    page = client.get(f"/rapporter/{t1}")
    assert 'value="12"' in page.text and "Sparad i utkastet" in page.text
    assert reports.status(app, "sydostra-skane", 2027)[0]["state"] in ("pending",)
    draft_file = client.get(f"/rapporter/{t1}/utkast/fil")
    assert draft_file.status_code == 200 and draft_file.content == PDF
    handed = _post(client, t1, _form(t1, FIGURES))  # no file now: the draft's goes in
    assert handed.status_code == 303, handed.text
    chef = signed_in_client(app, CHEF)
    got = chef.get(f"/rapporter/{t1}/fil")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("inline")


def test_returned_with_a_comment_then_handed_in_again(world: Any) -> None:
    app, t1 = world["app"], world["reports"]["tertial-1"]
    leader = signed_in_client(app, LEADER)
    assert _post(leader, t1, _form(t1, FIGURES), PDF).status_code == 303
    chef = signed_in_client(app, CHEF)
    listed = chef.get("/rapporter")
    assert f'href="/rapporter/{t1}"' in listed.text and "väntar på dig" in listed.text
    page = chef.get(f"/rapporter/{t1}")
    assert "Godkänn" in page.text and "412,5 av 1200 tkr (34,4 %)" in page.text
    csrf = csrf_of(page.text, f"/rapporter/{t1}/beslut")
    empty = chef.post(f"/rapporter/{t1}/beslut", data={"csrf": csrf, "action": "returnera"})
    assert empty.status_code == 400  # a return says what to complete
    comment = "Kostnaderna saknar <b>lönedelen</b>."
    back = chef.post(
        f"/rapporter/{t1}/beslut", data={"csrf": csrf, "action": "returnera", "comment": comment}
    )
    assert back.status_code == 303
    mail = _mail_to(app, "returned", LEADER)
    assert comment in _text(mail.raw)
    again = client_for(create_app(app))
    landed = redeem(again, token_in(mail.raw))
    assert landed.headers["location"] == f"/rapporter/{t1}"
    page = again.get(f"/rapporter/{t1}")
    assert "Kostnaderna saknar &lt;b&gt;lönedelen&lt;/b&gt;." in page.text
    assert 'value="412,5"' in page.text  # the figures handed in, to correct
    fixed = _post(again, t1, _form(t1, {**FIGURES, "costs_tkr": "480"}))  # the same file
    assert fixed.status_code == 303
    done = next(r for r in reports.status(app, "sydostra-skane", 2027) if r["id"] == t1)
    assert done["state"] == "submitted" and done["figures"]["costs_tkr"] == 480
    approve = chef.post(
        f"/rapporter/{t1}/beslut",
        data={"csrf": csrf_of(chef.get(f"/rapporter/{t1}").text, f"/rapporter/{t1}/beslut"),
              "action": "godkann"},
    )  # fmt: skip
    assert approve.status_code == 303
    actions = [(r["action"], r["channel"]) for r in audit.log(app, subject=f"obligation:{t1}")]
    assert [a for a, _ in actions[-4:]] == ["submit", "return", "submit", "approve"]
    assert {c for _, c in actions[-4:]} == {"web"}


@pytest.mark.parametrize("who", [MEMBER, ALE_CHAIR, "ledare@annan.example"])
def test_nobody_else_sees_a_report(world: Any, who: str) -> None:
    app, t1 = world["app"], world["reports"]["tertial-1"]
    if who.startswith("ledare"):  # the leader of another insats
        insatser.add(app, "sydostra-skane", actor_email=CHEF, name="Annan", owner="region-skane",
                     start=date(2020, 1, 1), leader_name="Lea", leader_email=who)  # fmt: skip
    client = signed_in_client(app, who)
    for path in (f"/rapporter/{t1}", f"/rapporter/{t1}/fil", f"/rapporter/{t1}/utkast/fil"):
        assert client.get(path).status_code == 404, path


def test_an_expired_link_offers_a_fresh_one_to_the_same_page(world: Any, clock: Any) -> None:
    app, t1 = world["app"], world["reports"]["tertial-1"]
    notify.sweep(app)
    reminder = [r for r in outbox_rows(app, "reminder") if LEADER in r.recipients][-1]
    token = token_in(reminder.raw)
    advance_to(clock, "2027-04-09T08:00")  # four days later: past the 72 hours
    client = client_for(create_app(app))
    spent = client.get(f"/signin/{token}")
    assert spent.status_code == 400 and "Skicka en ny länk" in spent.text
    sent = client.post(f"/signin/{token}/ny", data={"csrf": csrf_of(spent.text)})
    assert sent.status_code == 200
    fresh = outbox_rows(app, "signin")[-1]
    assert LEADER in fresh.recipients
    landed = redeem(client, token_in(fresh.raw))
    assert landed.headers["location"] in (f"/rapporter/{t1}", "/rapporter")


def test_a_project_leader_starts_on_their_reports_and_sees_no_plans(world: Any) -> None:
    client = signed_in_client(world["app"], LEADER)
    assert client.get("/").headers["location"] == "/rapporter"
    mine = client.get("/rapporter")
    assert "Mariamottagningen" in mine.text and "projektledare" in mine.text
    assert "Mina förbund" not in mine.text
    assert client.get("/arshjul/2027.svg").status_code == 404


def test_a_file_of_the_wrong_type_is_refused_by_its_content(world: Any) -> None:
    app, t1 = world["app"], world["reports"]["tertial-1"]
    client = signed_in_client(app, LEADER)
    before = dump(app.url)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    answer = _post(client, t1, _form(t1, FIGURES), png)
    assert answer.status_code == 400 and "inte av en sort som finsam tar emot" in answer.text
    assert 'id="file-fel"' in answer.text and 'value="412,5"' in answer.text  # kept as typed
    assert dump(app.url) == before


def test_a_body_past_the_limit_is_refused_before_it_is_read(
    world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSAM_MAX_UPLOAD_MB", "1")
    app, t1 = world["app"], world["reports"]["tertial-1"]
    client = signed_in_client(app, LEADER)  # its app is built now, with the 1 MB limit
    before = dump(app.url)
    big = b"%PDF-1.4\n" + b"0" * 3_000_000
    answer = _post(client, t1, _form(t1, FIGURES), big)
    assert answer.status_code == 413 and "högst 2 MB" in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"

    def chunks() -> Any:  # no Content-Length: counted as it arrives
        yield b"csrf=x&"
        for _ in range(40):
            yield b"a" * 100_000

    streamed = client.post(
        f"/rapporter/{t1}",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413
    assert dump(app.url) == before
