"""The förbund file: members, bodies and their people, and the adoption workflow as data.

Validated with pydantic so that every error names the file, the key and what is
allowed; the workflow part is checked by `states` itself, which knows its rules.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic.networks import validate_email

from states.definition import WorkflowDef, WorkflowError
from states.roles import ROLES, Actor
from workflow.core.exceptions import ConfigError
from workflow.core.text import Key, Line, Name, Place
from workflow.forbund.cycle_rules import CycleRules
from workflow.forbund.permissions import Permissions
from workflow.forbund.report_rules import ReportRules

MemberKind = Literal["försäkringskassan", "arbetsförmedlingen", "region", "kommun"]
BodyKind = Literal["styrelse", "presidium", "beredningsgrupp", "llg", "medlemssamråd", "kansli"]
Role = Literal[
    "ordförande", "vice ordförande", "ledamot", "ersättare", "förbundschef", "tjänsteperson"
]
assert set(Role.__args__) == set(ROLES)  # type: ignore[attr-defined]

KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"


def _email(value: str, info: ValidationInfo) -> str:
    """An e-mail address as pydantic's own e-mail type checks and normalises it, except in
    a förbund file read back from the database (`parse_forbund(stored=True)`): that file
    was checked on its way in and stored as it was normalised, and checking every
    address's domain again was most of the cost of parsing 80 stored files, which a
    `scheduler tick` run from cron does each time."""
    if info.context and info.context.get("stored"):
        return value
    return validate_email(value)[1]


# pydantic's e-mail type with the check above; the schema says the same
Email = Annotated[
    str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email"})
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ForbundInfo(_Strict):
    """The förbund itself."""

    key: Key = Field(
        pattern=KEY_PATTERN,
        description="short identifier (lower case letters, digits, - and _), e.g. sydostra-skane",
    )
    name: Name = Field(description="the förbund's full name, as in its mail and documents")


class Member(_Strict):
    """One of the förbund's members: the two state agencies, the region, the kommuner."""

    key: Key = Field(pattern=KEY_PATTERN, description="short identifier of the member, e.g. ystad")
    name: Name = Field(description="the member's name, e.g. Ystads kommun")
    kind: MemberKind = Field(description="what kind of member it is")
    registrator: Email = Field(
        description="the member's registry (registrator), who gets protokollsutdrag of decisions"
    )


class Person(_Strict):
    """Somebody who holds a role in a body; one e-mail address is one person."""

    name: Name = Field(description="the person's name, as in mail and minutes")
    email: Email = Field(description="the person's e-mail address, also who they are in --as")
    role: Role = Field(description="the role the person holds in this body")
    member: Key | None = Field(
        default=None, description="the key of the member the person represents, if any"
    )


class Body(_Strict):
    """A body of the förbund (board, presidium, beredningsgrupp, ...) and its people."""

    key: Key = Field(pattern=KEY_PATTERN, description="short identifier of the body, e.g. styrelse")
    name: Name = Field(description="the body's name, e.g. Styrelsen")
    kind: BodyKind = Field(description="what kind of body it is; one body must be the styrelse")
    people: list[Person] = Field(
        default_factory=list, description="the people of the body and their roles"
    )


class Economy(_Strict):
    """The förbund's own rules for its budget (checked by 'finsam plan check')."""

    insatser_min_percent: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="the least share of the costs, in percent, that goes to insatser; "
        "none: not checked",
    )
    equity_recommendation_percent: int = Field(
        default=20,
        ge=0,
        le=100,
        description="the recommended equity after the year, in percent of the members' "
        "allocation (a warning below it)",
    )
    equity_recommendation_max_allocation: int = Field(
        default=7000,
        ge=0,
        description="the members' allocation (tkr) up to which the equity rule applies",
    )


