"""The förbund file described for machines and for people: a JSON Schema and docs/forbund-file.md.

Both are generated from the pydantic models of `workflow.forbund.file` (and the
rules and permissions they hold), so the reference cannot drift from what
`finsam init --forbund FILE` accepts: a test compares docs/forbund-file.md with
`forbund_markdown()`. The one part the models leave free-form, `[workflow]`,
is checked by `states.definition`; its schema here is written from the same
constants (roles, kinds, outcomes, guards) that module checks against.

TOML has no null, so an optional key is one that may be left out: the schema
gives its type without a null branch. Defaults computed by a factory are
written out, so an editor shows what leaving a key out means.

Run `python -m workflow.forbund.schema` (or `finsam schema forbund --markdown`)
to regenerate the docs; `--json` prints the schema.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, NoDefault
from pydantic_core import core_schema

from states.definition import KINDS, OUTCOMES
from states.guards import GUARDS
from states.roles import ROLES
from workflow.core.files import MAX_FORBUND_FILE
from workflow.core.text import LIMITS
from workflow.forbund.file import KEY_PATTERN, ForbundFile
from workflow.forbund.permissions import COVERS, Permissions

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:finsam:schema:forbund-file"
DOCS_PATH = Path("docs/forbund-file.md")
REGENERATE = "finsam schema forbund --markdown --output docs/forbund-file.md"

# "förbundschef" or "ordförande@presidium": a role, optionally in one body
ROLE_SPEC_PATTERN = (
    "^(" + "|".join(ROLES) + ")(@" + KEY_PATTERN.removeprefix("^").removesuffix("$") + ")?$"
)


class _TomlSchema(GenerateJsonSchema):
    """pydantic's generator, told that the document is TOML and that defaults matter."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        if "default_factory" in schema and not schema.get("default_factory_takes_data"):
            return schema["default_factory"]()  # type: ignore[call-arg]
        default = schema.get("default", NoDefault)
        return NoDefault if default is None else default  # None means: left out

    def nullable_schema(self, schema: core_schema.NullableSchema) -> dict[str, Any]:
        return self.generate_inner(schema["schema"])  # TOML cannot write null

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # the key is its own title; "Duration Minutes" only misleads


# ---------------------------------------------------------------- the JSON Schema


def _role_spec(description: str) -> dict[str, Any]:
    return {"type": "string", "pattern": ROLE_SPEC_PATTERN, "description": description}


def _workflow_schema() -> dict[str, Any]:
    """`[workflow]`: the shape `states.definition.WorkflowDef.from_mapping` checks."""
    names = {"type": "string", "minLength": 1}
    state = {
        "type": "object",
        "additionalProperties": False,
        "description": "one state a plan can be in; its name is the table's key",
        "properties": {
            "label": {
                "type": "string",
                "description": "the state's name as people read it (Swedish); "
                "default: the state's key",
            },
            "editable": {
                "type": "boolean",
                "default": False,
                "description": "whether a plan in this state may be edited in place "
                "(the initial state must be)",
            },
            "body": {
                "type": "string",
                "pattern": KEY_PATTERN,
                "description": "the body (a [[bodies]] key) that holds a plan in this state",
            },
        },
    }
    action = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "from", "roles"],
        "description": "one action out of one or more states",
        "properties": {
            "name": {
                **names,
                "description": "what `finsam plan move ID ACTION` calls it; one name may "
                "appear in several actions out of different states",
            },
            "label": {
                "type": "string",
                "description": "the action as people read it (Swedish); default: its name",
            },
            "kind": {
                "enum": list(KINDS),
                "default": "transition",
                "description": "recommendation: a preparing body's förslag till beslut; "
                "decision: the board's; force: an administrative correction to any state",
            },
            "outcome": {
                "enum": list(OUTCOMES),
                "description": "what a recommendation or decision says (required for those "
                "kinds, refused for others)",
            },
            "body": {
                "type": "string",
                "pattern": KEY_PATTERN,
                "description": "the body whose meeting takes it (required for a "
                "recommendation or decision)",
            },
            "from": {
                "anyOf": [names, {"type": "array", "items": names, "minItems": 1}],
                "description": "the state or states it leaves; '*' for any state",
            },
            "to": {
                **names,
                "description": "the state it leads to (required, except for a force action, "
                "which takes its target when taken)",
            },
            "roles": {
                "type": "array",
                "minItems": 1,
                "items": _role_spec("a role, or a role in one body (role@body)"),
                "description": "who may take it",
            },
            "guards": {
                "type": "array",
                "items": {"enum": sorted(GUARDS)},
                "default": [],
                "description": "checks that must pass before it is taken",
            },
        },
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["initial", "states", "actions"],
        "description": "the adoption workflow as data; default: the built-in workflow "
        "(draft → presidium → beredningsgrupp → styrelse → adopted or rejected)",
        "properties": {
            "initial": {
                **names,
                "description": "the state a new plan starts in; it must be editable",
            },
            "states": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": state,
                "description": "the states, one table each: [workflow.states.NAME]",
            },
            "actions": {
                "type": "array",
                "items": action,
                "description": "the actions, one table each: [[workflow.actions]]",
            },
        },
    }


