"""Förbund files and plan files, mutated: values of every type, keys removed and added,
tables nested, text cut short, bytes that are not UTF-8. Every command that reads
such a file answers 0 or 2, without a traceback or a hang; a refusal changes nothing.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from fuzzing import (
    FUZZ_SETTINGS,
    Findings,
    Harness,
    dates_as_text,
    examples,
    hostile_text,
    huge_or_odd_int,
    toml_dumps,
)
from helpers import CHEF
from hypothesis import given, settings
from hypothesis import strategies as st

FILE_EXIT = {0, 2}


def leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value in a parsed document (keys and list indexes)."""
    found = [path]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += leaves(inner, (*path, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += leaves(inner, (*path, i))
    return found


def hostile_value(harness: Harness) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        hostile_text(),
        huge_or_odd_int(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.dates(),
        st.datetimes(),
        st.times(),
        dates_as_text(),
        st.sampled_from(harness.path_texts()),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.text(max_size=8), inner, max_size=3),
        ),
        max_leaves=6,
    )


@st.composite
def mutated(draw: Any, harness: Harness, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with one to four changes: a value replaced, a key removed or added, a value
    wrapped in a list or a table."""
    doc = tomllib.loads(toml_dumps(doc))  # a deep copy
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in leaves(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "replace", "remove", "add", "wrap", "table"]))
        if action == "replace":
            parent[last] = draw(hostile_value(harness))
        elif action == "remove":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "", "key", "Name", "ä"]))] = draw(
                hostile_value(harness)
            )
        elif action == "wrap":
            parent[last] = [parent[last]]
        elif action == "table":
            parent[last] = {"value": parent[last]}
    return doc


@st.composite
def file_bytes(draw: Any, harness: Harness, original: Path) -> bytes:
    """Mostly a mutated document; sometimes the text itself damaged."""
    text = original.read_text(encoding="utf-8")
    how = draw(st.integers(0, 9))
    if how == 0:  # cut short
        return text.encode()[: draw(st.integers(0, len(text)))]
    if how == 1:  # bytes that are not UTF-8, or a BOM, or NUL
        junk = draw(st.sampled_from([b"\xff\xfe", b"\xef\xbb\xbf", b"\x00", b"\xc3", b"\r"]))
        cut = draw(st.integers(0, len(text)))
        raw = text.encode()
        return raw[:cut] + junk + raw[cut:]
    if how == 2:  # nested deep, or repeated past the size cap
        return draw(
            st.sampled_from(
                [
                    ("a = " + "[" * 5000 + "]" * 5000).encode(),
                    ("a = " + "{b = " * 3000 + "1" + "}" * 3000).encode(),
                    b"[" + b"a." * 5000 + b"b]\n",
                    text.encode() + b"\n# " + b"x" * (6 * 1024 * 1024),
                ]
            )
        )
    return toml_dumps(draw(mutated(harness, tomllib.loads(text)))).encode()


def _forbund_commands(path: str) -> list[list[str]]:
    return [
        ["init", "--forbund", path, "--as", CHEF],
        ["workflow", "show", "--file", path],
        ["plan", "check", "1", "--forbund-file", path],
    ]


def _plan_commands(path: str) -> list[list[str]]:
    return [
        ["plan", "new", "--from", path, "--as", CHEF],
        ["plan", "check", path],
        ["plan", "edit", "2", "--from", path, "--as", CHEF],
        ["plan", "render", path, "-o", str(Path(path).with_suffix(".html"))],
    ]


def _fuzz_files(harness: Harness, originals: list[Path], commands: Any, title: str) -> None:
    findings = Findings()

    @settings(FUZZ_SETTINGS, max_examples=examples(40))
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        original = data.draw(st.sampled_from(originals), label="original")
        content = data.draw(file_bytes(harness, original), label="content")
        harness.restore()
        target = original.with_name("fuzzed.toml")  # beside it: relative paths still work
        target.write_bytes(content)
        args = data.draw(st.sampled_from(commands(str(target))), label="command")
        # `plan check` exits 1 when the figures do not add up: a finding about the plan
        allowed = FILE_EXIT | {1} if args[:2] == ["plan", "check"] else FILE_EXIT
        outcome = harness.run(args, {}, allowed)
        outcome.note = f"\n    file from {original.name}: {content[:300]!r}..."
        findings.add(outcome, " ".join(args[:2]))

    run()
    print(f"\n{title}: {findings.summary()}")
    findings.write(title)
    if findings.groups:
        pytest.fail(findings.report(), pytrace=False)


def test_forbund_files(harness: Harness) -> None:
    """init, workflow show and plan check with a mutated förbund file."""
    originals = sorted((harness.ex / "forbund").glob("*.toml"))
    _fuzz_files(harness, originals, _forbund_commands, "förbund files")


def test_plan_files(harness: Harness) -> None:
    """plan new, check, edit and render with a mutated plan file."""
    originals = sorted((harness.ex / "plans").glob("*.toml"))
    originals += sorted((harness.ex / "demo").glob("*.toml"))
    _fuzz_files(harness, originals, _plan_commands, "plan files")
