"""/plans a page at a time: the plans of my förbund, the newest year first, "Äldre
planer" to the next page (`?fore=YEAR:ID`), a broken link refused in Swedish (400),
and a page's statements the same with 5 plans and with 60. /rapporter likewise: the
reports waiting for a förbundschef's review, the latest due date first, "Äldre
inlämnade rapporter" to that förbund's next page (`?forbund=KEY&fore=DATE:ID`)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from helpers import ALE_FILE, CHEF, SOS_FILE, add_plans, make_app, statements
from webtools import signed_in_client

from workflow.core.models import Forbund, Insats, Obligation
from workflow.forbund import registry as forbunds
from workflow.forbund.file import load_forbund

SOS, ALE = "sydostra-skane", "ale-kungalv"
ROW = re.compile(r'<a href="/plans/(\d+)">([^<]*)</a>')
OLDER = re.compile(r'<a href="/plans\?fore=([0-9:]+)">Äldre planer</a>')


def test_the_plan_list_pages_the_newest_first_through_its_links(web_app: Any) -> None:
    add_plans(web_app, SOS, range(2000, 2045))
    add_plans(web_app, ALE, range(2000, 2045))  # another förbund's: never shown
    client = signed_in_client(web_app, CHEF)
    titles: list[str] = []
    sizes: list[int] = []
    url = "/plans"
    while True:
        shown = client.get(url)
        assert shown.status_code == 200, shown.text
        rows = ROW.findall(shown.text)
        titles += [title for _, title in rows]
        sizes.append(len(rows))
        older = OLDER.search(shown.text)
        if older is None:
            break
        # the link names the last plan shown: its year and id
        assert older.group(1) == f"{titles[-1].rsplit(' ', 1)[1]}:{rows[-1][0]}"
        url = f"/plans?fore={older.group(1)}"
    assert titles == [f"Plan {SOS} {y}" for y in range(2044, 1999, -1)]
    assert sizes == [20, 20, 5]
    assert "De nyaste planerna först" in client.get("/plans").text
    assert 'href="/plans">Till de nyaste planerna' in client.get(url).text


def test_a_broken_link_is_refused_in_swedish(web_app: Any) -> None:
    add_plans(web_app, SOS, range(2020, 2023))
    client = signed_in_client(web_app, CHEF)
    for bad in ("", "abc", "2027", "27:4", "²⁰²⁷:4", "2027:0", "2027:x", "2027:" + "9" * 40):
        refused = client.get("/plans", params={"fore": bad})
        assert refused.status_code == 400, bad
        assert "Länken till äldre planer gick inte att läsa." in refused.text, bad
        assert "Börja om från de nyaste planerna" in refused.text
    # a link past the oldest plan: an empty page that says so
    past = client.get("/plans?fore=2000:1")
    assert past.status_code == 200 and "Det finns inga äldre planer." in past.text


def test_a_page_of_plans_costs_the_same_with_5_and_60(tmp_path: Any, clock: Any) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'finsam.db'}", clock, SOS_FILE, ALE_FILE)
    try:
        add_plans(app, SOS, range(2030, 2035))
        client = signed_in_client(app, CHEF)
        client.get("/plans")  # warm: the förbund files parsed once

        def cost() -> tuple[int, int]:
            with statements(app) as seen:
                shown = client.get("/plans?fore=2034:99999")
            assert shown.status_code == 200
            return len(seen), len(ROW.findall(shown.text))

        few = cost()
        add_plans(app, SOS, range(2035, 2090))
        add_plans(app, ALE, range(2000, 2090))
        assert cost() == few == (few[0], 5)  # 2030 to 2034, whatever lies above
    finally:
        app.engine.dispose()


# ---------------------------------------------------------------- /rapporter

WAITING = re.compile(r'<tr><th scope="row"><a href="/rapporter/(\d+)">')
OLDER_WAITING = re.compile(
    r'<a href="/rapporter\?forbund=([a-z0-9_-]+)&amp;fore=([0-9:-]+)#granska-\1">'
    r"Äldre inlämnade rapporter</a>"
)
SECTION = re.compile(r'<section aria-labelledby="granska-([a-z0-9_-]+)">(.*?)</section>', re.S)


def add_reports(app: Any, key: str, count: int, state: str = "submitted") -> list[int]:
    """`count` reports of a new insats of the förbund, six to a due date from 2025-01-01
    on (bulk rows: a page ends within a day's), their ids the latest due date (then the
    highest id) first."""
    now = app.clock.now()
    with app.engine.begin() as conn:
        forbund_id = conn.execute(sa.select(Forbund.id).where(Forbund.key == key)).scalar_one()
        taken = conn.execute(
            sa.select(sa.func.count()).select_from(Insats).where(Insats.forbund_id == forbund_id)
        ).scalar_one()
        insats_id = conn.execute(
            sa.insert(Insats).returning(Insats.id),
            {
                "forbund_id": forbund_id,
                "name": f"Insats {taken + 1}",
                "owner": "x",
                "start": "2020-01-01",
                "budget": {},
                "created_at": now,
                "updated_at": now,
            },
        ).scalar_one()
        conn.execute(
            sa.insert(Obligation),
            [
                {
                    "insats_id": insats_id,
                    "kind": "tertial-1",
                    "name": "Tertial 1",
                    "year": 1900 + n,
                    "period_start": "2025-01-01",
                    "period_end": "2025-04-30",
                    "due": (date(2025, 1, 1) + timedelta(days=n // 6)).isoformat(),
                    "state": state,
                    "submitted_at": now if state == "submitted" else None,
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(count)
            ],
        )
        found = conn.execute(
            sa.select(Obligation.due, Obligation.id).where(Obligation.insats_id == insats_id)
        ).all()
    return [ident for _, ident in sorted(found, reverse=True)]


def sections(text: str) -> dict[str, str]:
    return dict(SECTION.findall(text))


def test_the_reports_waiting_for_review_page_the_newest_first(web_app: Any) -> None:
    waiting = add_reports(web_app, SOS, 45)
    add_reports(web_app, ALE, 45)  # another förbund's: never shown
    (late,) = add_reports(web_app, SOS, 1, state="pending")  # due 2025-01-01: over a year
    with web_app.engine.begin() as conn:  # ... so move it within the year: late, listed
        conn.execute(sa.update(Obligation).where(Obligation.id == late).values(due="2026-09-01"))
    client = signed_in_client(web_app, CHEF)
    shown: list[int] = []
    sizes: list[int] = []
    url = "/rapporter"
    while True:
        answer = client.get(url)
        assert answer.status_code == 200, answer.text
        assert list(sections(answer.text)) == [SOS]
        section = sections(answer.text)[SOS]
        rows = [int(i) for i in WAITING.findall(section)]
        shown += rows
        sizes.append(len(rows))
        assert f'href="/rapporter/{late}"' in section  # the late ones on every page
        assert ("Till de nyaste inlämnade rapporterna" in section) == (url != "/rapporter")
        older = OLDER_WAITING.search(section)
        if older is None:
            break
        # the link names the förbund and the last report shown: its due date and id
        with web_app.engine.connect() as conn:
            due = conn.execute(sa.select(Obligation.due).where(Obligation.id == rows[-1]))
            assert older.groups() == (SOS, f"{due.scalar_one()}:{rows[-1]}")
        url = f"/rapporter?forbund={SOS}&fore={older.group(2)}"
    assert shown == waiting
    assert sizes == [20, 20, 5]
    first = sections(client.get("/rapporter").text)[SOS]
    assert "<caption>Inlämnade rapporter som väntar på dig</caption>" in first
    assert "<caption>Äldre inlämnade rapporter som väntar på dig</caption>" in section


def test_a_broken_link_to_older_reports_is_refused_in_swedish(web_app: Any) -> None:
    add_reports(web_app, SOS, 3)
    client = signed_in_client(web_app, CHEF)
    for params in (
        {"fore": "2025-01-01:1"},  # no förbund
        {"forbund": SOS},  # no cursor
        {"forbund": "", "fore": "2025-01-01:1"},
        {"forbund": "Sydostra-Skane", "fore": "2025-01-01:1"},
        {"forbund": "../" + SOS, "fore": "2025-01-01:1"},
        {"forbund": "a" * 65, "fore": "2025-01-01:1"},
        *({"forbund": SOS, "fore": bad} for bad in ("", "abc", "2025-01-01", "2025-13-01:4")),
        *({"forbund": SOS, "fore": bad} for bad in ("2025-01-01:0", "2025:4", "x:" + "9" * 40)),
    ):
        refused = client.get("/rapporter", params=params)
        assert refused.status_code == 400, params
        assert "Länken till äldre inlämnade rapporter gick inte att läsa." in refused.text
        assert "Börja om från de nyaste rapporterna" in refused.text
    # another förbund's reports: not found, whether or not the förbund exists
    for key in (ALE, "finns-inte"):
        other = client.get("/rapporter", params={"forbund": key, "fore": "2025-01-01:1"})
        assert other.status_code == 404 and "som du granskar" in other.text, key
    # a link past the oldest report: an empty page that says so
    past = client.get("/rapporter", params={"forbund": SOS, "fore": "2025-01-01:1"})
    assert past.status_code == 200 and "Det finns inga äldre inlämnade rapporter." in past.text


def test_the_other_forbund_show_their_newest_page(sqlite_web_app: Any, tmp_path: Path) -> None:
    """A förbundschef of two förbund pages one; the other shows its first page."""
    twin = tmp_path / "twin.toml"
    text = SOS_FILE.read_text(encoding="utf-8")
    twin.write_text(
        text.replace(f'key = "{SOS}"', 'key = "tvilling"', 1).replace(
            'name = "Samordningsförbundet Sydöstra Skåne"', 'name = "Tvillingförbundet"', 1
        ),
        encoding="utf-8",
    )
    forbunds.register(sqlite_web_app, load_forbund(twin))
    mine = add_reports(sqlite_web_app, SOS, 25)
    theirs = add_reports(sqlite_web_app, "tvilling", 25)
    client = signed_in_client(sqlite_web_app, CHEF)
    first = sections(client.get("/rapporter").text)
    assert [int(i) for i in WAITING.findall(first["tvilling"])] == theirs[:20]
    older = OLDER_WAITING.search(first[SOS])
    assert older is not None
    paged = sections(client.get(f"/rapporter?forbund={SOS}&fore={older.group(2)}").text)
    assert [int(i) for i in WAITING.findall(paged[SOS])] == mine[20:]
    assert OLDER_WAITING.search(paged[SOS]) is None
    assert [int(i) for i in WAITING.findall(paged["tvilling"])] == theirs[:20]
    assert "Till de nyaste" not in paged["tvilling"]
    assert OLDER_WAITING.search(paged["tvilling"]) is not None


def test_a_page_of_waiting_reports_costs_the_same_with_5_and_90(tmp_path: Any, clock: Any) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'finsam.db'}", clock, SOS_FILE, ALE_FILE)
    try:
        add_reports(app, SOS, 5)
        client = signed_in_client(app, CHEF)
        client.get("/rapporter")  # warm: the förbund files parsed once

        def cost() -> tuple[int, int]:
            with statements(app) as seen:
                shown = client.get(f"/rapporter?forbund={SOS}&fore=2099-01-01:1")
            assert shown.status_code == 200
            return len(seen), len(WAITING.findall(sections(shown.text)[SOS]))

        few = cost()
        add_reports(app, SOS, 90)
        add_reports(app, ALE, 90)
        assert few[1] == 5 and cost() == (few[0], 20)
    finally:
        app.engine.dispose()
