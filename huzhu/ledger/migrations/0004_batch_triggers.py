"""Check bulk chunks once per chunk at commit instead of once per transaction (PostgreSQL).

A transaction posted alone (``batch_id`` NULL) keeps its own deferred constraint trigger. A
transaction of a bulk chunk belongs to a ``ledger_batch`` row whose deferred constraint trigger
checks, at commit, that every transaction of the batch has its declared legs summing to zero:
one set-based query per 50,000 transactions. A statement trigger lets transactions join only a
batch opened in the same database transaction (stamped with ``txid_current()`` by a trigger),
so nobody can slip a transaction into an already checked batch. Batches are append-only.
SQLite has no deferred triggers and keeps its row triggers (migration 0002).
"""

from django.db import migrations

PG_UP = r"""
DROP TRIGGER ledger_transaction_balanced ON ledger_transaction;
CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
    AFTER INSERT ON ledger_transaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.batch_id IS NULL)
    EXECUTE FUNCTION ledger_transaction_balanced();

CREATE OR REPLACE FUNCTION ledger_batch_stamp() RETURNS trigger AS $$
BEGIN
    NEW.created_txid := txid_current();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_batch_stamp BEFORE INSERT ON ledger_batch
    FOR EACH ROW EXECUTE FUNCTION ledger_batch_stamp();

CREATE OR REPLACE FUNCTION ledger_batch_balanced() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    SELECT t.key, t.leg_count, coalesce(a.n, 0) AS n, coalesce(a.total, 0) AS total INTO bad
      FROM ledger_transaction t
      LEFT JOIN (SELECT l.transaction_id, count(*) AS n, sum(l.amount_fen) AS total
                   FROM ledger_leg l JOIN ledger_transaction t2 ON t2.id = l.transaction_id
                  WHERE t2.batch_id = NEW.id GROUP BY l.transaction_id) a
        ON a.transaction_id = t.id
     WHERE t.batch_id = NEW.id AND (coalesce(a.n, 0) <> t.leg_count OR coalesce(a.total, 0) <> 0)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION USING
            MESSAGE = format('ledger: transaction %s has %s legs summing to %s fen '
                             '(declared %s legs; the sum must be 0)',
                             bad.key, bad.n, bad.total, bad.leg_count),
            ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER ledger_batch_balanced
    AFTER INSERT ON ledger_batch
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_batch_balanced();

CREATE OR REPLACE FUNCTION ledger_transactions_join_open_batch() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_txns n LEFT JOIN ledger_batch b ON b.id = n.batch_id
                WHERE n.batch_id IS NOT NULL
                  AND (b.id IS NULL OR b.created_txid IS DISTINCT FROM txid_current())) THEN
        RAISE EXCEPTION USING
            MESSAGE = 'ledger: a transaction may join only a batch opened in its own database transaction',
            ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_transaction_join_open_batch
    AFTER INSERT ON ledger_transaction
    REFERENCING NEW TABLE AS new_txns
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_transactions_join_open_batch();

CREATE TRIGGER ledger_batch_append_only
    BEFORE UPDATE OR DELETE ON ledger_batch
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

PG_DOWN = r"""
DROP TRIGGER IF EXISTS ledger_batch_append_only ON ledger_batch;
DROP TRIGGER IF EXISTS ledger_transaction_join_open_batch ON ledger_transaction;
DROP FUNCTION IF EXISTS ledger_transactions_join_open_batch();
DROP TRIGGER IF EXISTS ledger_batch_balanced ON ledger_batch;
DROP FUNCTION IF EXISTS ledger_batch_balanced();
DROP TRIGGER IF EXISTS ledger_batch_stamp ON ledger_batch;
DROP FUNCTION IF EXISTS ledger_batch_stamp();
DROP TRIGGER ledger_transaction_balanced ON ledger_transaction;
CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
    AFTER INSERT ON ledger_transaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UP, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DOWN, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_batch")]
    operations = [migrations.RunPython(forwards, backwards)]
