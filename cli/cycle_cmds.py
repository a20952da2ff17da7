"""`finsam cycle ...`, `finsam meeting ...`, `finsam calendar ...`: the yearly cycle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import AsOpt, ForbundOpt, JsonOpt, app_for_command, handled, parse_date
from cli.output import console, emit, styled, sv_date, table, write_or_print
from notifications.render import render
from workflow.core.exceptions import UsageError
from workflow.cycle import calendar as calendar_export
from workflow.cycle import meetings, protokoll
from workflow.cycle import papers as meeting_docs
from workflow.cycle import wheel as wheel_export
from workflow.cycle.dates import SV_WEEKDAYS

cycle_app = typer.Typer(help="The yearly cycle of meetings (årshjul).", no_args_is_help=True)
meeting_app = typer.Typer(
    help="Single meetings: add, move, cancel, their papers.", no_args_is_help=True
)
calendar_app = typer.Typer(help="Meetings as iCalendar files.", no_args_is_help=True)

YearOpt = Annotated[int, typer.Option("--year", help="The calendar year.")]
MeetingId = Annotated[int, typer.Argument(help="The meeting's id (see 'finsam cycle show').")]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Why (one line; kept in the audit trail).")
]


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

    return SV_WEEKDAYS[date.fromisoformat(m["date"]).weekday()][:3]


@cycle_app.command("generate")
@handled
def generate(
    year: YearOpt,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what the rules give; store nothing.")
    ] = False,
    forbund: ForbundOpt = None,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Propose the year's meetings from the förbund's cycle rules and store them (audited)."""

    data = meetings.generate(app_for_command(), forbund, year, actor_email=actor, dry_run=dry_run)
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

    data = meetings.list_meetings(app_for_command(), forbund, year, body)

    def human(rows: list[dict[str, Any]]) -> None:
        if not rows:
            console().print(
                f"No meetings for {year}: run 'finsam cycle generate --year {year} --as EMAIL'."
            )
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
        bool,
        typer.Option(
            "--force", help="Allow a weekend, holiday or klämdag, or (with --reason) another year."
        ),
    ] = False,
    reason: ReasonOpt = None,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a meeting; its prep meetings keep their distance unless pinned (audited)."""

    day = parse_date(to, "--to")
    assert day is not None
    data = meetings.move(
        app_for_command(), meeting_id, day, at_time, actor_email=actor, force=force, reason=reason
    )

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
        for p in d["plans"]:
            console().print(f"  plan {p['plan']} stays on the agenda of meeting {p['meeting']}")
        for o in d.get("due_moved", []):
            console().print(
                f"  report {o['obligation']} now due {sv_date(o['new_due'])} "
                f"(was {sv_date(o['old_due'])})"
            )

    emit(data, as_json, human)


@meeting_app.command("cancel")
@handled
def cancel(
    meeting_id: MeetingId, reason: ReasonOpt = None, actor: AsOpt = None, as_json: JsonOpt = False
) -> None:
    """Cancel a meeting (kept, exported as cancelled); its prep meetings are cancelled too."""

    data = meetings.cancel(app_for_command(), meeting_id, actor_email=actor, reason=reason)

    def human(d: dict[str, Any]) -> None:
        console().print(f"Meeting {d['meeting']['id']} cancelled")
        for p in d["cancelled"]:
            console().print(f"  cancelled with it: meeting {p['id']} ({p['body_name']})")
        for p in d["plans"]:
            where = f"meeting {p['to']}" if p["to"] else "no later meeting of that body"
            console().print(f"  plan {p['plan']} moves from meeting {p['from']} to {where}")

    emit(data, as_json, human)


@meeting_app.command("add")
@handled
def add(
    body: Annotated[str, typer.Option("--body", help="The body that meets (a body key).")],
    on: Annotated[str, typer.Option("--date", help="The day, YYYY-MM-DD.")],
    at_time: Annotated[
        str | None, typer.Option("--time", help="Start, HH:MM (the body's usual time).")
    ] = None,
    place: Annotated[
        str | None, typer.Option("--place", help="Where (a member key or any place).")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="What the meeting is about.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Allow a weekend, holiday or klämdag.")
    ] = False,
    forbund: ForbundOpt = None,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an ad hoc (extra) meeting of a body; it gets its kallelse like the others."""

    day = parse_date(on, "--date")
    assert day is not None
    data = meetings.add(
        app_for_command(),
        forbund,
        body=body,
        day=day,
        at_time=at_time,
        place=place,
        title=title,
        force=force,
        actor_email=actor,
    )
    emit(
        data,
        as_json,
        lambda m: console().print(
            f"Meeting {m['id']} ({m['body_name']}) added: {sv_date(m['date'])} "
            f"{m['time']}–{m['end']}"
        ),
    )


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

    data = calendar_export.export(app_for_command(), forbund, year, ics, body)
    emit(
        data,
        as_json,
        lambda d: console().print(
            f"Wrote {d['path']}: {d['events']} meetings ({d['cancelled']} cancelled)"
        ),
    )


