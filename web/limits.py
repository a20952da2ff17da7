"""How large a request's body may be, checked before anything reads it.

Every POST's form is parsed by the guard (for its CSRF token) before a route
runs, and an upload is spooled to disk as it is parsed: without a limit a
visitor could fill the disk with one request. A body declared larger than the
limit (Content-Length) is refused at once with 413; one that is not declared
(chunked) is counted as it arrives and refused once past it. The limit is the
largest report file (FINSAM_MAX_UPLOAD_MB) plus room for the form's fields.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.responses import TITLES, render_text
from workflow.core.settings import max_upload_bytes

FORM_ROOM = 1_000_000  # bytes for a form's fields and the multipart framing


class TooLarge(Exception):
    """The body passed the limit while it was being read."""


def limit() -> int:
    return max_upload_bytes() + FORM_ROOM


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.most = limit()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.most):
            await _refuse(send, self.most)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.most:
                    raise TooLarge()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except TooLarge:
            if not started:
                await _refuse(send, self.most)


async def _refuse(send: Send, most: int) -> None:
    body = render_text(
        "error.html",
        {
            "title": TITLES[413],
            "message": f"Filen eller formuläret är för stort: högst {most // 1_000_000} MB tas "
            "emot. Ingenting ändrades.",
            "hint": "Välj en mindre fil, eller dela upp rapporten.",
            "person": None,
            "csrf": "",
            "signin_csrf": "",
            "path": "",
        },
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
