"""The outbox's throughput work keeps its guarantees: marks written together stay each its
own compare-and-set, and a claim takes run-out leases first without walking the queue."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from helpers import queue_arrivals

from workflow.core.models import OutboxAttempt, OutboxMessage
from workflow.core.uow import read, write
from workflow.mail import delivery as outbox
from workflow.mail.delivery import Claims, Mark


def test_marks_written_together_are_each_checked_on_their_own(app: Any, clock: Any) -> None:
    """One transaction for three marks: the one whose claim another deliverer holds now is
    left as it is (no attempt written), the other two are settled, each as it went."""
    queue_arrivals(app, 3, "together")
    claims = Claims(app, "a", timedelta(seconds=60))
    try:
        first, second, third = claims.take(10)
        t = OutboxMessage.__table__
        write(  # the second went to another deliverer meanwhile
            app,
            lambda uow: uow.session.execute(
                sa.update(t).where(t.c.id == second).values(claimed_by="b")
            ),
        )
        kept = claims.mark_many(
            [
                Mark(first, "sent", "", {"x@example.org": ("sent", "250")}, 8, 0, ["x"]),
                Mark(second, "sent", "", {}, 8, 0, []),
                Mark(third, "permanent", "550 no", {}, 8, 0, []),
            ]
        )
        assert kept == [True, False, True]
        assert not any(claims.holds(i) for i in (first, second, third))
    finally:
        claims.close()
    with read(app) as uow:
        s = uow.session
        rows = {
            m.id: (m.state, m.claimed_by, m.attempts, m.accepted)
            for m in s.scalars(sa.select(OutboxMessage))
        }
        tried = sorted(
            (a.message, a.recipient, a.outcome) for a in s.scalars(sa.select(OutboxAttempt))
        )
    assert rows == {
        first: ("sent", None, 1, ["x"]),
        second: ("sending", "b", 0, []),
        third: ("failed", None, 1, []),
    }
    assert tried == [(first, "x@example.org", "sent"), (third, "*", "permanent")]


def test_a_claim_takes_the_run_out_leases_first_then_the_oldest_queued(
    app: Any, clock: Any
) -> None:
    """A row whose lease ran out has waited longest: it goes before any queued one, and the
    limit counts both."""
    rows = [m.id for m in queue_arrivals(app, 5, "order")]
    lease = timedelta(seconds=30)
    assert outbox.claim(app, 2, "a", lease, exclude=rows[:3]) == rows[3:]
    clock.advance(timedelta(seconds=31))  # a died: its leases ran out
    assert outbox.claim(app, 3, "b", lease) == [rows[0], rows[3], rows[4]]
    assert outbox.claim(app, 3, "c", lease) == [rows[1], rows[2]]
    assert outbox.claim(app, 3, "d", lease) == []
