"""`finsam plan ...`: create, edit, move and look at plans."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import AsOpt, ForbundOpt, JsonOpt, app_for_command, handled, parse_date
from cli.output import console, emit, older_line, styled, sv_date, sv_datetime, table
from workflow.core.exceptions import UsageError
from workflow.core.text import optional_line, optional_text, single_line
from workflow.plans import services as plans
from workflow.plans.content import read_content

app = typer.Typer(
    help="Create plans, move them through the workflow, look at them.", no_args_is_help=True
)

PlanId = Annotated[int, typer.Argument(help="The plan's id (see 'finsam plan list').")]
# the page size of 'plan list' without --limit (the services' own default, `paging.PAGE_SIZE`)
LIST_SIZE = 50
FromOpt = Annotated[
    Path | None,
    typer.Option("--from", "--file", help="The content: a plan file (.toml) or Markdown text."),
]
IfVersionOpt = Annotated[
    int | None,
    typer.Option("--if-version", help="Refuse (exit 3) unless the plan is still at this version."),
]


def _read(path: Path | None) -> Any:
    if path is None:
        return None

    return read_content(path)


@app.command("new")
@handled
def new(
    year: Annotated[
        int | None, typer.Option("--year", help="The (first) year; default: the plan file's.")
    ] = None,
    until: Annotated[int | None, typer.Option(help="Last year, for a multi-year plan.")] = None,
    title: Annotated[str | None, typer.Option(help="Title; default from the year(s).")] = None,
    file: FromOpt = None,
    forbund: ForbundOpt = None,
    actor: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create the plan for a year, in the workflow's first state (draft)."""

    data = plans.create(
        app_for_command(),
        forbund_key=forbund,
        year=year,
        last_year=until,
        title=optional_line(title, "--title", "title"),
        actor_email=actor,
        content=_read(file),
        source=str(file),
    )
    emit(
        data,
        as_json,
        lambda d: console().print(
            f"Created plan {d['id']}: {d['title']} ({d['forbund']}), state {d['state']}"
        ),
    )


