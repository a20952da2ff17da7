"""The protokoll in the browser: `/moten/N/protokoll` (the förbundschef records it) and
`/moten/N/justering` (its justerare approve it or ask for a change).

Sydöstra Skåne's May 2027 board meeting (`meeting_story.spring`), the plan adopted
at it: the chef records Eva Lind attending remotely and Johan Ek absent with Greta
Öhman (Sjöbo's ersättare) serving in his seat, and sends the draft to Karin Holm and
Lars Berg; Lars approves, Karin asks for a change; the chef records revision 2 (Lars's
approval lapses), both approve it and it is frozen and on the anslagstavla. Each
refusal is said in Swedish at its field, 400, and the database is unchanged; anyone
but the chef and the justerare gets 404 on every route, and a POST without the
session's CSRF token 403.
"""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import CHAIR, CHEF, MEMBER, advance_to, dump
from meeting_story import SOS, VICE, Spring, spring
from webtools import ALE_CHAIR, client_for, csrf_of, sign_in, signed_in_client

from web.server import create_app
from workflow.core import audit
from workflow.cycle import notices, protokoll

JOHAN = "johan.ek@sjobo.example"  # ledamot for Sjöbo, absent
GRETA = "greta.ohman@sjobo.example"  # Sjöbo's ersättare, serving for Johan
PER = "per.nilsson@ystad.example"  # Ystad's ersättare, absent
CHECKED = re.compile(r'name="status:([^"]+)" value="(\w+)" checked')
TEXTAREA = re.compile(r'name="text:([^"]+)"[^>]*>(.*?)</textarea>', re.S)


@pytest.fixture
def story(
    sqlite_web_app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Spring:
    """The spring, then the May board meeting held and the plan adopted at it."""
    from workflow.plans import services as plans

    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))
    told = spring(sqlite_web_app, clock, tmp_path)
    advance_to(clock, "2027-05-11T16:00")
    plans.move(sqlite_web_app, told.plan, "adopt", actor_email=CHEF)
    return told


def _may(story: Spring) -> int:
    return story.meetings["styrelse-2027-05"]


def _form(page: str, **changes: Any) -> dict[str, Any]:
    """The recording form's fields as the page prefills them, with `changes`:
    status={email: value}, serving={email: ledamot}, justerare=[...], texts={key: text},
    action."""
    data: dict[str, Any] = {"csrf": csrf_of(page, _action(page))}
    status = dict(CHECKED.findall(page)) | changes.get("status", {})
    data |= {f"status:{e}": v for e, v in status.items()}
    data |= {f"serving:{e}": s for e, s in changes.get("serving", {}).items()}
    texts = {k: html_lib.unescape(v) for k, v in TEXTAREA.findall(page)}
    data |= {f"text:{k}": v for k, v in (texts | changes.get("texts", {})).items()}
    data["justerare"] = changes.get("justerare", [])
    data["action"] = changes.get("action", "skicka")
    return data


def _action(page: str) -> str:
    found = re.search(r'<form method="post" action="(/moten/\d+/protokoll)"', page)
    assert found, "the page has no recording form"
    return found.group(1)


def _record(client: Any, may: int, **changes: Any) -> Any:
    page = client.get(f"/moten/{may}/protokoll")
    assert page.status_code == 200
    return client.post(f"/moten/{may}/protokoll", data=_form(page.text, **changes))


ATTENDED = {
    "status": {MEMBER: "remote", JOHAN: "absent", GRETA: "present"},
    "serving": {GRETA: JOHAN},
    "justerare": [CHAIR, VICE],
}


def _justera(client: Any, may: int, revision: int) -> Any:
    page = client.get(f"/moten/{may}/justering").text
    action = f"/moten/{may}/justering"
    return client.post(action, data={"csrf": csrf_of(page), "revision": str(revision)})


def _ask_change(client: Any, may: int, revision: int, comment: str) -> Any:
    page = client.get(f"/moten/{may}/justering").text
    action = f"/moten/{may}/justering/andring"
    data = {"csrf": csrf_of(page, action), "revision": str(revision), "comment": comment}
    return client.post(action, data=data)


# ---------------------------------------------------------------- the whole round


