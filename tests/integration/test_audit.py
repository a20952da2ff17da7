"""The audit chain notices edits, deletions, reordering and backdating, even by the
database's owner, and holds the plans, reports and förbund files against the trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from helpers import CHEF, LEADER, MEMBER, SOS_FILE, add_maria, begin_2027, draft_plan, dump, tamper

from workflow.core import audit
from workflow.core.exceptions import NotAllowed, UsageError
from workflow.core.models import AuditEvent
from workflow.forbund import registry as forbunds
from workflow.forbund.file import load_forbund
from workflow.plans import services as plans
from workflow.plans.content import Content
from workflow.reports import obligations as reports


def redate_and_rechain(app: Any, seq: int, at: datetime) -> None:
    """A cleverer attacker: move one row's date and recompute every hash after it, in
    the whole trail's chain and the förbund's, so both chains are whole again and
    only the order of the dates shows."""
    tamper(app)
    with app.engine.begin() as conn:
        table = AuditEvent.__table__
        rows = [dict(r._mapping) for r in conn.execute(sa.select(table).order_by(table.c.seq))]
        prev = audit.GENESIS
        prev_of: dict[str, str] = {}
        for row in rows:
            values = {k: v for k, v in row.items() if k != "id"}
            if row["seq"] == seq:
                values["at"] = at
            values["prev_hash"] = prev
            values["hash"] = audit.row_hash(values)
            prev = values["hash"]
            values["prev_hash_in_forbund"] = prev_of.get(row["forbund_key"], audit.GENESIS)
            values["hash_in_forbund"] = audit.forbund_hash(values)
            prev_of[row["forbund_key"]] = values["hash_in_forbund"]
            # unique previous hashes/hash: move each row aside first, then into place
            conn.execute(
                table.update()
                .where(table.c.id == row["id"])
                .values(
                    prev_hash=f"x{row['id']}",
                    hash=f"y{row['id']}",
                    prev_hash_in_forbund=f"z{row['id']}",
                )
            )
            row["new"] = values
        for row in rows:
            conn.execute(table.update().where(table.c.id == row["id"]).values(**row["new"]))


@pytest.fixture
def trail(app: Any) -> Any:
    """The förbund's creation (seq 1) and a plan's create, edit, submit, revise (2–5)."""
    pid = draft_plan(app)
    plans.edit(app, pid, actor_email=CHEF, title="Ny titel")
    plans.move(app, pid, "submit", actor_email=CHEF)
    plans.move(app, pid, "revise", actor_email=CHEF, comment="Tillbaka")
    assert audit.verify_database(app).rows == 5
    return app


def test_intact_chain(trail: Any) -> None:
    result = audit.verify_database(trail)
    assert result.ok and result.rows == 5 and result.problems == ()
    assert result.head == audit.head_of(trail)["hash"]


def test_rows_cannot_be_updated_or_deleted(trail: Any) -> None:
    for statement in ("UPDATE audit_event SET comment = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), trail.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert audit.verify_database(trail).ok


def test_edited_row(trail: Any) -> None:
    tamper(trail, "UPDATE audit_event SET comment = 'Annat skäl' WHERE seq = 5")
    result = audit.verify_database(trail)
    assert not result.ok and result.first_bad_seq == 5
    assert "was edited after it was written" in result.problem


def test_deleted_row(trail: Any) -> None:
    tamper(trail, "DELETE FROM audit_event WHERE seq = 3")
    result = audit.verify_database(trail)
    assert not result.ok and result.first_bad_seq == 4
    assert "a row is missing before it" in result.problem


def test_reordered_rows(trail: Any) -> None:
    tamper(
        trail,
        "UPDATE audit_event SET seq = 100 WHERE seq = 3",
        "UPDATE audit_event SET seq = 3 WHERE seq = 4",
        "UPDATE audit_event SET seq = 4 WHERE seq = 100",
    )
    result = audit.verify_database(trail)
    assert not result.ok and result.first_bad_seq == 3


def test_removed_tail_is_caught_by_the_head_in_the_minutes(trail: Any) -> None:
    head = audit.head_of(trail)["short"]
    assert audit.verify_database(trail, head).ok
    tamper(trail, "DELETE FROM audit_event WHERE seq = 5")
    result = audit.verify_database(trail, head)
    assert not result.ok and "is not in the chain" in result.problem


def test_removed_tail_is_caught_without_the_head(trail: Any) -> None:
    """The plan's state says where the trail must end: the cut shows by itself."""
    tamper(trail, "DELETE FROM audit_event WHERE seq = 5")
    result = audit.verify_database(trail)
    assert not result.ok and result.rows == 4
    assert any(
        "plan 1 (2027) is in state 'draft', but its last row in the trail (seq 4, submit) "
        "leaves it in 'presidium'" in p
        for p in result.problems
    ), result.problems


