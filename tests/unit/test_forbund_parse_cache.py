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
    registry._PARSED.clear()
    first = [registry.config_of(r) for r in rows]  # the first sweep parses each once
    again = [registry.config_of(r) for r in rows]  # the next finds them all
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert len(registry._PARSED) == 80


def test_stored_data_that_differs_is_parsed_anew_whatever_its_hash_says() -> None:
    """The cache answers for the data it parsed, not for a hash alone: a row whose stored
    data differs (a hand-edited database, a test) is parsed from what it holds."""
    data = tomllib.loads(SOS_FILE.read_text(encoding="utf-8"))
    row = Forbund(key="f", name="F", config=data, config_sha256="0" * 64)
    registry._PARSED.clear()
    before = registry.config_of(row)
    renamed = {**data, "forbund": {**data["forbund"], "name": "Ett annat namn"}}
    after = registry.config_of(Forbund(key="f", name="F", config=renamed, config_sha256="0" * 64))
    assert before.forbund.name != "Ett annat namn" and after.forbund.name == "Ett annat namn"
    assert registry.config_of(row) is not before  # parsed from its own data again


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
