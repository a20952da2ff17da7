"""`finsam cycle ...`, `finsam meeting ...`, `finsam calendar ...`: the yearly cycle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import ForbundOpt, JsonOpt, app_for_command, handled, parse_date
from cli.output import console, emit, sv_date, table

cycle_app = typer.Typer(help="The yearly cycle of meetings (årshjul).", no_args_is_help=True)
meeting_app = typer.Typer(help="Single meetings: move, cancel.", no_args_is_help=True)
calendar_app = typer.Typer(help="Meetings as iCalendar files.", no_args_is_help=True)

YearOpt = Annotated[int, typer.Option("--year", help="The calendar year.")]
MeetingId = Annotated[int, typer.Argument(help="The meeting's id (see 'finsam cycle show').")]


def meetings_table(title: str, rows: list[dict[str, Any]]) -> None:
    table(
        title,
        ["id", "datum", "tid", "organ", "tema", "plats", "status", "anm."],
        [
            [
                m["id"] if m["id"] is not None else "–",
                f"{sv_date(m['date'])} ({_weekday(m)})",
                f"{m['time']}–{m['end']}",
                m.get("body_name", m["body"])
                + (f" + {', '.join(m['joint_with'])}" if m["joint_with"] else ""),
                m["theme"],
                m["location"] or "",
                m["status"],
                m["note"],
            ]
            for m in rows
        ],
    )


def _weekday(m: dict[str, Any]) -> str:
    from datetime import date

    from workflow.cycle_dates import SV_WEEKDAYS

    return SV_WEEKDAYS[date.fromisoformat(m["date"]).weekday()][:3]


@cycle_app.command("generate")
@handled
def generate(
    year: YearOpt,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what the rules give; store nothing.")
    ] = False,
    forbund: ForbundOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose the year's meetings from the förbund's cycle rules and store them."""
    from workflow import meetings

    data = meetings.generate(app_for_command(), forbund, year, dry_run=dry_run)
    title = f"Förslag {year} (inget sparat)" if dry_run else f"Möten {year}"
    emit(
        data,
        as_json,
        lambda rows: meetings_table(title, sorted(rows, key=lambda m: (m["date"], m["time"]))),
    )


@cycle_app.command("show")
@handled
def show(
    year: YearOpt,
    body: Annotated[
        str | None, typer.Option("--body", help="Only this body's meetings (a body key).")
    ] = None,
    forbund: ForbundOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The year's meetings by date, with Swedish dates."""
    from workflow import meetings

    data = meetings.list_meetings(app_for_command(), forbund, year, body)

    def human(rows: list[dict[str, Any]]) -> None:
        if not rows:
            console().print(f"No meetings for {year}: run 'finsam cycle generate --year {year}'.")
            return
        meetings_table(f"Möten {year}", rows)

    emit(data, as_json, human)


@meeting_app.command("move")
@handled
def move(
    meeting_id: MeetingId,
    to: Annotated[str, typer.Option("--to", help="The new date, YYYY-MM-DD.")],
    at_time: Annotated[str | None, typer.Option("--time", help="New start, HH:MM.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Allow a weekend, holiday or klämdag.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Move a meeting; its prep meetings keep their distance unless pinned."""
    from workflow import meetings

    day = parse_date(to, "--to")
    assert day is not None
    data = meetings.move(app_for_command(), meeting_id, day, at_time, force=force)

    def human(d: dict[str, Any]) -> None:
        m = d["meeting"]
        console().print(
            f"Meeting {m['id']} ({m['body_name']}) now {sv_date(m['date'])} "
            f"{m['time']}, sequence {m['sequence']}"
        )
        for p in d["moved"]:
            console().print(
                f"  moved with it: meeting {p['id']} ({p['body_name']}) to "
                f"{sv_date(p['date'])} {p['time']}"
            )

    emit(data, as_json, human)


@meeting_app.command("cancel")
@handled
def cancel(meeting_id: MeetingId, as_json: JsonOpt = False) -> None:
    """Cancel a meeting (kept, exported as cancelled); its prep meetings are cancelled too."""
    from workflow import meetings

    data = meetings.cancel(app_for_command(), meeting_id)

    def human(d: dict[str, Any]) -> None:
        console().print(f"Meeting {d['meeting']['id']} cancelled")
        for p in d["cancelled"]:
            console().print(f"  cancelled with it: meeting {p['id']} ({p['body_name']})")

    emit(data, as_json, human)


@calendar_app.command("export")
@handled
def export(
    year: YearOpt,
    ics: Annotated[Path, typer.Option("--ics", help="Write the iCalendar file here.")],
    body: Annotated[str | None, typer.Option("--body", help="Only this body.")] = None,
    forbund: ForbundOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the year's meetings as RFC 5545 (METHOD:PUBLISH) for Outlook, Google, Apple."""
    from workflow import calendar_export

    data = calendar_export.export(app_for_command(), forbund, year, ics, body)
    emit(
        data,
        as_json,
        lambda d: console().print(
            f"Wrote {d['path']}: {d['events']} meetings ({d['cancelled']} cancelled)"
        ),
    )