def test_removed_edit_is_caught_by_the_plans_version(app: Any) -> None:
    """An edit leaves state and revision as they were: the version counts it."""
    pid = draft_plan(app)
    plans.edit(app, pid, actor_email=CHEF, title="Ny titel")
    tamper(app, "DELETE FROM audit_event WHERE seq = 3")
    result = audit.verify_database(app)
    assert not result.ok
    assert result.problems == (
        "plan 1 (2027) is at version 2, but the trail holds 1 changes of it (the last: "
        "seq 2, create): a row was removed or the table was edited directly",
    )


def test_a_plan_edited_directly_is_named_with_both_states(trail: Any) -> None:
    with trail.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE plan SET state = 'adopted' WHERE id = 1")
    result = audit.verify_database(trail)
    assert not result.ok and result.first_bad_seq is None
    assert "plan 1 (2027) is in state 'adopted'" in result.problem
    assert "leaves it in 'draft'" in result.problem


def test_a_revision_from_a_file_after_submit_is_one_version(app: Any, clock: Any) -> None:
    """`plan revise` on a submitted plan writes two rows for one change; verify knows."""
    pid = draft_plan(app)
    plans.move(app, pid, "submit", actor_email=CHEF)
    clock.advance(timedelta(hours=1))
    plans.revise(
        app, pid, Content("# Plan\n\nNy text.", "markdown"), actor_email=CHEF, comment="Ny text"
    )
    clock.advance(timedelta(hours=1))
    plans.edit(app, pid, actor_email=CHEF, title="Ännu en titel")
    assert plans.show(app, pid)["version"] == 4
    assert [r["action"] for r in audit.log(app, pid)] == [
        "create",
        "submit",
        "revise",
        "edit",
        "edit",
    ]
    assert audit.verify_database(app).ok


def test_a_row_dated_before_its_predecessor_is_reported(trail: Any) -> None:
    redate_and_rechain(trail, 4, datetime(2001, 1, 1, 12, 0, tzinfo=UTC))
    result = audit.verify_database(trail)
    assert not result.ok and result.first_bad_seq == 4
    assert result.problem == (
        "row seq 4 (id 4) is dated 2001-01-01T12:00:00+00:00, before the row before it "
        "(seq 3, 2026-10-01T08:00:00+00:00): it was backdated or its date was edited"
    )
    assert len(result.problems) == 1  # seq 5, dated after seq 4, is in order


# ---------------------------------------------------------------- no backdating


def test_a_backdated_change_is_refused_naming_both_times(trail: Any, clock: Any) -> None:
    before = dump(trail.url)
    clock.set(datetime(2001, 1, 1, 12, 0, tzinfo=UTC))
    with pytest.raises(audit.Backdated) as refused:
        plans.move(trail, 1, "submit", actor_email=CHEF)
    assert refused.value.exit_code == 2
    assert "dated 2001-01-01T12:00:00+00:00, before the audit trail's last row" in str(
        refused.value
    )
    assert "(seq 5, 2026-10-01T08:00:00+00:00)" in str(refused.value)
    assert "FINSAM_NOW" in str(refused.value)
    assert dump(trail.url) == before


def test_a_clock_a_moment_behind_is_dated_as_the_last_row(trail: Any, clock: Any) -> None:
    """A writer that read the clock before waiting for the lock is not refused."""
    last = audit.head_of(trail)["at"]
    clock.advance(timedelta(seconds=-30))
    plans.move(trail, 1, "submit", actor_email=CHEF)
    assert audit.head_of(trail)["at"] == last
    assert audit.verify_database(trail).ok


