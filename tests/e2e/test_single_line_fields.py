"""Text is data: single-line fields refuse control characters and have a maximum length,
what an old database holds is shown visibly, and one malformed message fails alone.

Every refusal exits 2 naming the field (the option, or the file and its key) and
changes nothing (the database dumps before and after are equal).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import CHEF, SOS_FILE, dump, run_cli

# (what the example förbund file says, what a hostile one says instead, the key named,
# and what the refusal says is wrong); the replacements are TOML escapes
FORBUND_CASES = {
    "cr-lf in a person's name": (
        'name = "Eva Lind"',
        'name = "Eva\\r\\nBcc: x@y.example"',
        "bodies[0].people[2].name: contains a control character, a carriage return (CR) "
        "(U+000D), at position 4",
    ),
    "esc in the förbund's name": (
        'name = "Samordningsförbundet Sydöstra Skåne"',
        'name = "Samordningsförbundet\\u001b[2J"',
        "forbund.name: contains a control character, ESC (U+001B), at position 21",
    ),
    "nul in a body's name": (
        'name = "Styrelsen"',
        'name = "Styr\\u0000elsen"',
        "bodies[0].name: contains a control character, NUL (U+0000), at position 5",
    ),
    "bidi override in a member's name": (
        'name = "Ystads kommun"',
        'name = "Ystads \\u202ekommun"',
        "].name: contains a control character, RIGHT-TO-LEFT OVERRIDE (U+202E)",
    ),
    "line break in the mail sender": (
        'sender = "Samordningsförbundet Sydöstra Skåne <kansli@sydostraskane.example>"',
        'sender = "Kansli\\nBcc: x@y.example <kansli@sydostraskane.example>"',
        "mail.sender: contains a control character, a line break (LF) (U+000A)",
    ),
    "over-long theme": (
        'theme = "Uppstart av året"',
        f'theme = "{"x" * 301}"',
        "cycle.board[0].theme: is 301 characters long; at most 300 are allowed",
    ),
    "a million-character förbund name": (
        'name = "Samordningsförbundet Sydöstra Skåne"',
        f'name = "{"x" * 1_000_000}"',
        "forbund.name: is 1000000 characters long; at most 200 are allowed",
    ),
}


@pytest.mark.parametrize("case", FORBUND_CASES, ids=list(FORBUND_CASES))
def test_a_hostile_forbund_file_is_refused_naming_the_key(
    year_db: str, tmp_path: Path, case: str
) -> None:
    was, now, said = FORBUND_CASES[case]
    text = SOS_FILE.read_text(encoding="utf-8")
    assert text.count(was) == 1
    hostile = tmp_path / "hostile.toml"
    hostile.write_text(text.replace(was, now), encoding="utf-8")
    before = dump(year_db)
    refused = run_cli("init", "--forbund", str(hostile), "--as", CHEF, code=2)
    assert f"{hostile}: invalid förbund file" in refused.stderr
    assert said in refused.stderr
    assert dump(year_db) == before


def test_a_new_database_stores_nothing_from_a_hostile_forbund_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    monkeypatch.setenv("FINSAM_DATABASE_URL", url)
    hostile = tmp_path / "hostile.toml"
    text = SOS_FILE.read_text(encoding="utf-8")
    hostile.write_text(text.replace('name = "Eva Lind"', 'name = "Eva\\r\\nLind"'), "utf-8")
    assert "bodies[0].people[2].name" in run_cli("init", "--forbund", str(hostile), code=2).stderr
    with sa.create_engine(url).connect() as conn:
        tables = sa.inspect(conn).get_table_names()
        assert "forbund" not in tables or not conn.execute(sa.text("SELECT * FROM forbund")).all()


PLAN_FILE = """\
[plan]
forbund = "sydostra-skane"
year = 2028

