"""A report's figures: checked against the förbund file's [[reports.fields]], stored with the
submission in one transaction, named in its audit row; a refusal names every wrong figure
and changes nothing."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import CHEF, LEADER, SOS_FILE, add_maria, begin_2027, dump

from workflow.core import audit
from workflow.core.exceptions import UsageError
from workflow.forbund import registry as forbunds
from workflow.forbund.file import load_forbund
from workflow.reports import obligations as reports

FULL = {
    "participants_women": "12",
    "participants_men": "9",
    "participants_other": "1",
    "participants_new": "4",
    "ended_work_or_studies": "3",
    "sus_up_to_date": "Ja",
    "costs_tkr": "1 512,5",
    "goal_fulfilment": "Målen nås.\nFler deltagare än väntat.",
}


@pytest.fixture
def owed(app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Mariamottagningen's obligations of 2027 by kind."""
    begin_2027(app, clock, tmp_path, monkeypatch)
    add_maria(app, end=date(2027, 12, 31), budget={2027: 3000}, sus=True)
    return {r["kind"]: r["id"] for r in reports.generate(app, None, 2027, actor_email=CHEF)}


@pytest.fixture
def doc(tmp_path: Path) -> Path:
    path = tmp_path / "T1.txt"
    path.write_text("Tertialrapport 1\n")
    return path


def _submit_comments(app: Any, obligation: int) -> list[dict[str, Any]]:
    return [
        r
        for r in audit.log(app)
        if r["subject"] == f"obligation:{obligation}" and r["action"] == "submit"
    ]


def test_valid_figures_are_stored_as_numbers_yes_no_and_text(
    app: Any, owed: Any, doc: Path
) -> None:
    t1 = owed["tertial-1"]
    done = reports.submit(app, t1, doc, LEADER, FULL)
    expected = {
        "participants_women": 12,
        "participants_men": 9,
        "participants_other": 1,
        "participants_new": 4,
        "ended_work_or_studies": 3,
        "sus_up_to_date": True,
        "costs_tkr": 1512.5,
        "goal_fulfilment": "Målen nås.\nFler deltagare än väntat.",
    }
    assert done["figures"] == expected
    (row,) = [r for r in reports.status(app, None, 2027) if r["id"] == t1]
    assert row["figures"] == expected
    assert isinstance(row["figures"]["participants_women"], int)
    (submitted,) = _submit_comments(app, t1)
    assert "; figures: participants_women=12, participants_men=9," in submitted["comment"]
    assert "sus_up_to_date=yes, costs_tkr=1512.5" in submitted["comment"]
    assert submitted["content_sha256"] == hashlib.sha256(doc.read_bytes()).hexdigest()


def test_whole_tkr_and_optional_figures_left_out(app: Any, owed: Any, doc: Path) -> None:
    given = {k: v for k, v in FULL.items() if k not in ("participants_other", "deviations")}
    given |= {"costs_tkr": "800.0", "sus_up_to_date": "false", "deviations": " "}
    figures = reports.submit(app, owed["tertial-1"], doc, LEADER, given)["figures"]
    assert figures["costs_tkr"] == 800 and isinstance(figures["costs_tkr"], int)
    assert figures["sus_up_to_date"] is False
    assert "participants_other" not in figures and "deviations" not in figures


def test_a_file_alone_is_still_a_submission_and_keeps_earlier_figures(
    app: Any, owed: Any, doc: Path
) -> None:
    assert reports.submit(app, owed["arsberattelse"], doc, LEADER)["figures"] is None
    t1 = owed["tertial-1"]
    reports.submit(app, t1, doc, LEADER, FULL)
    reports.decide(app, t1, "return", CHEF, "Bifoga budgeten")
    again = reports.submit(app, t1, doc, LEADER)
    assert again["figures"]["participants_women"] == 12
    assert "figures" not in _submit_comments(app, t1)[-1]["comment"]


