# The list pages' totals without counting a workspace's rows (docs/performance.md):
# a counter table kept by triggers, and an index that gives a workspace's numbers in order.

import django.db.models.deletion
from django.db import migrations, models

SQLITE_UP = [
    # One writer at a time on SQLite: one counter row per (workspace, source).
    """
    CREATE TRIGGER channels_app_inventory_count_insert AFTER INSERT ON channels_app_phonenumber
    BEGIN
        INSERT INTO channels_app_inventorycount (workspace_id, source, slot, numbers)
        VALUES (NEW.workspace_id, NEW.source, 0, 1)
        ON CONFLICT (workspace_id, source, slot) DO UPDATE SET numbers = numbers + 1;
    END
    """,
    # An UPDATE, not an upsert: when a flush empties the counters before the numbers, the
    # numbers' deletions must not leave negative rows behind.
    """
    CREATE TRIGGER channels_app_inventory_count_delete AFTER DELETE ON channels_app_phonenumber
    BEGIN
        UPDATE channels_app_inventorycount SET numbers = numbers - 1
        WHERE workspace_id = OLD.workspace_id AND source = OLD.source AND slot = 0;
    END
    """,
    """
    CREATE TRIGGER channels_app_inventory_count_move AFTER UPDATE OF workspace_id, source
    ON channels_app_phonenumber
    WHEN OLD.workspace_id IS NOT NEW.workspace_id OR OLD.source IS NOT NEW.source
    BEGIN
        UPDATE channels_app_inventorycount SET numbers = numbers - 1
        WHERE workspace_id = OLD.workspace_id AND source = OLD.source AND slot = 0;
        INSERT INTO channels_app_inventorycount (workspace_id, source, slot, numbers)
        VALUES (NEW.workspace_id, NEW.source, 0, 1)
        ON CONFLICT (workspace_id, source, slot) DO UPDATE SET numbers = numbers + 1;
    END
    """,
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS channels_app_inventory_count_insert",
    "DROP TRIGGER IF EXISTS channels_app_inventory_count_delete",
    "DROP TRIGGER IF EXISTS channels_app_inventory_count_move",
]

POSTGRES_UP = [
    # 64 counter rows (stripes) per (workspace, source): each connection writes its own.
    """
    CREATE OR REPLACE FUNCTION channels_app_inventory_count() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        stripe smallint := pg_backend_pid() % 64;
    BEGIN
        IF TG_OP = 'DELETE' OR TG_OP = 'UPDATE' THEN
            INSERT INTO channels_app_inventorycount (workspace_id, source, slot, numbers)
            VALUES (OLD.workspace_id, OLD.source, stripe, -1)
            ON CONFLICT (workspace_id, source, slot)
            DO UPDATE SET numbers = channels_app_inventorycount.numbers - 1;
        END IF;
        IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
            INSERT INTO channels_app_inventorycount (workspace_id, source, slot, numbers)
            VALUES (NEW.workspace_id, NEW.source, stripe, 1)
            ON CONFLICT (workspace_id, source, slot)
            DO UPDATE SET numbers = channels_app_inventorycount.numbers + 1;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER channels_app_inventory_count AFTER INSERT OR DELETE ON channels_app_phonenumber
    FOR EACH ROW EXECUTE FUNCTION channels_app_inventory_count()
    """,
    """
    CREATE TRIGGER channels_app_inventory_count_move AFTER UPDATE OF workspace_id, source
    ON channels_app_phonenumber FOR EACH ROW
    WHEN (OLD.workspace_id IS DISTINCT FROM NEW.workspace_id OR OLD.source IS DISTINCT FROM NEW.source)
    EXECUTE FUNCTION channels_app_inventory_count()
    """,
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS channels_app_inventory_count ON channels_app_phonenumber",
    "DROP TRIGGER IF EXISTS channels_app_inventory_count_move ON channels_app_phonenumber",
    "DROP FUNCTION IF EXISTS channels_app_inventory_count()",
]

# The numbers already there.
FILL = """
    INSERT INTO channels_app_inventorycount (workspace_id, source, slot, numbers)
    SELECT workspace_id, source, 0, COUNT(*) FROM channels_app_phonenumber GROUP BY workspace_id, source
"""


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_UP)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_UP)
    else:
        raise NotImplementedError(f"No inventory count triggers for {vendor}.")
    _run(schema_editor, [FILL])


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(schema_editor, SQLITE_DOWN if vendor == "sqlite" else POSTGRES_DOWN)


class Migration(migrations.Migration):
    dependencies = [
        ("channels_app", "0003_binding_trunk_health"),
    ]

    operations = [
        migrations.CreateModel(
            name="InventoryCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "source",
                    models.CharField(choices=[("purchased", "Purchased"), ("external", "External")], max_length=16),
                ),
                ("slot", models.SmallIntegerField(default=0)),
                ("numbers", models.BigIntegerField(default=0)),
                (
                    "workspace",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="channels_app.workspace"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("workspace", "source", "slot"), name="uniq_inventory_count_slot")
                ],
            },
        ),
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(fields=["workspace", "number"], name="number_ws_number_idx"),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
