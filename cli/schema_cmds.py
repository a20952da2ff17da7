"""`finsam schema ...`: the förbund file described for editors (JSON Schema) and people.

Needs no database: it describes the file format this version of finsam accepts.
The generator loads only when the command runs, so `finsam --help` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import handled
from cli.output import write_or_print

app = typer.Typer(help="The förbund file's JSON Schema, for editors.", no_args_is_help=True)


@app.command("forbund")
@handled
def forbund(
    markdown: Annotated[
        bool,
        typer.Option(
            "--markdown",
            help="Print the reference (docs/forbund-file.md) instead of the JSON Schema.",
        ),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write to this file instead of standard output."),
    ] = None,
) -> None:
    """The JSON Schema (draft 2020-12) of the förbund file, for Taplo / Even Better TOML."""
    # start-up: the generator and its models load only when the command runs
    from workflow.forbund import schema

    write_or_print(schema.forbund_markdown() if markdown else schema.schema_json(), output)
