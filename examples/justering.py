"""The demo's November board meeting, recorded and justerat the way people do it in the
browser: through `finsam web`'s own pages, with the mail the demo's SMTP server saved.

    python examples/justering.py MEETING MAILDIR CHEF JUSTERARE JUSTERARE SERVING:ABSENT

In this process, on the demo's database and its clock (moved as the story goes):

1. the förbundschef asks for a sign-in link for the meeting's protokoll page at /signin,
   opens the link from the delivered mail, and records the minutes in the form: a
   justerare attending remotely, an ersättare serving for an absent ledamot, a § of
   her own words; then "Spara och skicka till justerarna";
2. the first justerare opens the link from his mail and asks for a change;
3. the förbundschef opens the link from that mail, revises the § and sends again
   (revision 2: nothing approved before counts);
4. both justerare open their new links and press "Justera": the protokoll is frozen
   and its notice is on the anslagstavla, which is read without signing in.

The web's log lines go to web-justering.log beside MAILDIR. A form is posted as a
browser would post it: every field as the page shows it, with the changes a person
makes. Each step prints what happened.
"""

from __future__ import annotations

import re
import sys
import warnings
from datetime import datetime
from email import message_from_bytes, policy
from email.utils import getaddresses
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

LINK = re.compile(r"https?://[^\s\"<>]+(/signin/[A-Za-z0-9_-]{43})")


class Form(HTMLParser):
    """The fields of the page's form that posts to `action`, as the page shows them."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.fields = action, False, []  # type: ignore[var-annotated]
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("hidden", "text", "email") or (
                kind in ("radio", "checkbox") and "checked" in a
            ):
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, unescape(self._text).strip("\n")))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self._text += data


def form_of(html: str, action: str) -> list[tuple[str, str]]:
    found = Form(action)
    found.feed(html)
    assert found.fields, f"no form posting to {action}"
    return list(found.fields)


def as_data(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The pairs as a form body: each name with its values, in order."""
    out: dict[str, list[str]] = {}
    for key, value in fields:
        out.setdefault(key, []).append(value)
    return out


def changed(fields: list[tuple[str, str]], **values: Any) -> list[tuple[str, str]]:
    """`fields` with each named field set (a list: checkboxes, one pair each)."""
    out = [(k, v) for k, v in fields if k not in values]
    for key, value in values.items():
        out += [(key, v) for v in (value if isinstance(value, list) else [value])]
    return out


class Story:
    def __init__(self, meeting: int, maildir: Path) -> None:
        # start-up: finsam and its web load only when the demo gets here
        warnings.filterwarnings("ignore", message=".*httpx.*")  # the test client's own
        from fastapi.testclient import TestClient

        from web.server import create_app
        from workflow.bootstrap import bootstrap
        from workflow.core.clock import FixedClock
        from workflow.core.logs import EventLog

        self.meeting, self.maildir = meeting, maildir
        self.clock = FixedClock(datetime.fromisoformat("2027-11-24T09:00+01:00"))
        self.app = bootstrap(clock=self.clock)
        self.api = create_app(self.app)
        # the web's own log lines (one JSON event each) go beside the mail, not on screen
        self.log = (maildir.parent / "web-justering.log").open("a", encoding="utf-8")
        self.api.state.log = EventLog(self.clock, "web:demo", self.log)
        self.client_class = TestClient

    def at(self, when: str) -> None:
        self.clock.set(datetime.fromisoformat(when + "+01:00"))

    def browser(self) -> Any:
        return self.client_class(self.api, follow_redirects=False)

    def deliver(self) -> None:
        # start-up: the outbox loads with the first mail sent
        from workflow.mail import delivery

        delivery.send(self.app)

    def link_to(self, email: str, subject: str) -> str:
        """The sign-in link in the newest saved mail to `email` whose subject has `subject`."""
        for path in sorted(self.maildir.glob("*.eml"), reverse=True):
            mail = message_from_bytes(path.read_bytes(), policy=policy.default)
            to = [a.lower() for _, a in getaddresses([str(mail["To"] or "")])]
            if email in to and subject in str(mail["Subject"]):
                text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
                found = LINK.search(text)
                assert found, text
                return found.group(1)
        raise SystemExit(f"no mail to {email} about {subject!r} in {self.maildir}")

    def follow(self, link: str) -> Any:
        """Open a mailed link in a fresh browser and press "Logga in"; the page it opens."""
        browser = self.browser()
        confirm = browser.get(link)
        done = browser.post(link, data=as_data(form_of(confirm.text, link)))
        assert done.status_code == 303, done.text
        return browser, done.headers["location"]

    def post(self, browser: Any, path: str, fields: list[tuple[str, str]]) -> Any:
        answer = browser.post(path, data=as_data(fields))
        assert answer.status_code == 303, answer.text
        return browser.get(answer.headers["location"])


