"""A patient search or the patient list never plans a full scan of the patients (issue #15).

The queries are the ones the list page really runs (captured from a request), explained on the test
database. On PostgreSQL `enable_seqscan = off` stops a tiny test table from hiding a missing index: a
plan that still reads the whole table has no index to use. On SQLite a search must go through the FTS5
table or an index, never `SCAN patients_patient`.
"""

import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

LIST = reverse("patients:list")
PATIENTS = '"patients_patient"'


@pytest.fixture
def thornbury():
    for i in range(12):
        PatientFactory(first_name=f"Ann{i}", last_name="Archer", phone=f"0161 496 {i:04d}")
    return PatientFactory(
        first_name="Margaret", last_name="Thornbury", date_of_birth=date(1984, 3, 12), phone="020 7946 0018"
    )


def page_queries(client, params):
    """The SQL of the list page's queries that read the patients (the count and the page)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST, params)
    assert response.status_code == 200
    queries = [q["sql"] for q in captured.captured_queries if f"FROM {PATIENTS}" in q["sql"]]
    assert len(queries) >= 2, queries  # the count and the page
    return queries


def plan(sql):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # until the test's transaction ends
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            return cursor.fetchone()[0][0]["Plan"]
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return [row[-1] for row in cursor.fetchall()]


def _narrows(node):
    """An index read that picks some patients rather than all: a condition on more than the archived
    flag (`is_archived = false` is nearly every row; the old search read the table through it)."""
    if node["Node Type"] == "BitmapOr":
        return all(_narrows(child) for child in node["Plans"])
    if node["Node Type"] == "BitmapAnd":
        return any(_narrows(child) for child in node["Plans"])
    if node.get("Index Name") == "patient_archived_newest":
        return True  # a partial index of the archived only: a few rows, whatever the condition
    condition = node.get("Index Cond", "")
    return bool(condition) and not re.fullmatch(r"\(*is_archived = (true|false)\)*", condition)


def _whole_table_reads(node, bounded=False):
    """PostgreSQL plan nodes reading all of patients_patient: a Seq Scan, or an index read end to end
    (what the planner falls back on when no index fits), unless a Limit right above it stops the read
    (the newest patients along the primary key)."""
    if node.get("Relation Name") == "patients_patient":
        kind = node["Node Type"]
        whole = (
            kind == "Seq Scan"
            or (kind == "Bitmap Heap Scan" and not _narrows(node["Plans"][0]))
            or (kind in ("Index Scan", "Index Only Scan") and not _narrows(node) and not bounded)
        )
        if whole:
            yield node
    for child in node.get("Plans", ()):
        if node["Node Type"] != "Bitmap Heap Scan":
            yield from _whole_table_reads(child, bounded=node["Node Type"] == "Limit")


def full_scans(sql):
    if connection.vendor == "postgresql":
        return [f"{n['Node Type']} {n.get('Index Name', '')}" for n in _whole_table_reads(plan(sql))]
    return [line for line in plan(sql) if line.strip() == "SCAN patients_patient"]


SEARCHES = {
    "a name": lambda p: "thornb",
    "a name and an initial": lambda p: "margaret t",
    "two letters": lambda p: "th",
    "a phone fragment": lambda p: "7946 0018",
    "a whole phone number": lambda p: "020 7946 0018",
    "the start of an MRN": lambda p: p.mrn[:5],
    "an exact MRN": lambda p: p.mrn,
    "a date of birth": lambda p: "12/03/1984",
}


@pytest.mark.parametrize("kind", SEARCHES)
def test_a_search_uses_an_index(reception, thornbury, kind):
    query = SEARCHES[kind](thornbury)

    queries = page_queries(reception, {"q": query})

    assert reception.get(LIST, {"q": query}).context["paginator"].count >= 1
    for sql in queries:
        assert not full_scans(sql), (query, sql, plan(sql))


@pytest.mark.parametrize("archived", [False, True])
def test_the_list_before_a_search_reads_the_newest_in_index_order(reception, thornbury, archived):
    if archived:
        thornbury.archive(by=reception.user)

    queries = page_queries(reception, {"archived": "on"} if archived else {})

    for sql in queries:
        if connection.vendor == "postgresql":
            assert not full_scans(sql), (sql, plan(sql))
        else:
            # Current patients are read newest first along the rowid and stop at the page's end
            # (a SCAN in the plan, but never sorted): only a sort of the whole table would grow.
            assert not [line for line in plan(sql) if "TEMP B-TREE" in line], (sql, plan(sql))
