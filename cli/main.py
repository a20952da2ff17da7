"""The `finsam` command. Heavy libraries load inside the commands that need them,
so `finsam --help` starts about as fast as a bare Typer app."""

from __future__ import annotations

import typer

from cli import (
    admin_cmds,
    audit_cmds,
    content_cmds,
    cycle_cmds,
    insats_cmds,
    outbox_cmds,
    plan_cmds,
    scheduler_cmds,
)

app = typer.Typer(
    name="finsam",
    help="Plan adoption, audit trail and yearly cycle for a samordningsförbund.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a crash must not print passwords or plan text
)
app.command("init")(admin_cmds.init)
app.add_typer(plan_cmds.app, name="plan")  # with content_cmds
assert content_cmds.app is plan_cmds.app
app.add_typer(audit_cmds.app, name="audit")
app.add_typer(admin_cmds.workflow_app, name="workflow")
app.add_typer(cycle_cmds.cycle_app, name="cycle")
app.add_typer(cycle_cmds.meeting_app, name="meeting")
app.add_typer(cycle_cmds.calendar_app, name="calendar")
app.add_typer(insats_cmds.insats_app, name="insats")
app.add_typer(insats_cmds.reports_app, name="reports")
app.add_typer(outbox_cmds.outbox_app, name="outbox")
app.add_typer(scheduler_cmds.scheduler_app, name="scheduler")
app.add_typer(admin_cmds.db_app, name="db")


def run() -> None:
    app()
