"""Which overviews a förbund has: the years and report kinds its insatser owe reports for.

The overview's page links to the others of its förbund; one statement finds them,
however many insatser and years the förbund has (the distinct pairs, not the rows).
"""

from __future__ import annotations

import sqlalchemy as sa

from workflow.core.app import App
from workflow.core.models import Forbund, Insats, Obligation
from workflow.core.uow import read


def with_obligations(app: App, forbund_key: str) -> list[tuple[int, str]]:
    """(year, kind) for which the förbund has an obligation that is not cancelled,
    by year and then kind; empty for a förbund without any (or not in the database)."""
    with read(app) as uow:
        pairs = uow.session.execute(
            sa.select(Obligation.year, Obligation.kind)
            .join(Insats, Insats.id == Obligation.insats_id)
            .join(Forbund, Forbund.id == Insats.forbund_id)
            .where(Forbund.key == forbund_key, Obligation.state != "cancelled")
            .distinct()
            .order_by(Obligation.year, Obligation.kind)
        ).all()
    return [(int(year), str(kind)) for year, kind in pairs]
