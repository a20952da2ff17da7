"""finsam in the browser: a front door beside the CLI, on the same services.

    server.py   create_app(app) -> FastAPI; `from_env()` is what `finsam web` serves
    routes.py   every route and what it needs (`TABLE`); routes call services and render
    guard.py    the one dependency that enforces what a route needs: who the visitor
                is (the session cookie), the CSRF token of every POST, sign-in, tenancy
    responses.py templates, security headers, and refusals as pages (one handler)
    templates/  the pages (Swedish, semantic HTML, no JavaScript needed)
    static/     the one stylesheet (screen, phone and print)

Nothing here decides anything the services do not: who may do what comes from the
förbund files through `workflow.identity`, as it does for the CLI.
"""
