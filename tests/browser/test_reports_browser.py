"""Reports in a real browser: from the personal link in a reminder the SMTP server
received to a report handed in with its figures and its PDF, the förbundschef's
return and the project leader's correction, the board's overview with its sums and
its XLSX, and axe on every page of it, at a desktop's width and a phone's.

One story on one site of its own (`own_site`), for the clock must move: to the
morning a reminder falls due (the scheduler's tick queues it and sends it over
SMTP, as cron would), and past the 72 hours a personal link lives. The insatser,
their obligations and the second insats's report go in through the services the
CLI calls (in this process: a `finsam` process costs most of a second); the mail
goes out through `finsam scheduler tick` and `finsam outbox send`; everything the
story is about is done in Chromium, as people do it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
from browser_site import LINK, WAIT, Site, services, sign_in, violations, wait_until
from helpers import CHEF, LEADER, dump


def _one_page_pdf(line: str) -> bytes:
    """A PDF a reader opens: one A4 page with `line` on it, its cross-reference table
    pointing at each object's offset."""
    stream = f"BT /F1 14 Tf 72 770 Td ({line}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


SOS = "sydostra-skane"
CONTACT = "per.ohman@skane.example"  # Region Skåne's contact for Mariamottagningen
NORA = "nora.al@ystad.example"  # leads Unga vuxna
MARIA, UNGA = "Mariamottagningen", "Unga vuxna"
MARIA_BUDGET, UNGA_BUDGET = 1200, 2000  # tkr, 2027
# tertial 2 of 2027 is due on 30 August (seven days before the beredningsgrupp's
# meeting of 6 September); the reminder three days before goes out at eight
REMINDER_MORNING = "2027-08-27T08:05"
LINK_SPENT = "2027-08-30T09:00"  # the reminder's links were good for 72 hours
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 720}

# the figures as the report's form labels them, as the project leader types them
LABELS = {
    "participants_women": "Deltagare under perioden, kvinnor",
    "participants_men": "Deltagare under perioden, män",
    "participants_other": "Deltagare under perioden, annan könstillhörighet eller ej angivet",
    "participants_new": "Nya deltagare under perioden",
    "ended_work_or_studies": "Avslutade deltagare som gått till arbete eller studier",
    "costs_tkr": "Kostnader hittills i år",
    "goal_fulfilment": "Måluppfyllelse",
}
COUNTS = [
    "participants_women",
    "participants_men",
    "participants_other",
    "participants_new",
    "ended_work_or_studies",
]
COSTS = "Kostnader hittills i år (tkr)"  # the overview's column
TYPED = {
    "participants_women": "12",
    "participants_men": "9",
    "participants_other": "1",
    "participants_new": "7",
    "ended_work_or_studies": "4",
    "costs_tkr": "412,5",
    "goal_fulfilment": "Målen nås för årets första åtta månader.",
}
CORRECTED_COSTS = "480,5"  # what the förbundschef's return asks to complete
UNGA_FIGURES = {
    "participants_women": "6",
    "participants_men": "11",
    "participants_new": "4",
    "ended_work_or_studies": "2",
    "sus_up_to_date": "nej",
    "costs_tkr": "1500",
    "goal_fulfilment": "Delvis uppnått.",
}
PDF = _one_page_pdf("Tertialrapport 2 2027, Mariamottagningen")
RETURN_COMMENT = "Kostnaderna saknar lönedelen för juli och augusti."
XLSX_LINK = "Översikten som Excel-fil (.xlsx)"


def profile(browser: Any, site: Site, opened: list[Any]) -> Any:
    """A page in a fresh browser profile (no cookies) at the site's address."""
    ctx = browser.new_context(base_url=site.url, locale="sv-SE", accept_downloads=True)
    ctx.set_default_timeout(WAIT * 1000)
    opened.append(ctx)
    return ctx.new_page()


