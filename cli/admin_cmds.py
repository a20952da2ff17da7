"""Setting up: `finsam init`, `finsam db ...` and `finsam workflow show`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import AsOpt, ForbundOpt, JsonOpt, handled
from cli.output import console, emit, table
from workflow.core.settings import shown_url

db_app = typer.Typer(help="The database: its location, schema and upgrades.", no_args_is_help=True)
workflow_app = typer.Typer(help="The förbund's adoption workflow.", no_args_is_help=True)

ForbundFileOpt = Annotated[Path, typer.Option("--forbund", help="The förbund file (TOML).")]


@handled
def init(forbund: ForbundFileOpt, actor: AsOpt = None, as_json: JsonOpt = False) -> None:
    """Create or upgrade the database and register (or update) a förbund from its file.

    Audited: a new förbund names --as when given (else finsam init and the OS
    user); a changed file of a registered förbund needs --as of a person the
    stored file allows ([permissions] forbund), and its row says who changed.
    """
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.bootstrap import bootstrap
    from workflow.core.db import upgrade
    from workflow.forbund import registry as forbunds
    from workflow.forbund.file import load_forbund

    cfg = load_forbund(forbund)
    app = bootstrap(must_exist=False, check=False)
    before, after = upgrade(app.engine)
    data = forbunds.register(app, cfg, actor)
    data["database"] = shown_url(app.url)
    data["schema"] = {"before": before, "after": after}
    emit(
        data,
        as_json,
        lambda d: console().print(
            f"Database {d['database']} at schema {after}; förbund {d['key']} ({d['name']}) "
            f"{d['outcome']}."
        ),
    )


@db_app.command("upgrade")
@handled
def db_upgrade(as_json: JsonOpt = False) -> None:
    """Create the schema or bring it to this version's newest; data is kept."""
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.bootstrap import bootstrap
    from workflow.core.db import upgrade

    app = bootstrap(must_exist=False, check=False)
    before, after = upgrade(app.engine)
    data = {"database": shown_url(app.url), "before": before, "after": after}
    emit(
        data,
        as_json,
        lambda d: console().print(
            f"{d['database']}: schema {d['before'] or '(empty)'} → {d['after']}"
        ),
    )


@db_app.command("copy")
@handled
def db_copy(
    to: Annotated[str, typer.Option("--to", help="The empty database to copy into (a URL).")],
    as_json: JsonOpt = False,
) -> None:
    """Copy every row into another, empty database (e.g. SQLite to PostgreSQL)."""
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.bootstrap import bootstrap
    from workflow.core import db_copy as copying

    data = copying.copy(bootstrap(), to)
    emit(
        data,
        as_json,
        lambda d: console().print(
            f"{d['from']} → {d['to']}: {sum(d['rows'].values())} rows in {len(d['rows'])} tables"
        ),
    )


@db_app.command("status")
@handled
def db_status(as_json: JsonOpt = False) -> None:
    """Where the database is, how it was found, and its schema revision."""
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.core.db import current_revision, head_revision, make_engine
    from workflow.core.settings import database_location

    loc = database_location()
    engine = make_engine(loc.url, source=loc.source)
    current = current_revision(engine)
    data = {
        "database": shown_url(loc.url),
        "found_by": loc.source,
        "schema": current,
        "newest": head_revision(),
        "up_to_date": current == head_revision(),
    }
    emit(
        data,
        as_json,
        lambda d: console().print(
            f"{d['database']} (from {d['found_by']}); schema {d['schema']}, newest {d['newest']}"
        ),
    )


@workflow_app.command("show")
@handled
def workflow_show(
    forbund: ForbundOpt = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="Draw the workflow of a förbund file instead of the database's."
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, mermaid or dot.")] = "table",
    as_json: JsonOpt = False,
) -> None:
    """The förbund's workflow, drawn from its data."""
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from states import diagram
    from workflow.core.exceptions import UsageError

    if fmt not in ("table", "mermaid", "dot"):
        raise UsageError(f"--format {fmt!r} is not known", "use table, mermaid or dot")
    cfg = _config(forbund, file)
    wf = cfg.workflow_def
    if fmt == "mermaid":
        typer.echo(diagram.mermaid(wf), nl=False)
        return
    if fmt == "dot":
        typer.echo(diagram.dot(wf), nl=False)
        return
    data = {
        "forbund": cfg.forbund.key,
        "initial": wf.initial,
        "states": [
            {"name": s.name, "label": s.label, "editable": s.editable, "body": s.body}
            for s in wf.states.values()
        ],
        "actions": [
            {
                "name": a.name,
                "label": a.label,
                "from": list(a.sources),
                "to": a.target,
                "kind": a.kind,
                "outcome": a.outcome,
                "body": a.body,
                "roles": [str(r) for r in a.roles],
                "guards": list(a.guards),
            }
            for a in wf.actions
        ],
    }

    def human(d: dict[str, Any]) -> None:
        table(
            f"Arbetsgång för {cfg.forbund.name} (start: {d['initial']})",
            ["åtgärd", "från", "till", "slag", "organ", "vem"],
            [
                [
                    a["name"],
                    ", ".join(a["from"]),
                    a["to"] or "(valfritt)",
                    a["kind"] + (f": {a['outcome']}" if a["outcome"] else ""),
                    a["body"],
                    ", ".join(a["roles"]),
                ]
                for a in d["actions"]
            ],
        )

    emit(data, as_json, human)


def _config(forbund: str | None, file: Path | None) -> Any:
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.forbund.file import load_forbund

    if file is not None:
        return load_forbund(file)
    # start-up: loaded when the command runs, so `finsam --help` stays quick
    from workflow.bootstrap import bootstrap
    from workflow.core.uow import UnitOfWork
    from workflow.forbund import registry as forbunds

    app = bootstrap()
    with UnitOfWork(app) as uow:
        return forbunds.config_of(forbunds.resolve(uow.session, forbund))