def forbund_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a förbund file, as a mapping."""
    generated = ForbundFile.model_json_schema(schema_generator=_TomlSchema)
    defs = generated.pop("$defs")
    props = generated["properties"]
    workflow = _workflow_schema()
    if props["workflow"].get("description"):  # the model's word, where it has one
        workflow["description"] = props["workflow"]["description"]
    props["workflow"] = workflow
    props["editors"]["items"] = _role_spec("a role, or a role in one body (role@body)")
    for name in COVERS:
        defs["Permissions"]["properties"][name]["items"] = _role_spec(
            "a role, or a role in one body (role@body)"
        )
    head = {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "finsam förbund file",
        "description": "A samordningsförbund's members, bodies and people, and its rules "
        "(`finsam init --forbund FILE`).",
    }
    generated.pop("title", None)
    return {**head, **generated, "$defs": defs}


def schema_json() -> str:
    """The schema as the text `finsam schema forbund` prints: stable, one key order."""
    return json.dumps(forbund_schema(), indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- reading the schema


@dataclass
class Section:
    """One TOML table in the reference: its header, what it is, and its keys."""

    header: str
    about: str
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    target = schema["$defs"][ref.removeprefix("#/$defs/")]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _is_table(node: dict[str, Any]) -> bool:
    return node.get("type") == "object" and (
        "properties" in node or isinstance(node.get("additionalProperties"), dict)
    )


def _toml(value: Any) -> str:
    """A value as it would be written in the TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return str(value)


def _type(schema: dict[str, Any], node: dict[str, Any]) -> str:
    node = _resolve(schema, node)
    if "anyOf" in node:
        return " or ".join(_type(schema, n) for n in node["anyOf"])
    if "enum" in node:
        return "string"
    kind = node.get("type")
    if kind == "array":
        item = _resolve(schema, node.get("items", {}))
        return "array of tables" if _is_table(item) else f"array of {_type(schema, item)}s"
    if kind == "object":
        return "table"
    if kind == "string" and node.get("format") == "email":
        return "e-mail address"
    return {"integer": "integer", "string": "string", "boolean": "boolean"}.get(kind, "any")


def _allowed(schema: dict[str, Any], node: dict[str, Any]) -> str:
    """Enumerated values, ranges, lengths and patterns, in words."""
    node = _resolve(schema, node)
    parts: list[str] = []
    if "enum" in node:
        parts.append("one of " + ", ".join(f"`{v}`" for v in node["enum"]))
    if "minimum" in node and "maximum" in node:
        parts.append(f"{node['minimum']} to {node['maximum']}")
    elif "minimum" in node:
        parts.append(f"at least {node['minimum']}")
    elif "maximum" in node:
        parts.append(f"at most {node['maximum']}")
    if node.get("minLength") == 1:
        parts.append("not empty")
    if "maxLength" in node:
        parts.append(f"at most {node['maxLength']} characters")
    if "pattern" in node:
        pattern = node["pattern"]
        if pattern == ROLE_SPEC_PATTERN:
            parts.append("a role spec (see Permissions)")
        else:
            parts.append(f"matches `{pattern}`")
    if "minItems" in node:
        parts.append(f"at least {node['minItems']}")
    if "anyOf" in node:
        parts += [a for a in (_allowed(schema, n) for n in node["anyOf"]) if a]
    if node.get("type") == "array" and not _is_table(_resolve(schema, node.get("items", {}))):
        inner = _allowed(schema, node.get("items", {}))
        if inner:
            parts.append(f"each {inner}")
    return "; ".join(parts)


