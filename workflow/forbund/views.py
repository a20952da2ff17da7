"""The shapes the förbund services hand the CLI.

They are plain dicts at runtime (`--json` prints them as they are); the types
name their keys.
"""

from typing import TypedDict


class Registered(TypedDict):
    """The CLI's JSON shape for registering a förbund file (`init`): created, updated, unchanged."""

    key: str
    name: str
    outcome: str
    id: int | None
