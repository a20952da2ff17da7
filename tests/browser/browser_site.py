"""The running site the browser tests use, and how a person signs in to it.

(A module of its own rather than the conftest: `tests/web` has a conftest too, and
two modules named `conftest` cannot both be imported by name in one run.)
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from smtp_sink import Sink

FINSAM = str(Path(sys.executable).with_name("finsam"))
LINK = re.compile(r"https?://[^\s\"<>]+/signin/[A-Za-z0-9_-]{43}")
WAIT = 20.0  # seconds: the longest any condition may take on a loaded machine


def wait_until(check: Callable[[], Any], what: str) -> Any:
    """Ask `check` until it answers something true: for what another process does
    after answering (the web queues a sign-in mail after its response), where
    there is no response or selector to wait on. Fails saying what never came."""
    deadline = time.monotonic() + WAIT
    pause = threading.Event()
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"waited {WAIT:.0f} s for {what}")
        pause.wait(0.02)


@dataclass
class Site:
    """The running `finsam web`, its database, and the SMTP server its mail goes to."""

    url: str
    database_url: str
    sink: Sink
    env: dict[str, str]
    plan_id: int
    log: Path

    def finsam(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`finsam ARGS` against the site's database, on its clock; must succeed."""
        result = subprocess.run(
            [FINSAM, *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def queued_signins(self, email: str) -> int:
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT recipients FROM outbox_message WHERE kind = 'signin'")
                )
                return sum(email in str(r.recipients) for r in rows)
        finally:
            engine.dispose()

    def mail_to(self, email: str) -> list[EmailMessage]:
        return [r.message for r in self.sink.received if email in r.recipients]

    def deliver_link(self, email: str, before: int) -> str:
        """The newest sign-in link to `email`, once the web has queued its
        (`before`+1)th and `finsam outbox send` has delivered it over SMTP."""
        wait_until(lambda: self.queued_signins(email) > before, f"a sign-in mail to {email}")
        self.finsam("outbox", "send")
        mails = wait_until(lambda: self.mail_to(email)[before:], f"the SMTP server to get {email}")
        text = mails[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        found = LINK.search(text)
        assert found, text
        assert found.group(0).startswith(self.url), (found.group(0), self.url)
        return found.group(0)


def ask_for_link(page: Any, site: Site, email: str) -> str:
    """Ask for a link at /signin with the mouse; the link as the mail delivered it."""
    before = site.queued_signins(email)
    page.goto("/signin")
    page.get_by_label("E-postadress").fill(email)
    page.get_by_role("button", name="Skicka inloggningslänk").click()
    page.get_by_role("heading", name="Kolla din e-post").wait_for()
    return site.deliver_link(email, before)


def sign_in(page: Any, site: Site, email: str) -> None:
    """The whole sign-in as a person does it: ask, open the mailed link, press the button."""
    link = ask_for_link(page, site, email)
    page.goto(link)
    page.get_by_role("button", name="Logga in", exact=True).click()
    page.wait_for_url(f"{site.url}/")
    page.get_by_role("heading", name="Mina förbund").wait_for()
