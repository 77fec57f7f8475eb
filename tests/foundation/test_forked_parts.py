"""huzhu.bulk.forked_in_order: parts in processes of their own, written and committed in order;
a failed part rolls back every part after it and is raised in the caller."""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection, transaction

from huzhu.bulk import Abandoned, forked_in_order

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'postgresql'",
                       reason="forked parts are for PostgreSQL (SQLite has one writer)"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def probe():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE forked_probe (part int PRIMARY KEY, pid int,"
                       " saw_before boolean)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE forked_probe")


def rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT part, pid, saw_before FROM forked_probe ORDER BY part")
        return cursor.fetchall()


def write(part: int, turn, *, fail: int = 0, die: int = 0, slow: int = 0) -> int:
    """Insert the part's row; at commit, say whether the part before is already visible
    (committed): it always must be."""
    with transaction.atomic():
        if part == slow:
            time.sleep(0.5)  # the next part is ready long before this one
        turn.write()
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO forked_probe (part, pid) VALUES (%s, %s)",
                           [part, os.getpid()])
            if part == fail:
                raise ValueError(f"第 {part} 部分出错")
            if part == die:
                os._exit(3)
            turn.commit()
            cursor.execute("UPDATE forked_probe SET saw_before = EXISTS (SELECT 1 FROM"
                           " forked_probe WHERE part = %s) OR %s = 1 WHERE part = %s",
                           [part - 1, part, part])
    return part * 10


def test_parts_run_in_processes_and_commit_in_order(probe):
    from functools import partial

    results = forked_in_order([1, 2, 3, 4, 5], partial(write, slow=1))
    assert results == [10, 20, 30, 40, 50]
    got = rows()
    assert [r[0] for r in got] == [1, 2, 3, 4, 5]
    assert all(r[2] for r in got), got  # each part committed after the one before
    assert os.getpid() not in {r[1] for r in got} and len({r[1] for r in got}) == 5


def test_a_failed_part_rolls_back_the_parts_after_it(probe):
    from functools import partial

    with pytest.raises(ValueError, match="第 3 部分出错"):
        forked_in_order([1, 2, 3, 4, 5], partial(write, fail=3))
    assert [r[0] for r in rows()] == [1, 2]  # the first parts, as a serial loop leaves them


def test_a_part_whose_process_dies_stops_the_rest(probe):
    from functools import partial

    with pytest.raises(RuntimeError, match="第 2 部分的进程异常退出"):
        forked_in_order([1, 2, 3], partial(write, die=2))
    assert [r[0] for r in rows()] == [1]


def test_an_error_that_cannot_be_pickled_arrives_as_its_text(probe):
    class Local(Exception):  # a class inside a function does not pickle
        pass

    def work(part, turn):
        if part == 2:
            raise Local("本地错误")
        return write(part, turn)

    with pytest.raises(RuntimeError, match="Local: 本地错误"):
        forked_in_order([1, 2, 3], work)
    assert [r[0] for r in rows()] == [1]


def test_refused_inside_a_transaction(probe):
    with transaction.atomic(), pytest.raises(RuntimeError, match="outside a transaction"):
        forked_in_order([1], write)
    assert Abandoned.__doc__  # the exception parts after a failure end with
