"""The fuzzer's machinery: every command found in the Typer app, a realistic year to run
them against, hostile values for their parameters, and a verdict on each run.

A run fails when it ends in a traceback (an exception other than SystemExit, or
"Traceback"/"internal error" in the output), hangs (a per-run alarm), exits with
a code outside 0-3, or refuses (exit 2 or 3) after changing the database. The
failures are collected and grouped by where the exception was raised, so one
test reports every distinct problem it met, not just the first.

Runs are in-process through Typer's runner (a subprocess costs ten times as
much); the database is restored from a pristine copy after any run that may
have written, so examples are independent.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from helpers import CHAIR, CHEF, EXAMPLES, LEADER, MEMBER, SOS_FILE, dump
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# ---------------------------------------------------------------- knobs

LONG_RUN = bool(os.environ.get("FINSAM_FUZZ_EXAMPLES"))


def examples(default: int) -> int:
    """How many examples a fuzz test runs: FINSAM_FUZZ_EXAMPLES, else the test's default."""
    return int(os.environ.get("FINSAM_FUZZ_EXAMPLES") or default)


# Generous: a run on a loaded machine takes well under a second; only a real hang
# (a FIFO opened for reading, /dev/zero read whole) gets near it.
HANG_SECONDS = float(os.environ.get("FINSAM_FUZZ_HANG_SECONDS") or 20)
# a runaway read (of /dev/zero, say) becomes a MemoryError instead of eating the machine
MEMORY_HEADROOM = 3 * 1024**3

# A fixed order in the default suite (CI sees the same examples every time); a long
# run (FINSAM_FUZZ_EXAMPLES set) explores at random. No example database is written.
FUZZ_SETTINGS = settings(
    derandomize=not LONG_RUN,
    deadline=None,
    database=None,
    print_blob=False,
    suppress_health_check=list(HealthCheck),
)

NOW = "2027-09-06T12:00"  # the presidium has met; the board meets on the 21st
UNKNOWN = "nobody@elsewhere.example"
PEOPLE = [CHEF, CHAIR, MEMBER, LEADER, UNKNOWN, CHEF.upper(), "", "annika", " " + CHEF]
ACTIONS = [
    "submit",
    "recommend-adopt",
    "recommend-reject",
    "recommend-send-back",
    "adopt",
    "reject",
    "send-back",
    "revise",
    "force",
]
# commands that never end by design: the daemon and the web server (their bad settings
# are refused before they serve: tests/e2e/test_scheduler_daemon.py, tests/web/)
NOT_FUZZED = {("scheduler", "run"), ("web",)}


# ---------------------------------------------------------------- the commands


@dataclass(frozen=True)
class Param:
    name: str
    opts: tuple[str, ...]  # empty for an argument
    secondary: tuple[str, ...]
    annotation: str  # "int", "str", "Path", "bool", "list"
    required: bool
    flag: bool
    multiple: bool


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]
    params: tuple[Param, ...]

    @property
    def name(self) -> str:
        return " ".join(self.path)


def _annotation(param: Any) -> str:
    """The parameter's Python type in one word: int, bool, Path, list or str."""
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if annotation is None:  # a plain Click parameter
        return {"integer": "int", "boolean": "bool", "path": "Path"}.get(
            getattr(getattr(param, "type", None), "name", ""), "str"
        )
    if getattr(annotation, "__origin__", None) is list:
        return "list"
    if isinstance(annotation, type):
        for kind, name in ((bool, "bool"), (int, "int"), (Path, "Path")):
            if issubclass(annotation, kind):
                return name
    return "str"


def _param(p: Any) -> Param:
    is_option = bool(getattr(p, "param_type_name", "") == "option")
    return Param(
        name=p.name,
        opts=tuple(p.opts) if is_option else (),
        secondary=tuple(getattr(p, "secondary_opts", ()) or ()),
        annotation=_annotation(p),
        required=bool(p.required),
        flag=bool(getattr(p, "is_flag", False)),
        multiple=bool(p.multiple),
    )


def all_commands() -> list[Command]:
    """Every command of `finsam`, from the Typer app and its lazily built groups."""
    import typer

    from cli.main import app

    root = typer.main.get_command(app)
    found: list[Command] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "list_commands"):
            ctx = cmd.context_class(cmd)
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), (*path, name))
        elif path not in NOT_FUZZED:
            found.append(Command(path, tuple(_param(p) for p in cmd.params)))

    walk(root, ())
    return found


