"""The sweeps' cost follows what is due, not the number of förbund (issue 17); förbund are
shared between nodes on PostgreSQL; messages are written directly, as the e-mail library
would have written them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
import scale
import sqlalchemy as sa
from helpers import make_app, owe_reports, race, statements

from notifications.messages import address, build, build_direct
from workflow.bootstrap import bootstrap
from workflow.core.clock import FixedClock
from workflow.core.models import Forbund, Insats, Meeting, Obligation, OutboxMessage
from workflow.core.uow import UnitOfWork, read
from workflow.forbund import registry as forbunds
from workflow.mail import compose as notify
from workflow.scheduler import daemon as scheduler
from workflow.scheduler import nodes, sweeps

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)  # the 14-day reminders of 2027-03-10 are due


def owe(app: Any, per_forbund: int, due: str = "2027-03-10") -> None:
    """`per_forbund` ended insatser in every förbund, each owing its final report on `due`."""
    with UnitOfWork(app) as uow:
        count = len(uow.session.scalars(sa.select(Forbund.id)).all())
    owe_reports(app, per_forbund * count, due, prefix="due", spread=True)


def forbund_db(url: str, count: int) -> Any:
    """`count` förbund (Sydöstra Skåne and copies), each with its 2027 cycle, insatser
    and their obligations; the clock at NOW."""
    app, clock = scale.cycle_2027(url, count)
    clock.set(NOW)
    return app


def idle_statements(app: Any) -> int:
    scheduler.tick(app, log=sweeps.quiet)  # what is due goes out; then nothing is
    with statements(app) as seen:
        results = scheduler.tick(app, log=sweeps.quiet)
    assert all(r["outcome"] == "ok" for r in results), results
    assert results[1]["counts"] == {"reminders": 0, "notices": 0}, results
    return len(seen)


def test_an_idle_tick_asks_as_much_of_six_forbund_as_of_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSAM_MAIL_URL", f"file://{tmp_path / 'mail'}")
    one = idle_statements(forbund_db(f"sqlite:///{tmp_path / 'one.db'}", 1))
    six = idle_statements(forbund_db(f"sqlite:///{tmp_path / 'six.db'}", 6))
    assert six == one


def test_a_due_tick_reads_only_the_forbund_with_due_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six förbund, reminders due in one: the others' files are never loaded."""
    monkeypatch.setenv("FINSAM_MAIL_URL", f"file://{tmp_path / 'mail'}")
    app = forbund_db(f"sqlite:///{tmp_path / 'six.db'}", 6)
    scheduler.tick(app, log=sweeps.quiet)
    clock = app.clock
    clock.set(datetime(2027, 1, 1, 9, tzinfo=UTC))
    owe(app, 3)
    with UnitOfWork(app) as uow:  # only Sydöstra Skåne's are due
        uow.session.execute(
            sa.update(Obligation)
            .where(Obligation.insats_id.in_(sa.select(Insats.id).where(Insats.name.like("due %"))))
            .where(
                Obligation.insats_id.not_in(
                    sa.select(Insats.id)
                    .join(Forbund, Forbund.id == Insats.forbund_id)
                    .where(Forbund.key == scale.SOS)
                )
            )
            .values(due="2027-12-01")
        )
        uow.commit()
    clock.set(NOW)
    with statements(app) as seen:
        counts = notify.sweep(app)
    assert counts == {"reminders": 3, "notices": 0}
    stored_files = [q for q in seen if "forbund.config," in q]
    assert stored_files == []  # parsed already: the three columns of its head suffice


def next_due_per_forbund(s: Any, now: datetime) -> Any:
    """`nodes.next_due` as it was, a few queries a förbund: what the set-based one must say."""
    found: list[tuple[datetime, str]] = []
    t = OutboxMessage
    waiting = s.execute(
        sa.select(t.id, t.subject, sa.func.coalesce(t.next_attempt_at, t.not_before))
        .where(t.state == "queued")
        .order_by(sa.func.coalesce(t.next_attempt_at, t.not_before))
        .limit(1)
    ).first()
    if waiting:
        found.append((waiting[2], f"utskick {waiting[0]}: {waiting[1]}"))
    for row in s.scalars(sa.select(Forbund)):
        cfg = forbunds.config_of(row)
        for o, insats in notify.open_obligations(s, row):
            later = [at for at, _ in notify.reminder_times(o, cfg) if at > now]
            if later:
                found.append((min(later), f"påminnelse: {o.name} {o.year}, {insats.name}"))
        lead = timedelta(days=cfg.mail.notice_days_before)
        m = s.scalars(
            sa.select(Meeting)
            .where(
                Meeting.forbund_id == row.id,
                Meeting.status != "cancelled",
                Meeting.starts_at > now + lead,
            )
            .order_by(Meeting.starts_at)
            .limit(1)
        ).first()
        if m is not None:
            found.append((m.starts_at - lead, f"kallelse: {m.key}"))
    if not found:
        return None
    when, what = min(found)
    return {"at": when.isoformat(), "what": what}