def _default(node: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" not in node:
        return "—"
    value = node["default"]
    if isinstance(value, dict):
        return "its keys' defaults"
    if value and isinstance(value, list) and isinstance(value[0], dict):
        return "see below"
    return f"`{_toml(value)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _sections(
    schema: dict[str, Any], node: dict[str, Any], header: str, missing: list[str]
) -> Iterator[Section]:
    """The table `node` as a section, then the tables inside it, in the models' order."""
    node = _resolve(schema, node)
    section = Section(header=header, about=node.get("description", ""))
    nested: list[tuple[dict[str, Any], str]] = []
    path = header.strip("[]")
    required = set(node.get("required", []))
    for key, raw in node.get("properties", {}).items():
        child = _resolve(schema, raw)
        where = f"{path}.{key}" if path else key
        meaning = raw.get("description") or child.get("description", "")
        if not meaning:
            missing.append(where)
        section.rows.append(
            [
                f"`{key}`",
                _type(schema, raw),
                _default(child, key in required),
                _allowed(schema, raw),
                meaning or "—",
            ]
        )
        default = child.get("default")
        if isinstance(default, list) and default and isinstance(default[0], dict):
            section.notes.append(_default_tables(where, default))
        items = _resolve(schema, child.get("items", {})) if child.get("type") == "array" else {}
        if _is_table(child):
            nested.append((child, f"[{where}]"))
        elif _is_table(items):
            nested.append((items, f"[[{where}]]"))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict) and _is_table(extra):
        nested.append((extra, f"[{path}.NAME]"))
    if section.rows or not extra:  # a table of named tables is shown by its entries
        yield section
    for child, child_header in nested:
        yield from _sections(schema, child, child_header, missing)


def _default_tables(where: str, tables: list[dict[str, Any]]) -> str:
    lines = [f"Left out, `{where}` is:", "", "```toml"]
    for table in tables:
        lines.append(f"[[{where}]]")
        lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
        lines.append("")
    lines[-1] = "```"
    return "\n".join(lines)


def reference() -> tuple[list[Section], list[str]]:
    """Every table of the file as a section, and the keys that have no description."""
    schema = forbund_schema()
    missing: list[str] = []
    sections = list(_sections(schema, schema, "", missing))
    sections[0].header = "Top level"
    sections[0].about = "The tables of the file; each is described in its own section below."
    return sections, missing


def missing_descriptions() -> list[str]:
    """Keys whose meaning the models do not say (the reference shows '—' for them)."""
    return reference()[1]


# ---------------------------------------------------------------- the Markdown reference

EXAMPLE = """\
#:schema ./forbund.schema.json
# Samordningsförbundet Exempel: the least a förbund file holds. Every name and
# address is invented (.example).

[forbund]
key = "exempel"
name = "Samordningsförbundet Exempel"

[[members]]
key = "fk"
name = "Försäkringskassan"
kind = "försäkringskassan"
registrator = "registrator@forsakringskassan.example"

[[members]]
key = "af"
name = "Arbetsförmedlingen"
kind = "arbetsförmedlingen"
registrator = "registrator@arbetsformedlingen.example"

[[members]]
key = "region"
name = "Region Exempel"
kind = "region"
registrator = "registrator@region.example"

[[members]]
key = "kommun"
name = "Exempels kommun"
kind = "kommun"
registrator = "registrator@kommun.example"

[[bodies]]
key = "styrelse"
name = "Styrelsen"
kind = "styrelse"

[[bodies.people]]
name = "Anna Ek"
email = "anna.ek@kommun.example"
role = "ordförande"
member = "kommun"

[[bodies]]
key = "presidium"
name = "Presidiet"
kind = "presidium"

[[bodies.people]]
name = "Anna Ek"
email = "anna.ek@kommun.example"
role = "ordförande"

[[bodies]]
key = "beredningsgrupp"
name = "Beredningsgruppen"
kind = "beredningsgrupp"

[[bodies]]
key = "kansli"
name = "Kansliet"
kind = "kansli"

[[bodies.people]]
name = "Karin Berg"
email = "karin.berg@exempel.example"
role = "förbundschef"

[permissions]
meetings = ["förbundschef", "ordförande@styrelse"]
"""