# ---------------------------------------------------------------- hostile values

TIMES = ["14:00", "08:30", "25:61", "2pm", "", "14:00:00", "-1:00"]
MARKUP = ["[/]", "[bold]fet[/bold]", "[utkast]", "[red]rött", "[link=x]y", "<b>x</b>", "{{x}}"]
CONTROL = ["Lea\r\nBcc: x@y", "a\x00b", "\x1b[31mröd\x1b[0m", "tab\there", "\x7f", "a\u2028b"]
ODD = ["", " ", "-", "--", "--help", "0", "-1", "\udcff", "é" * 3, "\u202eevil", "😀", "%s%n"]


def hostile_text() -> st.SearchStrategy[str]:
    """Text a careless or hostile person types: markup, control characters, very long."""
    return st.one_of(
        st.sampled_from(MARKUP + CONTROL + ODD),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
        st.builds(lambda n, c: c * n, st.sampled_from([301, 501, 10_001, 1_000_001]), st.just("x")),
    )


def huge_or_odd_int() -> st.SearchStrategy[int]:
    return st.one_of(
        st.integers(min_value=-3, max_value=25),
        st.sampled_from(
            [2026, 2027, 2028, 1, 9999, 10_000, 2**31, 2**63, 2**64, 1180591620717411303424]
        ),
        st.integers(),
        st.integers(max_value=-(2**63)),
    )


def dates_as_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)).map(str),
        st.dates().map(str),
        st.sampled_from(
            [
                "2027-02-30",
                "2027-13-01",
                "0001-01-01",
                "9999-12-31",
                "2027-09-06T12:00",
                "2027-09-06T25:00",
                "2031-11-24",
                "2027-08-29",
                "27-9-6",
                "today",
                "",
            ]
        ),
        st.datetimes().map(lambda d: d.isoformat()),
    )


def _by_name(harness: Harness) -> dict[str, st.SearchStrategy[str]]:
    """Values that make sense for a parameter of this name (so commands get past their
    first check), to be mixed with hostile ones."""
    people = st.sampled_from(PEOPLE)
    ids = st.integers(min_value=1, max_value=12).map(str)
    return {
        "actor": people,
        "leader_email": people,
        "contact_email": people,
        "present": people,
        "justerare": people,
        "action": st.sampled_from(ACTIONS),
        "start": dates_as_text(),
        "end": dates_as_text(),
        "on": dates_as_text(),
        "meeting": st.one_of(dates_as_text(), ids),
        "now": dates_as_text(),
        "to": st.one_of(dates_as_text(), st.sampled_from(harness.urls)),
        "time": st.sampled_from(TIMES),
        "at_time": st.sampled_from(TIMES),
        "body": st.sampled_from(["styrelse", "presidium", "beredningsgrupp", "medlemssamrad", "x"]),
        "place": st.sampled_from(["ystad", "Digitalt (Teams)", "okänd"]),
        "forbund": st.sampled_from(["sydostra-skane", "lund", "SYDOSTRA-SKANE", ""]),
        "owner": st.sampled_from(["region-skane", "simrishamn", "fk", "okand"]),
        "budget": st.sampled_from(["2027=3000", "2027=-1", "2027=1e309", "x=y", "2027", "=5"]),
        "fmt": st.sampled_from(["html", "pdf", "md", "markdown", "text", "docx", "json", ""]),
        "state": st.sampled_from(["queued", "sent", "failed", "draft", "dead"]),
        "head": st.sampled_from(["0" * 64, "f" * 64, "abc", ""]),
        "paragraph": st.sampled_from(["§ 12", "12", "§ 0", "§ -1"]),
        "target": st.one_of(ids, st.sampled_from(harness.path_texts())),
        "name": st.sampled_from(["Mariamottagningen", "Ny insats"]),
        "title": st.sampled_from(["Verksamhetsplan 2029"]),
    }