def test_recorded_sent_changed_and_justerat_by_both_in_the_browser(
    sqlite_web_app: Any, clock: Any, story: Spring
) -> None:
    app, may = sqlite_web_app, _may(story)
    chef = signed_in_client(app, CHEF)
    assert "Skriv protokollet" in chef.get(f"/moten/{may}").text
    form = chef.get(f"/moten/{may}/protokoll").text
    # the defaults: ledamöter and officials present, ersättare absent; standard wording
    defaults = dict(CHECKED.findall(form))
    assert defaults[CHAIR] == defaults[JOHAN] == defaults[CHEF] == "present"
    assert defaults[GRETA] == defaults[PER] == "absent"
    assert "Ordföranden förklarar mötet öppnat." in form
    assert "Styrelsen beslutar att anta planen (revision 1)." in form
    assert "<legend>Greta Öhman, ersättare" in form and '<label for="serving-' in form

    answer = _record(chef, may, **ATTENDED)
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        f"/moten/{may}/protokoll?skickat=1",
    )
    view = protokoll.minutes(app, may)
    how = {p["email"]: (p["status"], p["serving_for"]) for p in view["attendance"]}
    assert how[MEMBER] == ("remote", None) and how[JOHAN] == ("absent", None)
    assert how[GRETA] == ("present", JOHAN) and how[PER] == ("absent", None)
    assert view["revision"] == 1 and view["sent_at"] is not None
    assert [p["email"] for p in view["justerare"]] == [CHAIR, VICE]
    assert view["quorum"] and view["quorum"]["serving"] == 1
    recorded = audit.log(app, subject=f"meeting:{may}")[-1]
    assert (recorded["action"], recorded["channel"]) == ("minutes", "web")

    # the justerare read it as it will be published, and see the link on the meeting
    advance_to(clock, "2027-05-12T09:00")
    vice = client_for(create_app(app))
    sign_in(vice, app, VICE)  # by the mailed link
    assert "Justera protokollet" in vice.get(f"/moten/{may}").text
    assert "Justera protokollet" not in signed_in_client(app, MEMBER).get(f"/moten/{may}").text
    page = vice.get(f"/moten/{may}/justering").text
    assert "Greta Öhman (ersättare, tjänstgör för Johan Ek)" in page
    assert "Eva Lind (ledamot, på distans)" in page
    assert "@" not in page.split('id="utkast"', 1)[1]  # no address in the protokoll
    assert _justera(vice, may, 1).status_code == 303
    (approval,) = protokoll.minutes(app, may)["approvals"]
    assert (approval["email"], approval["revision"], approval["via"]) == (VICE, 1, "link")
    assert approval["signed_in_at"] == "2027-05-12T07:00:00+00:00"  # 09:00 in Sweden
    done = vice.get(f"/moten/{may}/justering?justerat=1").text
    assert "Du justerade utkast 1" in done and "Kvar att justera: Karin Holm." in done

    chair = signed_in_client(app, CHAIR)
    asked = _ask_change(chair, may, 1, "§ 1: Karin öppnade mötet 14.05.")
    assert asked.status_code == 303
    chef = signed_in_client(app, CHEF)  # a new day, a new session
    chef_page = chef.get(f"/moten/{may}/protokoll").text
    assert "Karin Holm den 2027-05-12 kl. 09.00 om utkast 1: ”§ 1: Karin öppnade mötet 14.05.”" in (
        chef_page
    )
    assert "Justerade utkast 1" in chef_page  # Lars's approval, of revision 1

    # revision 2: Lars's approval lapses; his stale form is answered with the new draft
    key = next(i["key"] for i in view["items"] if i["title"] == "Mötets öppnande")
    opened = "Ordföranden förklarar mötet öppnat klockan 14.05."
    assert _record(chef, may, **ATTENDED, texts={key: opened}).status_code == 303
    view = protokoll.minutes(app, may)
    assert view["revision"] == 2 and view["approvals"] == []
    before = dump(app.url)
    stale = _justera(vice, may, 1)
    assert stale.status_code == 400
    assert "du läste utkast 1, nu gäller utkast 2" in stale.text and opened in stale.text
    assert dump(app.url) == before

    assert _justera(vice, may, 2).status_code == 303
    advance_to(clock, "2027-05-12T10:30")
    chair = signed_in_client(app, CHAIR)
    assert _justera(chair, may, 2).status_code == 303
    view = protokoll.minutes(app, may)
    assert view["approved"] and view["content_sha256"] and view["intact"]
    signed = {(a["email"], a["revision"], a["via"]) for a in view["approvals"]}
    assert signed == {(VICE, 2, "link"), (CHAIR, 2, "oidc")}  # the chair's: e-legitimation
    justerat = chair.get(f"/moten/{may}/justering").text
    path = notices.protokoll_path(SOS, may)
    assert "Protokollet är justerat." in justerat and f'href="{path}"' in justerat
    assert 'action="/moten/' not in justerat  # no form left
    frozen = chef.get(f"/moten/{may}/protokoll").text
    assert "kan inte ändras längre" in frozen and 'name="status:' not in frozen
    assert "Skriv protokollet" not in chef.get(f"/moten/{may}").text
    public = client_for(create_app(app))
    assert f'href="{path}"' in public.get(f"/{SOS}/anslagstavla").text
    published = public.get(path)
    assert published.status_code == 200 and opened in published.text


# ---------------------------------------------------------------- refusals


