"""The event store: an append-only event table, the command log that makes commands idempotent,
and a snapshot cache for long streams."""

from django.db import migrations, models

CREATE = """
CREATE TABLE ledger_event (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid        NOT NULL,
    stream_id       uuid        NOT NULL,
    stream_type     text        NOT NULL,
    version         integer     NOT NULL CHECK (version > 0),
    type            text        NOT NULL,
    schema_version  smallint    NOT NULL DEFAULT 1,
    data            jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    -- The writer's transaction id: readers of "all events" order by (tx_id, position) and stop
    -- below the oldest running transaction, so an event committed late is never skipped.
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    CONSTRAINT ledger_event_stream_version UNIQUE (stream_id, version),
    CONSTRAINT ledger_event_event_id UNIQUE (event_id)
);
CREATE INDEX ledger_event_tx_position ON ledger_event (tx_id, position);
CREATE INDEX ledger_event_correlation ON ledger_event ((metadata ->> 'correlation_id'));

CREATE TABLE ledger_command (
    command_id   uuid        PRIMARY KEY,
    type         text        NOT NULL,
    fingerprint  text        NOT NULL,
    position     bigint      NOT NULL,
    tx_id        xid8        NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ledger_snapshot (
    stream_id  uuid        PRIMARY KEY,
    version    integer     NOT NULL,
    schema     smallint    NOT NULL,
    state      jsonb       NOT NULL,
    taken_at   timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Recorded history is never changed; record a compensating command instead.';
END
$$;
CREATE TRIGGER ledger_event_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_event
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_command_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_command
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
"""

DROP = """
DROP TABLE ledger_snapshot;
DROP TABLE ledger_command;
DROP TABLE ledger_event;
DROP FUNCTION ledger_refuse_change();
"""


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.RunSQL(CREATE, DROP),
        migrations.CreateModel(
            name="Event",
            fields=[
                ("position", models.BigIntegerField(primary_key=True, serialize=False)),
                ("event_id", models.UUIDField()),
                ("stream_id", models.UUIDField()),
                ("stream_type", models.TextField()),
                ("version", models.IntegerField()),
                ("type", models.TextField()),
                ("schema_version", models.SmallIntegerField()),
                ("data", models.JSONField()),
                ("metadata", models.JSONField()),
                ("recorded_at", models.DateTimeField()),
            ],
            options={"db_table": "ledger_event", "managed": False, "ordering": ["-position"]},
        ),
    ]