def test_a_report_from_the_reminder_to_the_boards_overview(
    browser: Any,
    browsers: list[Any],
    own_site: Site,
    tmp_path: Path,
) -> None:
    """The reminder's link signs the project leader in on the report's page; a wrong
    figure is refused at its field; the report goes in with its PDF; the förbundschef
    opens the PDF and returns the report; the "returned" mail's link brings the
    leader back to correct it; the chef approves; the overview's sums and its XLSX
    are the figures typed; the link nobody used is spent after 72 hours. axe finds
    nothing on any of these pages."""
    site = own_site
    found: dict[str, str] = {}  # what axe reports, by page
    with services(site) as app:
        ids = _insatser_owing_reports(app)
    report = f"/rapporter/{ids[MARIA]}"
    site.move_clock(REMINDER_MORNING)
    site.finsam("scheduler", "tick")  # queues the reminders and sends them over SMTP

    leader = profile(browser, site, browsers)
    _leader_hands_in_from_the_reminder(leader, site, report, found)
    with services(site) as app:
        _submit(app, ids[UNGA], tmp_path)

    chef = profile(browser, site, browsers)
    sign_in(chef, site, CHEF)
    _chef_reviews_and_returns(chef, site, report, found)
    _leader_corrects_from_the_returned_mail(leader, site, report, found)
    chef.goto(report)
    _press(chef, "Godkänn", 303)
    chef.get_by_role("status").filter(has_text="Rapporten är godkänd").wait_for()
    with services(site) as app:
        mine = _status(app, ids[MARIA])
    assert mine["state"] == "approved" and mine["file_name"] == "rapport.pdf"
    assert mine["figures"]["costs_tkr"] == 480.5 and mine["figures"]["sus_up_to_date"] is True

    _overview_sums_and_xlsx(chef, tmp_path, found)
    site.move_clock(LINK_SPENT)
    _an_unused_link_is_spent(profile(browser, site, browsers), site, found)
    assert not any(found.values()), "\n".join(f"{k}:\n{v}" for k, v in found.items() if v)


# ---------------------------------------------------------------- the data, by the services


def _insatser_owing_reports(app: Any) -> dict[str, int]:
    """Mariamottagningen (Sofia Ek leads it, Per Öhman is the owner's contact) and Unga
    vuxna, with 2027 budgets and their 2027 reports owed: each insats's tertial 2 id."""
    from workflow.reports import insatser
    from workflow.reports import obligations as reports

    for name, owner, leader, contact, budget in (
        (MARIA, "region-skane", ("Sofia Ek", LEADER), ("Per Öhman", CONTACT), MARIA_BUDGET),
        (UNGA, "ystad", ("Nora Al", NORA), ("", ""), UNGA_BUDGET),
    ):
        insatser.add(
            *(app, SOS),
            actor_email=CHEF,
            name=name,
            owner=owner,
            start=date(2019, 5, 1),
            leader_name=leader[0],
            leader_email=leader[1],
            contact_name=contact[0],
            contact_email=contact[1],
            budget={2027: budget},
        )
    made = reports.generate(app, SOS, 2027, actor_email=CHEF)
    tertial_2 = [r for r in made if r["kind"] == "tertial-2"]
    assert {r["due"] for r in tertial_2} == {"2027-08-30"}, made
    return {str(r["insats_name"]): int(r["id"] or 0) for r in tertial_2}


def _submit(app: Any, obligation: int, folder: Path) -> None:
    """Unga vuxna's report, handed in by its leader as `finsam reports submit` does."""
    from workflow.reports import obligations as reports

    pdf = folder / "unga.pdf"
    pdf.write_bytes(PDF)
    reports.submit(app, obligation, pdf, NORA, figures=UNGA_FIGURES)


def _status(app: Any, obligation: int) -> Mapping[str, Any]:
    """The obligation as `finsam reports status` shows it."""
    from workflow.reports import obligations as reports

    return next(r for r in reports.status(app, SOS, 2027) if r["id"] == obligation)


# ---------------------------------------------------------------- the mail


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def _link_in(message: EmailMessage) -> str:
    found = LINK.search(_text(message))
    assert found, _text(message)
    return found.group(0)


def _mail_after(site: Site, email: str, count: int) -> EmailMessage:
    """The newest mail to `email` once the SMTP server has more than `count` for them."""
    return wait_until(lambda: site.mail_to(email)[count:], f"a new mail to {email}")[-1]


def _reminder_to(site: Site, email: str) -> EmailMessage:
    """The reminder of Mariamottagningen's tertial 2 that the SMTP server got for `email`."""
    subject = f"Tertialrapport 2 2027 för {MARIA} ska lämnas senast 30 augusti 2027"

    def reminders() -> list[EmailMessage]:
        return [m for m in site.mail_to(email) if str(m["subject"]).startswith(subject)]

    mails = wait_until(reminders, f"the reminder to {email}")
    assert len(mails) == 1, [m["subject"] for m in mails]
    assert "Så lämnar du rapporten" in _text(mails[0])
    return mails[0]


# ---------------------------------------------------------------- the project leader


def _fill(page: Any, figures: dict[str, str]) -> None:
    """Type each figure into the field its label names; SUS: Ja."""
    for key, value in figures.items():
        page.get_by_label(LABELS[key]).fill(value)
    sus = page.get_by_role("group", name=re.compile("^Deltagarna är registrerade i SUS"))
    sus.get_by_label("Ja", exact=True).check()