FormatOpt = Annotated[str, typer.Option("--format", help="md or html.")]
OutputOpt = Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")]


def _write(template: str, fmt: str, context: dict[str, Any], output: Path | None) -> None:

    if fmt not in ("md", "html"):
        raise UsageError(f"--format {fmt!r} is not known", "use md or html")
    write_or_print(render(f"{template}.{fmt}.j2", context), output)


@meeting_app.command("agenda")
@handled
def agenda(meeting_id: MeetingId, as_json: JsonOpt = False) -> None:
    """The föredragningslista: standing items, the plans waiting for this meeting, its theme,
    the reports it handles and the addresses of their overviews."""

    data = meeting_docs.agenda(app_for_command(), meeting_id)

    def human(d: dict[str, Any]) -> None:
        m = d["meeting"]
        console().print(
            styled(
                (m["body_name"], "bold"),
                f" {sv_date(m['date'])} {m['time']}, {m['location'] or ''}",
            )
        )
        for item in d["items"]:
            console().print(f"{item['number']:>3}. {item['title']}")
        reports = d.get("reports", {})
        if reports.get("received") or reports.get("missing"):
            console().print("Rapporter som behandlas:")
            for r in reports["received"]:
                console().print(
                    f"  inkommen: {r['name']} {r['year']}, {r['insats_name']} "
                    f"({sv_date(r['submitted'])})"
                )
            for r in reports["missing"]:
                console().print(
                    f"  saknas: {r['name']} {r['year']}, {r['insats_name']} "
                    f"(senast {sv_date(r['due'])})"
                )
        for o in d["overviews"]:
            # never broken across lines: an address is copied whole
            console().print(f"Översikt: {o['name']} {o['year']} – {o['url']}", soft_wrap=True)

    emit(data, as_json, human)


@meeting_app.command("notice")
@handled
def notice(meeting_id: MeetingId, fmt: FormatOpt = "md", output: OutputOpt = None) -> None:
    """The kallelse in Swedish: who is called, when, where, the agenda, the documents."""

    _write("notice", fmt, meeting_docs.notice(app_for_command(), meeting_id), output)


