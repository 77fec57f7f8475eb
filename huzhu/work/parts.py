"""Run one task over many parts, on the task workers, and wait for them (ADR 0009)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection
from django_tasks import TaskResultStatus
from django_tasks.backends.immediate import ImmediateBackend

from huzhu.errors import DomainError

PAYLOAD_DAYS = 1  # a payload older than this was left by a caller killed long ago


def payload_put(data: bytes) -> int:
    """Store one part's payload (already encrypted); its id, for the task's arguments."""
    from .models import PartData

    return PartData.objects.create(data=data).pk


def payload_get(pk: int) -> bytes | None:
    """A payload by id; None once its caller removed it (the caller gave up or finished)."""
    from .models import PartData

    row = PartData.objects.filter(pk=pk).values_list("data", flat=True).first()
    return None if row is None else bytes(row)


def payloads_drop(ids: list[int]) -> None:
    from .models import PartData

    PartData.objects.filter(pk__in=ids).delete()


def payloads_prune() -> int:
    """Remove the payloads of callers killed before they could; how many."""
    import datetime

    from django.utils import timezone

    from .models import PartData

    cutoff = timezone.now() - datetime.timedelta(days=PAYLOAD_DAYS)
    return PartData.objects.filter(created_at__lt=cutoff).delete()[0]


class PartFailed(DomainError):
    """A part's task failed in a worker; its traceback is in the task result."""

    code = "task_failed"


def run_parts(task: Any, calls: list[dict[str, Any]], *, timeout: float | None = None
              ) -> list[Any]:
    """``task`` called with each of ``calls`` (keyword arguments, JSON values only); the
    results in order.

    One part, or a caller inside a transaction (its rows are not visible to other processes
    yet), runs them here, one after another: the same function the workers run. Otherwise each
    part is enqueued for the workers of the task's backend and the caller waits; on the
    database backend the caller takes parts from the queue itself while it waits, so the work
    is done with or without workers running, and spread across them when they run."""
    if len(calls) <= 1 or connection.in_atomic_block:
        return [task.call(**kwargs) for kwargs in calls]
    backend = task.get_backend()
    if isinstance(backend, ImmediateBackend):
        return [task.call(**kwargs) for kwargs in calls]
    results = [task.enqueue(**kwargs) for kwargs in calls]
    waiting = {r.id: r for r in results}
    done: dict[str, Any] = {}
    deadline = time.monotonic() + (timeout or settings.TASKS_PART_TIMEOUT)
    while waiting:
        worked = _work_one(backend, set(waiting))
        for rid in list(waiting):
            r = task.get_result(rid)
            if r.status == TaskResultStatus.SUCCESSFUL:
                done[rid] = r.return_value
                del waiting[rid]
            elif r.status == TaskResultStatus.FAILED:
                raise PartFailed(f"后台任务失败：{task.name} 第 {results.index(waiting[rid]) + 1} 部分"
                                 f"（任务编号 {rid}），已完成的部分保留；重新运行即可补齐")
        if waiting and not worked:
            if time.monotonic() > deadline:
                raise PartFailed(f"后台任务超时：{task.name} 仍有 {len(waiting)} 部分未完成"
                                 "（请确认后台任务进程在运行）；重新运行即可补齐")
            time.sleep(0.05)
    return [done[r.id] for r in results]


def work_ready(limit: int | None = None) -> int:
    """Run the tasks waiting in the database backend's queue here, one after another, until
    none is ready (or ``limit`` ran); how many ran. ``huzhu worker`` calls it each round."""
    from django_tasks import task_backends

    backend = task_backends["default"]  # the backend itself (default_task_backend is a proxy)
    ran = 0
    while (limit is None or ran < limit) and _work_one(backend, None):
        ran += 1
    return ran


def _work_one(backend: Any, ids: set[str] | None) -> bool:
    """On the database backend: take one task still waiting in the queue (one of ``ids``
    when given) and run it here, as a worker would; False when there was none to take (or
    another backend)."""
    from django_tasks_db.backend import DatabaseBackend

    if not isinstance(backend, DatabaseBackend):
        return False
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction

    ready = DBTaskResult.objects.ready().filter(backend_name=backend.alias)
    if ids is not None:
        ready = ready.filter(id__in=ids)
    with exclusive_transaction(ready.db):
        found = ready.get_locked()
        if found is not None:
            found.claim(_WORKER_ID)
    if found is None:
        return False
    _worker().run_task(found)
    return True


_WORKER_ID = f"caller-{time.time_ns()}"


def _worker() -> Any:
    """A database-backend worker of this process, for every queue, that stops when nothing
    is ready (``huzhu worker`` runs one each round)."""
    from django_tasks_db.management.commands.db_worker import Worker

    return Worker(queue_names=["*"], interval=0, batch=True, backend_name="default",
                  startup_delay=False, max_tasks=None, worker_id=_WORKER_ID,
                  excluded_queue_names=[])


