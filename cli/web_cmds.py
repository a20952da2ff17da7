"""`finsam web`: serve finsam in the browser.

The CLI and the web are two front doors that never import each other: this
command checks the settings as every command does (the database, FINSAM_NOW,
FINSAM_BASE_URL, the session settings) so a bad one ends it with exit 2 before
anything listens, then hands uvicorn the web's factory by name.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from cli.common import app_for_command, handled
from workflow.core.exceptions import UsageError

# what uvicorn imports and calls to build the web application
FACTORY = "web.server:from_env"

HostOpt = Annotated[
    str, typer.Option("--host", help="Address to listen on (behind a proxy: keep 127.0.0.1).")
]
PortOpt = Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")]
ProxiesOpt = Annotated[
    str,
    typer.Option(
        "--forwarded-allow-ips",
        envvar="FINSAM_FORWARDED_ALLOW_IPS",
        help="The proxies whose X-Forwarded-For/-Proto are believed: addresses or "
        "networks, comma-separated ('*': any peer; only when nothing else can connect).",
    ),
]
# a proxy on this machine; the client's address then counts for the rate limit
LOCAL_PROXY = "127.0.0.1,::1"


def trusted_proxies(value: str) -> str:
    """The list as uvicorn takes it, each entry checked: a wrong one would silently
    trust nobody (every client then counts as the proxy) or the wrong peer."""
    entries = [e.strip() for e in value.split(",") if e.strip()]
    if entries == ["*"]:
        return "*"
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise UsageError(
                f"--forwarded-allow-ips: {entry!r} is not an IP address or network",
                "give the proxy's addresses or networks, comma-separated "
                "(e.g. 127.0.0.1,::1 or 10.0.0.0/24), or '*'",
            ) from None
    if not entries:
        raise UsageError(
            "--forwarded-allow-ips is empty", f"give the proxy's addresses, e.g. {LOCAL_PROXY}"
        )
    return ",".join(entries)


@handled
def web(
    host: HostOpt = "127.0.0.1", port: PortOpt = 8000, proxies: ProxiesOpt = LOCAL_PROXY
) -> None:
    """Serve finsam in the browser (sign-in by e-mail link) until stopped with Ctrl-C.

    Behind a reverse proxy the client's address (which the per-client rate limit of
    sign-in counts) comes from X-Forwarded-For, believed only from `proxies`."""
    trusted = trusted_proxies(proxies)
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
        FACTORY,
        factory=True,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=trusted,
        log_level="warning",
    )
