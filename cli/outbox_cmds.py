"""`finsam outbox ...`: what is waiting to be sent, sending it, and what happened."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import AsOpt, JsonOpt, app_for_command, handled
from cli.output import console, emit, older_line, styled, sv_datetime, table, visible

if TYPE_CHECKING:  # types only: the services load when a command runs (start-up)
    from workflow.mail.delivery import MessagePage

outbox_app = typer.Typer(help="Messages: queued, sent, failed; deliver them.", no_args_is_help=True)
# the page size without --limit (the service's own default, `delivery.PAGE_SIZE`)
PAGE_SIZE = 50
MessageId = Annotated[int, typer.Argument(help="The message's id (see 'finsam outbox list').")]


@outbox_app.command("list")
@handled
def list_(
    state: Annotated[
        str | None, typer.Option("--state", help="queued, sending, sent, failed or skipped.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", help="Show at most this many (1 to 1000).")
    ] = PAGE_SIZE,
    before: Annotated[
        int | None,
        typer.Option("--before", help="Only messages older than this id: the next page."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The messages, newest first, with their state and last error, a page at a time.

    Below the table (in --json: "next") is how to see the older ones.
    """
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.mail import delivery as outbox

    page = outbox.list_messages(app_for_command(), state, limit=limit, before=before)
    emit(page, as_json, lambda p: _print_page(p, state, limit))


def _print_page(page: MessagePage, state: str | None, limit: int) -> None:
    table(
        "Utkorg",
        ["id", "slag", "ämne", "till", "tillstånd", "försök", "skickat", "fel"],
        [
            [
                r["id"],
                r["kind"],
                r["subject"],
                ", ".join(r["recipients"]),
                r["state"],
                r["attempts"],
                sv_datetime(r["sent_at"]),
                r["last_error"] or "",
            ]
            for r in page["messages"]
        ],
    )
    if page["next"] is not None:
        options = [("--state", state or None), ("--limit", None if limit == PAGE_SIZE else limit)]
        console().print(older_line("outbox list", options, page["next"]["before"]))


@outbox_app.command("queue")
@handled
def queue(as_json: JsonOpt = False) -> None:
    """Queue the reminders and kallelser that have fallen due (safe to repeat).

    Exit 1 when some message could not be made (the others are queued).
    """
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.mail import compose as notify

    data = notify.sweep(app_for_command())

    def human(d: dict[str, Any]) -> None:
        console().print(f"Queued {d['reminders']} reminder(s) and {d['notices']} kallelse(r)")
        if d.get("failed"):
            console(stderr=True).print(f"{d['failed']} message(s) could not be made:")
            for problem in d["problems"]:
                console(stderr=True).print(f"  {problem}")

    emit(data, as_json, human)
    if data.get("failed"):
        raise typer.Exit(1)


@outbox_app.command("send")
@handled
def send(
    limit: Annotated[int | None, typer.Option("--limit", help="Send at most this many.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Deliver what is due through FINSAM_MAIL_URL and exit (1 when anything failed)."""
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.mail import delivery as outbox

    app = app_for_command()
    worker = outbox.worker_name()
    data: dict[str, Any] = dict(outbox.send(app, limit, worker=worker))
    # what another deliverer holds is not sent now: say so, or a quiet run looks idle
    data["held"] = outbox.held_elsewhere(app, worker)
    emit(data, as_json, _print_send)
    if data["failed"] or data["transient"]:
        raise typer.Exit(1)


def _print_send(d: dict[str, Any]) -> None:
    line = (
        f"sent {d['sent']}, retry later {d['transient']}, failed {d['failed']}, "
        f"skipped {d['skipped']}"
    )
    if d["lost"]:
        line += f", lost {d['lost']} (their lease ran out; another deliverer has them)"
    console().print(line)
    for h in d["held"]:
        n = h["messages"]
        what = "1 message is" if n == 1 else f"{n} messages are"
        console().print(
            f"{what} being sent by {h['by']} until {_clock_time(h['until'])}; "
            "they are not sent again now"
        )


def _clock_time(instant: str) -> str:
    """'10:42:07' in Europe/Stockholm: a lease lasts minutes, the date goes without saying."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return (
        datetime.fromisoformat(instant)
        .astimezone(ZoneInfo("Europe/Stockholm"))
        .strftime("%H:%M:%S")
    )


@outbox_app.command("retry")
@handled
def retry(message_id: MessageId, actor: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Put a failed message back in the queue, to go with the next send.

    A message that failed before it was made (its draft could not be rendered)
    is made anew now from the corrected data; exit 1 if it still cannot be.
    """
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.mail import compose as notify
    from workflow.mail import delivery as outbox

    app = app_for_command()
    data: dict[str, Any] = dict(outbox.retry(app, message_id, actor))
    if data["state"] == "draft":
        notify.render_drafts(app)
        data = dict(outbox.show(app, message_id))
        data.pop("raw", None)
        data.pop("attempts_log", None)

    def human(d: dict[str, Any]) -> None:
        if d["state"] == "failed":
            console().print(f"Message {d['id']} still cannot be made: {d['last_error']}")
            return
        rest = [r for r in d["recipients"] if r not in d["accepted"]]
        line = f"Message {d['id']} queued again"
        if d["accepted"]:  # a partial failure: the others have it already
            line += f", only to {', '.join(rest)} (the others have accepted it)"
        console().print(line)

    emit(data, as_json, human)
    if data["state"] == "failed":
        raise typer.Exit(1)


@outbox_app.command("show")
@handled
def show(message_id: MessageId, as_json: JsonOpt = False) -> None:
    """The whole message as it will be (or was) sent, and every attempt."""
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.mail import delivery as outbox

    data = outbox.show(app_for_command(), message_id)

    def human(d: dict[str, Any]) -> None:
        console().print(
            styled((f"Message {d['id']}", "bold"), f" ({d['state']}, {d['attempts']} attempts)")
        )
        if d["accepted"] and d["state"] != "sent":
            console().print(f"  accepted by {', '.join(d['accepted'])}")
        for a in d["attempts_log"]:
            console().print(
                f"  {sv_datetime(a['at'])} {a['recipient']}: {a['outcome']} {a['detail']}"
            )
        if d["last_error"] and not d["raw"]:  # never made: why, instead of an empty message
            console().print(f"  could not be made: {d['last_error']}")
        typer.echo(visible(d["raw"]))

    emit(data, as_json, human)
