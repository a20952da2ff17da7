"""What of a message is not kept once it has gone: the secrets some kinds carry.

A sign-in mail, and each report mail with a personal link, holds a one-time
link whose token opens a session; the database keeps the token only as a hash,
so the mail's stored text must not keep it either. The delivery hides it in
`raw` the moment the message is settled (sent, skipped, or failed: a sign-in
mail will not go again; a report mail keeps it while failed, see
KEPT_FOR_RETRY), and every view of a message hides it while it still waits.
Kinds and their patterns are data here, so another secret kind is one row more.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage

HIDDEN = "[inloggningslänken visas inte]"

# kind -> what in its text is a secret (the link with its token, whole)
_LINK = re.compile(r"https?://[^\s\"'<>]+/signin/[A-Za-z0-9_-]{16,}")
SECRETS: dict[str, re.Pattern[str]] = {
    "signin": _LINK,
    # the report mails carry a personal link (workflow.mail.links) that signs in too
    "reminder": _LINK,
    "returned": _LINK,
    "owed": _LINK,
    # the justering mails: a justerare's link to the minutes, the förbundschef's to revise them
    "justering": _LINK,
    "minutes_change": _LINK,
}


# kinds whose text is kept while they failed, so `outbox retry` can send them again:
# a report mail matters after a refusal is fixed (its link may have expired by then;
# the page it opens offers a fresh one). A sign-in mail is asked for again instead.
KEPT_FOR_RETRY = frozenset({"reminder", "returned", "owed", "justering", "minutes_change"})


def holds_secret(kind: str) -> bool:
    return kind in SECRETS


def hidden_when(kind: str, state: str) -> bool:
    """Whether a message of `kind` settled in `state` loses its secret now."""
    if kind not in SECRETS or state == "queued":
        return False
    return state in ("sent", "skipped") or kind not in KEPT_FOR_RETRY


def redact(kind: str, raw: bytes) -> bytes:
    """`raw` with the kind's secrets replaced by HIDDEN in every text part (decoded
    first: a quoted-printable line break cannot hide a token); `raw` itself when
    the kind has none or nothing matched. A text that cannot be read as a mail is
    not kept at all rather than keeping its secret (a delivery never stops on it)."""
    pattern = SECRETS.get(kind)
    if pattern is None or not raw:
        return raw
    try:
        return _redacted(pattern, raw)
    except Exception:  # not a mail we made: nothing of it is safe to keep
        return HIDDEN.encode()


def _redacted(pattern: re.Pattern[str], raw: bytes) -> bytes:
    message = message_from_bytes(raw, _class=EmailMessage, policy=policy.SMTP)
    changed = False
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        assert isinstance(part, EmailMessage)
        text = part.get_content()
        hidden = pattern.sub(HIDDEN, text)
        if hidden != text:
            part.set_content(hidden, subtype=part.get_content_subtype(), charset="utf-8")
            changed = True
    return message.as_bytes() if changed else raw
