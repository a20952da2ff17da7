"""`finsam db check`: the report files against the rows that name them."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.admin_cmds import db_app
from cli.common import JsonOpt, app_for_command, handled
from cli.output import console, emit


@db_app.command("check")
def db_check(
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Publish or remove what killed submissions left, remove orphan files "
            "(never a file a row names).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Report files: orphans (no row names them), dangling references (a row's file is
    missing or altered) and stale staged files. Exit 0 when clean, 1 when not (after
    --repair: what is left)."""
    if not _check(repair, as_json):
        raise typer.Exit(1)  # raised here, outside `handled`, which turns errors into exits


@handled
def _check(repair: bool, as_json: bool) -> bool:
    """Print what the check found; whether the store is clean."""
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.reports import files

    data = files.check(app_for_command(), repair=repair)
    emit(data, as_json, _human)
    return data["clean"]


def _human(d: Any) -> None:
    out = console()
    out.print(
        f"Report files in {d['store']}: {d['stored_files']} stored, "
        f"{d['referenced']} named by rows."
    )
    for line in d["repaired"]:
        out.print(f"repaired: {line}")
    for rel in d["orphans"]:
        out.print(f"orphan: {rel} (no row names it; --repair removes it)")
    for item in d["dangling"]:
        what = "is missing" if item["problem"] == "missing" else "no longer has those bytes"
        out.print(
            f"dangling: the file sha256 {item['sha256']} named by "
            f"{', '.join(item['referenced_by'])} {what}"
        )
    for rel in d["staging"]:
        out.print(f"stale: {rel} (a submission that was killed; --repair settles it)")
    for rel in d["in_progress"]:
        out.print(f"in progress: {rel} (a submission being received now)")
    if d["clean"]:
        out.print("Clean: every stored file is named by a row and every named file is there.")
    elif d["dangling"]:
        out.print(
            "A dangling reference needs the file back: restore it from the backup of the "
            "report folder (it is named by its sha256)."
        )
