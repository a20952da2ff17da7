"""No traceback, no hang: bad database URLs, ids, clocks and files answer exit 2.

Each case runs the CLI and checks the exit code, the message (what was wrong and
what would be right), that no traceback reached the user and, where there is a
database, that nothing in it changed. Most cases run in this process (Typer's
runner: an exception escaping a command shows as exit 1 and `result.exception`);
FIFOs, devices and the console script itself run as real processes with a
generous timeout, so a hang fails the test instead of stopping the suite.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from helpers import CHEF, SOS_FILE, dump
from typer.testing import CliRunner

FINSAM = str(Path(sys.executable).with_name("finsam"))
HANG = 60  # seconds: far above a normal run, so that load cannot make it flaky
NESTED_ARRAYS = "a = " + "[" * 5000 + "]" * 5000 + "\n"
NESTED_TABLES = "a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n"


def finsam(*args: str, code: int = 2, **env: str) -> Any:
    """`finsam ARGS` in this process; asserts the exit code and that no traceback showed."""
    from cli.main import app

    result = CliRunner().invoke(app, list(args), env=env or None)
    shown = (result.exit_code, result.stdout, result.stderr, repr(result.exception))
    assert result.exit_code == code, shown
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    if code == 2:
        assert result.stderr.startswith("error: "), shown
    return result


def refused(*args: str, says: str, **env: str) -> str:
    """Refused with exit 2 and a message containing `says`; the message."""
    err = finsam(*args, **env).stderr
    assert says in err, err
    return err


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database holding Sydöstra Skåne, its 2027 meetings and one plan (made
    once; each test gets a copy)."""
    path = tmp_path_factory.mktemp("template") / "finsam.db"
    env = {"FINSAM_DATABASE_URL": f"sqlite:///{path}", "FINSAM_NOW": "2027-01-10T09:00"}
    env["FINSAM_USER"] = CHEF
    finsam("init", "--forbund", str(SOS_FILE), code=0, **env)
    finsam("cycle", "generate", "--year", "2027", code=0, **env)
    finsam("plan", "new", "--year", "2028", "--title", "Plan", code=0, **env)
    return path


