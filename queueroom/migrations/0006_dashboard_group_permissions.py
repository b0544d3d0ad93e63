"""The waiting room's permissions for the "promoter" and "operator" groups
(inventory/migrations/0009 makes the groups): both may view the queue's
settings, lanes and presale codes; the operator may steer the sale from the
dashboard (queueroom.control_queue). docs/dashboard.md."""

from django.db import migrations

VIEW = ["view_queueconfig", "view_lane", "view_presalecode"]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    from inventory.migrations import _groups

    _groups.grant(apps, "queueroom", {"promoter": VIEW, "operator": [*VIEW, "control_queue"]})


class Migration(migrations.Migration):
    dependencies = [
        ("queueroom", "0005_lane_closed_and_control_permission"),
        ("inventory", "0009_promoter_and_operator_groups"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
