"""Indexes for the reviewer queue (``review.review_queue``: claims in review within the
reviewer's subtree, ordered by due date then id, 50 a page).

- ``claim_open_due_idx`` (due_on, id) over claims in review only: a reviewer whose subtree
  holds most open claims (the fund region) reads the first page in index order and stops
  after 50 rows, instead of sorting every open claim.
- ``claim_open_scope_idx`` (org_path, due_on, id) over the same rows, with
  ``varchar_pattern_ops`` on PostgreSQL so the ``org_path LIKE 'prefix%'`` of a small
  subtree is an index range (as ``members/0002`` did for members).

Both are partial (``status = 'in_review'``), so approvals and payments do not maintain them.
They are database-only (no model state; see docs/adr/0004): the claims model's Meta should
declare them with ``condition=Q(status="in_review")`` when it is next edited, with a
``SeparateDatabaseAndState`` migration, so ``makemigrations`` stays quiet.
"""

from django.db import migrations

INDEXES = (
    ("claim_open_due_idx", "(due_on, id)"),
    ("claim_open_scope_idx", "(org_path{ops}, due_on, id)"),
)


def create(apps, schema_editor):
    ops = " varchar_pattern_ops" if schema_editor.connection.vendor == "postgresql" else ""
    for name, cols in INDEXES:
        schema_editor.execute(f"CREATE INDEX {name} ON claims_claim {cols.format(ops=ops)}"
                              " WHERE status = 'in_review'")


def drop(apps, schema_editor):
    for name, _cols in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("claims", "0002_review_usage_documents"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
