"""Indexes for the accounts list's search box (projections.queries.accounts_search).

- Owner names are searched for a part anywhere in them, case-insensitively
  (`UPPER(owner) LIKE UPPER('%ada%')`): a btree cannot answer that, so every search read the whole
  table. A trigram index can, for parts of three letters or more. pg_trgm ships with Postgres
  (contrib) and is a trusted extension since 13, so the database's owner may create it; where the
  server lacks it (the pip-installed Postgres of `make run` / `make test` does) the search still
  works, by reading the table, and this index is left out.
- The start of an account number as printed (`account_id::text LIKE 'c0ffee%'`): a btree on that
  text answers a prefix in any collation with text_pattern_ops.

Built CONCURRENTLY, as ledger 0003 builds its indexes: the projectors keep writing the table while
the index is built.
"""

from django.db import migrations

TRIGRAM = "summary_owner_trigram"
PREFIX = "summary_account_number_prefix"


def _create(name: str, definition: str) -> str:
    return f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON projections_accountsummary {definition}"


def create_trigram_index(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            return
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute(_create(TRIGRAM, "USING gin ((upper((owner)::text)) gin_trgm_ops)"))


def drop_trigram_index(apps, schema_editor) -> None:
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {TRIGRAM}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction
    dependencies = [("projections", "0001_read_models")]
    operations = [
        migrations.RunPython(create_trigram_index, drop_trigram_index),
        migrations.RunSQL(
            _create(PREFIX, "(((account_id)::text) text_pattern_ops)"), f"DROP INDEX CONCURRENTLY IF EXISTS {PREFIX}"
        ),
    ]
