"""Signing in by e-mail link: through the outbox and a real SMTP server, once, within
15 minutes, the same answer for every address, and rate limits kept in the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from helpers import CHAIR, CHEF, dump
from webtools import (
    ALE_CHAIR,
    ask_for_link,
    client_for,
    csrf_of,
    last_token,
    outbox_rows,
    redeem,
    sign_in,
    token_in,
)

from web.server import create_app
from workflow.identity import signin
from workflow.mail import delivery as outbox

REGISTRAR = "registrator@ystad.example"  # a member's registry: in the file, but no person
NOBODY = "nobody@example.org"


def test_sign_in_end_to_end_with_the_link_from_the_delivered_mail(web_app: Any, sink: Any) -> None:
    client = client_for(create_app(web_app))
    answer = ask_for_link(client, CHAIR)
    assert answer.status_code == 200
    assert "Om adressen finns hos oss har vi skickat en länk" in answer.text
    assert outbox.send(web_app)["sent"] == 1
    (mail,) = sink.received
    assert mail.recipients == [CHAIR]
    assert mail.message["Subject"].startswith("Din inloggningslänk till finsam")
    token = token_in(mail.raw)
    confirm = client.get(f"/signin/{token}")  # what a mail scanner fetches: uses nothing up
    assert confirm.status_code == 200 and 'action="/signin/' in confirm.text
    assert client.get(f"/signin/{token}").status_code == 200
    done = client.post(f"/signin/{token}", data={"csrf": csrf_of(confirm.text)})
    assert done.status_code == 303 and done.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Karin Holm" in home.text and "Samordningsförbundet Sydöstra Skåne" in home.text


def test_the_link_is_stored_only_as_its_hash(sqlite_web_app: Any) -> None:
    client = client_for(create_app(sqlite_web_app))
    ask_for_link(client, CHEF)
    token = last_token(sqlite_web_app)
    rows = {k: v for k, v in dump(sqlite_web_app.url).items() if k != "outbox_message"}
    assert token not in repr(rows)
    assert len(rows["signin_link"]) == 1


def test_a_link_signs_in_once(sqlite_web_app: Any) -> None:
    api = create_app(sqlite_web_app)
    first, second = client_for(api), client_for(api)
    ask_for_link(first, CHEF)
    token = last_token(sqlite_web_app)
    assert redeem(first, token).status_code == 303
    again = redeem(second, token)
    assert again.status_code == 400 and "Länken gäller inte" in again.text
    assert second.get("/").status_code == 303


def test_a_link_expires_after_15_minutes(sqlite_web_app: Any, clock: Any) -> None:
    client = client_for(create_app(sqlite_web_app))
    ask_for_link(client, CHEF)
    early = last_token(sqlite_web_app)
    clock.advance(timedelta(minutes=14, seconds=59))
    assert client.get(f"/signin/{early}").status_code == 200
    ask_for_link(client, CHEF)
    late = last_token(sqlite_web_app)
    clock.advance(timedelta(seconds=1))
    assert redeem(client, early).status_code == 400
    clock.advance(timedelta(minutes=15))
    assert redeem(client, late).status_code == 400
    assert client.get("/").status_code == 303


@pytest.mark.parametrize("address", [NOBODY, REGISTRAR, ""])
def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    sqlite_web_app: Any, address: str
) -> None:
    client = client_for(create_app(sqlite_web_app))
    known = ask_for_link(client, CHEF)
    unknown = ask_for_link(client, address)
    assert unknown.status_code == known.status_code == 200
    assert unknown.text == known.text
    assert len(outbox_rows(sqlite_web_app)) == 1


def test_a_person_of_another_forbund_gets_the_mail_from_their_own(sqlite_web_app: Any) -> None:
    client = client_for(create_app(sqlite_web_app))
    ask_for_link(client, ALE_CHAIR)
    (row,) = outbox_rows(sqlite_web_app)
    assert ALE_CHAIR in row.recipients
    assert b"Ale" in row.raw


def test_per_address_limit_answers_as_usual_but_sends_nothing(
    sqlite_web_app: Any, clock: Any
) -> None:
    api = create_app(sqlite_web_app)
    for _ in range(signin.PER_ADDRESS):
        assert ask_for_link(client_for(api), CHEF).status_code == 200
    assert len(outbox_rows(sqlite_web_app)) == signin.PER_ADDRESS
    over = ask_for_link(client_for(api), CHEF.upper())  # the same address, written otherwise
    assert over.status_code == 200 and "Om adressen finns hos oss" in over.text
    assert len(outbox_rows(sqlite_web_app)) == signin.PER_ADDRESS
    assert ask_for_link(client_for(api), CHAIR).status_code == 200  # others are not held up
    clock.advance(signin.WINDOW)
    ask_for_link(client_for(api), CHEF)
    assert len(outbox_rows(sqlite_web_app)) == signin.PER_ADDRESS + 2


def test_per_client_limit_answers_429(sqlite_web_app: Any, clock: Any) -> None:
    client = client_for(create_app(sqlite_web_app))
    for i in range(signin.PER_CLIENT):
        assert ask_for_link(client, f"someone{i}@example.org").status_code == 200
    before = dump(sqlite_web_app.url)["outbox_message"]
    over = ask_for_link(client, CHEF)
    assert over.status_code == 429 and "För många försök" in over.text
    assert dump(sqlite_web_app.url)["outbox_message"] == before
    clock.advance(signin.WINDOW)
    assert ask_for_link(client, CHEF).status_code == 200
    assert len(outbox_rows(sqlite_web_app)) == 1


def test_a_new_session_id_at_every_sign_in(sqlite_web_app: Any) -> None:
    client = client_for(create_app(sqlite_web_app))
    sign_in(client, sqlite_web_app)
    old = client.cookies["finsam_session"]
    sign_in(client, sqlite_web_app)
    new = client.cookies["finsam_session"]
    assert new != old
    stale = client_for(create_app(sqlite_web_app))
    stale.cookies.set("finsam_session", old)
    assert stale.get("/").status_code == 303  # the session signed in over is gone


def test_sign_in_forms_without_the_csrf_cookie_token_are_refused(sqlite_web_app: Any) -> None:
    client = client_for(create_app(sqlite_web_app))
    form = client.get("/signin")
    before = dump(sqlite_web_app.url)
    assert client.post("/signin", data={"email": CHEF}).status_code == 403
    assert client.post("/signin", data={"email": CHEF, "csrf": "x" * 43}).status_code == 403
    bare = client_for(create_app(sqlite_web_app))  # the token, but not the cookie it pairs with
    assert bare.post("/signin", data={"email": CHEF, "csrf": csrf_of(form.text)}).status_code == 403
    assert dump(sqlite_web_app.url) == before
    ask_for_link(client, CHEF)
    token = last_token(sqlite_web_app)
    before = dump(sqlite_web_app.url)
    assert client.post(f"/signin/{token}").status_code == 403
    assert client.post(f"/signin/{token}", data={"csrf": "wrong"}).status_code == 403
    assert dump(sqlite_web_app.url) == before
    assert redeem(client, token).status_code == 303  # the link still works


def test_a_page_asked_for_before_signing_in_opens_after_the_mailed_link(
    sqlite_web_app: Any,
) -> None:
    """A member following the kallelse's link to their meeting's page signs in first; the
    mailed link then opens that page. A page a link may not open is not remembered."""
    client = client_for(create_app(sqlite_web_app))
    first = client.get("/moten/7")
    assert first.status_code == 303 and first.headers["location"] == "/signin?next=/moten/7"
    form = client.get("/signin?next=/moten/7")
    assert '<input type="hidden" name="next" value="/moten/7">' in form.text
    answer = client.post(
        "/signin", data={"email": CHAIR, "next": "/moten/7", "csrf": csrf_of(form.text)}
    )
    assert answer.status_code == 200
    done = redeem(client, last_token(sqlite_web_app))
    assert done.status_code == 303 and done.headers["location"] == "/moten/7"
    for elsewhere in (
        "https://evil.example/",
        "//evil.example",
        "/signout",
        "/moten/../x",
        "/moten/%2e%2e/x",
    ):
        other = client_for(create_app(sqlite_web_app)).get("/signin", params={"next": elsewhere})
        assert 'name="next"' not in other.text, elsewhere
