"""The web application: `create_app(app)` on the same `App` the CLI uses.

`from_env()` builds it from the environment as every command does (the database
URL, FINSAM_NOW, FINSAM_BASE_URL); it is what `finsam web` hands uvicorn, which
imports it by name, so the CLI and the web stay two front doors that never
import each other.
"""

from __future__ import annotations

import os
import socket
import sys

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

import web.calendar_routes  # (the calendar feed's routes register on import; binds `web`)
import web.desk_routes  # (the desk's routes register on import)
import web.meeting_routes  # (the member's meetings' routes register on import)
import web.minutes_routes  # (the protokoll's and the justering's routes register on import)
import web.notice_routes  # (the public anslagstavla's routes register on import)
import web.overview_routes  # (the tertial overview's routes register on import)
import web.plan_routes  # (the plans' routes register on import)
import web.report_routes  # noqa: F401  (the reports' routes register on import)
from web import routes
from web.guard import enforce
from web.limits import BodyLimit
from web.oidc_routes import check as check_oidc  # and its routes register on import
from web.responses import Safety, install_handlers
from workflow.bootstrap import bootstrap
from workflow.core.app import App
from workflow.core.logs import EventLog
from workflow.core.settings import base_url
from workflow.identity import sessions


def create_app(app: App, table: list[routes.Route] | None = None) -> FastAPI:
    """The web on `app`: every route of `table` (all of `routes.TABLE` by default)
    behind the guard, the stylesheet, the handlers that turn refusals into pages
    and the headers on every response. Settings are read now, so a bad one stops
    the start with its name rather than the first request."""
    sessions.settings()
    check_oidc()
    api = FastAPI(
        title="finsam",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    api.state.finsam = app
    api.state.base_url = base_url()
    api.state.log = EventLog(app.clock, f"web:{socket.gethostname()}:{os.getpid()}", sys.stderr)
    for r in routes.TABLE if table is None else table:
        api.add_api_route(
            r.path,
            r.endpoint,
            methods=[r.method],
            name=r.name,
            dependencies=[Depends(enforce(r.needs))],
            response_class=HTMLResponse,
            include_in_schema=False,
        )
    api.mount("/static", StaticFiles(packages=[("web", "static")]), name="static")
    install_handlers(api)
    api.add_middleware(BodyLimit)  # inside Safety, so a refusal gets its headers too
    api.add_middleware(Safety)
    return api


def from_env() -> FastAPI:
    """The app `finsam web` serves: configured from the environment like the CLI."""
    return create_app(bootstrap())
