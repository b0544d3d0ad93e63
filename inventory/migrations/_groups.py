"""For the data migrations that fill the "promoter" and "operator" groups
(docs/dashboard.md): each app adds its own permissions. Not a migration
(the loader skips modules starting with "_")."""

from typing import Any


def ensure_permissions(apps: Any, app_label: str) -> None:
    """Django creates permissions after migrate (post_migrate): create the
    app's now, from the historical models, so the groups can get them."""
    from django.contrib.auth.management import create_permissions

    config = apps.get_app_config(app_label)
    before = getattr(config, "models_module", None)
    config.models_module = True  # create_permissions skips an app config without one (migration state)
    try:
        create_permissions(config, verbosity=0, apps=apps)
    finally:
        config.models_module = before


def grant(apps: Any, app_label: str, codenames_by_group: dict[str, list[str]]) -> None:
    """Add app_label's permissions to each group (created if missing)."""
    ensure_permissions(apps, app_label)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in codenames_by_group.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        found = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        missing = set(codenames) - set(found.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"permissions missing: {sorted(missing)}")
        group.permissions.add(*found)