@pytest.fixture
def db(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A copy of the template, the CLI pointed at it; nothing in it may change."""
    path = tmp_path / "finsam.db"
    source, copy = sqlite3.connect(template), sqlite3.connect(path)
    source.backup(copy)  # the rows in the template's WAL too
    source.close()
    copy.close()
    url = f"sqlite:///{path}"
    monkeypatch.setenv("FINSAM_DATABASE_URL", url)
    monkeypatch.setenv("FINSAM_NOW", "2027-01-10T09:00")
    monkeypatch.setenv("FINSAM_USER", CHEF)
    before = dump(url)
    yield url
    assert dump(url) == before  # every case here is refused: nothing changed


# ------------------------------------------------------------------ database URLs


def _files(tmp: Path) -> dict[str, Path]:
    (tmp / "text.db").write_text("hello, not a database\n")
    (tmp / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (tmp / "folder.db").mkdir()
    other = sqlite3.connect(tmp / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    return {p.name: p for p in tmp.iterdir()}


BAD_URLS = [
    ("nonsense", "FINSAM_DATABASE_URL 'nonsense' is not a database URL"),
    ("mysql://u:secret@h/db", "the scheme 'mysql' is not supported"),
    ("sqlite://", "names no database file"),
    ("sqlite:///{tmp}/text.db", "text.db is not a finsam database: it is not an SQLite file"),
    ("sqlite:///{tmp}/image.png", "image.png is not a finsam database: it is not an SQLite file"),
    ("sqlite:///{tmp}/folder.db", "folder.db is a directory, not a database file"),
    ("sqlite:///{tmp}/other.db", "is not a finsam database"),
    ("sqlite:////proc/x.db", "/proc/x.db"),
    ("postgresql://u:secret@127.0.0.1:1/db", "(postgresql+psycopg://u:***@127.0.0.1:1/db)"),
]


@pytest.mark.parametrize(("url", "says"), BAD_URLS)
def test_a_database_url_finsam_cannot_use_is_refused(
    url: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _files(tmp_path)
    contents = {n: p.read_bytes() for n, p in files.items() if p.is_file()}
    monkeypatch.setenv("FINSAM_DATABASE_URL", url.format(tmp=tmp_path))
    monkeypatch.setenv("FINSAM_USER", CHEF)
    commands = [("db", "upgrade"), ("plan", "list"), ("init", "--forbund", str(SOS_FILE))]
    if "other.db" not in url:  # status reports another program's SQLite file: schema None
        commands.append(("db", "status"))
    for args in commands:
        err = refused(*args, says="" if args == ("plan", "list") else says)
        assert "secret" not in err
        assert "hint: " in err
    assert {n: p.read_bytes() for n, p in files.items() if p.is_file()} == contents


def test_unsupported_schemes_name_what_is_supported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSAM_DATABASE_URL", "mysql://u:secret@h/db")
    err = refused("db", "status", says="mysql://u:***@h/db")
    assert "SQLite (sqlite:///) and PostgreSQL" in err
    assert "hint: give sqlite:////absolute/path/finsam.db or postgresql://" in err


def test_a_damaged_database_is_named(db: str, tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    path.write_bytes(Path(db.removeprefix("sqlite:///")).read_bytes())
    with path.open("r+b") as f:  # the header stays, the schema page is garbage
        f.seek(100)
        f.write(b"\xde\xad" * 2000)
    env = {"FINSAM_DATABASE_URL": f"sqlite:///{path}"}
    refused("plan", "list", says="damaged.db is damaged (database disk image is malformed)", **env)
    refused("db", "status", says="is damaged", **env)


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("nonsense", "--to 'nonsense' is not a database URL"),
        ("mysql://a:secret@c/d", "--to 'mysql://a:***@c/d': the scheme 'mysql' is not supported"),
        ("postgresql://x:secret@127.0.0.1:1/none", "cannot open postgresql://x:***@127.0.0.1:1/"),
        ("sqlite:///{tmp}/text.db", "text.db is not a finsam database"),
        ("sqlite:///{tmp}/folder.db", "folder.db is a directory"),
        ("sqlite:///{tmp}/other.db", "is not a finsam database: it holds other tables (t)"),
    ],
)
def test_db_copy_to_somewhere_unusable_is_refused(
    db: str, target: str, says: str, tmp_path: Path
) -> None:
    _files(tmp_path)
    err = refused("db", "copy", "--to", target.format(tmp=tmp_path), says=says)
    assert "secret" not in err


# ------------------------------------------------------------------ numbers


HUGE = "1180591620717411303424"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("plan", "show", HUGE), f"PLAN_ID {HUGE} is out of range"),
        (("plan", "show", "--", "-1"), "PLAN_ID -1 is negative"),
        (("plan", "history", HUGE), "PLAN_ID"),
        (("plan", "move", HUGE, "submit"), "PLAN_ID"),
        (("plan", "edit", "1", "--title", "T", "--if-version", HUGE), "--if-version"),
        (("plan", "diff", "1", "--from", HUGE), f"--from {HUGE} is out of range"),
        (("insats", "show", HUGE), "INSATS_ID"),
        (("insats", "show", "--", "-5"), "INSATS_ID -5 is negative"),
        (("reports", "submit", HUGE, "--file", str(SOS_FILE)), "REPORT_ID"),
        (("outbox", "show", HUGE), "MESSAGE_ID"),
        (("outbox", "send", "--limit=-1"), "--limit -1 is negative"),
        (("meeting", "move", HUGE, "--to", "2027-03-03"), "MEETING_ID"),
        (("audit", "log", "--plan", HUGE), "--plan"),
        (("cycle", "show", "--year", "99999"), "--year 99999 is out of range"),
        (("cycle", "generate", "--year", "0"), "--year 0 is out of range"),
        (("reports", "status", "--year", HUGE), "--year"),
        (("plan", "new", "--year", "2027", "--until", "10000"), "--until 10000 is out of range"),
        (("meeting", "move", "1", "--to", "9999-12-31"), "--to '9999-12-31' is out of range"),
    ],
)
def test_a_number_out_of_range_is_refused_naming_it(
    db: str, args: tuple[str, ...], says: str
) -> None:
    err = refused(*args, says=says)
    assert "hint: give a " in err


# ------------------------------------------------------------------ the clock


@pytest.mark.parametrize(
    ("now", "says"),
    [
        ("0001-01-01T00:00", "FINSAM_NOW='0001-01-01T00:00' is out of range"),
        ("9999-12-31T23:59", "FINSAM_NOW='9999-12-31T23:59' is out of range"),
        ("1899-12-31", "is out of range"),
        ("garbage", "FINSAM_NOW='garbage' is not a date or instant"),
    ],
)
def test_finsam_now_out_of_range_is_refused(db: str, now: str, says: str) -> None:
    for args in (("plan", "list"), ("plan", "move", "1", "submit")):
        err = refused(*args, says=says, FINSAM_NOW=now)
        assert "1900-01-01 to 2199-12-31" in err


@pytest.mark.parametrize("now", ["9999-12-31T23:59", "0001-01-01", "nonsense"])
def test_scheduler_tick_now_out_of_range_is_refused(db: str, now: str) -> None:
    refused("scheduler", "tick", "--now", now, says=f"--now {now!r}")


# ------------------------------------------------------------------ files


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    """Files no command reads, each with what the refusal says."""
    (tmp / "folder").mkdir(parents=True)
    (tmp / "latin1.toml").write_bytes("[plan]\ntitle = 'Årsplan'\n".encode("latin-1"))
    (tmp / "nested.toml").write_text(NESTED_ARRAYS)
    (tmp / "tables.toml").write_text(NESTED_TABLES)
    (tmp / "huge.toml").write_bytes(b"# " + b"x" * (6 * 1024 * 1024) + b"\n")
    return {
        "folder": (tmp / "folder", "is a directory; only a regular file is read"),
        "missing": (tmp / "missing.toml", "missing.toml: no such file"),
        "latin1": (tmp / "latin1.toml", "not UTF-8 text"),
        "nested": (tmp / "nested.toml", "nested 5000 levels deep; finsam reads at most"),
        "tables": (tmp / "tables.toml", "nested 3000 levels deep"),
        "huge": (tmp / "huge.toml", "is larger than"),
    }


FILE_COMMANDS = [
    ("init", "--forbund", "{f}"),
    ("workflow", "show", "--file", "{f}"),
    ("plan", "new", "--year", "2028", "--from", "{f}"),
    ("plan", "edit", "1", "--from", "{f}"),
    ("plan", "revise", "1", "--from", "{f}"),
    ("plan", "check", "{f}"),
    ("plan", "render", "{f}"),
]


@pytest.mark.parametrize("command", FILE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_file_that_cannot_be_read_is_refused(
    db: str, command: tuple[str, ...], tmp_path: Path
) -> None:
    for name, (path, says) in _bad_files(tmp_path / "bad").items():
        if name == "latin1" and command[0] in ("plan",) and command[1] in ("new", "edit"):
            path = path.with_suffix(".md")  # Markdown too is read as UTF-8 only
            path.write_bytes((tmp_path / "bad" / "latin1.toml").read_bytes())
        err = refused(*(a.format(f=path) for a in command), says=says)
        assert str(path) in err


def test_fifo_and_devices_are_refused_at_once(db: str, tmp_path: Path) -> None:
    """Real processes, all at once: a FIFO opened for reading would wait for a writer
    and /dev/zero never ends; both must be refused without reading."""
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    runs = {
        (str(path), *command): subprocess.Popen(
            [FINSAM, *(a.format(f=path) for a in command)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path, command in (
            (fifo, FILE_COMMANDS[0]),  # init --forbund
            (fifo, FILE_COMMANDS[2]),  # plan new --from
            (Path("/dev/zero"), FILE_COMMANDS[5]),  # plan check
        )
    }
    for what, proc in runs.items():
        try:
            out, err = proc.communicate(timeout=HANG)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"finsam {' '.join(what[1:])} on {what[0]} hangs")
        assert proc.returncode == 2, (what, out, err)
        assert "only a regular file is read" in err and "Traceback" not in err, (what, err)


# ------------------------------------------------------------------ the last net


def _net_app(exc: BaseException) -> typer.Typer:
    from cli.common import handled

    app = typer.Typer()

    @app.command()
    @handled
    def fail(plan_id: int = 1) -> None:
        raise exc

    return app


def _invoke(app: typer.Typer, **env: str) -> Any:
    return CliRunner().invoke(app, [], env=env)


def test_an_unexpected_error_is_one_line_and_exit_1() -> None:
    result = _invoke(_net_app(RuntimeError("it broke\nsecond line")), FINSAM_DEBUG="")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: internal error (RuntimeError): it broke; this is a bug in finsam — "
        "rerun with FINSAM_DEBUG=1 for the traceback\n"
    )
    debug = _invoke(_net_app(RuntimeError("it broke")), FINSAM_DEBUG="1")
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr and "error: internal error" in debug.stderr
    own_exit = _invoke(_net_app(typer.Exit(1)))  # a command's own exit code passes the net
    assert (own_exit.exit_code, own_exit.stderr) == (1, "")
    usage = _invoke(_net_app(typer.BadParameter("no good")))
    assert usage.exit_code == 2 and "internal error" not in usage.stderr


def test_database_errors_that_escape_are_named() -> None:
    import sqlalchemy as sa

    def failing(message: str, code: int) -> Any:
        orig = sqlite3.OperationalError(message)
        orig.sqlite_errorcode = code  # type: ignore[attr-defined]
        return sa.exc.OperationalError("SELECT 1", {}, orig)

    locked = _invoke(_net_app(failing("database is locked", 5)))
    assert locked.exit_code == 3 and "the database is busy" in locked.stderr
    gone = _invoke(_net_app(failing("unable to open database file", 14)))
    assert gone.exit_code == 2 and "cannot open the database: unable to open" in gone.stderr
    assert "Traceback" not in gone.stderr + locked.stderr


def test_the_console_script_shows_no_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINSAM_")}
    env["FINSAM_DATABASE_URL"] = "postgresql://u:secret@127.0.0.1:1/db"
    result = subprocess.run(
        [FINSAM, "db", "status"], env=env, capture_output=True, text=True, timeout=HANG
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: cannot open the database: connection failed")
    assert "(postgresql+psycopg://u:***@127.0.0.1:1/db)" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("plan", "render", "a\x00b"),
        ("plan", "check", "a\x00b.toml"),
        ("init", "--forbund", "a\x00b.toml"),
        ("plan", "render", "1", "-o", "out\x00.html"),
        ("calendar", "export", "--year", "2027", "--ics", "cal\x00.ics"),
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_a_nul_in_a_path_is_refused(db: str, command: tuple[str, ...]) -> None:
    """No process argument can hold a NUL, but text from elsewhere can (the fuzzer found one
    in-process): the path is refused by name, never an internal error."""
    from cli.main import app

    result = CliRunner().invoke(app, list(command))
    assert result.exit_code == 2, result.output
    # finsam's own words, or Typer's where the option is a checked path
    assert "a path cannot hold a NUL character" in result.output or (
        "embedded null byte" in result.output and "Usage: finsam" in result.output
    )
    assert "internal error" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