[[sections]]
kind = "annat"
title = {title}
text = {text}
"""


@pytest.mark.parametrize(
    ("title", "text", "said"),
    [
        ('"Rubrik\\u001b[31m"', '"Text"', "sections[0].title: contains a control character, ESC"),
        ('"Rubrik\\r\\nX"', '"Text"', "sections[0].title: contains a control character, a car"),
        ('"Rubrik"', '"Text\\u0000"', "sections[0].text: contains a control character, NUL"),
        (f'"{"r" * 301}"', '"Text"', "sections[0].title: is 301 characters long; at most 300"),
    ],
    ids=["esc-title", "crlf-title", "nul-text", "long-title"],
)
def test_a_hostile_plan_file_is_refused_naming_the_key(
    year_db: str, tmp_path: Path, title: str, text: str, said: str
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN_FILE.format(title=title, text=text), encoding="utf-8")
    before = dump(year_db)
    refused = run_cli("plan", "new", "--from", str(plan), "--as", CHEF, code=2)
    assert f"{plan}: invalid plan file" in refused.stderr
    assert said in refused.stderr
    assert dump(year_db) == before


def test_a_plan_file_with_lines_and_tabs_in_its_text_is_taken(year_db: str, tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN_FILE.format(title='"Rubrik"', text='"Rad ett\\n\\tRad två"'), "utf-8")
    run_cli("plan", "new", "--from", str(plan), "--as", CHEF)


@pytest.mark.parametrize(
    ("title", "said"),
    [
        ("Lea\r\nBcc: x@y", "a carriage return (CR) (U+000D), at position 4"),
        ("Plan\x1b[2J", "ESC (U+001B), at position 5"),
        ("Plan\x00", "NUL (U+0000), at position 5"),
        ("Plan \u202eevil", "RIGHT-TO-LEFT OVERRIDE (U+202E), at position 6"),
        ("Plan\nmed rad", "a line break (LF) (U+000A), at position 5"),
        ("P" * 301, "is 301 characters long; at most 300 are allowed"),
    ],
    ids=["crlf", "esc", "nul", "bidi", "lf", "long"],
)
def test_a_hostile_title_is_refused_naming_the_option(
    year_db: str, tmp_path: Path, title: str, said: str
) -> None:
    text = tmp_path / "plan.md"
    text.write_text("# Plan\n", encoding="utf-8")
    before = dump(year_db)
    new = run_cli(
        "plan", "new", "--year", "2028", "--file", str(text), "--title", title, "--as", CHEF,
        code=2,
    )  # fmt: skip
    assert f"error: --title {'is' if 'long' in said else 'contains'}" in new.stderr
    assert said in new.stderr
    assert dump(year_db) == before


def test_edit_title_is_checked_too(year_db: str, tmp_path: Path) -> None:
    made = run_cli("plan", "new", "--year", "2028", "--as", CHEF, "--json")
    pid = str(json.loads(made.stdout)["id"])
    before = dump(year_db)
    refused = run_cli("plan", "edit", pid, "--title", "Ny\x1btitel", "--as", CHEF, code=2)
    assert "--title contains a control character, ESC (U+001B)" in refused.stderr
    assert dump(year_db) == before
    run_cli("plan", "edit", pid, "--title", "Ny titel", "--as", CHEF)


def test_a_markdown_file_with_control_characters_is_refused(year_db: str, tmp_path: Path) -> None:
    text = tmp_path / "plan.md"
    text.write_text("# Plan\n\nText\x1b[31m röd\n", encoding="utf-8")
    before = dump(year_db)
    refused = run_cli("plan", "new", "--year", "2028", "--file", str(text), "--as", CHEF, code=2)
    assert f"{text} contains a control character, ESC (U+001B), at position 13" in refused.stderr
    assert dump(year_db) == before


def test_a_comment_may_hold_lines_but_no_nul(year_db: str, tmp_path: Path) -> None:
    text = tmp_path / "plan.md"
    text.write_text("# Plan\n", encoding="utf-8")
    made = run_cli("plan", "new", "--year", "2028", "--file", str(text), "--as", CHEF, "--json")
    pid = str(json.loads(made.stdout)["id"])
    before = dump(year_db)
    nul = run_cli("plan", "move", pid, "submit", "--comment", "Klar\x00", "--as", CHEF, code=2)
    assert "--comment contains a control character, NUL (U+0000), at position 5" in nul.stderr
    assert "only line breaks and tabs are allowed" in nul.stderr
    long = run_cli("plan", "move", pid, "submit", "--comment", "k" * 10_001, "--as", CHEF, code=2)
    assert "--comment is 10001 characters long; at most 10000 are allowed" in long.stderr
    para = run_cli("plan", "move", pid, "submit", "--paragraph", "§\r3", "--as", CHEF, code=2)
    assert "--paragraph contains a control character, a carriage return" in para.stderr
    assert dump(year_db) == before
    comment = "Rad ett\r\n\tRad två"
    run_cli("plan", "move", pid, "submit", "--comment", comment, "--as", CHEF)
    history = json.loads(run_cli("plan", "history", pid, "--json").stdout)
    assert history[-1]["comment"] == "Rad ett\n\tRad två"  # CRLF as LF, as from Windows


# ---------------------------------------------------------------- an old database's text


def test_control_characters_an_old_database_holds_are_shown_visibly(year_db: str) -> None:
    made = run_cli("plan", "new", "--year", "2028", "--as", CHEF, "--json")
    pid = json.loads(made.stdout)["id"]
    stored = "Plan\x1b[2J\x00\r\u202eslut"
    engine = sa.create_engine(year_db)
    with engine.begin() as conn:  # as an old database has it, past today's checks
        for table, key in (("plan", "id"), ("plan_revision", "plan_id")):
            conn.execute(
                sa.text(f"UPDATE {table} SET title = :t WHERE {key} = :i"), {"t": stored, "i": pid}
            )
    engine.dispose()
    for args in (("plan", "list"), ("plan", "show", str(pid))):
        out = run_cli(*args).stdout
        assert "Plan␛[2J␀␍\\u202eslut" in out
        assert not any(c in out for c in "\x1b\x00\r\u202e")
    exact = json.loads(run_cli("plan", "show", str(pid), "--json").stdout)
    assert exact["title"] == stored  # JSON stays exact


# ---------------------------------------------------------------- one message fails alone


def test_a_malformed_recipient_fails_alone_and_makes_the_scheduler_unhealthy(
    year_db: str, monkeypatch: pytest.MonkeyPatch, sink: object
) -> None:
    monkeypatch.setenv("FINSAM_USER", CHEF)
    other = "ola.berg@ystad.example"
    run_cli(
        "insats", "add", "--name", "Jobbspåret", "--owner", "ystad", "--start", "2026-01-01",
        "--leader-name", "Ola Berg", "--leader-email", other, "--budget", "2027=500",
    )  # fmt: skip
    run_cli("reports", "generate", "--year", "2027")
    engine = sa.create_engine(year_db)
    with engine.begin() as conn:  # an old database: the name came in before it was checked
        conn.execute(
            sa.text("UPDATE insats SET leader_name = :n WHERE name = 'Mariamottagningen'"),
            {"n": "Sofia\r\nBcc: evil@x.example"},
        )
    ticked = run_cli("scheduler", "tick", "--now", "2027-04-05T08:00", "--json", code=1)
    runs = {r["sweep"]: r for r in json.loads(ticked.stdout)}
    notify = runs["notify"]
    assert notify["outcome"] == "ok" and notify["counts"]["failed"] >= 1
    assert notify["counts"]["reminders"] >= 1  # the others went on
    for problem in notify["counts"]["problems"]:  # each of Sofia's reports, named
        assert problem.startswith("reminder:")
        assert (
            "the name of the recipient <sofia.ek@skane.example> contains a control character, "
            "a carriage return (CR) (U+000D), at position 6" in problem
        )
    logged = [json.loads(line) for line in ticked.stderr.splitlines() if line.startswith("{")]
    assert any(e["event"] == "message-failed" and "CR" in e["why"] for e in logged)
    to = [r for m in sink.received for r in m.recipients]  # type: ignore[attr-defined]
    assert other in to and "evil@x.example" not in to
    for got in sink.received:  # type: ignore[attr-defined]
        if "sofia.ek@skane.example" in got.recipients:  # drafted before her name was spoilt
            assert got.message["Subject"] == "Rapporter att lämna för Mariamottagningen"
    monkeypatch.setenv("FINSAM_NOW", "2027-04-05T08:01")
    status = run_cli("scheduler", "status", "--json", code=1)
    data = json.loads(status.stdout)
    assert not data["healthy"]
    assert any("notify sweep could not make" in p for p in data["problems"])
    assert any("sofia.ek@skane.example" in p for p in data["problems"])
    human = run_cli("scheduler", "status", code=1).stdout
    assert "Inte frisk." in human and "notify sweep could not make" in human

    # corrected, the next run sends it and the scheduler is healthy again
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE insats SET leader_name = 'Sofia Ek' WHERE name = 'Mariamottagningen'")
        )
    engine.dispose()
    again = json.loads(run_cli("scheduler", "tick", "--now", "2027-04-05T08:05", "--json").stdout)
    assert "failed" not in {r["sweep"]: r for r in again}["notify"]["counts"]
    to = [r for m in sink.received for r in m.recipients]  # type: ignore[attr-defined]
    assert "sofia.ek@skane.example" in to
    monkeypatch.setenv("FINSAM_NOW", "2027-04-05T08:06")
    assert json.loads(run_cli("scheduler", "status", "--json").stdout)["healthy"]


def test_an_errored_sweep_makes_the_scheduler_unhealthy(
    year_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FINSAM_MAIL_URL", f"file://{tmp_path / 'mail'}")
    run_cli("scheduler", "tick", "--now", "2027-04-05T08:00")
    engine = sa.create_engine(year_db)
    with engine.begin() as conn:  # as a run that failed would have recorded it
        conn.execute(
            sa.text("UPDATE sweep_state SET outcome = 'error', detail = :d WHERE name = 'year'"),
            {"d": json.dumps({"error": "OperationalError: disk I/O error"})},
        )
    engine.dispose()
    monkeypatch.setenv("FINSAM_NOW", "2027-04-05T08:01")
    data = json.loads(run_cli("scheduler", "status", "--json", code=1).stdout)
    assert data["problems"] == [
        "the last run of the year sweep failed: OperationalError: disk I/O error"
    ]


def test_a_draft_that_cannot_be_made_fails_alone_with_its_reason(year_db: str) -> None:
    engine = sa.create_engine(year_db)
    with engine.begin() as conn:  # a change drafted it; its body has since left the file
        meeting = conn.execute(sa.text("SELECT min(id) FROM meeting")).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO outbox_message (key, forbund_key, kind, subject, sender, recipients,"
                " message_id, raw, ref, state, not_before, attempts, accepted, draft, created_at)"
                " VALUES ('arrival:999', 'sydostra-skane', 'arrival', '', '', '[]',"
                " '<draft:arrival:999>', x'', 'meeting:1', 'draft', '2027-01-10 08:00:00', 0,"
                " '[]', :draft, '2027-01-10 08:00:00')"
            ),
            {"draft": json.dumps({"plan_title": "P", "revision": 1, "meeting": meeting,
                                  "body": "gone", "comment": None})},
        )  # fmt: skip
        row = conn.execute(
            sa.text("SELECT id FROM outbox_message WHERE key = 'arrival:999'")
        ).scalar_one()
    engine.dispose()
    queued = run_cli("outbox", "queue", "--json", code=1)
    assert json.loads(queued.stdout)["failed"] == 1
    failed = json.loads(run_cli("outbox", "list", "--state", "failed", "--json").stdout)["messages"]
    assert [m["id"] for m in failed] == [row]
    assert failed[0]["last_error"] == "the body 'gone' is no longer in the förbund file"
    # drafted anew, and still not makeable
    again = run_cli("outbox", "retry", str(row), "--as", CHEF, code=1)
    assert f"Message {row} still cannot be made" in again.stdout
