"""The "promoter" and "operator" groups (docs/dashboard.md, "Who sees what"):
both may view the catalog, events, orders and the audit trail, and so the
sale dashboard's figures. queueroom and payments add their own permissions
to the same groups in their migrations (operator: the dashboard's controls).
Permissions are created here first: Django makes them only after migrate."""

from django.db import migrations

GROUPS = ("promoter", "operator")
VIEW = ("venue", "section", "seat", "event", "pricetier", "inventoryitem", "order", "auditentry")


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    from inventory.migrations import _groups

    views = [f"view_{model}" for model in VIEW]
    _groups.grant(apps, "inventory", {name: views for name in GROUPS})


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0008_verbose_names"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
