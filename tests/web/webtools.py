"""What the web's tests share besides fixtures: a client per visitor, the CSRF token of a
form, the sign-in link of a queued mail, signing in (a module of its own, so no test
imports a `conftest` by name: several test folders have one)."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from typing import Any

import sqlalchemy as sa
from helpers import CHEF

ALE_CHAIR = "bengt.alm@kungalv.example"  # ordförande in Ale-Kungälv, in no file of Sydöstra
LINK = re.compile(r"https?://[^\s\"<>]+/signin/([A-Za-z0-9_-]{43})")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def client_for(api: Any) -> Any:
    from fastapi.testclient import TestClient

    return TestClient(api, follow_redirects=False)


def csrf_of(html: str, action: str | None = None) -> str:
    """The CSRF token of the form posting to `action` (of the page's last form if None)."""
    if action is None:
        found = CSRF.findall(html)
        assert found, "the page has no form with a CSRF token"
        return str(found[-1])
    form = re.search(
        rf'action="{re.escape(action)}"[^>]*>\s*<input type="hidden" {CSRF.pattern}', html
    )
    assert form, f"the page has no form posting to {action}"
    return form.group(1)


def ask_for_link(client: Any, email: str) -> Any:
    form = client.get("/signin")
    assert form.status_code == 200
    return client.post("/signin", data={"email": email, "csrf": csrf_of(form.text)})


def outbox_rows(app: Any, kind: str = "signin") -> list[Any]:
    with app.engine.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT id, recipients, raw FROM outbox_message WHERE kind = :k ORDER BY id"
                ),
                {"k": kind},
            )
        )


def token_in(raw: bytes) -> str:
    message = message_from_bytes(raw, policy=policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = LINK.search(text)
    assert found, text
    return found.group(1)


def last_token(app: Any) -> str:
    rows = outbox_rows(app)
    assert rows, "no sign-in link was queued"
    return token_in(rows[-1].raw)


def redeem(client: Any, token: str) -> Any:
    confirm = client.get(f"/signin/{token}")
    if confirm.status_code != 200:
        return confirm
    return client.post(f"/signin/{token}", data={"csrf": csrf_of(confirm.text)})


def sign_in(client: Any, app: Any, email: str = CHEF) -> Any:
    """The whole sign-in as a browser does it; the answer to the confirming POST."""
    assert ask_for_link(client, email).status_code == 200
    answer = redeem(client, last_token(app))
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
    return answer


def signed_in_client(app: Any, email: str) -> Any:
    """A browser with a fresh session of the person (the sign-in itself is tested elsewhere)."""
    # start-up: the web's modules, loaded with the tests that use them
    from web.server import create_app
    from workflow.identity import sessions

    client = client_for(create_app(app))
    client.cookies.set("finsam_session", sessions.start(app, email).secret)
    return client
