"""Building messages: Swedish text and HTML from templates, attachments, calendar invitations.

Every message has a plain-text part (what a screen reader or a strict mail
server sees), an HTML part, and its Message-ID fixed here, before it is stored,
so a retried delivery carries the same id and mail clients can tell a repeat.
"""

from __future__ import annotations

import binascii
import functools
import re
import secrets
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


# ---------------------------------------------------------------- built directly

# A party (name, address) finsam writes itself: the fast path below takes an address
# only when it is a plain ASCII dot-atom on both sides, anything else goes the
# e-mail library's way (`build`), which knows every corner of RFC 5322.
Party = tuple[str, str]

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*\Z")
_PLAIN_PHRASE = re.compile(rf"{_ATEXT}(?: {_ATEXT})*\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# an encoded word holds at most 75 characters: "=?utf-8?b?" + base64 + "?=" (45 bytes: 60)
_WORD_BYTES = 45
_MAX_LINE = 998  # RFC 5322's limit; folding at 78 makes readers show double spaces
_BODY_LINE = 78  # longer body lines are sent quoted-printable, as the e-mail library does


def plain_address(email: str) -> bool:
    """True when `email` can go into a header as it is (ASCII dot-atom @ dot-atom)."""
    local, at, domain = email.rpartition("@")
    return bool(at) and bool(_DOT_ATOM.match(local)) and bool(_DOT_ATOM.match(domain))


def _encoded_words(value: str) -> list[str]:
    """`value` as RFC 2047 encoded words (UTF-8, base64), never splitting a character."""
    data = value.encode("utf-8")
    chunks: list[bytes] = []
    start = 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # inside a character: back off
            end -= 1
        chunks.append(data[start:end])
        start = end
    return [f"=?utf-8?b?{binascii.b2a_base64(w, newline=False).decode('ascii')}?=" for w in chunks]


def _phrase(name: str) -> list[str]:
    """A display name as header words: as it is, quoted, or encoded (non-ASCII, '=?')."""
    if name.isascii() and "=?" not in name:
        if _PLAIN_PHRASE.match(name):
            return name.split(" ")
        return ['"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"']
    return _encoded_words(name)


def _unstructured(value: str) -> list[str]:
    """An unstructured header value (the subject) as words: ASCII as it is, else encoded
    (and so is ASCII that a reader would take for an encoded word, or a word too long
    for a line)."""
    words = value.split(" ")
    if value.isascii() and "=?" not in value and max(map(len, words)) < _MAX_LINE - 20:
        return words
    return _encoded_words(value)


def _fold(name: str, items: list[list[str]], sep: str = "") -> str:
    """'Name: ' and the items' words, separated by `sep` + space, folded before 998 columns."""
    out = [f"{name}:"]
    width = len(name) + 1
    for i, words in enumerate(items):
        for j, w in enumerate(words):
            piece = w + (sep if j == len(words) - 1 and i < len(items) - 1 else "")
            if width + 1 + len(piece) > _MAX_LINE:
                out.append("\n ")
                width = 1
            else:
                out.append(" ")
                width += 1
            out.append(piece)
            width += len(piece)
    return "".join(out)


def _party_words(party: Party) -> list[str]:
    name, email = party
    return [*_phrase(name), f"<{email}>"] if name else [email]


def _text_part(subtype: str, text: str, params: str = "") -> bytes:
    """One text/* part in UTF-8: 7bit or 8bit when its lines are short, else quoted-printable
    (the e-mail library's own choice for such text), lines ending in LF as it writes them."""
    lines = text.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    if max((len(x) for x in lines), default=0) <= _BODY_LINE:
        cte = "7bit" if body.isascii() else "8bit"
    else:
        cte = "quoted-printable"
        body = binascii.b2a_qp(body, istext=True)
        if not body.endswith(b"\n"):
            body += b"\n"
    head = (
        f'Content-Type: text/{subtype}; charset="utf-8"{params}\n'
        f"Content-Transfer-Encoding: {cte}\n\n"
    )
    return head.encode("ascii") + body


def _sender_party(sender: str) -> Party | None:
    """(name, address) of a sender header finsam or a förbund file wrote, if plain."""
    name, email = _parsed(sender)
    return (name, email) if plain_address(email) else None


@functools.lru_cache(maxsize=256)
def _parsed(header: str) -> tuple[str, str]:
    return parseaddr(header)


def build_direct(
    *,
    sender: str,
    reply_to: str | None,
    to: list[Party],
    cc: list[Party] | None,
    subject: str,
    text: str,
    html: str,
    when: Any,
    calendar: tuple[str, bytes] | None = None,
) -> Built:
    """The message `build` makes, written directly: no header is parsed and refolded.

    A sweep queues thousands of messages, and the e-mail library spent most of
    each one's time parsing the headers finsam had just assembled and folding
    them again. The parts here are finsam's own (names and addresses checked on
    the way in, templates' text), so they are written as they are: names and a
    subject with anything beyond plain ASCII as RFC 2047 encoded words, bodies as
    the library would (8bit, or quoted-printable for long lines). Whatever falls
    outside that plain case (an address that is not a plain ASCII dot-atom, a
    control character anywhere in a header) goes to `build`, the library's way,
    which refuses or encodes it as it always did.
    """
    header_values = [subject, *(n for n, _ in to), *(n for n, _ in cc or [])]
    from_party = _sender_party(sender)
    reply_party = _sender_party(reply_to) if reply_to else None
    plain = (
        from_party is not None
        and (reply_to is None or reply_party is not None)
        and all(plain_address(e) for _, e in [*to, *(cc or [])])
        and not any(_CONTROL.search(v) for v in [*header_values, sender, reply_to or ""])
        and (calendar is None or calendar[0] in ("REQUEST", "CANCEL", "PUBLISH"))
    )
    if not plain:
        return build(
            sender=sender,
            reply_to=reply_to,
            to=[address(n, e) for n, e in to],
            cc=[address(n, e) for n, e in cc] if cc else None,
            subject=subject,
            text=text,
            html=html,
            when=when,
            calendar=calendar,
        )
    assert from_party is not None
    domain = from_party[1].rpartition("@")[2] or "finsam.invalid"
    message_id = make_msgid(domain=domain)
    parts = [_text_part("plain", text), _text_part("html", html)]
    if calendar is not None:
        method, ics = calendar
        parts.append(_text_part("calendar", ics.decode("utf-8"), f'; method="{method}"'))
    boundary = "===============" + secrets.token_hex(12) + "=="
    while any(boundary.encode("ascii") in p for p in parts):  # as the library makes sure
        boundary = "===============" + secrets.token_hex(12) + "=="
    headers = [
        _fold("From", [_party_words(from_party)]),
        _fold("To", [_party_words(p) for p in to], ","),
    ]
    if cc:
        headers.append(_fold("Cc", [_party_words(p) for p in cc], ","))
    if reply_party is not None:
        headers.append(_fold("Reply-To", [_party_words(reply_party)]))
    headers += [
        _fold("Subject", [_unstructured(subject)]),
        f"Date: {format_datetime(when)}",
        f"Message-ID: {message_id}",
        "Content-Language: sv",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    out = ["\n".join(headers).encode("ascii"), b"\n\n"]
    delimiter = boundary.encode("ascii")
    for i, p in enumerate(parts):  # the line break before a delimiter belongs to it
        out += [b"\n--" if i else b"--", delimiter, b"\n", p]
    out += [b"\n--", delimiter, b"--\n"]
    recipients = [e for _, e in [*to, *(cc or [])]]
    return Built(subject, from_party[1], list(dict.fromkeys(recipients)), message_id, b"".join(out))
