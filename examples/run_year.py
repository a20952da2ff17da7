"""The demo's scheduler: ticks on a moving clock, as `finsam scheduler run` would do them.

    python examples/run_year.py UNTIL        tick every day at 08:00 (local) from the
                                             last tick up to UNTIL, then once at UNTIL
    python examples/run_year.py --summary    month by month: what was queued and sent

Each tick is `finsam scheduler tick` in-process (the same sweeps, the same
outbox, the same SMTP server), with the clock set to the tick's instant, so a
year runs in seconds and nobody sleeps. The last tick's instant is kept in
demo-out/last-tick so the demo's story and the ticks take turns.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

LAST = Path("demo-out/last-tick")
KINDS = {  # singular, plural
    "reminder": ("rapportpåminnelse", "rapportpåminnelser"),
    "notice": ("kallelse", "kallelser"),
    "arrival": ("besked om nytt ärende", "besked om nya ärenden"),
    "decision": ("protokollsutdrag", "protokollsutdrag"),
    "cycle": ("påminnelse om sammanträdesplan", "påminnelser om sammanträdesplan"),
    "obligation": ("rapporttid", "rapporttider"),
    "mail": ("mejl", "mejl"),
}
MONTHS = "januari februari mars april maj juni juli augusti september oktober november december"


def ticks(start: datetime, until: datetime) -> list[datetime]:
    """08:00 every day after `start` and before `until`, then `until` itself."""
    from workflow.core.clock import LOCAL_TZ, to_utc

    out = []
    day = start.astimezone(LOCAL_TZ).date()
    while True:
        at = to_utc(datetime.combine(day, time(8)))
        if at >= until:
            break
        if at > start:
            out.append(at)
        day += timedelta(days=1)
    return [*out, until]


def run_until(text: str) -> None:
    from workflow.bootstrap import bootstrap
    from workflow.core.clock import FixedClock, parse_instant
    from workflow.scheduler import daemon as scheduler
    from workflow.scheduler import sweeps

    until = parse_instant(text)
    start = parse_instant(LAST.read_text().strip()) if LAST.exists() else until
    clock = FixedClock(until)
    app = bootstrap(clock=clock)
    for at in ticks(start, until) if start < until else [until]:
        clock.set(at)
        results = {r["sweep"]: r for r in scheduler.tick(app, log=sweeps.quiet)}
        failed = [r for r in results.values() if r["outcome"] != "ok"]
        if failed:
            raise SystemExit(f"tick at {at.isoformat()} failed: {failed}")
        _report(at, results)
    LAST.write_text(until.isoformat())
    app.engine.dispose()


def _report(at: datetime, results: dict[str, Any]) -> None:
    from workflow.core.clock import LOCAL_TZ

    year, notify = results["year"]["counts"], results["notify"]["counts"]
    sent = results["outbox"]["counts"]["sent"]
    parts = [
        f"{_n(n, kind)} {verb[n > 1]}"
        for n, kind, verb in (
            (year["obligations"], "obligation", ("skapad", "skapade")),
            (year["cycle_reminders"], "cycle", ("köad", "köade")),
            (notify["reminders"], "reminder", ("köad", "köade")),
            (notify["notices"], "notice", ("köad", "köade")),
            (sent, "mail", ("skickat", "skickade")),
        )
        if n
    ]
    if parts:
        print(f"  tick {at.astimezone(LOCAL_TZ):%Y-%m-%d %H:%M}: {', '.join(parts)}")


def summary() -> None:
    import sqlalchemy as sa

    from workflow.bootstrap import bootstrap
    from workflow.core.clock import LOCAL_TZ
    from workflow.core.models import OutboxMessage

    app = bootstrap()
    queued: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    sent: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    with app.engine.connect() as conn:
        t = OutboxMessage.__table__
        for kind, created, done in conn.execute(sa.select(t.c.kind, t.c.created_at, t.c.sent_at)):
            c = created.astimezone(LOCAL_TZ)
            queued[(c.year, c.month)][kind] += 1
            if done is not None:
                d = done.astimezone(LOCAL_TZ)
                sent[(d.year, d.month)][kind] += 1
    print(f"{'månad':<16}{'köade':<64}skickade")
    for key in sorted(set(queued) | set(sent)):
        name = f"{MONTHS.split()[key[1] - 1]} {key[0]}"
        print(f"{name:<16}{_counts(queued[key]):<64}{_counts(sent[key])}")
    app.engine.dispose()


def _n(n: int, kind: str) -> str:
    one, many = KINDS.get(kind, (kind, kind))
    return f"{n} {one if n == 1 else many}"


def _counts(counter: Counter[str]) -> str:
    return ", ".join(_n(n, k) for k, n in sorted(counter.items())) or "–"


if __name__ == "__main__":
    if sys.argv[1:] == ["--summary"]:
        summary()
    elif len(sys.argv) == 2:
        run_until(sys.argv[1])
    else:
        raise SystemExit(__doc__)