def param_value(harness: Harness, param: Param, sane: bool = False) -> st.SearchStrategy[str]:
    """Text for one value of `param`: two times in three plausible, else hostile (always
    plausible in a sane run, where a value has a plausible form)."""
    ids = st.integers(min_value=1, max_value=12).map(str)
    years = st.integers(min_value=2026, max_value=2028).map(str)
    files = st.sampled_from(harness.good_files(param.name))
    # a path is a path whatever it is called (`init --forbund FILE`, not a förbund key)
    plausible = None if param.annotation == "Path" else _by_name(harness).get(param.name)
    if plausible is None:
        plausible = {
            "int": years if param.name in {"year", "until"} else ids,
            "Path": files,
        }.get(param.annotation)
    hostile = {
        "int": huge_or_odd_int().map(str),
        "Path": st.sampled_from(harness.path_texts()),
    }.get(param.annotation, hostile_text())
    if plausible is None:
        return hostile
    if sane:
        return plausible
    return st.integers(0, 2).flatmap(lambda i: hostile if i == 0 else plausible)


@st.composite
def arguments(draw: Any, harness: Harness, command: Command) -> list[str]:
    """An argument list for `command`: required parameters mostly there, optional ones a
    random subset, flags on or off, sometimes an option it does not have. One run in
    three is sane (every required parameter, plausible values), so the paths that
    accept and change things are fuzzed too, not only the refusals."""
    args: list[str] = list(command.path)
    sane = draw(st.integers(0, 2)) == 0
    for param in command.params:
        wanted = param.required if sane else False
        wanted = wanted or draw(st.integers(0, 19)) < (19 if param.required else 6)
        if not wanted:
            continue
        if param.flag:
            args.append(draw(st.sampled_from(param.opts + param.secondary)))
            continue
        count = draw(st.integers(1, 3)) if param.multiple else 1
        for _ in range(count):
            value = draw(param_value(harness, param, sane))
            if param.opts:
                args += [draw(st.sampled_from(param.opts)), value]
            else:
                args.append(value)
    if not sane and draw(st.integers(0, 49)) == 0:
        args.append(draw(st.sampled_from(["--bogus", "extra", "--json", "--help"])))
    return args


@st.composite
def environments(draw: Any, harness: Harness) -> dict[str, str | None]:
    """Mostly the year's settings; now and then a hostile clock, acting person or database."""
    env: dict[str, str | None] = {}
    if draw(st.integers(0, 9)) == 0:
        env["FINSAM_NOW"] = draw(dates_as_text())
    if draw(st.integers(0, 9)) == 0:
        env["FINSAM_USER"] = draw(st.sampled_from(PEOPLE))
    if draw(st.integers(0, 14)) == 0:
        env["FINSAM_DATABASE_URL"] = draw(st.sampled_from(harness.urls))
    return env


# ---------------------------------------------------------------- verdicts


class Hang(BaseException):
    """Raised by the alarm in a run that took too long (BaseException: no `except
    Exception` in the product swallows it)."""


@dataclass
class Outcome:
    args: list[str]
    env: Mapping[str, str | None]
    code: int | None
    output: str
    exception: BaseException | None = None
    problem: str | None = None  # why this run failed, None when it did not
    note: str = ""  # what else it took (a generated file's beginning)


@dataclass
class Findings:
    """Every failed run, grouped by where it failed; counts of all runs by exit code."""

    groups: dict[str, list[Outcome]] = field(default_factory=lambda: defaultdict(list))
    codes: Counter[str] = field(default_factory=Counter)
    commands: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: Outcome, command: str) -> None:
        self.commands[command] += 1
        self.codes[str(outcome.code) if outcome.problem is None else "FAIL"] += 1
        if outcome.problem is not None:
            self.groups[group_key(outcome, command)].append(outcome)

    def summary(self) -> str:
        runs = sum(self.codes.values())
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.codes.items()))
        return f"{runs} runs over {len(self.commands)} commands; exits {codes}"

    def report(self) -> str:
        parts = [self.summary(), f"{len(self.groups)} distinct failures"]
        for key, outcomes in sorted(self.groups.items()):
            first = outcomes[0]
            parts.append(f"\n## {key} ({len(outcomes)} runs)\n{first.problem}")
            for o in outcomes[:3]:
                env = {k: v for k, v in o.env.items() if v is not None and k in VARYING}
                shown_env = f"  env={env}" if env else ""
                parts.append(f"  finsam {shown_args(o.args)}{shown_env} -> exit {o.code}{o.note}")
            printed = printed_traceback(first.output)
            if printed:
                parts.append(printed[1])
            elif first.exception is not None and not isinstance(first.exception, SystemExit):
                parts.append(last_lines(first.exception))
            elif first.output.strip():
                parts.append("  output: " + first.output.strip()[-600:])
        return "\n".join(parts)

    def write(self, title: str) -> None:
        """Append to FINSAM_FUZZ_REPORT when it is set (long runs collect findings there)."""
        target = os.environ.get("FINSAM_FUZZ_REPORT")
        if target:
            with open(target, "a", encoding="utf-8") as out:
                out.write(f"\n# {title}\n{self.report()}\n")