def _attach(page: Any) -> None:
    """Choose the report's PDF in the file field, as the file dialog would."""
    chosen = {"name": "rapport.pdf", "mimeType": "application/pdf", "buffer": PDF}
    page.get_by_label("Rapportfil").set_input_files(files=[chosen])


def _press(page: Any, button: str, status: int) -> None:
    """Press the button and see the form's answer have this status (303: done, and the
    page it leads to loaded; 400: refused, the refusal shown)."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name=button, exact=True).click()
    assert answer.value.status == status, (button, answer.value.status)
    page.wait_for_load_state()


def _wrong_figure_is_refused_at_its_field(page: Any, site: Site, found: dict[str, str]) -> None:
    """A count typed as "tolv": the Swedish error at the field and in the summary, the
    field marked invalid and keeping what was typed, and not one row written."""
    before = dump(site.database_url)
    _fill(page, {**TYPED, "participants_women": "tolv"})
    _attach(page)
    _press(page, "Lämna in", 400)
    field = page.get_by_label(LABELS["participants_women"])
    assert field.input_value() == "tolv" and field.get_attribute("aria-invalid") == "true"
    error = page.locator(f"#{field.get_attribute('id')}-fel")
    assert "Skriv ett heltal" in error.inner_text(), error.inner_text()
    assert field.get_attribute("aria-describedby").split()[-1] == error.get_attribute("id")
    summary = page.get_by_role("alert").filter(has_text="Rapporten kunde inte lämnas in")
    assert "Skriv ett heltal" in summary.inner_text()
    found["the report's form with an error (leader)"] = _axe(page)
    assert dump(site.database_url) == before


def _leader_hands_in_from_the_reminder(
    page: Any, site: Site, report: str, found: dict[str, str]
) -> None:
    """The reminder's link, "Logga in", the report's page: a wrong figure first, then
    the report with its figures and its PDF; then the leader's list of reports."""
    page.goto(_link_in(_reminder_to(site, LEADER)))
    page.get_by_role("button", name="Logga in", exact=True).click()
    page.wait_for_url(site.url + report)
    found["the report's form (leader)"] = _axe(page)
    _wrong_figure_is_refused_at_its_field(page, site, found)
    _fill(page, TYPED)
    _attach(page)
    _press(page, "Lämna in", 303)
    page.get_by_role("status").filter(has_text="Rapporten är inlämnad").wait_for()
    assert page.get_by_role("link", name="rapport.pdf").is_visible()
    found["the report handed in (leader)"] = _axe(page)
    page.goto("/rapporter")
    mine = page.get_by_role("table", name=f"Rapporterna för {MARIA}")
    row = mine.get_by_role("row").filter(has_text="Tertialrapport 2 2027")
    assert row.get_by_role("cell").last.inner_text() == "inlämnad"
    found["/rapporter (leader)"] = _axe(page)


def _leader_corrects_from_the_returned_mail(
    page: Any, site: Site, report: str, found: dict[str, str]
) -> None:
    """`finsam outbox send` delivers the "returned" mail to each project person; its
    link opens the page (the leader is signed in), which shows the chef's comment and
    the figures handed in; one is corrected and the report goes in again without a new
    file (the one handed in before goes with it)."""
    before = {who: len(site.mail_to(who)) for who in (LEADER, CONTACT)}
    site.finsam("outbox", "send")
    returned = {who: _mail_after(site, who, count) for who, count in before.items()}
    for mail in returned.values():
        assert str(mail["subject"]) == f"Tertialrapport 2 2027 för {MARIA} behöver kompletteras"
        assert RETURN_COMMENT in _text(mail)
    page.goto(_link_in(returned[LEADER]))
    page.wait_for_url(site.url + report)
    asked = page.get_by_role("region", name="Förbundschefen ber om komplettering")
    assert RETURN_COMMENT in asked.inner_text()
    found["the returned report (leader)"] = _axe(page)
    costs = page.get_by_label(LABELS["costs_tkr"])
    assert costs.input_value() == TYPED["costs_tkr"]
    costs.fill(CORRECTED_COSTS)
    _press(page, "Lämna in", 303)
    page.get_by_role("status").filter(has_text="Rapporten är inlämnad").wait_for()


