"""`finsam outbox ...`: what is waiting to be sent, sending it, and what happened."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.common import JsonOpt, app_for_command, handled
from cli.output import console, emit, sv_datetime, table

outbox_app = typer.Typer(help="Messages: queued, sent, failed; deliver them.", no_args_is_help=True)
MessageId = Annotated[int, typer.Argument(help="The message's id (see 'finsam outbox list').")]


@outbox_app.command("list")
@handled
def list_(
    state: Annotated[
        str | None, typer.Option("--state", help="queued, sending, sent, failed or skipped.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The messages, oldest first, with their state and last error."""
    from workflow import outbox

    data = outbox.list_messages(app_for_command(), state)
    emit(
        data,
        as_json,
        lambda rows: table(
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
                for r in rows
            ],
        ),
    )


@outbox_app.command("queue")
@handled
def queue(as_json: JsonOpt = False) -> None:
    """Queue the reminders and kallelser that have fallen due (safe to repeat)."""
    from workflow import notify

    data = notify.sweep(app_for_command())
    emit(
        data,
        as_json,
        lambda d: console().print(
            f"Queued {d['reminders']} reminder(s) and {d['notices']} kallelse(r)"
        ),
    )


@outbox_app.command("send")
@handled
def send(
    limit: Annotated[int | None, typer.Option("--limit", help="Send at most this many.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Deliver what is due through FINSAM_MAIL_URL and exit (1 when anything failed)."""
    from workflow import outbox

    data = outbox.send(app_for_command(), limit)
    emit(
        data,
        as_json,
        lambda d: console().print(
            f"sent {d['sent']}, retry later {d['transient']}, failed {d['failed']}, "
            f"skipped {d['skipped']}"
        ),
    )
    if data["failed"] or data["transient"]:
        raise typer.Exit(1)


@outbox_app.command("retry")
@handled
def retry(message_id: MessageId, as_json: JsonOpt = False) -> None:
    """Put a failed message back in the queue, to go with the next send."""
    from workflow import outbox

    data = outbox.retry(app_for_command(), message_id)
    emit(data, as_json, lambda d: console().print(f"Message {d['id']} queued again"))


@outbox_app.command("show")
@handled
def show(message_id: MessageId, as_json: JsonOpt = False) -> None:
    """The whole message as it will be (or was) sent, and every attempt."""
    from workflow import outbox

    data = outbox.show(app_for_command(), message_id)

    def human(d: dict[str, Any]) -> None:
        console().print(f"[bold]Message {d['id']}[/] ({d['state']}, {d['attempts']} attempts)")
        for a in d["attempts_log"]:
            console().print(
                f"  {sv_datetime(a['at'])} {a['recipient']}: {a['outcome']} {a['detail']}"
            )
        typer.echo(d["raw"])

    emit(data, as_json, human)
