"""Account numbers on the account summary (ledger/domain/account_number.py), and the indexes their
searches need.

- `number`: NULL in the rows already there. Version 2 of AccountSummaryProjector fills it; the
  workers' sweep sees the live tables were built by version 1 and rebuilds them blue/green, so the
  screens show numbers once the new tables are swapped in (rebuild_projections --outdated to wait
  for it in a deploy script). No event is rewritten: every number comes from its account's
  AccountOpened event.
- summary_number: unique, with pattern operators, so that the one index answers both a whole number
  and the start of one (`number LIKE 'TL12%'`, the accounts list's search).
- summary_owner_prefix: the start of an owner's name in any case (`UPPER(owner::text) LIKE 'ADA%'`,
  how Django writes istartswith): the event browser's search by owner.
- summary_account_number_prefix (0002) goes: it served the search by the start of the account's
  UUID, printed as its number until now. The number is TL..., and the UUID is searched whole only.

Indexes built and dropped CONCURRENTLY, as 0002 does: the projectors keep writing the table meanwhile.
"""

from django.db import migrations, models

NUMBER = "summary_number"
OWNER_PREFIX = "summary_owner_prefix"
UUID_PREFIX = "summary_account_number_prefix"
TABLE = "projections_accountsummary"


def _index(name: str, definition: str, *, unique: bool = False) -> migrations.RunSQL:
    kind = "UNIQUE INDEX" if unique else "INDEX"
    return migrations.RunSQL(
        f"CREATE {kind} CONCURRENTLY IF NOT EXISTS {name} ON {TABLE} {definition}",
        f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
    )


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction
    dependencies = [("projections", "0006_operations")]
    operations = [
        migrations.AddField(
            model_name="accountsummary",
            name="number",
            field=models.CharField(max_length=14, null=True),
        ),
        # The index Django would build for the constraint (a UniqueConstraint with opclasses is a
        # unique index), built without blocking writes.
        migrations.SeparateDatabaseAndState(
            database_operations=[_index(NUMBER, "(number varchar_pattern_ops)", unique=True)],
            state_operations=[
                migrations.AddConstraint(
                    model_name="accountsummary",
                    constraint=models.UniqueConstraint(
                        fields=("number",), name=NUMBER, opclasses=["varchar_pattern_ops"]
                    ),
                )
            ],
        ),
        _index(OWNER_PREFIX, "((upper((owner)::text)) text_pattern_ops)"),
        migrations.RunSQL(
            f"DROP INDEX CONCURRENTLY IF EXISTS {UUID_PREFIX}",
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {UUID_PREFIX} ON {TABLE} (((account_id)::text) text_pattern_ops)",
        ),
    ]
