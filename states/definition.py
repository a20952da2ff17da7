"""A workflow as data: states, the actions out of each, who may take them, at which body.

The definition is built from a plain mapping (what a TOML file parses to) and
checks its own consistency, so a förbund that prepares in an LLG or has no
presidium changes data, never code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from states.guards import GUARDS
from states.roles import ROLES, RoleSpec

Kind = Literal["transition", "recommendation", "decision", "force"]
Outcome = Literal["adopt", "send_back", "reject"]
KINDS: tuple[str, ...] = ("transition", "recommendation", "decision", "force")
OUTCOMES: tuple[str, ...] = ("adopt", "send_back", "reject")
ANY_STATE = "*"


class WorkflowError(ValueError):
    """A workflow definition that cannot work; `key` says where in the data."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


@dataclass(frozen=True)
class StateDef:
    name: str
    label: str
    editable: bool = False
    body: str | None = None


@dataclass(frozen=True)
class ActionDef:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str | None
    roles: tuple[RoleSpec, ...]
    kind: Kind = "transition"
    outcome: Outcome | None = None
    body: str | None = None
    guards: tuple[str, ...] = ()

    def leaves(self, state: str) -> bool:
        return ANY_STATE in self.sources or state in self.sources


@dataclass(frozen=True)
class WorkflowDef:
    initial: str
    states: Mapping[str, StateDef]
    actions: tuple[ActionDef, ...] = field(default_factory=tuple)

    def actions_from(self, state: str) -> list[ActionDef]:
        return [a for a in self.actions if a.leaves(state)]

    def action(self, name: str, state: str) -> ActionDef | None:
        for a in self.actions_from(state):
            if a.name == name:
                return a
        return None

    def action_names(self) -> list[str]:
        return sorted({a.name for a in self.actions})

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], bodies: Iterable[str] | None = None
    ) -> WorkflowDef:
        """Build and check a definition; `bodies`, when given, are the bodies roles may name."""
        known_bodies = set(bodies) if bodies is not None else None
        states_data = _require(data, "states", Mapping, "workflow")
        if not states_data:
            raise WorkflowError("workflow.states", "at least one state is required")
        states: dict[str, StateDef] = {}
        for name, raw in states_data.items():
            key = f"workflow.states.{name}"
            if not isinstance(raw, Mapping):
                raise WorkflowError(key, "must be a table with at least 'label'")
            _no_extra(raw, {"label", "editable", "body"}, key)
            body = raw.get("body")
            _check_body(body, known_bodies, f"{key}.body")
            states[name] = StateDef(
                name=name,
                label=str(raw.get("label", name)),
                editable=bool(raw.get("editable", False)),
                body=body,
            )
        initial = data.get("initial")
        if not isinstance(initial, str) or initial not in states:
            raise WorkflowError(
                "workflow.initial", f"must be one of the states {sorted(states)}, got {initial!r}"
            )
        if not states[initial].editable:
            raise WorkflowError(
                "workflow.initial", f"the initial state {initial!r} must be editable"
            )
        actions = tuple(
            _action(i, raw, states, known_bodies)
            for i, raw in enumerate(_require(data, "actions", list, "workflow"))
        )
        seen: set[tuple[str, str]] = set()
        for i, a in enumerate(actions):
            for s in a.sources:
                if (a.name, s) in seen:
                    raise WorkflowError(
                        f"workflow.actions[{i}]",
                        f"action {a.name!r} is defined twice out of state {s!r}",
                    )
                seen.add((a.name, s))
        definition = cls(initial=initial, states=states, actions=actions)
        definition._check_reachable()
        return definition

    def _check_reachable(self) -> None:
        reached = {self.initial}
        frontier = [self.initial]
        while frontier:
            state = frontier.pop()
            for a in self.actions_from(state):
                if a.kind == "force" or a.target is None:
                    continue
                if a.target not in reached:
                    reached.add(a.target)
                    frontier.append(a.target)
        unreached = sorted(set(self.states) - reached)
        if unreached:
            raise WorkflowError(
                "workflow.states",
                f"no action leads to {', '.join(unreached)} from {self.initial!r}",
            )