class MailRules(_Strict):
    """Who mail is from, and when reminders and kallelser go out."""

    sender: Line | None = Field(
        default=None,
        description="who mail is from: 'Name <address>' or an address; "
        "default: the förbund's name and the förbundschef's address",
    )
    reply_to: Email | None = Field(
        default=None, description="where replies go; default: the sender"
    )
    reminder_offsets: list[int] = Field(
        default_factory=lambda: [14, 3, 0, -7],
        max_length=20,
        description="days before a report's due date (0: the day, negative: after)",
    )
    reminder_hour: int = Field(
        default=8, ge=0, le=23, description="the hour of the day (local time) reminders go out"
    )
    notice_days_before: int = Field(
        default=7, ge=1, le=60, description="days before a meeting its kallelse goes out"
    )

    @model_validator(mode="after")
    def _sender(self) -> MailRules:
        if self.sender is not None:
            from email.utils import parseaddr

            from email_validator import EmailNotValidError, validate_email

            try:
                validate_email(parseaddr(self.sender)[1], check_deliverability=False)
            except EmailNotValidError as exc:
                raise ValueError(f"mail.sender {self.sender!r}: {exc}") from None
        return self


class MinutesRules(_Strict):
    """What the protokoll and the anslagstavla say of a meeting: where the protokoll is
    kept (kommunallagen 8 kap. 12 §) and when the meeting was quorate."""

    kept_at: Place | None = Field(
        default=None,
        min_length=1,
        description="where the approved protokoll are kept (förvaringsplats), in Swedish, as "
        "each notice on the anslagstavla says; default: 'Förbundets kansli, ' and the "
        "förbund's name",
    )
    seats: list[Key] = Field(
        default_factory=lambda: ["ordförande", "vice ordförande", "ledamot"],
        max_length=24,
        description="the roles of a body that hold a seat (ledamöter), whose presence makes "
        "a meeting quorate",
    )
    substitutes: list[Key] = Field(
        default_factory=lambda: ["ersättare"],
        max_length=24,
        description="the roles that serve in an absent ledamot's seat (ersättare)",
    )
    quorum_percent: int = Field(
        default=50,
        ge=0,
        le=99,
        description="a board meeting is quorate (beslutsför) when the ledamöter present and "
        "the ersättare serving for absent ones are more than this percent of the board's "
        "seats (kommunallagen 6 kap. 36 §: more than half)",
    )