@meeting_app.command("minutes")
@handled
def minutes(
    meeting_id: MeetingId,
    present: Annotated[
        list[str] | None,
        typer.Option("--present", help="E-mail of someone present (repeat the option)."),
    ] = None,
    justerare: Annotated[
        list[str] | None,
        typer.Option("--justerare", help="E-mail of a justerare (repeat the option)."),
    ] = None,
    remote: Annotated[
        list[str] | None,
        typer.Option("--remote", help="E-mail of someone attending remotely (repeat)."),
    ] = None,
    serving: Annotated[
        list[str] | None,
        typer.Option(
            "--serving",
            help="ERSÄTTARE=LEDAMOT: an ersättare present serving for an absent ledamot "
            "(e-mails; repeat).",
        ),
    ] = None,
    text: Annotated[
        list[str] | None,
        typer.Option(
            "--text",
            help="KEY=TEXT: a §'s text instead of its standard wording (the keys are in "
            "--json's items; repeat).",
        ),
    ] = None,
    send: Annotated[
        bool,
        typer.Option("--send", help="Send the draft to the justerare, each with a link."),
    ] = False,
    fmt: FormatOpt = "md",
    output: OutputOpt = None,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record the protokoll (attendance, justerare, the §§' texts; audited) and render it
    with each § and decision; without --present/--remote/--justerare, render the minutes
    recorded. Recording again makes a new revision: approvals given lapse."""

    app = app_for_command()
    if present or remote or justerare:
        data = protokoll.record_minutes(
            app,
            meeting_id,
            present or [],
            justerare or [],
            actor_email=actor,
            remote=remote or [],
            serving=_pairs(serving or [], "--serving", "ERSÄTTARE=LEDAMOT", empty=False),
            texts=_pairs(text or [], "--text", "KEY=TEXT"),
            send=send,
        )
    elif serving or text or send:
        raise UsageError(
            "--serving, --text and --send go with recording the minutes",
            "give --present (or --remote) and --justerare as well",
        )
    else:
        data = protokoll.minutes(app, meeting_id)
    if as_json:
        emit(data, True, lambda d: None)
        return
    _write("minutes", fmt, data, output)


def _pairs(values: list[str], option: str, shape: str, *, empty: bool = True) -> dict[str, str]:
    """`A=B` options as a mapping; a value without `=`, with nothing before it (or after
    it, unless `empty`), or a key given twice is refused, naming the shape."""
    out: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        key = key.strip()
        if not sep or not key or not (empty or rest.strip()):
            raise UsageError(f"{option} {value!r} is not {shape}", f"give {option} {shape}")
        if key in out:
            raise UsageError(f"{option} {key} is given twice", f"give each {option} once")
        out[key] = rest
    return out


JusterareOpt = Annotated[
    str | None,
    typer.Option("--as", envvar="FINSAM_USER", help="E-mail of the justerare."),
]


@meeting_app.command("justera")
@handled
def justera(
    meeting_id: MeetingId,
    actor: JusterareOpt = None,
    revision: Annotated[
        int | None,
        typer.Option(
            "--revision",
            min=1,
            help="The revision of the draft you read (see 'meeting minutes'); refused if "
            "it has changed since.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A justerare approves the minutes; the last approval starts the three-week appeal time."""

    data = protokoll.justera(app_for_command(), meeting_id, actor, revision=revision)

    def human(d: dict[str, Any]) -> None:
        if d["approved"]:
            console().print(
                f"Minutes of meeting {d['meeting']['id']} approved. Notice on the "
                f"anslagstavla from {sv_date(d['posted_on'])}; appeals until "
                f"{sv_date(d['appeal_ends'])}."
            )
        else:
            waiting = [
                p["name"]
                for p in d["justerare"]
                if p["email"].lower() not in {a["email"] for a in d["approvals"]}
            ]
            console().print(f"Approval recorded; waiting for {', '.join(waiting)}.")

    emit(data, as_json, human)


@meeting_app.command("request-change")
@handled
def request_change(
    meeting_id: MeetingId,
    comment: Annotated[
        str,
        typer.Option("--comment", help="What should change (goes to the förbundschef)."),
    ],
    actor: JusterareOpt = None,
    revision: Annotated[
        int | None,
        typer.Option(
            "--revision", min=1, help="The revision of the draft you read; refused if changed."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A justerare asks for a change of the draft instead of approving it; the förbundschef
    records a new revision and the justering starts over."""

    data = protokoll.request_change(
        app_for_command(), meeting_id, actor, comment, revision=revision
    )

    def human(d: dict[str, Any]) -> None:
        console().print(
            f"Change requested on revision {d['revision']} of the minutes of meeting "
            f"{d['meeting']['id']}; the förbundschef records a new revision."
        )

    emit(data, as_json, human)


@cycle_app.command("wheel")
@handled
def wheel(
    year: YearOpt,
    output: Annotated[Path, typer.Option("-o", "--output", help="The SVG file to write.")],
    forbund: ForbundOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Draw the year's årshjul as SVG: the months round a circle, a ring per body."""

    data = wheel_export.write(app_for_command(), forbund, year, output)
    emit(
        data,
        as_json,
        lambda d: console().print(
            f"Wrote {d['path']}: {d['meetings']} meetings in {len(d['bodies'])} rings"
        ),
    )