def _require(data: Mapping[str, Any], key: str, typ: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, typ):
        raise WorkflowError(f"{where}.{key}", f"is required and must be a {typ.__name__}")
    return value


def _no_extra(raw: Mapping[str, Any], allowed: set[str], key: str) -> None:
    extra = sorted(set(raw) - allowed)
    if extra:
        raise WorkflowError(
            key, f"unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}"
        )


def _check_body(body: Any, known: set[str] | None, key: str) -> None:
    if body is None:
        return
    if not isinstance(body, str) or (known is not None and body not in known):
        allowed = ", ".join(sorted(known)) if known else "a body key"
        raise WorkflowError(key, f"unknown body {body!r}; allowed: {allowed}")


def _action(
    index: int, raw: Any, states: Mapping[str, StateDef], bodies: set[str] | None
) -> ActionDef:
    key = f"workflow.actions[{index}]"
    if not isinstance(raw, Mapping):
        raise WorkflowError(key, "must be a table")
    _no_extra(
        raw, {"name", "label", "from", "to", "roles", "kind", "outcome", "body", "guards"}, key
    )
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise WorkflowError(f"{key}.name", "is required")
    key = f"workflow.actions[{index}] ({name})"
    kind = raw.get("kind", "transition")
    if kind not in KINDS:
        raise WorkflowError(f"{key}.kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    sources = raw.get("from")
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or not sources:
        raise WorkflowError(f"{key}.from", "is required: a state or a list of states, or '*'")
    for s in sources:
        if not isinstance(s, str):
            raise WorkflowError(f"{key}.from", f"{s!r} is not a state name: give names as text")
        if s != ANY_STATE and s not in states:
            raise WorkflowError(f"{key}.from", f"unknown state {s!r}; states: {sorted(states)}")
    target = raw.get("to")
    if kind == "force":
        if target is not None:
            raise WorkflowError(f"{key}.to", "a force action takes its target when taken")
    elif not isinstance(target, str) or target not in states:
        raise WorkflowError(f"{key}.to", f"must be one of the states {sorted(states)}")
    outcome = raw.get("outcome")
    if kind in ("recommendation", "decision"):
        if outcome not in OUTCOMES:
            raise WorkflowError(f"{key}.outcome", f"a {kind} needs one of {', '.join(OUTCOMES)}")
    elif outcome is not None:
        raise WorkflowError(f"{key}.outcome", "only recommendations and decisions have one")
    body = raw.get("body")
    _check_body(body, bodies, f"{key}.body")
    if kind in ("recommendation", "decision") and body is None:
        raise WorkflowError(f"{key}.body", f"a {kind} belongs to a body's meeting")
    roles_raw = raw.get("roles")
    if not isinstance(roles_raw, list) or not roles_raw:
        raise WorkflowError(f"{key}.roles", "is required: who may take it, e.g. ['förbundschef']")
    roles = tuple(RoleSpec.parse(str(r)) for r in roles_raw)
    for r in roles:
        if r.role not in ROLES:
            raise WorkflowError(
                f"{key}.roles", f"unknown role {r.role!r}; roles: {', '.join(ROLES)}"
            )
        _check_body(r.body, bodies, f"{key}.roles")
    guards_raw = raw.get("guards", [])
    if not isinstance(guards_raw, list):
        raise WorkflowError(f"{key}.guards", f"must be a list of guards: {', '.join(GUARDS)}")
    guards = tuple(guards_raw)
    for g in guards:
        if not isinstance(g, str) or g not in GUARDS:
            raise WorkflowError(
                f"{key}.guards", f"unknown guard {g!r}; guards: {', '.join(GUARDS)}"
            )
    return ActionDef(
        name=name,
        label=str(raw.get("label", name)),
        sources=tuple(sources),
        target=target,
        roles=roles,
        kind=kind,
        outcome=outcome,
        body=body,
        guards=guards,
    )
