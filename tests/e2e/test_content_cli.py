"""`finsam plan check|render|revise|diff` through the CLI."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from helpers import CHEF, EXAMPLES, SOS_FILE, dump, run_cli

PLANS = EXAMPLES / "plans"


finsam = run_cli


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'finsam.db'}"
    monkeypatch.setenv("FINSAM_DATABASE_URL", url)
    monkeypatch.setenv("FINSAM_NOW", "2020-11-25T15:00")
    monkeypatch.setenv("FINSAM_USER", CHEF)
    finsam("init", "--forbund", str(SOS_FILE))
    return url


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("sydostra-skane-2021.toml", 0),
        ("sydostra-skane-2020.toml", 0),
        ("ale-kungalv-2013.toml", 0),
        ("insjoriket-2020.toml", 0),
        ("lund-2017.toml", 1),
    ],
)
def test_check_exit_codes_on_the_examples(name: str, code: int) -> None:
    result = finsam("plan", "check", str(PLANS / name), "--json", code=code)
    data = json.loads(result.stdout)
    assert data["ok"] is (code == 0)


def test_check_human_output_names_both_numbers() -> None:
    out = finsam("plan", "check", str(PLANS / "lund-2017.toml"), code=1).stdout
    assert "FEL: Medel till förfogande 2017: tryckt 2 600, beräknat 2 725" in out
    assert "6 error(s), 1 warning(s)" in out


def test_check_an_unreadable_file_is_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (PLANS / "lund-2017.toml")
        .read_text(encoding="utf-8")
        .replace("2017 = 1650", "2017 = -1650"),
        encoding="utf-8",
    )
    lund = str(EXAMPLES / "forbund" / "lund.toml")
    result = finsam("plan", "check", str(bad), "--forbund-file", lund, code=2)
    assert (
        "budget.lines[14].amounts.2017: Input should be greater than or equal to 0" in result.stderr
    )
    assert finsam("plan", "check", str(tmp_path / "none.toml"), code=2).stderr.startswith(
        f"error: {tmp_path / 'none.toml'}: no such file"
    )


def test_stored_plan_check_render_and_revise(db: str, tmp_path: Path) -> None:
    new = json.loads(
        finsam("plan", "new", "--from", str(PLANS / "sydostra-skane-2021.toml"), "--json").stdout
    )
    assert (new["year"], new["title"]) == (2021, "Verksamhetsplan och budget 2021")
    pid = str(new["id"])
    data = json.loads(finsam("plan", "check", pid, "--json").stdout)
    assert (data["plan"], data["revision"], data["errors"], data["warnings"]) == (1, 1, 0, 1)
    moved = finsam("plan", "move", pid, "submit")
    assert "warning: Eget kapital efter 2021: 672" in moved.stderr
    md = finsam("plan", "render", pid, "--format", "md").stdout
    assert md.startswith("# Verksamhetsplan och budget 2021\n")
    assert "| **Resultat** | **-1\xa0382** |" in md
    changed = tmp_path / "rev2.toml"
    changed.write_text(
        (PLANS / "sydostra-skane-2021.toml")
        .read_text(encoding="utf-8")
        .replace(
            'label = "Revision"\namounts = { 2021 = 55 }',
            'label = "Revision"\namounts = { 2021 = 65 }',
        ),
        encoding="utf-8",
    )
    finsam(
        "plan", "revise", pid, "--from", str(changed), code=2
    )  # leaving presidium needs a reason
    finsam("plan", "revise", pid, "--from", str(changed), "--comment", "Revisionen dyrare")
    diff = finsam("plan", "diff", pid).stdout
    assert "Revision" in diff and "+10" in diff
    check = json.loads(finsam("plan", "check", pid, "--json", code=1).stdout)
    assert any(
        f["message"] == "Summa interna kostnader 2021: tryckt 720, beräknat 730"
        for f in check["findings"]
    )


def test_bad_plan_file_stores_nothing(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (PLANS / "sydostra-skane-2021.toml")
        .read_text(encoding="utf-8")
        .replace('member = "ystad"', 'member = "malmo"'),
        encoding="utf-8",
    )
    before = dump(db)
    result = finsam("plan", "new", "--from", str(bad), code=2)
    assert "budget.lines[5].member: unknown member 'malmo'" in result.stderr
    assert dump(db) == before


class Tables(HTMLParser):
    """Collects the text of every cell of the table with id 'budget', row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.inside = False
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", "budget") in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def test_html_has_the_budget_table_with_computed_sums(tmp_path: Path) -> None:
    out = tmp_path / "lund.html"
    finsam("plan", "render", str(PLANS / "lund-2017.toml"), "--format", "html", "-o", str(out))
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "@page { size: A4;" in html
    parser = Tables()
    parser.feed(html)
    rows = {r[0]: r[1:] for r in parser.rows if r}
    assert rows["tkr"] == ["2016 (prognos)", "2017", "2018", "2019"]
    nb = "\xa0"
    assert rows["Medel till förfogande"][:2] == [f"2{nb}072", f"2{nb}725"]  # not the printed 2 600
    assert rows["Summa kostnader"] == [f"6{nb}400", f"6{nb}275", f"4{nb}800", f"4{nb}200"]
    assert rows["Summa insatser"][1] == f"4{nb}675"


def test_render_escapes_html_in_plan_text(tmp_path: Path) -> None:
    src = (
        (PLANS / "insjoriket-2020.toml")
        .read_text(encoding="utf-8")
        .replace('name = "En väg in"', 'name = "<script>alert(1)</script>"')
    )
    (tmp_path / "p.toml").write_text(src, encoding="utf-8")
    forbund = EXAMPLES / "forbund" / "insjoriket.toml"
    html = finsam("plan", "render", str(tmp_path / "p.toml"), "--forbund-file", str(forbund)).stdout
    assert "<script>" not in html and "&lt;script&gt;" in html
