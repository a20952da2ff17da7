"""Drawing a workflow from its data, so the picture can never drift from the rules."""

from __future__ import annotations

from states.definition import ANY_STATE, WorkflowDef
from states.roles import describe_specs


def _edges(workflow: WorkflowDef) -> list[tuple[str, str, str]]:
    edges = []
    for a in workflow.actions:
        if a.kind == "force" or a.target is None:
            continue
        sources = list(workflow.states) if ANY_STATE in a.sources else a.sources
        for s in sources:
            edges.append((s, a.target, a.name))
    return edges


def mermaid(workflow: WorkflowDef) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {workflow.initial}"]
    for name, state in workflow.states.items():
        lines.append(f"    {name} : {state.label}")
    for source, target, label in _edges(workflow):
        lines.append(f"    {source} --> {target} : {label}")
    forced = [a for a in workflow.actions if a.kind == "force"]
    for a in forced:
        lines.append(f"    note right of {workflow.initial}")
        lines.append(f"        {a.name}: any state, {describe_specs(a.roles)}, reason required")
        lines.append("    end note")
    return "\n".join(lines) + "\n"


def dot(workflow: WorkflowDef) -> str:
    lines = ["digraph workflow {", "    rankdir=LR;", "    node [shape=box, style=rounded];"]
    for name, state in workflow.states.items():
        shape = ", peripheries=2" if not workflow.actions_from(name) else ""
        lines.append(f'    "{name}" [label="{state.label}\\n({name})"{shape}];')
    for source, target, label in _edges(workflow):
        lines.append(f'    "{source}" -> "{target}" [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"
