"""`finsam plan revise|check|diff|render`: the plan as a document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import AsOpt, JsonOpt, app_for_command, handled
from cli.output import console, emit, emit_json, styled, table, write_or_print
from cli.plan_cmds import FromOpt, IfVersionOpt, PlanId, _read, app
from notifications.render import render as render_template
from workflow.core.exceptions import UsageError
from workflow.core.text import optional_text
from workflow.plans import documents as plan_docs
from workflow.plans import services as plans
from workflow.plans.budget import FIGURE_LABELS, tkr

Target = Annotated[str, typer.Argument(help="A plan id, or the path of a plan file (.toml).")]
ForbundFileOpt = Annotated[
    Path | None,
    typer.Option("--forbund-file", help="The förbund file, for a plan file outside the database."),
]
RevisionOpt = Annotated[int | None, typer.Option("--revision", help="Which revision (a plan id).")]


@app.command("revise")
@handled
def revise(
    plan_id: PlanId,
    file: FromOpt = None,
    comment: Annotated[str | None, typer.Option(help="Why the plan is revised.")] = None,
    actor: AsOpt = None,
    if_version: IfVersionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Store a file as a new revision (via the workflow's 'revise' once the plan left draft)."""

    if file is None:
        raise UsageError("no content given", "give the new revision with --from FILE")
    data = plans.revise(
        app_for_command(),
        plan_id,
        _read(file),
        actor_email=actor,
        comment=optional_text(comment, "--comment", "comment"),
        source=str(file),
        expected_version=if_version,
    )
    emit(
        data,
        as_json,
        lambda d: console().print(
            f"Plan {d['plan']}: revision {d['new_revision']} stored ({d['from']} → {d['to']})"
        ),
    )


@app.command("check")
@handled
def check(
    target: Target,
    forbund_file: ForbundFileOpt = None,
    revision: RevisionOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute the budget and compare with the printed figures; exit 1 when there are errors."""

    loaded = plan_docs.load(target, app_for_command, forbund_file, revision)
    report = plan_docs.report_of(loaded)
    data = {
        "source": loaded.source,
        "plan": loaded.plan_id,
        "revision": loaded.revision,
        **report.as_dict(),
    }
    if as_json:
        emit_json(data)
    else:
        _print_report(data)
    if report.errors:
        raise typer.Exit(1)


def _print_report(d: dict[str, Any]) -> None:

    out = console()
    out.print(styled((d["source"], "bold")))
    if d["columns"]:
        cols = d["columns"]
        rows = []
        for key, label in FIGURE_LABELS.items():
            values = [c["computed"].get(key) for c in cols]
            if any(v is not None for v in values):
                rows.append([label, *(tkr(v) if v is not None else "" for v in values)])
        table("Beräknat (tkr)", ["", *(c["label"] for c in cols)], rows)
    marks = {"error": "FEL", "warning": "VARNING", "info": "INFO"}
    for f in d["findings"]:
        out.print(f"{marks[f['severity']]}: {f['message']}")
    out.print(f"{d['errors']} error(s), {d['warnings']} warning(s)")


@app.command("diff")
@handled
def diff(
    plan_id: PlanId,
    from_rev: Annotated[int | None, typer.Option("--from", help="Older revision.")] = None,
    to_rev: Annotated[
        int | None, typer.Option("--to", help="Newer revision (default last).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What changed between two revisions: section texts and budget lines."""

    data = plan_docs.diff(app_for_command(), plan_id, from_rev, to_rev)

    def human(d: dict[str, Any]) -> None:
        out = console()
        out.print(styled((f"Plan {d['plan']}: revision {d['from']} → {d['to']}", "bold")))
        if not d["sections"] and not d["budget"]:
            out.print("No differences.")
        for s in d["sections"]:
            out.print(styled("\n", (s["title"], "bold"), f" ({s['status']})"))
            out.print(s["diff"], highlight=False)
        if d["budget"]:
            table(
                "Budget (tkr)",
                ["rad", "år", "före", "efter", "förändring"],
                [
                    [
                        b["label"],
                        b["year"],
                        tkr(b["old"]) if b["old"] is not None else "–",
                        tkr(b["new"]) if b["new"] is not None else "–",
                        ("+" if b["change"] > 0 else "") + tkr(b["change"]),
                    ]
                    for b in d["budget"]
                ],
            )

    emit(data, as_json, human)


@app.command("render")
@handled
def render(
    target: Target,
    fmt: Annotated[str, typer.Option("--format", help="md or html.")] = "html",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")] = None,
    forbund_file: ForbundFileOpt = None,
    revision: RevisionOpt = None,
) -> None:
    """Render the plan as a Swedish verksamhetsplan: Markdown, or one printable HTML file (A4)."""

    if fmt not in ("md", "html"):
        raise UsageError(f"--format {fmt!r} is not known", "use md or html")
    loaded = plan_docs.load(target, app_for_command, forbund_file, revision)
    write_or_print(render_template(f"plan.{fmt}.j2", plan_docs.document(loaded)), output)
