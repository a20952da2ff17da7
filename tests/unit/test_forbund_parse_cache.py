"""One finsam serves the country's some 80 förbund: a sweep over all of them reads each
förbund file from the parse cache, not anew (a cache of 32 parsed every file again on
each idle tick)."""

from __future__ import annotations

import tomllib

from helpers import SOS_FILE

from workflow.core.models import Forbund
from workflow.forbund import registry


def test_eighty_forbund_files_stay_parsed_across_a_sweep() -> None:
    data = tomllib.loads(SOS_FILE.read_text(encoding="utf-8"))
    rows = []
    for i in range(80):
        config = {**data, "forbund": {**data["forbund"], "key": f"forbund-{i}"}}
        rows.append(Forbund(key=f"forbund-{i}", name=f"F {i}", config=config,
                            config_sha256=f"{i:064x}"))  # fmt: skip
    registry._parse_cached.cache_clear()
    first = [registry.config_of(r) for r in rows]  # the first sweep parses each once
    again = [registry.config_of(r) for r in rows]  # the next finds them all
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert registry._parse_cached.cache_info().misses == 80


def test_a_stored_file_is_not_checked_for_its_addresses_again() -> None:
    """A file as the database holds it was checked on its way in: its addresses are
    taken as stored (their domains' checks were most of a parse); a file from outside
    is checked as ever."""
    from workflow.core.exceptions import ConfigError
    from workflow.forbund.file import parse_forbund

    data = tomllib.loads(SOS_FILE.read_text(encoding="utf-8"))
    data["bodies"][0]["people"][0]["email"] = "karin.holm@ystad..example"
    try:
        parse_forbund(data, "sydostra-skane.toml")
    except ConfigError as exc:
        assert "not a valid email address" in exc.message
    else:
        raise AssertionError("a file from outside with a broken address was taken")
    stored = parse_forbund(data, "förbund in the database", stored=True)
    assert stored.bodies[0].people[0].email == "karin.holm@ystad..example"
