"""The förbund file: members, bodies and their people, and the adoption workflow as data.

Validated with pydantic so that every error names the file, the key and what is
allowed; the workflow part is checked by `states` itself, which knows its rules.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, model_validator

from states.definition import WorkflowDef, WorkflowError
from states.roles import ROLES, Actor
from workflow.core.exceptions import ConfigError
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ForbundInfo(_Strict):
    key: str = Field(pattern=KEY_PATTERN, description="short identifier, e.g. sydostra-skane")
    name: str = Field(min_length=1)


class Member(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1)
    kind: MemberKind
    registrator: EmailStr


class Person(_Strict):
    name: str = Field(min_length=1)
    email: EmailStr
    role: Role
    member: str | None = None


class Body(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1)
    kind: BodyKind
    people: list[Person] = Field(default_factory=list)


class Economy(_Strict):
    """The förbund's own rules for its budget (checked by 'finsam plan check')."""

    insatser_min_percent: int | None = Field(default=None, ge=0, le=100)
    equity_recommendation_percent: int = Field(default=20, ge=0, le=100)
    equity_recommendation_max_allocation: int = Field(default=7000, ge=0)


class MailRules(_Strict):
    """Who mail is from, and when reminders and kallelser go out."""

    sender: str | None = Field(
        default=None, description="'Name <address>'; default: the förbundschef"
    )
    reply_to: EmailStr | None = None
    reminder_offsets: list[int] = Field(
        default_factory=lambda: [14, 3, 0, -7],
        description="days before a report's due date (0: the day, negative: after)",
    )
    reminder_hour: int = Field(default=8, ge=0, le=23)
    notice_days_before: int = Field(default=7, ge=1, le=60)

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


class ForbundFile(_Strict):
    forbund: ForbundInfo
    members: list[Member] = Field(min_length=1)
    bodies: list[Body] = Field(min_length=1)
    workflow: dict[str, Any] | None = None
    economy: Economy = Field(default_factory=Economy)
    cycle: CycleRules | None = None
    reports: ReportRules = Field(default_factory=ReportRules)
    mail: MailRules = Field(default_factory=MailRules)
    editors: list[str] = Field(
        default_factory=lambda: ["förbundschef"],
        description="role specs that may create plans and edit drafts",
    )
    permissions: Permissions = Field(default_factory=Permissions)

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
        data = self.workflow if self.workflow is not None else default_workflow_data()
        return WorkflowDef.from_mapping(data, bodies=[b.key for b in self.bodies])

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


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_forbund(data: dict[str, Any], source: str) -> ForbundFile:
    """Validate parsed data; every problem is reported with `source` and the key."""
    try:
        parsed = ForbundFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = _loc(err["loc"]) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
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
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file", "give the path of a förbund .toml file"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the förbund file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_forbund(data, str(path))