_INTRO = """\
# The förbund file

<!-- Generated from the models in workflow/forbund/ by
     `{regenerate}`; do not edit by hand (a test fails when it is stale). -->

A förbund file is one TOML file (UTF-8, at most {max_size}) that describes a
samordningsförbund: its members, its bodies and the people in them with their
roles, and optionally its yearly cycle of meetings (`[cycle]`), the reports its
insatser owe (`[reports]`), its mail rules (`[mail]`), budget rules
(`[economy]`), who may change what (`editors`, `[permissions]`) and the
adoption workflow of its plans (`[workflow]`). The files in `examples/forbund/`
are complete examples.

`finsam init --forbund FILE` reads it, checks all of it and registers the
förbund in the database; run again with a changed file, it updates the
förbund's people and rules (and records in the audit trail who changed which
people and roles; a person holding the `forbund` permission must run it, see
below). Every problem is reported with the file, the key and what is allowed,
and nothing is stored.

## Example

The least a file holds: the four kinds of member, a board, the bodies the
default workflow names, and a förbundschef.

```toml
{example}```

## Text fields

Keys, names, titles and places are single lines: a line break, tab or other
control character in them is refused, and so is text longer than its limit.
The limits, in characters:

| kind of field | at most |
|---|---|
{limits}

## Permissions

`editors` and each key of `[permissions]` are lists of role specs: a role
(`förbundschef`, held in any body) or a role in one body
(`ordförande@presidium`). Who may move a plan is not here: each action of the
`[workflow]` names its own roles. The roles:

{roles}.

| permission | who may, by default | covers |
|---|---|---|
{permissions}

## Editor support

`finsam schema forbund --output forbund.schema.json` writes the file's JSON
Schema (draft 2020-12; its validation keywords are all ones that Draft 4, the
draft Taplo documents, also has). Editors that use
[Taplo](https://taplo.tamasfe.dev/) (the *Even Better TOML* extension for VS
Code, and Taplo's language server in other editors) then complete keys, show
each key's meaning and check values as you type. Point them at the schema in
one of two ways:

- a schema directive at the top of the förbund file, before any key (only
  comments may come before it), with a path relative to the förbund file:

  ```toml
  #:schema ./forbund.schema.json
  ```

- or, for every förbund file in a folder, a `.taplo.toml` (or `taplo.toml`) at
  the root of the workspace, with the schema saved beside it; `include` globs
  are relative to that root:

  ```toml
  [[rule]]
  include = ["forbund/*.toml"]

  [rule.schema]
  path = "./forbund.schema.json"
  ```

A directive in the file wins over a `.taplo.toml` rule. The schema checks the
shape of the file (keys, types, allowed values, lengths); what needs the whole
file, such as a person's `member` naming a real member or exactly one member of
kind `region`, is checked by `finsam init`. On the command line, `taplo check
FILE` uses the directive or the rule, and `taplo check --schema
file:///ABSOLUTE/PATH/forbund.schema.json FILE` names the schema itself.

## Reference

Each table of the file, in the order of the models. *Required* keys must be
given; the others may be left out and take the default shown.
"""

_WORKFLOW_NOTE = """\
`[workflow]` is checked by finsam's workflow engine when the file is loaded:
every state reachable from `initial`, every `body` a key of `[[bodies]]`,
every role spec's body a body of the file, no action name twice out of one
state. `examples/forbund/ale-kungalv.toml` shows a complete workflow, and
`finsam workflow show --file FILE` draws one. The guards are:
{guards}."""


def _size(n: int) -> str:
    return f"{n // 2**20} MB" if n % 2**20 == 0 else f"{n // 1024} kB"


def _table(rows: list[list[str]]) -> list[str]:
    out = ["| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def forbund_markdown() -> str:
    """docs/forbund-file.md: the hand-written guide and the generated reference."""
    defaults = Permissions()
    text = _INTRO.format(
        regenerate=REGENERATE,
        max_size=_size(MAX_FORBUND_FILE),
        example=EXAMPLE,
        limits="\n".join(f"| {kind} | {n:,} |".replace(",", " ") for kind, n in LIMITS.items()),
        roles=", ".join(f"`{r}`" for r in ROLES),
        permissions="\n".join(
            f"| `{name}` | {', '.join(f'`{s}`' for s in getattr(defaults, name))} "
            f"| {_cell(covers)} |"
            for name, covers in COVERS.items()
        ),
    )
    lines = [text]
    sections, _ = reference()
    for section in sections:
        lines += ["", f"### {section.header}"]
        if section.about:
            lines += ["", _cell(section.about[0].upper() + section.about[1:])]
        if section.header == "[workflow]":
            lines += ["", _WORKFLOW_NOTE.format(guards=", ".join(f"`{g}`" for g in sorted(GUARDS)))]
        if section.rows:
            lines += ["", *_table(section.rows)]
        for note in section.notes:
            lines += ["", note]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """`python -m workflow.forbund.schema [--json]`, from the project's root: write the
    docs (and list the keys without a description), or print the schema."""
    if "--json" in argv:
        sys.stdout.write(schema_json())
        return 0
    if not DOCS_PATH.parent.is_dir():
        sys.stderr.write(f"error: no {DOCS_PATH.parent}/ here; run this from the project's root\n")
        return 2
    DOCS_PATH.write_text(forbund_markdown(), encoding="utf-8")
    missing = missing_descriptions()
    print(f"wrote {DOCS_PATH}; keys without a description: {len(missing)}")
    for where in missing:
        print(f"  {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
