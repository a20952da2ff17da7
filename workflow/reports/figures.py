"""A report's figures: read from a TOML file or `--set key=value`, checked against the
förbund file's `[[reports.fields]]` for the report's kind.

What is stored in `Obligation.figures` (a JSON object, figure key → value; what the
overview adds up):

- `integer`: an int from 0 to 10^9 (a count of people);
- `percent`: an int from 0 to 100;
- `tkr`: thousands of kronor from 0 to 10^9 with at most one decimal: an int when whole,
  else a float rounded to 0.1 (`512,5` and `512.5` are both 512.5);
- `yes-no`: true or false (ja/nej/yes/no/true/false, any case);
- `text`: a string (several lines allowed, `workflow.core.text.multi_line`, kind comment).

An optional figure left empty is not stored. Whether figures are required at all:
a submission with no figures is accepted as before (a file alone; `figures` stays as
it was, None for a first submission), so scripts and the demo keep working; once any
figure is given, every required figure of the kind must be, and the figures given
replace the earlier ones. Every problem is named at once, one per line, with the
figure's key and Swedish label and what is allowed (exit 2, nothing stored).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from workflow.core.exceptions import UsageError
from workflow.core.files import MAX_FORBUND_FILE, read_text
from workflow.core.text import multi_line
from workflow.core.toml_input import check_nesting
from workflow.forbund.report_rules import ReportField

Value = int | float | bool | str
Figures = dict[str, Value]

MAX_COUNT = 10**9  # the largest count or amount in tkr a report gives
MAX_AUDIT = 500  # the longest audit comment a submission writes
_SHOWN = 40  # characters of a wrong value or key repeated in a message
_SPACES = str.maketrans("", "", " \u00a0\u202f")  # "1 200": Swedish thousands separators
_YES = {"ja": True, "yes": True, "true": True, "nej": False, "no": False, "false": False}
_ALLOWED = {
    "integer": f"give a whole number from 0 to {MAX_COUNT}",
    "percent": "give a whole number from 0 to 100",
    "tkr": f"give an amount in tkr from 0 to {MAX_COUNT}, with at most one decimal (512,5)",
    "yes-no": "give ja or nej (yes/no, true/false)",
    "text": "give text",
}
_NOT_A = {
    "integer": "is not a whole number",
    "percent": "is not a whole number",
    "tkr": "is not an amount in tkr",
    "yes-no": "is not ja or nej",
}


def _shown(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "…")


def _name(field: ReportField) -> str:
    return f"{field.key} ({field.label})"


# ---------------------------------------------------------------- reading what people give


def _as_text(key: str, value: object, source: str) -> str:
    """A TOML value as the text `--set` would give; a table, array or date is refused."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    what = (
        "a table"
        if isinstance(value, dict)
        else "an array"
        if isinstance(value, list)
        else "a date or time"
        if isinstance(value, date | datetime | time)
        else "not a plain value"
    )
    raise UsageError(
        f"{source}: {key} is {what}",
        'give each figure as key = value (a number, true/false or a "text")',
    )


