"""The `finsam` command. Heavy libraries load inside the commands that need them,
and each group of commands is built only when it is used, so `finsam --help`
starts about as fast as a bare Typer app."""

from __future__ import annotations

import gc
import importlib
from typing import Any

import typer
from typer.core import TyperGroup

from cli import admin_cmds, web_cmds

# name: (modules that register the group's commands, the Typer app's attribute, help).
# The help is what `finsam --help` prints without building the group; a test
# checks that it is the group's own.
GROUPS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "plan": (
        ("cli.plan_cmds", "cli.content_cmds"),
        "app",
        "Create plans, move them through the workflow, look at them.",
    ),
    "audit": (("cli.audit_cmds",), "app", "Read and verify the audit trail."),
    "workflow": (("cli.admin_cmds",), "workflow_app", "The förbund's adoption workflow."),
    "cycle": (("cli.cycle_cmds",), "cycle_app", "The yearly cycle of meetings (årshjul)."),
    "meeting": (
        ("cli.cycle_cmds",),
        "meeting_app",
        "Single meetings: add, move, cancel, their papers.",
    ),
    "calendar": (("cli.cycle_cmds",), "calendar_app", "Meetings as iCalendar files."),
    "insats": (("cli.insats_cmds",), "insats_app", "The insatser the förbund funds."),
    "reports": (
        ("cli.insats_cmds", "cli.overview_cmds"),
        "reports_app",
        "The reports the insatser owe: due dates, submissions, the late list.",
    ),
    "outbox": (("cli.outbox_cmds",), "outbox_app", "Messages: queued, sent, failed; deliver them."),
    "scheduler": (
        ("cli.scheduler_cmds",),
        "scheduler_app",
        "Run the year unattended: reminders, kallelser, obligations, delivery.",
    ),
    "db": (
        ("cli.admin_cmds", "cli.store_cmds"),
        "db_app",
        "The database: its location, schema and upgrades.",
    ),
    "schema": (("cli.schema_cmds",), "app", "The förbund file's JSON Schema, for editors."),
}


def load_group(name: str) -> typer.Typer:
    modules, attr, _ = GROUPS[name]
    loaded = [importlib.import_module(m) for m in modules]
    return getattr(loaded[0], attr)


class LazyGroup(TyperGroup):
    """Builds a group of commands when it is called; the top-level help needs only names."""

    listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*self.commands, *(n for n in GROUPS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in GROUPS:
            return self.commands.get(cmd_name)
        if self.listing:  # a stand-in with the name and help is all the listing shows
            return TyperGroup(name=cmd_name, help=GROUPS[cmd_name][2])
        command = typer.main.get_group(load_group(cmd_name))
        command.name = cmd_name
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self.listing = False


app = typer.Typer(
    name="finsam",
    cls=LazyGroup,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # a crash must not print passwords or plan text
)
app.command("init")(admin_cmds.init)
app.command("web")(web_cmds.web)


@app.callback()
def main() -> None:
    """Plan adoption, audit trail and yearly cycle for a samordningsförbund."""
    # a callback keeps `finsam` a group while its only eager command is `init`


def run() -> None:
    """`finsam`: the collector is off while the command's modules load, and their objects
    are frozen out of its reach before it runs (`cli.common.handled`): they live as long
    as the process, and walking them again in each full collection cost a command tens
    of milliseconds (an idle tick on 80 förbund a third of its own work)."""
    gc.disable()
    app()
