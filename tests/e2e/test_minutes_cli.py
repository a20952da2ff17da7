"""`finsam meeting minutes|request-change|justera` through the CLI: the minutes recorded
with remote attendance, an ersättare serving and a § text, a change asked for, a new
revision whose justering starts over, and the justerat protokoll."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import CHAIR, CHEF, SOS_FILE, dump, run_cli

VICE, EVA, JOHAN = (
    "lars.berg@skane.example",
    "eva.lind@simrishamn.example",
    "johan.ek@sjobo.example",
)
PER = "per.nilsson@ystad.example"  # ersättare
OTHER = "standing-ovriga-fragor"
SAID = "Eva Lind berättar om sommarens feriearbeten."


@pytest.fixture
def board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The database's URL and the id of the board's February 2027 meeting, held."""
    url = f"sqlite:///{tmp_path / 'finsam.db'}"
    monkeypatch.setenv("FINSAM_DATABASE_URL", url)
    monkeypatch.setenv("FINSAM_NOW", "2027-01-10T09:00")
    run_cli("init", "--forbund", str(SOS_FILE))
    run_cli("cycle", "generate", "--year", "2027", "--as", CHEF)
    rows = json.loads(run_cli("cycle", "show", "--year", "2027", "--json").stdout)
    monkeypatch.setenv("FINSAM_NOW", "2027-02-09T17:00")
    return url, str(next(m["id"] for m in rows if m["key"] == "styrelse-2027-02"))


def record(mid: str, *extra: str, code: int = 0) -> Any:
    """`meeting minutes` recording: Karin Holm, Lars Berg and Per Nilsson (for Johan Ek)
    present, Eva Lind remotely; Lars Berg and Eva Lind justerare."""
    args = ["meeting", "minutes", mid, "--present", CHAIR, "--present", VICE, "--present", PER]
    args += ["--remote", EVA, "--justerare", VICE, "--justerare", EVA, "--as", CHEF]
    return run_cli(*args, *extra, code=code)


def test_the_minutes_recorded_changed_and_justerade(
    board: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, mid = board
    out = record(mid, "--serving", f"{PER}={JOHAN}", "--text", f"{OTHER}={SAID}", "--send").stdout
    assert out.startswith("# Protokoll – Styrelsen") and SAID in out
    assert "Per Nilsson (ersättare, tjänstgör för Johan Ek)" in out
    assert "Eva Lind (ledamot, på distans)" in out

    monkeypatch.setenv("FINSAM_NOW", "2027-02-10T09:00")
    asked = run_cli(
        "meeting", "request-change", mid, "--as", EVA, "--comment", "Per Nilsson saknas."
    ).stdout
    assert "Change requested on revision 1" in asked
    record(mid, "--serving", f"{PER}={JOHAN}", "--text", f"{OTHER}={SAID} Per Nilsson deltog.")
    before = dump(url)
    stale = run_cli("meeting", "justera", mid, "--as", VICE, "--revision", "1", code=2)
    assert stale.stderr.startswith(
        "error: the minutes have changed since you read them (revision 1; now 2)"
    )
    assert dump(url) == before

    assert (
        "waiting for Eva Lind"
        in run_cli("meeting", "justera", mid, "--as", VICE, "--revision", "2").stdout
    )
    monkeypatch.setenv("FINSAM_NOW", "2027-02-10T11:30")
    approved = run_cli("meeting", "justera", mid, "--as", EVA, "--revision", "2").stdout
    assert f"Minutes of meeting {mid} approved." in approved
    done = json.loads(run_cli("meeting", "minutes", mid, "--json").stdout)
    assert (done["approved"], done["revision"], done["intact"]) == (True, 2, True)
    assert len(done["content_sha256"]) == 64 and done["sent_at"] is None  # not sent again
    assert [(r["email"], r["revision"]) for r in done["requests"]] == [(EVA, 1)]
    assert {p["email"]: p["status"] for p in done["attendance"]}[EVA] == "remote"
    html = run_cli("meeting", "minutes", mid, "--format", "html").stdout
    assert "Justerat 2027-02-10 kl. 09.00, på kommandoraden" in html  # Lars Berg
    assert "Justerat 2027-02-10 kl. 11.30, på kommandoraden" in html  # Eva Lind
    assert done["content_sha256"] in html


BAD = [
    (["--serving", "nonsense"], "error: --serving 'nonsense' is not ERSÄTTARE=LEDAMOT"),
    (["--serving", f"{PER}="], f"error: --serving '{PER}=' is not ERSÄTTARE=LEDAMOT"),
    (
        ["--serving", f"{PER}={JOHAN}", "--serving", f"{PER}={EVA}"],
        f"error: --serving {PER} is given twice",
    ),
    (["--text", "Inga frågor."], "error: --text 'Inga frågor.' is not KEY=TEXT"),
    (["--text", "nonsense=Text."], "error: no item nonsense on the agenda of meeting"),
]


@pytest.mark.parametrize(("extra", "message"), BAD, ids=[m[7:30] for _, m in BAD])
def test_options_of_the_wrong_shape_change_nothing(
    board: tuple[str, str], extra: list[str], message: str
) -> None:
    url, mid = board
    before = dump(url)
    assert record(mid, *extra, code=2).stderr.startswith(message)
    assert dump(url) == before
