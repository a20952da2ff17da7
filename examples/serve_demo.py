"""The demo in the browser: `finsam web` on the demo's database, and sign-in links.

    python examples/serve_demo.py FINSAM MAILDIR EMAIL...

Starts `FINSAM web` on FINSAM_BASE_URL's port of 127.0.0.1 (its log in MAILDIR's
parent folder, web.log), asks it for a sign-in
link for each EMAIL the way a browser does (the form at /signin, its CSRF token),
delivers the queued mail through FINSAM_MAIL_URL (the demo's SMTP server, which
saves each message in MAILDIR), reads each link back from the saved message like
any mail, and prints them. Then it serves until Ctrl-C. A project leader signs in
like anyone (an insats names them) and lands on their reports. Someone no förbund
file and no insats names cannot sign in: it says so instead of waiting for a mail
that never comes.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from email import message_from_bytes, policy
from email.utils import getaddresses
from pathlib import Path
from typing import Any

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINK = re.compile(r"https?://[^\s\"<>]+/signin/[A-Za-z0-9_-]{43}")
WAIT = 30.0  # seconds for the server to answer and for a mail to arrive


def main() -> int:
    finsam, maildir, emails = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    base = os.environ["FINSAM_BASE_URL"].rstrip("/")
    port = urllib.parse.urlsplit(base).port or 80
    log = maildir.parent / "web.log"
    with log.open("wb") as out:  # the web's own lines (one JSON event per line) go there
        command = [finsam, "web", "--host", "127.0.0.1", "--port", str(port)]
        web = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        if not _up(base, web):
            print(f"finsam web did not start on {base}:\n{log.read_text()}", file=sys.stderr)
            return 1
        _print_links(base, maildir, emails)
        print(f"The public anslagstavla, without signing in: {base}/sydostra-skane/anslagstavla")
        print(f"\nServing the demo at {base} (its log: {log}); Ctrl-C stops it.", flush=True)
        web.wait()
    except KeyboardInterrupt:
        print("\nStopping finsam web.", flush=True)
    finally:
        if web.poll() is None:
            web.terminate()
        web.wait()
    return 0


def _up(base: str, web: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and web.poll() is None:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                return bool(answer.status == 200)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    return False


def _print_links(base: str, maildir: Path, emails: list[str]) -> None:
    # start-up: finsam loads once the server is up, so a taken port is told at once
    from workflow.bootstrap import bootstrap
    from workflow.core.uow import read
    from workflow.identity import people

    app = bootstrap()
    try:
        with read(app) as uow:
            found = {e: people.find(uow.session, e) for e in emails}
        known = [e for e, person in found.items() if person is not None]
        seen = _saved(maildir)
        for email in known:
            _ask_for_link(base, email)
        links = _links_by_mail(app, maildir, seen, known)
    finally:
        app.engine.dispose()
    print("Sign-in links, read from the mail the demo's SMTP server received (each works once):")
    for email, person in found.items():
        if person is None:
            print(f"  {email}: no link; no förbund file or insats names this address")
        else:
            print(f"  {person.name} <{email}>:\n    {links[email]}")


def _ask_for_link(base: str, email: str) -> None:
    """GET the form and POST it with its CSRF token and cookie, as a browser would."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{base}/signin", timeout=10) as form:
        token = CSRF.search(form.read().decode())
    assert token, "the sign-in page has no CSRF token"
    data = urllib.parse.urlencode({"email": email, "csrf": token.group(1)}).encode()
    with opener.open(f"{base}/signin", data=data, timeout=10) as answer:
        assert answer.status == 200, answer.status


def _saved(maildir: Path) -> set[tuple[Path, int]]:
    """The messages in MAILDIR, each as it is now (a sink started again reuses names)."""
    return {(p, p.stat().st_mtime_ns) for p in maildir.glob("*.eml")}


def _links_by_mail(
    app: Any, maildir: Path, seen: set[tuple[Path, int]], emails: list[str]
) -> dict[str, str]:
    """Deliver the outbox through the demo's SMTP server until each address has its
    mail in MAILDIR (the web queues a link just after it answers); each one's link."""
    # start-up: as above
    from workflow.mail import delivery as outbox

    links: dict[str, str] = {}
    deadline = time.monotonic() + WAIT
    while set(emails) - set(links):
        if time.monotonic() > deadline:
            raise SystemExit(f"no sign-in mail reached {maildir} for {set(emails) - set(links)}")
        outbox.send(app)
        for saved in sorted(_saved(maildir) - seen):
            seen.add(saved)
            path = saved[0]
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            found = LINK.search(text)
            to = {a.lower() for _, a in getaddresses([str(message["To"] or "")])}
            if found:
                links.update(dict.fromkeys(to & set(emails), found.group(0)))
        time.sleep(0.05)
    return links


if __name__ == "__main__":
    sys.exit(main())