def _an_unused_link_is_spent(page: Any, site: Site, found: dict[str, str]) -> None:
    """The contact's reminder link, never opened, three days and an hour later: refused,
    with a button for a fresh one."""
    answer = page.goto(_link_in(_reminder_to(site, CONTACT)))
    assert answer is not None and answer.status == 400
    page.get_by_role("heading", level=1, name="Länken har gått ut").wait_for()
    assert page.get_by_role("button", name="Skicka en ny länk").is_visible()
    found["a spent link"] = _axe(page)


# ---------------------------------------------------------------- the förbundschef


def _chef_reviews_and_returns(page: Any, site: Site, report: str, found: dict[str, str]) -> None:
    """From /rapporter to the report, its PDF opened, and back to the leader with a comment."""
    page.goto("/rapporter")
    waiting = page.get_by_role("table", name="Inlämnade rapporter som väntar på dig")
    found["/rapporter (chef)"] = _axe(page)
    waiting.get_by_role("row").filter(has_text=MARIA).get_by_role("link").click()
    page.wait_for_url(site.url + report)
    found["the review (chef)"] = _axe(page)
    href = page.get_by_role("link", name="rapport.pdf").get_attribute("href")
    served = page.context.request.get(href)
    assert served.status == 200 and served.headers["content-type"] == "application/pdf"
    assert served.body() == PDF
    assert served.headers["content-disposition"].startswith("inline")
    page.get_by_label("Kommentar till projektledaren").fill(RETURN_COMMENT)
    _press(page, "Returnera för komplettering", 303)
    page.get_by_role("status").filter(has_text="Rapporten är returnerad").wait_for()


def _overview_sums_and_xlsx(page: Any, folder: Path, found: dict[str, str]) -> None:
    """The table's sum row is the sum of the figures typed; so is the XLSX's (saved in
    `folder` as Chromium downloaded it), as numbers."""
    page.goto(f"/{SOS}/oversikt/2027/tertial-2")
    table = _table(page)
    assert table[MARIA]["Status"] == "godkänd" and table[UNGA]["Status"] == "inlämnad"
    sums = _sums()
    assert {h: table["Summa"][h] for h in sums} == {h: _sv(v) for h, v in sums.items()}
    found["the overview"] = _axe(page)

    with page.expect_download() as download:
        page.get_by_role("link", name=XLSX_LINK).click()
    assert download.value.suggested_filename == f"oversikt-{SOS}-2027-tertial-2.xlsx"
    saved = folder / download.value.suggested_filename
    download.value.save_as(saved)
    sheet = openpyxl.load_workbook(saved).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    head, rows = values[0], {r[0]: r for r in values[1:]}
    total = {h: rows["Summa"][head.index(h)] for h in sums}
    assert total == sums
    assert all(isinstance(total[LABELS[k]], int) for k in COUNTS), total
    women = head.index(LABELS["participants_women"])
    assert (rows[MARIA][women], rows[UNGA][women]) == (12, 6)


def _sums() -> dict[str, float]:
    """The overview's sum row as the figures typed make it: column header -> sum."""
    maria = {**TYPED, "costs_tkr": CORRECTED_COSTS}
    both = (maria, UNGA_FIGURES)
    sums: dict[str, float] = {
        LABELS[k]: sum(int(f.get(k, "0")) for f in both)  # Unga vuxna gave no "other"
        for k in COUNTS
    }
    sums[COSTS] = sum(_number(f["costs_tkr"]) for f in both)  # 480,5 + 1500
    sums["Budget 2027 (tkr)"] = MARIA_BUDGET + UNGA_BUDGET
    return sums


def _table(page: Any) -> dict[str, dict[str, str]]:
    """The overview's table as shown: insats (or Summa) -> column header -> cell text."""
    shown = page.get_by_role("table", name=re.compile("siffror, budget och andel använd$"))
    cells = shown.evaluate("t => [...t.rows].map(r => [...r.cells].map(c => c.innerText.trim()))")
    head, *rows = cells
    return {row[0]: dict(zip(head, row, strict=True)) for row in rows}


def _number(typed: str) -> float:
    return float(typed.replace(",", "."))


def _sv(value: float) -> str:
    """A number as the page writes it: a no-break space between thousands, a decimal comma."""
    text = f"{value:,.1f}".removesuffix(".0")
    return text.replace(",", "\xa0").replace(".", ",")


# ---------------------------------------------------------------- axe


def _axe(page: Any) -> str:
    """axe on the page as it stands, at a desktop's width and then a phone's."""
    page.set_viewport_size(DESKTOP)
    wide = violations(page)
    page.set_viewport_size(PHONE)
    narrow = violations(page)
    page.set_viewport_size(DESKTOP)
    return "".join(f"{w}:\n{r}" for w, r in (("desktop", wide), ("phone", narrow)) if r)
