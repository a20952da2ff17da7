"""The förbund file (members, bodies, workflow, cycle and report rules) and the registry of
förbund in the database.
"""
