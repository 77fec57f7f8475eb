"""The platform's tasks of deciding settlements (storing a delivery's part is the settlements
app's task, :func:`huzhu.settlements.tasks.store_part`). Arguments and results are JSON values
(ids, dates as text)."""

from __future__ import annotations

import datetime

from django_tasks import task

from huzhu.actors import Actor


def _actor(actor_id: int | None) -> Actor:
    from huzhu.accounts.models import User

    return User.objects.filter(pk=actor_id).first() if actor_id else None


@task()
def decide_part(settlement_ids: list[int], as_of: str | None = None,
                actor_id: int | None = None) -> dict[str, int]:
    """Decide one part (whole members) of a delivery: see
    :func:`huzhu.claims.bulk.settlements_decide`. Idempotent: settlements decided already are
    left alone, so a part run twice, or killed and run again, never doubles."""
    from huzhu.claims.bulk import decide_part_here

    day = datetime.date.fromisoformat(as_of) if as_of else None
    return decide_part_here(settlement_ids, actor=_actor(actor_id), as_of=day)


@task()
def decide_pending(limit: int = 20_000) -> int:
    """Decide the settlements a crash or a store-only import left undecided (the sweep)."""
    from huzhu.claims.bulk import settlements_decide, settlements_pending

    pending = settlements_pending(limit=limit)
    if pending:
        settlements_decide(pending, actor=None)
    return len(pending)