@app.command("list")
@handled
def list_(
    forbund: ForbundOpt = None,
    limit: Annotated[
        int, typer.Option("--limit", help="Show at most this many (1 to 1000).")
    ] = LIST_SIZE,
    before: Annotated[
        str | None,
        typer.Option("--before", help="Only plans older than this YEAR:ID (the next page)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The plans, newest year first, a page at a time.

    Below the table (in --json: "next") is how to see the older ones.
    """
    # start-up: the cursor's parser loads when the command runs, as the services do
    from workflow.core import paging

    cursor = None if before is None else paging.parse_year_cursor(before)
    data = plans.plan_page(app_for_command(), forbund, limit=limit, before=cursor)

    def human(page: plans.PlanPage) -> None:
        rows = page["plans"]
        if not rows and before is None:
            console().print("No plans yet: create one with 'finsam plan new --year YEAR'.")
            return
        table(
            "Planer",
            ["id", "förbund", "år", "titel", "tillstånd", "rev.", "ändrad"],
            [
                [
                    r["id"],
                    r["forbund"],
                    _years(dict(r)),
                    r["title"],
                    r["state_label"],
                    r["revision"],
                    sv_datetime(r["updated_at"]),
                ]
                for r in rows
            ],
        )
        if page["next"] is not None:
            options = [("--forbund", forbund), ("--limit", None if limit == LIST_SIZE else limit)]
            console().print(older_line("plan list", options, page["next"]["before"]))

    emit(data, as_json, human)


def _meeting_ref(text: str | None) -> Any:
    """`--meeting` as a meeting's id (digits) or its date."""
    if text is not None and text.strip().isascii() and text.strip().isdigit():
        if len(text.strip()) > 18:  # beyond any id a database column holds
            raise UsageError(f"--meeting {text.strip()} is out of range", "give a meeting's id")
        return int(text)
    return parse_date(text, "--meeting")


def _years(r: dict[str, Any]) -> str:
    return str(r["year"]) if r["year"] == r["last_year"] else f"{r['year']}–{r['last_year']}"


@app.command("show")
@handled
def show(plan_id: PlanId, as_json: JsonOpt = False) -> None:
    """Show a plan: revisions, recommendations, and the actions open now with who may take them."""

    data = plans.show(app_for_command(), plan_id)

    def human(d: dict[str, Any]) -> None:
        out = console()
        out.print(
            styled((f"Plan {d['id']}", "bold"), f": {d['title']} ({d['forbund']}, {_years(d)})")
        )
        out.print(
            f"Tillstånd: {d['state_label']} ({d['state']}), revision {d['revision']}, "
            f"version {d['version']}"
        )
        table(
            "Revisioner",
            ["nr", "titel", "skapad", "fryst", "antagen", "innehåll (sha256)"],
            [
                [
                    r["number"],
                    r["title"],
                    sv_datetime(r["created_at"]),
                    sv_datetime(r["frozen_at"]),
                    "ja" if r["adopted"] else "",
                    r["content_sha256"][:12],
                ]
                for r in d["revisions"]
            ],
        )
        if d["recommendations"]:
            table(
                "Förslag till beslut (denna revision)",
                ["organ", "förslag", "möte", "text"],
                [
                    [e["body"], e["outcome"], sv_date(e["meeting"]), e["comment"]]
                    for e in d["recommendations"]
                ],
            )
        if d.get("adoption"):
            out.print(f"Antagandet: {d['adoption']['note']}")
        if d["open_actions"]:
            table(
                "Möjliga åtgärder nu",
                ["åtgärd", "beskrivning", "till", "vem"],
                [
                    [
                        a["action"],
                        a["label"],
                        a["to"] or "(valfritt, --to)",
                        f"{a['who']}: {', '.join(a['people']) or 'ingen i förbundsfilen'}",
                    ]
                    for a in d["open_actions"]
                ],
            )
        else:
            out.print("No action is open in this state.")

    emit(data, as_json, human)


@app.command("edit")
@handled
def edit(
    plan_id: PlanId,
    file: FromOpt = None,
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    actor: AsOpt = None,
    if_version: IfVersionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change the draft's text or title; a revision that has left draft is frozen."""

    data = plans.edit(
        app_for_command(),
        plan_id,
        actor_email=actor,
        title=optional_line(title, "--title", "title"),
        content=_read(file),
        expected_version=if_version,
        source=str(file),
    )
    emit(
        data,
        as_json,
        lambda d: console().print(
            f"Plan {d['plan']} revision {d['revision']} updated (sha256 {d['content_sha256'][:12]})"
        ),
    )


@app.command("move")
@handled
def move(
    plan_id: PlanId,
    action: Annotated[str, typer.Argument(help="The action, e.g. submit, recommend-adopt, adopt.")],
    actor: AsOpt = None,
    comment: Annotated[
        str | None,
        typer.Option(help="Recommendation text or reason (required to send back or reject)."),
    ] = None,
    meeting: Annotated[
        str | None,
        typer.Option(
            help="The meeting where the body acted: its date (YYYY-MM-DD) or its id "
            "(see 'finsam cycle show')."
        ),
    ] = None,
    paragraph: Annotated[str | None, typer.Option(help="The § in the minutes.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Target state (force only).")] = None,
    if_version: IfVersionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Take a workflow action on a plan (who acts: --as or FINSAM_USER)."""

    data = plans.move(
        app_for_command(),
        plan_id,
        single_line(action, "ACTION", "key"),
        actor_email=actor,
        comment=optional_text(comment, "--comment", "comment"),
        meeting=_meeting_ref(meeting),
        paragraph=optional_line(paragraph, "--paragraph", "line"),
        target=optional_line(to, "--to", "key"),
        expected_version=if_version,
    )

    def human(d: dict[str, Any]) -> None:
        line = f"Plan {d['plan']}: {d['action']}, {d['from']} → {d['to']}"
        if d["new_revision"]:
            line += f"; revision {d['new_revision']} opened"
        if d["follows_recommendation"] is not None:
            line += (
                "; follows the recommendations"
                if d["follows_recommendation"]
                else "; departs from the recommendations"
            )
        if d.get("paragraph"):
            line += f"; § {d['paragraph']}"
        console().print(line)
        if d.get("placed_on"):
            placed = d["placed_on"]
            console().print(
                f"On the agenda of {placed['body']}: meeting {placed['meeting']}, "
                f"{sv_datetime(placed['starts_at'])}"
            )
        for warning in d.get("warnings", []):
            console(stderr=True).print(f"warning: {warning}")

    emit(data, as_json, human)


@app.command("history")
@handled
def history(plan_id: PlanId, as_json: JsonOpt = False) -> None:
    """The plan's full history from the audit trail."""

    data = plans.history(app_for_command(), plan_id)
    emit(data, as_json, lambda rows: history_table(f"Historik, plan {plan_id}", rows))


def history_table(title: str, rows: list[dict[str, Any]]) -> None:
    table(
        title,
        ["#", "när", "vem (roll)", "åtgärd", "från → till", "rev.", "möte §", "kommentar"],
        [
            [
                r["seq"],
                sv_datetime(r["at"]),
                f"{r['actor_name']} ({r['role']})",
                r["action"]
                + (
                    ""
                    if r["follows_recommendation"] is None
                    else " (enligt förslag)"
                    if r["follows_recommendation"]
                    else " (avviker från förslag)"
                ),
                f"{r['from'] or '–'} → {r['to']}",
                str(r["revision"]) + (f"→{r['new_revision']}" if r["new_revision"] else ""),
                " ".join(
                    x
                    for x in (
                        sv_date(r["meeting"]),
                        f"§ {r['paragraph']}" if r["paragraph"] else "",
                    )
                    if x
                ),
                r["comment"],
            ]
            for r in rows
        ],
    )