def main() -> int:
    meeting, maildir = int(sys.argv[1]), Path(sys.argv[2])
    chef, first, second = sys.argv[3:6]
    serving, absent = sys.argv[6].split(":")
    story = Story(meeting, maildir)
    page = f"/moten/{meeting}/protokoll"
    justering = f"/moten/{meeting}/justering"
    informs = "text:standing-forbundschefen-informerar"

    story.at("2027-11-24T09:00")
    browser = story.browser()
    signin = browser.get(f"/signin?next={page}")
    asked = browser.post(
        "/signin", data=as_data(changed(form_of(signin.text, "/signin"), email=chef))
    )
    assert asked.status_code == 200, asked.text
    story.deliver()
    browser, opened = story.follow(story.link_to(chef, "inloggningslänk"))
    form = form_of(browser.get(opened).text, page)
    told = "Förbundschefen informerar om arbetet med nästa års insatser."
    shown = story.post(
        browser,
        page,
        changed(
            form,
            **{
                f"status:{first}": "present",
                f"status:{second}": "remote",
                f"status:{absent}": "absent",
                f"status:{serving}": "present",
                f"serving:{serving}": absent,
                "justerare": [first, second],
                informs: told,
                "action": "skicka",
            },
        ),
    )
    assert "skickat till justerarna" in shown.text, shown.text
    print(f"24 nov 09:00  {chef} records the minutes at {page} and sends them to the justerare")
    story.deliver()

    story.at("2027-11-25T10:00")
    browser, opened = story.follow(story.link_to(first, "justera"))
    fields = changed(
        form_of(browser.get(opened).text, f"{justering}/andring"),
        comment="Skriv gärna att informationen gällde ansökningarna om medel för 2028.",
    )
    story.post(browser, f"{justering}/andring", fields)
    print(f"25 nov 10:00  {first} opens {opened} and asks for a change")
    story.deliver()

    story.at("2027-11-25T13:00")
    browser, opened = story.follow(story.link_to(chef, "Ändring"))
    form = form_of(browser.get(opened).text, page)
    revised = told[:-1] + " och ansökningarna om medel för 2028."
    story.post(browser, page, changed(form, **{informs: revised, "action": "skicka"}))
    print(f"25 nov 13:00  {chef} revises the § and sends utkast 2: earlier approvals lapse")
    story.deliver()

    for when, who in (("2027-11-25T15:00", first), ("2027-11-26T09:55", second)):
        story.at(when)
        browser, opened = story.follow(story.link_to(who, "justera"))
        approved = story.post(browser, justering, form_of(browser.get(opened).text, justering))
        assert approved.status_code == 200
        print(f"{when[8:10]} nov {when[11:]}  {who} opens the new draft and presses Justera")

    board = story.browser().get("/sydostra-skane/anslagstavla")
    assert board.status_code == 200 and f"/sydostra-skane/protokoll/{meeting}" in board.text
    print("The notice is on the anslagstavla, without signing in: /sydostra-skane/anslagstavla")
    story.app.engine.dispose()
    story.log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
