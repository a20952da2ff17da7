"""`audit verify` against a bare sha256 loop over the same canonical bytes.

Builds a trail of BENCH_ROWS rows (default 100 000) for two förbund, interleaved,
each row hashed by the functions `append` uses (`audit.row_hash`,
`audit.forbund_hash`) and inserted in large transactions. Then, interleaved over
BENCH_ROUNDS rounds, times `audit.verify` (in process, whole trail) against the
bare loop: a plain cursor over the hashed columns in seq order, each row's
canonical bytes in both chains (`audit.canonical`, the bytes verify must hash)
through sha256 and compared, nothing else. Prints rows/s of both (medians), the
ratio (target: at least 0.5) and verify's peak memory (tracemalloc, separately
from the timed rounds; target: under 100 MB). The last line is JSON.
Not part of the tests.

BENCH_URL: a database to use instead of a temporary SQLite file (an empty one:
e.g. a throwaway PostgreSQL database `postgresql+psycopg://...`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
BATCH = 10_000  # rows a transaction while building
START = datetime(2020, 1, 1, 9, tzinfo=UTC)


def build(app: Any, rows: int) -> None:
    """`rows` rows after the ones `init` wrote, alternating between the two förbund."""
    import sqlalchemy as sa

    from workflow.core import audit
    from workflow.core.models import AuditEvent
    from workflow.core.uow import UnitOfWork

    with UnitOfWork(app) as uow:
        last = audit.head(uow.session)
        assert last is not None
        seq, prev, at = last.seq, last.hash, max(last.at, START)
        heads = {}
        for key in ("sydostra-skane", "ale-kungalv"):
            mine = audit.forbund_head(uow.session, key)
            heads[key] = (mine.seq_in_forbund, mine.hash_in_forbund) if mine else (0, audit.GENESIS)
    done = 0
    while done < rows:
        batch = []
        for _ in range(min(BATCH, rows - done)):
            seq += 1
            done += 1
            key = "sydostra-skane" if seq % 2 else "ale-kungalv"
            fseq, fprev = heads[key]
            at += timedelta(seconds=7)
            values: dict[str, Any] = {
                "seq": seq, "at": at, "forbund_key": key, "plan_id": None, "plan_year": None,
                "subject": f"meeting:{seq % 5000}", "revision": 0, "action": "move",
                "kind": "change", "outcome": None, "from_state": "planned",
                "to_state": "planned", "new_revision": None,
                "actor_email": "chef@sos.example", "actor_name": "Chef Chefsson",
                "actor_role": "förbundschef", "body": None, "meeting_date": "2027-05-12",
                "paragraph": None, "comment": f"Mötet flyttades ({seq}).",
                "follows_recommendation": None, "content_sha256": "", "channel": "cli",
                "prev_hash": prev, "seq_in_forbund": fseq + 1, "prev_hash_in_forbund": fprev,
            }  # fmt: skip
            values["hash"] = audit.row_hash(values)
            values["hash_in_forbund"] = audit.forbund_hash(values)
            prev = values["hash"]
            heads[key] = (fseq + 1, values["hash_in_forbund"])
            batch.append(values)
        with UnitOfWork(app) as uow:
            uow.session.execute(sa.insert(AuditEvent), batch)
            uow.commit()


def bare(app: Any) -> int:
    """The floor: every row's canonical bytes in both chains through sha256, compared."""
    import sqlalchemy as sa

    from workflow.core.audit import HASHED_FIELDS, canonical
    from workflow.core.models import AuditEvent

    table = AuditEvent.__table__
    names = (*HASHED_FIELDS, "subject", "channel", "seq_in_forbund", "prev_hash_in_forbund")
    columns = (table.c[n] for n in (*names, "hash", "hash_in_forbund"))
    query = sa.select(*columns).order_by(table.c.seq)
    bad = rows = 0
    with app.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        for row in result.mappings():
            values = dict(row)
            if hashlib.sha256(canonical(values)).hexdigest() != values["hash"]:
                bad += 1
            values["seq"], values["prev_hash"] = row["seq_in_forbund"], row["prev_hash_in_forbund"]
            if hashlib.sha256(canonical(values)).hexdigest() != values["hash_in_forbund"]:
                bad += 1
            rows += 1
    assert bad == 0
    return rows


def ours(app: Any) -> int:
    from workflow.core import audit

    result = audit.verify_database(app)
    assert result.ok, result.problems
    return result.rows


def timed(work: Callable[[Any], int], app: Any) -> tuple[float, int]:
    start = time.perf_counter()
    rows = work(app)
    return time.perf_counter() - start, rows


def peak_mb(work: Callable[[Any], int], app: Any) -> float:
    tracemalloc.start()
    try:
        work(app)
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def main() -> None:
    from helpers import ALE_FILE, SOS_FILE, make_app

    from workflow.core.clock import FixedClock

    folder = Path(tempfile.mkdtemp(prefix="finsam-audit-"))
    url = os.environ.get("BENCH_URL") or f"sqlite:///{folder / 'trail.db'}"
    app = make_app(url, FixedClock(START), SOS_FILE, ALE_FILE)
    start = time.perf_counter()
    build(app, ROWS)
    print(f"built {ROWS} rows in {time.perf_counter() - start:.1f} s ({url.split(':')[0]})")
    times: dict[str, list[float]] = {"bare": [], "verify": []}
    rows = 0
    for _ in range(ROUNDS):  # interleaved, so noise hits both alike
        elapsed, rows = timed(bare, app)
        times["bare"].append(elapsed)
        elapsed, checked = timed(ours, app)
        times["verify"].append(elapsed)
        assert checked == rows, (checked, rows)
    b, v = median(times["bare"]), median(times["verify"])
    peak_verify, peak_bare = peak_mb(ours, app), peak_mb(bare, app)
    print(
        f"bare sha256 loop : {rows / b:9.0f} rows/s, peak {peak_bare:.1f} MB (median of {ROUNDS})"
    )
    print(f"audit verify     : {rows / v:9.0f} rows/s, peak {peak_verify:.1f} MB")
    print(f"ratio verify/bare: {b / v:.2f}  (target >= 0.5; memory < 100 MB)")
    print(
        json.dumps(
            {
                "rows": rows,
                "bare_rows_per_s": round(rows / b),
                "verify_rows_per_s": round(rows / v),
                "ratio": round(b / v, 2),
                "verify_peak_mb": round(peak_verify, 1),
                "bare_peak_mb": round(peak_bare, 1),
            }
        )
    )
    app.engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
