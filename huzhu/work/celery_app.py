"""The same tasks on Celery over RabbitMQ (``HUZHU_TASKS=celery``; ADR 0009).

``CeleryBackend`` is a Django Tasks backend: enqueueing a task sends one Celery message naming
the task's import path and its JSON arguments, on the queue ``HUZHU_CELERY_QUEUE``; results come
back through ``HUZHU_CELERY_RESULTS`` (Redis). A worker runs the very function the database
backend's workers run::

    HUZHU_TASKS=celery celery -A huzhu.work.celery_app worker -Q huzhu -c 1
"""

from __future__ import annotations

import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.settings")
django.setup()

from celery import Celery  # noqa: E402
from celery.result import AsyncResult  # noqa: E402
from django.conf import settings  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402
from django_tasks import TaskResultStatus  # noqa: E402
from django_tasks.backends.base import BaseTaskBackend  # noqa: E402
from django_tasks.base import Task, TaskError, TaskResult  # noqa: E402
from django_tasks.exceptions import TaskResultDoesNotExist  # noqa: E402

app = Celery("huzhu", broker=settings.CELERY_BROKER_URL, backend=settings.CELERY_RESULT_BACKEND)
app.conf.update(
    task_serializer="json", result_serializer="json", accept_content=["json"],
    task_default_queue=settings.CELERY_QUEUE, task_acks_late=True,
    worker_prefetch_multiplier=1, broker_connection_retry_on_startup=True,
    result_expires=24 * 3600,
)

STATES = {"PENDING": TaskResultStatus.READY, "RECEIVED": TaskResultStatus.READY,
          "RETRY": TaskResultStatus.READY, "STARTED": TaskResultStatus.RUNNING,
          "SUCCESS": TaskResultStatus.SUCCESSFUL, "FAILURE": TaskResultStatus.FAILED,
          "REVOKED": TaskResultStatus.FAILED}


@app.task(name="huzhu.run")
def run(path: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Run the Django task at ``path`` here, as a database-backend worker would."""
    task: Task = import_string(path)
    return task.call(*args, **kwargs)


class CeleryBackend(BaseTaskBackend):
    supports_get_result = True

    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        self._sent: dict[str, Task] = {}

    def _result(self, task: Task, rid: str, status: TaskResultStatus, args: list[Any],
                kwargs: dict[str, Any]) -> TaskResult:
        return TaskResult(task=task, id=rid, status=status, enqueued_at=timezone.now(),
                          started_at=None, last_attempted_at=None, finished_at=None,
                          args=args, kwargs=kwargs, backend=self.alias, errors=[],
                          worker_ids=[])

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        self.validate_task(task)
        sent = run.apply_async(args=[task.module_path, list(args), dict(kwargs)],
                               queue=settings.CELERY_QUEUE)
        self._sent[sent.id] = task
        return self._result(task, sent.id, TaskResultStatus.READY, list(args), dict(kwargs))

    def get_result(self, result_id: str) -> TaskResult:
        task = self._sent.get(result_id)
        if task is None:
            raise TaskResultDoesNotExist(result_id)
        found = AsyncResult(result_id, app=app)
        result = self._result(task, result_id, STATES.get(found.state, TaskResultStatus.READY),
                              [], {})
        if found.state == "SUCCESS":
            object.__setattr__(result, "_return_value", found.result)
            object.__setattr__(result, "finished_at", timezone.now())
        elif found.state in ("FAILURE", "REVOKED"):
            result.errors.append(TaskError(exception_class_path="celery.exceptions.TaskError",
                                           traceback=str(found.traceback or "")))
        return result