def test_what_is_next_is_read_alike_for_one_forbund_and_six(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`scheduler status`'s next thing due: as the per-förbund reading said, in the same
    number of statements for six förbund as for one."""
    monkeypatch.setenv("FINSAM_MAIL_URL", f"file://{tmp_path / 'mail'}")
    seen: dict[int, int] = {}
    for count in (1, 6):
        app = forbund_db(f"sqlite:///{tmp_path / f'{count}.db'}", count)
        for now in (NOW, datetime(2027, 1, 2, 9, tzinfo=UTC), datetime(2027, 11, 20, tzinfo=UTC)):
            with read(app) as uow:
                nodes.next_due(uow.session, now)  # the förbund files parsed
                with statements(app) as asked:
                    got = nodes.next_due(uow.session, now)
                assert got is not None and got == next_due_per_forbund(uow.session, now)
            seen[count] = len(asked)
        if count == 6:  # the kallelse of a cancelled meeting is not next
            with UnitOfWork(app) as uow:
                s = uow.session
                first = s.scalars(
                    sa.select(Meeting).where(Meeting.starts_at > NOW).order_by(Meeting.starts_at)
                ).first()
                assert first is not None
                first.status = "cancelled"
                uow.commit()
            with read(app) as uow:
                got = nodes.next_due(uow.session, NOW)
                assert got == next_due_per_forbund(uow.session, NOW)
            # once a sweep has sent what was due, each report waits for its next
            # reminder (`next_reminder_at`): read from there, it says the same
            notify.sweep(app)
            for now in (NOW, NOW + timedelta(days=8), NOW + timedelta(days=40)):
                with read(app) as uow:
                    got = nodes.next_due(uow.session, now)
                    assert got is not None and got == next_due_per_forbund(uow.session, now)
        app.engine.dispose()
    assert seen[6] == seen[1]


def test_the_year_sweep_tells_a_board_without_the_month_from_one_without_a_cycle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three förbund whose obligations are owed anew (their insatser's are gone): one has
    its board meetings, one lacks the month a report kind goes to the board (the sweep
    says so and goes on), one has no 2027 board meetings at all (its chef is reminded)."""
    monkeypatch.setenv("FINSAM_MAIL_URL", f"file://{tmp_path / 'mail'}")
    app = forbund_db(f"sqlite:///{tmp_path / 'three.db'}", 3)
    ids = dict(
        (k, i) for i, k in uow_rows(app, sa.select(Forbund.id, Forbund.key).order_by(Forbund.key))
    )
    whole, short, bare = sorted(ids)
    with UnitOfWork(app) as uow:
        s = uow.session
        s.execute(sa.delete(Obligation))
        board = sa.select(Meeting.id).where(Meeting.key.like("styrelse-2027-%"))
        row = s.get(Forbund, ids[short])
        assert row is not None
        named = forbunds.config_of(row).reports.kinds[0].board_month  # a report goes there
        key = f"styrelse-2027-{named:02d}"
        month = s.scalars(board.where(Meeting.forbund_id == ids[short], Meeting.key == key)).one()
        gone = [*s.scalars(board.where(Meeting.forbund_id == ids[bare])), month]
        s.execute(sa.update(Meeting).where(Meeting.prepares_id.in_(gone)).values(prepares_id=None))
        s.execute(sa.delete(Meeting).where(Meeting.id.in_(gone)))
        uow.commit()
    logged: list[tuple[str, dict[str, Any]]] = []

    def log(event: str, *args: Any, **fields: Any) -> None:
        logged.append((event, fields))

    counts = sweeps._year(app, sweeps.Context(worker="test", log=log))
    assert counts["cycle_reminders"] == 1 and counts["obligations"] > 0, counts
    made = {f["forbund"] for e, f in logged if e == "obligation"}
    assert made == {whole}, logged
    assert [f["forbund"] for e, f in logged if e == "obligations-skipped"] == [short]
    assert [f["forbund"] for e, f in logged if e == "cycle-missing"] == [bare]
    app.engine.dispose()


@pytest.mark.postgres
def test_a_batch_goes_in_on_postgresql_as_the_model_writes_a_row(pg_url: str) -> None:
    """PostgreSQL takes a batch as one array a column: the rows hold what the model's own
    insert would have written, a key queued already is skipped, the ids come back."""
    app = make_app(pg_url, FixedClock(NOW))
    values = {
        "forbund_key": scale.SOS,
        "kind": "reminder",
        "subject": "Påminnelse: Slutrapport – Åsa",
        "sender": "kansli@sos.example",
        "recipients": ["asa@x.example", "b@y.example"],
        "raw": b"Subject: x\r\n\r\n\x00\xff\r\n",
        "not_before": NOW,
        "created_at": NOW,
    }

    def rendered(key: str, ref: str | None) -> notify.Rendered:
        draft = notify.Draft(key, scale.SOS, "reminder", None, [], None, {}, ref or "",
                             notify.Holds("open", 1))  # type: ignore[arg-type]  # fmt: skip
        return notify.Rendered(draft, {**values, "key": key, "message_id": f"<{key}>", "ref": ref})

    with UnitOfWork(app) as uow:
        s = uow.session
        s.add(OutboxMessage(**{**values, "key": "model", "message_id": "<model>", "ref": None}))
        s.flush()
        first = notify.insert_new(s, [rendered("a", None), rendered("b", "obligation:1")])
        again = notify.insert_new(s, [rendered("a", None), rendered("c", None)])
        uow.commit()
    assert [q.key for q in first] == ["a", "b"] and [q.key for q in again] == ["c"]
    with read(app) as uow:
        rows = {r.key: r.model_dump() for r in uow.session.scalars(sa.select(OutboxMessage))}
        nulls = uow.session.scalar(  # SQL's NULL, as a bulk insert leaving it out writes it
            sa.select(sa.func.count()).where(
                OutboxMessage.draft.is_(None), OutboxMessage.key.in_(["a", "b", "c"])
            )
        )
    assert nulls == 3
    assert {q.id for q in [*first, *again]} == {rows[k]["id"] for k in "abc"}
    skip = {"id", "key", "message_id", "ref"}
    model = {c: v for c, v in rows["model"].items() if c not in skip}
    assert model["state"] == "queued" and model["recipients"] == values["recipients"]
    for key in "abc":
        assert {c: v for c, v in rows[key].items() if c not in skip} == model
    assert rows["b"]["ref"] == "obligation:1" and rows["a"]["ref"] is None
    app.engine.dispose()


def uow_rows(app: Any, statement: Any) -> list[Any]:
    with read(app) as uow:
        return list(uow.session.execute(statement))


MESSAGES = [
    {
        "sender": "Samordningsförbundet Sydöstra Skåne <kansli@sos.example>",
        "reply_to": "svar@sos.example",
        "to": [("Åsa Öberg", "asa@x.example"), ('Karin, "K" Holm', "karin@y.example")],
        "cc": [("", "chef@sos.example")],
        "subject": "Påminnelse: Slutrapport 2027 för Unga vuxna – " + "lång " * 40,
        "text": "Hej Åsa,\n\nDin rapport är försenad. " + "en mycket lång rad " * 10 + "\nSlut.\n",
        "html": "<p>Hej Åsa</p>\n<p>" + "<b>x</b> " * 30 + "</p>\n",
        "calendar": ("REQUEST", "BEGIN:VCALENDAR\r\nSUMMARY:Möte\r\nEND:VCALENDAR\r\n".encode()),
    },
    {
        "sender": "kansli@sos.example",
        "reply_to": None,
        "to": [("Plain Name", "a@b.example")],
        "cc": None,
        "subject": "Plain subject",
        "text": "plain\n",
        "html": "<p>x</p>",
    },
    {
        "sender": "SÖS <kansli@sos.example>",
        "reply_to": None,
        "to": [(f"Ledamot {i} Ärlig", f"m{i}@kommun.example") for i in range(40)],
        "cc": None,
        "subject": "Kallelse: Styrelsen 23 november 2027",
        "text": "Välkommen.\n",
        "html": "<p>Välkommen.</p>",
        "calendar": ("CANCEL", b"BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR\r\n"),
    },
]


def parsed(raw: bytes) -> tuple[dict[str, str], dict[str, Any]]:
    m = message_from_bytes(raw, policy=policy.default)
    assert not m.defects and all(not p.defects for p in m.walk())
    headers = {k: str(m[k]) for k in ("From", "To", "Cc", "Reply-To", "Subject", "Date")}
    parts = {
        p.get_content_type(): (p.get_content(), dict(p["Content-Type"].params))
        for p in m.walk()
        if not p.is_multipart()
    }
    return headers, parts


@pytest.mark.parametrize("message", MESSAGES, ids=["reminder", "plain", "many"])
def test_a_message_written_directly_reads_as_the_librarys(message: dict[str, Any]) -> None:
    when = datetime(2027, 3, 1, 9, tzinfo=UTC)
    old = build(
        sender=message["sender"],
        reply_to=message["reply_to"],
        to=[address(n, e) for n, e in message["to"]],
        cc=[address(n, e) for n, e in message["cc"]] if message["cc"] else None,
        subject=message["subject"],
        text=message["text"],
        html=message["html"],
        when=when,
        calendar=message.get("calendar"),
    )
    new = build_direct(**message, when=when)
    assert parsed(new.raw) == parsed(old.raw)
    assert (new.subject, new.sender, new.recipients) == (old.subject, old.sender, old.recipients)
    assert all(len(line) <= 998 for line in new.raw.split(b"\n"))
    assert b"\nContent-Language: sv\n" in new.raw


def test_user_text_never_becomes_a_header() -> None:
    """A line break in a name or the subject goes the library's way, which refuses it;
    text that looks like an encoded word stays the text it was."""
    common = {"sender": "kansli@sos.example", "reply_to": None, "cc": None, "text": "x\n"}
    when = datetime(2027, 3, 1, 9, tzinfo=UTC)
    with pytest.raises(ValueError):
        build_direct(**common, to=[("A\r\nBcc: x@evil.example", "a@b.example")], subject="s",
                     html="x", when=when)  # fmt: skip
    with pytest.raises(ValueError):
        build_direct(**common, to=[("A", "a@b.example")], subject="s\r\nBcc: x@evil.example",
                     html="x", when=when)  # fmt: skip
    looks = "=?utf-8?q?Bcc=3A_x?= och Ö"
    built = build_direct(**common, to=[(looks, "a@b.example")], subject=looks, html="x", when=when)
    headers, _ = parsed(built.raw)
    assert headers["Subject"] == looks and headers["To"] == f"{looks} <a@b.example>"
    assert built.recipients == ["a@b.example"]


@pytest.mark.postgres
def left_to_look_at(app: Any) -> set[str]:
    """The förbund with reports owed that the next notify sweep looks at (their next
    reminder has come, or no sweep has settled them yet)."""
    with read(app) as uow:
        return set(
            uow.session.scalars(
                sa.select(Forbund.key)
                .join(Insats, Insats.forbund_id == Forbund.id)
                .join(Obligation, Obligation.insats_id == Insats.id)
                .where(
                    Obligation.state.in_(notify.OPEN),
                    Obligation.next_reminder_at <= app.clock.now(),
                )
            )
        )


def test_two_nodes_share_the_forbund_and_queue_each_message_once(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSAM_MAIL_URL", "file:///nonexistent-not-used")
    clock = FixedClock(datetime(2027, 1, 1, 9, tzinfo=UTC))
    first = make_app(pg_url, clock)
    keys = [scale.other_key(n) for n in range(1, 6)]
    scale.register(first, keys)
    owe(first, 2)
    clock.set(NOW)
    second = bootstrap(pg_url, clock, must_exist=True, check=False)
    everyone = sorted([*keys, scale.SOS])
    # node one holds three förbund: node two makes the other three's and leaves these
    with nodes.forbund_claims(first, "notify") as claim, contextlib.ExitStack() as held:
        assert claim is not None
        assert all(held.enter_context(claim(k)) for k in everyone[:3])
        with nodes.forbund_claims(second, "notify") as other:
            counts = notify.sweep(second, claim=other)
    assert counts == {"reminders": 6, "notices": 0, "elsewhere": 3}
    # node two moved its own reports on to their next reminder, not the held ones
    assert left_to_look_at(second) == set(everyone[:3])
    with nodes.forbund_claims(first, "notify") as claim:
        assert notify.sweep(first, claim=claim) == {"reminders": 6, "notices": 0}
    assert left_to_look_at(first) == set()
    # the 3-day reminders: both nodes at once, each a share, together each one once;
    # neither goes on past its first förbund until the other holds one too, so neither
    # can finish the whole sweep before the other has begun
    clock.set(datetime(2027, 3, 7, 9, tzinfo=UTC))
    both = threading.Barrier(2, timeout=30)

    def node(app: Any, rotate: int) -> Any:
        def run() -> dict[str, Any]:
            with nodes.forbund_claims(app, "notify") as claim:
                assert claim is not None
                first = [True]

                @contextlib.contextmanager
                def claim_then_wait(key: str) -> Iterator[bool]:
                    with claim(key) as held:
                        if held and first[0]:
                            first[0] = False
                            both.wait()
                        yield held

                return notify.sweep(app, claim=claim_then_wait, rotate=rotate)

        return run

    results = race([node(first, 0), node(second, 3)])
    assert sum(r["reminders"] for r in results) == 12, results
    assert all(r["reminders"] >= 2 for r in results), results  # a förbund each at least
    with UnitOfWork(first) as uow:
        rows = uow.session.execute(sa.select(OutboxMessage.key, OutboxMessage.forbund_key)).all()
    assert len(rows) == 24 and len({k for k, _ in rows}) == 24
    assert {f for _, f in rows} == set(everyone)
    assert left_to_look_at(first) == set()  # what either node reminded has moved on
    first.engine.dispose()
    second.engine.dispose()