class ForbundFile(_Strict):
    """A förbund file: who the förbund is, its members and bodies, and its rules."""

    forbund: ForbundInfo = Field(description="the förbund: its key and name")
    members: list[Member] = Field(
        min_length=1,
        description="the members: exactly one each of försäkringskassan, arbetsförmedlingen "
        "and region, and at least one kommun",
    )
    bodies: list[Body] = Field(
        min_length=1,
        description="the bodies and their people; one styrelse, one förbundschef at least",
    )
    workflow: dict[str, Any] | None = Field(
        default=None,
        description="the plans' workflow (states and actions); default: the built-in one",
    )
    economy: Economy = Field(default_factory=Economy, description="rules for the budget")
    cycle: CycleRules | None = Field(
        default=None,
        description="the yearly cycle of meetings (årshjul); none: meetings are added by hand",
    )
    reports: ReportRules = Field(
        default_factory=ReportRules, description="which reports an insats owes, and when"
    )
    mail: MailRules = Field(
        default_factory=MailRules, description="who mail is from, and when it goes out"
    )
    minutes: MinutesRules = Field(
        default_factory=MinutesRules,
        description="what the anslagstavla says of the protokoll: where they are kept",
    )
    editors: list[Line] = Field(
        default_factory=lambda: ["förbundschef"],
        description="role specs (role or role@body) that may create plans and edit drafts",
    )
    permissions: Permissions = Field(
        default_factory=Permissions,
        description="role specs that may change the calendar, minutes, insatser, reports "
        "and the förbund file",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ForbundFile:
        _unique([m.key for m in self.members], "members", "key")
        _unique([b.key for b in self.bodies], "bodies", "key")
        kinds = [m.kind for m in self.members]
        for kind in ("försäkringskassan", "arbetsförmedlingen", "region"):
            if kinds.count(kind) != 1:
                raise ValueError(
                    f"members: exactly one member of kind {kind!r} is required "
                    f"(found {kinds.count(kind)})"
                )
        if "kommun" not in kinds:
            raise ValueError("members: at least one member of kind 'kommun' is required")
        member_keys = {m.key for m in self.members}
        names: dict[str, str] = {}
        for bi, body in enumerate(self.bodies):
            for pi, person in enumerate(body.people):
                where = f"bodies[{bi}].people[{pi}]"
                if person.member is not None and person.member not in member_keys:
                    raise ValueError(
                        f"{where}.member: unknown member {person.member!r}; "
                        f"members: {', '.join(sorted(member_keys))}"
                    )
                email = person.email.lower()
                if names.setdefault(email, person.name) != person.name:
                    raise ValueError(
                        f"{where}.name: {email} is {names[email]!r} elsewhere in the file; "
                        "one e-mail address is one person"
                    )
        if not any(b.kind == "styrelse" for b in self.bodies):
            raise ValueError("bodies: a body of kind 'styrelse' (the board) is required")
        if not any(p.role == "förbundschef" for b in self.bodies for p in b.people):
            raise ValueError("bodies: somebody must hold the role 'förbundschef'")
        if self.cycle is not None:
            self._check_cycle(self.cycle, {b.key for b in self.bodies}, member_keys)
        return self

    @staticmethod
    def _check_cycle(cycle: CycleRules, bodies: set[str], members: set[str]) -> None:
        known = ", ".join(sorted(bodies))
        for i, rule in enumerate(cycle.prep):
            if rule.body not in bodies:
                raise ValueError(
                    f"cycle.prep[{i}].body: unknown body {rule.body!r}; bodies: {known}"
                )
        for i, rule in enumerate(cycle.other):
            if rule.body not in bodies:
                raise ValueError(
                    f"cycle.other[{i}].body: unknown body {rule.body!r}; bodies: {known}"
                )
        for i, rule in enumerate(cycle.board):
            for body in [*rule.joint_with, *(rule.prep or [])]:
                if body not in bodies:
                    raise ValueError(f"cycle.board[{i}]: unknown body {body!r}; bodies: {known}")

    @cached_property
    def workflow_def(self) -> WorkflowDef:
        bodies = tuple(b.key for b in self.bodies)
        if self.workflow is None:
            return _default_workflow_def(bodies)
        return WorkflowDef.from_mapping(self.workflow, bodies=bodies)

    def actor(self, email: str) -> Actor | None:
        email = email.strip().lower()
        memberships = frozenset(
            (b.key, p.role) for b in self.bodies for p in b.people if p.email.lower() == email
        )
        if not memberships:
            return None
        name = next(p.name for b in self.bodies for p in b.people if p.email.lower() == email)
        return Actor(email=email, name=name, memberships=memberships)

    def chef(self) -> tuple[str, str]:
        """(name, e-mail) of the förbundschef."""
        return next(
            (p.name, p.email) for b in self.bodies for p in b.people if p.role == "förbundschef"
        )

    def board_body(self) -> str:
        """The key of the board (the body of kind styrelse), whose meetings decide."""
        return next(b.key for b in self.bodies if b.kind == "styrelse")

    def sender(self) -> str:
        # start-up: the e-mail modules load only when a sender is needed
        from notifications.messages import address

        if self.mail.sender:
            return self.mail.sender
        name, email = self.chef()
        return address(f"{self.forbund.name}", email) if name else email

    def people(self) -> list[tuple[str, str]]:
        """(e-mail, name) of everyone, once each, in file order."""
        seen: dict[str, str] = {}
        for b in self.bodies:
            for p in b.people:
                seen.setdefault(p.email.lower(), p.name)
        return list(seen.items())

    def holders(self, role: str, body: str | None) -> list[str]:
        """Names of the people who hold a role (in a body, when given)."""
        return list(
            dict.fromkeys(
                p.name
                for b in self.bodies
                for p in b.people
                if p.role == role and (body is None or b.key == body)
            )
        )

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


def _unique(values: list[str], where: str, key: str) -> None:
    seen: set[str] = set()
    for i, v in enumerate(values):
        if v in seen:
            raise ValueError(f"{where}[{i}].{key}: {v!r} is used twice; each must be unique")
        seen.add(v)


def default_workflow_data() -> dict[str, Any]:
    text = resources.files("workflow.forbund").joinpath("default_workflow.toml").read_text("utf-8")
    return tomllib.loads(text)


@cache
def _default_workflow_def(bodies: tuple[str, ...]) -> WorkflowDef:
    """The default workflow checked against a förbund's bodies, built once per set of
    bodies in a process: most förbund share it, and a tick that parses 80 stored files
    read and checked the same TOML 80 times (a third of the parse). The definition is
    frozen, so förbund can share it."""
    return WorkflowDef.from_mapping(default_workflow_data(), bodies=bodies)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def error_message(err: Any) -> str:
    """A pydantic error in the words of finsam's own checks (`workflow.core.text`)."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "string_too_long" and isinstance(err.get("input"), str):
        length, most = len(err["input"]), ctx.get("max_length")
        return f"is {length} characters long; at most {most} are allowed"
    if kind == "too_long" and "max_length" in ctx:
        return f"has {ctx.get('actual_length')} entries; at most {ctx['max_length']} are allowed"
    return str(err["msg"]).removeprefix("Value error, ")


def parse_forbund(data: dict[str, Any], source: str, *, stored: bool = False) -> ForbundFile:
    """Validate parsed data; every problem is reported with `source` and the key.
    `stored`: the data is a file finsam checked and stored itself (see `_email`)."""
    try:
        parsed = ForbundFile.model_validate(data, context={"stored": stored})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = _loc(err["loc"]) or "(top level)"
            msg = error_message(err)
            problems.append(f"{key}: {msg}" if not msg.startswith(key) else msg)
        raise ConfigError(f"{source}: invalid förbund file:\n  " + "\n  ".join(problems)) from None
    try:
        parsed.workflow_def  # noqa: B018 - validate now, not at first use
    except WorkflowError as exc:
        raise ConfigError(f"{source}: invalid förbund file:\n  {exc}") from None
    bodies = {b.key for b in parsed.bodies}
    specs = [("editors", spec) for spec in parsed.editors] + [
        (f"permissions.{name}", spec)
        for name in type(parsed.permissions).model_fields
        for spec in getattr(parsed.permissions, name)
    ]
    for where, spec in specs:
        role, _, body = spec.partition("@")
        if role not in ROLES or (body and body not in bodies):
            raise ConfigError(
                f"{source}: {where}: unknown role spec {spec!r}",
                f"a role ({', '.join(ROLES)}), optionally @body ({', '.join(sorted(bodies))})",
            )
    return parsed


def load_forbund(path: Path) -> ForbundFile:
    """A förbund file: a regular file of at most 1 MB, UTF-8 TOML of sane nesting."""
    # start-up: kept with the one function that reads a file (this module parses data)
    from workflow.core import toml_input
    from workflow.core.exceptions import UsageError
    from workflow.core.files import MAX_FORBUND_FILE, read_text

    try:
        text = read_text(path, "a förbund .toml file", MAX_FORBUND_FILE)
    except UsageError as exc:  # a förbund file's problems are ConfigErrors, all of them
        raise ConfigError(exc.message, exc.hint) from None
    data = toml_input.loads(text, str(path), ConfigError)
    return parse_forbund(data, str(path))
