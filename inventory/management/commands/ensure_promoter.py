import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Make sure a promoter (staff superuser) login exists; print its password once, when created."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--username", default="promoter")
        parser.add_argument("--reset", action="store_true", help="Set and print a new password.")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        User = get_user_model()
        username = options["username"]
        user = User.objects.filter(username=username).first()
        if user is not None and not options["reset"]:
            self.stdout.write(f"Promoter login '{username}' exists (new password: manage.py ensure_promoter --reset).")
            return
        password = secrets.token_urlsafe(12)
        if user is None:
            User.objects.create_superuser(username=username, email="", password=password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        self.stdout.write(self.style.WARNING(f"Promoter login: {username} / {password}  (shown once; keep it)"))