VARYING = {"FINSAM_NOW", "FINSAM_USER", "FINSAM_DATABASE_URL"}


def shown_args(args: list[str]) -> str:
    def one(a: str) -> str:
        a = a if len(a) <= 60 else f"{a[:20]}...({len(a)} chars)"
        return a if re.fullmatch(r"[\w@./:=+-]+", a) else repr(a)

    return " ".join(one(a) for a in args)


def _project_frame(exc: BaseException) -> traceback.FrameSummary | None:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if re.search(r"/(workflow|cli|notifications|states)/", f.filename)]
    return (ours or frames or [None])[-1]


def group_key(outcome: Outcome, command: str) -> str:
    """Where a failure happened: the exception's type and innermost frame of finsam's own
    code (so one bug met through many commands is one finding)."""
    exc = outcome.exception
    if exc is None or isinstance(exc, SystemExit):
        printed = printed_traceback(outcome.output)
        if printed:
            return printed[0]
        return f"{outcome.problem.split(':')[0]} in `{command}`"  # type: ignore[union-attr]
    frame = _project_frame(exc)
    where = f"{_short(frame.filename)}:{frame.lineno} ({frame.name})" if frame else "?"
    kind = "hang" if isinstance(exc, Hang) else type(exc).__name__
    return f"{kind} at {where}"


FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


def printed_traceback(output: str) -> tuple[str, str] | None:
    """(where, last lines) of a traceback in the output (FINSAM_DEBUG=1 prints one)."""
    marker = "Traceback (most recent call last)"
    start = output.find(marker)
    if start < 0:
        return None
    end = output.find(marker, start + 1)
    text = output[start : end if end > 0 else None]
    frames = FRAME.findall(text)
    ours = [f for f in frames if re.search(r"/(workflow|cli|notifications|states)/", f[0])]
    lines = [line for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line)]
    last = errors[-1] if errors else lines[-1]
    kind = last.split(":")[0]
    if not (ours or frames):
        return f"{kind} at ?", text
    file, line, func = (ours or frames)[-1]
    return f"{kind} at {_short(file)}:{line} ({func})", "\n".join("    " + x for x in lines[-8:])


def _short(filename: str) -> str:
    match = re.search(r"/((workflow|cli|notifications|states|typer|click|sqlalchemy)/.*)", filename)
    return match.group(1) if match else filename


def last_lines(exc: BaseException, n: int = 8) -> str:
    text = "".join(traceback.format_exception(exc)).rstrip().splitlines()
    return "\n".join("    " + line for line in text[-n:])


def judge(outcome: Outcome, allowed: set[int], dump_changed: bool) -> str | None:
    """Why this run is a failure, or None."""
    exc = outcome.exception
    if isinstance(exc, Hang):
        return f"hang: no answer after {HANG_SECONDS:g} s"
    if exc is not None and not isinstance(exc, SystemExit):
        return f"traceback: {type(exc).__name__}: {str(exc)[:300]}"
    if "Traceback (most recent call last)" in outcome.output:
        return "traceback printed"
    if "internal error" in outcome.output.lower():
        return "internal error printed"
    if outcome.code not in allowed:
        return f"exit code {outcome.code}, allowed {sorted(allowed)}"
    if dump_changed:
        return f"refused with exit {outcome.code} but the database changed"
    return None


