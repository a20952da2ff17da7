"""`finsam web`: serve finsam in the browser.

The CLI and the web are two front doors that never import each other: this
command checks the settings as every command does (the database, FINSAM_NOW,
FINSAM_BASE_URL, the session settings) so a bad one ends it with exit 2 before
anything listens, then hands uvicorn the web's factory by name.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import app_for_command, handled

# what uvicorn imports and calls to build the web application
FACTORY = "web.server:from_env"

HostOpt = Annotated[
    str, typer.Option("--host", help="Address to listen on (behind a proxy: keep 127.0.0.1).")
]
PortOpt = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")]


@handled
def web(host: HostOpt = "127.0.0.1", port: PortOpt = 8000) -> None:
    """Serve finsam in the browser (sign-in by e-mail link) until stopped with Ctrl-C."""
    # start-up: the settings' checks load only when the command runs
    from workflow.core.settings import base_url
    from workflow.identity import sessions

    app = app_for_command()  # the database is there and at this finsam's schema
    app.engine.dispose()
    sessions.settings()
    shown = base_url()
    # start-up: the web server loads only for this command, so `finsam --help` stays quick
    import uvicorn

    typer.echo(f"finsam web on http://{host}:{port} (links in mail: {shown}); Ctrl-C stops it")
    uvicorn.run(
        FACTORY, factory=True, host=host, port=port, proxy_headers=True, log_level="warning"
    )
