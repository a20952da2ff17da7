"""The overview of the reports among a board meeting's papers, through the CLI and the outbox.

A board meeting that handles reports links, for each report kind and year it
handles, to that overview's page in `finsam web`: in the kallelse the notify sweep
queues (its text and HTML parts), and in `finsam meeting agenda` (text and JSON),
whose report items carry the address too. A meeting that handles no reports links
none. The address is built on FINSAM_BASE_URL, or its default when none is set.
"""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import CHEF, LEADER, SOS_FILE, run_cli

finsam = run_cli
DEFAULT_T1 = "http://127.0.0.1:8000/sydostra-skane/oversikt/2027/tertial-1"
BASE = "https://finsam.example.se/sos"


def add_insats(name: str, email: str) -> None:
    finsam(
        "insats", "add", "--name", name, "--owner", "region-skane", "--start", "2019-05-01",
        "--leader-name", "Sofia Ek", "--leader-email", email, "--budget", "2027=3000",
        "--as", CHEF,
    )  # fmt: skip


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Sydöstra Skåne's 2027 meetings, Mariamottagningen and the reports it owes in 2027;
    no FINSAM_BASE_URL, so links use the default address."""
    url = f"sqlite:///{tmp_path / 'finsam.db'}"
    monkeypatch.setenv("FINSAM_DATABASE_URL", url)
    monkeypatch.setenv("FINSAM_DATA_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("FINSAM_NOW", "2027-01-10T09:00")
    monkeypatch.delenv("FINSAM_BASE_URL", raising=False)
    finsam("init", "--forbund", str(SOS_FILE))
    finsam("cycle", "generate", "--year", "2027", "--as", CHEF)
    add_insats("Mariamottagningen", LEADER)
    finsam("reports", "generate", "--year", "2027", "--as", CHEF)
    return url


def board(key: str) -> int:
    meetings = json.loads(finsam("cycle", "show", "--year", "2027", "--json").stdout)
    return next(m["id"] for m in meetings if m["key"] == key)


def submit_tertial_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Mariamottagningen hands in its tertial 1 report in April; its obligation's id."""
    page = json.loads(finsam("reports", "status", "--year", "2027", "--json").stdout)
    t1 = next(r["id"] for r in page["obligations"] if r["kind"] == "tertial-1")
    doc = tmp_path / "T1.txt"
    doc.write_text("Tertialrapport 1\n", encoding="utf-8")
    monkeypatch.setenv("FINSAM_NOW", "2027-04-15T09:00")
    finsam("reports", "submit", str(t1), "--file", str(doc), "--as", LEADER)
    return int(t1)


