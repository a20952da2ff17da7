"""`finsam scheduler ...`: the daemon, one tick for cron, and its health for monitoring."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.common import JsonOpt, app_for_command, handled
from cli.output import console, emit, styled, sv_datetime, table
from workflow.bootstrap import clock_at
from workflow.scheduler import daemon as scheduler
from workflow.scheduler import nodes, sweeps

scheduler_app = typer.Typer(
    help="Run the year unattended: reminders, kallelser, obligations, delivery.",
    no_args_is_help=True,
)


@scheduler_app.command("run")
@handled
def run() -> None:
    """Run the sweeps on their intervals until SIGTERM or SIGINT (for systemd or a container).

    Catches up first on what fell due while no node ran. Logs one JSON line per
    event on stderr. Intervals: FINSAM_SCHEDULER_{YEAR,NOTIFY,OUTBOX}_SECONDS.
    """

    config = scheduler.settings()
    raise typer.Exit(scheduler.Daemon(app_for_command(), config).run())


@scheduler_app.command("tick")
@handled
def tick(
    now: Annotated[
        str | None,
        typer.Option(
            "--now", help="Run as if it were this instant (2027-03-29T08:00, local time)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be queued and sent; change nothing.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing on stdout (the log stays).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run every sweep once and exit (for cron); exit 1 when a sweep or a message failed.

    Logs one JSON line per event on stderr, like the daemon.
    """

    app = app_for_command()
    if now is not None:
        app.clock = clock_at(now, "--now ")
    if dry_run:
        data = sweeps.dry_run(app)
        emit(data, as_json, _print_dry_run)
        return
    results = scheduler.tick(app)
    if not quiet:
        emit(results, as_json, _print_tick)
    if any(_failed(r) for r in results):
        raise typer.Exit(1)


@scheduler_app.command("status")
@handled
def status(as_json: JsonOpt = False) -> None:
    """Nodes, the last run of each sweep, the outbox, and what is due next.

    Exit 0 when healthy; 1 when the outbox has failed messages, the last run of
    a sweep failed or could not make some message, or no node has beaten within
    FINSAM_SCHEDULER_STALE_SECONDS (default 300).
    """

    config = scheduler.settings()
    data = nodes.status(app_for_command(), scheduler.stale_after(config))
    emit(data, as_json, _print_status)
    if not data["healthy"]:
        raise typer.Exit(1)


# ---------------------------------------------------------------- helpers


def _failed(result: dict[str, Any]) -> bool:
    counts = result.get("counts") or {}
    return result["outcome"] == "error" or bool(counts.get("failed") or counts.get("transient"))


def _what(counts: dict[str, Any]) -> str:
    """'reminders 2, notices 0, failed 1' and, on lines of their own, what failed."""
    numbers = ", ".join(f"{k} {v}" for k, v in counts.items() if k != "problems")
    return "\n".join([numbers, *counts.get("problems", [])])


def _print_tick(results: list[dict[str, Any]]) -> None:
    rows = []
    for r in results:
        what = r.get("error") or _what(r.get("counts") or {})
        rows.append([r["sweep"], r["outcome"], what])
    table("Genomgång", ["sweep", "utfall", "vad"], rows)


def _print_dry_run(data: dict[str, Any]) -> None:
    console().print(f"Som om klockan vore {sv_datetime(data['now'])} (inget ändras):")
    console().print(
        f"  skulle skapa {data['year']['obligations']} rapporttider, "
        f"{data['year']['cycle_reminders']} påminnelser om sammanträdesplan, "
        f"{data['notify']['reminders']} rapportpåminnelser, {data['notify']['notices']} kallelser"
    )
    table(
        "Skulle skickas",
        ["id", "förbund", "slag", "till", "ämne"],
        [
            [
                m["id"],
                m["forbund"],
                m["kind"],
                ", ".join(m["to"]),
                m["subject"] if "error" not in m else f"kan inte skapas: {m['error']}",
            ]
            for m in data["would_send"]
        ],
    )


def _print_status(data: dict[str, Any]) -> None:
    table(
        "Noder",
        ["nod", "slag", "värd", "pid", "startad", "senaste puls", "stoppad", "lever"],
        [
            [
                n["name"],
                n["kind"],
                n["host"],
                n["pid"],
                sv_datetime(n["started_at"]),
                sv_datetime(n["last_beat"]),
                sv_datetime(n["stopped_at"]),
                "ja" if n["alive"] else "nej",
            ]
            for n in data["nodes"]
        ],
    )
    table(
        "Genomgångar",
        ["sweep", "nod", "startad", "klar", "utfall", "vad"],
        [
            [
                w["name"],
                w["node"],
                sv_datetime(w["started_at"]),
                sv_datetime(w["finished_at"]),
                w["outcome"],
                _what(w["detail"] or {}),
            ]
            for w in data["sweeps"]
        ],
    )
    o = data["outbox"]
    console().print(
        f"Utkorg: {o['queued']} i kö, {o['sending']} skickas, {o['sent']} skickade, "
        f"{o['failed']} misslyckade"
    )
    nxt = data["next_due"]
    console().print(
        f"Näst på tur: {nxt['what']}, {sv_datetime(nxt['at'])}" if nxt else "Inget på tur."
    )
    for p in data["problems"]:
        console().print(styled(("Problem:", "red"), f" {p}"))
    console().print("Frisk." if data["healthy"] else styled(("Inte frisk.", "red")))