def test_report_changes_are_refused_when_backdated_too(
    app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    begin_2027(app, clock, tmp_path, monkeypatch)
    add_maria(app, end=date(2027, 12, 31), budget={2027: 3000}, sus=True)
    made = reports.generate(app, None, 2027, actor_email=CHEF)
    assert audit.verify_database(app).ok
    report = tmp_path / "rapport.txt"
    report.write_text("Tertialrapport\n", encoding="utf-8")
    before = dump(app.url)
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    with pytest.raises(audit.Backdated):
        reports.submit(app, made[0]["id"], report, LEADER)
    assert dump(app.url) == before


def test_an_obligation_edited_directly_is_named(
    app: Any, clock: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    begin_2027(app, clock, tmp_path, monkeypatch)
    add_maria(app, end=date(2027, 12, 31), budget={2027: 3000}, sus=True)
    made = reports.generate(app, None, 2027, actor_email=CHEF)
    oid = made[0]["id"]
    with app.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE obligation SET state = 'approved' WHERE id = {oid}")
    result = audit.verify_database(app)
    assert not result.ok
    assert any(
        p.startswith(f"report obligation {oid} (")
        and "is in state 'approved'" in p
        and "leaves it in 'pending'" in p
        for p in result.problems
    ), result.problems


# ---------------------------------------------------------------- audit log --subject


def test_log_by_subject(trail: Any) -> None:
    assert [r["seq"] for r in audit.log(trail, subject="plan:1")] == [2, 3, 4, 5]
    assert [r["seq"] for r in audit.log(trail, subject="forbund:sydostra-skane")] == [1]
    assert audit.log(trail, subject="meeting:14") == []
    assert len(audit.log(trail, forbund_key="sydostra-skane")) == 5
    assert [r["seq"] for r in audit.log(trail, 1, subject="plan:1")] == [2, 3, 4, 5]


@pytest.mark.parametrize("subject", ["meeting", "meeting:", "cat:3", "plan:x", "insats: 3", "14"])
def test_a_subject_that_is_not_one_is_refused(trail: Any, subject: str) -> None:
    with pytest.raises(UsageError, match="--subject"):
        audit.log(trail, subject=subject)


# ---------------------------------------------------------------- the förbund file


def changed_file(tmp_path: Path, *swaps: tuple[str, str]) -> Path:
    text = SOS_FILE.read_text(encoding="utf-8")
    for old, new in swaps:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "sos.toml"
    path.write_text(text, encoding="utf-8")
    return path


EVA_LEDAMOT = 'email = "eva.lind@simrishamn.example"\nrole = "ledamot"'
EVA_CHAIR = 'email = "eva.lind@simrishamn.example"\nrole = "vice ordförande"'


def test_a_new_forbund_is_recorded_by_finsam_init(app: Any) -> None:
    (row,) = audit.log(app, subject="forbund:sydostra-skane")
    assert (row["action"], row["kind"], row["to"], row["actor"], row["role"]) == (
        "create",
        "forbund-file",
        "registered",
        "finsam",
        "system",
    )
    assert row["actor_name"].startswith("finsam init (OS user ")
    assert row["content_sha256"] == load_forbund(SOS_FILE).sha256()


def test_an_update_names_who_changed_which_roles(app: Any, tmp_path: Path) -> None:
    path = changed_file(
        tmp_path, (EVA_LEDAMOT, EVA_CHAIR), ('name = "Johan Ek"', 'name = "Johan Ekström"')
    )
    assert forbunds.register(app, load_forbund(path), CHEF)["outcome"] == "updated"
    row = audit.log(app, subject="forbund:sydostra-skane")[-1]
    assert (row["action"], row["actor"], row["role"]) == ("update", CHEF, "förbundschef")
    assert row["comment"] == (
        "Eva Lind: ledamot@styrelse → vice ordförande@styrelse; "
        "<johan.ek@sjobo.example>: name Johan Ek → Johan Ekström"
    )
    assert audit.verify_database(app).ok
    # the same file again changes nothing and writes nothing
    rows = audit.verify_database(app).rows
    assert forbunds.register(app, load_forbund(path))["outcome"] == "unchanged"
    assert audit.verify_database(app).rows == rows


def test_people_added_and_removed_and_other_tables(app: Any, tmp_path: Path) -> None:
    path = changed_file(
        tmp_path,
        ('name = "Olof Mård"\nemail = "olof.mard@tomelilla.example"',
         'name = "Olle Mård"\nemail = "olle.mard@tomelilla.example"'),
        ("notice_days_before = 7", "notice_days_before = 8"),
    )  # fmt: skip
    forbunds.register(app, load_forbund(path), CHEF)
    comment = audit.log(app, subject="forbund:sydostra-skane")[-1]["comment"]
    assert "added Olle Mård <olle.mard@tomelilla.example>: ersättare@styrelse" in comment
    assert "removed Olof Mård <olof.mard@tomelilla.example>: ersättare@styrelse" in comment
    assert comment.endswith("; [mail] changed")


def test_an_update_without_a_person_is_refused(app: Any, tmp_path: Path) -> None:
    before = dump(app.url)
    cfg = load_forbund(changed_file(tmp_path, (EVA_LEDAMOT, EVA_CHAIR)))
    with pytest.raises(UsageError, match="who is changing it") as refused:
        forbunds.register(app, cfg)
    assert "Eva Lind: ledamot@styrelse → vice ordförande@styrelse" in str(refused.value)
    assert "--as EMAIL" in str(refused.value)
    assert dump(app.url) == before


def test_an_update_by_a_person_the_stored_file_does_not_allow_is_refused(
    app: Any, tmp_path: Path
) -> None:
    """Eva may not make herself förbundschef: the stored file decides who may change it."""
    before = dump(app.url)
    promoted = 'email = "eva.lind@simrishamn.example"\nrole = "förbundschef"'
    cfg = load_forbund(changed_file(tmp_path, (EVA_LEDAMOT, promoted)))
    with pytest.raises(NotAllowed, match="only the förbundschef may change the förbund file"):
        forbunds.register(app, cfg, MEMBER)
    assert dump(app.url) == before
