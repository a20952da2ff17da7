"""The application core of finsam: one subpackage per capability, over a small core.

    core/       app, unit of work and the one retry rule, audit trail, clock,
                settings, exceptions, models, migrations, database copy; what
                text a field may hold (text.py), reading only regular files
                under a cap (files.py, toml_input.py), database errors in words
    forbund/    the förbund file (members, bodies, workflow, permissions), its
                cycle and report rules, its JSON Schema and reference, the
                registry of förbund in the database
    cycle/      dates and holidays, meetings, agenda, placement of plans on
                meetings, papers (kallelse, minutes, justering), calendar, årshjul
    reports/    insatser, report obligations and submissions, the report file
                store (stage, commit, publish; the check of `db check`)
    plans/      plan services and queries, content, plan files, budget, documents,
                decided insatser
    mail/       composing messages into the outbox, delivering it
    identity/   who is signing in: one-time sign-in links, sessions, the förbund
                a person belongs to (used by the web)
    scheduler/  sweeps, nodes and heartbeats, the daemon
    handlers.py the one table: domain event -> handlers, run before commit
    bootstrap.py builds the app for the CLI, the daemon and the tests

Arrows point down this list's layers (scheduler, identity, mail, plans, cycle, reports,
forbund, core; see .importlinter): a capability uses those below it through
their public functions, and what follows from a change in one capability to
another travels as a domain event (states/events.py) through handlers.py.
Imports here stay light: the CLI imports this package for every command.
"""
