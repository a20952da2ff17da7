"""The core every capability stands on: app, unit of work and retry rule, audit, clock,
settings, exceptions, models, migrations.
"""
