"""The running site the browser tests use, and how a person signs in to it.

(A module of its own rather than the conftest: `tests/web` has a conftest too, and
two modules named `conftest` cannot both be imported by name in one run.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
class Server:
    """`finsam web` as a program on a fixed port of loopback, its output in `log`.

    Stopped and started again on the same port and database it is the honest way
    to move a standing clock (FINSAM_NOW is read at start): the sessions are rows
    in the database, so the browsers stay signed in as long as their expiry allows."""

    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [FINSAM, "web", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._healthy, f"{self.url}/healthz to answer 200")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _healthy(self) -> bool:
        import httpx

        process = self.process
        assert process is not None
        if process.poll() is not None:
            pytest.fail(f"finsam web exited with {process.returncode}:\n{self.log.read_text()}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


@dataclass
class Site:
    """The running `finsam web`, its database, and the SMTP server its mail goes to."""

    url: str
    database_url: str
    sink: Sink
    env: dict[str, str]
    plan_id: int
    log: Path
    server: Server | None = None

    def move_clock(self, now: str) -> None:
        """Time passes: `finsam web` stops and starts again at `now` (and so does
        every `finsam` this site runs). Nothing sleeps; no session is touched."""
        assert self.server is not None, "this site's clock stands still"
        self.server.stop()
        self.env["FINSAM_NOW"] = now
        self.server.start()

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
        return self.deliver_links({email: before})[email]

    def deliver_links(self, before: dict[str, int]) -> dict[str, str]:
        """`deliver_link` for several people at once: one `finsam outbox send` for all."""
        for email, count in before.items():
            queued = lambda e=email, c=count: self.queued_signins(e) > c  # noqa: E731
            wait_until(queued, f"a sign-in mail to {email}")
        self.finsam("outbox", "send")
        return {email: self._link_in(email, count) for email, count in before.items()}

    def _link_in(self, email: str, before: int) -> str:
        mails = wait_until(lambda: self.mail_to(email)[before:], f"the SMTP server to get {email}")
        text = mails[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        found = LINK.search(text)
        assert found, text
        assert found.group(0).startswith(self.url), (found.group(0), self.url)
        return found.group(0)


def open_profile(browser: Any, site: Site, opened: list[Any]) -> Any:
    """A page in a fresh browser profile (no cookies) at the site's address; the profile
    goes into `opened`, which the test's `browsers` fixture closes."""
    ctx = browser.new_context(base_url=site.url, locale="sv-SE")
    ctx.set_default_timeout(WAIT * 1000)
    opened.append(ctx)
    return ctx.new_page()


def ask_for_link(page: Any, site: Site, email: str) -> str:
    """Ask for a link at /signin with the mouse; the link as the mail delivered it."""
    before = site.queued_signins(email)
    ask(page, email)
    return site.deliver_link(email, before)


def ask(page: Any, email: str) -> None:
    """Ask for a sign-in link at /signin with the mouse (the mail is queued after)."""
    page.goto("/signin")
    page.get_by_label("E-postadress").fill(email)
    page.get_by_role("button", name="Skicka inloggningslänk").click()
    page.get_by_role("heading", name="Kolla din e-post").wait_for()


def sign_in(page: Any, site: Site, email: str) -> None:
    """The whole sign-in as a person does it: ask, open the mailed link, press the button."""
    link = ask_for_link(page, site, email)
    confirm(page, site, link)


def confirm(page: Any, site: Site, link: str) -> None:
    """Open the mailed link and press "Logga in": the desk follows."""
    page.goto(link)
    page.get_by_role("button", name="Logga in", exact=True).click()
    page.wait_for_url(f"{site.url}/")
    page.get_by_role("heading", name="Mina förbund").wait_for()


def sign_in_all(site: Site, pages: dict[str, Any]) -> None:
    """Sign each page's person in (email: page), their mail sent out at once."""
    before = {email: site.queued_signins(email) for email in pages}
    for email, page in pages.items():
        ask(page, email)
    for email, link in site.deliver_links(before).items():
        confirm(pages[email], site, link)


WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def violations(page: Any) -> str:
    """The violations axe finds on the page as it stands, as a readable report ('' if none):
    the axe-core `axe-playwright-python` ships, the rules tagged WCAG 2.0/2.1 A and AA."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(
        page, options={"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]}
    )
    return results.generate_report() if results.violations_count else ""


def focused(page: Any) -> tuple[str, str]:
    """The focused element's tag and its text (or its value for a field)."""
    tag, text = page.evaluate(
        "() => [document.activeElement.tagName,"
        " (document.activeElement.innerText || document.activeElement.value || '').trim()]"
    )
    return tag, text


def tab_to(page: Any, tag: str, text: str | None = None, most: int = 12) -> None:
    """Press Tab until an element of `tag` (with `text`, when given) has the focus,
    failing after `most` presses."""
    for _ in range(most):
        page.keyboard.press("Tab")
        now = focused(page)
        if now[0] == tag and (text is None or now[1] == text):
            return
    raise AssertionError(f"no {tag} {text or ''} reached with {most} presses of Tab")


@contextmanager
def services(site: Site) -> Iterator[Any]:
    """finsam as a command of the site's would open it (its FINSAM_ variables: the
    database, the file store, the site's address for links, and its clock as it stands),
    in this process: setting data up takes milliseconds where a `finsam` process takes
    most of a second. The variables are restored when it closes."""
    # start-up: finsam loads only when a browser is there to use the site
    from workflow.bootstrap import bootstrap

    before = {n: os.environ.get(n) for n in site.env if n.startswith("FINSAM_")}
    os.environ.update({n: site.env[n] for n in before})
    app = bootstrap()
    try:
        yield app
    finally:
        app.engine.dispose()
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
