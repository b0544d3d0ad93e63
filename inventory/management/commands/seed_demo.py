import datetime as dt
import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from inventory.models import Event
from inventory.services import demo


class Command(BaseCommand):
    help = "Build the LUX Tour Spain demo (8 events, 142,000 places) or, with --small, one tiny event. Idempotent."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--small", action="store_true", help="One tiny event on sale now.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when the database has events.")
        parser.add_argument(
            "--sale-opens-in",
            type=int,
            metavar="MINUTES",
            help="Rehearsal: open the general sale MINUTES from now (presale an hour earlier) "
            "instead of on the real December 2025 dates, and move shows already past to the "
            "same day of a coming year. Only applies to events not yet created.",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        if options["if_empty"] and Event.objects.exists():
            self.stdout.write("Events exist; demo not loaded.")
            return
        started = time.monotonic()
        if options["small"]:
            results = [demo.seed_small()]
        else:
            opens = None
            if options["sale_opens_in"] is not None:
                opens = timezone.now() + dt.timedelta(minutes=options["sale_opens_in"])
            results = demo.seed_lux_tour(sale_opens_at=opens)
        for event, created in results:
            self.stdout.write(f"{event.slug}: {event.items.count()} places ({created} new)")
        self.stdout.write(self.style.SUCCESS(f"Demo ready in {time.monotonic() - started:.1f} s"))