def queued_kallelse(url: str, meeting: int, now: str, monkeypatch: Any) -> tuple[str, str]:
    """The kallelse the notify sweep queues for `meeting` at `now`: its text and HTML."""
    monkeypatch.setenv("FINSAM_NOW", now)
    finsam("outbox", "queue")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            [raw] = conn.execute(
                sa.text("SELECT raw FROM outbox_message WHERE kind = 'notice' AND ref = :ref"),
                {"ref": f"meeting:{meeting}"},
            ).scalars()
    finally:
        engine.dispose()
    message = message_from_bytes(raw, policy=policy.default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, html


def test_the_kallelse_lists_the_overview_of_each_kind_handled_on_the_base_url(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The May board handles Mariamottagningen's tertial 1 report and the final report of
    an insats that ended in March: one overview each, though no report is in a week
    before (the overview names the missing ones)."""
    add_insats("Boendestöd", "ledare@boende.example")
    insatser = json.loads(finsam("insats", "list", "--json").stdout)
    ended = next(i["id"] for i in insatser if i["name"] == "Boendestöd")
    finsam("insats", "end", str(ended), "--date", "2027-03-31", "--as", CHEF)
    monkeypatch.setenv("FINSAM_BASE_URL", BASE + "/")
    may = board("styrelse-2027-05")
    text, html = queued_kallelse(db, may, "2027-05-04T15:00", monkeypatch)
    final = f"{BASE}/sydostra-skane/oversikt/2027/slutrapport"
    t1 = f"{BASE}/sydostra-skane/oversikt/2027/tertial-1"
    handlingar = text.split("## Handlingar", 1)[1].split("## Kallade", 1)[0]
    listed, page = handlingar.strip().split("\n\n", 1)
    assert listed.splitlines() == [
        f"- Översikt: Slutrapport 2027 – {final}",
        f"- Översikt: Tertialrapport 1 2027 – {t1}",
    ]
    # and the meeting's page, where a member reads them on a phone
    assert f"mötets sida, läsbar i mobilen: {BASE}/moten/{may} " in page
    for name, address in (("Slutrapport", final), ("Tertialrapport 1", t1)):
        link = f'<a href="{address}">{address}</a>'
        assert f"<li>Översikt: {name} 2027 – {link}</li>" in html
    assert html.count("/oversikt/") == 4  # each link's href and its text


def test_a_meeting_handling_no_reports_lists_no_overview(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """February's board handles no reports: neither its kallelse nor its agenda links an
    overview, while the May board's agenda (with a report in) does."""
    submit_tertial_1(tmp_path, monkeypatch)
    february = board("styrelse-2027-02")
    text, html = queued_kallelse(db, february, "2027-02-02T15:00", monkeypatch)
    assert "Översikt" not in text and "/oversikt/" not in text
    assert "Översikt" not in html and "/oversikt/" not in html
    agenda = json.loads(finsam("meeting", "agenda", str(february), "--json").stdout)
    assert agenda["overviews"] == []
    assert not [i for i in agenda["items"] if "overview" in i]
    assert "Översikt" not in finsam("meeting", "agenda", str(february)).stdout


def test_the_agenda_links_the_report_items_and_lists_the_overview(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t1 = submit_tertial_1(tmp_path, monkeypatch)
    may = str(board("styrelse-2027-05"))
    agenda = json.loads(finsam("meeting", "agenda", may, "--json").stdout)
    assert agenda["overviews"] == [
        {"kind": "tertial-1", "year": 2027, "name": "Tertialrapport 1", "url": DEFAULT_T1}
    ]
    linked = [
        (i["kind"], i.get("obligation"), i["overview"]) for i in agenda["items"] if "overview" in i
    ]
    assert linked == [("report", t1, DEFAULT_T1)]  # the report's own item stays, with the link
    shown = finsam("meeting", "agenda", may).stdout
    assert "Tertialrapport 1 2027: Mariamottagningen" in shown
    assert f"Översikt: Tertialrapport 1 2027 – {DEFAULT_T1}\n" in shown
    notice = finsam("meeting", "notice", may).stdout
    assert f"- Översikt: Tertialrapport 1 2027 – {DEFAULT_T1}" in notice


def test_the_kallelse_reads_as_many_statements_with_more_reports(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The overviews come from one statement, not one per report handled."""
    submit_tertial_1(tmp_path, monkeypatch)
    may = str(board("styrelse-2027-05"))
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    def statements() -> int:
        seen.clear()
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
        try:
            finsam("meeting", "notice", may)
        finally:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
        return len(seen)

    before = statements()
    monkeypatch.setenv("FINSAM_NOW", "2027-04-16T09:00")
    for n in range(3):
        add_insats(f"Insats {n}", f"ledare{n}@skane.example")
    finsam("reports", "generate", "--year", "2027", "--as", CHEF)
    agenda = json.loads(finsam("meeting", "agenda", may, "--json").stdout)
    assert (len(agenda["reports"]["received"]), len(agenda["reports"]["missing"])) == (1, 3)
    notice = finsam("meeting", "notice", may).stdout
    assert notice.count("Översikt:") == 1  # one kind, however many reports
    assert statements() == before
