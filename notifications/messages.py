"""Building messages: Swedish text and HTML from templates, attachments, calendar invitations.

Every message has a plain-text part (what a screen reader or a strict mail
server sees), an HTML part, and its Message-ID fixed here, before it is stored,
so a retried delivery carries the same id and mail clients can tell a repeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from notifications.render import render


@dataclass
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"


@dataclass
class Built:
    subject: str
    sender: str
    recipients: list[str]
    message_id: str
    raw: bytes
    attachments: list[str] = field(default_factory=list)


def render_parts(kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) from mail/<kind>.subject.j2, .txt.j2 and .html.j2."""
    subject = " ".join(render(f"mail/{kind}.subject.j2", context).split())
    text = render(f"mail/{kind}.txt.j2", context)
    html = render(f"mail/{kind}.html.j2", context)
    return subject, text, html


def build(
    *,
    sender: str,
    reply_to: str | None,
    to: list[str],
    cc: list[str] | None,
    subject: str,
    text: str,
    html: str,
    when: Any,
    attachments: list[Attachment] | None = None,
    calendar: tuple[str, bytes] | None = None,
) -> Built:
    """An EmailMessage as bytes; `calendar` is (method, ics) for an invitation."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "finsam.invalid"
    message_id = make_msgid(domain=domain)
    msg["Message-ID"] = message_id
    msg["Content-Language"] = "sv"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if calendar is not None:
        method, ics = calendar
        msg.add_alternative(
            ics.decode("utf-8"), subtype="calendar", params={"method": method, "charset": "utf-8"}
        )
    for a in attachments or []:
        msg.add_attachment(a.content, maintype=a.maintype, subtype=a.subtype, filename=a.filename)
    recipients = [parseaddr(r)[1] for r in [*to, *(cc or [])]]
    # folding a header at 78 columns before an encoded word makes readers show a
    # double space ("gruppens  möte"); RFC 5322 allows 998
    raw = msg.as_bytes(policy=msg.policy.clone(max_line_length=998))
    return Built(
        subject,
        parseaddr(sender)[1],
        list(dict.fromkeys(recipients)),
        message_id,
        raw,
        [a.filename for a in attachments or []],
    )


def address(name: str, email: str) -> str:
    """'Namn Efternamn <a@b.se>' with the name encoded as mail needs."""
    local, _, domain = email.partition("@")
    return str(Address(display_name=name, username=local, domain=domain)) if name else email
