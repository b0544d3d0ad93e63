"""Payments' permissions for the "promoter" and "operator" groups
(inventory/migrations/0009 makes the groups): both may view payments and
tickets. Refunds (payments.refund_payment) stay a per-user grant.
docs/dashboard.md."""

from django.db import migrations

VIEW = ["view_payment", "view_ticket"]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    from inventory.migrations import _groups

    _groups.grant(apps, "payments", {"promoter": VIEW, "operator": VIEW})


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_payment_processing_since"),
        ("inventory", "0009_promoter_and_operator_groups"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