# ---------------------------------------------------------------- the year and its runs


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    def ring(signum: int, frame: Any) -> None:
        raise Hang()

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def memory_cap(headroom: int = MEMORY_HEADROOM) -> Iterator[None]:
    """A soft address-space limit of what the process uses now plus `headroom`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = _vm_size()
    cap = used + headroom if used else soft
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _vm_size() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _backup(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, its write-ahead log included."""
    import sqlite3

    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


class Harness:
    """A folder with the year's database, a pristine copy of it, and files to name."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / "finsam.db"
        self.pristine = root / "pristine.db"
        self.url = f"sqlite:///{self.db}"
        self.inputs = root / "inputs"
        self.fifo = root / "fifo"
        self.ex = root / "ex"  # copies of the examples, with their relative paths intact
        self.dirty = True
        self.pristine_dump: dict[str, Any] = {}
        self.urls = [
            self.url,
            "nonsense",
            "mysql://u:p@127.0.0.1:1/x",
            "postgresql://postgres@127.0.0.1:1/none",
            f"sqlite:///{self.inputs / 'dir'}",
            f"sqlite:///{self.inputs / 'random.bin'}",
            f"sqlite:///{self.inputs / 'empty.txt'}",
            "sqlite:////proc/x.db",
            f"sqlite:///{root / 'copy.db'}",
            "sqlite:///relative.db",
            "",
        ]
        shutil.copytree(EXAMPLES, self.ex, ignore=shutil.ignore_patterns("*.py", "*.sh"))
        os.mkfifo(self.fifo)

    def good_files(self, name: str) -> list[str]:
        """Files a path parameter of this name could sensibly be given."""
        if name in {"output", "ics"}:
            return [str(self.root / "out" / "file.out"), str(self.root / "out.html")]
        i = self.inputs
        return [str(i / "forbund.toml"), str(i / "plan.toml"), str(i / "report.txt")]

    # the files a path parameter is given (the FIFO is left to its own test: a run that
    # opens it blocks until the alarm, which would make every such example cost 20 s)
    def path_texts(self) -> list[str]:
        i = self.inputs
        return [
            str(i / "missing.toml"),
            str(i / "dir"),
            "/dev/zero",
            "/dev/null",
            str(i / "empty.txt"),
            str(i / "random.bin"),
            str(i / "forbund.toml"),
            str(i / "plan.toml"),
            str(i / "report.txt"),
            str(i / "link.toml"),
            str(i / "dangling"),
            str(i / "deep.toml"),
        ]

    def make_inputs(self) -> None:
        i = self.inputs
        if i.exists():
            shutil.rmtree(i)
        (i / "dir").mkdir(parents=True)
        (i / "empty.txt").write_bytes(b"")
        (i / "random.bin").write_bytes(bytes(range(256)) * 8 + b"\xff\xfe\x00")
        shutil.copy(SOS_FILE, i / "forbund.toml")
        plan = (self.ex / "demo" / "sydostra-skane-2028.toml").read_text(encoding="utf-8")
        forbund_file = (self.ex / "forbund" / "sydostra-skane.toml").as_posix()
        (i / "plan.toml").write_text(
            plan.replace('"../forbund/sydostra-skane.toml"', f'"{forbund_file}"'),
            encoding="utf-8",
        )
        (i / "report.txt").write_text("Tertialrapport 2 2027\n", encoding="utf-8")
        (i / "link.toml").symlink_to(i / "forbund.toml")
        (i / "dangling").symlink_to(i / "nowhere")
        (i / "deep.toml").write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")

    def env(
        self, extra: Mapping[str, str | None] | None = None, now: str = NOW
    ) -> dict[str, str | None]:
        base: dict[str, str | None] = {
            "FINSAM_DATABASE_URL": self.url,
            "FINSAM_NOW": now,
            "FINSAM_USER": None,
            "FINSAM_DATA_DIR": str(self.root / "files"),
            "FINSAM_MAIL_URL": "console:",
            "XDG_DATA_HOME": str(self.root / "xdg"),
            "COLUMNS": "120",
            "FINSAM_DEBUG": "1",  # a bug's traceback, to tell where it is
        }
        base.update(extra or {})
        return base

    def invoke(self, args: list[str], env: Mapping[str, str | None]) -> Outcome:
        """One run of `finsam ARGS` in this process, under the hang alarm."""
        from typer.testing import CliRunner

        from cli.main import app

        try:
            with alarm(HANG_SECONDS):
                result = CliRunner().invoke(app, args, env=env, catch_exceptions=True)
        except Hang as exc:
            return Outcome(args, env, None, "", exc)
        # the runner's output holds stdout and stderr as they came
        return Outcome(args, env, result.exit_code, result.output, result.exception)

    def setup_run(
        self, *args: str, now: str, env: Mapping[str, str | None] | None = None
    ) -> Outcome:
        """A step that builds the year: it must work."""
        outcome = self.invoke(list(args), self.env({"FINSAM_USER": CHEF, **(env or {})}, now=now))
        assert outcome.code == 0 and outcome.exception is None, (
            args,
            outcome.output,
            outcome.exception and last_lines(outcome.exception, 20),
        )
        return outcome

    def build_year(self) -> None:
        """Sydöstra Skåne in 2027: its cycle, two insatser and their reports, one report
        in, the 2028 plan submitted (before the presidium), a draft for 2029, messages."""
        self.make_inputs()
        self.setup_run("init", "--forbund", str(SOS_FILE), now="2027-01-10T09:00")
        self.setup_run("cycle", "generate", "--year", "2027", now="2027-01-10T09:05")
        self.setup_run(
            "insats", "add", "--name", "Mariamottagningen", "--owner", "region-skane",
            "--start", "2019-05-01", "--end", "2027-12-31", "--leader-name", "Sofia Ek",
            "--leader-email", LEADER, "--budget", "2027=3000", "--sus",
            now="2027-01-12T09:00",
        )  # fmt: skip
        self.setup_run(
            "insats", "add", "--name", "Möjligheternas hus", "--owner", "tomelilla",
            "--start", "2018-08-01", "--leader-name", "Kim Ros",
            "--leader-email", "kim.ros@tomelilla.example", "--budget", "2027=500",
            now="2027-01-12T09:01",
        )  # fmt: skip
        self.setup_run("reports", "generate", "--year", "2027", now="2027-01-12T09:05")
        self.setup_run(
            "reports", "submit", "1", "--file", str(self.inputs / "report.txt"),
            now="2027-02-18T10:00", env={"FINSAM_USER": LEADER},
        )  # fmt: skip
        self.setup_run("plan", "new", "--from", str(self.inputs / "plan.toml"), now="2027-08-16")
        self.setup_run("plan", "move", "1", "submit", now="2027-08-23T10:00")
        self.setup_run("plan", "new", "--year", "2029", "--title", "Utkast", now="2027-08-24")
        self.setup_run("scheduler", "tick", "--quiet", now="2027-08-30T08:00")
        _backup(self.db, self.pristine)  # with what the WAL holds, which a file copy misses
        self.dirty = True
        self.restore()
        self.pristine_dump = dump(self.url)

    def restore(self) -> None:
        """The pristine database and input files again, after a run that may have written."""
        if not self.dirty:
            return
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{self.db}{suffix}").unlink(missing_ok=True)
        fresh = self.root / "fresh.db"
        shutil.copy(self.pristine, fresh)
        os.replace(fresh, self.db)  # a new file: a connection left open sees the old one
        for leftover in ("copy.db", "relative.db"):
            (self.root / leftover).unlink(missing_ok=True)
        self.make_inputs()
        self.dirty = False

    def run(self, args: list[str], env: Mapping[str, str | None], allowed: set[int]) -> Outcome:
        """Restore, run, judge: a refusal (exit 2 or 3) must leave the database as it was."""
        self.restore()
        outcome = self.invoke(args, self.env(env))
        outcome.env = env  # what this run varied, for the report
        changed = False
        if outcome.code in (2, 3) and outcome.exception is None:
            changed = dump(self.url) != self.pristine_dump
        outcome.problem = judge(outcome, allowed, changed)
        if outcome.code != 2 or changed or outcome.problem:
            self.dirty = True
        return outcome


# ---------------------------------------------------------------- TOML out


def toml_dumps(doc: Mapping[str, Any]) -> str:
    """A document as TOML, every table inline (valid TOML 1.0, read back the same)."""
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in doc.items())


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)


def _string(text: str) -> str:
    out = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:  # a lone surrogate has no place in a UTF-8 file
            out.append("\\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")
