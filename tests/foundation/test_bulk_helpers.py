"""huzhu.bulk.pg_array: one array literal parameter means exactly the list it was made of."""

from __future__ import annotations

import pytest
from django.db import connection

from huzhu.bulk import pg_array


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL array literals")
@pytest.mark.django_db
def test_array_literal_round_trips_text_and_numbers():
    texts = ["S1", "", "NULL", 'quote"d', "back\\slash", "a,b", "{braces}", " padded ",
             "住院医疗", "tab\there", "line\nbreak", "\\\\\""]
    with connection.cursor() as cursor:
        cursor.execute("SELECT x FROM unnest(%s::text[]) WITH ORDINALITY AS t(x, n) ORDER BY n",
                       [pg_array(texts)])
        assert [r[0] for r in cursor.fetchall()] == texts
        numbers = [0, -1, 2**62, 42]
        cursor.execute("SELECT x FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(x, n) ORDER BY n",
                       [pg_array(numbers)])
        assert [r[0] for r in cursor.fetchall()] == numbers
        cursor.execute("SELECT cardinality(%s::bigint[]), (%s::bigint[])[2] IS NULL",
                       [pg_array([]), pg_array([1, None])])
        assert cursor.fetchone() == (0, True)


def test_array_literal_text():
    assert pg_array([1, 2, 3]) == "{1,2,3}"
    assert pg_array(["a", 'b"c', "d\\e"]) == '{"a","b\\"c","d\\\\e"}'