WRONG = [
    (
        "participants_women",
        "tolv",
        "participants_women (Deltagare under perioden, kvinnor): 'tolv' is not a whole number; "
        "give a whole number from 0 to 1000000000",
    ),
    ("participants_men", "-3", "participants_men (Deltagare under perioden, män): '-3' is not"),
    ("participants_new", "2.5", "participants_new (Nya deltagare under perioden): '2.5' is not"),
    ("participants_new", "1000000001", "'1000000001' is more than 1000000000"),
    ("costs_tkr", "512,55", "costs_tkr (Kostnader hittills i år (tkr)): '512,55' has more than"),
    ("costs_tkr", "mycket", "'mycket' is not an amount in tkr; give an amount in tkr from 0"),
    ("sus_up_to_date", "kanske", "(Deltagarna är registrerade i SUS): 'kanske' is not ja or nej"),
    ("goal_fulfilment", "Bra\x1b[31m", "goal_fulfilment (Måluppfyllelse): contains a control"),
    ("participants_women", "", "participants_women (Deltagare under perioden, kvinnor): is empty"),
    ("budget_used", "40", "'budget_used': Tertialrapport 1 (tertial-1) has no such figure; it "
     "asks for participants_women, participants_men, participants_other"),
]  # fmt: skip


@pytest.mark.parametrize(("key", "value", "message"), WRONG, ids=[w[1][:8] for w in WRONG])
def test_each_wrong_figure_is_named_and_nothing_changes(
    app: Any, owed: Any, doc: Path, key: str, value: str, message: str
) -> None:
    before = dump(app.url)
    with pytest.raises(UsageError) as exc:
        reports.submit(app, owed["tertial-1"], doc, LEADER, FULL | {key: value})
    assert message in exc.value.message and exc.value.exit_code == 2
    assert len(exc.value.message.splitlines()) == 1
    assert dump(app.url) == before


def test_every_problem_at_once_and_missing_required_figures(app: Any, owed: Any, doc: Path) -> None:
    before = dump(app.url)
    with pytest.raises(UsageError) as exc:
        reports.submit(app, owed["tertial-1"], doc, LEADER, {"participants_women": "tolv"})
    lines = exc.value.message.splitlines()
    assert lines[0].startswith("participants_women (Deltagare under perioden, kvinnor): 'tolv'")
    assert (
        "participants_men (Deltagare under perioden, män): missing; Tertialrapport 1 " in (lines[1])
    )
    missing = [line.split(" ", 1)[0] for line in lines[1:]]
    assert missing == [
        "participants_men",
        "participants_new",
        "ended_work_or_studies",
        "sus_up_to_date",
        "costs_tkr",
        "goal_fulfilment",
    ]  # the optional ones (participants_other, deviations) are not asked for
    assert "once any figure is given, give every required one" in (exc.value.hint or "")
    assert dump(app.url) == before


KIND_FIELDS = """
[[reports.fields]]
key = "participants"
label = "Deltagare"

[[reports.fields]]
key = "share_employed"
label = "Andel i arbete"
type = "percent"
kinds = ["arsberattelse"]
"""


def test_a_field_of_one_kind_is_not_asked_of_another(
    app: Any, owed: Any, doc: Path, tmp_path: Path
) -> None:
    changed = tmp_path / "sos.toml"
    changed.write_text(SOS_FILE.read_text(encoding="utf-8") + KIND_FIELDS, encoding="utf-8")
    forbunds.register(app, load_forbund(changed), CHEF)
    t1, annual = owed["tertial-1"], owed["arsberattelse"]
    with pytest.raises(UsageError, match=r"'share_employed': Tertialrapport 1 .* it asks for "):
        reports.submit(app, t1, doc, LEADER, {"participants": "5", "share_employed": "40"})
    assert reports.submit(app, t1, doc, LEADER, {"participants": "5"})["figures"] == {
        "participants": 5
    }
    with pytest.raises(UsageError, match=r"share_employed \(Andel i arbete\): missing"):
        reports.submit(app, annual, doc, LEADER, {"participants": "5"})
    with pytest.raises(UsageError, match="'101' is more than 100; give a whole number from 0"):
        reports.submit(app, annual, doc, LEADER, {"participants": "5", "share_employed": "101"})
    done = reports.submit(app, annual, doc, LEADER, {"participants": "5", "share_employed": "40"})
    assert done["figures"] == {"participants": 5, "share_employed": 40}
