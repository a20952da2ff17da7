"""The förbund file's JSON Schema and its reference (docs/forbund-file.md).

The schema must accept every real förbund file and refuse what `finsam init`
refuses for its shape (unknown keys, values outside an enum); the reference
must be what the generator makes of the models today, so a changed model
without regenerated docs fails here.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli
from jsonschema import Draft202012Validator, FormatChecker

from workflow.core.exceptions import ConfigError
from workflow.forbund import schema as gen
from workflow.forbund.file import default_workflow_data, parse_forbund

ROOT = Path(__file__).parents[2]
EXAMPLES = sorted((ROOT / "examples" / "forbund").glob("*.toml"))
# the keywords of Draft 4 (the draft Taplo documents), and where 2020-12 keeps definitions
DRAFT4 = {
    "$schema", "$id", "$ref", "$defs", "title", "description", "default", "type", "enum",
    "format", "pattern", "minLength", "maxLength", "minimum", "maximum", "minItems",
    "maxItems", "items", "properties", "additionalProperties", "required", "minProperties",
    "anyOf", "allOf", "oneOf",
}  # fmt: skip


def _validator() -> Draft202012Validator:
    return Draft202012Validator(gen.forbund_schema(), format_checker=FormatChecker())


def _problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, keyword) of each schema error, e.g. ('members/0', 'additionalProperties')."""
    return sorted(
        ("/".join(str(p) for p in e.absolute_path), str(e.validator))
        for e in _validator().iter_errors(data)
    )


def _lund() -> dict[str, Any]:
    return tomllib.loads((ROOT / "examples/forbund/lund.toml").read_text(encoding="utf-8"))


def test_the_reference_in_docs_is_current() -> None:
    on_disk = (ROOT / gen.DOCS_PATH).read_text(encoding="utf-8")
    assert on_disk == gen.forbund_markdown(), (
        f"{gen.DOCS_PATH} is stale: the förbund file's models changed; regenerate it with "
        f"`{gen.REGENERATE}` (or `python -m workflow.forbund.schema`)"
    )


def test_the_schema_is_a_valid_2020_12_schema_with_an_id() -> None:
    schema = gen.forbund_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_schema_accepts_every_example_file(path: Path) -> None:
    assert _problems(tomllib.loads(path.read_text(encoding="utf-8"))) == []


def test_the_docs_example_is_a_valid_forbund_file() -> None:
    data = tomllib.loads(gen.EXAMPLE)
    assert _problems(data) == []
    assert parse_forbund(data, "example").forbund.key == "exempel"


def test_the_default_workflow_fits_the_workflow_schema() -> None:
    data = {**_lund(), "workflow": default_workflow_data()}
    assert _problems(data) == []


@pytest.mark.parametrize(
    ("change", "where", "keyword"),
    [
        (lambda d: d.update(colour="blue"), "", "additionalProperties"),
        (lambda d: d["members"][0].update(phone="1"), "members/0", "additionalProperties"),
        (
            lambda d: d["bodies"][0]["people"][0].update(role="kung"),
            "bodies/0/people/0/role",
            "enum",
        ),
        (lambda d: d["members"][1].update(kind="stat"), "members/1/kind", "enum"),
        (
            lambda d: d.update(permissions={"meetings": ["kung"]}),
            "permissions/meetings/0",
            "pattern",
        ),
        (lambda d: d["forbund"].update(key="Lund Stad"), "forbund/key", "pattern"),
        (lambda d: d["forbund"].update(name="x" * 201), "forbund/name", "maxLength"),
    ],
    ids=["top-level key", "member key", "role", "member kind", "role spec", "key", "length"],
)
def test_the_schema_refuses_what_the_loader_refuses(change: Any, where: str, keyword: str) -> None:
    data = copy.deepcopy(_lund())
    change(data)
    assert (where, keyword) in _problems(data)
    with pytest.raises(ConfigError):
        parse_forbund(data, "lund.toml")


@pytest.mark.parametrize(
    ("action", "where", "keyword"),
    [
        ({"kind": "vote"}, "workflow/actions/0/kind", "enum"),
        ({"guards": ["lucky"]}, "workflow/actions/0/guards/0", "enum"),
        ({"colour": "red"}, "workflow/actions/0", "additionalProperties"),
    ],
    ids=["kind", "guard", "unknown key"],
)
def test_the_workflow_schema_refuses_what_the_workflow_refuses(
    action: dict[str, Any], where: str, keyword: str
) -> None:
    workflow = default_workflow_data()
    workflow["actions"][0].update(action)
    data = {**_lund(), "workflow": workflow}
    assert (where, keyword) in _problems(data)
    with pytest.raises(ConfigError):
        parse_forbund(data, "lund.toml")


def test_the_defaults_shown_are_the_ones_applied() -> None:
    """A key left out takes the default the schema (and so the docs) says."""
    loaded = parse_forbund(tomllib.loads(gen.EXAMPLE), "example").model_dump(mode="json")
    schema = gen.forbund_schema()
    for table in ("economy", "mail", "reports"):
        props = schema["$defs"][schema["properties"][table]["$ref"].split("/")[-1]]["properties"]
        shown = {k: p["default"] for k, p in props.items() if "default" in p}
        assert shown, table
        assert {k: loaded[table][k] for k in shown} == shown, table
    assert schema["properties"]["editors"]["default"] == loaded["editors"]


def test_every_key_has_a_description() -> None:
    assert gen.missing_descriptions() == [], "add description= to these fields of the models"


def test_the_schema_uses_only_keywords_taplo_knows() -> None:
    used: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            used.update(node)
            for key, value in node.items():
                if key in ("properties", "$defs"):  # names, not keywords
                    for sub in value.values():
                        walk(sub)
                elif key not in ("default", "enum"):  # values, not schemas
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(gen.forbund_schema())
    assert used - DRAFT4 == set()


def test_finsam_schema_forbund_prints_and_writes_the_schema(tmp_path: Path) -> None:
    assert json.loads(run_cli("schema", "forbund").stdout) == gen.forbund_schema()
    target = tmp_path / "forbund.schema.json"
    run_cli("schema", "forbund", "--output", str(target))
    assert target.read_text(encoding="utf-8") == gen.schema_json()
    assert run_cli("schema", "forbund", "--markdown").stdout == gen.forbund_markdown()


def test_finsam_schema_forbund_to_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("schema", "forbund", "--output", str(tmp_path), code=2)
    assert f"cannot write {tmp_path}" in result.stderr


def test_the_top_level_help_does_not_load_the_generator() -> None:
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from cli.main import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "print(sorted(m for m in ('workflow.forbund.schema', 'jsonschema', 'pydantic')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
