"""Make the database itself keep the ledger balanced and append-only (TRUST R-01, R-02).

Each transaction declares ``leg_count``. PostgreSQL:
- a DEFERRABLE INITIALLY DEFERRED constraint trigger on every inserted transaction checks at
  commit that it has exactly ``leg_count`` legs summing to zero (a transaction without legs, or
  one left incomplete, cannot commit);
- a statement-level trigger on leg inserts (one call per INSERT/COPY, so the bulk path stays
  fast) refuses legs beyond the declared count and a complete set that does not sum to zero,
  which also stops anyone adding legs to an already committed transaction;
- row triggers refuse UPDATE and DELETE of transactions and legs. TRUNCATE is left to database
  privileges (test flushes use it; the application role should not hold it).
SQLite has neither deferred nor statement triggers: a row trigger on each leg does the same
checks when the last declared leg arrives, and the service checks for incomplete transactions
in SQL before commit (ADR 0003). SQLite refuses UPDATE; DELETE is left because Django's test
flush deletes rows on SQLite.
"""

from django.db import migrations

PG_UP = r"""
CREATE OR REPLACE FUNCTION ledger_transaction_balanced() RETURNS trigger AS $$
DECLARE
    n bigint;
    total numeric;
BEGIN
    SELECT count(*), coalesce(sum(amount_fen), 0) INTO n, total
      FROM ledger_leg WHERE transaction_id = NEW.id;
    IF n <> NEW.leg_count OR total <> 0 THEN
        RAISE EXCEPTION USING
            MESSAGE = format('ledger: transaction %s has %s legs summing to %s fen '
                             '(declared %s legs; the sum must be 0)',
                             NEW.key, n, total, NEW.leg_count),
            ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_transaction_balanced
    AFTER INSERT ON ledger_transaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();

CREATE OR REPLACE FUNCTION ledger_legs_within_declared() RETURNS trigger AS $$
DECLARE
    bad record;
BEGIN
    SELECT t.key, t.leg_count, agg.n, agg.total INTO bad
      FROM (SELECT l.transaction_id, count(*) AS n, sum(l.amount_fen) AS total
              FROM ledger_leg l
             WHERE l.transaction_id IN (SELECT DISTINCT transaction_id FROM new_legs)
             GROUP BY l.transaction_id) agg
      JOIN ledger_transaction t ON t.id = agg.transaction_id
     WHERE agg.n > t.leg_count OR (agg.n = t.leg_count AND agg.total <> 0)
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

CREATE TRIGGER ledger_leg_within_declared
    AFTER INSERT ON ledger_leg
    REFERENCING NEW TABLE AS new_legs
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_legs_within_declared();

CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = format('ledger: %s is append-only: %s refused', TG_TABLE_NAME, TG_OP),
        ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_transaction_append_only
    BEFORE UPDATE OR DELETE ON ledger_transaction
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_leg_append_only
    BEFORE UPDATE OR DELETE ON ledger_leg
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

PG_DOWN = """
DROP TRIGGER IF EXISTS ledger_leg_append_only ON ledger_leg;
DROP TRIGGER IF EXISTS ledger_transaction_append_only ON ledger_transaction;
DROP FUNCTION IF EXISTS ledger_refuse_change();
DROP TRIGGER IF EXISTS ledger_leg_within_declared ON ledger_leg;
DROP FUNCTION IF EXISTS ledger_legs_within_declared();
DROP TRIGGER IF EXISTS ledger_transaction_balanced ON ledger_transaction;
DROP FUNCTION IF EXISTS ledger_transaction_balanced();
"""

_SQLITE_COUNT = "(SELECT count(*) FROM ledger_leg WHERE transaction_id = NEW.transaction_id)"
_SQLITE_DECLARED = "(SELECT leg_count FROM ledger_transaction WHERE id = NEW.transaction_id)"
_SQLITE_SUM = "(SELECT sum(amount_fen) FROM ledger_leg WHERE transaction_id = NEW.transaction_id)"

SQLITE_UP = [
    f"""
CREATE TRIGGER ledger_leg_within_declared AFTER INSERT ON ledger_leg
BEGIN
    SELECT RAISE(ABORT, 'ledger: leg for a transaction that does not exist')
     WHERE NOT EXISTS (SELECT 1 FROM ledger_transaction WHERE id = NEW.transaction_id);
    SELECT RAISE(ABORT, 'ledger: more legs than the transaction declared')
     WHERE {_SQLITE_COUNT} > {_SQLITE_DECLARED};
    SELECT RAISE(ABORT, 'ledger: transaction legs do not sum to zero')
     WHERE {_SQLITE_COUNT} = {_SQLITE_DECLARED} AND {_SQLITE_SUM} <> 0;
END;
""",
    """
CREATE TRIGGER ledger_transaction_no_update BEFORE UPDATE ON ledger_transaction
BEGIN SELECT RAISE(ABORT, 'ledger: ledger_transaction is append-only: UPDATE refused'); END;
""",
    """
CREATE TRIGGER ledger_leg_no_update BEFORE UPDATE ON ledger_leg
BEGIN SELECT RAISE(ABORT, 'ledger: ledger_leg is append-only: UPDATE refused'); END;
""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS ledger_leg_within_declared;",
    "DROP TRIGGER IF EXISTS ledger_transaction_no_update;",
    "DROP TRIGGER IF EXISTS ledger_leg_no_update;",
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOWN, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
