"""Retention of stored answers: a key is kept at least a day, then may be purged."""

from __future__ import annotations

import datetime

from django.utils import timezone

from .models import IdempotencyKey

RETENTION = datetime.timedelta(hours=24)


def keys_purge(*, older_than: datetime.timedelta = RETENTION) -> int:
    """Delete keys created more than ``older_than`` ago; return how many went. A client
    retrying with a purged key runs the operation again, so purge only what no client retries."""
    if older_than < RETENTION:
        raise ValueError(f"keys are kept at least {RETENTION}")
    deleted, _ = IdempotencyKey.objects.filter(
        created_at__lt=timezone.now() - older_than).delete()
    return deleted
