"""The settlements app's task: storing one part of a delivery (ADR 0009). Personal data only
ever encrypted: the part's records travel as a stored, encrypted payload named by id."""

from __future__ import annotations

from django_tasks import task


@task()
def store_part(blob_id: int, region_id: int, source: str, batch_id: int | None = None,
               actor_id: int | None = None) -> tuple[list, list, list, list]:
    """Store one part of a delivery (each record the first of its ``setl_id`` in it): see
    :func:`huzhu.settlements.intake.settlements_receive`. ``blob_id`` names the part's
    records, stored encrypted (:func:`huzhu.settlements.intake.part_blob`). Idempotent: a
    record stored already, by this part killed half way or by anyone, is recognised as
    received before."""
    from .intake import ingest_blob

    return ingest_blob(blob_id, region_id=region_id, source=source, batch_id=batch_id,
                       actor_id=actor_id)