REFUSED = {
    "a justerare not present": (
        {"status": {JOHAN: "absent"}, "justerare": [JOHAN]},
        "Johan Ek är inte närvarande och kan inte justera protokollet.",
    ),
    "an ersättare serving for someone present": (
        {"status": {GRETA: "present"}, "serving": {GRETA: CHAIR}, "justerare": [VICE]},
        "Greta Öhman kan inte tjänstgöra för Karin Holm, som är närvarande.",
    ),
    "an absent ersättare serving": (
        {"status": {JOHAN: "absent"}, "serving": {PER: JOHAN}, "justerare": [VICE]},
        "Per Nilsson är frånvarande och kan inte tjänstgöra för någon.",
    ),
    "no justerare": ({"justerare": []}, "Välj minst en justerare bland de närvarande."),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_mistake_on_the_form_is_said_at_its_field_and_nothing_is_stored(
    sqlite_web_app: Any, story: Spring, case: str
) -> None:
    app, may = sqlite_web_app, _may(story)
    chef = signed_in_client(app, CHEF)
    changes, message = REFUSED[case]
    typed = "En text som ska stå kvar när formuläret visas igen."
    key = TEXTAREA.findall(chef.get(f"/moten/{may}/protokoll").text)[0][0]
    before = dump(app.url)
    answer = _record(chef, may, **changes, texts={key: typed})
    assert answer.status_code == 400
    assert "Protokollet kunde inte sparas" in answer.text and message in answer.text
    assert typed in answer.text  # the form as typed
    assert dump(app.url) == before


def test_a_change_request_needs_a_comment(sqlite_web_app: Any, story: Spring) -> None:
    app, may = sqlite_web_app, _may(story)
    assert _record(signed_in_client(app, CHEF), may, **ATTENDED).status_code == 303
    chair = signed_in_client(app, CHAIR)
    before = dump(app.url)
    answer = _ask_change(chair, may, 1, "   ")
    assert answer.status_code == 400
    assert "Skriv vad som ska ändras." in answer.text and 'aria-invalid="true"' in answer.text
    assert dump(app.url) == before


def test_before_the_meeting_there_is_no_form(
    sqlite_web_app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))
    may = spring(sqlite_web_app, clock, tmp_path).meetings["styrelse-2027-05"]
    chef = signed_in_client(sqlite_web_app, CHEF)
    page = chef.get(f"/moten/{may}/protokoll")
    assert page.status_code == 200 and "Mötet har inte börjat ännu." in page.text
    assert 'name="status:' not in page.text
    assert "Skriv protokollet" not in chef.get(f"/moten/{may}").text
    before = dump(sqlite_web_app.url)
    data = {"csrf": csrf_of(page.text), "action": "utkast", "justerare": CHAIR}
    answer = chef.post(f"/moten/{may}/protokoll", data=data)
    assert answer.status_code == 400 and "Mötet har inte börjat ännu." in answer.text
    assert dump(sqlite_web_app.url) == before


# ---------------------------------------------------------------- who may


ROUTES = (
    ("GET", "/moten/{}/protokoll"),
    ("POST", "/moten/{}/protokoll"),
    ("GET", "/moten/{}/justering"),
    ("POST", "/moten/{}/justering"),
    ("POST", "/moten/{}/justering/andring"),
)


@pytest.mark.parametrize("who", [MEMBER, ALE_CHAIR])
def test_a_member_not_justerare_and_another_forbunds_person_get_404(
    sqlite_web_app: Any, story: Spring, who: str
) -> None:
    app, may = sqlite_web_app, _may(story)
    assert _record(signed_in_client(app, CHEF), may, **ATTENDED).status_code == 303
    client = signed_in_client(app, who)
    token = csrf_of(client.get("/moten").text)  # the sign-out form's: the session's token
    before = dump(app.url)
    for method, path in ROUTES:
        url = path.format(may)
        data = {"csrf": token, "revision": "1", "comment": "x", "action": "utkast"}
        answer = client.get(url) if method == "GET" else client.post(url, data=data)
        assert answer.status_code == 404, (method, url)
        assert "Johan Ek" not in answer.text  # nothing of the minutes
    assert dump(app.url) == before


def test_the_justerare_may_not_record_and_the_chef_may_not_justera(
    sqlite_web_app: Any, story: Spring
) -> None:
    app, may = sqlite_web_app, _may(story)
    assert _record(signed_in_client(app, CHEF), may, **ATTENDED).status_code == 303
    assert signed_in_client(app, CHAIR).get(f"/moten/{may}/protokoll").status_code == 404
    assert signed_in_client(app, CHEF).get(f"/moten/{may}/justering").status_code == 404


def test_a_post_without_the_csrf_token_is_refused(sqlite_web_app: Any, story: Spring) -> None:
    app, may = sqlite_web_app, _may(story)
    chef = signed_in_client(app, CHEF)
    assert _record(chef, may, **ATTENDED).status_code == 303
    vice = signed_in_client(app, VICE)
    before = dump(app.url)
    data = _form(chef.get(f"/moten/{may}/protokoll").text, **ATTENDED)
    del data["csrf"]
    assert chef.post(f"/moten/{may}/protokoll", data=data).status_code == 403
    for path in (f"/moten/{may}/justering", f"/moten/{may}/justering/andring"):
        assert vice.post(path, data={"revision": "1", "comment": "x"}).status_code == 403
    assert dump(app.url) == before