def read_file(path: Path) -> dict[str, str]:
    """The figures of a small TOML file (`key = value` lines), each as text."""
    source = str(path)
    text = read_text(path, "a TOML file of figures (key = value)", MAX_FORBUND_FILE)
    check_nesting(text, source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(
            f"{source}: not valid TOML: {exc}", "give one figure a line: key = value"
        ) from None
    return {key: _as_text(key, value, source) for key, value in data.items()}


def parse_sets(pairs: Iterable[str]) -> dict[str, str]:
    """`--set key=value` options as {key: value}; a later pair for a key wins."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sign, value = pair.partition("=")
        if not sign or not key.strip():
            raise UsageError(
                f"--set {_shown(pair)} is not key=value",
                "give e.g. --set participants_women=12",
            )
        out[key.strip()] = value
    return out


def gather(file: Path | None, sets: Iterable[str] | None) -> dict[str, str] | None:
    """The figures of `--figures FILE` and `--set` (which wins); None when neither is given."""
    given = read_file(file) if file is not None else {}
    given.update(parse_sets(sets or []))
    return given if file is not None or given else None


# ---------------------------------------------------------------- checking


def _number(raw: str) -> Decimal | None:
    """`raw` as a non-negative decimal with at most one decimal (comma or point), or None."""
    text = raw.strip().translate(_SPACES)
    if len(text) > _SHOWN or not re.fullmatch(r"[0-9]+(?:[.,][0-9]+)?", text):
        return None
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        return None


def _value(field: ReportField, raw: str) -> Value:
    """`raw` as the field's stored value; a ValueError says what is wrong with it."""
    kind = field.type
    if kind == "text":
        return multi_line(raw, _name(field), "comment")
    if kind == "yes-no":
        answer = _YES.get(raw.strip().lower())
        if answer is None:
            raise ValueError(f"{_shown(raw)} {_NOT_A[kind]}")
        return answer
    number = _number(raw)
    if number is None:
        raise ValueError(f"{_shown(raw)} {_NOT_A[kind]}")
    if kind != "tkr" and number != number.to_integral_value():
        raise ValueError(f"{_shown(raw)} {_NOT_A[kind]}")
    if kind == "tkr" and number != round(number, 1):
        raise ValueError(f"{_shown(raw)} has more than one decimal")
    top = 100 if kind == "percent" else MAX_COUNT
    if number > top:
        raise ValueError(f"{_shown(raw)} is more than {top}")
    whole = int(number)
    return whole if number == whole else round(float(number), 1)


def check(given: Mapping[str, str], fields: list[ReportField], what: str) -> Figures:
    """The figures `given` as stored, or one UsageError naming every problem, a line each.

    `fields` are those the report's kind asks for (`ReportRules.fields_for`); `what` names
    the report in messages, e.g. "Tertialrapport 1 (tertial-1)"."""
    by_key = {f.key: f for f in fields}
    problems: list[str] = []
    out: Figures = {}
    for key, raw in given.items():
        field = by_key.get(key)
        if field is None:
            asks = ", ".join(by_key) or "no figures"
            problems.append(f"{_shown(key)}: {what} has no such figure; it asks for {asks}")
            continue
        if not raw.strip():
            if field.required:
                problems.append(f"{_name(field)}: is empty; {_ALLOWED[field.type]}")
            continue
        try:
            out[key] = _value(field, raw)
        except ValueError as exc:
            problems.append(f"{_name(field)}: {exc}; {_ALLOWED[field.type]}")
        except UsageError as exc:  # text: multi_line names the field itself
            problems.append(exc.message.replace(f"{_name(field)} ", f"{_name(field)}: ", 1))
    for field in fields:
        if field.required and field.key not in given:
            problems.append(f"{_name(field)}: missing; {what} asks for it")
    if problems:
        raise UsageError(
            "\n".join(problems),
            "once any figure is given, give every required one "
            "(--figures FILE.toml with key = value lines, or --set key=value)",
        )
    return out


# ---------------------------------------------------------------- in words


def _shown_value(value: Value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.1f}"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= _SHOWN else value[:_SHOWN] + "…",
                          ensure_ascii=False)  # fmt: skip
    return str(value)


def in_words(figures: Figures) -> str:
    """`figures: key=value, ...` for an audit row's comment."""
    return "figures: " + ", ".join(f"{k}={_shown_value(v)}" for k, v in figures.items())


def shorten(text: str, limit: int = MAX_AUDIT) -> str:
    """`text`, cut to `limit` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- for a form in the browser

_TILLATET = {
    "integer": "Skriv ett heltal från 0 och uppåt, till exempel 12.",
    "percent": "Skriv ett heltal från 0 till 100.",
    "tkr": "Skriv ett belopp i tkr med högst en decimal, till exempel 512,5.",
    "yes-no": "Välj ja eller nej.",
    "text": "Texten får ha högst 10 000 tecken och inga styrtecken.",
}


def form_errors(given: Mapping[str, str], fields: list[ReportField]) -> dict[str, str]:
    """Each figure of a browser's form that would be refused, with a Swedish message
    saying what is allowed (the same rules as `check`); empty when all would pass."""
    errors: dict[str, str] = {}
    for field in fields:
        raw = given.get(field.key, "")
        if not raw.strip():
            if field.required:
                errors[field.key] = f"{field.label} saknas. {_TILLATET[field.type]}"
            continue
        try:
            _value(field, raw)
        except (ValueError, UsageError):
            errors[field.key] = (
                f"{field.label}: {_shown(raw)} går inte att ta emot. " + (_TILLATET[field.type])
            )
    return errors
