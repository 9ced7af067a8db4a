"""Indexes for the accounts list's search box (projections.queries.accounts_search).

- Owner names are searched for a part anywhere in them, case-insensitively
  (`UPPER(owner) LIKE UPPER('%ada%')`): a btree cannot answer that, so every search read the whole
  table. A trigram index can, for parts of three letters or more.
- The start of an account number as printed (`account_id::text LIKE 'c0ffee%'`): a btree on that
  text answers a prefix in any collation with text_pattern_ops.

Built CONCURRENTLY, as ledger 0003 builds its indexes: the projectors keep writing the table while
the index is built. pg_trgm ships with Postgres (contrib) and is a trusted extension since 13, so
the database's owner may create it.
"""

from django.db import migrations

INDEXES = {
    "summary_owner_trigram": "USING gin ((upper((owner)::text)) gin_trgm_ops)",
    "summary_account_number_prefix": "(((account_id)::text) text_pattern_ops)",
}


def _create(name: str, definition: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON projections_accountsummary {definition}",
        f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
    )


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction
    dependencies = [("projections", "0001_read_models")]
    operations = [
        migrations.RunSQL("CREATE EXTENSION IF NOT EXISTS pg_trgm", migrations.RunSQL.noop),
        *(_create(name, definition) for name, definition in INDEXES.items()),
    ]
