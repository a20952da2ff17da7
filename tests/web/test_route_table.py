"""Every route of `finsam web`, asked by every kind of visitor, answers as this table says.

The table is kept here, not derived from the code: a new route fails this test
until someone writes down who may use it. Visitors: anonymous; the förbundschef;
the ordförande; a ledamot; an ersättare; an official of the beredningsgrupp; a
member's registrator (in the file, but as nobody's person: cannot sign in, so
anonymous); a project leader (named on an insats, not in the förbund file: a person
who sees their insats's reports and nothing else); a person of another förbund.
Each cell is asked by a fresh browser with a fresh session, so a sign-out in one cell
does not change another.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from helpers import CHAIR, CHEF, LEADER, MEMBER, add_maria
from starlette.routing import Mount
from webtools import ALE_CHAIR, client_for, csrf_of, outbox_rows

from web.server import create_app
from workflow.core.exceptions import NotFound
from workflow.core.models import Obligation
from workflow.core.uow import UnitOfWork
from workflow.identity import sessions
from workflow.plans import services as plans
from workflow.plans.content import Content

SUBSTITUTE = "per.nilsson@ystad.example"  # ersättare in the styrelse
OFFICIAL = "ingrid.wall@forsakringskassan.example"  # tjänsteperson in the beredningsgrupp
REGISTRAR = "registrator@ystad.example"  # Ystads kommun's registry
ALE_CHEF = "per.liljeback@sofakst.example"

VISITORS: dict[str, str | None] = {
    "anonymous": None,
    "förbundschef": CHEF,
    "ordförande": CHAIR,
    "ledamot": MEMBER,
    "ersättare": SUBSTITUTE,
    "beredningsgrupp": OFFICIAL,
    "registrator": REGISTRAR,
    "project leader": LEADER,
    "other förbund": ALE_CHAIR,
}
PEOPLE = ("förbundschef", "ordförande", "ledamot", "ersättare", "beredningsgrupp")
NOBODY = ("anonymous", "registrator")


def _all(status: int) -> dict[str, int]:
    return dict.fromkeys(VISITORS, status)


def _signed_in(
    person: int, nobody: int, other: int | None = None, leader: int | None = None
) -> dict[str, int]:
    """A row: the förbund's people, those who are nobody's person, another förbund's person
    (as the förbund's people unless given), the project leader (as another förbund's)."""
    other = person if other is None else other
    row = {v: person for v in PEOPLE} | {v: nobody for v in NOBODY}
    return row | {"other förbund": other, "project leader": other if leader is None else leader}


def _report(chef: int, leader: int, nobody: int) -> dict[str, int]:
    """A row of a report's own routes: its förbundschef, its project leader, and the rest of
    the förbund's people as another förbund's (404: board members read the overview)."""
    return _signed_in(404, nobody, other=404, leader=leader) | {"förbundschef": chef}


# (method, route path) -> visitor -> status. 303 to /signin for the anonymous on a page;
# 403 for a POST without a session's CSRF token; 404 for another förbund's plan.
EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/healthz"): _all(200),
    ("GET", "/signin"): _all(200),
    ("POST", "/signin"): _all(200),
    ("GET", "/signin/{token}"): _all(400),  # a token that is nobody's
    ("POST", "/signin/{token}"): _all(400),
    ("POST", "/signin/{token}/ny"): _all(200),  # the usual "sent" page, whatever the token
    ("GET", "/signin/oidc"): _all(404),  # no OpenID Connect provider configured
    ("GET", "/signin/oidc/callback"): _all(404),
    ("POST", "/signout"): _signed_in(303, 403),
    ("POST", "/signout/everywhere"): _signed_in(303, 403),
    ("GET", "/"): _signed_in(200, 303, leader=303),  # a project leader starts on /rapporter
    ("GET", "/plans/{plan_id:int}"): _signed_in(200, 303, other=404),
    # plans in the browser: a POST here carries no action, file or text (400), another
    # förbund's plan is 404 before anything is read; the plan has one revision (no diff)
    ("GET", "/plans"): _signed_in(200, 303),
    ("GET", "/plans/new"): _signed_in(200, 303),
    ("GET", "/plans/{plan_id:int}/diff"): _signed_in(200, 303, other=404),
    ("POST", "/plans/{plan_id:int}/act"): _signed_in(400, 403, other=404),
    ("POST", "/plans/preview"): _signed_in(400, 403),
    ("POST", "/plans/save"): _signed_in(400, 403),
    # the desk's retry: message 1 does not exist (none is queued here), so 404 for all
    ("POST", "/mail/{message_id:int}/retry"): _signed_in(404, 403),
    # the årshjul of my förbund: none of them has meetings stored here, so 404 for all
    ("GET", "/arshjul/{year:int}.svg"): _signed_in(404, 303),
    # reports: the list for everyone signed in (mine, or those I review); one report for
    # its insats's people and its förbundschef only; the report has no file yet (404);
    # a POST without an action or decision is 400 once the report is known to be theirs
    ("GET", "/rapporter"): _signed_in(200, 303),
    ("GET", "/rapporter/{obligation_id:int}"): _report(200, 200, 303),
    ("POST", "/rapporter/{obligation_id:int}"): _report(400, 400, 403),
    ("POST", "/rapporter/{obligation_id:int}/beslut"): _report(400, 400, 403),
    ("GET", "/rapporter/{obligation_id:int}/fil"): _report(404, 404, 303),
    ("GET", "/rapporter/{obligation_id:int}/utkast/fil"): _report(404, 404, 303),
    # the tertial overview: for anyone in the förbund, not its project leaders
    ("GET", "/{forbund}/oversikt/{year:int}/{kind}"): _signed_in(200, 303, other=404),
    ("GET", "/{forbund}/oversikt/{year:int}/{kind}.csv"): _signed_in(200, 303, other=404),
    ("GET", "/{forbund}/oversikt/{year:int}/{kind}.xlsx"): _signed_in(200, 303, other=404),
    # the personal calendar feed: the page and its forms for anyone signed in (a new
    # address is shown once, in the answer to its POST); a token that is nobody's: 404
    ("GET", "/kalender"): _signed_in(200, 303),
    ("POST", "/kalender/ny"): _signed_in(200, 403),
    ("POST", "/kalender/stang"): _signed_in(303, 403),
    ("GET", "/kalender/{token}.ics"): _all(404),
    # the member's meetings: the list for anyone signed in; no meetings are stored here,
    # so a meeting and its report file answer 404 for all
    ("GET", "/moten"): _signed_in(200, 303),
    ("GET", "/moten/{meeting_id:int}"): _signed_in(404, 303),
    ("GET", "/moten/{meeting_id:int}/rapporter/{obligation_id:int}/fil"): _signed_in(404, 303),
    # the protokoll's form and the justering: for the one who may record the minutes and
    # for their justerare (tests/web/test_web_minutes.py); no meeting here, so 404 for all
    ("GET", "/moten/{meeting_id:int}/protokoll"): _signed_in(404, 303),
    ("POST", "/moten/{meeting_id:int}/protokoll"): _signed_in(404, 403),
    ("GET", "/moten/{meeting_id:int}/justering"): _signed_in(404, 303),
    ("POST", "/moten/{meeting_id:int}/justering"): _signed_in(404, 403),
    ("POST", "/moten/{meeting_id:int}/justering/andring"): _signed_in(404, 403),
    # the public anslagstavla, open to all; no minutes are justerade here (meeting 1: none)
    ("GET", "/{forbund}/anslagstavla"): _all(200),
    ("GET", "/{forbund}/anslagstavla.atom"): _all(200),
    ("GET", "/{forbund}/protokoll/{meeting_id:int}"): _all(404),
    ("GET", "/static"): _all(200),
}


def _routes(api: Any) -> set[tuple[str, str]]:
    found = set()
    for r in api.routes:
        if isinstance(r, APIRoute):
            found |= {(m, r.path) for m in r.methods if m != "HEAD"}
        elif isinstance(r, Mount):
            found.add(("GET", r.path))
        else:
            found.add(("?", getattr(r, "path", repr(r))))
    return found


@pytest.fixture
def world(sqlite_web_app: Any) -> dict[str, Any]:
    """A plan in each förbund."""
    ids = {
        key: plans.create(
            sqlite_web_app,
            forbund_key=key,
            year=2027,
            last_year=None,
            title=None,
            actor_email=who,
            content=Content("# Plan\n\nText.", "markdown"),
        )["id"]
        for key, who in (("sydostra-skane", CHEF), ("ale-kungalv", ALE_CHEF))
    }
    return {
        "app": sqlite_web_app,
        "api": create_app(sqlite_web_app),
        "plans": ids,
        "report": _owed_report(sqlite_web_app),
    }


def _owed_report(app: Any) -> int:
    """Mariamottagningen, led by the project leader, owing its first tertial report of 2027
    (the row written as generating it would, without the year's meetings)."""
    insats = add_maria(app, "sydostra-skane")
    now = app.clock.now()
    with UnitOfWork(app) as uow:
        row = Obligation(
            insats_id=insats["id"],
            kind="tertial-1",
            name="Tertialrapport 1",
            year=2027,
            period_start="2027-01-01",
            period_end="2027-04-30",
            due="2027-05-10",
            created_at=now,
            updated_at=now,
        )
        uow.session.add(row)
        uow.commit()
        assert row.id is not None
        return row.id


def test_every_route_has_a_row_in_the_table(world: dict[str, Any]) -> None:
    found = _routes(world["api"])
    assert found - set(EXPECTED) == set(), "routes without a row here: say who may use them"
    assert set(EXPECTED) - found == set(), "rows here for routes that no longer exist"


def _browser(world: dict[str, Any], email: str | None) -> tuple[Any, str | None]:
    """A browser for the visitor, signed in when they are a person; its session's token."""
    client = client_for(world["api"])
    if email is None:
        return client, None
    try:
        started = sessions.start(world["app"], email)
    except NotFound:
        return client, None  # not a person: they stay anonymous
    client.cookies.set("finsam_session", started.secret)
    return client, started.csrf


def _ask(world: dict[str, Any], client: Any, token: str | None, method: str, path: str) -> Any:
    url = (
        path.replace("{plan_id:int}", str(world["plans"]["sydostra-skane"]))
        .replace("{token}", "x" * 43)
        .replace("{message_id:int}", "1")
        .replace("{obligation_id:int}", str(world["report"]))
        .replace("{meeting_id:int}", "1")
        .replace("{year:int}", "2027")
        .replace("{forbund}", "sydostra-skane")
        .replace("{kind}", "tertial-1")
        .replace("/static", "/static/finsam.css")
    )
    if method == "GET":
        return client.get(url)
    form = client.get("/signin")  # the pre-session token and its cookie
    csrf = csrf_of(form.text, "/signin") if path.startswith("/signin") else token or "none"
    return client.post(url, data={"csrf": csrf, "email": "someone@example.org"})


@pytest.mark.parametrize("visitor", list(VISITORS))
def test_every_route_answers_every_visitor_as_the_table_says(
    world: dict[str, Any], visitor: str
) -> None:
    got, wanted = {}, {}
    for method, path in sorted(_routes(world["api"])):
        client, token = _browser(world, VISITORS[visitor])
        got[(method, path)] = _ask(world, client, token, method, path).status_code
        wanted[(method, path)] = EXPECTED.get((method, path), {}).get(visitor)
    assert got == wanted


def test_the_registrator_cannot_sign_in(world: dict[str, Any]) -> None:
    with pytest.raises(NotFound):
        sessions.start(world["app"], REGISTRAR)
    client = client_for(world["api"])
    form = client.get("/signin")
    client.post("/signin", data={"email": REGISTRAR, "csrf": csrf_of(form.text, "/signin")})
    assert outbox_rows(world["app"]) == []
