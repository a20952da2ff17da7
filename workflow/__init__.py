"""The application core of finsam: configuration, database, services and the audit trail.

Imports here stay light on purpose: the CLI imports this package for every
command, and heavy libraries are loaded only by the modules that need them.
"""
