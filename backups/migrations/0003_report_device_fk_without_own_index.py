"""The job report's device foreign key loses its own index (one index less to update per ingested report).

The unique (device, job_id) constraint and the (device, ended_at) index both start with device_id, so
every lookup by device, and the foreign key's checks, still use an index. Only the index is dropped:
Django's AlterField would also drop and re-add the foreign-key constraint, re-validating every report
under a table lock.
"""
import django.db.models.deletion
from django.db import migrations, models

INDEX = "backups_jobreport_device_id_9f05bad9"


class Migration(migrations.Migration):

    dependencies = [
        ("backups", "0002_report_ended_desc_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="jobreport",
                    name="device",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name="reports", to="backups.device", verbose_name="appareil"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "backups_jobreport" ("device_id")',
                ),
            ],
        ),
    ]
