"""Background work on the Django Tasks API (ADR 0009).

One machine: the database backend (``django_tasks_db``), worked by ``huzhu worker`` processes;
no broker. Many machines: the same tasks on Celery over RabbitMQ (``HUZHU_TASKS=celery``,
:mod:`huzhu.work.celery_app`). Tests and the demo on SQLite use the same database backend; a caller
that splits work into parts (:func:`run_parts`) works the queue itself while it waits, so a
delivery completes with no worker running, and spreads over the workers when they run.

Every task is idempotent and keyed by what it works on: deciding a part decides only the
settlements still owed a decision (``SettlementDecision``), so a task run twice, or killed
and run again, never doubles.

A part's payload (a delivery's records, encrypted) is a :class:`huzhu.work.models.PartData` row the
task names by id: task arguments stay small ids, since the task table is read at every poll.
"""
